package engine

import (
	"strings"
	"testing"
)

// TestPausedQueryAfterRestart: the paused state is this engine's (a
// documented difference: ksqlDB's PAUSE is in its command topic), so a
// restart runs the query again, and it reads on from the offsets it had
// committed before the pause: what was inserted while it was paused
// comes out once.
func TestPausedQueryAfterRestart(t *testing.T) {
	dir := t.TempDir()
	e := openQuiet(t, dir)
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM src (id INT KEY, a INT) WITH (kafka_topic='src', partitions=2)`)
	run(t, s, `CREATE TABLE sums AS SELECT id, COUNT(*) AS n, SUM(a) AS total FROM src GROUP BY id`)
	run(t, s, `INSERT INTO src (id, a) VALUES (1, 10), (2, 20)`)
	waitRows(t, e, `SELECT * FROM sums ORDER BY id`, "1 | 1 | 10,2 | 1 | 20")
	run(t, s, `PAUSE ALL`)
	run(t, s, `INSERT INTO src (id, a) VALUES (1, 5), (3, 30)`)
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM sums ORDER BY id`), ","); got != "1 | 1 | 10,2 | 1 | 20" {
		t.Errorf("paused query's table: %q", got)
	}
	if got := strings.Join(rowsOf(t, e, `SHOW QUERIES`), ","); !strings.Contains(got, "| PAUSED |") {
		t.Errorf("SHOW QUERIES while paused: %q", got)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openQuiet(t, dir)
	defer e.Close()
	waitRows(t, e, `SELECT * FROM sums ORDER BY id`, "1 | 2 | 15,2 | 1 | 20,3 | 1 | 30")
	if got := strings.Join(rowsOf(t, e, `SHOW QUERIES`), ","); !strings.Contains(got, "| RUNNING |") {
		t.Errorf("SHOW QUERIES after restart: %q", got)
	}
}
