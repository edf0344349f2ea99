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
type delimitedCodec struct {
	cols  []types.Column
	delim byte
}

var _ codec = (*delimitedCodec)(nil)

func newDelimitedCodec(cols []types.Column, props Props) (*delimitedCodec, error) {
	if len(cols) == 0 {
		return nil, errorf(ErrUnsupported, "format DELIMITED needs at least one column")
	}
	if props.WrapSingleValue == WrapOn {
		return nil, errorf(ErrUnsupported, "format DELIMITED does not support WRAP_SINGLE_VALUE=true")
	}
	delim, err := parseDelimiter(props.ValueDelimiter)
	if err != nil {
		return nil, err
	}
	for _, col := range cols {
		switch col.Type.Kind {
		case types.KindArray, types.KindMap, types.KindStruct, types.KindNull:
			return nil, errorf(ErrUnsupported, "format DELIMITED does not support type %s (column %s)", col.Type, col.Name)
		}
	}
	return &delimitedCodec{cols: cols, delim: delim}, nil
}

// parseDelimiter reads VALUE_DELIMITER: one character, or a name.
func parseDelimiter(s string) (byte, error) {
	switch strings.ToUpper(s) {
	case "":
		return ',', nil
	case "TAB":
		return '\t', nil
	case "SPACE":
		return ' ', nil
	case "COMMA":
		return ',', nil
	}
	if len(s) != 1 {
		return 0, errorf(ErrInvalidProps, "VALUE_DELIMITER must be one character or TAB or SPACE, not %q", s)
	}
	switch c := s[0]; {
	case c == '"' || c == '\r' || c == '\n':
		return 0, errorf(ErrInvalidProps, "VALUE_DELIMITER cannot be %q", s)
	case c >= utf8.RuneSelf:
		return 0, errorf(ErrInvalidProps, "VALUE_DELIMITER must be an ASCII character, not %q", s)
	}
	return s[0], nil
}

func (c *delimitedCodec) encode(dst []byte, row types.Row, what string) ([]byte, bool, error) {
	for i := range c.cols {
		if i > 0 {
			dst = append(dst, c.delim)
		}
		v := row[i]
		if v.IsNull() {
			continue
		}
		t := &c.cols[i].Type
		var err error
		switch t.Kind {
		case types.KindBoolean:
			var b bool
			if b, err = boolPayload(t, v); err == nil {
				dst = strconv.AppendBool(dst, b)
			}
		case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
			var n int64
			if n, err = intPayload(t, v); err == nil {
				dst = c.appendField(dst, strconv.AppendInt(nil, n, 10))
			}
		case types.KindDouble:
			var f float64
			if f, err = floatPayload(t, v); err == nil {
				var tmp [32]byte
				dst = c.appendField(dst, types.AppendDouble(tmp[:0], f))
			}
		case types.KindDecimal:
			un, sc, e := decimalPayload(t, v)
			if err = e; err == nil {
				dst = c.appendField(dst, types.AppendDecimal(nil, un, sc))
			}
		case types.KindString:
			var s string
			if s, err = strPayload(t, v); err == nil {
				dst = c.appendString(dst, s)
			}
		case types.KindBytes:
			var s string
			if s, err = strPayload(t, v); err == nil {
				dst = c.appendField(dst, base64.StdEncoding.AppendEncode(nil, []byte(s)))
			}
		default:
			err = failf("type %s is not supported", t)
		}
		if err != nil {
			return dst, false, encodeErr(what, c.cols[i].Name, err)
		}
	}
	return dst, false, nil
}

// appendField appends a non-string field's text, quoted only if it is
// empty (empty BYTES, which must differ from NULL) or the delimiter
// occurs in it (a '.' or '-' delimiter, say).
func (c *delimitedCodec) appendField(dst, text []byte) []byte {
	if len(text) == 0 {
		return append(dst, '"', '"')
	}
	for _, b := range text {
		if b == c.delim {
			return c.appendString(dst, string(text))
		}
	}
	return append(dst, text...)
}

// appendString appends a string field, quoted (with "" for a quote) when
// it is empty (so that it differs from NULL), contains the delimiter, a
// quote, CR or LF, or starts or ends with a space or control character
// (which CSV readers may trim), as Commons CSV's minimal quoting does.
func (c *delimitedCodec) appendString(dst []byte, s string) []byte {
	quote := s == "" || s[0] <= ' ' || s[len(s)-1] <= ' '
	for i := 0; !quote && i < len(s); i++ {
		switch s[i] {
		case c.delim, '"', '\r', '\n':
			quote = true
		}
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for {
		j := strings.IndexByte(s, '"')
		if j < 0 {
			break
		}
		dst = append(dst, s[:j+1]...)
		dst = append(dst, '"')
		s = s[j+1:]
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

func (c *delimitedCodec) decode(b []byte, what string) (types.Row, error) {
	fields, quoted, err := splitDelimited(b, c.delim)
	if err != nil {
		return nil, errorf(ErrDecode, "%s: %v", what, err)
	}
	if len(fields) != len(c.cols) {
		return nil, errorf(ErrDecode, "%s: %d delimited fields for %d columns", what, len(fields), len(c.cols))
	}
	row := make(types.Row, len(c.cols))
	for i, f := range fields {
		// An empty field is NULL, as in ksqlDB; a quoted empty field is
		// the empty string.
		if f == "" && !quoted[i] {
			continue
		}
		t := &c.cols[i].Type
		v, err := textValue(t, f)
		if err != nil {
			return nil, decodeErr(what, c.cols[i].Name, err)
		}
		row[i] = v
	}
	return row, nil
}

// splitDelimited splits one delimited record into its fields, undoing
// quoting; a quote inside an unquoted field is literal, as Commons CSV
// (ksqlDB's parser) reads it. One trailing line break is allowed; anything after it is an
// error rather than a second record silently dropped.
func splitDelimited(b []byte, delim byte) (fields []string, quoted []bool, err error) {
	i := 0
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
					return nil, nil, failf("unterminated quoted field")
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
			fields, quoted = append(fields, string(sb)), append(quoted, true)
			if i < len(b) && b[i] != delim && b[i] != '\r' && b[i] != '\n' {
				return nil, nil, failf("unexpected %q after a quoted field at offset %d", b[i], i)
			}
		} else {
			j := i
			for j < len(b) && b[j] != delim && b[j] != '\r' && b[j] != '\n' {
				j++
			}
			fields, quoted = append(fields, string(b[i:j])), append(quoted, false)
			i = j
		}
		if i >= len(b) {
			break
		}
		if b[i] == delim {
			i++
			continue
		}
		// A line break ends the record.
		if b[i] == '\r' {
			i++
		}
		if i < len(b) && b[i] == '\n' {
			i++
		}
		if i != len(b) {
			return nil, nil, failf("more than one record (a line break at offset %d)", i-1)
		}
		break
	}
	for _, f := range fields {
		if !utf8.ValidString(f) {
			return nil, nil, failf("invalid UTF-8")
		}
	}
	return fields, quoted, nil
}
