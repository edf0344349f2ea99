package suites

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/tests/harness"
)

// TestJoinErrorPosition is issue 7's example over pgx, through both
// protocols: a stream-stream join without WITHIN fails with 42601,
// ksqlDB's message, and the ErrorResponse's position at the right
// source, counted in characters (after a multi-byte one) into the whole
// text of a simple query of two statements.
func TestJoinErrorPosition(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	harness.Exec(t, c, `CREATE STREAM o (id INT KEY, x INT) WITH (kafka_topic='o', value_format='JSON', partitions=1)`)
	harness.Exec(t, c, `CREATE STREAM s (id INT KEY, y INT) WITH (kafka_topic='s', value_format='JSON', partitions=1)`)

	const msg = "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.ksqldb.io/en/latest/developer-guide/ksqldb-reference/select-push-query/#within"
	for _, tc := range []struct {
		name string
		mode pgx.QueryExecMode
		sql  string
		at   string // the text at the position
	}{
		{"extended", pgx.QueryExecModeCacheStatement, "SELECT 'é' AS e, * FROM o JOIN s ON o.id = s.id EMIT CHANGES", "s ON o.id = s.id EMIT CHANGES"},
		{"simple, second statement", pgx.QueryExecModeSimpleProtocol, "SET 'auto.offset.reset' = 'earliest';\nSELECT * FROM o JOIN s ON o.id = s.id EMIT CHANGES", "s ON o.id = s.id EMIT CHANGES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Exec(t.Context(), tc.sql, tc.mode)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("error %v, want a *pgconn.PgError", err)
			}
			if pgErr.Code != "42601" || pgErr.Message != msg {
				t.Fatalf("error %s %q, want 42601 %q", pgErr.Code, pgErr.Message, msg)
			}
			runes := []rune(tc.sql)
			if p := int(pgErr.Position); p < 1 || p > len(runes) || string(runes[p-1:]) != tc.at {
				t.Fatalf("position %d, want the one of %q in %q", p, tc.at, tc.sql)
			}
		})
	}
}
