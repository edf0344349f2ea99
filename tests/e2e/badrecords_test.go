package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// TestBadRecordsAreSkippedCountedAndLogged writes records a query cannot
// process — not JSON, a wrong type, a division by zero — between good ones:
// the query skips them, counts them in DESCRIBE EXTENDED, describes them in
// RUNNEL_PROCESSING_LOG, and keeps running.
func TestBadRecordsAreSkippedCountedAndLogged(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM nums (id VARCHAR KEY, n INT, d INT) WITH (kafka_topic='nums', partitions=1)`)
	exec(t, c, `CREATE STREAM ratios AS SELECT id, n / d AS r FROM nums`)
	ctx := context.Background()
	_, err := s.Engine.Log().Append(ctx, "nums", []log.Record{
		{Key: []byte("a"), Value: []byte(`{"N":10,"D":2}`), Partition: 0},
		{Key: []byte("b"), Value: []byte(`{"N":10,`), Partition: 0},          // not JSON
		{Key: []byte("c"), Value: []byte(`{"N":"ten","D":2}`), Partition: 0}, // not an INT
		{Key: []byte("d"), Value: []byte(`{"N":1,"D":0}`), Partition: 0},     // division by zero
		{Key: []byte("e"), Value: []byte(`{"N":9,"D":3}`), Partition: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	if got := collect(t, c, `SELECT id, r FROM ratios EMIT CHANGES LIMIT 2`); strings.Join(got, ",") != "a 5,e 3" {
		t.Fatalf("good rows = %q, want a 5 and e 3", got)
	}
	logged := collect(t, c, `SELECT query_id, partition, offset, record_key FROM RUNNEL_PROCESSING_LOG EMIT CHANGES LIMIT 3`)
	if len(logged) != 3 || !strings.HasPrefix(logged[0], "CSAS_RATIOS_") || !strings.HasSuffix(logged[0], " 0 1 b") {
		t.Fatalf("processing log = %q", logged)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		desc := strings.Join(collect(t, c, `DESCRIBE EXTENDED ratios`), "\n")
		if strings.Contains(desc, "records_failed 3") && strings.Contains(desc, "records_consumed 5") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DESCRIBE EXTENDED does not count 3 failures of 5:\n%s", desc)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The query is still running: a new good record flows through.
	exec(t, c, `INSERT INTO nums (id, n, d) VALUES ('f', 8, 4)`)
	if got := collect(t, c, `SELECT id, r FROM ratios EMIT CHANGES LIMIT 3`); len(got) != 3 || got[2] != "f 2" {
		t.Fatalf("after bad records = %q", got)
	}
}
