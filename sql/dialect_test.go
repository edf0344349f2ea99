package sql

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/sql/types"
)

// TestParseDialectStatements: ksqlDB 0.29's statements beyond queries and
// sources, in the forms its grammar (SqlBase.g4) takes, and what it
// refuses.
func TestParseDialectStatements(t *testing.T) {
	addr := types.Struct(types.Field{Name: "NUMBER", Type: types.Int}, types.Field{Name: "STREET", Type: types.String})
	tests := []struct {
		in   string
		want Statement
		err  string
	}{
		{in: "CREATE TYPE address AS STRUCT<number INTEGER, street VARCHAR>", want: &CreateType{Name: "ADDRESS", Type: addr}},
		{in: "CREATE TYPE IF NOT EXISTS `Addr` AS ARRAY<INT>", want: &CreateType{Name: "Addr", Type: types.Array(types.Int), IfNotExists: true}},
		{in: "CREATE TYPE int AS BIGINT", err: "INT is a built-in type"},
		{in: "CREATE OR REPLACE TYPE t AS INT", err: "expected STREAM or TABLE"},
		{in: "DROP TYPE address", want: &DropType{Name: "ADDRESS"}},
		{in: "DROP TYPE IF EXISTS address", want: &DropType{Name: "ADDRESS", IfExists: true}},
		{in: "SHOW TYPES", want: &Show{What: ShowTypes}},
		{in: "LIST VARIABLES", want: &Show{What: ShowVariables}},
		{in: "DEFINE Format = 'JSON'", want: &Define{Name: "format", Value: "JSON"}},
		{in: "DEFINE topic = '''my_topic'''", want: &Define{Name: "topic", Value: "'my_topic'"}},
		{in: "DEFINE 1x = 'a'", err: "expected a variable name"},
		{in: "DEFINE x = 3", err: "quoted string"},
		{in: "UNDEFINE Format", want: &Undefine{Name: "format"}},
		{in: "ASSERT TOPIC my_Topic", want: &Assert{Kind: AssertTopic, Name: "my_Topic"}},
		{in: "ASSERT NOT EXISTS TOPIC 'a.b' WITH (partitions=3, replicas=1) TIMEOUT 2 SECONDS",
			want: &Assert{Kind: AssertTopic, NotExists: true, Name: "a.b", With: map[string]string{"PARTITIONS": "3", "REPLICAS": "1"}, Timeout: 2 * time.Second, HasTimeout: true}},
		{in: "ASSERT SCHEMA SUBJECT 's-value' ID 4", want: &Assert{Kind: AssertSchema, Name: "s-value", ID: 4, HasID: true}},
		{in: "ASSERT SCHEMA TIMEOUT 1 SECOND", err: "expected SUBJECT or ID"},
		// ksqlDB's test-only forms are no statements of a server
		// (asserts.json "should not parse ASSERT").
		{in: "ASSERT VALUES foo (id INT) VALUES (123)", err: "expected TOPIC or SCHEMA"},
		{in: "DESCRIBE STREAMS", want: &DescribeSources{Kind: Stream}},
		{in: "DESCRIBE TABLES EXTENDED", want: &DescribeSources{Kind: Table, Extended: true}},
		{in: `DESCRIBE "STREAMS"`, want: &Describe{Name: "STREAMS"}},
		{in: "CREATE SOURCE TABLE t (k INT PRIMARY KEY, v STRING) WITH (kafka_topic='t')",
			want: &CreateSource{Kind: Table, Name: "T", Source: true, Columns: []ColumnDef{{Name: "K", Type: types.Int, Key: true}, {Name: "V", Type: types.String}},
				With: map[string]string{"KAFKA_TOPIC": "t"}}},
		{in: "CREATE SOURCE STREAM s WITH (kafka_topic='t') AS SELECT * FROM x", err: "takes no AS SELECT"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			stmts, err := Parse(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := stmts[0]
			clearText(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// clearText zeroes the unexported text fields, which the table leaves out.
func clearText(st Statement) {
	v := reflect.ValueOf(st).Elem()
	for _, f := range []string{"text", "stored"} {
		if fv := v.FieldByName(f); fv.IsValid() {
			reflect.NewAt(fv.Type(), fv.Addr().UnsafePointer()).Elem().SetString("")
		}
	}
}

// TestSubstitute: ${name} stands for a session variable's value, as in
// ksqlDB's VariableSubstitutor.
func TestSubstitute(t *testing.T) {
	vars := map[string]string{"format": "JSON", "name": "Tom's", "topic": "'my_topic'", "n": "3"}
	tests := []struct{ in, want string }{
		{"value_format = '${format}'", "value_format = 'JSON'"},
		{"${FORMAT}${Format}", "JSONJSON"},
		{"VALUES ('${name}')", "VALUES ('Tom''s')"},
		{"kafka_topic = ${topic}", "kafka_topic = 'my_topic'"},
		{"partitions = ${n}", "partitions = 3"},
		{"SELECT '$${format}'", "SELECT '${format}'"},
		{"${nope} stays", "${nope} stays"},
		{"${not a name}", "${not a name}"},
		{"unterminated ${format", "unterminated ${format"},
		{"no variables", "no variables"},
	}
	for _, tc := range tests {
		if got, ok := Substitute(tc.in, vars, 1<<20); !ok || got != tc.want {
			t.Errorf("Substitute(%q) = %q, %v, want %q", tc.in, got, ok, tc.want)
		}
	}
	// The result is bounded before it is built: a short text may
	// reference a long value many times.
	long := map[string]string{"v": strings.Repeat("x", 1000)}
	if got, ok := Substitute(strings.Repeat("${v}", 1000), long, 64<<10); ok || got != "" {
		t.Errorf("a result over the limit: %d bytes, %v", len(got), ok)
	}
	if got, ok := Substitute(strings.Repeat("${v}", 10), long, 64<<10); !ok || len(got) != 10000 {
		t.Errorf("a result under the limit: %d bytes, %v", len(got), ok)
	}
}

// TestVariablesDeferParsing: a statement that references a variable is
// parsed only once substituted, so that a DEFINE before it in the same
// text can define it; parsed as substituted, a variable left is an error.
func TestVariablesDeferParsing(t *testing.T) {
	stmts, err := Parse("DEFINE t = 'x'; CREATE STREAM ${t} (a INT) WITH (kafka_topic='${t}'); SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 3 {
		t.Fatalf("%d statements", len(stmts))
	}
	u, ok := stmts[1].(*Unsubstituted)
	if !ok || u.Text() != "CREATE STREAM ${t} (a INT) WITH (kafka_topic='${t}')" {
		t.Fatalf("second statement: %#v", stmts[1])
	}
	text, _ := Substitute(u.Text(), map[string]string{"t": "x"}, 1<<20)
	sub, err := ParseWith(text, Options{Substituted: true})
	if err != nil {
		t.Fatal(err)
	}
	if cs := sub[0].(*CreateSource); cs.Name != "X" || cs.With["KAFKA_TOPIC"] != "x" {
		t.Errorf("substituted: %#v", cs)
	}
	_, err = ParseWith("SELECT ${u} FROM s", Options{Substituted: true})
	if err == nil || !strings.Contains(err.Error(), "${u}") {
		t.Errorf("an undefined variable: %v", err)
	}
	_, err = ParseWith("${u}", Options{Substituted: true})
	if err == nil || !strings.Contains(err.Error(), "variable u is not defined") {
		t.Errorf("an undefined variable as a statement: %v", err)
	}
}

// TestCustomTypes: a custom type's name is a type wherever a type is
// written, its field names excepted, and the text recorded for a
// statement spells it out.
func TestCustomTypes(t *testing.T) {
	addr := types.Struct(types.Field{Name: "CITY", Type: types.String})
	reg := map[string]types.Type{"ADDRESS": addr, "Quoted": types.Bigint}
	opts := Options{Types: func(n string) (types.Type, bool) { t, ok := reg[n]; return t, ok }}
	parse := func(text string) Statement {
		t.Helper()
		stmts, err := ParseWith(text, opts)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		return stmts[0]
	}
	cs := parse("CREATE STREAM s (k INT KEY, address ADDRESS, m MAP<STRING, ARRAY<address>>, q `Quoted`, st STRUCT<address ADDRESS>) WITH (kafka_topic='s')").(*CreateSource)
	want := []types.Type{types.Int, addr, types.Map(types.String, types.Array(addr)), types.Bigint,
		types.Struct(types.Field{Name: "ADDRESS", Type: addr})}
	for i, c := range cs.Columns {
		if !c.Type.Equal(want[i]) {
			t.Errorf("column %s: %s, want %s", c.Name, c.Type, want[i])
		}
	}
	ct := parse("CREATE TYPE person AS STRUCT<name VARCHAR, address ADDRESS>").(*CreateType)
	if ct.Type.String() != "STRUCT<`NAME` STRING, `ADDRESS` STRUCT<`CITY` STRING>>" {
		t.Errorf("CREATE TYPE: %s", ct.Type)
	}
	q := parse("CREATE STREAM c AS SELECT k, CAST(v AS ADDRESS) AS a FROM s")
	if got := StoredText(q); got != "CREATE STREAM c AS SELECT k, CAST(v AS STRUCT<`CITY` STRING>) AS a FROM s" {
		t.Errorf("stored text: %s", got)
	}
	if got := StoredText(parse("INSERT INTO c SELECT k, CAST(v AS ADDRESS) AS a FROM s")); !strings.Contains(got, "CAST(v AS STRUCT<`CITY` STRING>)") {
		t.Errorf("stored text: %s", got)
	}
	if got := StoredText(parse("CREATE STREAM c AS SELECT k FROM s")); got != "CREATE STREAM c AS SELECT k FROM s" {
		t.Errorf("stored text without custom types: %s", got)
	}
	// Without a resolver, a custom name is no type.
	if _, err := Parse("CREATE STREAM s (a ADDRESS) WITH (kafka_topic='s')"); err == nil {
		t.Error("ADDRESS parsed without a resolver")
	}
}
