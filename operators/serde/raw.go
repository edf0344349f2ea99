package serde

import (
	"github.com/runnel/runnel/sql/types"
)

// Pass-through of unchanged JSON values.
//
// A query that copies a column from a JSON source to a JSON sink (Nexmark
// q0 copies five of a bid's seven) need not build the value and write it
// back: the text it read is the text it would write, whenever that text
// is already as the encoder writes it. RawDecoder hands out that text,
// only then; RawEncoder writes it verbatim.

// RawDecoder is DecodeRow that also returns, for chosen columns, their
// JSON text when it is canonical. Implemented by every Format built here;
// only a wrapped JSON value format ever returns any text.
type RawDecoder interface {
	// DecodeRowRaw decodes b into dst as DecodeRow does and sets raw[i],
	// for each column i that want marks, to the column's text in b when
	// AppendEncode of the decoded value, under the same column type,
	// writes exactly those bytes; to nil otherwise (the column absent, or
	// written in b another way: 1.0 for a BIGINT, "\u0041", a number for
	// a STRING). A column marked both in p.Skip and in want is built
	// only when its text is not canonical: dst then holds NULL where
	// raw holds text. raw's slices alias b. len(raw) and len(want) are
	// len(Columns()).
	DecodeRowRaw(b []byte, dst types.Row, p *Projection, want []bool, raw [][]byte) error
}

// RawEncoder is AppendEncode with some columns' text given.
type RawEncoder interface {
	// AppendEncodeRaw is AppendEncode, except that a column i whose
	// raw[i] is non-nil is written as raw[i], verbatim: text that a
	// RawDecoder returned for a column of the same type, with the value
	// unchanged. Formats other than a wrapped JSON ignore raw.
	AppendEncodeRaw(dst []byte, row types.Row, raw [][]byte) (out []byte, null bool, err error)
}

var (
	_ RawDecoder = (*format)(nil)
	_ RawEncoder = (*format)(nil)
)

// DecodeRowRaw implements RawDecoder.
func (f *format) DecodeRowRaw(b []byte, dst types.Row, p *Projection, want []bool, raw [][]byte) error {
	clear(raw)
	jc, ok := f.c.(*jsonCodec)
	if !ok || !jc.wrap || b == nil {
		return f.DecodeRow(b, dst, p)
	}
	if len(p.Index) != len(f.cols) || (p.Skip != nil && len(p.Skip) != len(f.cols)) || len(want) != len(f.cols) || len(raw) != len(f.cols) {
		return errorf(ErrDecode, "%s: a projection of %d columns for %d", f.what(), len(p.Index), len(f.cols))
	}
	null, err := jc.decodeIntoRaw(b, f.what(), dst, p, want, raw)
	if err != nil {
		return err
	}
	if null && !f.key {
		return errorf(ErrDecode, "value: a null record (empty, or JSON null) where a row was expected")
	}
	return nil
}

// AppendEncodeRaw implements RawEncoder.
func (f *format) AppendEncodeRaw(dst []byte, row types.Row, raw [][]byte) ([]byte, bool, error) {
	jc, ok := f.c.(*jsonCodec)
	if !ok || !jc.wrap || row == nil || len(row) != len(f.cols) {
		return f.AppendEncode(dst, row)
	}
	if len(raw) != len(f.cols) {
		// Never ignored: a column given as text may hold no value.
		return dst, false, errorf(ErrEncode, "%s: text for %d columns of %d", f.what(), len(raw), len(f.cols))
	}
	start := len(dst)
	dst = append(dst, '{')
	for i := range jc.cols {
		dst = append(dst, jc.prefixes[i]...)
		if raw[i] != nil {
			dst = append(dst, raw[i]...)
			continue
		}
		var err error
		if dst, err = appendJSONValue(dst, &jc.cols[i].Type, row[i]); err != nil {
			return dst[:start], false, encodeErr(f.what(), jc.cols[i].Name, err)
		}
	}
	return append(dst, '}'), false, nil
}

// canonicalJSON reports whether tok, the JSON text of a value that
// decoded without error as type t, is exactly what appendJSONValue
// writes for that value. It is conservative: false means only that the
// value must be written afresh.
func canonicalJSON(t *types.Type, tok []byte) bool {
	if string(tok) == "null" {
		return true
	}
	switch t.Kind {
	case types.KindBoolean:
		return string(tok) == "true" || string(tok) == "false"
	case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
		// strconv.AppendInt's form: an optional minus, then digits
		// without a leading zero (0 alone, never -0).
		d := tok
		if len(d) > 0 && d[0] == '-' {
			d = d[1:]
			if len(d) == 1 && d[0] == '0' {
				return false
			}
		}
		if len(d) == 0 || (d[0] == '0' && len(d) > 1) {
			return false
		}
		for _, c := range d {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	case types.KindString:
		// A JSON string whose escapes are those appendJSONString writes
		// for the characters they stand for. The decoder has refused
		// control characters and invalid UTF-8; appendJSONString writes
		// every other character as itself.
		if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
			return false
		}
		s := tok[1 : len(tok)-1]
		for i := 0; i < len(s); i++ {
			if s[i] != '\\' {
				continue
			}
			if i++; i == len(s) {
				return false
			}
			switch s[i] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
			default: // \/ and \uXXXX are written otherwise
				return false
			}
		}
		return true
	}
	return false
}

// PassesRaw reports whether f reads and writes column text through
// RawDecoder and RawEncoder: a wrapped JSON format. Others return no text
// and ignore the text given.
func PassesRaw(f Format) bool {
	ff, ok := f.(*format)
	if !ok {
		return false
	}
	jc, ok := ff.c.(*jsonCodec)
	return ok && jc.wrap
}
