package kafkamode

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/tests/harness"
)

// TestClusterDropRacesCreateAsSelect runs DROP STREAM s on one node and
// CREATE STREAM out AS SELECT ... FROM s on the other, started together,
// many times (the nodes swap roles each round). Each round exactly one
// statement succeeds: the drop, and the query fails with 42P01 as over a
// missing stream; or the query, and the drop fails with 2BP01 as over a
// stream in use. Afterwards both nodes list the same streams and queries,
// and no query reads a stream that is gone.
func TestClusterDropRacesCreateAsSelect(t *testing.T) {
	const rounds = 12
	brokers := cluster(t)
	nodes := []*harness.Server{node(t, brokers, "a"), node(t, brokers, "b")}
	conns := []*pgx.Conn{nodes[0].Connect(t), nodes[1].Connect(t)}
	var drops, creates int
	for i := range rounds {
		src, out := fmt.Sprintf("src%d", i), fmt.Sprintf("out%d", i)
		exec(t, conns[0], fmt.Sprintf(`CREATE STREAM %s (k VARCHAR KEY, v BIGINT) WITH (kafka_topic='%s', value_format='JSON', partitions=2)`, src, src))
		dropper, creator := conns[i%2], conns[(i+1)%2]
		start := make(chan struct{})
		var wg sync.WaitGroup
		var errDrop, errCreate error
		run := func(c *pgx.Conn, sql string, err *error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				*err = c.PgConn().Exec(context.Background(), sql).Close()
			}()
		}
		run(dropper, `DROP STREAM `+src, &errDrop)
		run(creator, fmt.Sprintf(`CREATE STREAM %s AS SELECT k, v FROM %s EMIT CHANGES`, out, src), &errCreate)
		close(start)
		wg.Wait()
		switch {
		case errDrop == nil && errCreate == nil:
			t.Fatalf("round %d: both DROP STREAM %s and CREATE STREAM %s AS SELECT ... FROM %s succeeded", i, src, out, src)
		case errDrop == nil:
			wantCode(t, i, "CREATE ... AS SELECT", errCreate, "42P01")
			drops++
		case errCreate == nil:
			wantCode(t, i, "DROP", errDrop, "2BP01")
			creates++
		default:
			t.Fatalf("round %d: both failed: drop %v; create %v", i, errDrop, errCreate)
		}
	}
	t.Logf("%d rounds: the drop won %d, the query %d", rounds, drops, creates)

	// Both nodes converge on one catalog (each tails the topic).
	var want string
	deadline := time.Now().Add(15 * time.Second)
	for {
		a, b := catalogOf(t, conns[0]), catalogOf(t, conns[1])
		if a == b {
			want = a
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes disagree:\nnode a:\n%s\nnode b:\n%s", a, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And so does a node that replays the catalog from the start.
	c := node(t, brokers, "c").Connect(t)
	if got := catalogOf(t, c); got != want {
		t.Fatalf("a node replaying the catalog holds\n%s\nthe others\n%s", got, want)
	}
	streams := map[string]bool{}
	for _, r := range harness.Rows(t, conns[0], `SHOW STREAMS`) {
		streams[strings.ToUpper(strings.Fields(r)[0])] = true
	}
	queries := 0
	for _, r := range harness.Rows(t, conns[0], `SHOW QUERIES`) {
		queries++
		stmt := strings.ToUpper(r)
		i := strings.Index(stmt, " FROM ")
		if i < 0 {
			t.Fatalf("query %s: no FROM", r)
		}
		from := strings.Fields(stmt[i+6:])[0]
		if !streams[from] {
			t.Fatalf("query %s reads %s, which was dropped", r, from)
		}
	}
	if queries != creates {
		t.Fatalf("%d queries listed, want the %d that won", queries, creates)
	}
}

func wantCode(t *testing.T, round int, what string, err error, code string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("round %d: %s: %v, want SQLSTATE %s", round, what, err, code)
	}
}

// catalogOf renders SHOW STREAMS and SHOW QUERIES, sorted, without the
// columns that differ between nodes by nature (query status).
func catalogOf(t *testing.T, c *pgx.Conn) string {
	t.Helper()
	var lines []string
	for _, r := range harness.Rows(t, c, `SHOW STREAMS`) {
		lines = append(lines, "stream "+r)
	}
	for _, r := range harness.Rows(t, c, `SHOW QUERIES`) {
		f := strings.Fields(r)
		if len(f) > 1 {
			f = append(f[:1], f[2:]...) // the status is each node's own
		}
		lines = append(lines, "query "+strings.Join(f, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
