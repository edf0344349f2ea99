package sql

import (
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// ParseType parses a type in ksqlDB's syntax: BOOLEAN, INT|INTEGER,
// BIGINT, DOUBLE, DECIMAL(p, s), VARCHAR|STRING (a VARCHAR(n) length is
// accepted and ignored), BYTES, TIMESTAMP, DATE, TIME, ARRAY<T>,
// MAP<K, V> and STRUCT<name T, ...>, nested freely and case-insensitive.
// STRUCT field names follow the identifier rule: upper-cased unless
// quoted. It reads everything types.Type.String renders.
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

var simpleTypes = map[string]types.Type{
	"BOOLEAN":   types.Boolean,
	"INT":       types.Int,
	"INTEGER":   types.Int,
	"BIGINT":    types.Bigint,
	"DOUBLE":    types.Double,
	"STRING":    types.String,
	"VARCHAR":   types.String,
	"BYTES":     types.Bytes,
	"TIMESTAMP": types.Timestamp,
	"DATE":      types.Date,
	"TIME":      types.Time,
}

// maxTypeDepth bounds nesting so hostile input cannot exhaust the stack.
const maxTypeDepth = 64

// typ parses one type at the cursor.
func (p *parser) typ() (types.Type, error) { return p.typDepth(0) }

func (p *parser) typDepth(depth int) (types.Type, error) {
	t := p.peek()
	if depth > maxTypeDepth {
		return types.Type{}, errAt(t.pos, "type nested too deeply")
	}
	if t.kind != tkIdent {
		return types.Type{}, p.unexpected("a type")
	}
	word := t.name()
	if st, ok := simpleTypes[word]; ok {
		p.next()
		if word == "VARCHAR" && p.acceptOp("(") {
			if _, err := p.integer("a length"); err != nil {
				return types.Type{}, err
			}
			if err := p.expectOp(")"); err != nil {
				return types.Type{}, err
			}
		}
		return st, nil
	}
	switch word {
	case "DECIMAL":
		p.next()
		if err := p.expectOp("("); err != nil {
			return types.Type{}, err
		}
		precTok := p.peek()
		prec, err := p.integer("a precision")
		if err != nil {
			return types.Type{}, err
		}
		var scale int64
		scaleTok := p.peek()
		if p.acceptOp(",") {
			scaleTok = p.peek()
			if scale, err = p.integer("a scale"); err != nil {
				return types.Type{}, err
			}
		}
		if err := p.expectOp(")"); err != nil {
			return types.Type{}, err
		}
		if prec < 1 || prec > 1000 {
			return types.Type{}, errAt(precTok.pos, "DECIMAL precision must be between 1 and 1000, got %d", prec)
		}
		if scale > prec {
			return types.Type{}, errAt(scaleTok.pos, "DECIMAL scale %d exceeds precision %d", scale, prec)
		}
		return types.Decimal(int(prec), int(scale)), nil
	case "ARRAY":
		p.next()
		if err := p.expectOp("<"); err != nil {
			return types.Type{}, err
		}
		elem, err := p.typDepth(depth + 1)
		if err != nil {
			return types.Type{}, err
		}
		if err := p.expectOp(">"); err != nil {
			return types.Type{}, err
		}
		return types.Array(elem), nil
	case "MAP":
		p.next()
		if err := p.expectOp("<"); err != nil {
			return types.Type{}, err
		}
		key, err := p.typDepth(depth + 1)
		if err != nil {
			return types.Type{}, err
		}
		if err := p.expectOp(","); err != nil {
			return types.Type{}, err
		}
		val, err := p.typDepth(depth + 1)
		if err != nil {
			return types.Type{}, err
		}
		if err := p.expectOp(">"); err != nil {
			return types.Type{}, err
		}
		return types.Map(key, val), nil
	case "STRUCT":
		p.next()
		if p.acceptOp("<>") {
			return types.Struct(), nil
		}
		if err := p.expectOp("<"); err != nil {
			return types.Type{}, err
		}
		var fields []types.Field
		if p.acceptOp(">") {
			return types.Struct(), nil
		}
		seen := map[string]bool{}
		for {
			nt := p.peek()
			name, err := p.name("a field name")
			if err != nil {
				return types.Type{}, err
			}
			if seen[name] {
				return types.Type{}, errAt(nt.pos, "duplicate field %s in STRUCT", name)
			}
			seen[name] = true
			ft, err := p.typDepth(depth + 1)
			if err != nil {
				return types.Type{}, err
			}
			fields = append(fields, types.Field{Name: name, Type: ft})
			if p.acceptOp(",") {
				continue
			}
			if err := p.expectOp(">"); err != nil {
				return types.Type{}, err
			}
			return types.Struct(fields...), nil
		}
	}
	return types.Type{}, errAt(t.pos, "unknown type %s", t.describe())
}

// castType parses the type of a PostgreSQL cast (x::type): every type
// ParseType reads, and PostgreSQL's names for the same types, which
// clients write in casts (TEXT, INT4, INT8, FLOAT8, DOUBLE PRECISION,
// NUMERIC(p, s), BOOL, BYTEA, CHARACTER VARYING, TIMESTAMPTZ, TIMESTAMP
// WITH[OUT] TIME ZONE, ...). Only casts take these names: a column's
// type keeps ksqlDB's syntax.
func (p *parser) castType() (types.Type, error) {
	t := p.peek()
	if t.kind != tkIdent {
		return p.typ()
	}
	// optLength skips an optional (n), as in CHAR(1) or BIT(8).
	optLength := func() error {
		if !p.acceptOp("(") {
			return nil
		}
		if _, err := p.integer("a length"); err != nil {
			return err
		}
		return p.expectOp(")")
	}
	switch strings.ToUpper(t.text) {
	case "TEXT", "NAME", "BPCHAR":
		p.next()
		return types.String, nil
	case "CHAR", "CHARACTER":
		p.next()
		p.accept("VARYING")
		return types.String, optLength()
	case "INT4", "INT2", "SMALLINT":
		p.next()
		return types.Int, nil
	case "INT8":
		p.next()
		return types.Bigint, nil
	case "FLOAT", "FLOAT4", "FLOAT8", "REAL":
		p.next()
		return types.Double, optLength()
	case "DOUBLE":
		p.next()
		p.accept("PRECISION")
		return types.Double, nil
	case "BOOL":
		p.next()
		return types.Boolean, nil
	case "BYTEA":
		p.next()
		return types.Bytes, nil
	case "TIMESTAMPTZ":
		p.next()
		return types.Timestamp, nil
	case "NUMERIC":
		if !p.peekN(1).isOp("(") {
			return types.Type{}, errAt(t.pos, "NUMERIC needs a precision here: write NUMERIC(p, s) or DECIMAL(p, s)")
		}
		// NUMERIC(p, s) reads as DECIMAL(p, s).
		p.toks[p.i].text = "DECIMAL"
		return p.typ()
	case "TIMESTAMP", "TIME":
		typ, err := p.typ()
		if err != nil {
			return typ, err
		}
		if (p.peek().is("WITH") || p.peek().is("WITHOUT")) && p.peekN(1).is("TIME") && p.peekN(2).is("ZONE") {
			p.i += 3
		}
		return typ, nil
	}
	return p.typ()
}
