package expr

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/sql/types"
)

func decodeJSON(s string) (any, bool) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	if d.More() {
		return nil, false
	}
	return v, true
}

// jsonPath parses ksqlDB's JSON paths: $.a.b, $.a[0], $['a b'].
func jsonPath(p string) ([]any, bool) {
	p = strings.TrimSpace(p)
	if !strings.HasPrefix(p, "$") {
		return nil, false
	}
	p = p[1:]
	var steps []any
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			if end == 0 {
				return nil, false
			}
			steps = append(steps, p[:end])
			p = p[end:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, false
			}
			in := strings.TrimSpace(p[1:end])
			p = p[end+1:]
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				steps = append(steps, in[1:len(in)-1])
				continue
			}
			i, err := strconv.Atoi(in)
			if err != nil {
				return nil, false
			}
			steps = append(steps, i)
		default:
			return nil, false
		}
	}
	return steps, true
}

func jsonText(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(buf.String(), "\n")
}

func init() {
	register(
		fn("EXTRACTJSONFIELD", "JSON", "The value at a JSON path ($.a.b[0]) in a JSON string: a string as itself, anything else as JSON text; NULL when absent or not JSON.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				doc, ok := decodeJSON(a[0].Str())
				if !ok {
					return null, nil
				}
				steps, ok := jsonPath(a[1].Str())
				if !ok {
					return null, errorf(ErrInvalidArgument, "EXTRACTJSONFIELD: invalid JSON path %q", a[1].Str())
				}
				for _, s := range steps {
					switch k := s.(type) {
					case string:
						m, ok := doc.(map[string]any)
						if !ok {
							return null, nil
						}
						if doc, ok = m[k]; !ok {
							return null, nil
						}
					case int:
						l, ok := doc.([]any)
						if !ok || k < 0 || k >= len(l) {
							return null, nil
						}
						doc = l[k]
					}
				}
				switch v := doc.(type) {
				case nil:
					return null, nil
				case string:
					return str(v), nil
				}
				// Re-encoding may grow the text (an invalid byte becomes
				// U+FFFD): bounded, but checked like any result.
				out := jsonText(doc)
				if err := c.checkString("EXTRACTJSONFIELD", int64(len(out))); err != nil {
					return null, err
				}
				return str(out), nil
			}, pString, pString)),
		// ksqlDB's IS_JSON_STRING is FALSE, not NULL, for a NULL input.
		&Function{Name: "IS_JSON_STRING", Category: "JSON", Description: "Whether a string is valid JSON (FALSE for NULL).", nullCall: true,
			overloads: []overload{ov(types.Boolean, func(a []types.Value) (types.Value, error) {
				if a[0].IsNull() {
					return boolV(false), nil
				}
				_, ok := decodeJSON(a[0].Str())
				return boolV(ok), nil
			}, pString)}},
		fn("JSON_ARRAY_LENGTH", "JSON", "The length of a JSON array; NULL when the string is not a JSON array.",
			ov(types.Int, func(a []types.Value) (types.Value, error) {
				doc, ok := decodeJSON(a[0].Str())
				l, isArr := doc.([]any)
				if !ok || !isArr {
					return null, nil
				}
				return intV(len(l)), nil
			}, pString)),
		fn("JSON_KEYS", "JSON", "The top-level keys of a JSON object, in the document's order; NULL when the string is not a JSON object.",
			ovL(types.Array(types.String), func(c *evalCtx, a []types.Value) (types.Value, error) {
				doc, err := parseJSONTree(a[0].Str())
				if err != nil || doc.kind != 'o' {
					return null, nil
				}
				var n int64
				for _, k := range doc.keys {
					n += int64(len(k))
				}
				if err := c.checkElems("JSON_KEYS", int64(len(doc.keys)), n); err != nil {
					return null, err
				}
				out := make([]types.Value, len(doc.keys))
				for i, k := range doc.keys {
					out[i] = str(k)
				}
				return types.NewArray(out), nil
			}, pString)),
		fn("JSON_RECORDS", "JSON", "The top-level entries of a JSON object as a MAP: a string value as itself, any other as its JSON; NULL when the string is not a JSON object.",
			ovL(types.Map(types.String, types.String), func(c *evalCtx, a []types.Value) (types.Value, error) {
				doc, err := parseJSONTree(a[0].Str())
				if err != nil || doc.kind != 'o' {
					return null, nil
				}
				// The rendered values are at most some times the input
				// (exponents written out): each is built under the limit.
				w := builder{max: c.maxBytes}
				ks, vs := make([]types.Value, len(doc.keys)), make([]types.Value, len(doc.keys))
				for i, k := range doc.keys {
					start := w.b.Len()
					doc.vals[i].writeText(&w)
					if w.err != nil {
						return null, c.tooLarge("JSON_RECORDS", math.MaxInt64)
					}
					ks[i], vs[i] = str(k), str(w.b.String()[start:])
				}
				if err := c.check("JSON_RECORDS", entriesSize(ks, vs)); err != nil {
					return null, err
				}
				return types.NewMap(ks, vs), nil
			}, pString)),
		fn("JSON_ITEMS", "JSON", "The items of a JSON array, each as its JSON text; NULL when the string is not a JSON array.",
			ovL(types.Array(types.String), func(c *evalCtx, a []types.Value) (types.Value, error) {
				doc, err := parseJSONTree(a[0].Str())
				if err != nil || doc.kind != 'a' {
					return null, nil
				}
				w := builder{max: c.maxBytes}
				out := make([]types.Value, len(doc.vals))
				for i, item := range doc.vals {
					start := w.b.Len()
					item.writeJSON(&w, false)
					if w.err != nil {
						return null, c.tooLarge("JSON_ITEMS", math.MaxInt64)
					}
					out[i] = str(w.b.String()[start:])
				}
				if err := c.check("JSON_ITEMS", types.NewArray(out).Size()); err != nil {
					return null, err
				}
				return types.NewArray(out), nil
			}, pString)),
		&Function{Name: "JSON_CONCAT", Category: "JSON", nullCall: true,
			Description: "Concatenates JSON values as PostgreSQL's || does: objects merge their top-level keys (the last wins), anything else concatenates as arrays (a non-array becomes a one-item array); NULL when any argument is NULL or not JSON.",
			overloads: []overload{ovVarL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				nodes := make([]*jnode, len(a))
				allObjects := true
				for i, v := range a {
					if v.IsNull() {
						return null, nil
					}
					doc, err := parseJSONTree(v.Str())
					if err != nil {
						return null, nil
					}
					nodes[i] = doc
					allObjects = allObjects && doc.kind == 'o'
				}
				out := nodes[0]
				if allObjects {
					merged := &jnode{kind: 'o'}
					index := map[string]int{}
					for _, n := range nodes {
						for i, k := range n.keys {
							if j, ok := index[k]; ok {
								merged.vals[j] = n.vals[i]
								continue
							}
							index[k] = len(merged.keys)
							merged.keys, merged.vals = append(merged.keys, k), append(merged.vals, n.vals[i])
						}
					}
					out = merged
				} else if len(nodes) > 1 {
					arr := &jnode{kind: 'a'}
					for _, n := range nodes {
						if n.kind == 'a' {
							arr.vals = append(arr.vals, n.vals...)
						} else {
							arr.vals = append(arr.vals, n)
						}
					}
					out = arr
				}
				w := builder{max: c.maxBytes - valueOverhead}
				out.writeJSON(&w, true)
				if w.err != nil {
					return null, c.tooLarge("JSON_CONCAT", math.MaxInt64)
				}
				return str(w.b.String()), nil
			}, pString, pString)}},
		&Function{Name: "JSON_ARRAY_CONTAINS", Category: "JSON", nullCall: true,
			Description: "Whether a JSON array holds a value among its top-level items (an INT or BIGINT matches an integer, a DOUBLE a number with a point or exponent, a STRING a string, a BOOLEAN true or false, NULL a null); FALSE when the string is not a JSON array.",
			customSigs:  []string{"JSON_ARRAY_CONTAINS(STRING, T) -> BOOLEAN"},
			custom: func(b *Binder, args []Expr) ([]Expr, types.Type, impl, error) {
				if len(args) != 2 {
					return nil, types.Type{}, nil, errorf(ErrUnknownFunction, "JSON_ARRAY_CONTAINS takes two arguments, not %d", len(args))
				}
				b.infer(args[0], types.String)
				b.settle(args[1])
				if k := args[0].Type().Kind; k != types.KindString && k != types.KindNull {
					return nil, types.Type{}, nil, errorf(ErrUnknownFunction, "function JSON_ARRAY_CONTAINS does not accept arguments (%s, %s); valid: JSON_ARRAY_CONTAINS(STRING, T) -> BOOLEAN", args[0].Type(), args[1].Type())
				}
				return args, types.Boolean, func(a []types.Value) (types.Value, error) {
					if a[0].IsNull() {
						return null, nil
					}
					doc, err := parseJSONTree(a[0].Str())
					if err != nil || doc.kind != 'a' {
						return boolV(false), nil
					}
					for _, item := range doc.vals {
						if jsonItemEquals(item, a[1]) {
							return boolV(true), nil
						}
					}
					return boolV(false), nil
				}, nil
			}},
		&Function{Name: "TO_JSON_STRING", Category: "JSON", nullCall: true,
			Description: "The value rendered as JSON text (NULL as null).",
			customSigs:  []string{"TO_JSON_STRING(ANY) -> STRING"},
			custom: func(b *Binder, args []Expr) ([]Expr, types.Type, impl, error) {
				if len(args) != 1 {
					return nil, types.Type{}, nil, errorf(ErrUnknownFunction, "TO_JSON_STRING takes one argument, not %d", len(args))
				}
				b.settle(args[0])
				t := args[0].Type()
				c := b.evalCtx()
				return args, types.String, func(a []types.Value) (types.Value, error) {
					w := builder{max: c.maxBytes - valueOverhead}
					if !appendJSON(&w, a[0], t) {
						// encoding/json's answer for NaN and ±Infinity,
						// which JSON cannot spell: nothing.
						return str(""), nil
					}
					if w.err != nil {
						return null, c.tooLarge("TO_JSON_STRING", math.MaxInt64)
					}
					return str(w.b.String()), nil
				}, nil
			}},
	)
}

// appendJSON writes v, of type t, as JSON text into w, as encoding/json
// writes the same value (compact, object keys sorted, no HTML escaping),
// but into a builder that stops at its limit instead of building the whole
// text first. It returns false for a DOUBLE that JSON cannot spell (NaN,
// ±Infinity).
func appendJSON(w *builder, v types.Value, t types.Type) bool {
	if w.err != nil {
		return true
	}
	switch v.Kind() {
	case types.KindNull:
		w.WriteString("null")
	case types.KindBoolean:
		w.WriteString(strconv.FormatBool(v.Bool()))
	case types.KindInt, types.KindBigint:
		w.WriteString(strconv.FormatInt(v.Int(), 10))
	case types.KindDouble:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		w.WriteString(jsonFloat(f))
	case types.KindDecimal:
		w.WriteString(string(types.AppendDecimalValue(nil, v)))
	case types.KindArray:
		et := types.Null
		if t.Elem != nil {
			et = *t.Elem
		}
		w.byte1('[')
		for i, e := range v.List() {
			if i > 0 {
				w.byte1(',')
			}
			if !appendJSON(w, e, et) {
				return false
			}
		}
		w.byte1(']')
	case types.KindStruct:
		// An object with the fields sorted by name, as a Go map would be.
		type field struct {
			name string
			v    types.Value
			t    types.Type
		}
		fields := make([]field, 0, len(v.List()))
		for i, e := range v.List() {
			if i < len(t.Fields) {
				fields = append(fields, field{t.Fields[i].Name, e, t.Fields[i].Type})
			}
		}
		sort.SliceStable(fields, func(a, b int) bool { return fields[a].name < fields[b].name })
		w.byte1('{')
		first := true
		for i, f := range fields {
			if i+1 < len(fields) && fields[i+1].name == f.name {
				continue // the later field of that name wins
			}
			if !first {
				w.byte1(',')
			}
			first = false
			jsonString(w, f.name)
			w.byte1(':')
			if !appendJSON(w, f.v, f.t) {
				return false
			}
		}
		w.byte1('}')
	case types.KindMap:
		et := types.Null
		if t.Elem != nil {
			et = *t.Elem
		}
		// Keys as text, sorted; of equal texts the last entry wins, as
		// assigning into a Go map would have it.
		type entry struct {
			key string
			i   int
		}
		entries := make([]entry, v.MapLen())
		for i := range entries {
			k, _ := v.MapEntry(i)
			entries[i] = entry{types.Format(k, valueType(k)), i}
		}
		sort.SliceStable(entries, func(a, b int) bool { return entries[a].key < entries[b].key })
		w.byte1('{')
		first := true
		for i, e := range entries {
			if i+1 < len(entries) && entries[i+1].key == e.key {
				continue // a later entry has the same key
			}
			if !first {
				w.byte1(',')
			}
			first = false
			jsonString(w, e.key)
			w.byte1(':')
			_, ev := v.MapEntry(e.i)
			if !appendJSON(w, ev, et) {
				return false
			}
		}
		w.byte1('}')
	default: // STRING, BYTES, TIMESTAMP, DATE, TIME: a JSON string of the text
		if v.Kind() == types.KindString {
			jsonString(w, v.Str())
		} else {
			jsonString(w, types.Format(v, t))
		}
	}
	return true
}

// jsonFloat formats f as encoding/json does.
func jsonFloat(f float64) string {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, f, format, -1, 64)
	if format == 'e' {
		// e-09 is e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

// jsonString writes s as a JSON string, escaped as encoding/json escapes
// without HTML escaping.
func jsonString(w *builder, s string) {
	w.byte1('"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			w.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				w.byte1('\\')
				w.byte1(c)
			case '\b':
				w.WriteString(`\b`)
			case '\f':
				w.WriteString(`\f`)
			case '\n':
				w.WriteString(`\n`)
			case '\r':
				w.WriteString(`\r`)
			case '\t':
				w.WriteString(`\t`)
			default:
				w.WriteString(`\u00`)
				w.byte1(hexDigits[c>>4])
				w.byte1(hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.WriteString(s[start:i])
			w.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			w.WriteString(s[start:i])
			w.WriteString(`\u202`)
			w.byte1(hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	w.WriteString(s[start:])
	w.byte1('"')
}

// jsonItemEquals is JSON_ARRAY_CONTAINS's match of one top-level item
// with a value: only like kinds match (ksqlDB compares an integer token
// with an INT or BIGINT, a decimal token with a DOUBLE, ...); arrays and
// objects never match.
func jsonItemEquals(item *jnode, v types.Value) bool {
	switch v.Kind() {
	case types.KindNull:
		return item.kind == 'z'
	case types.KindString:
		return item.kind == 's' && item.text == v.Str()
	case types.KindBoolean:
		return (item.kind == 't' && v.Bool()) || (item.kind == 'f' && !v.Bool())
	case types.KindInt, types.KindBigint:
		if item.kind != 'n' || strings.ContainsAny(item.text, ".eE") {
			return false
		}
		i, err := strconv.ParseInt(item.text, 10, 64)
		return err == nil && i == v.Int()
	case types.KindDouble:
		if item.kind != 'n' || !strings.ContainsAny(item.text, ".eE") {
			return false
		}
		f, err := strconv.ParseFloat(item.text, 64)
		return err == nil && f == v.Float()
	}
	return false
}
