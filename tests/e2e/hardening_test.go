package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/sql/types"
	"github.com/runnel/runnel/tests/harness"
)

// noticeConn connects to s with a connection that records the notices it
// receives.
func noticeConn(t *testing.T, s *harness.Server) (*pgx.Conn, func() []string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		notices = append(notices, n.Message)
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := notices
		notices = nil
		return out
	}
}

// expectError runs sql and requires an error with SQLSTATE code whose
// message holds each fragment.
func expectError(t *testing.T, c *pgx.Conn, sql, code string, fragments ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := c.Query(ctx, sql)
	if err == nil {
		for rows.Next() {
		}
		rows.Close()
		err = rows.Err()
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Errorf("%s: error %v, want SQLSTATE %s", sql, err, code)
		return
	}
	for _, f := range fragments {
		if !strings.Contains(pe.Message, f) {
			t.Errorf("%s: message %q does not say %q", sql, pe.Message, f)
		}
	}
}

// writeOldDataDirectory writes, through the log and catalog APIs and so
// past every check a statement gets, what an older version let through: a
// stream and a table over topics of 2,147,483,647 partitions, and a
// persistent query reading the stream.
func writeOldDataDirectory(t *testing.T, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := embedded.Open(embedded.Options{Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cat, err := catalog.Open(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		topic string
		cfg   log.TopicConfig
	}{
		{"p", log.TopicConfig{Partitions: math.MaxInt32}},
		{"t", log.TopicConfig{Partitions: math.MaxInt32, Compacted: true}},
		{"q", log.TopicConfig{Partitions: 1}},
	} {
		if err := l.CreateTopic(ctx, tc.topic, tc.cfg); err != nil {
			t.Fatal(err)
		}
	}
	for _, src := range []*catalog.Source{
		{Name: "P", Kind: catalog.KindStream, Topic: "p", Columns: []types.Column{{Name: "A", Type: types.Int}},
			KeyFormat: "NONE", ValueFormat: "JSON", Partitions: math.MaxInt32,
			Statement: "CREATE STREAM p (a INT) WITH (kafka_topic='p', value_format='JSON', partitions=2147483647)"},
		{Name: "T", Kind: catalog.KindTable, Topic: "t", Columns: []types.Column{{Name: "K", Type: types.Int, Key: true}, {Name: "V", Type: types.Int}},
			KeyFormat: "KAFKA", ValueFormat: "JSON", Partitions: math.MaxInt32,
			Statement: "CREATE TABLE t (k INT PRIMARY KEY, v INT) WITH (kafka_topic='t', value_format='JSON', partitions=2147483647)"},
		{Name: "Q", Kind: catalog.KindStream, Topic: "q", Columns: []types.Column{{Name: "A", Type: types.Int}},
			KeyFormat: "NONE", ValueFormat: "JSON", Partitions: 1, Query: "CSAS_Q_9",
			Statement: "CREATE STREAM q AS SELECT a FROM p EMIT CHANGES"},
	} {
		if err := cat.PutSource(ctx, src); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.PutQuery(ctx, &catalog.Query{ID: "CSAS_Q_9", Statement: "CREATE STREAM q AS SELECT a FROM p EMIT CHANGES", Sink: "Q", Sources: []string{"P"}}); err != nil {
		t.Fatal(err)
	}
}

// TestDataDirectoryWithAHugeTopicOpens: a data directory holding objects
// over topics of 2^31-1 partitions, which an older version accepted and
// which made every start run out of memory, opens. The server serves; the
// objects are listed and described as failed; reading them fails clearly
// (54000) and costs nothing; the query over them is in ERROR; everything
// else works; DROP removes them, topics included; and the directory opens
// clean afterwards.
func TestDataDirectoryWithAHugeTopicOpens(t *testing.T) {
	dir := t.TempDir()
	writeOldDataDirectory(t, dir)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := harness.Start(t, harness.Options{DataDir: dir})
	c, notices := noticeConn(t, s)

	got := collect(t, c, `SHOW STREAMS`)
	if strings.Join(got, "\n") != "P p NONE JSON false\nQ q NONE JSON false\nRUNNEL_PROCESSING_LOG runnel_processing_log NONE JSON false" {
		t.Errorf("SHOW STREAMS = %q", got)
	}
	if n := notices(); len(n) != 1 || !strings.Contains(n[0], "stream P has failed") || !strings.Contains(n[0], "2147483647 partitions") ||
		!strings.Contains(n[0], "DROP STREAM P") {
		t.Errorf("SHOW STREAMS notices = %q, want one saying P failed and how to drop it", n)
	}
	collect(t, c, `SHOW TABLES`)
	if n := notices(); len(n) != 1 || !strings.Contains(n[0], "table T has failed") {
		t.Errorf("SHOW TABLES notices = %q", n)
	}
	desc := strings.Join(collect(t, c, `DESCRIBE EXTENDED p`), "\n")
	if !strings.Contains(desc, "status FAILED: stream P has failed") || strings.Contains(desc, "topic_end_offsets_total") {
		t.Errorf("DESCRIBE EXTENDED p:\n%s", desc)
	}
	if n := notices(); len(n) != 1 {
		t.Errorf("DESCRIBE EXTENDED notices = %q", n)
	}
	if got := collect(t, c, `DESCRIBE p`); len(got) != 1 || got[0] != "A INTEGER" {
		t.Errorf("DESCRIBE p = %q", got)
	}
	if n := notices(); len(n) != 1 {
		t.Errorf("DESCRIBE notices = %q", n)
	}

	for _, sql := range []string{
		`SELECT * FROM p EMIT CHANGES LIMIT 1`,
		`SELECT * FROM p`,
		`SELECT * FROM t WHERE k = 1`,
		`SELECT * FROM t EMIT CHANGES LIMIT 1`,
		`CREATE STREAM p2 AS SELECT a FROM p EMIT CHANGES`,
		`INSERT INTO q SELECT a FROM p EMIT CHANGES`,
		`INSERT INTO p (a) VALUES (1)`,
	} {
		expectError(t, c, sql, "54000", "has failed", "2147483647 partitions", "limit of 10000")
	}
	expectError(t, c, `PRINT 'p' FROM BEGINNING LIMIT 1`, "54000", "2147483647 partitions")
	expectError(t, c, `PRINT 't' FROM BEGINNING LIMIT 1`, "54000", "2147483647 partitions")

	var query []string
	for _, row := range collect(t, c, `SHOW QUERIES`) {
		if strings.HasPrefix(row, "CSAS_Q_9 ") {
			query = append(query, row)
		}
	}
	if len(query) != 1 || !strings.HasPrefix(query[0], "CSAS_Q_9 ERROR Q q ") {
		t.Errorf("SHOW QUERIES = %q, want CSAS_Q_9 in ERROR", query)
	}

	// Everything else works.
	exec(t, c, `CREATE STREAM ok (id INT KEY, v INT) WITH (kafka_topic='ok', partitions=2)`)
	exec(t, c, `INSERT INTO ok (id, v) VALUES (1, 10)`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	if got := collect(t, c, `SELECT id, v FROM ok EMIT CHANGES LIMIT 1`); len(got) != 1 || got[0] != "1 10" {
		t.Errorf("a healthy stream beside the failed ones: %q", got)
	}

	runtime.ReadMemStats(&after)
	// One pointer per partition alone would be 16 GiB.
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<30 {
		t.Errorf("opening and using the server allocated %d MiB", n>>20)
	}

	// DROP removes them, and their topics.
	expectError(t, c, `DROP STREAM p`, "2BP01", "CSAS_Q_9")
	exec(t, c, `TERMINATE CSAS_Q_9`)
	exec(t, c, `DROP STREAM q DELETE TOPIC`)
	exec(t, c, `DROP STREAM p DELETE TOPIC`)
	exec(t, c, `DROP TABLE t DELETE TOPIC`)
	if got := collect(t, c, `SHOW TOPICS`); strings.Join(got, ",") != "ok 2 1,runnel_processing_log 1 1" {
		t.Errorf("SHOW TOPICS after the drops = %q", got)
	}
	// A new stream may take the freed name, within the limits.
	exec(t, c, `CREATE STREAM p (a INT) WITH (kafka_topic='p', value_format='JSON', partitions=1)`)
	collect(t, c, `SHOW STREAMS`)
	if n := notices(); len(n) != 0 {
		t.Errorf("notices after the drops: %q", n)
	}

	s.Stop()
	s = harness.Start(t, harness.Options{DataDir: dir})
	c = s.Connect(t)
	if got := collect(t, c, `SHOW STREAMS`); len(got) != 3 {
		t.Errorf("SHOW STREAMS after a restart = %q", got)
	}
	if got := collect(t, c, `SHOW QUERIES`); len(got) != 0 {
		t.Errorf("SHOW QUERIES after a restart = %q", got)
	}
}

// TestPanickingQueryKeepsTheServerUp: the tester's statement, whose
// expression panicked in sql/expr (makeslice: cap out of range) and took
// the server down, now and at every restart. The record it cannot evaluate
// is skipped, counted and described in the processing log; the query and
// every other query and session go on; a restart comes back up. The same
// expression in a push query and in an INSERT fails only that record or
// that statement. (Once RPAD refuses the length itself, this test still
// holds: the record is then skipped for an error rather than a panic; the
// panic path itself is tested in operators and server.)
func TestPanickingQueryKeepsTheServerUp(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM src (id INT KEY, v BIGINT) WITH (kafka_topic='src', partitions=1)`)
	exec(t, c, `CREATE STREAM boom AS SELECT id, RPAD('x', v * 9223372036854775807, 'y') AS p FROM src EMIT CHANGES`)
	exec(t, c, `CREATE STREAM calm AS SELECT id, v FROM src EMIT CHANGES`)
	for _, v := range []string{"(1, 0)", "(2, 1)", "(3, 0)"} {
		exec(t, c, `INSERT INTO src (id, v) VALUES `+v)
	}
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	if got := collect(t, c, `SELECT id, p FROM boom EMIT CHANGES LIMIT 2`); strings.Join(got, ",") != "1 ,3 " {
		t.Errorf("boom = %q, want the records around the bad one", got)
	}
	if got := collect(t, c, `SELECT id, v FROM calm EMIT CHANGES LIMIT 3`); strings.Join(got, ",") != "1 0,2 1,3 0" {
		t.Errorf("the other query = %q", got)
	}
	logged := collect(t, c, `SELECT query_id, offset, record_key, message FROM RUNNEL_PROCESSING_LOG EMIT CHANGES LIMIT 1`)
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "CSAS_BOOM_") || !strings.Contains(logged[0], " 1 2 ") {
		t.Errorf("processing log = %q, want the record at offset 1 (key 2)", logged)
	}
	waitFor(t, c, `DESCRIBE EXTENDED boom`, "records_failed 1")
	for _, row := range collect(t, c, `SHOW QUERIES`) {
		if !strings.Contains(row, " RUNNING ") {
			t.Errorf("SHOW QUERIES: %s", row)
		}
	}

	// A push query skips the record too, and an INSERT evaluating the
	// expression fails alone: the session goes on.
	if got := collect(t, c, `SELECT id, RPAD('x', v * 9223372036854775807, 'y') AS p FROM src EMIT CHANGES LIMIT 2`); strings.Join(got, ",") != "1 ,3 " {
		t.Errorf("push query = %q", got)
	}
	if _, err := c.Exec(context.Background(), `INSERT INTO src (id, v) VALUES (4, LEN(RPAD('x', 9223372036854775807, 'y')))`); err == nil {
		t.Error("an INSERT whose value cannot be evaluated succeeded")
	}
	exec(t, c, `INSERT INTO src (id, v) VALUES (5, 0)`)
	if got := collect(t, c, `SELECT id FROM boom EMIT CHANGES LIMIT 3`); strings.Join(got, ",") != "1,3,5" {
		t.Errorf("boom after more input = %q", got)
	}

	// A restart comes up and does not process the bad record again.
	s.Stop()
	s = harness.Start(t, harness.Options{DataDir: s.DataDir})
	c = s.Connect(t)
	exec(t, c, `INSERT INTO src (id, v) VALUES (6, 0)`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	if got := collect(t, c, `SELECT id FROM boom EMIT CHANGES LIMIT 4`); strings.Join(got, ",") != "1,3,5,6" {
		t.Errorf("boom after a restart = %q", got)
	}
	for _, row := range collect(t, c, `SHOW QUERIES`) {
		if !strings.Contains(row, " RUNNING ") {
			t.Errorf("SHOW QUERIES after a restart: %s", row)
		}
	}
}

// waitFor runs sql until one of its rows holds want.
func waitFor(t *testing.T, c *pgx.Conn, sql, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := strings.Join(collect(t, c, sql), "\n")
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q:\n%s", sql, want, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
