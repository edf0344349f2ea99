package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/log/embedded/quotafs"
	"github.com/runnel/runnel/tests/harness"
)

const mib = int64(1) << 20

// fullDisk are the disk limits of these tests: small, so that a test
// fills a few MiB. The ballast is bigger than the system reserve, so that
// releasing it lets a restart replay the catalog.
var fullDisk = embedded.DiskOptions{
	ReserveBytes:       4 * mib,
	SystemReserveBytes: 1 * mib,
	BallastBytes:       4 * mib,
	RecheckInterval:    20 * time.Millisecond,
}

// startQuota starts a server whose embedded log writes through fs.
func startQuota(t *testing.T, dir string, fs vfs.FS) (*harness.Server, *pgx.Conn) {
	t.Helper()
	s := harness.Start(t, harness.Options{DataDir: dir, FS: fs, Disk: fullDisk})
	return s, s.Connect(t)
}

func newQuota(t *testing.T, dir string) *quotafs.FS {
	t.Helper()
	fs, err := quotafs.New(vfs.Default, dir, 256*mib)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// execCode runs sql and returns the SQLSTATE of its error, "" for none.
func execCode(t *testing.T, c *pgx.Conn, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Exec(ctx, sql)
	if err == nil {
		return ""
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: %v (not a server error: the connection broke?)", sql, err)
	}
	return pe.Code
}

// requireCode fails unless sql fails with code.
func requireCode(t *testing.T, c *pgx.Conn, sql, code string) {
	t.Helper()
	if got := execCode(t, c, sql); got != code {
		t.Fatalf("%s: SQLSTATE %q, want %q", sql, got, code)
	}
}

// queryStatus returns SHOW QUERIES' status of each query, by id prefix.
func queryStatus(t *testing.T, c *pgx.Conn) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, row := range collect(t, c, `SHOW QUERIES`) {
		f := strings.SplitN(row, " ", 2)
		id := f[0]
		if i := strings.LastIndex(id, "_"); i > 0 {
			id = id[:i]
		}
		// The status is the text up to the sink's name.
		out[id] = f[1]
	}
	return out
}

// waitStatus polls SHOW QUERIES until query (an id without its number)
// has a status that starts with want.
func waitStatus(t *testing.T, c *pgx.Conn, query, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := queryStatus(t, c)[query]
		if strings.HasPrefix(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("SHOW QUERIES: %s is %q, want %q", query, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pad is a VARCHAR literal of n random letters: the embedded log
// compresses its batches, and these tests count on their bytes reaching
// the disk (a letter repeated compressed twentyfold).
func pad(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rand.IntN(26))
	}
	return "'" + string(b) + "'"
}

// ids returns the first column of every row, sorted.
func ids(t *testing.T, c *pgx.Conn, sql string) []string {
	t.Helper()
	var out []string
	for _, row := range collect(t, c, sql) {
		out = append(out, strings.SplitN(row, " ", 2)[0])
	}
	sort.Strings(out)
	return out
}

func idList(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	sort.Strings(out)
	return out
}

// TestDiskFullOverPgwire: on a full disk an INSERT gets 53100 and the
// session goes on; scans, pull queries and DDL work; a persistent query
// whose output no longer fits pauses (SHOW QUERIES: ERROR: disk full)
// while others run; once space returns it resumes by itself, and every
// acknowledged row is in its output exactly once.
func TestDiskFullOverPgwire(t *testing.T) {
	dir := t.TempDir()
	fs := newQuota(t, dir)
	_, c := startQuota(t, dir, fs)
	exec(t, c, `CREATE STREAM src (id INT KEY, pad VARCHAR) WITH (kafka_topic='src', partitions=2, value_format='JSON')`)
	exec(t, c, `CREATE STREAM copy AS SELECT id, pad FROM src EMIT CHANGES`)
	exec(t, c, `CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id EMIT CHANGES`)
	for i := 1; i <= 5; i++ {
		exec(t, c, fmt.Sprintf(`INSERT INTO src (id, pad) VALUES (%d, 'small')`, i))
	}
	if got := collect(t, c, `SELECT id, n FROM counts ORDER BY id`); fmt.Sprint(got) != "[1 1 2 1 3 1 4 1 5 1]" {
		t.Fatalf("counts = %q", got)
	}
	// The copy has caught up too before the disk fills: its output and
	// its offsets commit together, so once its rows show it has nothing
	// left to write. (The pull query above waits for the count's query
	// only, which serves its table from its own store.)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := ids(t, c, `SELECT id FROM copy`)
		if fmt.Sprint(got) == fmt.Sprint(idList(1, 5)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("copy before the disk fills = %q", got)
		}
	}

	// Full: below the data reserve, above the system reserve.
	fs.Fill(fullDisk.ReserveBytes - 512<<10)
	requireCode(t, c, `INSERT INTO src (id, pad) VALUES (100, 'refused')`, "53100")
	requireCode(t, c, `INSERT INTO src (id, pad) VALUES (101, 'refused'), (102, 'refused')`, "53100")
	// The session goes on, and reads work.
	if got := ids(t, c, `SELECT id FROM src`); fmt.Sprint(got) != fmt.Sprint(idList(1, 5)) {
		t.Fatalf("scan while full = %q", got)
	}
	if got := collect(t, c, `SELECT n FROM counts WHERE id = 3`); fmt.Sprint(got) != "[1]" {
		t.Fatalf("pull query while full = %q", got)
	}
	for q, st := range queryStatus(t, c) {
		if !strings.HasPrefix(st, "RUNNING") {
			t.Fatalf("SHOW QUERIES while full but caught up: %s is %q", q, st)
		}
	}
	// DDL is a system write: it still works.
	exec(t, c, `CREATE STREAM spare (id INT KEY) WITH (kafka_topic='spare', partitions=1)`)
	exec(t, c, `DROP STREAM spare DELETE TOPIC`)

	// Room for one 64 KiB row, not for the copy of it: the stream copy
	// pauses; the count, whose commits are small, goes on.
	const big = 64 << 10
	fs.Fill(fullDisk.ReserveBytes + big + 16<<10)
	exec(t, c, fmt.Sprintf(`INSERT INTO src (id, pad) VALUES (6, %s)`, pad(big)))
	waitStatus(t, c, "CSAS_COPY", "ERROR: disk full")
	if got := collect(t, c, `SELECT n FROM counts WHERE id = 6`); fmt.Sprint(got) != "[1]" {
		t.Fatalf("pull query of a running table while another query is paused = %q", got)
	}
	if st := queryStatus(t, c)["CTAS_COUNTS"]; !strings.HasPrefix(st, "RUNNING") {
		t.Errorf("CTAS_COUNTS is %q while only the copy lacks room", st)
	}
	if got := ids(t, c, `SELECT id FROM copy`); fmt.Sprint(got) != fmt.Sprint(idList(1, 5)) {
		t.Fatalf("copy while paused = %q", got)
	}
	requireCode(t, c, fmt.Sprintf(`INSERT INTO src (id, pad) VALUES (103, %s)`, pad(big)), "53100")

	// Space returns: the copy resumes by itself, exactly once.
	fs.SetQuota(256 * mib)
	waitStatus(t, c, "CSAS_COPY", "RUNNING")
	exec(t, c, `INSERT INTO src (id, pad) VALUES (7, 'after')`)
	if got := collect(t, c, `SELECT id, n FROM counts ORDER BY id`); fmt.Sprint(got) != "[1 1 2 1 3 1 4 1 5 1 6 1 7 1]" {
		t.Fatalf("counts after space returned = %q", got)
	}
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	got := collect(t, c, `SELECT id FROM copy EMIT CHANGES LIMIT 7`)
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(idList(1, 7)) {
		t.Fatalf("copy after space returned = %q, want ids 1..7 once each", got)
	}
	if got := ids(t, c, `SELECT id FROM copy`); fmt.Sprint(got) != fmt.Sprint(idList(1, 7)) {
		t.Fatalf("copy holds %q, want ids 1..7 exactly once", got)
	}
	if got := ids(t, c, `SELECT id FROM src`); fmt.Sprint(got) != fmt.Sprint(idList(1, 7)) {
		t.Fatalf("src holds %q: refused rows must not be there", got)
	}
	if n := fs.ENOSPCs(); n != 0 {
		t.Errorf("Pebble met ENOSPC %d times", n)
	}
}

// TestInsertUntilDiskFull is the tester's run: INSERTs of 8 KiB rows until
// the disk is full. The first refusal comes as 53100 (not a closed
// connection, not a hang), Pebble never meets ENOSPC though its memtables
// flush on the way, and after space returns every acknowledged row, and
// no other, is in the stream and in the query's output.
func TestInsertUntilDiskFull(t *testing.T) {
	dir := t.TempDir()
	fs := newQuota(t, dir)
	_, c := startQuota(t, dir, fs)
	exec(t, c, `CREATE STREAM src (id INT KEY, pad VARCHAR) WITH (kafka_topic='src', partitions=4, value_format='JSON')`)
	exec(t, c, `CREATE STREAM copy AS SELECT id, pad FROM src EMIT CHANGES`)
	fs.Fill(fullDisk.ReserveBytes + 12*mib)

	const rows, size = 10, 8 << 10
	acked := 0
	for stmt := 0; ; stmt++ {
		if stmt == 1000 {
			t.Fatalf("no refusal after %d rows", acked)
		}
		var vals []string
		for r := range rows {
			vals = append(vals, fmt.Sprintf("(%d, %s)", acked+r+1, pad(size)))
		}
		code := execCode(t, c, `INSERT INTO src (id, pad) VALUES `+strings.Join(vals, ", "))
		if code == "53100" {
			break
		}
		if code != "" {
			t.Fatalf("INSERT %d: SQLSTATE %s", stmt, code)
		}
		acked += rows
	}
	// Each row is written twice (src and the copy) and to the
	// write-ahead log before its table; incompressible rows take their
	// full size, and 490 to 530 fitted (main's log and the packing one
	// alike, with and without the race detector).
	if acked < 400 {
		t.Fatalf("only %d rows fitted in 12 MiB above the reserve", acked)
	}
	t.Logf("%d rows of %d KiB acknowledged before the first 53100", acked, size>>10)
	if got := ids(t, c, `SELECT id FROM src`); len(got) != acked {
		t.Fatalf("src holds %d rows while full, %d acknowledged", len(got), acked)
	}
	exec(t, c, `SELECT 1`)

	fs.SetQuota(256 * mib)
	waitStatus(t, c, "CSAS_COPY", "RUNNING")
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	if got := collect(t, c, fmt.Sprintf(`SELECT id FROM copy EMIT CHANGES LIMIT %d`, acked)); len(got) != acked {
		t.Fatalf("copy has %d rows, want %d", len(got), acked)
	}
	want := fmt.Sprint(idList(1, acked))
	if got := ids(t, c, `SELECT id FROM src`); fmt.Sprint(got) != want {
		t.Fatalf("src after space returned: %d rows, want ids 1..%d once each", len(got), acked)
	}
	if got := ids(t, c, `SELECT id FROM copy`); fmt.Sprint(got) != want {
		t.Fatalf("copy after space returned: %d rows, want ids 1..%d once each", len(got), acked)
	}
	if n := fs.ENOSPCs(); n != 0 {
		t.Errorf("Pebble met ENOSPC %d times", n)
	}
}

// TestRestartOnFullDisk stops the server and restarts it on a disk too
// full to replay its log: the ballast is released, the server reaches
// serving, reads and pull queries work, INSERTs get 53100, and once space
// returns writes resume, the ballast comes back, and every acknowledged
// row is there.
func TestRestartOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	fs := newQuota(t, dir)
	s, c := startQuota(t, dir, fs)
	exec(t, c, `CREATE STREAM src (id INT KEY, pad VARCHAR) WITH (kafka_topic='src', partitions=2, value_format='JSON')`)
	exec(t, c, `CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id EMIT CHANGES`)
	for i := 1; i <= 20; i++ {
		exec(t, c, fmt.Sprintf(`INSERT INTO src (id, pad) VALUES (%d, %s)`, i, pad(4<<10)))
	}
	if got := ids(t, c, `SELECT id FROM counts`); len(got) != 20 {
		t.Fatalf("counts has %d rows before the restart", len(got))
	}
	ballast := filepath.Join(dir, embedded.BallastFile)
	if _, err := os.Stat(ballast); err != nil {
		t.Fatalf("no ballast before the restart: %v", err)
	}
	s.Stop()

	fs.Fill(64 << 10)
	s, c = startQuota(t, dir, fs)
	if _, err := os.Stat(ballast); !os.IsNotExist(err) {
		t.Fatalf("ballast still there after a restart on a full disk: %v", err)
	}
	if got := ids(t, c, `SELECT id FROM src`); fmt.Sprint(got) != fmt.Sprint(idList(1, 20)) {
		t.Fatalf("scan after a restart on a full disk = %q", got)
	}
	if got := collect(t, c, `SELECT n FROM counts WHERE id = 7`); fmt.Sprint(got) != "[1]" {
		t.Fatalf("pull query after a restart on a full disk = %q", got)
	}
	requireCode(t, c, `INSERT INTO src (id, pad) VALUES (21, 'refused')`, "53100")
	waitStatus(t, c, "CTAS_COUNTS", "RUNNING")

	fs.SetQuota(256 * mib)
	exec(t, c, `INSERT INTO src (id, pad) VALUES (21, 'after')`)
	if got := collect(t, c, `SELECT n FROM counts WHERE id = 21`); fmt.Sprint(got) != "[1]" {
		t.Fatalf("pull query after space returned = %q", got)
	}
	if got := ids(t, c, `SELECT id FROM src`); fmt.Sprint(got) != fmt.Sprint(idList(1, 21)) {
		t.Fatalf("src after space returned = %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(ballast); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ballast not made again once space returned")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()

	// And a plain restart afterwards: every acknowledged row is there.
	_, c = startQuota(t, dir, fs)
	if got := ids(t, c, `SELECT id FROM counts`); fmt.Sprint(got) != fmt.Sprint(idList(1, 21)) {
		t.Fatalf("counts after a last restart = %q", got)
	}
	if n := fs.ENOSPCs(); n != 0 {
		t.Errorf("Pebble met ENOSPC %d times", n)
	}
}
