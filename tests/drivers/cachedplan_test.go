package drivers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/tests/harness"
)

// TestCachedPlanChangedResultType: pgx prepares a query once and keeps
// it in its statement cache (its default mode). After ALTER STREAM ...
// ADD COLUMN, SELECT * produces one more column than the prepared
// statement described; its execution fails with PostgreSQL's 0A000
// "cached plan must not change result type" (not XX000 on the row's
// width), pgx drops the cached statement on that error, and the next
// execution prepares it again and reads the new column.
func TestCachedPlanChangedResultType(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	other := s.Connect(t)
	if m := c.Config().DefaultQueryExecMode; m != pgx.QueryExecModeCacheStatement {
		t.Fatalf("pgx's default exec mode is %v, not the statement cache this test is about", m)
	}
	harness.Exec(t, c, `CREATE STREAM cp (id INT KEY, a INT) WITH (kafka_topic='cp', partitions=1)`)
	harness.Exec(t, c, `INSERT INTO cp (id, a) VALUES (1, 10)`)

	const q = `SELECT * FROM cp WHERE id = $1`
	query := func() ([]string, []string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rows, err := c.Query(ctx, q, 1)
		if err != nil {
			return nil, nil, err
		}
		defer rows.Close()
		var names, got []string
		for _, f := range rows.FieldDescriptions() {
			names = append(names, f.Name)
		}
		for rows.Next() {
			vs, err := rows.Values()
			if err != nil {
				return nil, nil, err
			}
			var parts []string
			for _, v := range vs {
				if v == nil {
					parts = append(parts, "NULL")
				} else {
					parts = append(parts, fmt.Sprint(v))
				}
			}
			got = append(got, strings.Join(parts, " "))
		}
		return names, got, rows.Err()
	}

	names, got, err := query()
	if err != nil {
		t.Fatalf("before ALTER: %v", err)
	}
	if strings.Join(names, ",") != "ID,A" || strings.Join(got, ",") != "1 10" {
		t.Fatalf("before ALTER: columns %v rows %v", names, got)
	}

	// Another session changes the stream under the cached statement.
	harness.Exec(t, other, `ALTER STREAM cp ADD COLUMN c INT`)
	harness.Exec(t, other, `INSERT INTO cp (id, a, c) VALUES (1, 20, 30)`)

	_, _, err = query()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("cached statement after ALTER: want a PgError, got %v", err)
	}
	if pgErr.Code != "0A000" || pgErr.Message != "cached plan must not change result type" {
		t.Fatalf("cached statement after ALTER: %s %q", pgErr.Code, pgErr.Message)
	}

	// pgx has dropped the statement: this run prepares it again.
	names, got, err = query()
	if err != nil {
		t.Fatalf("after re-prepare: %v", err)
	}
	if strings.Join(names, ",") != "ID,A,C" || strings.Join(got, ",") != "1 10 NULL,1 20 30" {
		t.Fatalf("after re-prepare: columns %v rows %v", names, got)
	}
	// The connection is still good for the statement it now caches.
	if _, _, err := query(); err != nil {
		t.Fatalf("cached again: %v", err)
	}
}
