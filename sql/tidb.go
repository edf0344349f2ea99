package sql

import (
	"fmt"
	"sync"

	tidbparser "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	// The driver gives TiDB's literals a concrete type (ast.ValueExpr).
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// sqlMode makes TiDB read SQL the standard way: "x" is an identifier, ||
// concatenates, and a backslash in a string is just a backslash.
const sqlMode = mysql.ModeANSIQuotes | mysql.ModePipesAsConcat | mysql.ModeNoBackslashEscapes

// parsers pools TiDB parsers: one is not safe for concurrent use and is
// costly to build.
var parsers = sync.Pool{New: func() any {
	p := tidbparser.New()
	p.SetSQLMode(sqlMode)
	return p
}}

// tidbParse parses rewritten text as exactly one TiDB statement. Errors
// are positioned in the original text through r's map.
func tidbParse(r *rewritten) (stmt ast.StmtNode, err error) {
	p := parsers.Get().(*tidbparser.Parser)
	defer func() {
		// TiDB's parser is generated code over arbitrary input: never let
		// a bug there take the server down, and never reuse a parser that
		// panicked.
		if v := recover(); v != nil {
			stmt, err = nil, errAt(r.endPos, "cannot parse statement: %v", v)
			return
		}
		parsers.Put(p)
	}()
	stmts, _, perr := p.ParseSQL(r.text)
	if perr != nil {
		msg := perr.Error()
		off, ok := tidbErrorOffset(r.text, msg)
		if !ok {
			return nil, errAt(r.endPos, "%s", msg)
		}
		orig := r.origOffset(off)
		return nil, errAt(orig, "%s", r.describeAt(orig))
	}
	if len(stmts) != 1 {
		return nil, errAt(r.endPos, "expected one statement, found %d", len(stmts))
	}
	// Balance AND/OR chains and bound the depth before anyone else walks
	// the tree (see limits.go).
	out, err := checkShape(stmts[0], r.startPos(), r.place)
	if err != nil {
		return nil, err
	}
	return out.(ast.StmtNode), nil
}

// startPos is the original offset of the rewritten text's first piece.
func (r *rewritten) startPos() int {
	for _, s := range r.segs {
		if s.origLen > 0 {
			return s.orig
		}
	}
	if len(r.segs) > 0 {
		return r.segs[0].orig
	}
	return r.endPos
}

// describeAt is the message for a TiDB syntax error at original offset
// off. It quotes the user's text, never the rewritten one.
func (r *rewritten) describeAt(off int) string {
	if off >= r.endPos || off >= len(r.src) {
		return "syntax error at end of input"
	}
	return fmt.Sprintf("syntax error at or near %q", nearText(r.src[off:]))
}

// nearText cuts s to its first token-ish word for an error message.
func nearText(s string) string {
	n := 0
	for i, c := range s {
		if c == ' ' || c == '\n' || c == '\t' || c == ',' || c == ')' || c == '(' {
			if i == 0 {
				return s[:1]
			}
			return s[:i]
		}
		n = i
		if n > 40 {
			return s[:i] + "..."
		}
	}
	return s
}
