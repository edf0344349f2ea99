package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
)

// sorted returns collect's rows sorted.
func sorted(t *testing.T, c *pgx.Conn, sql string) []string {
	t.Helper()
	rows := collect(t, c, sql)
	slices.Sort(rows)
	return rows
}

func wantRows(t *testing.T, c *pgx.Conn, sql string, want ...string) {
	t.Helper()
	got := sorted(t, c, sql)
	slices.Sort(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%s: %q, want %q", sql, got, want)
	}
}

// twoStreams makes streams a and b; their scans show what was committed.
func twoStreams(t *testing.T, c *pgx.Conn) {
	t.Helper()
	exec(t, c, `CREATE STREAM a (id INT KEY, v VARCHAR) WITH (kafka_topic='a', partitions=2)`)
	exec(t, c, `CREATE STREAM b (id INT KEY, v VARCHAR) WITH (kafka_topic='b', partitions=3)`)
}

// TestTransactionsCommitAndRollBack: INSERTs in BEGIN ... COMMIT reach
// both topics at COMMIT, not before; ROLLBACK and errors discard them;
// ReadyForQuery tells the client where it stands.
func TestTransactionsCommitAndRollBack(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	other := s.Connect(t)
	twoStreams(t, c)
	ctx := context.Background()
	status := func() byte { return c.PgConn().TxStatus() }

	exec(t, c, `BEGIN`)
	if status() != 'T' {
		t.Fatalf("status after BEGIN: %c", status())
	}
	exec(t, c, `INSERT INTO a (id, v) VALUES (1, 'one'), (2, 'two')`)
	exec(t, c, `INSERT INTO b (id, v) VALUES (3, 'three')`)
	wantRows(t, other, `SELECT id FROM a`) // nothing yet
	exec(t, c, `COMMIT`)
	if status() != 'I' {
		t.Fatalf("status after COMMIT: %c", status())
	}
	wantRows(t, other, `SELECT id FROM a`, "1", "2")
	wantRows(t, other, `SELECT id FROM b`, "3")

	exec(t, c, `START TRANSACTION ISOLATION LEVEL READ COMMITTED`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (4, 'four')`)
	exec(t, c, `ROLLBACK`)
	wantRows(t, other, `SELECT id FROM a`, "1", "2")

	// An error fails the block: 25P02 until ROLLBACK; COMMIT rolls back.
	exec(t, c, `BEGIN`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (5, 'five')`)
	requireCode(t, c, `SELECT * FROM nope`, "42P01")
	if status() != 'E' {
		t.Fatalf("status after an error: %c", status())
	}
	expectError(t, c, `SELECT 1`, "25P02", "current transaction is aborted")
	requireCode(t, c, `INSERT INTO a (id, v) VALUES (6, 'six')`, "25P02")
	tag, err := c.Exec(ctx, `COMMIT`)
	if err != nil || tag.String() != "ROLLBACK" || status() != 'I' {
		t.Fatalf("COMMIT of a failed block: %v %v %c", tag, err, status())
	}
	wantRows(t, other, `SELECT id FROM a`, "1", "2")

	// Savepoints.
	exec(t, c, `BEGIN`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (7, 'seven')`)
	exec(t, c, `SAVEPOINT sp`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (8, 'eight')`)
	requireCode(t, c, `INSERT INTO a (id, v) VALUES ('x', 'bad')`, "22P02")
	exec(t, c, `ROLLBACK TO SAVEPOINT sp`)
	if status() != 'T' {
		t.Fatalf("status after ROLLBACK TO: %c", status())
	}
	exec(t, c, `INSERT INTO a (id, v) VALUES (9, 'nine')`)
	exec(t, c, `RELEASE sp`)
	requireCode(t, c, `ROLLBACK TO sp`, "3B001")
	exec(t, c, `ROLLBACK`)
	exec(t, c, `BEGIN`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (7, 'seven')`)
	exec(t, c, `SAVEPOINT sp`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (8, 'eight')`)
	exec(t, c, `ROLLBACK TO sp`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (9, 'nine')`)
	exec(t, c, `COMMIT`)
	wantRows(t, other, `SELECT id FROM a`, "1", "2", "7", "9")

	// Outside a block.
	requireCode(t, c, `SAVEPOINT x`, "25P01")
	requireCode(t, c, `COMMIT AND CHAIN`, "25P01")
	// READ ONLY and isolation levels.
	exec(t, c, `BEGIN READ ONLY`)
	requireCode(t, c, `INSERT INTO a (id, v) VALUES (10, 'ten')`, "25006")
	exec(t, c, `ROLLBACK`)
	requireCode(t, c, `BEGIN ISOLATION LEVEL SERIALIZABLE`, "0A000")
	// COMMIT AND CHAIN starts the next block at once.
	exec(t, c, `BEGIN`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (11, 'eleven')`)
	exec(t, c, `COMMIT AND CHAIN`)
	if status() != 'T' {
		t.Fatalf("status after COMMIT AND CHAIN: %c", status())
	}
	exec(t, c, `INSERT INTO a (id, v) VALUES (12, 'twelve')`)
	exec(t, c, `ROLLBACK`)
	wantRows(t, other, `SELECT id FROM a`, "1", "11", "2", "7", "9")
}

// TestDDLInABlockTakesEffectAtOnce: DDL is not transactional; in a block
// it says so and ROLLBACK does not undo it.
func TestDDLInABlockTakesEffectAtOnce(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c, notices := noticeConn(t, s)
	other := s.Connect(t)
	exec(t, c, `BEGIN`)
	exec(t, c, `CREATE STREAM d (id INT KEY) WITH (kafka_topic='d', partitions=1)`)
	if n := notices(); len(n) != 1 || !strings.Contains(n[0], "CREATE STREAM took effect at once") {
		t.Fatalf("notices %q", n)
	}
	exec(t, c, `INSERT INTO d (id) VALUES (1)`)
	exec(t, c, `ROLLBACK`)
	wantRows(t, other, `SELECT id FROM d`)
	exec(t, other, `DESCRIBE d`) // still there
	// In a read-only block DDL is refused.
	exec(t, c, `BEGIN TRANSACTION READ ONLY`)
	requireCode(t, c, `DROP STREAM d`, "25006")
	exec(t, c, `ROLLBACK`)
}

// TestImplicitTransactions: the statements of one Query message are one
// transaction: an error rolls back its writes. A read in it sees what
// the message wrote before it.
func TestImplicitTransactions(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	other := s.Connect(t)
	twoStreams(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.PgConn().Exec(ctx, `INSERT INTO a (id, v) VALUES (1, 'x'); INSERT INTO b (id, v) VALUES (2, 'y'); INSERT INTO a (id, v) VALUES ('bad', 'z')`).ReadAll()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "22P02" {
		t.Fatalf("failing message: %v", err)
	}
	wantRows(t, other, `SELECT id FROM a`)
	wantRows(t, other, `SELECT id FROM b`)
	res, err := c.PgConn().Exec(ctx, `INSERT INTO a (id, v) VALUES (3, 'x'); INSERT INTO b (id, v) VALUES (4, 'y'); SELECT id FROM b`).ReadAll()
	if err != nil || len(res) != 3 || len(res[2].Rows) != 1 || string(res[2].Rows[0][0]) != "4" {
		t.Fatalf("read after writes: %v %v", res, err)
	}
	wantRows(t, other, `SELECT id FROM a`, "3")
	if c.PgConn().TxStatus() != 'I' {
		t.Fatalf("status %c", c.PgConn().TxStatus())
	}
}

// TestPipelines: pgx's batches (several Parse/Bind/Execute before one
// Sync) are one transaction, committed together or not at all.
func TestPipelines(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	twoStreams(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := &pgx.Batch{}
	for i := range 50 {
		b.Queue(`INSERT INTO a (id, v) VALUES ($1, $2)`, i, fmt.Sprint("v", i))
	}
	b.Queue(`INSERT INTO b (id, v) VALUES ($1, $2)`, 100, "b")
	b.Queue(`SELECT 1 + $1::int AS two`, 1)
	br := c.SendBatch(ctx, b)
	for range 51 {
		if _, err := br.Exec(); err != nil {
			t.Fatal(err)
		}
	}
	var two int
	if err := br.QueryRow().Scan(&two); err != nil || two != 2 {
		t.Fatalf("query in the batch: %v %d", err, two)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(collect(t, c, `SELECT id FROM a`)); n != 50 {
		t.Fatalf("%d rows in a", n)
	}
	// A failing statement takes the batch's other writes with it.
	b = &pgx.Batch{}
	b.Queue(`INSERT INTO b (id, v) VALUES ($1, $2)`, 101, "lost")
	b.Queue(`INSERT INTO b (id, v) VALUES ($1, $2)`, 102, "lost")
	b.Queue(`SELECT * FROM nope`)
	if err := c.SendBatch(ctx, b).Close(); err == nil {
		t.Fatal("the failing batch succeeded")
	}
	wantRows(t, c, `SELECT id FROM b`, "100")
}

// TestTransactionSizeLimit: a transaction's writes are bounded; past the
// limit the write fails with 54000 and the session goes on.
func TestTransactionSizeLimit(t *testing.T) {
	s := harness.Start(t, harness.Options{Engine: func(o *engine.Options) { o.MaxTransactionBytes = 64 << 10 }})
	c := s.Connect(t)
	twoStreams(t, c)
	exec(t, c, `BEGIN`)
	var err string
	for i := range 1000 {
		if err = execCode(t, c, fmt.Sprintf(`INSERT INTO a (id, v) VALUES (%d, '%s')`, i, strings.Repeat("x", 100))); err != "" {
			break
		}
	}
	if err != "54000" {
		t.Fatalf("no limit: %q", err)
	}
	exec(t, c, `ROLLBACK`)
	exec(t, c, `INSERT INTO a (id, v) VALUES (1, 'fits')`)
	wantRows(t, c, `SELECT v FROM a`, "fits")
}
