package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/tests/harness"
)

// TestLargeInsertOverPgwire: one INSERT of 10,000 rows, with literals
// (simple protocol) and with 30,000 bind parameters (extended protocol),
// over a real connection; every row arrives. Binding is linear in the rows
// (one binder per statement): this took minutes and gigabytes with a
// binder per row.
func TestLargeInsertOverPgwire(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	harness.Exec(t, c, `CREATE STREAM ins (id INT KEY, name VARCHAR, v BIGINT) WITH (kafka_topic='ins', partitions=1)`)
	const rows = 10_000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var b strings.Builder
	b.WriteString("INSERT INTO ins (id, name, v) VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, 'name-%d', %d)", i, i, 7*i)
	}
	tag, err := c.Exec(ctx, b.String())
	if err != nil || tag.String() != fmt.Sprintf("INSERT 0 %d", rows) {
		t.Fatalf("INSERT of %d literal rows: %v, %v", rows, tag, err)
	}

	b.Reset()
	b.WriteString("INSERT INTO ins (id, name, v) VALUES ")
	args := make([]any, 0, 3*rows)
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
		args = append(args, rows+i, fmt.Sprintf("param-%d", i), int64(-i))
	}
	tag, err = c.Exec(ctx, b.String(), args...)
	if err != nil || tag.String() != fmt.Sprintf("INSERT 0 %d", rows) {
		t.Fatalf("INSERT of %d rows of parameters: %v, %v", rows, tag, err)
	}

	got := harness.Rows(t, c, `SELECT id, name, v FROM ins`)
	if len(got) != 2*rows {
		t.Fatalf("%d rows read back, want %d", len(got), 2*rows)
	}
	for _, i := range []int{0, rows - 1, rows, 2*rows - 1} {
		want := fmt.Sprintf("%d name-%d %d", i, i, 7*i)
		if i >= rows {
			want = fmt.Sprintf("%d param-%d %d", i, i-rows, -(i - rows))
		}
		if got[i] != want {
			t.Errorf("row %d = %q, want %q", i, got[i], want)
		}
	}
}

// TestStatementSizeLimitOverPgwire: a statement over the default 16 MiB
// is refused with 54000 before it is parsed, and the session goes on.
func TestStatementSizeLimitOverPgwire(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Exec(ctx, "SELECT '"+strings.Repeat("x", 16<<20)+"'")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "54000" {
		t.Fatalf("a statement of 16 MiB and 10 bytes: %v", err)
	}
	if got := harness.Rows(t, c, "SELECT 1"); len(got) != 1 || got[0] != "1" {
		t.Fatalf("after the refusal: %q", got)
	}
}
