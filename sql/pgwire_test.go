package sql

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// This file tests the PostgreSQL statements clients send beside SQL of
// their own: transactions, cursors, COPY and '::' casts.

func TestParseTransactionStatements(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Transaction
	}{
		{"BEGIN", Transaction{Kind: TxnBegin, Verb: "BEGIN"}},
		{"begin work", Transaction{Kind: TxnBegin, Verb: "BEGIN"}},
		{"BEGIN TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY",
			Transaction{Kind: TxnBegin, Verb: "BEGIN", Modes: TxnModes{Isolation: "read committed", ReadOnly: true, ReadOnlySet: true}}},
		{"START TRANSACTION READ WRITE ISOLATION LEVEL SERIALIZABLE NOT DEFERRABLE",
			Transaction{Kind: TxnBegin, Verb: "BEGIN", Modes: TxnModes{Isolation: "serializable", ReadOnlySet: true}}},
		{"START TRANSACTION ISOLATION LEVEL REPEATABLE READ", Transaction{Kind: TxnBegin, Verb: "BEGIN", Modes: TxnModes{Isolation: "repeatable read"}}},
		{"COMMIT", Transaction{Kind: TxnCommit, Verb: "COMMIT"}},
		{"END TRANSACTION", Transaction{Kind: TxnCommit, Verb: "COMMIT"}},
		{"COMMIT AND CHAIN", Transaction{Kind: TxnCommit, Verb: "COMMIT", Chain: true}},
		{"COMMIT AND NO CHAIN", Transaction{Kind: TxnCommit, Verb: "COMMIT"}},
		{"ROLLBACK", Transaction{Kind: TxnRollback, Verb: "ROLLBACK"}},
		{"ABORT WORK", Transaction{Kind: TxnRollback, Verb: "ROLLBACK"}},
		{"ROLLBACK TO SAVEPOINT sp1", Transaction{Kind: TxnRollbackTo, Verb: "ROLLBACK", Savepoint: "SP1"}},
		{"ROLLBACK WORK TO \"sp\"", Transaction{Kind: TxnRollbackTo, Verb: "ROLLBACK", Savepoint: "sp"}},
		{"SAVEPOINT pg_psql_temporary_savepoint", Transaction{Kind: TxnSavepoint, Verb: "SAVEPOINT", Savepoint: "PG_PSQL_TEMPORARY_SAVEPOINT"}},
		{"RELEASE SAVEPOINT a", Transaction{Kind: TxnRelease, Verb: "RELEASE", Savepoint: "A"}},
		{"RELEASE a", Transaction{Kind: TxnRelease, Verb: "RELEASE", Savepoint: "A"}},
		{"SET TRANSACTION READ ONLY", Transaction{Kind: TxnSetModes, Verb: "SET", Modes: TxnModes{ReadOnly: true, ReadOnlySet: true}}},
		{"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
			Transaction{Kind: TxnSetModes, Verb: "SET", Session: true, Modes: TxnModes{Isolation: "read uncommitted"}}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, ok := parseOne(t, tc.text).(*Transaction)
			if !ok {
				t.Fatalf("got %T", got)
			}
			if got.Text() != tc.text {
				t.Errorf("Text() = %q", got.Text())
			}
			tc.want.text = tc.text
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
	// SET of an ordinary setting named like a keyword stays a SET.
	if s, ok := parseOne(t, "SET SESSION application_name = 'x'").(*Set); !ok || s.Name != "application_name" {
		t.Errorf("SET SESSION application_name: %#v", s)
	}
}

func TestParseCursorStatements(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Statement
	}{
		{"DECLARE _psql_cursor NO SCROLL CURSOR FOR\nSELECT * FROM s EMIT CHANGES",
			&Declare{Name: "_PSQL_CURSOR"}},
		{`DECLARE "c" BINARY INSENSITIVE SCROLL CURSOR WITH HOLD FOR SELECT 1`,
			&Declare{Name: "c", Binary: true, Scroll: true, Hold: true}},
		{`DECLARE "my cursor" CURSOR WITHOUT HOLD FOR SELECT a FROM t WHERE a = $1`, &Declare{Name: "my cursor"}},
		{"FETCH FORWARD 10 FROM _psql_cursor", &Fetch{Cursor: "_PSQL_CURSOR", Count: 10}},
		{"FETCH c", &Fetch{Cursor: "C", Count: 1}},
		{"FETCH NEXT IN c", &Fetch{Cursor: "C", Count: 1}},
		{"FETCH 5 c", &Fetch{Cursor: "C", Count: 5}},
		{"FETCH ALL FROM c", &Fetch{Cursor: "C", Count: 1, All: true}},
		{"FETCH FORWARD ALL c", &Fetch{Cursor: "C", Count: 1, All: true}},
		{"FETCH FORWARD c", &Fetch{Cursor: "C", Count: 1}},
		{`FETCH FORWARD 2000 FROM "c"`, &Fetch{Cursor: "c", Count: 2000}},
		{"FETCH next", &Fetch{Cursor: "NEXT", Count: 1}},
		{"FETCH PRIOR FROM c", &Fetch{Cursor: "C", Count: 1, Direction: "PRIOR"}},
		{"FETCH ABSOLUTE -2 FROM c", &Fetch{Cursor: "C", Count: 1, Direction: "ABSOLUTE -2"}},
		{"FETCH BACKWARD 3 c", &Fetch{Cursor: "C", Count: 3, Direction: "BACKWARD 3"}},
		{"FETCH -1 FROM c", &Fetch{Cursor: "C", Count: -1, Direction: "-1"}},
		{"FETCH 0 FROM c", &Fetch{Cursor: "C", Count: 0, Direction: "0"}},
		{"MOVE FORWARD 3 IN c", &Fetch{Move: true, Cursor: "C", Count: 3}},
		{"MOVE ALL c", &Fetch{Move: true, Cursor: "C", Count: 1, All: true}},
		{"CLOSE c", &CloseCursor{Name: "C"}},
		{"CLOSE ALL", &CloseCursor{All: true}},
		{`CLOSE "all"`, &CloseCursor{Name: "all"}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got := parseOne(t, tc.text)
			if got.Text() != tc.text {
				t.Errorf("Text() = %q", got.Text())
			}
			switch g := got.(type) {
			case *Declare:
				if g.Query == nil {
					t.Fatal("no query")
				}
				g.text, g.Query = "", nil
			case *Fetch:
				g.text = ""
			case *CloseCursor:
				g.text = ""
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
	d := parseOne(t, "DECLARE c CURSOR FOR SELECT a FROM s WHERE a > 1 EMIT CHANGES LIMIT 3").(*Declare)
	if d.Query.Emit != EmitChanges || d.Query.Text() != "SELECT a FROM s WHERE a > 1 EMIT CHANGES LIMIT 3" {
		t.Errorf("query: %v %q", d.Query.Emit, d.Query.Text())
	}
}

func TestParseCopy(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Copy
	}{
		{"COPY pageviews FROM STDIN WITH (FORMAT csv, HEADER)", Copy{Table: "PAGEVIEWS", From: true,
			Options: []CopyOption{{Name: "format", Value: "csv", HasValue: true}, {Name: "header"}}}},
		{"copy pageviews (userid, viewtime) from stdin (format 'text', delimiter ',', null '', header true)",
			Copy{Table: "PAGEVIEWS", Columns: []string{"USERID", "VIEWTIME"}, From: true, Options: []CopyOption{
				{Name: "format", Value: "text", HasValue: true}, {Name: "delimiter", Value: ",", HasValue: true},
				{Name: "null", Value: "", HasValue: true}, {Name: "header", Value: "true", HasValue: true}}}},
		{"COPY t TO STDOUT", Copy{Table: "T"}},
		{"COPY t TO STDOUT CSV HEADER DELIMITER AS ';' NULL 'x' QUOTE '\"' FORCE QUOTE *", Copy{Table: "T", Options: []CopyOption{
			{Name: "format", Value: "csv", HasValue: true}, {Name: "header"}, {Name: "delimiter", Value: ";", HasValue: true},
			{Name: "null", Value: "x", HasValue: true}, {Name: "quote", Value: `"`, HasValue: true},
			{Name: "force_quote", Value: "*", HasValue: true}}}},
		{"COPY t FROM STDIN WITH BINARY", Copy{Table: "T", From: true, Options: []CopyOption{{Name: "format", Value: "binary", HasValue: true}}}},
		{"COPY t TO '/tmp/x.csv'", Copy{Table: "T", File: "/tmp/x.csv"}},
		{"COPY t FROM PROGRAM 'cat x'", Copy{Table: "T", From: true, File: "cat x", Program: true}},
		{"COPY t TO STDOUT (FORCE_QUOTE (a, b))", Copy{Table: "T", Options: []CopyOption{
			{Name: "force_quote", Columns: []string{"A", "B"}, HasValue: true}}}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, ok := parseOne(t, tc.text).(*Copy)
			if !ok {
				t.Fatalf("got %T", got)
			}
			if got.Text() != tc.text {
				t.Errorf("Text() = %q", got.Text())
			}
			tc.want.text = tc.text
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", *got, tc.want)
			}
		})
	}
	c := parseOne(t, "COPY (SELECT a, b FROM s WHERE (a) > 1 EMIT CHANGES LIMIT 2) TO STDOUT WITH (FORMAT csv)").(*Copy)
	if c.Query == nil || c.Query.Emit != EmitChanges || c.Query.Text() != "SELECT a, b FROM s WHERE (a) > 1 EMIT CHANGES LIMIT 2" {
		t.Fatalf("query: %#v", c.Query)
	}
	if len(c.Options) != 1 || c.Options[0].Value != "csv" {
		t.Errorf("options: %#v", c.Options)
	}
}

// TestParseErrorsOfPostgresStatements: each error is a syntax error that
// points at the offending token.
func TestParseErrorsOfPostgresStatements(t *testing.T) {
	for _, tc := range []struct{ text, at, msg string }{
		{"BEGIN ISOLATION LEVEL CHAOTIC", "CHAOTIC", "SERIALIZABLE"},
		{"SET TRANSACTION", "", "ISOLATION LEVEL"},
		{"COMMIT AND", "", "CHAIN"},
		{"SAVEPOINT", "", "savepoint name"},
		{"DECLARE c FOR SELECT 1", "FOR", "CURSOR"},
		{"DECLARE c CURSOR FOR SHOW STREAMS", "SHOW", "SELECT"},
		{"FETCH FORWARD 2 FROM", "", "cursor name"},
		{"FETCH ABSOLUTE FROM c", "FROM", "row count"},
		{"CLOSE", "", "cursor name"},
		{"COPY t", "", "FROM or TO"},
		{"COPY t FROM STDOUT", "STDOUT", "STDIN"},
		{"COPY (SELECT 1) FROM STDIN", "FROM", "query"},
		{"COPY (SHOW STREAMS) TO STDOUT", "SHOW", "SELECT"},
		{"COPY t TO STDOUT (FORMAT csv, FORMAT text)", "FORMAT text", "redundant"},
		{"COPY t TO STDOUT WITH CSV CSV", "CSV CSV", ""},
		{"COPY t (a, a) FROM STDIN", "a)", "more than once"},
		{"SELECT x:: FROM s", "FROM", "type"},
		{"SELECT x::numeric FROM s", "numeric", "precision"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			_, err := Parse(tc.text)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a syntax error", err)
			}
			want := len(tc.text) + 1
			if tc.at != "" {
				want = strings.LastIndex(tc.text, tc.at) + 1
			}
			if tc.text == "COPY t TO STDOUT WITH CSV CSV" {
				want = strings.LastIndex(tc.text, "CSV") + 1
			}
			if se.Pos != want {
				t.Errorf("position %d, want %d (%v)", se.Pos, want, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%v does not mention %q", err, tc.msg)
			}
		})
	}
}

// TestPostgresCasts: x::type is CAST(x AS type), with PostgreSQL's type
// names too, binding as tightly as PostgreSQL binds it.
func TestPostgresCasts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"'1'::int", "RUNNEL_CAST(_UTF8MB4'1', _UTF8MB4'INTEGER')"},
		{"x::varchar", "RUNNEL_CAST(`X`, _UTF8MB4'STRING')"},
		{"x::VARCHAR(20)", "RUNNEL_CAST(`X`, _UTF8MB4'STRING')"},
		{"x::text", "RUNNEL_CAST(`X`, _UTF8MB4'STRING')"},
		{"x::character varying(3)", "RUNNEL_CAST(`X`, _UTF8MB4'STRING')"},
		{"x::int8", "RUNNEL_CAST(`X`, _UTF8MB4'BIGINT')"},
		{"x::double precision", "RUNNEL_CAST(`X`, _UTF8MB4'DOUBLE')"},
		{"x::float8", "RUNNEL_CAST(`X`, _UTF8MB4'DOUBLE')"},
		{"x::numeric(10, 2)", "RUNNEL_CAST(`X`, _UTF8MB4'DECIMAL(10, 2)')"},
		{"x::bool", "RUNNEL_CAST(`X`, _UTF8MB4'BOOLEAN')"},
		{"x::bytea", "RUNNEL_CAST(`X`, _UTF8MB4'BYTES')"},
		{"x::timestamp without time zone", "RUNNEL_CAST(`X`, _UTF8MB4'TIMESTAMP')"},
		{"x::timestamptz", "RUNNEL_CAST(`X`, _UTF8MB4'TIMESTAMP')"},
		{"x::ARRAY<INT>", "RUNNEL_CAST(`X`, _UTF8MB4'ARRAY<INTEGER>')"},
		{"x::MAP<STRING, INT>", "RUNNEL_CAST(`X`, _UTF8MB4'MAP<STRING, INTEGER>')"},
		{"x::int::text", "RUNNEL_CAST(RUNNEL_CAST(`X`, _UTF8MB4'INTEGER'), _UTF8MB4'STRING')"},
		{"-1::int", "-RUNNEL_CAST(1, _UTF8MB4'INTEGER')"},
		{"x::int > 3", "RUNNEL_CAST(`X`, _UTF8MB4'INTEGER')>3"},
		{"a->b::int", "RUNNEL_CAST(RUNNEL_FIELD(`A`, _UTF8MB4'B'), _UTF8MB4'INTEGER')"},
		{"a[1]::int", "RUNNEL_CAST(RUNNEL_INDEX(`A`, 1), _UTF8MB4'INTEGER')"},
		{"(a + b)::bigint", "RUNNEL_CAST((`A`+`B`), _UTF8MB4'BIGINT')"},
		{"$1::int", "RUNNEL_CAST(RUNNEL_PARAM(1), _UTF8MB4'INTEGER')"},
		{"f(x::int, y)", "F(RUNNEL_CAST(`X`, _UTF8MB4'INTEGER'), `Y`)"},
		{"'a::b'", "_UTF8MB4'a::b'"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := restore(t, firstField(t, tc.in)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	// In INSERT VALUES too.
	ins := parseOne(t, "INSERT INTO s (a) VALUES ('7'::int)").(*Insert)
	if got := restore(t, ins.Rows[0][0]); got != "RUNNEL_CAST(_UTF8MB4'7', _UTF8MB4'INTEGER')" {
		t.Errorf("VALUES: %s", got)
	}
	// An error in a cast points into the user's text.
	_, err := Parse("SELECT a FROM s WHERE x::nosuch > 1")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos != strings.Index("SELECT a FROM s WHERE x::nosuch > 1", "nosuch")+1 {
		t.Errorf("unknown type: %v", err)
	}
	// Many casts cost time in proportion to their number.
	var b strings.Builder
	b.WriteString("SELECT ")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "x%d::bigint", i)
	}
	b.WriteString(" FROM s")
	if _, err := Parse(b.String()); err != nil {
		t.Fatalf("2000 casts: %v", err)
	}
}
