package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/operators/build"
)

// aggTables are aggregations of every kind a pull query reads from the
// aggregation's stores: repartitioned or not, HAVING, AVG, expressions over
// aggregates, DISTINCT, and a
// table's aggregation whose groups are emptied by updates, and
// aggregations over a stream-table, a table-table and a stream-stream
// join.
var aggTables = []string{
	`CREATE TABLE byg AS SELECT g, COUNT(*) AS n, SUM(a) AS total, AVG(b) AS av, MAX(a) - MIN(a) AS spread FROM src GROUP BY g HAVING COUNT(*) > 1`,
	`CREATE TABLE byid AS SELECT id, COUNT(*) * 10 + 1 AS n, COUNT(DISTINCT g) AS dg, LATEST_BY_OFFSET(a) AS last FROM src GROUP BY id`,
	`CREATE TABLE regions AS SELECT region, COUNT(*) AS n, SUM(score) AS total FROM users GROUP BY region`,
	`CREATE TABLE live_regions AS SELECT region, COUNT(*) AS n FROM users GROUP BY region HAVING COUNT(*) > 0`,
	`CREATE TABLE per_region AS SELECT u.region AS region, COUNT(*) AS n, SUM(s.a) AS total FROM orders s JOIN users u ON s.id = u.uid GROUP BY u.region`,
	`CREATE TABLE bonus_by_region AS SELECT u.region AS region, SUM(b.bonus) AS bonus, COUNT(*) AS n FROM users u JOIN scores b ON u.uid = b.uid GROUP BY u.region`,
	`CREATE TABLE hits AS SELECT s.g AS g, COUNT(*) AS n, MAX(c.page) AS page FROM src s JOIN clicks c WITHIN 1 HOUR ON s.id = c.id GROUP BY s.g`,
}

// aggPulls are the pull queries compared between the two paths, with
// ORDER BY where LIMIT needs one: the paths' scan orders differ.
var aggPulls = []string{
	`SELECT * FROM byg`,
	`SELECT * FROM byg WHERE g = 'x'`,
	`SELECT g, ROWTIME, n FROM byg`,
	`SELECT * FROM byg WHERE g = 'none'`,
	`SELECT g, total * 2 AS t2 FROM byg WHERE av > 1.5`,
	`SELECT * FROM byid`,
	`SELECT * FROM byid WHERE id = 2`,
	`SELECT id, n FROM byid ORDER BY n DESC, id LIMIT 2`,
	`SELECT * FROM regions`,
	`SELECT * FROM regions WHERE region = 'north'`,
	`SELECT * FROM live_regions`,
	`SELECT * FROM per_region`,
	`SELECT * FROM per_region WHERE region = 'east'`,
	`SELECT * FROM bonus_by_region`,
	`SELECT * FROM bonus_by_region WHERE region = 'north'`,
	`SELECT * FROM hits`,
	`SELECT * FROM hits WHERE g = 'x'`,
}

// aggWrites fill the sources; each row's time places it in the stream-stream
// join's window.
var aggWrites = []string{
	`INSERT INTO src (ROWTIME, id, g, a, b) VALUES (1000, 1, 'x', 1, 1.0), (2000, 2, 'y', 4, 2.5), (3000, 1, 'x', 7, 3.0)`,
	`INSERT INTO src (ROWTIME, id, g, a, b) VALUES (12000, 3, 'z', 2, 0.5), (13000, 2, 'x', 9, 1.5), (14000, 1, 'y', 3, 4.0)`,
	`INSERT INTO src (ROWTIME, id, g, a, b) VALUES (25000, 2, 'y', 5, 2.0), (26000, 4, 'w', 1, 1.0), (40000, 1, 'x', 2, 2.0)`,
	`INSERT INTO users (uid, region, score) VALUES (1, 'north', 10), (2, 'south', 20), (3, 'north', 5)`,
	// Moves: south is emptied (its row stays, COUNT 0 and SUM NULL, in
	// REGIONS, and leaves LIVE_REGIONS); north loses a row.
	`INSERT INTO users (uid, region, score) VALUES (2, 'east', 21), (3, 'east', 6)`,
	`INSERT INTO scores (uid, bonus) VALUES (1, 100), (2, 200), (3, 300), (9, 900)`,
	`INSERT INTO clicks (ROWTIME, id, page) VALUES (1500, 1, 'home'), (2500, 2, 'cart'), (13500, 2, 'pay')`,
	// At the time of the insert, after the users' rows, which the
	// stream-table join then finds.
	`INSERT INTO orders (id, a) VALUES (1, 1), (3, 3), (3, 4)`,
}

// pullAll runs every pull query and returns each one's rows, sorted
// where the query has no ORDER BY.
func pullAll(t *testing.T, e *Engine) [][]string {
	t.Helper()
	out := make([][]string, len(aggPulls))
	for i, q := range aggPulls {
		rows := rowsOf(t, e, q)
		if !strings.Contains(q, "ORDER BY") {
			slices.Sort(rows)
		}
		out[i] = rows
	}
	return out
}

// TestPullAggregateMatchesMaterializer runs the same pull queries on
// tables that their aggregations serve, then again once materializers
// (the path every other table takes) are started for the same tables:
// the answers must be the same, row for row.
func TestPullAggregateMatchesMaterializer(t *testing.T) {
	e := openQuiet(t, t.TempDir())
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM src (id INT KEY, g VARCHAR, a INT, b DOUBLE) WITH (kafka_topic='src', partitions=3, value_format='JSON')`)
	run(t, s, `CREATE TABLE users (uid INT PRIMARY KEY, region VARCHAR, score INT) WITH (kafka_topic='users', partitions=2, value_format='JSON')`)
	run(t, s, `CREATE TABLE scores (uid INT PRIMARY KEY, bonus INT) WITH (kafka_topic='scores', partitions=2, value_format='JSON')`)
	run(t, s, `CREATE STREAM orders (id INT KEY, a INT) WITH (kafka_topic='orders', partitions=2, value_format='JSON')`)
	run(t, s, `CREATE STREAM clicks (id INT KEY, page VARCHAR) WITH (kafka_topic='clicks', partitions=3, value_format='JSON')`)
	for _, st := range aggTables {
		run(t, s, st)
	}
	for _, w := range aggWrites {
		run(t, s, w)
	}
	var tables []*catalog.Source
	for _, src := range e.cat.Sources() {
		if src.Kind != catalog.KindTable || src.Name == "USERS" || src.Name == "SCORES" {
			continue
		}
		tables = append(tables, src)
		if _, ok := e.aggregateWriter(src); !ok {
			t.Fatalf("table %s is not served by its aggregation", src.Name)
		}
		e.mu.Lock()
		_, mat := e.mu.materialized[src.Name]
		e.mu.Unlock()
		if mat {
			t.Fatalf("table %s has a materializer", src.Name)
		}
	}
	if len(tables) != len(aggTables) {
		t.Fatalf("%d tables, want %d", len(tables), len(aggTables))
	}
	direct := pullAll(t, e)

	// Some answers checked by hand, so that two equally wrong paths fail.
	want := map[string]string{
		`SELECT * FROM byg WHERE g = 'x'`:    "x | 4 | 19 | 1.875 | 8",
		`SELECT * FROM byg WHERE g = 'none'`: "",
		`SELECT * FROM byid WHERE id = 2`:    "2 | 31 | 2 | 5",
		`SELECT * FROM regions`:              "east | 2 | 27,north | 1 | 10,south | 0 | ",
		`SELECT * FROM live_regions`:         "east | 2,north | 1",
	}
	for i, q := range aggPulls {
		if w, ok := want[q]; ok {
			if got := strings.Join(direct[i], ","); got != w {
				t.Errorf("%s: got %q, want %q", q, got, w)
			}
		}
	}

	for _, src := range tables {
		if err := e.runMaterializer(src); err != nil {
			t.Fatal(err)
		}
	}
	viaCopy := pullAll(t, e)
	for i, q := range aggPulls {
		if got, want := strings.Join(direct[i], ","), strings.Join(viaCopy[i], ","); got != want {
			t.Errorf("%s:\n  from the aggregation %q\n  from a materializer  %q", q, got, want)
		}
	}
}

// TestPullAggregateRestartAndUpgrade: a data directory whose aggregated
// table has a materializer's stores (what the version before this one
// kept) opens with the aggregation serving the table's pull queries: the
// old stores are dropped, and the answers, after a restart and after more
// writes, are the aggregation's. DROP and a re-created table of the same
// name start from nothing; after TERMINATE, the table's topic answers.
func TestPullAggregateRestartAndUpgrade(t *testing.T) {
	dir := t.TempDir()
	e := openQuiet(t, dir)
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM src (id INT KEY, g VARCHAR, a INT) WITH (kafka_topic='src', partitions=2, value_format='JSON')`)
	run(t, s, `CREATE TABLE sums AS SELECT g, COUNT(*) AS n, SUM(a) AS total FROM src GROUP BY g`)
	run(t, s, `INSERT INTO src (id, g, a) VALUES (1, 'x', 1), (2, 'y', 2), (3, 'x', 3)`)
	waitRows(t, e, `SELECT * FROM sums ORDER BY g`, "x | 2 | 4,y | 1 | 2")
	src, err := e.cat.Source("SUMS")
	if err != nil {
		t.Fatal(err)
	}
	// The old version's copy of the table.
	if err := e.runMaterializer(src); err != nil {
		t.Fatal(err)
	}
	waitRows(t, e, `SELECT * FROM sums ORDER BY g`, "x | 2 | 4,y | 1 | 2")
	if n := storedKeys(t, e, src); n == 0 {
		t.Fatal("the materializer stored nothing")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openQuiet(t, dir)
	e.mu.Lock()
	_, mat := e.mu.materialized["SUMS"]
	e.mu.Unlock()
	if mat {
		t.Fatal("the reopened engine started a materializer for an aggregated table")
	}
	if n := storedKeys(t, e, src); n != 0 {
		t.Errorf("the old materializer's stores hold %d keys after the upgrade", n)
	}
	waitRows(t, e, `SELECT * FROM sums ORDER BY g`, "x | 2 | 4,y | 1 | 2")
	s = e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `INSERT INTO src (id, g, a) VALUES (4, 'y', 10)`)
	// Read-your-writes: the pull query after the acknowledged write
	// sees it, with no wait in the test.
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM sums WHERE g = 'y'`), ","); got != "y | 2 | 12" {
		t.Errorf("after the insert: %q", got)
	}

	run(t, s, `TERMINATE `+queryIDFor(t, e, "SUMS"))
	// Its stores went with the query: a materializer reads the rows its
	// topic holds, as before this version.
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM sums ORDER BY g`), ","); got != "x | 2 | 4,y | 2 | 12" {
		t.Errorf("after TERMINATE: %q", got)
	}
	run(t, s, `DROP TABLE sums DELETE TOPIC`)
	run(t, s, `CREATE TABLE sums AS SELECT g, COUNT(*) AS n, MAX(a) AS top FROM src WHERE a > 1 GROUP BY g`)
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM sums ORDER BY g`), ","); got != "x | 1 | 3,y | 2 | 10" {
		t.Errorf("re-created table: %q", got)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

// storedKeys counts the keys in the stores of src's materializer.
func storedKeys(t *testing.T, e *Engine, src *catalog.Source) int {
	t.Helper()
	n := 0
	for p := range int32(2) {
		err := e.state.Reader(build.MaterializedStore(materializerID(src), p)).Scan(nil, nil, func(_, _ []byte) bool { n++; return true })
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// TestPullAggregateOtherOrigins: tables whose rows no aggregation's store
// holds exactly keep their materializer: a projection of a table, and
// windowed aggregations (the aggregation drops a window past its
// retention, which the table's copy keeps; EMIT FINAL's store holds
// windows still open). A declared table's starts at its first pull query
// (lazyMaterializer).
func TestPullAggregateOtherOrigins(t *testing.T) {
	e := openQuiet(t, t.TempDir())
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM src (id INT KEY, a INT) WITH (kafka_topic='src', partitions=2, value_format='JSON')`)
	run(t, s, `CREATE TABLE users (uid INT PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2, value_format='JSON')`)
	run(t, s, `CREATE TABLE copy AS SELECT uid, region FROM users`)
	run(t, s, `CREATE TABLE fin AS SELECT id, COUNT(*) AS n FROM src WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY id EMIT FINAL`)
	run(t, s, `CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id`)
	run(t, s, `CREATE TABLE tumb AS SELECT id, COUNT(*) AS n FROM src WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY id`)
	run(t, s, `INSERT INTO users (uid, region) VALUES (1, 'north')`)
	run(t, s, `INSERT INTO src (ROWTIME, id, a) VALUES (1000, 1, 1), (30000, 1, 2)`)
	for name, want := range map[string]bool{"USERS": false, "COPY": true, "FIN": true, "TUMB": true, "COUNTS": false} {
		e.mu.Lock()
		_, mat := e.mu.materialized[name]
		e.mu.Unlock()
		if mat != want {
			t.Errorf("table %s: materializer %v, want %v", name, mat, want)
		}
	}
	for q, want := range map[string]string{
		`SELECT * FROM fin`:    "1 | 0 | 10000 | 1",
		`SELECT * FROM counts`: "1 | 2",
		`SELECT * FROM copy`:   "1 | north",
		`SELECT * FROM users`:  "1 | north",
	} {
		if got := strings.Join(rowsOf(t, e, q), ","); got != want {
			t.Errorf("%s: got %q, want %q", q, got, want)
		}
	}
	if !e.materializing("USERS") {
		t.Error("table USERS: no materializer after its first pull query")
	}
}
