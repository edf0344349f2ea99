package sql

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// Positions map the nodes of one parsed statement to where they start
// in the text given to Parse, as 1-based character positions:
// PostgreSQL's error position, the convention of SyntaxError.Pos. A later
// room that refuses a node says where it is with Query.Pos, and the
// server sends that as the ErrorResponse's position.
//
// TiDB's parser records where each expression starts in the text it
// parsed (ast.Node.OriginTextPosition, set as each expression is
// reduced). That text is the rewritten one (rewrite.go), so its offsets
// mean nothing to the user: the walk that checks a tree's shape right
// after TiDB parses it (limits.go) translates each through the rewrite's
// map and records it here. The positions are kept beside the tree, not
// written into it, because TiDB's pooled parser keeps pointers to the
// nodes of the trees it built and writes their offsets again when a later
// parse reuses its stack.
//
// A node TiDB gives no offset has no position (0): table sources, joins
// and select fields, and any node built after parsing. The query parser
// places the FROM clause's sources and joins itself, from its tokens
// (placeFrom). A synthetic piece of the rewritten text (RUNNEL_WITHIN(...),
// RUNNEL_FIELD(...)) is placed at the token that caused it: the WITHIN or
// FULL keyword, the '->' operator.
//
// Text parsed with Options.Substituted is not what the client sent (the
// text after variable substitution, a stored statement parsed again, a
// statement the server composed): its statements have no positions,
// since one into that text would point at the wrong place in the user's.
type Positions struct {
	chars *charIndex
	nodes map[ast.Node]int
}

// newPositions returns the positions of one statement of the text chars
// indexes; nil (no positions) when chars is nil.
func newPositions(chars *charIndex) *Positions {
	if chars == nil {
		return nil
	}
	return &Positions{chars: chars, nodes: map[ast.Node]int{}}
}

// Of returns where n starts, or 0 when that is not known. A nil
// Positions knows nothing.
func (p *Positions) Of(n ast.Node) int {
	if p == nil || n == nil {
		return 0
	}
	return p.nodes[n]
}

// set records that n starts at byte offset off of the text.
func (p *Positions) set(n ast.Node, off int) {
	if p != nil {
		p.nodes[n] = p.chars.pos(off)
	}
}

// charStep is the spacing, in bytes, of charIndex's counts.
const charStep = 64

// charIndex converts byte offsets of one text to 1-based character
// positions. Parse makes one per text, shared by the text's statements,
// so that the cost is linear in the text however many statements and
// nodes it has: an ASCII text needs nothing more, another gets a count
// every charStep bytes, built on first use, and each conversion then
// counts at most charStep bytes.
type charIndex struct {
	src   string
	built bool
	ascii bool
	// marks[i] is the number of characters that start in
	// src[:i*charStep].
	marks []int
}

// pos is the 1-based character position of byte offset off.
func (c *charIndex) pos(off int) int {
	off = min(max(off, 0), len(c.src))
	if !c.built {
		c.build()
	}
	if c.ascii {
		return off + 1
	}
	i := off / charStep
	return c.marks[i] + runeStarts(c.src[i*charStep:off]) + 1
}

func (c *charIndex) build() {
	c.built = true
	c.ascii = true
	for i := 0; i < len(c.src); i++ {
		if c.src[i] >= 0x80 {
			c.ascii = false
			break
		}
	}
	if c.ascii {
		return
	}
	c.marks = make([]int, len(c.src)/charStep+1)
	n := 0
	for i := range c.marks {
		c.marks[i] = n
		end := min((i+1)*charStep, len(c.src))
		if i*charStep < end {
			n += runeStarts(c.src[i*charStep : end])
		}
	}
}

// runeStarts counts the characters that start in s: its bytes that are
// not UTF-8 continuation bytes. Counting starts rather than decoding
// keeps a count exact when s begins or ends inside a character.
func runeStarts(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i]&0xC0 != 0x80 {
			n++
		}
	}
	return n
}

// place records where n starts, from its TiDB offset into r's text; an
// offset of 0 is none (no rewritten text has an expression at its first
// byte, which is always SELECT or INSERT).
func (r *rewritten) place(n ast.Node) {
	if raw := n.OriginTextPosition(); raw > 0 && r.pos != nil {
		r.pos.set(n, r.origOffset(raw))
	}
}

// fromPlaces finds in a query's kept tokens (the streaming clauses cut
// out) the FROM clause's sources and joins, in the order written: the
// name token of each source (after FROM and after each JOIN) and the
// first keyword of each join (INNER, LEFT, RIGHT, FULL, CROSS, NATURAL
// or JOIN itself). ok is false for a FROM clause it does not understand
// (a comma between sources, a parenthesized join, a subquery): then
// nothing is placed.
func fromPlaces(kept []token) (sources, joins []token, ok bool) {
	depth := 0
	from := -1
	for i, t := range kept {
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth == 0 && t.is("FROM") && (i == 0 || !kept[i-1].is("DISTINCT")):
			// IS [NOT] DISTINCT FROM is an operator, not the clause.
			from = i
		}
		if from >= 0 {
			break
		}
	}
	if from < 0 || from+1 >= len(kept) || !kept[from+1].isName() {
		return nil, nil, false
	}
	sources = append(sources, kept[from+1])
	for i := from + 2; i < len(kept); i++ {
		t := kept[i]
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
			continue
		case t.isOp(")") || t.isOp("]"):
			depth--
			continue
		}
		if depth != 0 {
			continue
		}
		next := token{}
		if i+1 < len(kept) {
			next = kept[i+1]
		}
		switch {
		case t.isOp(","):
			return nil, nil, false
		case t.is("WHERE"), t.is("HAVING"), t.is("LIMIT"),
			(t.is("GROUP") || t.is("ORDER")) && next.is("BY"):
			return sources, joins, true
		case t.is("JOIN"):
			if !next.isName() {
				return nil, nil, false
			}
			k := i
			for k > from+2 && isJoinWord(kept[k-1]) {
				k--
			}
			joins = append(joins, kept[k])
			sources = append(sources, next)
		}
	}
	return sources, joins, true
}

// isJoinWord reports whether t may come before JOIN as part of the join's
// type.
func isJoinWord(t token) bool {
	return t.is("INNER") || t.is("LEFT") || t.is("RIGHT") || t.is("FULL") || t.is("OUTER") ||
		t.is("CROSS") || t.is("NATURAL")
}

// placeFrom gives the FROM clause's table sources and joins the
// positions of the tokens fromPlaces found, when TiDB's tree has exactly
// those sources, by name, and those joins, in the same order; otherwise
// it places nothing, since a position on the wrong node is worse than
// none.
func placeFrom(sel *ast.SelectStmt, sources, joins []token, pos *Positions) {
	if pos == nil || sel.From == nil || sel.From.TableRefs == nil {
		return
	}
	var srcs []*ast.TableSource
	var js []*ast.Join
	var walk func(n ast.ResultSetNode) bool
	walk = func(n ast.ResultSetNode) bool {
		switch n := n.(type) {
		case *ast.Join:
			if !walk(n.Left) {
				return false
			}
			if n.Right == nil {
				return true
			}
			ts, ok := n.Right.(*ast.TableSource)
			if !ok || !walk(ts) {
				return false
			}
			js = append(js, n)
			return true
		case *ast.TableSource:
			tn, ok := n.Source.(*ast.TableName)
			if !ok {
				return false
			}
			i := len(srcs)
			if i >= len(sources) || tn.Schema.O != "" || tn.Name.O != sources[i].name() {
				return false
			}
			srcs = append(srcs, n)
			return true
		}
		return false
	}
	if !walk(sel.From.TableRefs) || len(srcs) != len(sources) || len(js) != len(joins) {
		return
	}
	for i, ts := range srcs {
		pos.set(ts, sources[i].pos)
	}
	for i, j := range js {
		pos.set(j, joins[i].pos)
	}
}
