package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/tests/harness"
)

// tablePartitions is SHOW NODES' table_partitions of the one embedded
// node: the partitions of tables its materializers copy for pull queries
// (and of tables an aggregation's stores serve: none in these tests).
func tablePartitions(t *testing.T, c *pgx.Conn) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := c.Query(ctx, `SHOW NODES`)
	if err != nil {
		t.Fatalf("SHOW NODES: %v", err)
	}
	defer rows.Close()
	col := -1
	for i, f := range rows.FieldDescriptions() {
		if f.Name == "table_partitions" {
			col = i
		}
	}
	if col < 0 {
		t.Fatal("SHOW NODES has no table_partitions column")
	}
	var n int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("SHOW NODES: %v", err)
		}
		v, ok := vals[col].(int64)
		if !ok {
			v32, ok := vals[col].(int32)
			if !ok {
				t.Fatalf("SHOW NODES: table_partitions is %T", vals[col])
			}
			v = int64(v32)
		}
		n += v
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("SHOW NODES: %v", err)
	}
	return n
}

// TestDeclaredTableMaterializesAtFirstPull: a table declared over a topic
// (CREATE TABLE ... WITH (kafka_topic=...)) gets no materializer until a
// pull query reads it. That first pull query waits for the new
// materializer to read the rows written before it (and times out with the
// pull timeout's error when that is too short); later ones read their
// writes. Two first pull queries at once start one materializer. A table
// that was pulled is materialized again at once after a restart; one
// never pulled is not, and drops like any other.
func TestDeclaredTableMaterializesAtFirstPull(t *testing.T) {
	dir := t.TempDir()
	s := harness.Start(t, harness.Options{DataDir: dir})
	c := s.Connect(t)
	exec(t, c, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2, value_format='JSON')`)
	exec(t, c, `CREATE TABLE never (id VARCHAR PRIMARY KEY, v INT) WITH (kafka_topic='never', partitions=2, value_format='JSON')`)
	exec(t, c, `CREATE TABLE pair (id INT PRIMARY KEY, v INT) WITH (kafka_topic='pair', partitions=2, value_format='JSON')`)
	exec(t, c, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us'), ('alice', 'apac'), ('carol', 'eu')`)
	exec(t, c, `INSERT INTO never (id, v) VALUES ('x', 1)`)
	// Enough rows that no machine reads them within the 1 ms timeout of
	// the first pull below: 20,000, in INSERTs of 2,000.
	for from := 0; from < 20000; from += 2000 {
		var vals []string
		for i := from; i < from+2000; i++ {
			vals = append(vals, fmt.Sprintf("(%d, %d)", i, i))
		}
		exec(t, c, `INSERT INTO pair (id, v) VALUES `+strings.Join(vals, ", "))
	}
	if n := tablePartitions(t, c); n != 0 {
		t.Fatalf("table_partitions = %d before any pull query, want 0", n)
	}

	// The first pull query starts the materializer and waits for it.
	if got := collect(t, c, `SELECT id, region FROM users ORDER BY id`); strings.Join(got, ",") != "alice apac,bob us,carol eu" {
		t.Fatalf("first pull = %q", got)
	}
	if n := tablePartitions(t, c); n != 2 {
		t.Fatalf("table_partitions = %d after the first pull of users, want 2", n)
	}
	exec(t, c, `INSERT INTO users (id, region) VALUES ('dave', 'us'), ('bob', 'eu')`)
	if got := collect(t, c, `SELECT id, region FROM users WHERE region = 'eu' ORDER BY id`); strings.Join(got, ",") != "bob eu,carol eu" {
		t.Fatalf("pull after insert = %q", got)
	}

	// A first pull query whose timeout is too short for the catch-up
	// says so; the materializer it started serves the next one.
	exec(t, c, `SET 'runnel.pull.timeout.ms' = '1'`)
	expectError(t, c, `SELECT id FROM pair WHERE id = 1`, "57014", "timed out", "catch up")
	exec(t, c, `SET 'runnel.pull.timeout.ms' = '20000'`)
	if got := collect(t, c, `SELECT id, v FROM pair WHERE id = 19999`); strings.Join(got, ",") != "19999 19999" {
		t.Fatalf("pull after a timed-out first pull = %q", got)
	}
	if n := tablePartitions(t, c); n != 4 {
		t.Fatalf("table_partitions = %d after pulls of users and pair, want 4", n)
	}

	// Two sessions' first pull queries at once start one materializer.
	exec(t, c, `CREATE TABLE twice (id INT PRIMARY KEY, v INT) WITH (kafka_topic='pair', value_format='JSON')`)
	c2 := s.Connect(t)
	var wg sync.WaitGroup
	got := make([]string, 2)
	errs := make([]error, 2)
	for i, conn := range []*pgx.Conn{c, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var id, v int64
			errs[i] = conn.QueryRow(ctx, `SELECT id, v FROM twice WHERE id = 7`).Scan(&id, &v)
			got[i] = fmt.Sprint(id, " ", v)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != "7 7" {
			t.Fatalf("concurrent first pull %d = %q, %v", i, got[i], errs[i])
		}
	}
	if n := tablePartitions(t, c); n != 6 {
		t.Fatalf("table_partitions = %d after concurrent first pulls of twice, want 6", n)
	}
	exec(t, c, `DROP TABLE twice`)
	if n := tablePartitions(t, c); n != 4 {
		t.Fatalf("table_partitions = %d after DROP TABLE twice, want 4", n)
	}

	// Restart: the pulled tables are materialized at once, the other not.
	s.Stop()
	s = harness.Start(t, harness.Options{DataDir: dir})
	c = s.Connect(t)
	if n := tablePartitions(t, c); n != 4 {
		t.Fatalf("table_partitions = %d after a restart, want 4 (users and pair, pulled before)", n)
	}
	exec(t, c, `INSERT INTO users (id, region) VALUES ('erin', 'eu')`)
	if got := collect(t, c, `SELECT id FROM users WHERE region = 'eu' ORDER BY id`); strings.Join(got, ",") != "bob,carol,erin" {
		t.Fatalf("pull after a restart = %q", got)
	}

	// DROP of a table never pulled, then the same name again: its first
	// pull reads the topic's rows.
	exec(t, c, `DROP TABLE never`)
	exec(t, c, `CREATE TABLE never (id VARCHAR PRIMARY KEY, v INT) WITH (kafka_topic='never', value_format='JSON')`)
	if n := tablePartitions(t, c); n != 4 {
		t.Fatalf("table_partitions = %d after re-creating never, want 4", n)
	}
	if got := collect(t, c, `SELECT id, v FROM never`); strings.Join(got, ",") != "x 1" {
		t.Fatalf("first pull of the re-created table = %q", got)
	}
	exec(t, c, `DROP TABLE never DELETE TOPIC`)
	exec(t, c, `DROP TABLE users DELETE TOPIC`)
	if n := tablePartitions(t, c); n != 2 {
		t.Fatalf("table_partitions = %d after dropping users and never, want 2", n)
	}
}
