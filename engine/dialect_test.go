package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/internal/sqlstate"
)

// TestVariablesInOneText: in a text of several statements (the simple
// protocol), a DEFINE counts for the statements after it, each
// substituted when its turn comes; variables are the session's own.
func TestVariablesInOneText(t *testing.T) {
	e := openQuiet(t, t.TempDir())
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `DEFINE topic = 'v_topic'; DEFINE n = '7'; CREATE STREAM v (id INT KEY, n INT) WITH (kafka_topic='${topic}', partitions=1); INSERT INTO v (id, n) VALUES (1, ${n}); UNDEFINE n`)
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM v`), ","); got != "1 | 7" {
		t.Errorf("rows: %q", got)
	}
	// Another session does not see them.
	other := e.NewSession(nil)
	if err := try(other, `INSERT INTO v (id, n) VALUES (2, ${n})`); sqlstate.Of(err) != sqlstate.Syntax {
		t.Errorf("a variable of another session: %v", err)
	}
	// UNDEFINE took effect in the first session too.
	if err := try(s, `INSERT INTO v (id, n) VALUES (2, ${n})`); sqlstate.Of(err) != sqlstate.Syntax {
		t.Errorf("an undefined variable: %v", err)
	}
	// A session's variables are bounded, as a statement is.
	small, err := Open(context.Background(), Options{DataDir: t.TempDir(), MaxStatementBytes: 64,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	ss := small.NewSession(nil)
	run(t, ss, `DEFINE a = '`+strings.Repeat("x", 40)+`'`)
	if err := try(ss, `DEFINE b = '`+strings.Repeat("y", 40)+`'`); sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("variables over the limit: %v", err)
	}
	run(t, ss, `DEFINE a = 'short'`)
	run(t, ss, `DEFINE b = '`+strings.Repeat("y", 40)+`'`)
	// 'ksql.variable.substitution.enable' = 'false' turns substitution off.
	run(t, s, `DEFINE n = '8'`)
	run(t, s, `SET 'ksql.variable.substitution.enable' = 'false'`)
	if err := try(s, `INSERT INTO v (id, n) VALUES (3, ${n})`); sqlstate.Of(err) != sqlstate.Syntax {
		t.Errorf("substitution disabled: %v", err)
	}
}

// TestTypesSurviveRestart: custom types are catalog commands; a query that
// used one keeps running after DROP TYPE and a restart, with the type it
// was made with.
func TestTypesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	e := openQuiet(t, dir)
	s := e.NewSession(nil)
	run(t, s, `CREATE TYPE amount AS DECIMAL(10, 2)`)
	run(t, s, `CREATE TYPE line AS STRUCT<item VARCHAR, price amount>`)
	run(t, s, `CREATE STREAM orders (id INT KEY, l line) WITH (kafka_topic='orders', partitions=1)`)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM prices AS SELECT id, CAST(l->price AS amount) AS p FROM orders`)
	// A string that reads like a variable, escaped: the recorded text
	// holds ${tag} as text, which the restart reads as text.
	run(t, s, `CREATE STREAM tagged AS SELECT id, '$${tag}' AS t FROM orders`)
	run(t, s, `DROP TYPE amount`)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openQuiet(t, dir)
	defer e.Close()
	s = e.NewSession(nil)
	if got := strings.Join(rowsOf(t, e, `SHOW TYPES`), ","); got != "LINE | STRUCT<`ITEM` STRING, `PRICE` DECIMAL(10, 2)>" {
		t.Errorf("types after restart: %q", got)
	}
	run(t, s, `INSERT INTO orders (id, l) VALUES (1, STRUCT(item := 'tea', price := CAST(2.5 AS DECIMAL(10, 2))))`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := strings.Join(rowsOf(t, e, `SELECT * FROM prices`), ",")
		if got == "1 | 2.50" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prices after restart: %q", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	queries := rowsOf(t, e, `SHOW QUERIES`)
	if len(queries) != 2 || !strings.Contains(queries[0], "CAST(l->price AS DECIMAL(10, 2))") ||
		!strings.Contains(queries[1], "'${tag}' AS t") {
		t.Errorf("the queries' recorded texts: %q", queries)
	}
	for _, q := range queries {
		if !strings.Contains(q, "| RUNNING |") {
			t.Errorf("after restart: %s", q)
		}
	}
}

// TestEngineErrorsAreSQLState: the engine's own errors are
// internal/sqlstate's one coded-error type, with their codes.
func TestEngineErrorsAreSQLState(t *testing.T) {
	e := openQuiet(t, t.TempDir())
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE STREAM a (id INT KEY, v INT) WITH (kafka_topic='a', partitions=1)`)
	for _, tc := range []struct {
		sql  string
		code sqlstate.Code
	}{
		{`DESCRIBE nope`, sqlstate.UndefinedTable},
		{`DROP TABLE a`, sqlstate.WrongObjectType},
		{`CREATE STREAM a (id INT KEY) WITH (kafka_topic='a')`, sqlstate.DuplicateTable},
		{`INSERT INTO a (nope) VALUES (1)`, sqlstate.UndefinedColumn},
		{`TERMINATE nope`, sqlstate.UndefinedObject},
		{`DROP TYPE nope`, sqlstate.UndefinedObject},
		{`SET 'auto.offset.reset' = 'sometimes'`, sqlstate.InvalidParameter},
	} {
		err := try(s, tc.sql)
		var coded *sqlstate.Error
		if !errors.As(err, &coded) || coded.Code != tc.code {
			t.Errorf("%s: %v (%T), want a *sqlstate.Error with %s", tc.sql, err, err, tc.code)
		}
	}
}
