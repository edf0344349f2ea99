package expr

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

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
			ov(types.String, func(a []types.Value) (types.Value, error) {
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
				return str(jsonText(doc)), nil
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
		fn("JSON_KEYS", "JSON", "The keys of a JSON object, sorted; NULL when the string is not a JSON object.",
			ov(types.Array(types.String), func(a []types.Value) (types.Value, error) {
				doc, ok := decodeJSON(a[0].Str())
				m, isObj := doc.(map[string]any)
				if !ok || !isObj {
					return null, nil
				}
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				sortStrings(keys)
				out := make([]types.Value, len(keys))
				for i, k := range keys {
					out[i] = str(k)
				}
				return types.NewArray(out), nil
			}, pString)),
		&Function{Name: "TO_JSON_STRING", Category: "JSON", nullCall: true,
			Description: "The value rendered as JSON text (NULL as null).",
			customSigs:  []string{"TO_JSON_STRING(ANY) -> STRING"},
			custom: func(b *Binder, args []Expr) ([]Expr, types.Type, impl, error) {
				if len(args) != 1 {
					return nil, types.Type{}, nil, errorf(ErrUnknownFunction, "TO_JSON_STRING takes one argument, not %d", len(args))
				}
				b.settle(args[0])
				t := args[0].Type()
				return args, types.String, func(a []types.Value) (types.Value, error) {
					return str(jsonText(toJSON(a[0], t))), nil
				}, nil
			}},
	)
}

// toJSON converts a value of type t to encoding/json's model.
func toJSON(v types.Value, t types.Type) any {
	switch v.Kind() {
	case types.KindNull:
		return nil
	case types.KindBoolean:
		return v.Bool()
	case types.KindInt, types.KindBigint:
		return v.Int()
	case types.KindDouble:
		return v.Float()
	case types.KindDecimal:
		u, s := v.Decimal()
		return json.Number(types.FormatDecimal(u, s))
	case types.KindArray:
		et := types.Null
		if t.Elem != nil {
			et = *t.Elem
		}
		out := make([]any, len(v.List()))
		for i, e := range v.List() {
			out[i] = toJSON(e, et)
		}
		return out
	case types.KindStruct:
		m := make(map[string]any, len(v.List()))
		for i, e := range v.List() {
			if i < len(t.Fields) {
				m[t.Fields[i].Name] = toJSON(e, t.Fields[i].Type)
			}
		}
		return m
	case types.KindMap:
		et := types.Null
		if t.Elem != nil {
			et = *t.Elem
		}
		m := make(map[string]any, v.MapLen())
		for i := 0; i < v.MapLen(); i++ {
			k, e := v.MapEntry(i)
			m[types.Format(k, valueType(k))] = toJSON(e, et)
		}
		return m
	}
	return types.Format(v, t)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
