package engine

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// TestLimitOptions: MaxStatementBytes is checked before a statement is
// parsed and MaxValueBytes reaches the binders of every statement; both
// default to 16 MiB and refuse a negative value.
func TestLimitOptions(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, o := range []Options{{MaxStatementBytes: -1}, {MaxValueBytes: -1}} {
		o.DataDir, o.Logger = t.TempDir(), quiet
		if _, err := Open(ctx, o); sqlstate.Of(err) != sqlstate.InvalidParameter {
			t.Errorf("Open(%+v): %v, want 22023", o, err)
		}
	}
	var d Options
	d.EnsureDefaults()
	if d.MaxStatementBytes != 16<<20 || d.MaxValueBytes != 16<<20 {
		t.Errorf("defaults: %d, %d", d.MaxStatementBytes, d.MaxValueBytes)
	}

	e, err := Open(ctx, Options{DataDir: t.TempDir(), Logger: quiet, MaxStatementBytes: 200, MaxValueBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession(nil)
	exec := func(sql string) error {
		stmts, err := s.Prepare(ctx, sql)
		if err != nil {
			return err
		}
		for _, st := range stmts {
			res, err := st.Execute(ctx, make([]types.Value, len(st.Params())))
			if err != nil {
				return err
			}
			if res.Rows != nil {
				for {
					if _, err := res.Rows.Next(ctx); err != nil {
						break
					}
				}
				res.Rows.Close()
			}
		}
		// The implicit transaction ends, as the server ends it with Sync.
		return s.Sync(ctx)
	}
	long := "SELECT '" + strings.Repeat("x", 200) + "'"
	if err := exec(long); sqlstate.Of(err) != sqlstate.ProgramLimitExceeded || !strings.Contains(err.Error(), "200 bytes") {
		t.Errorf("a statement of %d bytes: %v", len(long), err)
	}
	if err := exec("SELECT LPAD('x', 2000, 'y')"); sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("a value of 2000 bytes under a limit of 1000: %v", err)
	}
	if err := exec("SELECT LPAD('x', 500, 'y')"); err != nil {
		t.Errorf("a value of 500 bytes: %v", err)
	}
	if err := exec("CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', partitions=1)"); err != nil {
		t.Fatal(err)
	}
	if err := exec("INSERT INTO src (id, v) VALUES (1, LEN(LPAD('x', 2000, 'y')))"); sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("INSERT of a value built over the limit: %v", err)
	}
}
