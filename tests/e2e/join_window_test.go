package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// TestStreamStreamJoinDescribeAndTerminate: a stream-stream LEFT join
// whose right stream is keyed otherwise runs in two stages (the right
// side's repartition, then the join); EXPLAIN shows the join and the
// repartition, DESCRIBE EXTENDED the join, the internal topic, a state
// store per partition and the record it dropped as late; its state holds
// the open windows; TERMINATE removes the stores and the internal topic.
func TestStreamStreamJoinDescribeAndTerminate(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	ctx := context.Background()
	exec(t, c, `CREATE STREAM orders (id INT KEY, shop VARCHAR, amount INT) WITH (kafka_topic='orders', partitions=2)`)
	exec(t, c, `CREATE STREAM shipments (sid INT KEY, orderid INT, carrier VARCHAR) WITH (kafka_topic='shipments', partitions=2)`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	// Order 1 at 100 s, then an order 1 at 1 s in the same partition:
	// its window (10 s, grace 0) closed 89 s of stream time before it
	// arrives. Shipment 1 meets the first.
	exec(t, c, `INSERT INTO orders (id, shop, amount, ROWTIME) VALUES (1, 's1', 10, 100000)`)
	exec(t, c, `INSERT INTO orders (id, shop, amount, ROWTIME) VALUES (1, 's1', 99, 1000)`)
	exec(t, c, `INSERT INTO shipments (sid, orderid, carrier, ROWTIME) VALUES (7, 1, 'ups', 105000)`)

	stmt := `CREATE STREAM shipped AS SELECT o.id AS id, o.amount, s.carrier FROM orders o LEFT JOIN shipments s WITHIN 10 SECONDS GRACE PERIOD 0 SECONDS ON o.id = s.orderid`
	plan := strings.Join(collect(t, c, `EXPLAIN `+stmt), "\n")
	for _, want := range []string{"[ JOIN ] | LEFT OUTER STREAM-STREAM | ON O.ID = S.ORDERID | WITHIN 10s GRACE PERIOD 0s",
		"[ REPARTITION ] | by the join key S.ORDERID", "[ SOURCE ] | STREAM ORDERS", "[ SOURCE ] | STREAM SHIPMENTS"} {
		if !strings.Contains(plan, want) {
			t.Errorf("EXPLAIN lacks %q:\n%s", want, plan)
		}
	}
	exec(t, c, stmt)
	if got := collect(t, c, `SELECT id, amount, carrier, ROWTIME FROM shipped EMIT CHANGES LIMIT 1`); strings.Join(got, ",") != "1 10 ups 105000" {
		t.Fatalf("shipped = %q", got)
	}
	var id string
	for _, r := range collect(t, c, `SHOW QUERIES`) {
		if strings.Contains(r, "SHIPPED") {
			id = strings.Fields(r)[0]
		}
	}
	if id == "" {
		t.Fatal("no query writes SHIPPED")
	}
	right := "_runnel_" + id + "_join_right_repartition"
	describe := strings.Join(collect(t, c, `DESCRIBE EXTENDED shipped`), "\n")
	for _, want := range []string{"join LEFT OUTER STREAM-STREAM | ON O.ID = S.ORDERID | WITHIN 10s GRACE PERIOD 0s",
		"internal_topic " + right, "state_store " + id + "/join/0", "state_store " + id + "/join/1", "records_late 1"} {
		if !strings.Contains(describe, want) {
			t.Errorf("DESCRIBE EXTENDED lacks %q:\n%s", want, describe)
		}
	}
	// Orders are keyed by their join key already.
	if strings.Contains(describe, "_join_left_repartition") {
		t.Errorf("the left side is repartitioned:\n%s", describe)
	}
	// The two records that met are both still in their windows.
	keys, _, err := s.Engine.StateStats(ctx, id)
	if err != nil || keys != 2 {
		t.Errorf("StateStats: %d records, %v; want the order and the shipment", keys, err)
	}
	exec(t, c, `TERMINATE `+id)
	if _, _, err := s.Engine.StateStats(ctx, id); err == nil {
		t.Error("StateStats of a terminated query")
	}
	if _, err := s.Engine.Log().Topic(ctx, right); !errors.Is(err, log.ErrUnknownTopic) {
		t.Errorf("internal topic %s after TERMINATE: %v", right, err)
	}
}
