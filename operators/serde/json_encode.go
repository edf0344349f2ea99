package serde

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/sql/types"
)

// jsonCodec is ksqlDB's JSON format: a row is an object whose field names
// are the column names as declared, or, unwrapped, the single column's
// bare value.
type jsonCodec struct {
	cols []types.Column
	wrap bool
	// row is the STRUCT of the columns: decoding a wrapped row is
	// decoding a struct.
	row types.Type
	// prefixes[i] is `"NAME":`, preceded by a comma after the first.
	prefixes [][]byte
	// foldUnique is set when no two column names are equal ignoring
	// case: a member name then matches at most one column (json_decode.go).
	foldUnique bool
	// lower is each column's name in ASCII lower case, as producers
	// usually write the members of upper-case columns, or "" when the
	// name is not ASCII or already lower case: a member spelled so
	// matches its column ignoring case without equalFold (json_decode.go).
	lower []string
	// quick is each column's name as json_decode.go's quickKey
	// compares it with the member at the column's position, without
	// reading the member out.
	quick []quickName
	// class is each column's kind as json_decode.go's quickColumn reads
	// it (classInt, classString or classOther), a byte per column
	// rather than a look into the column's Type.
	class []uint8
	// slow turns quickColumn off, so that tests can hold its results
	// against column's. Set by tests only.
	slow bool
}

var _ codec = (*jsonCodec)(nil)

func newJSONCodec(cols []types.Column, wrap bool) (*jsonCodec, error) {
	c := &jsonCodec{cols: cols, wrap: wrap}
	fields := make([]types.Field, len(cols))
	for i, col := range cols {
		if err := checkJSONType(&col.Type); err != nil {
			return nil, errorf(ErrUnsupported, "JSON column %s: %v", col.Name, err)
		}
		fields[i] = types.Field{Name: col.Name, Type: col.Type}
		var p []byte
		if i > 0 {
			p = append(p, ',')
		}
		p = appendJSONString(p, col.Name)
		c.prefixes = append(c.prefixes, append(p, ':'))
	}
	c.row = types.Struct(fields...)
	c.foldUnique = foldUnique(fields)
	c.lower = make([]string, len(fields))
	c.quick = make([]quickName, len(fields))
	c.class = make([]uint8, len(fields))
	for i, f := range fields {
		c.class[i] = quickClass(&f.Type)
		if l := strings.ToLower(f.Name); isASCIIString(f.Name) && l != f.Name {
			c.lower[i] = l
		}
		c.quick[i] = newQuickName(f.Name)
	}
	return c, nil
}

// plainKey reports whether s is non-empty printable ASCII without '"'
// or '\': written between quotes as it is, it is a JSON string of itself.
func plainKey(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

// checkJSONType rejects what JSON cannot carry: NULL-typed columns and,
// as ksqlDB does (its JSON serde's schema check), maps whose keys are not
// STRING: a JSON object's member names are strings, and a key of another
// type would come back from a round trip as text.
func checkJSONType(t *types.Type) error {
	switch t.Kind {
	case types.KindNull:
		return failf("type NULL")
	case types.KindArray:
		return checkJSONType(t.Elem)
	case types.KindMap:
		if t.Key.Kind != types.KindString {
			return failf("JSON only supports MAP types with STRING keys (not %s)", t.Key)
		}
		return checkJSONType(t.Elem)
	case types.KindStruct:
		for i := range t.Fields {
			if err := checkJSONType(&t.Fields[i].Type); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *jsonCodec) encode(dst []byte, row types.Row, what string) ([]byte, bool, error) {
	if !c.wrap {
		if row[0].IsNull() {
			return dst, true, nil
		}
		out, err := appendJSONValue(dst, &c.cols[0].Type, row[0])
		if err != nil {
			return dst, false, encodeErr(what, c.cols[0].Name, err)
		}
		return out, false, nil
	}
	dst = append(dst, '{')
	for i := range c.cols {
		dst = append(dst, c.prefixes[i]...)
		var err error
		dst, err = appendJSONValue(dst, &c.cols[i].Type, row[i])
		if err != nil {
			return dst, false, encodeErr(what, c.cols[i].Name, err)
		}
	}
	return append(dst, '}'), false, nil
}

// appendJSONValue appends v, of type t, as ksqlDB's JSON serializer
// writes it.
func appendJSONValue(dst []byte, t *types.Type, v types.Value) ([]byte, error) {
	if v.IsNull() {
		return append(dst, "null"...), nil
	}
	switch t.Kind {
	case types.KindBoolean:
		b, err := boolPayload(t, v)
		if err != nil {
			return dst, err
		}
		return strconv.AppendBool(dst, b), nil
	case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
		i, err := intPayload(t, v)
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, i, 10), nil
	case types.KindDouble:
		f, err := floatPayload(t, v)
		if err != nil {
			return dst, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// Jackson writes non-finite numbers as strings by default.
			dst = append(dst, '"')
			dst = types.AppendDouble(dst, f)
			return append(dst, '"'), nil
		}
		return types.AppendDouble(dst, f), nil
	case types.KindDecimal:
		// A DECIMAL that arithmetic left in an int64 is written without
		// the big.Int that decimalPayload would build for it (q1's price).
		if v.Kind() == types.KindDecimal {
			return types.AppendDecimalValue(dst, v), nil
		}
		d, s, err := decimalPayload(t, v)
		if err != nil {
			return dst, err
		}
		return types.AppendDecimal(dst, d, s), nil
	case types.KindString:
		s, err := strPayload(t, v)
		if err != nil {
			return dst, err
		}
		return appendJSONString(dst, s), nil
	case types.KindBytes:
		s, err := strPayload(t, v)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, []byte(s))
		return append(dst, '"'), nil
	case types.KindArray:
		if v.Kind() != types.KindArray {
			return dst, failf("a %s value where %s is declared", v.Kind(), t)
		}
		dst = append(dst, '[')
		for i, e := range v.List() {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSONValue(dst, t.Elem, e); err != nil {
				return dst, atPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return append(dst, ']'), nil
	case types.KindMap:
		if v.Kind() != types.KindMap {
			return dst, failf("a %s value where %s is declared", v.Kind(), t)
		}
		dst = append(dst, '{')
		for i := 0; i < v.MapLen(); i++ {
			k, e := v.MapEntry(i)
			if i > 0 {
				dst = append(dst, ',')
			}
			ks, err := mapKeyText(t.Key, k)
			if err != nil {
				return dst, err
			}
			dst = appendJSONString(dst, ks)
			dst = append(dst, ':')
			if dst, err = appendJSONValue(dst, t.Elem, e); err != nil {
				return dst, atPath(err, "["+strconv.Quote(ks)+"]")
			}
		}
		return append(dst, '}'), nil
	case types.KindStruct:
		if v.Kind() != types.KindStruct || len(v.List()) != len(t.Fields) {
			return dst, failf("a %s value where %s is declared", v.Kind(), t)
		}
		dst = append(dst, '{')
		for i, e := range v.List() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, t.Fields[i].Name)
			dst = append(dst, ':')
			var err error
			if dst, err = appendJSONValue(dst, &t.Fields[i].Type, e); err != nil {
				return dst, atPath(err, "."+t.Fields[i].Name)
			}
		}
		return append(dst, '}'), nil
	}
	return dst, failf("type %s is not supported", t)
}

// mapKeyText renders a MAP key as the JSON object key ksqlDB writes.
func mapKeyText(t *types.Type, k types.Value) (string, error) {
	if k.IsNull() {
		return "", failf("a NULL MAP key")
	}
	var b []byte
	var err error
	switch t.Kind {
	case types.KindString:
		return strPayload(t, k)
	case types.KindDouble:
		var f float64
		if f, err = floatPayload(t, k); err == nil {
			b = types.AppendDouble(nil, f)
		}
	default:
		b, err = appendJSONValue(nil, t, k)
	}
	return string(b), err
}

const hexDigits = "0123456789ABCDEF"

// jsonSafe[c] is true for ASCII bytes written as themselves in a string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string the way Jackson writes it:
// \" \\ \b \t \n \f \r, other control characters as \u00XX, everything
// else (non-ASCII included) as itself; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i = plainRunString(s, i); i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] { // never, after plainRun; kept for clarity
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
