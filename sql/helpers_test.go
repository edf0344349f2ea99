package sql

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// restore renders a TiDB node back to SQL, compactly, so tests can assert
// the shape of whole expressions.
func restore(t *testing.T, n ast.Node) string {
	t.Helper()
	var b strings.Builder
	ctx := format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreKeyWordUppercase|format.RestoreNameBackQuotes, &b)
	if err := n.Restore(ctx); err != nil {
		t.Fatalf("restore: %v", err)
	}
	return b.String()
}

// parseOne parses text that must hold exactly one statement.
func parseOne(t *testing.T, text string) Statement {
	t.Helper()
	stmts, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	if len(stmts) != 1 {
		t.Fatalf("Parse(%q): %d statements, want 1", text, len(stmts))
	}
	return stmts[0]
}

// parseQuery parses a SELECT statement and returns its query.
func parseQuery(t *testing.T, text string) *Query {
	t.Helper()
	st := parseOne(t, text)
	sel, ok := st.(*Select)
	if !ok {
		t.Fatalf("Parse(%q): %T, want *Select", text, st)
	}
	return sel.Query
}
