package kafkamode

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/tests/harness"
)

// TestClusterPullAfterDeadNodesOpenTransaction: read-your-writes holds
// while a dead node's transaction is open. A node dies in the middle of
// a transaction on a table's topic (its open transaction is made here by
// a transactional producer that is then abandoned, as the dead node's
// would be: a test cannot stop an engine inside its transaction); an
// INSERT on another node is acknowledged after it, at a higher offset.
// The last stable offset stays below the INSERT until the transaction
// ends, so a pull query on any node must not answer from a copy that has
// read up to the last stable offset only: it waits, and with a short
// runnel.pull.timeout.ms fails with 40001, never answering without the
// row. Once the transaction is aborted (the dead node's return, or the
// transaction timeout), every node sees the row, and never the aborted
// one.
func TestClusterPullAfterDeadNodesOpenTransaction(t *testing.T) {
	brokers := cluster(t)
	a, b := node(t, brokers, "a"), node(t, brokers, "b")
	ca, cb := a.Connect(t), b.Connect(t)
	exec(t, ca, `CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR)
  WITH (kafka_topic='users', value_format='JSON', partitions=1)`)
	exec(t, ca, `INSERT INTO users (id, name) VALUES ('k0', 'zero')`)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// b learns of the table from the catalog topic.
	for _, c := range []*harness.Server{a, b} {
		conn := c.Connect(t)
		for {
			got, err := pullErr(ctx, conn, `SELECT id, name FROM users`)
			if err == nil && fmt.Sprint(got) == "[k0 zero]" {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("the table never showed k0: %q, %v", got, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	dead, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID("runnel-dead-node-insert"),
		kgo.DefaultProduceTopic("users"))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if err := dead.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := dead.ProduceSync(ctx, &kgo.Record{Key: []byte("kx"), Value: []byte(`{"NAME":"never committed"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Acknowledged on b (after its commit waited, in vain, for the last
	// stable offset to pass it).
	exec(t, cb, `INSERT INTO users (id, name) VALUES ('k1', 'one')`)

	for name, c := range map[string]*harness.Server{"a": a, "b": b} {
		conn := c.Connect(t)
		exec(t, conn, `SET 'runnel.pull.timeout.ms' = '1500'`)
		for _, q := range []string{`SELECT id, name FROM users WHERE id = 'k1'`, `SELECT id, name FROM users`} {
			got, err := pullErr(ctx, conn, q)
			var pe *pgconn.PgError
			switch {
			case err == nil:
				if !contains(got, "k1 one") {
					t.Fatalf("%s on %s answered %q without the acknowledged INSERT of k1", q, name, got)
				}
			case errors.As(err, &pe) && pe.Code == "40001":
				t.Logf("%s on %s waited and failed as it should while the transaction is open: %s", q, name, pe.Message)
			default:
				t.Fatalf("%s on %s: %v", q, name, err)
			}
		}
	}

	// The dead node's transaction is aborted: every node sees k1, not kx.
	if err := dead.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*harness.Server{"a": a, "b": b} {
		got, err := pullErr(ctx, c.Connect(t), `SELECT id, name FROM users`)
		if err != nil {
			t.Fatalf("scan on %s after the abort: %v", name, err)
		}
		if want := []string{"k0 zero", "k1 one"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scan on %s after the abort = %q, want %q", name, got, want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
