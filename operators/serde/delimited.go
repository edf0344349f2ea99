package serde

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/sql/types"
)

// delimitedCodec is ksqlDB's DELIMITED format: one line of fields
// separated by a delimiter, CSV-style quoting, NULL as an empty field.
// It writes what ksqlDB's serializer writes (Commons CSV 1.4's default
// format, minimal quoting) and reads what its parser reads.
type delimitedCodec struct {
	cols []types.Column
	// delim is the delimiter's UTF-8 encoding: one character, which
	// need not be ASCII (ksqlDB takes any one Java char).
	delim string
	// nullKey is set for a key of one column: its NULL is no key (nil
	// bytes), as a record without a key is written again by ksqlDB and
	// as a single KAFKA or JSON key column's NULL is. (ksqlDB writes a
	// computed NULL there as an empty field; Runnel cannot tell the two
	// apart.)
	nullKey bool
}

var _ codec = (*delimitedCodec)(nil)

// newDelimitedCodec builds DELIMITED for cols; delimiter is the value of
// the property prop (VALUE_DELIMITER or KEY_DELIMITER), "" for ','.
func newDelimitedCodec(cols []types.Column, delimiter, prop string) (*delimitedCodec, error) {
	if len(cols) == 0 {
		return nil, errorf(ErrUnsupported, "format DELIMITED needs at least one column")
	}
	delim, err := parseDelimiter(delimiter, prop)
	if err != nil {
		return nil, err
	}
	for _, col := range cols {
		switch col.Type.Kind {
		case types.KindArray, types.KindMap, types.KindStruct, types.KindNull:
			return nil, errorf(ErrUnsupported, "The 'DELIMITED' format does not support type '%s', column: `%s`", col.Type.Kind, col.Name)
		}
	}
	return &delimitedCodec{cols: cols, delim: string(delim)}, nil
}

// parseDelimiter reads a delimiter property as ksqlDB's Delimiter.parse
// does: one character, or the names TAB and SPACE (in capitals). Blank
// values (a space or a tab typed as is) are refused, so that the names
// are used, and so is the quote character, which Commons CSV refuses.
// A character is one UTF-16 unit in Java: one outside the Basic
// Multilingual Plane is two, so it is refused too.
func parseDelimiter(s, prop string) (rune, error) {
	const example = "\nExample valid value: ';'"
	if s == "" {
		return ',', nil // unset (the planner refuses an empty value)
	}
	if strings.TrimFunc(s, func(r rune) bool { return r <= ' ' }) == "" {
		return 0, errorf(ErrInvalidProps, "Configuration %s is invalid: Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'"+example, prop)
	}
	switch s {
	case "TAB":
		return '\t', nil
	case "SPACE":
		return ' ', nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if size != len(s) || r == utf8.RuneError || r > 0xFFFF {
		return 0, errorf(ErrInvalidProps, "Configuration %s is invalid: Invalid delimiter value: '%s'. Delimiter must be a single character or TAB,SPACE"+example, prop, s)
	}
	if r == '"' {
		return 0, errorf(ErrInvalidProps, "Configuration %s is invalid: The quoteChar character and the delimiter cannot be the same ('\"')", prop)
	}
	return r, nil
}

func (c *delimitedCodec) encode(dst []byte, row types.Row, what string) ([]byte, bool, error) {
	if c.nullKey && row[0].IsNull() {
		return dst, true, nil
	}
	var tmp [64]byte
	for i := range c.cols {
		if i > 0 {
			dst = append(dst, c.delim...)
		}
		v := row[i]
		if v.IsNull() {
			continue // a NULL is an empty field, never quoted
		}
		t := &c.cols[i].Type
		var text []byte
		var err error
		switch t.Kind {
		case types.KindBoolean:
			var b bool
			if b, err = boolPayload(t, v); err == nil {
				text = strconv.AppendBool(tmp[:0], b)
			}
		case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
			var n int64
			if n, err = intPayload(t, v); err == nil {
				text = strconv.AppendInt(tmp[:0], n, 10)
			}
		case types.KindDouble:
			var f float64
			if f, err = floatPayload(t, v); err == nil {
				text = types.AppendDouble(tmp[:0], f)
			}
		case types.KindDecimal:
			un, sc, e := decimalPayload(t, v)
			if err = e; err == nil {
				text = types.AppendDecimal(tmp[:0], un, sc)
			}
		case types.KindString:
			var s string
			if s, err = strPayload(t, v); err == nil {
				dst = appendField(dst, s, i == 0, c.delim)
				continue
			}
		case types.KindBytes:
			var s string
			if s, err = strPayload(t, v); err == nil {
				text = base64.StdEncoding.AppendEncode(tmp[:0], []byte(s))
			}
		default:
			err = failf("type %s is not supported", t)
		}
		if err != nil {
			return dst, false, encodeErr(what, c.cols[i].Name, err)
		}
		dst = appendField(dst, text, i == 0, c.delim)
	}
	return dst, false, nil
}

// appendField appends one non-NULL field's text as Commons CSV 1.4
// prints it with minimal quoting, whatever the field's type (numbers
// included, so a negative number first on the line is quoted):
//   - an empty text is quoted only first on the line (elsewhere it is an
//     empty field, which reads back as NULL, as in ksqlDB);
//   - the first field is quoted unless it starts with an ASCII letter or
//     digit;
//   - any field is quoted if it starts with a character up to '#', holds
//     a CR, LF, quote or the delimiter, or ends with a space or control
//     character.
//
// Inside quotes, a quote is doubled.
//
// Numbers are appended as their text in a scratch buffer, strings as
// they are: appendField takes either without a copy.
func appendField[T string | []byte](dst []byte, s T, first bool, delim string) []byte {
	var quote bool
	switch {
	case len(s) == 0:
		quote = first
	case first && !isASCIIAlnum(s[0]):
		quote = true
	case s[0] <= '#':
		quote = true
	case s[len(s)-1] <= ' ':
		quote = true
	default:
		for i := 0; i < len(s) && !quote; i++ {
			switch b := s[i]; {
			case b == '\r' || b == '\n' || b == '"':
				quote = true
			case b == delim[0] && len(s)-i >= len(delim) && string(s[i:i+len(delim)]) == delim:
				quote = true
			}
		}
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, s[start:i+1]...)
			dst = append(dst, '"')
			start = i + 1
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func isASCIIAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z'
}

func (c *delimitedCodec) decode(b []byte, what string) (types.Row, error) {
	fields, err := splitDelimited(b, c.delim)
	if err != nil {
		return nil, errorf(ErrDecode, "%s: %v", what, err)
	}
	if len(fields) != len(c.cols) {
		return nil, errorf(ErrDecode, "%s: %d delimited fields for %d columns", what, len(fields), len(c.cols))
	}
	row := make(types.Row, len(c.cols))
	for i, f := range fields {
		// An empty field is NULL, quoted or not, as ksqlDB reads it.
		if f == "" {
			continue
		}
		t := &c.cols[i].Type
		if t.Kind == types.KindBoolean {
			// Java's Boolean.parseBoolean: "true" in any case, and
			// anything else is false.
			row[i] = types.NewBoolean(strings.EqualFold(f, "true"))
			continue
		}
		v, err := textValue(t, f)
		if err != nil {
			return nil, decodeErr(what, c.cols[i].Name, err)
		}
		row[i] = v
	}
	return row, nil
}

// splitDelimited splits the first delimited record of b into its fields,
// undoing quoting, as Commons CSV (ksqlDB's parser) reads it: empty lines
// before the record are skipped, a quote inside an unquoted field is
// literal, white space may follow a closing quote, and whatever follows
// the record's line break is ignored (ksqlDB reads the first record).
// Empty input is one empty field: a single NULL, as ksqlDB writes it
// (ksqlDB's own parser finds no record there and fails).
func splitDelimited(b []byte, delim string) (fields []string, err error) {
	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	d0 := delim[0]
	atDelim := func(i int) bool {
		return i < len(b) && b[i] == d0 && (len(delim) == 1 || string(b[i:min(i+len(delim), len(b))]) == delim)
	}
	for {
		if i < len(b) && b[i] == '"' {
			var sb []byte
			i++
			for {
				j := i
				for j < len(b) && b[j] != '"' {
					j++
				}
				if j >= len(b) {
					return nil, failf("unterminated quoted field")
				}
				sb = append(sb, b[i:j]...)
				if j+1 < len(b) && b[j+1] == '"' {
					sb = append(sb, '"')
					i = j + 2
					continue
				}
				i = j + 1
				break
			}
			for i < len(b) && !atDelim(i) && (b[i] == ' ' || b[i] == '\t') {
				i++
			}
			fields = append(fields, string(sb))
			if i < len(b) && !atDelim(i) && b[i] != '\r' && b[i] != '\n' {
				return nil, failf("unexpected %q after a quoted field at offset %d", b[i], i)
			}
		} else {
			j := i
			for j < len(b) && !atDelim(j) && b[j] != '\r' && b[j] != '\n' {
				j++
			}
			fields = append(fields, string(b[i:j]))
			i = j
		}
		if atDelim(i) {
			i += len(delim)
			continue
		}
		break // the end of the input, or a line break: the record ends
	}
	for _, f := range fields {
		if !utf8.ValidString(f) {
			return nil, failf("invalid UTF-8")
		}
	}
	return fields, nil
}
