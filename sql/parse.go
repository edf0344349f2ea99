package sql

import (
	"strconv"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// Options are what a caller tells Parse beyond the text. The zero value
// is Parse's.
type Options struct {
	// Types resolves a custom type's name (CREATE TYPE), canonical as
	// the parser reads names, to its type; nil (the default) knows none,
	// so that a name that is no built-in type is a syntax error.
	Types func(name string) (types.Type, bool)
	// Substituted says the text's session variables were substituted
	// already (see Substitute): a ${name} left is then a syntax error
	// rather than an Unsubstituted statement. Such a text is not what
	// the client sent, so its nodes carry no positions (Pos is 0): set
	// it too for any text the server composes or parses again. Default
	// false.
	Substituted bool
}

// Parse parses text, one or more statements separated by ';', into the
// statements of Runnel's dialect. A ';' inside a string, a quoted
// identifier or a comment does not separate; empty statements are
// dropped. Each statement's Text is its own source, from its first token
// to its last (surrounding comments and the ';' excluded). A statement
// that references session variables (${name}) is returned unparsed, as
// an *Unsubstituted (see Substitute).
//
// Every error is a *SyntaxError whose Pos is the 1-based character offset
// into text. Parse is safe for concurrent use.
func Parse(text string) ([]Statement, error) { return ParseWith(text, Options{}) }

// ParseWith is Parse with options.
func ParseWith(text string, opts Options) ([]Statement, error) {
	toks, err := lex(text)
	if err != nil {
		return nil, toSyntaxError(text, err)
	}
	var stmts []Statement
	start := 0
	// One character index for the whole text: positions are into it,
	// and its cost is paid once however many statements it holds.
	var chars *charIndex
	if !opts.Substituted {
		chars = &charIndex{src: text}
	}
	for i, t := range toks {
		if !t.isOp(";") && t.kind != tkEOF {
			continue
		}
		if i > start {
			if !opts.Substituted && hasVariable(toks[start:i], text) {
				stmts = append(stmts, &Unsubstituted{text: text[toks[start].pos:toks[i-1].end]})
				start = i + 1
				continue
			}
			part := make([]token, i-start, i-start+1)
			copy(part, toks[start:i])
			part = append(part, token{kind: tkEOF, pos: t.pos, end: t.pos})
			p := &parser{src: text, toks: part, opts: &opts, pos: newPositions(chars)}
			st, err := p.statement()
			if err != nil {
				return nil, toSyntaxError(text, err)
			}
			stmts = append(stmts, st)
		}
		start = i + 1
	}
	return stmts, nil
}

// parser is a cursor over the tokens of one statement (ending in tkEOF).
type parser struct {
	src  string
	toks []token
	i    int
	// allowSetOpr lets the statement's query be a UNION (see
	// Query.SetOpr): only a plain SELECT statement may be one.
	allowSetOpr bool
	// opts are Parse's options; nil for the zero Options.
	opts *Options
	// top is the statement's parser, when this one parses a part of it
	// (a cast's type): custom types are resolved and recorded there.
	top *parser
	// typeRefs are the custom type names the statement used
	// (customtypes.go).
	typeRefs []typeRef
	// pos are the statement's positions (positions.go); nil when the
	// text is not the client's (Options.Substituted). Set on the root.
	pos *Positions
}

// positions are the statement's positions, nil for none.
func (p *parser) positions() *Positions { return p.root().pos }

func (p *parser) peek() token { return p.toks[p.i] }

// peekN looks n tokens ahead; past the end it returns the tkEOF token.
func (p *parser) peekN(n int) token {
	if p.i+n >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.i+n]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

// accept consumes the keyword kw if it is next.
func (p *parser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.i++
		return true
	}
	return false
}

// acceptOp consumes the operator op if it is next.
func (p *parser) acceptOp(op string) bool {
	if p.peek().isOp(op) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(kw string) error {
	if !p.accept(kw) {
		return p.unexpected(kw)
	}
	return nil
}

func (p *parser) expectOp(op string) error {
	if !p.acceptOp(op) {
		return p.unexpected("'" + op + "'")
	}
	return nil
}

// unexpected is the error for the next token when want was expected.
func (p *parser) unexpected(want string) error {
	t := p.peek()
	return errAt(t.pos, "expected %s, found %s", want, t.describe())
}

// expectEnd fails unless the statement is fully consumed.
func (p *parser) expectEnd() error {
	if t := p.peek(); t.kind != tkEOF {
		return errAt(t.pos, "unexpected %s", t.describe())
	}
	return nil
}

// name consumes an identifier and returns its canonical form.
func (p *parser) name(what string) (string, error) {
	t := p.peek()
	if !t.isName() {
		return "", p.unexpected(what)
	}
	p.i++
	return t.name(), nil
}

// integer consumes a non-negative integer literal.
func (p *parser) integer(what string) (int64, error) {
	t := p.peek()
	if t.kind != tkNumber {
		return 0, p.unexpected(what)
	}
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return 0, errAt(t.pos, "expected %s, found %s", what, t.describe())
	}
	p.i++
	return n, nil
}

// textFrom is the source text from token index from to the last consumed
// token.
func (p *parser) textFrom(from int) string {
	last := p.i - 1
	if last < from {
		return ""
	}
	return p.src[p.toks[from].pos:p.toks[last].end]
}

// statement parses one whole statement.
func (p *parser) statement() (Statement, error) {
	st, err := p.statementPrefix()
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	return st, nil
}

// statementPrefix parses a statement starting at the cursor; statements
// that end in a query consume every remaining token.
func (p *parser) statementPrefix() (Statement, error) {
	t := p.peek()
	switch {
	case t.is("SELECT"):
		p.allowSetOpr = p.i == 0
		q, err := p.query()
		if err != nil {
			return nil, err
		}
		return &Select{Query: q}, nil
	case t.is("CREATE"):
		return p.create()
	case t.is("INSERT"):
		return p.insert()
	case t.is("SHOW"), t.is("LIST"):
		return p.show()
	case t.is("DESCRIBE"):
		return p.describe()
	case t.is("DROP"):
		return p.drop()
	case t.is("TERMINATE"):
		return p.terminate()
	case t.is("SET"):
		return p.set()
	case t.is("UNSET"):
		return p.unset()
	case t.is("PRINT"):
		return p.print()
	case t.is("EXPLAIN"):
		return p.explain()
	case t.is("RESET"):
		return p.reset()
	case t.is("BEGIN"), t.is("START"), t.is("COMMIT"), t.is("END"), t.is("ROLLBACK"), t.is("ABORT"),
		t.is("SAVEPOINT"), t.is("RELEASE"):
		return p.transaction()
	case t.is("DECLARE"):
		return p.declare()
	case t.is("FETCH"), t.is("MOVE"):
		return p.fetch()
	case t.is("CLOSE"):
		return p.closeCursor()
	case t.is("COPY"):
		return p.copyStmt()
	case t.is("DEFINE"):
		return p.define()
	case t.is("UNDEFINE"):
		return p.undefine()
	case t.is("ASSERT"):
		return p.assert()
	case t.is("PAUSE"), t.is("RESUME"):
		return p.pauseResume()
	case t.is("ALTER"):
		return p.alter()
	case t.is("RUN") && p.peekN(1).is("SCRIPT"):
		return p.runScript()
	}
	if t.kind == tkVariable {
		return nil, errAt(t.pos, "variable %s is not defined: DEFINE %s = '...' first", t.val, t.val)
	}
	return nil, errAt(t.pos, "unknown statement %s: expected SELECT, CREATE, INSERT, SHOW, LIST, DESCRIBE, DROP, TERMINATE, PAUSE, RESUME, ALTER, SET, UNSET, PRINT, EXPLAIN, DEFINE, UNDEFINE, ASSERT, "+
		"a transaction statement (BEGIN, COMMIT, ROLLBACK, SAVEPOINT), a cursor statement (DECLARE, FETCH, MOVE, CLOSE) or COPY", t.describe())
}

// hasVariable reports whether a statement's tokens reference a session
// variable: a ${name} token, or ${ inside a string (ksqlDB substitutes
// there too).
func hasVariable(toks []token, src string) bool {
	for _, t := range toks {
		switch t.kind {
		case tkVariable:
			return true
		case tkString, tkQIdent:
			if strings.Contains(t.text, "${") {
				return true
			}
		}
	}
	return false
}
