package sql

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/datadriven"
	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// TestParseData runs the files of testdata/parse: the parser's behaviour,
// one statement, expression or type a case. Regenerate the expected
// output with -rewrite and read the diff: the files are the spec.
//
// Commands whose input is one text (which may hold several statements):
//
//	parse [types] [substituted] [quoted]
//	    The text must parse; each statement is printed by dumpStatement.
//	positions [substituted] [quoted]
//	    The text must parse; prints every node of its queries (and
//	    VALUES rows) that has a position (Pos), in the order of a walk
//	    of the tree: its kind, its TiDB rendering, and the text from
//	    that position on (dumpPositions).
//	error [types] [substituted] [quoted]
//	    The text must not parse; prints its lines up to the error's, a
//	    caret under the error's position, then the position (1-based
//	    characters), the SQLSTATE and the message (showError).
//
// Commands with one case a line, printed as "line ==> result" (errors
// prints as error does):
//
//	errors [quoted]      each line must not parse
//	expr [quoted]        SELECT <line> FROM s, the expression restored by
//	                     TiDB after the dialect's rewrites (ast.go)
//	tree [quoted]        the same expression as a tree of TiDB node kinds
//	type [quoted]        ParseType's type (which must read back as
//	                     itself), or its error's position and message
//	vars                 name=value: the variables of the file's later
//	                     substitute commands
//	substitute [quoted] [limit=n]
//	                     Substitute with those variables and a limit of
//	                     n bytes (default 1 MiB)
//
// "types" resolves the custom types ADDRESS (STRUCT<CITY STRING>) and
// `Quoted` (BIGINT), as a catalog would; "substituted" parses with
// Options.Substituted; "quoted" reads the text, or each line, as a Go
// string literal, for texts with newlines or blanks at an end that the
// file format would lose.
func TestParseData(t *testing.T) {
	datadriven.Walk(t, "testdata/parse", func(t *testing.T, path string) {
		vars := map[string]string{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "parse", "error":
				text := d.Input
				if d.HasArg("quoted") {
					text = unquote(t, d, text)
				}
				stmts, err := ParseWith(text, dataOptions(d))
				if d.Cmd == "error" {
					if err == nil {
						d.Fatalf(t, "parsed, want an error: %s", dumpStatements(t, stmts, text))
					}
					return showError(t, text, err)
				}
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				return dumpStatements(t, stmts, text)
			case "positions":
				text := d.Input
				if d.HasArg("quoted") {
					text = unquote(t, d, text)
				}
				stmts, err := ParseWith(text, dataOptions(d))
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				return dumpPositions(t, stmts, text)
			case "errors":
				var out strings.Builder
				for _, line := range dataLines(t, d) {
					_, err := Parse(line)
					if err == nil {
						d.Fatalf(t, "%q parsed, want an error", line)
					}
					out.WriteString(showError(t, line, err))
				}
				return out.String()
			case "expr", "tree":
				var out strings.Builder
				for _, line := range dataLines(t, d) {
					stmts, err := Parse("SELECT " + line + " FROM s")
					if err != nil {
						d.Fatalf(t, "%s: %v", line, err)
					}
					sel, ok := stmts[0].(*Select)
					if len(stmts) != 1 || !ok || sel.Query.Select == nil || len(sel.Query.Select.Fields.Fields) != 1 {
						d.Fatalf(t, "%s: not one expression", line)
					}
					e := sel.Query.Select.Fields.Fields[0].Expr
					if d.Cmd == "expr" {
						fmt.Fprintf(&out, "%s ==> %s\n", showLine(d, line), restore(t, e))
					} else {
						fmt.Fprintf(&out, "%s ==> %s\n", showLine(d, line), exprTree(e))
					}
				}
				return out.String()
			case "type":
				var out strings.Builder
				for _, line := range dataLines(t, d) {
					fmt.Fprintf(&out, "%s ==> %s\n", showLine(d, line), typeLine(t, line))
				}
				return out.String()
			case "vars":
				for _, line := range dataLines(t, d) {
					name, value, ok := strings.Cut(line, "=")
					if !ok {
						d.Fatalf(t, "want name=value: %q", line)
					}
					vars[name] = value
				}
				return ""
			case "substitute":
				limit := 1 << 20
				d.MaybeScanArgs(t, "limit", &limit)
				var out strings.Builder
				for _, line := range dataLines(t, d) {
					got, ok := Substitute(line, vars, limit)
					if !ok {
						got = "(over the limit)"
					}
					fmt.Fprintf(&out, "%s ==> %s\n", showLine(d, line), showLine(d, got))
				}
				return out.String()
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}

// dataOptions are the parse options a parse or error command asks for.
func dataOptions(d *datadriven.TestData) Options {
	var opts Options
	if d.HasArg("types") {
		reg := map[string]types.Type{
			"ADDRESS": types.Struct(types.Field{Name: "CITY", Type: types.String}),
			"Quoted":  types.Bigint,
		}
		opts.Types = func(n string) (types.Type, bool) { t, ok := reg[n]; return t, ok }
	}
	opts.Substituted = d.HasArg("substituted")
	return opts
}

// dataLines are the input's lines, blank ones left out, each read as a
// Go string literal with the quoted argument.
func dataLines(t *testing.T, d *datadriven.TestData) []string {
	var lines []string
	for _, line := range strings.Split(d.Input, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if d.HasArg("quoted") {
			line = unquote(t, d, line)
		}
		lines = append(lines, line)
	}
	return lines
}

// showLine prints a case's line as its input spelled it.
func showLine(d *datadriven.TestData, line string) string {
	if d.HasArg("quoted") {
		return strconv.Quote(line)
	}
	return line
}

func unquote(t *testing.T, d *datadriven.TestData, s string) string {
	u, err := strconv.Unquote(s)
	if err != nil {
		d.Fatalf(t, "not a Go string literal: %s", s)
	}
	return u
}

// showError prints a parse error of text: the text's lines up to the
// error's, a caret under its position, then the position, SQLSTATE and
// message. It checks what every parse error must be besides.
func showError(t *testing.T, text string, err error) string {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%q: error %v is %T, want *SyntaxError", text, err, err)
	}
	code := sqlstate.Of(err)
	if string(code) != se.SQLState() {
		t.Errorf("%q: sqlstate.Of = %s, SQLState() = %s", text, code, se.SQLState())
	}
	if errors.Is(err, ErrSyntax) != (code == sqlstate.Syntax) {
		t.Errorf("%q: errors.Is(err, ErrSyntax) = %v with SQLSTATE %s", text, errors.Is(err, ErrSyntax), code)
	}
	if se.Position() != se.Pos || !strings.Contains(se.Error(), se.Msg) {
		t.Errorf("%q: Position() %d, Pos %d, Error() %q, Msg %q", text, se.Position(), se.Pos, se.Error(), se.Msg)
	}
	if n := utf8.RuneCountInString(text); se.Pos < 1 || se.Pos > n+1 {
		t.Errorf("%q: Pos %d outside 1..%d", text, se.Pos, n+1)
	}
	// The lines up to the one holding the position (one past the end
	// counts as the last line's), then the caret.
	var b strings.Builder
	col := se.Pos - 1
	for _, line := range strings.SplitAfter(text, "\n") {
		n := utf8.RuneCountInString(line)
		// Blanks at a line's end show as '␣' (one character each, so the
		// caret stays aligned): editors strip them from the file.
		shown := strings.TrimSuffix(line, "\n")
		trimmed := strings.TrimRight(shown, " ")
		b.WriteString(trimmed + strings.Repeat("␣", len(shown)-len(trimmed)) + "\n")
		if col < n || !strings.HasSuffix(line, "\n") {
			break
		}
		col -= n
	}
	fmt.Fprintf(&b, "%s^ at %d: %s %s\n", strings.Repeat(" ", col), se.Pos, code, se.Msg)
	return b.String()
}

// typeLine prints ParseType's reading of s, checking that the printed
// type reads back as itself.
func typeLine(t *testing.T, s string) string {
	t.Helper()
	typ, err := ParseType(s)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("ParseType(%q): %v is %T, want *SyntaxError", s, err, err)
		}
		return fmt.Sprintf("error at %d: %s", se.Pos, se.Msg)
	}
	again, err := ParseType(typ.String())
	if err != nil || !again.Equal(typ) || again.String() != typ.String() {
		t.Errorf("%q: %s does not read back (%v, %v)", s, typ, again, err)
	}
	return typ.String()
}

// exprTree prints an expression as the kinds of TiDB nodes it is made
// of, which restoring it hides: a call's name and arguments, a column's
// table and name, a constant's Go type and value, an operator's opcode.
// A RUNNEL_CAST's type is also read back with ParseType.
func exprTree(e ast.ExprNode) string {
	switch e := e.(type) {
	case *ast.FuncCallExpr:
		args := make([]string, len(e.Args))
		for i, a := range e.Args {
			args[i] = exprTree(a)
		}
		s := "call " + e.FnName.O + "(" + strings.Join(args, ", ") + ")"
		if e.FnName.L == "runnel_cast" && len(e.Args) == 2 {
			if v, ok := e.Args[1].(*driver.ValueExpr); ok {
				typ, err := ParseType(v.GetString())
				if err != nil {
					s += " [type: " + err.Error() + "]"
				} else {
					s += " [type " + typ.String() + "]"
				}
			}
		}
		return s
	case *ast.AggregateFuncExpr:
		args := make([]string, len(e.Args))
		for i, a := range e.Args {
			args[i] = exprTree(a)
		}
		return "aggregate " + e.F + "(" + strings.Join(args, ", ") + ")"
	case *ast.ColumnNameExpr:
		if e.Name.Table.O != "" {
			return "column " + e.Name.Table.O + "." + e.Name.Name.O
		}
		return "column " + e.Name.Name.O
	case *driver.ValueExpr:
		switch v := e.Datum.GetValue().(type) {
		case nil:
			return "NULL"
		case string:
			return "string " + strconv.Quote(v)
		default:
			return fmt.Sprintf("%T %v", v, v)
		}
	case *ast.BinaryOperationExpr:
		return "(" + exprTree(e.L) + " " + e.Op.String() + " " + exprTree(e.R) + ")"
	case *ast.UnaryOperationExpr:
		return e.Op.String() + " " + exprTree(e.V)
	case *ast.ParenthesesExpr:
		return "paren(" + exprTree(e.Expr) + ")"
	case *ast.IsNullExpr:
		if e.Not {
			return "(" + exprTree(e.Expr) + " is not null)"
		}
		return "(" + exprTree(e.Expr) + " is null)"
	}
	return fmt.Sprintf("%T", e)
}

// dumpStatements prints each statement of text with dumpStatement.
func dumpStatements(t *testing.T, stmts []Statement, text string) string {
	t.Helper()
	if len(stmts) == 0 {
		return "(no statements)\n"
	}
	var b strings.Builder
	for _, st := range stmts {
		dumpStatement(t, &b, st, text, "")
	}
	return b.String()
}

// dumpStatement prints a statement as its type's name, then its fields,
// one a line, indented. A field at its zero value is left out, except a
// source's kind (STREAM is as telling as TABLE); the statement's own
// text is printed only when it is not the whole text parsed, so that a
// single statement's is checked without being repeated; the stored text
// (StoredText) only when it differs from the text. Types print as
// types.Type.String, TiDB nodes restored as SQL, durations as Go prints
// them, maps sorted, enumerations by name (enumNames). The printer is
// generic over the AST's fields so that a field added to a statement
// shows up in the files' diffs on the next -rewrite.
func dumpStatement(t *testing.T, b *strings.Builder, st Statement, text, indent string) {
	t.Helper()
	v := reflect.ValueOf(st).Elem()
	b.WriteString(indent + v.Type().Name() + "\n")
	if sel, ok := st.(*Select); ok {
		// A Select is its query; print the query's fields in its place.
		dumpFields(t, b, reflect.ValueOf(sel.Query).Elem(), text, indent+"  ")
		return
	}
	dumpFields(t, b, v, text, indent+"  ")
	if stored := StoredText(st); stored != st.Text() {
		b.WriteString(indent + "  stored: " + stored + "\n")
	}
}

func dumpFields(t *testing.T, b *strings.Builder, v reflect.Value, text, indent string) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		f := v.Field(i)
		switch name {
		case "text":
			if f.String() != text {
				b.WriteString(indent + "text: " + showString(f.String()) + "\n")
			}
			continue
		case "stored":
			continue // printed after the fields, through StoredText
		case "pos":
			continue // positions: the positions command prints them
		}
		// A zero field is left out, but for a source's kind, whose zero
		// (STREAM) is as telling as TABLE.
		if f.IsZero() && f.Type() != reflect.TypeFor[SourceKind]() {
			continue
		}
		dumpValue(t, b, name, f, text, indent)
	}
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	typeType      = reflect.TypeFor[types.Type]()
	nodeType      = reflect.TypeFor[ast.Node]()
	statementType = reflect.TypeFor[Statement]()
)

// enumNames name the values of the dialect's enumerations that have no
// String method.
var enumNames = map[reflect.Type][]string{
	reflect.TypeFor[EmitMode]():        {"NONE", "CHANGES", "FINAL"},
	reflect.TypeFor[WindowKind]():      {"", "TUMBLING", "HOPPING", "SESSION"},
	reflect.TypeFor[ShowKind]():        {"", "STREAMS", "TABLES", "QUERIES", "TOPICS", "PROPERTIES", "FUNCTIONS", "TYPES", "VARIABLES", "NODES"},
	reflect.TypeFor[AssertKind]():      {"", "TOPIC", "SCHEMA"},
	reflect.TypeFor[TxnKind]():         {"", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "ROLLBACK TO", "SET MODES"},
	reflect.TypeFor[ConnectorAction](): {"", "LIST", "PLUGINS", "CREATE", "DESCRIBE", "DROP"},
}

func dumpValue(t *testing.T, b *strings.Builder, name string, f reflect.Value, text, indent string) {
	t.Helper()
	ft := f.Type()
	switch {
	case ft == durationType:
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, time.Duration(f.Int()))
	case ft == typeType:
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, f.Interface().(types.Type))
	case ft.Implements(statementType):
		b.WriteString(indent + name + ":\n")
		dumpStatement(t, b, f.Interface().(Statement), text, indent+"  ")
	case ft.Implements(nodeType):
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, showString(restore(t, f.Interface().(ast.Node))))
	case enumNames[ft] != nil:
		names := enumNames[ft]
		if n := int(f.Int()); n >= 0 && n < len(names) && names[n] != "" {
			fmt.Fprintf(b, "%s%s: %s\n", indent, name, names[n])
		} else {
			fmt.Fprintf(b, "%s%s: %s(%d)\n", indent, name, ft.Name(), n)
		}
	case ft.Implements(reflect.TypeFor[fmt.Stringer]()):
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, f.Interface())
	case ft.Kind() == reflect.String:
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, showString(f.String()))
	case ft.Kind() == reflect.Bool, ft.Kind() == reflect.Int, ft.Kind() == reflect.Int64:
		fmt.Fprintf(b, "%s%s: %v\n", indent, name, f.Interface())
	case ft.Kind() == reflect.Map:
		b.WriteString(indent + name + ":\n")
		keys := make([]string, 0, f.Len())
		for _, k := range f.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "%s  %s=%s\n", indent, k, showString(f.MapIndex(reflect.ValueOf(k)).String()))
		}
	case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
		b.WriteString(indent + name + ":\n")
		dumpFields(t, b, f.Elem(), text, indent+"  ")
	case ft.Kind() == reflect.Struct:
		b.WriteString(indent + name + ":\n")
		dumpFields(t, b, f, text, indent+"  ")
	case ft.Kind() == reflect.Slice:
		b.WriteString(indent + name + ":\n")
		for j := 0; j < f.Len(); j++ {
			fmt.Fprintf(b, "%s  %s\n", indent, inline(t, f.Index(j)))
		}
	default:
		t.Fatalf("dumpStatement: no way to print field %s of type %s", name, ft)
	}
}

// inline prints one element of a slice field on one line.
func inline(t *testing.T, e reflect.Value) string {
	t.Helper()
	switch x := e.Interface().(type) {
	case ColumnDef:
		s := showName(x.Name) + " " + x.Type.String()
		if x.Key {
			s += " KEY"
		}
		return s
	case CopyOption:
		s := x.Name
		if x.HasValue {
			s += " = " + strconv.Quote(x.Value)
		} else if x.Value != "" {
			s += " value " + strconv.Quote(x.Value) + " (HasValue unset)"
		}
		if x.Columns != nil {
			cols := make([]string, len(x.Columns))
			for i, c := range x.Columns {
				cols[i] = showName(c)
			}
			s += " (" + strings.Join(cols, ", ") + ")"
		}
		return s
	case string:
		return showName(x)
	case ast.Node:
		return restore(t, x)
	case []ast.ExprNode:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = restore(t, n)
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	t.Fatalf("dumpStatement: no way to print a %s", e.Type())
	return ""
}

// showString prints a string as it is unless that would hide something
// (empty, blanks at an end, a newline or another control character).
func showString(s string) string {
	if s == "" || s != strings.TrimSpace(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' }) {
		return strconv.Quote(s)
	}
	return s
}

// showName prints a canonical identifier, backquoted when it would not
// read back as itself unquoted (lower case, blanks, symbols).
func showName(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(r >= 'A' && r <= 'Z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			plain = false
		}
	}
	if plain {
		return s
	}
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}
