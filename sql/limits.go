package sql

import (
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/runnel/runnel/internal/sqlstate"
)

// Limits on what one text may cost to parse. They are checked in the
// order the work is done, each before the work it protects:
//
//   - MaxTokens while lexing, before anything else holds the tokens;
//   - MaxIdentifierLength on each identifier as it is lexed;
//   - maxRewriteDepth (parentheses and brackets) while rewriting, the only
//     recursion before TiDB's parser;
//   - MaxExprDepth on TiDB's tree, by one walk that stops descending at
//     the limit, before the planner or a binder recurses over it.
//
// TiDB's parser is an LALR automaton with its own stack, but it then
// walks the tree it built recursively (ast.SetFlag) to the tree's full
// depth, before Runnel can look at it. That walk is what MaxTokens bounds:
// a tree cannot be deeper than its text has tokens.
const (
	// MaxTokens bounds the tokens (names, literals, operators and
	// punctuation) of one text given to Parse, all its statements
	// together: 1,000,000. It bounds parsing memory (a token costs some
	// hundreds of bytes through the lexer, the rewrite and TiDB's tree)
	// and the depth of TiDB's recursive walk (measured: 32 MiB of stack
	// at 500,000 levels). A 100,000-term `a = 1 OR a = 2 OR ...` is
	// 400,000 tokens, well inside it.
	MaxTokens = 1_000_000

	// MaxExprDepth bounds the nesting depth of a statement's syntax tree
	// after AND and OR chains are balanced (see balanceLogic): 1,000.
	// The binder, the planner's walks and every evaluation of a row
	// recurse once per level, so the depth is what costs stack on every
	// row. No hand-written expression comes near it; a chain like
	// 1 + 1 + ... of 20,000 terms, which is 20,000 levels deep (+ is not
	// associative for overflow, so it is not balanced), is refused.
	MaxExprDepth = 1000

	// MaxIdentifierLength bounds an identifier, quoted or not, in
	// characters: 249, Kafka's (and so ksqlDB's) limit on a topic name,
	// since a stream's name becomes its topic's name.
	MaxIdentifierLength = 249
)

// Sentinels of the limit errors. Parse returns them inside a *SyntaxError
// (positioned like any other) that errors.Is finds them through.
var (
	// ErrTooComplex: a text over MaxTokens or a statement over
	// MaxExprDepth or maxRewriteDepth. SQLSTATE 54001
	// (statement_too_complex), PostgreSQL's code for a statement its
	// parser refuses for its size or depth; 54000 would only say that
	// some limit was exceeded.
	ErrTooComplex = sqlstate.New(sqlstate.StatementTooComplex, "sql: statement too complex")
	// ErrNameTooLong: an identifier over MaxIdentifierLength. SQLSTATE
	// 42622 (name_too_long), PostgreSQL's code for this case; PostgreSQL
	// truncates identifiers to 63 bytes with a notice where it can, but
	// a name Runnel truncated would name another topic, so it refuses.
	ErrNameTooLong = sqlstate.New(sqlstate.NameTooLong, "sql: identifier too long")
)

// checkIdentifier refuses an identifier token longer than
// MaxIdentifierLength characters.
func checkIdentifier(t token) error {
	name := t.text
	if t.kind == tkQIdent {
		name = t.val
	}
	// A name of at most MaxIdentifierLength characters has at most four
	// times as many bytes: count runes only when it may be too long.
	if len(name) <= MaxIdentifierLength {
		return nil
	}
	if n := utf8.RuneCountInString(name); n > MaxIdentifierLength {
		return limitAt(ErrNameTooLong, t.pos, "identifier of %d characters is too long (the limit is %d, a Kafka topic name's): %.40s...", n, MaxIdentifierLength, name)
	}
	return nil
}

// limitAt is errAt for a limit error: positioned, with sentinel's code.
func limitAt(sentinel *sqlstate.Error, off int, format string, args ...any) error {
	e := errAt(off, format, args...).(*posError)
	e.sentinel = sentinel
	return e
}

// shapeChecker walks a TiDB tree once, right after parsing: it balances
// AND and OR chains (balanceLogic) and refuses a tree deeper than
// MaxExprDepth. It never descends past the limit, so the walk itself
// recurses at most MaxExprDepth levels.
type shapeChecker struct {
	depth int
	// parents are the nodes entered and not yet left: a chain is
	// balanced once, at its top, which is a logic node whose parent is
	// not the same operator.
	parents  []ast.Node
	tooDeep  bool
	maxDepth int
	// place records a node's position in the user's text, from its TiDB
	// offset.
	place func(ast.Node)
}

func (c *shapeChecker) Enter(n ast.Node) (ast.Node, bool) {
	if c.depth >= c.maxDepth {
		c.tooDeep = true
		return n, true
	}
	if b, ok := n.(*ast.BinaryOperationExpr); ok && isLogic(b.Op) {
		parentSame := false
		if len(c.parents) > 0 {
			if pb, ok := c.parents[len(c.parents)-1].(*ast.BinaryOperationExpr); ok && pb.Op == b.Op {
				parentSame = true
			}
		}
		if !parentSame {
			n = balanceLogic(b)
		}
	}
	c.place(n)
	c.depth++
	c.parents = append(c.parents, n)
	return n, false
}

func (c *shapeChecker) Leave(n ast.Node) (ast.Node, bool) {
	if len(c.parents) > 0 && c.parents[len(c.parents)-1] == n {
		c.depth--
		c.parents = c.parents[:len(c.parents)-1]
	}
	return n, true
}

func isLogic(op opcode.Op) bool { return op == opcode.LogicAnd || op == opcode.LogicOr }

// balanceLogic rebuilds the chain of one associative operator (AND or OR)
// rooted at top as a balanced tree over the same operands in the
// same order. TiDB builds `a OR b OR c` left-deep, one level per term;
// balanced, a chain of n terms is log2(n) levels deep, so every later
// recursive walk (the planner's, TiDB's Restore, the binder's) stays
// shallow. In-order operands are unchanged, so left-to-right evaluation
// and short-circuiting are too (the binder flattens the chain back into
// one n-ary node anyway). Explicit parentheses are kept: a
// ParenthesesExpr is an operand.
func balanceLogic(top *ast.BinaryOperationExpr) ast.ExprNode {
	// Collect the operands in order, iteratively: the chain may be as
	// long as the text.
	var operands []ast.ExprNode
	stack := []ast.ExprNode{top}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if b, ok := n.(*ast.BinaryOperationExpr); ok && b.Op == top.Op {
			stack = append(stack, b.R, b.L)
			continue
		}
		operands = append(operands, n)
	}
	if len(operands) <= 3 {
		return top // already as shallow as it gets
	}
	return buildBalanced(top.Op, operands)
}

// buildBalanced joins operands with op into a balanced tree. Its
// recursion is log2(len(operands)) deep.
func buildBalanced(op opcode.Op, operands []ast.ExprNode) ast.ExprNode {
	if len(operands) == 1 {
		return operands[0]
	}
	mid := len(operands) / 2
	l, r := buildBalanced(op, operands[:mid]), buildBalanced(op, operands[mid:])
	b := &ast.BinaryOperationExpr{Op: op, L: l, R: r}
	b.SetFlag(l.GetFlag() | r.GetFlag())
	// A chain starts where its first operand does: the walk places b by
	// this offset into TiDB's text when it enters it.
	b.SetOriginTextPosition(l.OriginTextPosition())
	return b
}

// checkShape balances and depth-checks a parsed statement in place, and
// offers each node to place, which records its position (positions.go).
// off positions the error.
func checkShape(stmt ast.Node, off int, place func(ast.Node)) (ast.Node, error) {
	c := &shapeChecker{maxDepth: MaxExprDepth, place: place}
	out, _ := stmt.Accept(c)
	if c.tooDeep {
		return nil, limitAt(ErrTooComplex, off, "statement is too complex: its expressions nest more than %d levels deep", MaxExprDepth)
	}
	return out, nil
}
