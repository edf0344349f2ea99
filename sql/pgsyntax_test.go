package sql

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/format"
)

// TestPgSyntax: PostgreSQL-only syntax of catalog queries reaches TiDB
// spelled as the conventions of pgsyntax.go say.
func TestPgSyntax(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE a ~ '^x'`, "`A` REGEXP _UTF8MB4'^x'"},
		{`SELECT a FROM t WHERE a !~ '^x'`, "`A` NOT REGEXP _UTF8MB4'^x'"},
		{`SELECT a FROM t WHERE a ~* 'x'`, "`A` REGEXP _UTF8MB4'(?i)x'"},
		{`SELECT a FROM t WHERE a OPERATOR(pg_catalog.~) '^(x)$' COLLATE pg_catalog.default`, "WHERE `A` REGEXP _UTF8MB4'^(x)$'"},
		{`SELECT pg_catalog.format_type(a, b) FROM t`, "FORMAT_TYPE(`A`, `B`)"},
		{`SELECT 'x'::regclass, c.oid::pg_catalog.regclass::pg_catalog.text FROM t`, "RUNNEL_CAST(RUNNEL_PGCAST(`C`.`OID`, _UTF8MB4'regclass'), _UTF8MB4'STRING')"},
		{`SELECT a::"char", b::text[] FROM t`, "RUNNEL_PGCAST(`A`, _UTF8MB4'\"char\"'),RUNNEL_PGCAST(`B`, _UTF8MB4'text[]')"},
		{`SELECT ARRAY(SELECT x FROM y) FROM t`, "RUNNEL_ARRAYQ((SELECT `X` FROM `Y`))"},
		{`SELECT a FROM t WHERE 'd' = any(k) AND b <> ALL (c)`, "_UTF8MB4'd'=RUNNEL_ANY(`K`) AND `B`!=RUNNEL_ALL(`C`)"},
		{`SELECT s FROM pg_catalog.generate_series(1, 3) s, unnest(a)`, "(SELECT RUNNEL_SRF(_UTF8MB4'GENERATE_SERIES', 1, 3)) AS `S`"},
		{`SELECT current_user, session_user, current_schema`, "SELECT CURRENT_USER(),SESSION_USER(),CURRENT_SCHEMA()"},
		{`SELECT E'a\n\'b\x41'`, "_UTF8MB4'a\n''bA'"},
		{`SELECT row_number() OVER (PARTITION BY a ORDER BY b) FROM t`, "ROW_NUMBER() OVER (PARTITION BY `A` ORDER BY `B`)"},
		{`SELECT a FROM t UNION SELECT b FROM u ORDER BY 1`, "SELECT `A` FROM `T` UNION SELECT `B` FROM `U` ORDER BY 1"},
	} {
		stmts, err := Parse(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		q := stmts[0].(*Select).Query
		var sb strings.Builder
		ctx := format.NewRestoreCtx(format.DefaultRestoreFlags, &sb)
		if q.SetOpr != nil {
			err = q.SetOpr.Restore(ctx)
		} else {
			err = q.Select.Restore(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sb.String(), tc.want) {
			t.Errorf("%s:\n got %s\nwant it to contain %s", tc.in, sb.String(), tc.want)
		}
	}
	// Only a statement of its own may be a UNION.
	for _, in := range []string{`CREATE STREAM s AS SELECT a FROM t UNION SELECT a FROM u`, `EXPLAIN SELECT a FROM t UNION SELECT a FROM u`,
		`DECLARE c CURSOR FOR SELECT a FROM t UNION SELECT a FROM u`} {
		if _, err := Parse(in); err == nil {
			t.Errorf("%s: parsed", in)
		}
	}
}
