package engine

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel/runnel/sql/types"
)

// TestDeclaredTableMaterializerStartsAtFirstPull: a declared table's
// materializer starts at its first pull query (lazyMaterializer); a source
// table's and a CTAS table's at once. ALTER keeps a pulled table's
// materializer running (reading the topic again) and an unpulled one's
// waiting; CREATE OR REPLACE makes a new table, unpulled. Eight first pull
// queries at once start one materializer, which DROP stops: the
// goroutines go back to what they were before the table.
func TestDeclaredTableMaterializerStartsAtFirstPull(t *testing.T) {
	e := openQuiet(t, t.TempDir())
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE TABLE a (id INT PRIMARY KEY, v INT) WITH (kafka_topic='a', partitions=2, value_format='JSON')`)
	run(t, s, `CREATE TABLE b (id INT PRIMARY KEY, v INT) WITH (kafka_topic='b', partitions=2, value_format='JSON')`)
	run(t, s, `CREATE SOURCE TABLE src (id INT PRIMARY KEY, v INT) WITH (kafka_topic='a', value_format='JSON')`)
	run(t, s, `CREATE TABLE proj AS SELECT id, v FROM b`)
	run(t, s, `INSERT INTO a (id, v) VALUES (1, 10), (2, 20)`)
	run(t, s, `INSERT INTO b (id, v) VALUES (1, 100)`)
	want := map[string]bool{"A": false, "B": false, "SRC": true, "PROJ": true}
	check := func(when string) {
		t.Helper()
		for name, w := range want {
			if got := e.materializing(name); got != w {
				t.Errorf("%s: table %s materializing %v, want %v", when, name, got, w)
			}
		}
	}
	check("after CREATE")

	if got := strings.Join(rowsOf(t, e, `SELECT * FROM a`), ","); got != "1 | 10,2 | 20" {
		t.Fatalf("first pull of a = %q", got)
	}
	want["A"] = true
	check("after the first pull of a")

	run(t, s, `ALTER TABLE a ADD COLUMN w INT`)
	run(t, s, `ALTER TABLE b ADD COLUMN w INT`)
	check("after ALTER")
	run(t, s, `INSERT INTO a (id, v, w) VALUES (3, 30, 3)`)
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM a`), ","); got != "1 | 10 | ,2 | 20 | ,3 | 30 | 3" {
		t.Fatalf("pull of a after ALTER = %q", got)
	}
	if got := strings.Join(rowsOf(t, e, `SELECT id, w FROM b`), ","); got != "1 | " {
		t.Fatalf("first pull of b after ALTER = %q", got)
	}
	want["B"] = true
	check("after the first pull of b")

	run(t, s, `CREATE OR REPLACE TABLE a (id INT PRIMARY KEY, v INT) WITH (kafka_topic='a', value_format='JSON')`)
	want["A"] = false
	check("after CREATE OR REPLACE")

	before := runtime.NumGoroutine()
	run(t, s, `CREATE TABLE c (id INT PRIMARY KEY, v INT) WITH (kafka_topic='a', value_format='JSON')`)
	var wg sync.WaitGroup
	got := make([]string, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = pullOne(e, `SELECT v FROM c WHERE id = 3`)
		}()
	}
	wg.Wait()
	for i, g := range got {
		if errs[i] != nil || g != "30" {
			t.Fatalf("concurrent first pull %d = %q, %v", i, g, errs[i])
		}
	}
	run(t, s, `DROP TABLE c`)
	if e.materializing("C") {
		t.Fatal("table C still materializing after DROP")
	}
	// A second materializer started and lost would keep its tasks'
	// goroutines running.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after DROP of a table pulled by eight queries at once, %d before it", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pullOne runs a pull query of one row and one column in a new session and
// returns its value, for goroutines that may not fail the test.
func pullOne(e *Engine, sql string) (string, error) {
	ctx := context.Background()
	stmts, err := e.NewSession(nil).Prepare(ctx, sql)
	if err != nil {
		return "", fmt.Errorf("prepare %s: %w", sql, err)
	}
	res, err := stmts[0].Execute(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("execute %s: %w", sql, err)
	}
	if res.Rows == nil {
		return "", fmt.Errorf("%s returned no rows", sql)
	}
	defer res.Rows.Close()
	row, err := res.Rows.Next(ctx)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", sql, err)
	}
	return types.Format(row[0], stmts[0].Columns()[0].Type), nil
}
