package engine

import (
	"strings"
	"testing"
	"time"
)

// waitRows polls a pull query until it returns want (rows joined by ",")
// or a generous deadline passes; the deadline only bounds a failing test.
func waitRows(t *testing.T, e *Engine, sql, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := strings.Join(rowsOf(t, e, sql), ",")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %q, want %q", sql, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAlterSurvivesRestart: ALTER is a catalog command, so the added
// columns are there after a restart, and a query over the source that
// names its columns is planned again from its text and runs.
func TestAlterSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := openQuiet(t, dir)
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM src (id INT KEY, a INT) WITH (kafka_topic='src', partitions=1)`)
	run(t, s, `INSERT INTO src (id, a) VALUES (1, 10)`)
	run(t, s, `CREATE STREAM named AS SELECT id, a + 1 AS a1 FROM src`)
	run(t, s, `CREATE TYPE pair AS STRUCT<x INT, y INT>`)
	run(t, s, `ALTER STREAM src ADD COLUMN b VARCHAR, ADD p pair`)
	// The type was spelled out when the ALTER was recorded.
	run(t, s, `DROP TYPE pair`)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openQuiet(t, dir)
	defer e.Close()
	s = e.NewSession(nil)
	if got := strings.Join(rowsOf(t, e, `DESCRIBE src`), ","); got != "ID | INTEGER (key),A | INTEGER,B | STRING,P | STRUCT<`X` INTEGER, `Y` INTEGER>" {
		t.Errorf("DESCRIBE after restart: %q", got)
	}
	run(t, s, `INSERT INTO src (id, a, b, p) VALUES (2, 20, 'two', STRUCT(x := 1, y := 2))`)
	waitRows(t, e, `SELECT id, b, p->y FROM src`, "1 |  | ,2 | two | 2")
	waitRows(t, e, `SELECT * FROM named`, "1 | 11,2 | 21")
	if got := strings.Join(rowsOf(t, e, `SHOW QUERIES`), ","); !strings.Contains(got, "RUNNING") {
		t.Errorf("SHOW QUERIES after restart: %q", got)
	}
}
