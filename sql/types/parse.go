package types

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/runnel/runnel/internal/sqlstate"
)

// This file is Runnel's one type-name parser. The statement parser (sql)
// calls it for column types, CAST(x AS T) and x::T, and the expression
// binder (sql/expr) for the canonical text the front end hands it; both
// read the same grammar, ksqlDB's:
//
//	type   := simple [ '(' param { ',' param } ')' ]   params are ignored, as ksqlDB ignores them
//	        | DECIMAL '(' precision [ ',' scale ] ')'   scale 0 when omitted
//	        | ARRAY '<' type '>'
//	        | MAP '<' type ',' type '>'
//	        | STRUCT '<' [ name type { ',' name type } ] '>'
//	simple := BOOLEAN | INT | INTEGER | BIGINT | DOUBLE | STRING | VARCHAR
//	        | BYTES | TIMESTAMP | DATE | TIME
//	param  := integer | STRING                         so VARCHAR(STRING) and VARCHAR(255) read as STRING
//
// Keywords are case-insensitive. A STRUCT field name follows ksqlDB's
// identifier rule: upper-cased unless quoted with "..." or `...` (a doubled
// quote stands for one). Whitespace and SQL comments may separate tokens.
//
// With Postgres set, the outermost type may also be spelled as PostgreSQL
// spells it in a cast (TEXT, INT4, INT8, FLOAT8, DOUBLE PRECISION, BOOL,
// BYTEA, NUMERIC(p, s), CHARACTER VARYING(n), TIMESTAMP WITH[OUT] TIME
// ZONE, ...): clients write those in x::type. Column types keep ksqlDB's
// names only.

// ErrTypeSyntax is the sentinel of every *ParseError: SQLSTATE 42601.
var ErrTypeSyntax = sqlstate.New(sqlstate.Syntax, "types: syntax error in a type")

// ParseError is a type that does not parse. Offset is the byte offset,
// into the text given to the parser, of the token at fault (its length
// when the text ended too early).
type ParseError struct {
	Offset int
	Msg    string
}

func (e *ParseError) Error() string { return e.Msg }

// SQLState is 42601, PostgreSQL's syntax_error.
func (e *ParseError) SQLState() string { return string(sqlstate.Syntax) }

// Is makes errors.Is(err, ErrTypeSyntax) hold.
func (e *ParseError) Is(target error) bool { return target == ErrTypeSyntax }

// MaxTypeDepth bounds the nesting of ARRAY, MAP and STRUCT in a type
// name: 64 levels, so that hostile text cannot exhaust the stack.
const MaxTypeDepth = 64

// maxDecimalPrecision is the largest DECIMAL precision a type may declare.
const maxDecimalPrecision = 1000

// ParseOptions choose the grammar's variant.
type ParseOptions struct {
	// Postgres also accepts PostgreSQL's names for the outermost type
	// (see above). Default false: ksqlDB's names only.
	Postgres bool
}

// Parse parses s, which must hold exactly one type in ksqlDB's syntax
// (surrounding whitespace aside). Errors are *ParseError.
func Parse(s string) (Type, error) {
	t, n, err := ParsePrefix(s, ParseOptions{})
	if err != nil {
		return Type{}, err
	}
	p := typeParser{s: s, pos: n}
	if tok := p.peek(); tok.kind != ttEOF {
		return Type{}, &ParseError{Offset: tok.pos, Msg: fmt.Sprintf("unexpected %s after the type", tok.describe())}
	}
	return t, nil
}

// ParsePrefix parses the type that starts s and returns it with the
// offset just past its last token; what follows is the caller's (a KEY
// keyword, a ')', the rest of a statement). It reads s only as far as the
// type goes, so parsing a type at the start of a long text costs the
// type's length. Errors are *ParseError.
func ParsePrefix(s string, opts ParseOptions) (Type, int, error) {
	p := typeParser{s: s}
	var t Type
	var err error
	if opts.Postgres {
		t, err = p.pgType()
	} else {
		t, err = p.typ(0)
	}
	if err != nil {
		return Type{}, 0, err
	}
	return t, p.end, nil
}

// ttKind is the class of a type token.
type ttKind uint8

const (
	ttEOF    ttKind = iota
	ttWord          // an unquoted word
	ttQuoted        // "name" or `name`; val is unescaped
	ttNumber        // digits
	ttString        // 'text', which no type contains: lexed to be described
	ttPunct         // one character: < > ( ) , or anything else
)

type ttoken struct {
	kind     ttKind
	text     string // source text
	val      string // unescaped name of a ttQuoted
	pos, end int
}

func (t ttoken) describe() string {
	if t.kind == ttEOF {
		return "end of input"
	}
	return strconv.Quote(t.text)
}

func (t ttoken) is(word string) bool { return t.kind == ttWord && strings.EqualFold(t.text, word) }

func (t ttoken) isPunct(c byte) bool { return t.kind == ttPunct && t.text[0] == c }

// typeParser lexes on demand: it never looks further than one token past
// what it has consumed.
type typeParser struct {
	s   string
	pos int // where the next token's lexing starts
	end int // offset past the last consumed token
}

func (p *typeParser) fail(t ttoken, format string, args ...any) error {
	return &ParseError{Offset: t.pos, Msg: fmt.Sprintf(format, args...)}
}

// peek lexes the next token without consuming it.
func (p *typeParser) peek() ttoken {
	s, i := p.s, p.pos
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			nl := strings.IndexByte(s[i:], '\n')
			if nl < 0 {
				i = len(s)
			} else {
				i += nl + 1
			}
			continue
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			e := strings.Index(s[i+2:], "*/")
			if e < 0 {
				i = len(s)
			} else {
				i += e + 4
			}
			continue
		}
		break
	}
	if i >= len(s) {
		return ttoken{kind: ttEOF, pos: len(s), end: len(s)}
	}
	c := s[i]
	switch {
	case c == '"' || c == '`' || c == '\'':
		var b strings.Builder
		j := i + 1
		for {
			k := strings.IndexByte(s[j:], c)
			if k < 0 {
				// Unterminated: the rest is one token, which no rule takes.
				return ttoken{kind: ttPunct, text: s[i:], pos: i, end: len(s)}
			}
			b.WriteString(s[j : j+k])
			j += k + 1
			if j < len(s) && s[j] == c {
				b.WriteByte(c)
				j++
				continue
			}
			break
		}
		kind := ttQuoted
		if c == '\'' {
			kind = ttString
		}
		return ttoken{kind: kind, text: s[i:j], val: b.String(), pos: i, end: j}
	case c >= '0' && c <= '9':
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		return ttoken{kind: ttNumber, text: s[i:j], pos: i, end: j}
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == '_' || unicode.IsLetter(r) {
		j := i + size
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
			if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			j += size
		}
		return ttoken{kind: ttWord, text: s[i:j], pos: i, end: j}
	}
	return ttoken{kind: ttPunct, text: s[i : i+size], pos: i, end: i + size}
}

func (p *typeParser) next() ttoken {
	t := p.peek()
	if t.kind != ttEOF {
		p.pos, p.end = t.end, t.end
	}
	return t
}

func (p *typeParser) accept(word string) bool {
	if p.peek().is(word) {
		p.next()
		return true
	}
	return false
}

func (p *typeParser) acceptPunct(c byte) bool {
	if p.peek().isPunct(c) {
		p.next()
		return true
	}
	return false
}

func (p *typeParser) expectPunct(c byte) error {
	if t := p.peek(); !t.isPunct(c) {
		return p.fail(t, "expected '%c', found %s", c, t.describe())
	}
	p.next()
	return nil
}

// integer consumes a non-negative integer.
func (p *typeParser) integer(what string) (int64, ttoken, error) {
	t := p.peek()
	if t.kind != ttNumber {
		return 0, t, p.fail(t, "expected %s, found %s", what, t.describe())
	}
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return 0, t, p.fail(t, "expected %s, found %s", what, t.describe())
	}
	p.next()
	return n, t, nil
}

var simpleTypes = map[string]Type{
	"BOOLEAN":   Boolean,
	"INT":       Int,
	"INTEGER":   Int,
	"BIGINT":    Bigint,
	"DOUBLE":    Double,
	"STRING":    String,
	"VARCHAR":   String,
	"BYTES":     Bytes,
	"TIMESTAMP": Timestamp,
	"DATE":      Date,
	"TIME":      Time,
}

// typ parses one type in ksqlDB's syntax.
func (p *typeParser) typ(depth int) (Type, error) {
	t := p.peek()
	if depth > MaxTypeDepth {
		return Type{}, p.fail(t, "type nested too deeply (the limit is %d levels)", MaxTypeDepth)
	}
	if t.kind != ttWord {
		return Type{}, p.fail(t, "expected a type, found %s", t.describe())
	}
	word := strings.ToUpper(t.text)
	if st, ok := simpleTypes[word]; ok {
		p.next()
		return st, p.typeParams()
	}
	switch word {
	case "DECIMAL":
		p.next()
		return p.decimal()
	case "ARRAY":
		p.next()
		if err := p.expectPunct('<'); err != nil {
			return Type{}, err
		}
		elem, err := p.typ(depth + 1)
		if err != nil {
			return Type{}, err
		}
		if err := p.expectPunct('>'); err != nil {
			return Type{}, err
		}
		return Array(elem), nil
	case "MAP":
		p.next()
		if err := p.expectPunct('<'); err != nil {
			return Type{}, err
		}
		key, err := p.typ(depth + 1)
		if err != nil {
			return Type{}, err
		}
		if err := p.expectPunct(','); err != nil {
			return Type{}, err
		}
		val, err := p.typ(depth + 1)
		if err != nil {
			return Type{}, err
		}
		if err := p.expectPunct('>'); err != nil {
			return Type{}, err
		}
		return Map(key, val), nil
	case "STRUCT":
		p.next()
		if err := p.expectPunct('<'); err != nil {
			return Type{}, err
		}
		if p.acceptPunct('>') {
			return Struct(), nil
		}
		var fields []Field
		seen := map[string]bool{}
		for {
			nt := p.peek()
			var name string
			switch nt.kind {
			case ttWord:
				name = strings.ToUpper(nt.text)
			case ttQuoted:
				if nt.val == "" {
					return Type{}, p.fail(nt, "a field name cannot be empty")
				}
				name = nt.val
			default:
				return Type{}, p.fail(nt, "expected a field name, found %s", nt.describe())
			}
			p.next()
			if seen[name] {
				// ksqlDB: "Duplicate field names found in STRUCT".
				return Type{}, p.fail(nt, "duplicate field %s in STRUCT", name)
			}
			seen[name] = true
			ft, err := p.typ(depth + 1)
			if err != nil {
				return Type{}, err
			}
			fields = append(fields, Field{Name: name, Type: ft})
			if p.acceptPunct(',') {
				continue
			}
			if err := p.expectPunct('>'); err != nil {
				return Type{}, err
			}
			return Struct(fields...), nil
		}
	}
	return Type{}, p.fail(t, "unknown type %s", t.describe())
}

// typeParams consumes the optional parameters of a simple type, which
// ksqlDB's grammar allows and ignores: VARCHAR(255), VARCHAR(STRING).
func (p *typeParser) typeParams() error {
	if !p.acceptPunct('(') {
		return nil
	}
	for {
		t := p.peek()
		if t.kind != ttNumber && !t.is("STRING") {
			return p.fail(t, "expected a length, found %s", t.describe())
		}
		p.next()
		if p.acceptPunct(',') {
			continue
		}
		return p.expectPunct(')')
	}
}

// decimal parses the (precision[, scale]) of DECIMAL.
func (p *typeParser) decimal() (Type, error) {
	if err := p.expectPunct('('); err != nil {
		return Type{}, err
	}
	prec, precTok, err := p.integer("a precision")
	if err != nil {
		return Type{}, err
	}
	var scale int64
	scaleTok := p.peek()
	if p.acceptPunct(',') {
		if scale, scaleTok, err = p.integer("a scale"); err != nil {
			return Type{}, err
		}
	}
	if err := p.expectPunct(')'); err != nil {
		return Type{}, err
	}
	if prec < 1 || prec > maxDecimalPrecision {
		return Type{}, p.fail(precTok, "DECIMAL precision must be between 1 and %d, got %d", maxDecimalPrecision, prec)
	}
	if scale > prec {
		return Type{}, p.fail(scaleTok, "DECIMAL scale %d exceeds precision %d", scale, prec)
	}
	return Decimal(int(prec), int(scale)), nil
}

// pgType parses the outermost type of a PostgreSQL cast: ksqlDB's names
// and PostgreSQL's.
func (p *typeParser) pgType() (Type, error) {
	t := p.peek()
	if t.kind != ttWord {
		return p.typ(0)
	}
	// optLength skips an optional (n), as in CHAR(1) or FLOAT(53).
	optLength := func() error {
		if !p.acceptPunct('(') {
			return nil
		}
		if _, _, err := p.integer("a length"); err != nil {
			return err
		}
		return p.expectPunct(')')
	}
	switch strings.ToUpper(t.text) {
	case "TEXT", "NAME", "BPCHAR":
		p.next()
		return String, nil
	case "CHAR", "CHARACTER":
		p.next()
		p.accept("VARYING")
		return String, optLength()
	case "INT4", "INT2", "SMALLINT":
		p.next()
		return Int, nil
	case "INT8":
		p.next()
		return Bigint, nil
	case "FLOAT", "FLOAT4", "FLOAT8", "REAL":
		p.next()
		return Double, optLength()
	case "DOUBLE":
		p.next()
		p.accept("PRECISION")
		return Double, nil
	case "BOOL":
		p.next()
		return Boolean, nil
	case "BYTEA":
		p.next()
		return Bytes, nil
	case "TIMESTAMPTZ":
		p.next()
		return Timestamp, nil
	case "NUMERIC":
		p.next()
		if !p.peek().isPunct('(') {
			return Type{}, p.fail(t, "NUMERIC needs a precision here: write NUMERIC(p, s) or DECIMAL(p, s)")
		}
		return p.decimal()
	case "TIMESTAMP", "TIME":
		typ, err := p.typ(0)
		if err != nil {
			return typ, err
		}
		if p.peek().is("WITH") || p.peek().is("WITHOUT") {
			save, saveEnd := p.pos, p.end
			p.next()
			if p.accept("TIME") && p.accept("ZONE") {
				return typ, nil
			}
			p.pos, p.end = save, saveEnd
		}
		return typ, nil
	}
	return p.typ(0)
}
