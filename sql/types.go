package sql

import (
	"errors"

	"github.com/runnel/runnel/sql/types"
)

// ParseType parses a type in ksqlDB's syntax with sql/types' one type
// parser (types.Parse documents the grammar): BOOLEAN, INT|INTEGER,
// BIGINT, DOUBLE, DECIMAL(p, s), VARCHAR|STRING (a parameter, as in
// VARCHAR(255) or VARCHAR(STRING), is accepted and ignored, as ksqlDB
// ignores it), BYTES, TIMESTAMP, DATE, TIME, ARRAY<T>, MAP<K, V> and
// STRUCT<name T, ...>, nested freely and case-insensitive. It reads
// everything types.Type.String renders.
//
// Errors are *SyntaxError positioned in s.
func ParseType(s string) (types.Type, error) {
	toks, err := lex(s)
	if err != nil {
		return types.Type{}, toSyntaxError(s, err)
	}
	p := &parser{src: s, toks: toks}
	t, err := p.typ()
	if err == nil {
		err = p.expectEnd()
	}
	if err != nil {
		return types.Type{}, toSyntaxError(s, err)
	}
	return t, nil
}

// typ parses one type at the cursor, in ksqlDB's syntax.
func (p *parser) typ() (types.Type, error) {
	if t, ok, err := p.customType(); ok || err != nil {
		return t, err
	}
	return p.typeAt(types.ParseOptions{})
}

// castType parses the type of a PostgreSQL cast (x::type): every type
// ParseType reads, and PostgreSQL's names for the same types, which
// clients write in casts (TEXT, INT4, INT8, FLOAT8, DOUBLE PRECISION,
// NUMERIC(p, s), BOOL, BYTEA, CHARACTER VARYING, TIMESTAMPTZ, TIMESTAMP
// WITH[OUT] TIME ZONE, ...). Only casts take these names: a column's
// type keeps ksqlDB's syntax.
// A custom type (CREATE TYPE) is read as in CAST(x AS T).
func (p *parser) castType() (types.Type, error) {
	if t, ok, err := p.customType(); ok || err != nil {
		return t, err
	}
	return p.typeAt(types.ParseOptions{Postgres: true})
}

// typeAt hands the text from the cursor's token to the end of the
// statement to types.ParsePrefix and moves the cursor past the tokens
// the type used. The type parser reads only as far as the type goes.
func (p *parser) typeAt(opts types.ParseOptions) (types.Type, error) {
	start := p.peek().pos
	end := p.toks[len(p.toks)-1].pos // the statement's tkEOF
	typ, n, err := types.ParsePrefix(p.src[start:end], opts)
	if err != nil {
		var pe *types.ParseError
		if errors.As(err, &pe) {
			return types.Type{}, errAt(start+pe.Offset, "%s", pe.Msg)
		}
		return types.Type{}, err
	}
	for p.peek().kind != tkEOF && p.peek().pos < start+n {
		p.next()
	}
	return typ, nil
}

// column parses a column's name and type, refusing a name seen already
// (seen notes it), as a column list and ALTER ... ADD both do.
func (p *parser) column(seen map[string]bool) (string, types.Type, error) {
	nt := p.peek()
	name, err := p.name("a column name")
	if err != nil {
		return "", types.Type{}, err
	}
	if seen[name] {
		return "", types.Type{}, errAt(nt.pos, "duplicate column %s", name)
	}
	seen[name] = true
	typ, err := p.typ()
	if err != nil {
		return "", types.Type{}, err
	}
	return name, typ, nil
}
