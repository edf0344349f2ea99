package kafkamode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/tests/harness"
)

// TestClusterDDLFromAnyNode: a query created on one node starts on the
// other while both run (it tails the catalog), and TERMINATE on the other
// stops it on both.
func TestClusterDDLFromAnyNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	brokers := cluster(t)
	a := node(t, brokers, "a")
	b := node(t, brokers, "b")
	ca, cb := a.Connect(t), b.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPEND")
	// b learns of the query from the catalog topic while it runs.
	for {
		if _, found := b.Engine.LocalTasks(id); found {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("query %s created on a never started on b", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	per := awaitPlacement(t, id, 4, 1, a, b)
	t.Logf("a runs %v, b runs %v", per[0], per[1])
	var load spendLoad
	load.insert(t, cb, 80)
	awaitSpend(ctx, t, cb, &load)
	awaitSpend(ctx, t, ca, &load)

	exec(t, cb, `TERMINATE `+id)
	for _, n := range []*harness.Server{a, b} {
		for {
			if _, found := n.Engine.LocalTasks(id); !found {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("query %s still runs on a node after TERMINATE on another", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestClusterConcurrentCreate creates each name on two nodes at once, with
// different columns: one statement succeeds and the other fails with
// 42P07, and both nodes then describe the winner's stream.
func TestClusterConcurrentCreate(t *testing.T) {
	brokers := cluster(t)
	nodes := []*harness.Server{node(t, brokers, "a"), node(t, brokers, "b")}
	ca, cb := nodes[0].Connect(t), nodes[1].Connect(t)
	for i := range 4 {
		name := fmt.Sprintf("race%d", i)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, c := range []*pgconnLike{{ca.PgConn()}, {cb.PgConn()}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sql := fmt.Sprintf(`CREATE STREAM %s (k VARCHAR KEY, col%d BIGINT) WITH (kafka_topic='%s', value_format='JSON', partitions=1)`, name, j, name)
				errs[j] = c.c.Exec(context.Background(), sql).Close()
			}()
		}
		wg.Wait()
		ok, winner := 0, -1
		for j, err := range errs {
			if err == nil {
				ok++
				winner = j
				continue
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42P07" {
				t.Fatalf("%s on node %d: %v, want success or 42P07", name, j, err)
			}
			t.Logf("%s on node %d: %s", name, j, pe.Message)
		}
		if ok != 1 {
			t.Fatalf("%s: %d of 2 concurrent CREATEs succeeded (%v), want 1", name, ok, errs)
		}
		// Both nodes agree on the winner's columns.
		want := fmt.Sprintf("COL%d", winner)
		for j, n := range nodes {
			c := n.Connect(t)
			deadline := time.Now().Add(10 * time.Second)
			for {
				got := fmt.Sprint(harness.Rows(t, c, `DESCRIBE `+name))
				if containsWord(got, want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node %d describes %s as %s, want the winner's column %s", j, name, got, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

type pgconnLike struct{ c *pgconn.PgConn }

func containsWord(s, w string) bool { return strings.Contains(strings.ToUpper(s), w) }
