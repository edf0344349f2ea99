package sql

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// positionLister collects the nodes of a tree that have a position.
type positionLister struct {
	q     *Query
	nodes []ast.Node
}

func (l *positionLister) Enter(n ast.Node) (ast.Node, bool) {
	if l.q.Pos(n) > 0 {
		l.nodes = append(l.nodes, n)
	}
	return n, false
}

func (l *positionLister) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// queryNodes are the TiDB trees a statement's query holds.
func queryNodes(q *Query) []ast.Node {
	var out []ast.Node
	if q == nil {
		return out
	}
	if q.Select != nil {
		out = append(out, q.Select)
	}
	for _, e := range q.PartitionBy {
		out = append(out, e)
	}
	return out
}

// dumpPositions prints each positioned node of stmts: its kind, its TiDB
// rendering, its position and the text of the line from there on (cut
// to 24 characters), so a reader sees at once whether it points where
// the node is written.
func dumpPositions(t *testing.T, stmts []Statement, text string) string {
	t.Helper()
	var b strings.Builder
	for _, st := range stmts {
		q := queryOf(st)
		for _, root := range queryNodes(q) {
			l := &positionLister{q: q}
			root.Accept(l)
			for _, n := range l.nodes {
				kind := strings.TrimPrefix(reflect.TypeOf(n).String(), "*")
				fmt.Fprintf(&b, "%s %s @%d: %s\n", kind, cut(restore(t, n), 40), q.Pos(n), cut(textAt(text, q.Pos(n)), 24))
			}
		}
	}
	if b.Len() == 0 {
		return "(no positions)\n"
	}
	return b.String()
}

// textAt is the rest of the line of text from 1-based character position
// pos.
func textAt(text string, pos int) string {
	i := 0
	for c := 1; c < pos && i < len(text); c++ {
		_, n := utf8.DecodeRuneInString(text[i:])
		i += n
	}
	rest := text[i:]
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	return rest
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// TestPositions checks, through every rewrite that moves text, that the
// node a test names starts where the user wrote it: want is the text at
// the node's position (textAt).
func TestPositions(t *testing.T) {
	onTerm := func(st Statement, i int) ast.Node {
		sel := queryOf(st).Select
		return andTerms(sel.From.TableRefs.On.Expr)[i]
	}
	column := func(name string) func(Statement) ast.Node {
		return func(st Statement) ast.Node {
			var found ast.Node
			for _, root := range queryNodes(queryOf(st)) {
				l := &positionLister{q: queryOf(st)}
				root.Accept(l)
				for _, n := range l.nodes {
					if c, ok := n.(*ast.ColumnNameExpr); ok && found == nil && c.Name.Name.O == name {
						found = n
					}
				}
			}
			return found
		}
	}
	tests := []struct {
		name string
		text string
		node func(Statement) ast.Node
		want string // the text at the node's position; "" for none
	}{
		{"column after multi-byte characters", "SELECT 'héllo ☃', nope FROM s EMIT CHANGES", column("NOPE"), "nope FROM s EMIT CHANGES"},
		{"equality after WITHIN", "SELECT * FROM o JOIN s WITHIN 1 HOUR ON o.id = s.id EMIT CHANGES",
			func(st Statement) ast.Node { return onTerm(st, 1) }, "o.id = s.id EMIT CHANGES"},
		{"WITHIN marker", "SELECT * FROM o JOIN s WITHIN (1 HOUR, 2 HOURS) GRACE PERIOD 1 MINUTE ON o.id = s.id",
			func(st Statement) ast.Node { return onTerm(st, 0) }, "WITHIN (1 HOUR, 2 HOURS) GRACE PERIOD 1 MINUTE ON o.id = s.id"},
		{"FULL marker and WITHIN marker apart", "SELECT * FROM o FULL OUTER JOIN s WITHIN 1 HOUR ON o.id = s.id",
			func(st Statement) ast.Node { return onTerm(st, 1) }, "WITHIN 1 HOUR ON o.id = s.id"},
		{"FULL marker", "SELECT * FROM o FULL OUTER JOIN s WITHIN 1 HOUR ON o.id = s.id",
			func(st Statement) ast.Node { return onTerm(st, 0) }, "FULL OUTER JOIN s WITHIN 1 HOUR ON o.id = s.id"},
		{"join keyword", "SELECT * FROM o LEFT OUTER JOIN s ON o.id = s.id",
			func(st Statement) ast.Node { return queryOf(st).Select.From.TableRefs }, "LEFT OUTER JOIN s ON o.id = s.id"},
		{"right source", "SELECT * FROM o AS x JOIN \"s\" y ON x.id = y.id",
			func(st Statement) ast.Node { return queryOf(st).Select.From.TableRefs.Right }, "\"s\" y ON x.id = y.id"},
		{"first source", "SELECT a IS DISTINCT FROM b FROM src",
			func(st Statement) ast.Node { return queryOf(st).Select.From.TableRefs.Left }, "src"},
		{"CREATE AS SELECT on a later line", "CREATE STREAM x AS\n  SELECT ü.id\n  FROM o ü JOIN s ON ü.id = s.id EMIT CHANGES",
			func(st Statement) ast.Node { return onTerm(st, 0) }, "ü.id = s.id EMIT CHANGES"},
		{"INSERT INTO ... SELECT", "INSERT INTO x SELECT * FROM o WHERE x->f = 1", column("X"), "x->f = 1"},
		{"EXPLAIN", "EXPLAIN SELECT nope FROM o EMIT CHANGES", column("NOPE"), "nope FROM o EMIT CHANGES"},
		{"second statement", "SELECT 1 FROM a; SELECT nope FROM b", column("NOPE"), "nope FROM b"},
		{"PARTITION BY", "SELECT * FROM o PARTITION BY ärger EMIT CHANGES", column("ÄRGER"), "ärger EMIT CHANGES"},
		{"a later TiDB parse (PARTITION BY) leaves the SELECT's positions alone", "INSERT INTO k SELECT s.a->b FROM s JOIN t ON s.id = t.id PARTITION BY s.a",
			func(st Statement) ast.Node { return onTerm(st, 0) }, "s.id = t.id PARTITION BY s.a"},
		{"balanced AND chain", "SELECT * FROM o WHERE a=1 AND b=2 AND c=3 AND d=4 AND nope=5", column("NOPE"), "nope=5"},
		{"substituted: none", "SELECT nope FROM o", column("NOPE"), ""},
		{"comma join: no sources placed", "SELECT * FROM a, b",
			func(st Statement) ast.Node { return queryOf(st).Select.From.TableRefs.Left }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := ParseWith(tc.text, Options{Substituted: strings.HasPrefix(tc.name, "substituted")})
			if err != nil {
				t.Fatal(err)
			}
			st := stmts[len(stmts)-1]
			n := tc.node(st)
			q := queryOf(st)
			if tc.want == "" {
				if n != nil && q.Pos(n) != 0 {
					t.Fatalf("position %d (%q), want none", q.Pos(n), textAt(tc.text, q.Pos(n)))
				}
				return
			}
			if n == nil {
				t.Fatal("node not found")
			}
			if got := textAt(tc.text, q.Pos(n)); got != strings.SplitN(tc.want, "\n", 2)[0] {
				t.Fatalf("position %d is at %q, want %q", q.Pos(n), got, tc.want)
			}
		})
	}
}

// queryOf is a statement's query.
func queryOf(st Statement) *Query {
	switch st := st.(type) {
	case *Select:
		return st.Query
	case *CreateSource:
		return st.Query
	case *Insert:
		return st.Query
	case *Declare:
		return st.Query
	case *Copy:
		return st.Query
	case *Explain:
		if st.Statement != nil {
			return queryOf(st.Statement)
		}
	}
	return nil
}

// andTerms are the terms of e's top-level AND chain.
func andTerms(e ast.ExprNode) []ast.ExprNode {
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		return andTerms(x.Expr)
	case *ast.BinaryOperationExpr:
		if x.Op.String() == "and" {
			return append(andTerms(x.L), andTerms(x.R)...)
		}
	}
	return []ast.ExprNode{e}
}

// TestCharIndex checks the conversion from byte offsets to characters
// against counting runes, across its marks, in texts of one-, two-,
// three- and four-byte characters.
func TestCharIndex(t *testing.T) {
	for _, text := range []string{
		"", "plain ascii " + strings.Repeat("x", 200),
		strings.Repeat("é☃𝄞a", 70),
		"a" + strings.Repeat("☃", 100) + "b",
	} {
		c := &charIndex{src: text}
		for off := 0; off <= len(text); off++ {
			if off < len(text) && !utf8.RuneStart(text[off]) {
				continue // inside a character: no token starts there
			}
			if got, want := c.pos(off), utf8.RuneCountInString(text[:off])+1; got != want {
				t.Fatalf("%.20q: pos(%d) = %d, want %d", text, off, got, want)
			}
		}
	}
}
