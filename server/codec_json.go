package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/sql/types"
)

// appendJSON writes an ARRAY, MAP or STRUCT (or any value nested in one)
// as JSON text, the wire form of the json type. Numbers are JSON numbers
// (DOUBLE NaN and infinities are strings, as PostgreSQL's to_json writes
// them), temporal values and BYTES are strings in their text form, MAP
// keys are their text form, STRUCT fields are named by t (f1, f2, ... when
// t does not describe them).
func appendJSON(dst []byte, t types.Type, v types.Value) []byte {
	switch v.Kind() {
	case types.KindNull:
		return append(dst, "null"...)
	case types.KindBoolean:
		return strconv.AppendBool(dst, v.Bool())
	case types.KindInt, types.KindBigint:
		return strconv.AppendInt(dst, v.Int(), 10)
	case types.KindDouble:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			dst = append(dst, '"')
			dst = appendFloat(dst, f)
			return append(dst, '"')
		}
		return appendFloat(dst, f)
	case types.KindDecimal:
		return types.AppendDecimalValue(dst, v)
	case types.KindString:
		return appendJSONString(dst, v.Str())
	case types.KindBytes, types.KindTimestamp, types.KindDate, types.KindTime:
		b, _ := AppendText(nil, types.Type{Kind: v.Kind()}, v)
		return appendJSONString(dst, string(b))
	case types.KindArray:
		var et types.Type
		if t.Elem != nil {
			et = *t.Elem
		}
		dst = append(dst, '[')
		for i, e := range v.List() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, et, e)
		}
		return append(dst, ']')
	case types.KindMap:
		var et types.Type
		if t.Elem != nil {
			et = *t.Elem
		}
		dst = append(dst, '{')
		for i := range v.MapLen() {
			k, e := v.MapEntry(i)
			if i > 0 {
				dst = append(dst, ',')
			}
			kb, _ := AppendText(nil, types.Type{Kind: k.Kind()}, k)
			if k.IsNull() {
				kb = []byte("null")
			}
			dst = appendJSONString(dst, string(kb))
			dst = append(dst, ':')
			dst = appendJSON(dst, et, e)
		}
		return append(dst, '}')
	case types.KindStruct:
		dst = append(dst, '{')
		for i, f := range v.List() {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ft types.Type
			name := fmt.Sprintf("f%d", i+1)
			if i < len(t.Fields) {
				name, ft = t.Fields[i].Name, t.Fields[i].Type
			}
			dst = appendJSONString(dst, name)
			dst = append(dst, ':')
			dst = appendJSON(dst, ft, f)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

// appendJSONString writes s as a JSON string without HTML escaping.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// parseJSON reads JSON text as a value of type t, keeping the order of
// object members (a MAP's entries stay in the order the client wrote).
func parseJSON(t types.Type, src []byte) (types.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	v, err := jsonValue(dec, t)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err != nil {
		if errors.Is(err, ErrOutOfRange) || errors.Is(err, ErrInvalidText) {
			return types.Value{}, err
		}
		return types.Value{}, valueError(ErrInvalidText, "invalid input for type %s: %v", t, err)
	}
	return v, nil
}

func jsonValue(dec *json.Decoder, t types.Type) (types.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return types.Value{}, err
	}
	return jsonFromToken(dec, tok, t)
}

func jsonFromToken(dec *json.Decoder, tok json.Token, t types.Type) (types.Value, error) {
	if tok == nil {
		return types.NullValue, nil
	}
	switch x := tok.(type) {
	case json.Delim:
		switch {
		case x == '[' && t.Kind == types.KindArray:
			var elems []types.Value
			for dec.More() {
				e, err := jsonValue(dec, deref(t.Elem))
				if err != nil {
					return types.Value{}, err
				}
				elems = append(elems, e)
			}
			_, err := dec.Token()
			return types.NewArray(elems), err
		case x == '{' && t.Kind == types.KindMap:
			var keys, vals []types.Value
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return types.Value{}, err
				}
				k, err := ParseText(deref(t.Key), []byte(kt.(string)))
				if err != nil {
					return types.Value{}, err
				}
				e, err := jsonValue(dec, deref(t.Elem))
				if err != nil {
					return types.Value{}, err
				}
				keys, vals = append(keys, k), append(vals, e)
			}
			_, err := dec.Token()
			return types.NewMap(keys, vals), err
		case x == '{' && t.Kind == types.KindStruct:
			fields := make([]types.Value, len(t.Fields))
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return types.Value{}, err
				}
				name := kt.(string)
				i := t.FieldIndex(name)
				if i < 0 {
					for j, f := range t.Fields {
						if strings.EqualFold(f.Name, name) {
							i = j
							break
						}
					}
				}
				if i < 0 {
					return types.Value{}, fmt.Errorf("unknown field %q", name)
				}
				if fields[i], err = jsonValue(dec, t.Fields[i].Type); err != nil {
					return types.Value{}, err
				}
			}
			_, err := dec.Token()
			return types.NewStruct(fields), err
		}
		return types.Value{}, fmt.Errorf("unexpected %v for %s", x, t)
	case bool:
		if t.Kind == types.KindBoolean || t.Kind == types.KindNull {
			return types.NewBoolean(x), nil
		}
		if t.Kind == types.KindString {
			return types.NewString(strconv.FormatBool(x)), nil
		}
	case json.Number:
		switch t.Kind {
		case types.KindTimestamp, types.KindDate, types.KindTime:
			i, err := strconv.ParseInt(string(x), 10, 64)
			if err != nil {
				return types.Value{}, err
			}
			return coerceTemporal(t, i), nil
		case types.KindNull:
			return ParseText(types.Double, []byte(x))
		}
		return ParseText(t, []byte(x))
	case string:
		if t.Kind == types.KindArray || t.Kind == types.KindMap || t.Kind == types.KindStruct {
			break
		}
		return ParseText(t, []byte(x))
	}
	return types.Value{}, fmt.Errorf("unexpected %v for %s", tok, t)
}

func coerceTemporal(t types.Type, i int64) types.Value {
	switch t.Kind {
	case types.KindDate:
		return types.NewDate(i)
	case types.KindTime:
		return types.NewTime(i)
	}
	return types.NewTimestamp(i)
}

func deref(t *types.Type) types.Type {
	if t == nil {
		return types.Null
	}
	return *t
}
