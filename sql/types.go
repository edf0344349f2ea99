package sql

import (
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
