package pgcatalog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// testEnv presents a stream PAGEVIEWS (oid 16384, as in the captured
// queries) and a table USERS with a primary key.
func testEnv() *Env {
	return &Env{
		Sources: []*catalog.Source{
			{Name: "PAGEVIEWS", Kind: catalog.KindStream, Topic: "pageviews", KeyFormat: "KAFKA", ValueFormat: "JSON", Seq: 0,
				Columns: []types.Column{{Name: "USERID", Type: types.String, Key: true}, {Name: "PAGEID", Type: types.String}, {Name: "VIEWTIME", Type: types.Bigint}}},
			{Name: "USERS", Kind: catalog.KindTable, Topic: "users", KeyFormat: "KAFKA", ValueFormat: "JSON", Seq: 7,
				Columns: []types.Column{{Name: "ID", Type: types.Int, Key: true}, {Name: "Score", Type: types.Decimal(10, 2)}}},
		},
		Functions: expr.Functions()[:3],
		Types: []*catalog.TypeAlias{
			{Name: "ADDRESS", Type: types.Struct(types.Field{Name: "NUMBER", Type: types.Int}, types.Field{Name: "STREET", Type: types.String})},
			{Name: "Cents", Type: types.Bigint},
		},
		User:       "alice",
		Database:   "db",
		BackendPID: 42,
		Now:        time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Settings:   map[string]string{"server_version": "15.0"},
	}
}

// run parses, binds and runs text, rendering the rows as psql's unaligned
// output does (| between values, one row a line).
func run(t *testing.T, env *Env, text string, args ...types.Value) (string, error) {
	t.Helper()
	stmts, err := sql.Parse(text)
	if err != nil {
		return "", err
	}
	sel, ok := stmts[0].(*sql.Select)
	if !ok {
		t.Fatalf("not a SELECT: %s", text)
	}
	if !Wants(sel.Query, func(string) bool { return false }) {
		t.Fatalf("Wants is false for %s", text)
	}
	if args == nil {
		args = []types.Value{}
	}
	p, err := Bind(sel.Query, env, args)
	if err != nil {
		return "", err
	}
	rows, err := p.Run(context.Background())
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				b.WriteByte('|')
			}
			b.WriteString(types.Format(v, p.Columns[i].Type))
		}
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func TestQueries(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{`SELECT version() LIKE 'PostgreSQL 15%', current_database(), current_user, session_user, current_schema, pg_backend_pid()`, "true|db|alice|alice|public|42"},
		{`SELECT now(), current_timestamp`, "2024-01-02T03:04:05.000|2024-01-02T03:04:05.000"},
		{`SELECT current_schemas(true), current_setting('server_version')`, "{pg_catalog,public}|15.0"},
		{`SELECT relname, relkind, relhasindex FROM pg_class ORDER BY relname`, "pageviews|r|false\nusers|r|true\nusers_pkey|i|false"},
		{`SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_catalog.pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relkind = 'r' ORDER BY 1, a.attnum`,
			"pageviews|userid|text|false\npageviews|pageid|text|false\npageviews|viewtime|bigint|false\nusers|id|integer|true\nusers|Score|numeric(10,2)|false"},
		{`SELECT 'users'::regclass::oid, 16384::regclass, 'pg_class'::regclass = 1259, 'int8'::regtype, 20::regtype`, "16391|pageviews|true|20|bigint"},
		{`SELECT obj_description(c.oid, 'pg_class') FROM pg_class c WHERE c.relname = 'users'`, "TABLE over topic users (key format KAFKA, value format JSON)"},
		{`SELECT pg_get_indexdef(i.indexrelid, 0, true), pg_get_constraintdef(con.oid, true) FROM pg_index i JOIN pg_constraint con ON con.conindid = i.indexrelid`,
			`CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)|PRIMARY KEY (id)`},
		{`SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, ""},
		{`SELECT n.nspname, count(*) FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind = 'r' GROUP BY n.nspname ORDER BY 2 DESC, 1`, "public|2\ninformation_schema|1\npg_catalog|1"},
		{`SELECT relname FROM pg_class c WHERE EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid) OR relname ~ '^page'`, "pageviews\nusers"},
		{`SELECT relname FROM pg_class WHERE oid IN (SELECT attrelid FROM pg_attribute WHERE attname = 'userid')`, "pageviews"},
		{`SELECT (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid) FROM pg_class c WHERE relname = 'pageviews'`, "3"},
		{`SELECT string_agg(attname, ',') FROM pg_attribute WHERE attrelid = 16384`, "userid,pageid,viewtime"},
		{`SELECT ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = 16384 ORDER BY attnum DESC)`, "{viewtime,pageid,userid}"},
		{`SELECT attname, row_number() OVER (PARTITION BY attrelid ORDER BY attnum DESC) FROM pg_attribute WHERE attrelid = 16384 ORDER BY 2`, "viewtime|1\npageid|2\nuserid|3"},
		{`SELECT s FROM generate_series(1, 3) s WHERE s > 1`, "2\n3"},
		{`SELECT x FROM unnest(current_schemas(true)) x`, "pg_catalog\npublic"},
		{`SELECT 'b' = ANY(ARRAY['a', 'b']), 3 <> ALL(ARRAY[1, 2]), CAST(NULL AS VARCHAR) = ANY(ARRAY['a'])`, "true|true|"},
		{`SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' UNION SELECT 'x' UNION ALL SELECT 'x' ORDER BY 1`, "information_schema\npublic\nx\nx"},
		{`SELECT DISTINCT relkind FROM pg_class ORDER BY relkind LIMIT 1 OFFSET 1`, "r"},
		{`SELECT relname FROM pg_class WHERE relname ~* '^USER' COLLATE pg_catalog.default ORDER BY 1`, "users\nusers_pkey"},
		{`SELECT E'a\tb' = 'a' || chr(9) || 'b'`, ""},
		{`SELECT rolname, rolsuper FROM pg_roles UNION ALL SELECT usename, usesuper FROM pg_user`, "alice|true\nalice|true"},
		{`SELECT typname, typtype, format_type(typbasetype, typtypmod), format_type(oid, NULL), oid >= 805306368 FROM pg_type WHERE typnamespace = 2200 ORDER BY typname`,
			"Cents|d|bigint|\"Cents\"|true\naddress|d|json|address|true"},
		{`SELECT datname, pg_encoding_to_char(encoding), pg_get_userbyid(datdba), pg_get_userbyid(99) FROM pg_database`, "db|UTF8|alice|unknown (OID=99)"},
	} {
		if tc.want == "" {
			continue // filled below where arguments are needed
		}
		got, err := run(t, testEnv(), tc.sql)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.sql, got, tc.want)
		}
	}
	got, err := run(t, testEnv(), `SELECT column_name, data_type, is_nullable, numeric_precision FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, types.NewString("users"))
	if err != nil || got != "id|integer|NO|32\nScore|numeric|YES|10" {
		t.Errorf("information_schema.columns with a parameter: %q %v", got, err)
	}
}

// TestCapturedQueries runs the queries psql 15 and pgjdbc 42.5 send
// (testdata/captured, taken from a real PostgreSQL's log) and checks
// what they return for the test catalog.
func TestCapturedQueries(t *testing.T) {
	files, err := filepath.Glob("testdata/captured/*.sql")
	if err != nil || len(files) < 20 {
		t.Fatalf("captured queries: %d files, %v", len(files), err)
	}
	want := map[string]string{
		"psql_d.sql":             "public|pageviews|table|alice\npublic|users|table|alice",
		"psql_dt.sql":            "public|pageviews|table|alice\npublic|users|table|alice",
		"psql_dv.sql":            "",
		"psql_dname_lookup.sql":  "16384|public|pageviews",
		"psql_dname_columns.sql": "userid|text||false|||\npageid|text||false|||\nviewtime|bigint||false|||",
		"psql_dname_indexes.sql": "",
		"psql_l.sql":             "db|alice|UTF8|C|C||libc|",
		"psql_dn.sql":            "public|alice",
		"psql_du.sql":            "alice|true|true|true|true|true|-1||{}|false|false",
		"psql_df.sql":            "",
		"psql_dtypes.sql":        "public|\"Cents\"|ksqlDB type Cents AS BIGINT\npublic|address|ksqlDB type ADDRESS AS STRUCT<`NUMBER` INTEGER, `STREET` STRING>",
		"jdbc_getcolumns.sql":    "public|pageviews|userid|25|false|-1|-1|-1|1|||||0|b\npublic|pageviews|pageid|25|false|-1|-1|-1|2|||||0|b\npublic|pageviews|viewtime|20|false|-1|8|-1|3|||||0|b",
		"jdbc_getschemas.sql":    "information_schema|\npg_catalog|\npublic|",
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		got, err := run(t, testEnv(), string(text))
		if name == "jdbc_getprimarykeys.sql" {
			// (expr).field is not supported: a syntax error, not an answer.
			if sqlstate.Of(err) != sqlstate.Syntax {
				t.Errorf("%s: %v, want 42601", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if w, ok := want[name]; ok && got != w {
			t.Errorf("%s:\ngot  %q\nwant %q", name, got, w)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		code sqlstate.Code
	}{
		{`SELECT * FROM pg_catalog.nope`, sqlstate.UndefinedTable},
		{`SELECT * FROM pg_class, nope`, sqlstate.UndefinedTable},
		{`SELECT pg_get_viewdef(oid) FROM pg_class`, sqlstate.FeatureNotSupported},
		{`SELECT relname FROM pg_class WHERE relname ~ '('`, sqlstate.InvalidRegex},
		{`SELECT (SELECT relname FROM pg_class)`, "21000"},
		{`SELECT relname FROM pg_class INTERSECT SELECT relname FROM pg_class`, sqlstate.FeatureNotSupported},
		{`SELECT count(*) FROM pg_class WHERE count(*) > 1`, sqlstate.Grouping},
		{`SELECT 'nope'::regclass`, sqlstate.UndefinedTable},
		{`SELECT relname FROM pg_class WHERE nope = 1`, sqlstate.UndefinedColumn},
	} {
		_, err := run(t, testEnv(), tc.sql)
		if sqlstate.Of(err) != tc.code {
			t.Errorf("%s: %v (code %q), want %s", tc.sql, err, sqlstate.Of(err), tc.code)
		}
	}
	// A catalog query that also reads a stream is refused.
	stmts, _ := sql.Parse(`SELECT * FROM pg_class, pageviews`)
	_, err := Bind(stmts[0].(*sql.Select).Query, testEnv(), []types.Value{})
	if sqlstate.Of(err) != sqlstate.FeatureNotSupported {
		t.Errorf("catalog and stream: %v", err)
	}
	// A query over an empty catalog never evaluates what it cannot.
	if got, err := run(t, testEnv(), `SELECT pg_get_viewdef(viewname) FROM pg_views`); err != nil || got != "" {
		t.Errorf("unsupported function over no rows: %q %v", got, err)
	}
}

// TestBounds: a hostile query fails with 54000 instead of growing.
func TestBounds(t *testing.T) {
	env := testEnv()
	env.MaxWork = 100_000
	_, err := run(t, env, `SELECT count(*) FROM pg_type a, pg_type b, pg_type c, pg_type d`)
	if sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("cross join over the work bound: %v", err)
	}
	env = testEnv()
	env.MaxRows = 1000
	_, err = run(t, env, `SELECT s FROM generate_series(1, 100000000) s`)
	if sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("generate_series over the row bound: %v", err)
	}
	_, err = run(t, env, `SELECT a.typname FROM pg_type a, pg_type b`)
	if sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("join over the row bound: %v", err)
	}
}

func TestPgName(t *testing.T) {
	for in, want := range map[string]string{"PAGEVIEWS": "pageviews", "Mixed": "Mixed", "lower": "lower", "A_1": "a_1"} {
		if got := pgName(in); got != want {
			t.Errorf("pgName(%q) = %q, want %q", in, got, want)
		}
	}
}
