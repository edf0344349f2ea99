package expr

import (
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// jnode is a JSON document as ksqlDB's JSON functions see it (Jackson's
// JsonNode with exact decimals): objects keep their keys' order (a later
// duplicate key replaces the earlier value in its place), numbers keep
// their exact value.
type jnode struct {
	kind byte   // 'o' object, 'a' array, 's' string, 'n' number, 't' true, 'f' false, 'z' null
	text string // a string's value, a number's text
	keys []string
	vals []*jnode // an object's values (parallel to keys) or an array's items
}

// errNotJSON is what parseJSONTree returns for text that is not one JSON
// value.
var errNotJSON = errors.New("not JSON")

// parseJSONTree parses s, which must hold exactly one JSON value (blank
// text around it aside). It builds the tree with an explicit stack, so
// deep nesting costs heap, in proportion to s, not goroutine stack.
func parseJSONTree(s string) (*jnode, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var root *jnode
	var stack []*jnode
	var pendingKey []string // per open object: the key read, awaiting its value
	add := func(n *jnode) {
		if len(stack) == 0 {
			root = n
			return
		}
		top := stack[len(stack)-1]
		if top.kind == 'a' {
			top.vals = append(top.vals, n)
			return
		}
		k := pendingKey[len(pendingKey)-1]
		for i, have := range top.keys {
			if have == k {
				top.vals[i] = n
				return
			}
		}
		top.keys, top.vals = append(top.keys, k), append(top.vals, n)
	}
	expectKey := func() bool {
		return len(stack) > 0 && stack[len(stack)-1].kind == 'o' && pendingKey[len(pendingKey)-1] == "\x00"
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errNotJSON
		}
		if expectKey() {
			if k, ok := tok.(string); ok {
				pendingKey[len(pendingKey)-1] = k
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				n := &jnode{kind: 'o'}
				if t == '[' {
					n.kind = 'a'
				}
				add(n)
				stack = append(stack, n)
				pendingKey = append(pendingKey, "\x00")
				continue
			default:
				stack, pendingKey = stack[:len(stack)-1], pendingKey[:len(pendingKey)-1]
			}
		case string:
			add(&jnode{kind: 's', text: t})
		case json.Number:
			add(&jnode{kind: 'n', text: string(t)})
		case bool:
			if t {
				add(&jnode{kind: 't'})
			} else {
				add(&jnode{kind: 'f'})
			}
		case nil:
			add(&jnode{kind: 'z'})
		}
		if len(stack) > 0 && stack[len(stack)-1].kind == 'o' {
			pendingKey[len(pendingKey)-1] = "\x00"
		}
		if len(stack) == 0 && root != nil {
			// One value: anything after it but blanks is not JSON.
			if _, err := d.Token(); err != io.EOF {
				return nil, errNotJSON
			}
			return root, nil
		}
	}
	return nil, errNotJSON
}

// writeJSON writes n as compact JSON, as Jackson does: strings escaped
// for " \ and control characters only, numbers exact; plain writes a
// decimal in plain notation (ksqlDB's JSON mapper, WRITE_BIGDECIMAL_AS_PLAIN),
// otherwise as BigDecimal.toString does (JsonNode.toString: 1E+2).
func (n *jnode) writeJSON(w *builder, plain bool) {
	type frame struct {
		n *jnode
		i int
	}
	stack := []frame{{n: n}}
	for len(stack) > 0 && w.err == nil {
		f := &stack[len(stack)-1]
		switch f.n.kind {
		case 'o', 'a':
			open, close := byte('['), byte(']')
			if f.n.kind == 'o' {
				open, close = '{', '}'
			}
			if f.i == 0 {
				w.byte1(open)
			}
			if f.i == len(f.n.vals) {
				w.byte1(close)
				stack = stack[:len(stack)-1]
				continue
			}
			if f.i > 0 {
				w.byte1(',')
			}
			if f.n.kind == 'o' {
				jacksonString(w, f.n.keys[f.i])
				w.byte1(':')
			}
			child := f.n.vals[f.i]
			f.i++
			stack = append(stack, frame{n: child})
		default:
			f.n.writeScalar(w, plain)
			stack = stack[:len(stack)-1]
		}
	}
}

func (n *jnode) writeScalar(w *builder, plain bool) {
	switch n.kind {
	case 's':
		jacksonString(w, n.text)
	case 'n':
		w.WriteString(jacksonNumber(n.text, plain))
	case 't':
		w.WriteString("true")
	case 'f':
		w.WriteString("false")
	default:
		w.WriteString("null")
	}
}

// writeText writes n as ksqlDB's JSON_RECORDS renders a value: a string
// as itself, anything else as its JSON (JsonNode.toString).
func (n *jnode) writeText(w *builder) {
	if n.kind == 's' {
		w.WriteString(n.text)
		return
	}
	n.writeJSON(w, false)
}

// maxJSONExponent bounds the exponent of a number a JSON function
// rewrites in plain notation: 1e999999999 would be a gigabyte of zeros.
const maxJSONExponent = 1 << 16

// jacksonNumber renders the JSON number text t as Jackson writes the
// number it reads with exact decimals: an integer as its digits ("-0" is
// 0), a decimal as BigDecimal (plain: toPlainString, else toString).
func jacksonNumber(t string, plain bool) string {
	if !strings.ContainsAny(t, ".eE") {
		if t == "-0" {
			return "0"
		}
		return t
	}
	mant, exp := t, int64(0)
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		mant = t[:i]
		e, err := strconv.ParseInt(t[i+1:], 10, 64)
		if err != nil || e > maxJSONExponent || e < -maxJSONExponent {
			return t
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	u, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return t
	}
	scale := int32(int64(len(frac)) - exp) // |exp| <= maxJSONExponent: no overflow
	if plain {
		return string(types.AppendDecimal(nil, u, scale))
	}
	return bigDecimalString(u, scale)
}

// bigDecimalString is Java's BigDecimal.toString: plain when the scale is
// not negative and the adjusted exponent is at least -6, else scientific
// (1E+2, 1.5E-7).
func bigDecimalString(u *big.Int, scale int32) string {
	digits := new(big.Int).Abs(u).String()
	adjusted := -int64(scale) + int64(len(digits)-1)
	if scale >= 0 && adjusted >= -6 {
		return string(types.AppendDecimal(nil, u, scale))
	}
	var b strings.Builder
	if u.Sign() < 0 {
		b.WriteByte('-')
	}
	b.WriteString(digits[:1])
	if len(digits) > 1 {
		b.WriteByte('.')
		b.WriteString(digits[1:])
	}
	b.WriteByte('E')
	if adjusted >= 0 {
		b.WriteByte('+')
	}
	b.WriteString(strconv.FormatInt(adjusted, 10))
	return b.String()
}

// jacksonString writes s as a JSON string as Jackson escapes it: " and \
// with a backslash, control characters as \n, \t, ... or \u00XX.
func jacksonString(w *builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	w.byte1('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			w.byte1('\\')
			w.byte1(c)
		case '\n':
			w.WriteString(`\n`)
		case '\t':
			w.WriteString(`\t`)
		case '\r':
			w.WriteString(`\r`)
		case '\b':
			w.WriteString(`\b`)
		case '\f':
			w.WriteString(`\f`)
		default:
			w.WriteString(`\u00`)
			w.byte1(hexDigits[c>>4])
			w.byte1(hexDigits[c&15])
		}
		start = i + 1
	}
	w.WriteString(s[start:])
	w.byte1('"')
}
