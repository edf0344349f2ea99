package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/runnel/runnel/tests/harness"
)

// TestTransactionsOnKafka: in Kafka mode a transaction's writes to two
// topics commit in one Kafka transaction, a rollback writes nothing, and
// COPY FROM commits its rows the same way.
func TestTransactionsOnKafka(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	s := harness.Start(t, harness.Options{Kafka: kc.ListenAddrs()})
	c := s.Connect(t)
	twoStreams(t, c)
	exec(t, c, `BEGIN`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (1, 'one'), (2, 'two')`)
	exec(t, c, `INSERT INTO b (id, v) VALUES (3, 'three')`)
	exec(t, c, `COMMIT`)
	exec(t, c, `BEGIN`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (4, 'four')`)
	exec(t, c, `ROLLBACK`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader("5\tfive\n6\tsix\n"), `COPY b FROM STDIN`); err != nil {
		t.Fatal(err)
	}
	wantRows(t, c, `SELECT id FROM a`, "1", "2")
	wantRows(t, c, `SELECT id FROM b`, "3", "5", "6")
}
