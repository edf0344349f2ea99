package drivers

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"

	"github.com/runnel/runnel/planner/pgcatalog"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql/types"
	"github.com/runnel/runnel/tests/harness"
)

// steps are the scenario's steps, in order, as the scripts print them.
var steps = []string{
	"create stream", "insert with parameters", "create table as select", "pull query with a parameter",
	"push query through a cursor", "cancel", "rolled-back and committed transactions", "copy in and out", "metadata",
}

// jdbcJar is Debian's libpostgresql-jdbc-java.
const jdbcJar = "/usr/share/java/postgresql.jar"

// pythonBin is Debian's python3, whose python3-psycopg2 is psycopg2.
const pythonBin = "/usr/bin/python3"

// need fails the test when a client is missing.
func need(t *testing.T, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	if _, err := exec.LookPath(path); err == nil {
		return
	}
	t.Fatalf("%s is missing (%s): run `make deps` to install the driver matrix's clients", what, path)
}

// runScript runs an external client's scenario and checks that it did
// every step.
func runScript(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s: %s (machine loaded: other tests run beside it)", name, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	checkSteps(t, out.String())
}

func checkSteps(t *testing.T, out string) {
	t.Helper()
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "ok "); ok {
			got = append(got, s)
		}
	}
	if strings.Join(got, "|") != strings.Join(steps, "|") {
		t.Fatalf("steps done: %q, want %q\noutput:\n%s", got, steps, out)
	}
}

func hostPort(t *testing.T, s *harness.Server) (string, string) {
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// TestDriverMatrix runs the scenario from every client against one server
// (each with its own names).
func TestDriverMatrix(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	host, port := hostPort(t, s)
	t.Run("psql", func(t *testing.T) {
		need(t, "psql", "psql (Debian's postgresql-client)")
		runScript(t, "bash", filepath.Join("psql", "scenario.sh"), host, port, "psql")
	})
	t.Run("pgx", func(t *testing.T) { pgxScenario(t, s, pgx.QueryExecModeCacheStatement, "pgx") })
	t.Run("pgx_simple_protocol", func(t *testing.T) { pgxScenario(t, s, pgx.QueryExecModeSimpleProtocol, "pgxs") })
	t.Run("lib_pq", func(t *testing.T) { pqScenario(t, s, "pq") })
	t.Run("psycopg2", func(t *testing.T) {
		need(t, pythonBin, "Debian's python3")
		if err := exec.Command(pythonBin, "-c", "import psycopg2").Run(); err != nil {
			t.Fatalf("psycopg2 is missing from %s (Debian's python3-psycopg2): run `make deps`", pythonBin)
		}
		runScript(t, pythonBin, filepath.Join("python", "scenario.py"), host, port, "py")
	})
	t.Run("node_postgres", func(t *testing.T) {
		need(t, "node", "node.js")
		for _, m := range []string{"pg", "pg-cursor", "pg-copy-streams"} {
			need(t, filepath.Join("node", "node_modules", m, "package.json"), "npm package "+m)
		}
		runScript(t, "node", "--no-deprecation", filepath.Join("node", "scenario.js"), host, port, "node")
	})
	t.Run("pgjdbc", func(t *testing.T) {
		need(t, "java", "a JDK (Debian's default-jdk-headless)")
		need(t, jdbcJar, "pgjdbc (Debian's libpostgresql-jdbc-java)")
		runScript(t, "java", "-cp", jdbcJar, filepath.Join("java", "Scenario.java"), host, port, "jdbc")
	})
}

// pgxScenario is the scenario with pgx in one exec mode.
func pgxScenario(t *testing.T, s *harness.Server, mode pgx.QueryExecMode, p string) {
	cfg, err := pgx.ParseConfig(s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var out strings.Builder
	ok := func(step string) { fmt.Fprintf(&out, "ok %s\n", step) }
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = c.Exec(ctx, fmt.Sprintf("CREATE STREAM %s_views (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='%s_views', partitions=1)", p, p))
	must("create stream", err)
	ok("create stream")
	for _, r := range []struct {
		u, pg string
		t     int64
	}{{"alice", "home", 100}, {"bob", "news", 200}, {"alice", "about", 300}} {
		_, err = c.Exec(ctx, fmt.Sprintf("INSERT INTO %s_views (userid, pageid, viewtime) VALUES ($1, $2, $3)", p), r.u, r.pg, r.t)
		must("insert", err)
	}
	ok("insert with parameters")
	_, err = c.Exec(ctx, "SET 'auto.offset.reset' = 'earliest'")
	must("set", err)
	_, err = c.Exec(ctx, fmt.Sprintf("CREATE TABLE %s_counts AS SELECT userid, COUNT(*) AS n FROM %s_views GROUP BY userid", p, p))
	must("ctas", err)
	ok("create table as select")
	var n int64
	must("pull", c.QueryRow(ctx, fmt.Sprintf("SELECT n FROM %s_counts WHERE userid = $1", p), "alice").Scan(&n))
	if n != 2 {
		t.Fatalf("pull query: %d, want 2", n)
	}
	ok("pull query with a parameter")

	tx, err := c.Begin(ctx)
	must("begin", err)
	_, err = tx.Exec(ctx, fmt.Sprintf("DECLARE c CURSOR FOR SELECT userid, viewtime FROM %s_views EMIT CHANGES", p))
	must("declare", err)
	rows, err := tx.Query(ctx, "FETCH 3 FROM c")
	must("fetch", err)
	var got []string
	for rows.Next() {
		var u string
		var v int64
		must("scan", rows.Scan(&u, &v))
		got = append(got, fmt.Sprintf("%s:%d", u, v))
	}
	must("fetch rows", rows.Err())
	sort.Strings(got)
	if strings.Join(got, ",") != "alice:100,alice:300,bob:200" {
		t.Fatalf("cursor: %v", got)
	}
	must("rollback", tx.Rollback(ctx))
	ok("push query through a cursor")

	// pgx's cancel request, sent while the push query streams.
	cancelled := make(chan error, 1)
	timer := time.AfterFunc(500*time.Millisecond, func() { cancelled <- c.PgConn().CancelRequest(ctx) })
	defer timer.Stop()
	rows, err = c.Query(ctx, fmt.Sprintf("SELECT * FROM %s_views EMIT CHANGES", p))
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
	}
	must("cancel request", <-cancelled)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("cancel: %v", err)
	}
	// The connection is usable after the cancel.
	must("after cancel", c.Ping(ctx))
	ok("cancel")

	for _, commit := range []bool{false, true} {
		tx, err := c.Begin(ctx)
		must("begin", err)
		page := "rolled back"
		if commit {
			page = "committed"
		}
		_, err = tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s_views (userid, pageid, viewtime) VALUES ('carol', $1, 1)", p), page)
		must("insert", err)
		if commit {
			must("commit", tx.Commit(ctx))
		} else {
			must("rollback", tx.Rollback(ctx))
		}
	}
	var page string
	must("transactions", c.QueryRow(ctx, fmt.Sprintf("SELECT pageid FROM %s_views WHERE userid = 'carol'", p)).Scan(&page))
	if page != "committed" {
		t.Fatalf("transactions: %q", page)
	}
	ok("rolled-back and committed transactions")

	_, err = c.PgConn().CopyFrom(ctx, strings.NewReader("dave,copy,10\nerin,copy,20\n"), fmt.Sprintf("COPY %s_views (userid, pageid, viewtime) FROM STDIN WITH (FORMAT csv)", p))
	must("copy in", err)
	var buf bytes.Buffer
	_, err = c.PgConn().CopyTo(ctx, &buf, fmt.Sprintf("COPY (SELECT userid, viewtime FROM %s_views WHERE pageid = 'copy') TO STDOUT WITH (FORMAT csv)", p))
	must("copy out", err)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	sort.Strings(lines)
	if strings.Join(lines, "|") != "dave,10|erin,20" {
		t.Fatalf("copy out: %q", buf.String())
	}
	ok("copy in and out")

	var names []string
	rows, err = c.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", "public")
	must("tables", err)
	for rows.Next() {
		var s string
		must("scan", rows.Scan(&s))
		names = append(names, s)
	}
	if !contains(names, p+"_views") || !contains(names, p+"_counts") {
		t.Fatalf("tables: %v", names)
	}
	var cols []string
	rows, err = c.Query(ctx, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position", p+"_views")
	must("columns", err)
	for rows.Next() {
		var a, b string
		must("scan", rows.Scan(&a, &b))
		cols = append(cols, a+" "+b)
	}
	if strings.Join(cols, ",") != "userid text,pageid text,viewtime bigint" {
		t.Fatalf("columns: %v", cols)
	}
	ok("metadata")
	checkSteps(t, out.String())
}

// pqScenario is the scenario with lib/pq through database/sql.
func pqScenario(t *testing.T, s *harness.Server, p string) {
	db, err := sql.Open("postgres", s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one session: SET applies to what follows
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out strings.Builder
	ok := func(step string) { fmt.Fprintf(&out, "ok %s\n", step) }
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = db.ExecContext(ctx, fmt.Sprintf("CREATE STREAM %s_views (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='%s_views', partitions=1)", p, p))
	must("create stream", err)
	ok("create stream")
	for _, r := range [][3]any{{"alice", "home", 100}, {"bob", "news", 200}, {"alice", "about", 300}} {
		_, err = db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s_views (userid, pageid, viewtime) VALUES ($1, $2, $3)", p), r[0], r[1], r[2])
		must("insert", err)
	}
	ok("insert with parameters")
	_, err = db.ExecContext(ctx, "SET 'auto.offset.reset' = 'earliest'")
	must("set", err)
	_, err = db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s_counts AS SELECT userid, COUNT(*) AS n FROM %s_views GROUP BY userid", p, p))
	must("ctas", err)
	ok("create table as select")
	var n int64
	must("pull", db.QueryRowContext(ctx, fmt.Sprintf("SELECT n FROM %s_counts WHERE userid = $1", p), "alice").Scan(&n))
	if n != 2 {
		t.Fatalf("pull query: %d", n)
	}
	ok("pull query with a parameter")

	tx, err := db.BeginTx(ctx, nil)
	must("begin", err)
	_, err = tx.ExecContext(ctx, fmt.Sprintf("DECLARE c CURSOR FOR SELECT userid, viewtime FROM %s_views EMIT CHANGES", p))
	must("declare", err)
	rows, err := tx.QueryContext(ctx, "FETCH 3 FROM c")
	must("fetch", err)
	var got []string
	for rows.Next() {
		var u string
		var v int64
		must("scan", rows.Scan(&u, &v))
		got = append(got, fmt.Sprintf("%s:%d", u, v))
	}
	must("rows", rows.Err())
	sort.Strings(got)
	if strings.Join(got, ",") != "alice:100,alice:300,bob:200" {
		t.Fatalf("cursor: %v", got)
	}
	must("rollback", tx.Rollback())
	ok("push query through a cursor")

	// lib/pq sends a cancel request when the context of a query ends.
	qctx, qcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	rows, err = db.QueryContext(qctx, fmt.Sprintf("SELECT * FROM %s_views EMIT CHANGES", p))
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
	}
	qcancel()
	var pqErr *pq.Error
	if !(errors.As(err, &pqErr) && pqErr.Code == "57014") && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	must("after cancel", db.PingContext(ctx))
	ok("cancel")

	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		must("begin", err)
		page := "rolled back"
		if commit {
			page = "committed"
		}
		_, err = tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s_views (userid, pageid, viewtime) VALUES ('carol', $1, 1)", p), page)
		must("insert", err)
		if commit {
			must("commit", tx.Commit())
		} else {
			must("rollback", tx.Rollback())
		}
	}
	var page string
	must("transactions", db.QueryRowContext(ctx, fmt.Sprintf("SELECT pageid FROM %s_views WHERE userid = 'carol'", p)).Scan(&page))
	if page != "committed" {
		t.Fatalf("transactions: %q", page)
	}
	ok("rolled-back and committed transactions")

	// lib/pq's COPY: a prepared COPY FROM STDIN in a transaction, one
	// Exec per row. It has no COPY TO; the copy out is a query.
	tx, err = db.BeginTx(ctx, nil)
	must("begin", err)
	stmt, err := tx.PrepareContext(ctx, fmt.Sprintf("COPY %s_views (userid, pageid, viewtime) FROM STDIN", p))
	must("copy in", err)
	for _, r := range [][3]any{{"dave", "copy", 10}, {"erin", "copy", 20}} {
		_, err = stmt.ExecContext(ctx, r[0], r[1], r[2])
		must("copy row", err)
	}
	_, err = stmt.ExecContext(ctx)
	must("copy end", err)
	must("copy close", stmt.Close())
	must("commit", tx.Commit())
	rows, err = db.QueryContext(ctx, fmt.Sprintf("SELECT userid, viewtime FROM %s_views WHERE pageid = 'copy'", p))
	must("copy out", err)
	got = nil
	for rows.Next() {
		var u string
		var v int64
		must("scan", rows.Scan(&u, &v))
		got = append(got, fmt.Sprintf("%s,%d", u, v))
	}
	sort.Strings(got)
	if strings.Join(got, "|") != "dave,10|erin,20" {
		t.Fatalf("copy: %v", got)
	}
	ok("copy in and out")

	var names []string
	rows, err = db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", "public")
	must("tables", err)
	for rows.Next() {
		var s string
		must("scan", rows.Scan(&s))
		names = append(names, s)
	}
	if !contains(names, p+"_views") || !contains(names, p+"_counts") {
		t.Fatalf("tables: %v", names)
	}
	var cols []string
	rows, err = db.QueryContext(ctx, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position", p+"_views")
	must("columns", err)
	for rows.Next() {
		var a, b string
		must("scan", rows.Scan(&a, &b))
		cols = append(cols, a+" "+b)
	}
	if strings.Join(cols, ",") != "userid text,pageid text,viewtime bigint" {
		t.Fatalf("columns: %v", cols)
	}
	ok("metadata")
	checkSteps(t, out.String())
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestCatalogTypesMatchWire: the type the catalog gives a column is the
// type the server sends its values as.
func TestCatalogTypesMatchWire(t *testing.T) {
	for _, typ := range []types.Type{types.Boolean, types.Int, types.Bigint, types.Double, types.Decimal(10, 2),
		types.String, types.Bytes, types.Timestamp, types.Date, types.Time, types.Array(types.Int),
		types.Map(types.String, types.Int), types.Struct(types.Field{Name: "A", Type: types.Int})} {
		if got, want := pgcatalog.TypeOID(typ), int64(server.OID(typ)); got != want {
			t.Errorf("%s: catalog says type %d, the wire %d", typ, got, want)
		}
	}
}
