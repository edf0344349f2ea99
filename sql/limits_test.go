package sql

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/runnel/runnel/internal/sqlstate"
)

// chain joins n copies of term (with %d replaced by the index) by sep.
func chain(n int, term, sep string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		if strings.Contains(term, "%d") {
			fmt.Fprintf(&b, term, i)
		} else {
			b.WriteString(term)
		}
	}
	return b.String()
}

// TestLimitErrors: each limit refuses with its own SQLSTATE, at the
// offending place, and Parse returns before doing the work it protects.
func TestLimitErrors(t *testing.T) {
	long := strings.Repeat("a", MaxIdentifierLength+1)
	longUTF8 := strings.Repeat("é", MaxIdentifierLength+1)
	for _, tc := range []struct {
		name   string
		text   string
		code   sqlstate.Code
		is     error
		at     string // where the error points; "" for the start of the text
		msg    string
		wantOK bool
	}{
		{name: "identifier at the limit", text: "SELECT " + strings.Repeat("a", MaxIdentifierLength) + " FROM s", wantOK: true},
		{name: "multibyte identifier at the limit", text: `SELECT "` + strings.Repeat("é", MaxIdentifierLength) + `" FROM s`, wantOK: true},
		{name: "identifier over the limit", text: "CREATE STREAM " + long + " (a INT)", code: sqlstate.NameTooLong, is: ErrNameTooLong, at: long, msg: "250 characters"},
		{name: "quoted identifier over the limit", text: `SELECT "` + longUTF8 + `" FROM s`, code: sqlstate.NameTooLong, is: ErrNameTooLong, at: `"` + longUTF8, msg: "too long"},
		{name: "column name over the limit", text: "SELECT a AS " + long + " FROM s", code: sqlstate.NameTooLong, is: ErrNameTooLong, at: long},
		{name: "left-deep + chain", text: "SELECT " + chain(20000, "1", " + ") + " FROM s", code: sqlstate.StatementTooComplex, is: ErrTooComplex, at: "SELECT", msg: "nest more than 1000 levels"},
		{name: "|| chain", text: "SELECT " + chain(5000, "'x'", " || ") + " FROM s", code: sqlstate.StatementTooComplex, is: ErrTooComplex, msg: "levels"},
		{name: "NOT chain", text: "SELECT " + strings.Repeat("NOT ", 5000) + "TRUE FROM s", code: sqlstate.StatementTooComplex, is: ErrTooComplex},
		{name: "nested calls", text: "SELECT " + strings.Repeat("ABS(", 150) + "1" + strings.Repeat(")", 150) + " FROM s", wantOK: true},
		{name: "parentheses", text: "SELECT " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300) + " FROM s", code: sqlstate.StatementTooComplex, is: ErrTooComplex, at: strings.Repeat("(", 99) + "1", msg: "parentheses"},
		{name: "INSERT rows share the depth budget per row", text: "INSERT INTO s VALUES " + chain(20000, "(%d, 'x')", ", "), wantOK: true},
		{name: "deep VALUES cell", text: "INSERT INTO s VALUES (" + chain(3000, "1", "+") + ")", code: sqlstate.StatementTooComplex, is: ErrTooComplex, at: "VALUES"},
		{name: "deep PARTITION BY", text: "SELECT a FROM s PARTITION BY " + chain(3000, "a", "+"), code: sqlstate.StatementTooComplex, is: ErrTooComplex, at: "a+a"},
		{name: "long OR chain", text: "SELECT a FROM s WHERE " + chain(20000, "a = %d", " OR "), wantOK: true},
		{name: "long AND chain", text: "SELECT a FROM s WHERE " + chain(20000, "a <> %d", " AND "), wantOK: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.text)
			if tc.wantOK {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *SyntaxError", err, err)
			}
			if got := sqlstate.Of(err); got != tc.code {
				t.Errorf("SQLSTATE %s, want %s (%v)", got, tc.code, err)
			}
			if !errors.Is(err, tc.is) || errors.Is(err, ErrSyntax) {
				t.Errorf("errors.Is(%v): limit %v, syntax %v", err, errors.Is(err, tc.is), errors.Is(err, ErrSyntax))
			}
			want := 1
			if tc.at != "" {
				want = utf8.RuneCountInString(tc.text[:strings.Index(tc.text, tc.at)]) + 1
			}
			if se.Pos != want {
				t.Errorf("Pos = %d, want %d", se.Pos, want)
			}
			if !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Msg = %q, want it to mention %q", se.Msg, tc.msg)
			}
			if len(se.Msg) > 300 {
				t.Errorf("message of %d bytes quotes too much: %.100q", len(se.Msg), se.Msg)
			}
		})
	}
}

// TestTokenLimit: lexing stops at the token past the limit, for the text
// as a whole (all its statements share the budget).
func TestTokenLimit(t *testing.T) {
	if _, err := lexLimit("SELECT 1, 2", 4); err != nil {
		t.Fatalf("4 tokens under a limit of 4: %v", err)
	}
	_, err := lexLimit("SELECT 1; SELECT 2", 4)
	var pe *posError
	if !errors.As(err, &pe) || pe.sentinel != ErrTooComplex || pe.off != len("SELECT 1; SELECT ") {
		t.Fatalf("5 tokens over a limit of 4: %#v", err)
	}
	// The real limit, through Parse: a statement of MaxTokens+1 tokens.
	text := "SELECT " + chain(MaxTokens/2+1, "1", ",")
	_, err = Parse(text)
	if sqlstate.Of(err) != sqlstate.StatementTooComplex || !strings.Contains(err.Error(), "tokens") {
		t.Fatalf("Parse of %d tokens: %v", MaxTokens+1, err)
	}
}

// depthOf measures a tree's depth with TiDB's own (recursive) walk.
type depthOf struct{ cur, max int }

func (d *depthOf) Enter(n ast.Node) (ast.Node, bool) {
	d.cur++
	d.max = max(d.max, d.cur)
	return n, false
}

func (d *depthOf) Leave(n ast.Node) (ast.Node, bool) {
	d.cur--
	return n, true
}

// TestLogicChainsAreBalanced: a 100,000-term OR comes back from Parse as
// a balanced tree, about log2(100,000) levels deep, with its operands in
// their original order.
func TestLogicChainsAreBalanced(t *testing.T) {
	for _, op := range []string{"OR", "AND"} {
		q := parseQuery(t, "SELECT a FROM s WHERE "+chain(100_000, "a = %d", " "+op+" "))
		d := &depthOf{}
		q.Select.Where.Accept(d)
		if d.max > 25 {
			t.Errorf("%s chain of 100,000 terms is %d levels deep", op, d.max)
		}
		// In-order operands: 0, 1, 2, ...
		var operands []ast.ExprNode
		var walk func(n ast.ExprNode)
		walk = func(n ast.ExprNode) {
			if b, ok := n.(*ast.BinaryOperationExpr); ok && (b.Op == opcode.LogicOr || b.Op == opcode.LogicAnd) {
				walk(b.L)
				walk(b.R)
				return
			}
			operands = append(operands, n)
		}
		walk(q.Select.Where)
		if len(operands) != 100_000 {
			t.Fatalf("%s: %d operands, want 100000", op, len(operands))
		}
		for _, i := range []int{0, 1, 2, 49_999, 99_999} {
			if got, want := restore(t, operands[i]), fmt.Sprintf("`A`=%d", i); got != want {
				t.Errorf("%s: operand %d is %s, want %s", op, i, got, want)
			}
		}
	}
	// Short chains keep their shape: testdata/parse/logic_chains.
}

// TestSubstituteBound: Substitute bounds its result before building it,
// since a short text may reference a long value many times.
func TestSubstituteBound(t *testing.T) {
	long := map[string]string{"v": strings.Repeat("x", 1000)}
	if got, ok := Substitute(strings.Repeat("${v}", 1000), long, 64<<10); ok || got != "" {
		t.Errorf("a result over the limit: %d bytes, %v", len(got), ok)
	}
	if got, ok := Substitute(strings.Repeat("${v}", 10), long, 64<<10); !ok || len(got) != 10000 {
		t.Errorf("a result under the limit: %d bytes, %v", len(got), ok)
	}
}

// TestManyCasts: many '::' casts cost time in proportion to their
// number (a quadratic rewrite would show here as a hang, not a failure
// of a clock).
func TestManyCasts(t *testing.T) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "x%d::bigint", i)
	}
	b.WriteString(" FROM s")
	q := parseQuery(t, b.String())
	if n := len(q.Select.Fields.Fields); n != 2000 {
		t.Fatalf("2000 casts: %d fields", n)
	}
	if got, want := restore(t, q.Select.Fields.Fields[1999].Expr), "RUNNEL_CAST(`X1999`, _UTF8MB4'BIGINT')"; got != want {
		t.Errorf("last cast: %s, want %s", got, want)
	}
}
