package serde

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/runnel/runnel/sql/types"
)

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the
// stack; no declared schema is anywhere near this deep.
const maxJSONDepth = 256

func (c *jsonCodec) decode(b []byte, what string) (types.Row, error) {
	r := jsonReader{b: b}
	r.ws()
	if r.i == len(b) {
		return nil, nil // an empty record is a null one, as for Jackson
	}
	if !c.wrap {
		v, err := r.value(&c.cols[0].Type)
		if err == nil {
			err = r.end()
		}
		if err != nil {
			return nil, decodeErr(what, c.cols[0].Name, err)
		}
		return types.Row{v}, nil
	}
	if null, err := r.openRow(what); err != nil || null {
		return nil, err
	}
	vals, bad, err := r.object(&c.row)
	if err == nil {
		err = r.end()
	}
	if err != nil {
		if bad >= 0 {
			return nil, decodeErr(what, c.cols[bad].Name, err)
		}
		return nil, errorf(ErrDecode, "%s: %v", what, err)
	}
	return types.Row(vals), nil
}

// decodeInto is decode for a wrapped row or a bare value, straight into
// dst (see Format.DecodeRow): column i goes to dst[index[i]], and a column
// whose skip[i] is set is checked but left NULL. null reports a null
// record, dst then untouched. alias lets strings share b's bytes
// (Projection.Alias).
func (c *jsonCodec) decodeInto(b []byte, what string, dst types.Row, index []int, skip []bool, alias bool) (null bool, err error) {
	r := jsonReader{b: b, alias: alias}
	r.ws()
	if r.i == len(b) {
		return true, nil // an empty record is a null one, as for Jackson
	}
	if !c.wrap {
		v, err := r.value(&c.cols[0].Type)
		if err == nil {
			err = r.end()
		}
		if err != nil {
			return false, decodeErr(what, c.cols[0].Name, err)
		}
		if skip == nil || !skip[0] {
			dst[index[0]] = v
		}
		return false, nil
	}
	d := rowDst{c: c, dst: dst, index: index, skip: skip}
	return r.wrappedRow(what, &d)
}

// decodeIntoRaw is decodeInto for a wrapped row that also keeps the
// canonical text of the columns want marks (RawDecoder).
func (c *jsonCodec) decodeIntoRaw(b []byte, what string, dst types.Row, p *Projection, want []bool, raw [][]byte) (null bool, err error) {
	r := jsonReader{b: b, alias: p.Alias, want: want, raw: raw}
	r.ws()
	if r.i == len(b) {
		return true, nil
	}
	d := rowDst{c: c, dst: dst, index: p.Index, skip: p.Skip}
	return r.wrappedRow(what, &d)
}

// openRow reads, from the reader's first non-blank byte on, what starts a
// record of a wrapped row: a `null` with nothing after it (null reports
// it), or the '{' of its object, left for the caller to read.
func (r *jsonReader) openRow(what string) (null bool, err error) {
	switch r.b[r.i] {
	case 'n':
		if err := r.lit("null"); err != nil {
			return false, errorf(ErrDecode, "%s: %v", what, err)
		}
		if err := r.end(); err != nil {
			return false, errorf(ErrDecode, "%s: %v", what, err)
		}
		return true, nil
	case '{':
		return false, nil
	default:
		return false, errorf(ErrDecode, "%s: expected a JSON object, got %s", what, r.kindName())
	}
}

// wrappedRow decodes, from the reader's first non-blank byte on, a record
// of a wrapped row: `null` (null reports it) or one object, into d.dst as
// decodeInto says, and nothing after it.
func (r *jsonReader) wrappedRow(what string, d *rowDst) (null bool, err error) {
	if null, err := r.openRow(what); err != nil || null {
		return null, err
	}
	c := d.c
	bad, err := r.row(d)
	if err == nil {
		err = r.end()
	}
	if err != nil {
		if bad >= 0 {
			return false, decodeErr(what, c.cols[bad].Name, err)
		}
		return false, errorf(ErrDecode, "%s: %v", what, err)
	}
	return false, nil
}

// row decodes the top-level object of a wrapped row into dst, as object
// does for any STRUCT, with two differences that make it cheaper. It
// writes each column's value where index says rather than into a slice of
// its own, and it only checks the columns that skip marks: their values
// must still convert to their types (so a record fails or passes exactly
// as it does when every column is read), but are not built. A STRING
// column accepts any JSON value, so checking one is checking the syntax.
//
// And it tries the column at the member's position first: a producer
// usually writes every record's members in one order, most often the
// columns' own, and when no two column names fold to the same name, a
// member that matches that column ignoring case can match no other (so
// the order of the checks cannot change the outcome).
func (r *jsonReader) row(d *rowDst) (bad int, err error) {
	c := d.c
	fields := c.row.Fields
	n := len(fields)
	var strengthBuf [16]uint8
	var strength []uint8
	if n <= len(strengthBuf) {
		strength = strengthBuf[:n]
	} else {
		strength = make([]uint8, n)
	}
	// The object's members, as members walks them, with the member's
	// work inline rather than in a closure.
	if err := r.enter(); err != nil {
		return -1, err
	}
	r.i++
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		r.depth--
		return -1, nil
	}
	b := r.b
	for member := 0; ; member++ {
		// Whitespace is looked for only where the expected byte is not:
		// most producers write none between members.
		if r.i >= len(b) || b[r.i] != '"' {
			r.ws()
			if r.i >= len(b) || b[r.i] != '"' {
				return -1, r.syntax("a field name")
			}
		}
		idx, m := -1, uint8(matchNone)
		if c.foldUnique && member < n {
			idx, m = c.quickKey(r, member)
		}
		if idx < 0 {
			key, err := r.rawStr()
			if err != nil {
				return -1, err
			}
			if c.foldUnique && member < n {
				switch name := fields[member].Name; {
				case string(key) == name:
					idx, m = member, matchExact
				case c.lower[member] != "" && string(key) == c.lower[member], equalFold(key, name):
					idx, m = member, matchFold
				}
			}
			if idx < 0 {
				idx, m = matchField(fields, key)
			}
		}
		if r.i >= len(b) || b[r.i] != ':' {
			r.ws()
			if r.i >= len(b) || b[r.i] != ':' {
				return -1, r.syntax("':'")
			}
		}
		r.i++
		if idx < 0 || m < strength[idx] {
			if err := r.skip(); err != nil {
				return -1, err
			}
		} else if c.slow || !r.quickColumn(d, strength, idx, m) {
			if err := r.column(c, idx, m, strength, d.dst, d.index, d.skip); err != nil {
				return idx, err
			}
		}
		// more, inline: this loop is every record's, and the call costs
		// it 5-10% (BenchmarkJSONDecodeBidRaw).
		if r.i >= len(b) || (b[r.i] != ',' && b[r.i] != '}') {
			r.ws()
		}
		if r.i < len(b) && b[r.i] == ',' {
			r.i++
			continue
		}
		if r.i < len(b) && b[r.i] == '}' {
			r.i++
			r.depth--
			return -1, nil
		}
		return -1, r.syntax("',' or '}'")
	}
}

// quickKey matches the member name at r.i, a '"', with the column at the
// member's position by its bytes, without scanning or unescaping it: as
// the column's name (matchExact) or another ASCII spelling of it, such as
// its lower case (matchFold), when the name is plain ASCII (quoted, the
// name is those very bytes: quotedName). It moves r.i past the name on a
// match; idx is -1 otherwise, r.i unmoved.
//
// Names of up to seven bytes (eight with the closing quote) are compared
// as one word: the member's bytes xor the name's are zero for the name
// itself, and 0x20 only in letters for another spelling of it (quickName).
func (c *jsonCodec) quickKey(r *jsonReader, member int) (idx int, m uint8) {
	k := &c.quick[member]
	n := len(k.q)
	b, from := r.b, r.i+1
	if n == 0 || len(b)-from < n {
		return -1, matchNone
	}
	if len(b)-from >= 8 {
		d := (binary.LittleEndian.Uint64(b[from:]) ^ k.head) & k.mask
		if d&^k.fold != 0 {
			return -1, matchNone
		}
		m = matchExact
		if d != 0 {
			m = matchFold
		}
		if n > 8 {
			if tail := b[from+8 : from+n]; string(tail) != k.q[8:] {
				if !foldASCII(tail, k.q[8:]) {
					return -1, matchNone
				}
				m = matchFold
			}
		}
	} else {
		// Near the record's end, where a word would read past it.
		switch name := b[from : from+n]; {
		case string(name) == k.q:
			m = matchExact
		case foldASCII(name, k.q):
			m = matchFold
		default:
			return -1, matchNone
		}
	}
	r.i = from + n
	return member, m
}

// quickName is a column's name as quickKey compares it.
type quickName struct {
	// q is the name and a closing '"' when the name's bytes are
	// printable ASCII other than '"' and '\' (plainKey), "" otherwise.
	q string
	// head is q's first eight bytes (fewer for a shorter q, the rest
	// zero) as a little-endian word, mask has 0xff in the bytes q has,
	// and fold 0x20 in those that are ASCII letters, whose other case
	// differs from them in that bit alone.
	head, mask, fold uint64
}

func newQuickName(name string) quickName {
	if !plainKey(name) {
		return quickName{}
	}
	k := quickName{q: name + `"`}
	for i := 0; i < len(k.q) && i < 8; i++ {
		ch := k.q[i]
		k.head |= uint64(ch) << (8 * i)
		k.mask |= 0xff << (8 * i)
		if l := ch | 0x20; l >= 'a' && l <= 'z' {
			k.fold |= 0x20 << (8 * i)
		}
	}
	return k
}

// foldASCII reports whether b is q, plain ASCII (see quickName), with the
// case of some ASCII letters changed. Only letters fold, so every other
// byte of b equals q's: a closing quote of q's is one of b's too. For
// ASCII on both sides, that is strings.EqualFold.
func foldASCII(b []byte, q string) bool {
	if len(b) != len(q) {
		return false
	}
	for i := range len(q) {
		x, y := b[i], q[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}

// Column classes for quickColumn (jsonCodec.class).
const (
	classOther = iota
	classInt   // INT, BIGINT, TIMESTAMP, DATE, TIME: a JSON integer
	classString
)

func quickClass(t *types.Type) uint8 {
	switch t.Kind {
	case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
		return classInt
	case types.KindString:
		return classString
	}
	return classOther
}

// rowDst is where a row's columns go (decodeInto's dst, index and skip),
// passed down by one pointer: sixteen words of arguments cost every
// member's call of quickColumn some thirty instructions to pass, and row
// kept them live in spill slots across its calls (cachegrind,
// BenchmarkJSONDecodeBidQuery).
type rowDst struct {
	c     *jsonCodec
	dst   types.Row
	index []int
	skip  []bool
}

// quickColumn is column for the values most records hold, without
// column's layers (check, skip, value, canonical): null, a plain integer
// (plainInt) for an integer column, and a string for a STRING column.
// It leaves dst, raw and strength exactly as column would, and reports
// whether it read the value; when it did not (any other value, or one
// that column would refuse), it has written nothing and r.i is where it
// was or past blanks only, for column to read the value and give its
// error. Its paths call the primitives column's do (plainInt, skipStr,
// str), so what a record may hold is decided in one place.
//
// The projection's lookups (skip, want, index, strength) are made where
// a path needs them, after its scan rather than before: held across the
// scan's calls they were spilled and reloaded.
func (r *jsonReader) quickColumn(d *rowDst, strength []uint8, idx int, m uint8) bool {
	b := r.b
	if r.i < len(b) && b[r.i] <= ' ' {
		r.ws()
	}
	start := r.i
	if start >= len(b) {
		return false
	}
	c := d.c
	switch ch := b[start]; {
	case ch == 'n':
		if len(b)-start < 4 || string(b[start:start+4]) != "null" {
			return false
		}
		r.i = start + 4
		// Written when built, or over an earlier member's value.
		if !d.skipped(idx) || strength[idx] != matchNone {
			d.dst[d.index[idx]] = types.NullValue
		}
	case c.class[idx] == classInt:
		v, ok := r.plainInt()
		if !ok {
			return false
		}
		t := &c.row.Fields[idx].Type
		if t.Kind == types.KindInt && int64(int32(v)) != v {
			r.i = start
			return false
		}
		if !d.skipped(idx) {
			d.dst[d.index[idx]] = newIntValue(t, v)
		} else if strength[idx] != matchNone {
			d.dst[d.index[idx]] = types.NullValue
		}
	case c.class[idx] == classString && ch == '"':
		if d.skipped(idx) {
			if err := r.skipStr(); err != nil {
				r.i = start
				return false
			}
			if !r.strPlain && r.keeps(idx) {
				// Not written as the encoder writes it: column
				// builds the value, as here.
				end := r.i
				r.i = start
				s, err := r.str()
				if err != nil {
					r.i = start
					return false
				}
				r.i = end
				d.dst[d.index[idx]] = types.NewString(s)
				r.raw[idx] = nil
				strength[idx] = m
				return true
			}
			if strength[idx] != matchNone {
				d.dst[d.index[idx]] = types.NullValue
			}
			break
		}
		s, err := r.str()
		if err != nil {
			r.i = start
			return false
		}
		d.dst[d.index[idx]] = types.NewString(s)
		if r.keeps(idx) {
			// canonical, as column asks it (str does not say whether
			// it met escapes).
			r.raw[idx] = nil
			if tok := b[start:r.i]; canonicalJSON(&c.row.Fields[idx].Type, tok) {
				r.raw[idx] = tok
			}
			strength[idx] = m
			return true
		}
	default:
		return false
	}
	if r.keeps(idx) {
		// null, a plain integer and a string with only the escapes
		// appendJSONString writes are canonical.
		r.raw[idx] = b[start:r.i]
	}
	strength[idx] = m
	return true
}

// skipped reports whether column idx is only checked (Projection.Skip).
func (d *rowDst) skipped(idx int) bool { return d.skip != nil && d.skip[idx] }

// keeps reports whether row keeps column idx's text (RawDecoder).
func (r *jsonReader) keeps(idx int) bool { return r.want != nil && r.want[idx] }

// column decodes the value at r.i into the column idx it matched as m
// (row's work for one member).
func (r *jsonReader) column(c *jsonCodec, idx int, m uint8, strength []uint8, dst types.Row, index []int, skip []bool) error {
	t := &c.row.Fields[idx].Type
	strength[idx] = m
	keep := r.want != nil && r.want[idx]
	if keep {
		r.ws()
	}
	start := r.i
	if skip != nil && skip[idx] {
		if err := r.check(t); err != nil {
			return err
		}
		if keep {
			// Its text is what the caller wants; the value only
			// when the text cannot stand for it (RawDecoder).
			if at := index[idx]; !dst[at].IsNull() {
				// A repeated member's value (callers pass a row
				// of NULLs): writing NULL over NULL costs a
				// write barrier for nothing.
				dst[at] = types.NullValue
			}
			if tok := r.b[start:r.i]; r.canonical(t, tok) {
				r.raw[idx] = tok // one write of the slot, not two
				return nil
			}
			r.raw[idx] = nil
			end := r.i
			r.i = start
			v, err := r.value(t)
			if err != nil {
				return err
			}
			dst[index[idx]] = v
			r.i = end
			return nil
		}
	} else {
		v, err := r.value(t)
		if err != nil {
			return err
		}
		dst[index[idx]] = v
	}
	if keep {
		// This member is the column's value (a later one may
		// replace it): its text, if canonical, replaces the last.
		r.raw[idx] = nil
		if tok := r.b[start:r.i]; r.canonical(t, tok) {
			r.raw[idx] = tok
		}
	}
	return nil
}

// canonical is canonicalJSON(t, tok) for tok, the value just checked or
// read: a JSON string checked for a STRING column (skipStr, which noted
// its escapes as it went) is not scanned again.
func (r *jsonReader) canonical(t *types.Type, tok []byte) bool {
	if t.Kind == types.KindString && len(tok) >= 2 && tok[0] == '"' && r.strChecked == &tok[0] {
		return r.strPlain
	}
	if len(tok) > 0 && r.intChecked == &tok[0] && r.intEnd == r.i {
		return true // plainInt read it, in strconv.AppendInt's form
	}
	return canonicalJSON(t, tok)
}

// check consumes the JSON value at r.i and fails where value would for
// type t, without keeping the value: for a STRING, which accepts any
// value, without building it either.
func (r *jsonReader) check(t *types.Type) error {
	switch t.Kind {
	case types.KindString:
		return r.skip()
	case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
		// A plain integer in range, the usual case, is checked without
		// building its value; anything else as value reads it.
		r.ws()
		start := r.i
		if i, ok := r.plainInt(); ok {
			if t.Kind != types.KindInt || int64(int32(i)) == i {
				r.intChecked, r.intEnd = &r.b[start], r.i
				return nil
			}
			r.i = start
		}
	}
	_, err := r.value(t)
	return err
}

// foldUnique reports whether no two of fields have names equal ignoring
// case.
func foldUnique(fields []types.Field) bool {
	for i := range fields {
		for j := i + 1; j < len(fields); j++ {
			if strings.EqualFold(fields[i].Name, fields[j].Name) {
				return false
			}
		}
	}
	return true
}

// jsonReader decodes JSON text straight into typed Values, steered by the
// declared type: no intermediate tree, and numbers are parsed from their
// text (exactly, for DECIMAL).
type jsonReader struct {
	b     []byte
	i     int
	depth int
	// alias lets the strings it builds share b's bytes instead of
	// copying them: set only when the caller promises b is never
	// modified (Projection.Alias).
	alias bool
	// want and raw, for a top-level row only: the columns whose
	// canonical text row keeps in raw (RawDecoder).
	want []bool
	raw  [][]byte
	// strChecked is the opening quote of the last string skipStr
	// checked, and strPlain whether its escapes were all of those
	// appendJSONString writes (canonical).
	strChecked *byte
	strPlain   bool
	// intChecked and intEnd bound the last integer check read with
	// plainInt: text in strconv.AppendInt's form, so canonical.
	intChecked *byte
	intEnd     int
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// more reads what follows an object's member or an array's element: a
// ',' (more reports true: another follows) or the closing byte, '}' or
// ']' (false: the object or array is done, one level less deep).
func (r *jsonReader) more(closing byte) (bool, error) {
	r.ws()
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case ',':
			r.i++
			return true, nil
		case closing:
			r.i++
			r.depth--
			return false, nil
		}
	}
	return false, r.syntax("',' or '" + string(rune(closing)) + "'")
}

// end checks that only whitespace follows the top-level value.
func (r *jsonReader) end() error {
	r.ws()
	if r.i != len(r.b) {
		return failf("invalid JSON: unexpected %q after the value at offset %d", r.b[r.i], r.i)
	}
	return nil
}

func (r *jsonReader) syntax(expected string) error {
	if r.i >= len(r.b) {
		return failf("invalid JSON: unexpected end, expected %s", expected)
	}
	return failf("invalid JSON: unexpected %q at offset %d, expected %s", r.b[r.i], r.i, expected)
}

// kindName names the JSON value starting at r.i, for error messages.
func (r *jsonReader) kindName() string {
	if r.i >= len(r.b) {
		return "nothing"
	}
	switch c := r.b[r.i]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return strconv.QuoteRune(rune(r.b[r.i]))
}

func (r *jsonReader) lit(s string) error {
	if !bytes.HasPrefix(r.b[r.i:], []byte(s)) {
		return r.syntax(s)
	}
	r.i += len(s)
	return nil
}

func (r *jsonReader) enter() error {
	r.depth++
	if r.depth > maxJSONDepth {
		return failf("JSON nested deeper than %d", maxJSONDepth)
	}
	return nil
}

// typeErr reports a JSON value that cannot become type t.
func (r *jsonReader) typeErr(t *types.Type) error {
	return failf("cannot convert %s to %s", r.kindName(), t)
}

// value decodes the JSON value at r.i as type t.
func (r *jsonReader) value(t *types.Type) (types.Value, error) {
	r.ws()
	if r.i >= len(r.b) {
		return types.NullValue, r.syntax("a value")
	}
	c := r.b[r.i]
	if c == 'n' {
		return types.NullValue, r.lit("null")
	}
	isNum := c == '-' || (c >= '0' && c <= '9')
	switch t.Kind {
	case types.KindBoolean:
		switch c {
		case 't':
			return types.NewBoolean(true), r.lit("true")
		case 'f':
			return types.NewBoolean(false), r.lit("false")
		}
	case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
		if isNum {
			// Fast path: a plain integer, parsed from the input in place.
			start := r.i
			if i, ok := r.plainInt(); ok && (t.Kind != types.KindInt || int64(int32(i)) == i) {
				return newIntValue(t, i), nil
			}
			r.i = start
			nb, err := r.num()
			if err != nil {
				return types.NullValue, err
			}
			if i, ok := atoiFast(nb); ok && (t.Kind != types.KindInt || int64(int32(i)) == i) {
				return newIntValue(t, i), nil
			}
			r.i = start
		}
		if isNum || c == '"' {
			s, err := r.scalarText(c)
			if err != nil {
				return types.NullValue, err
			}
			i, err := parseIntegral(s, intBits(t))
			if err != nil {
				return types.NullValue, err
			}
			return newIntValue(t, i), nil
		}
	case types.KindDouble:
		if isNum {
			nb, err := r.num()
			if err != nil {
				return types.NullValue, err
			}
			// The JSON grammar is a subset of ParseFloat's; out of range
			// is ±Inf or ±0, as in Java.
			f, _ := strconv.ParseFloat(string(nb), 64)
			return types.NewDouble(f), nil
		}
		if c == '"' {
			s, err := r.scalarText(c)
			if err != nil {
				return types.NullValue, err
			}
			f, err := parseDouble(s)
			if err != nil {
				return types.NullValue, err
			}
			return types.NewDouble(f), nil
		}
	case types.KindDecimal:
		if isNum || c == '"' {
			s, err := r.scalarText(c)
			if err != nil {
				return types.NullValue, err
			}
			d, err := parseDecimal(s, t.Precision, t.Scale)
			if err != nil {
				return types.NullValue, err
			}
			return types.NewDecimal(d, int32(t.Scale)), nil
		}
	case types.KindString:
		s, err := r.asString(c)
		if err != nil {
			return types.NullValue, err
		}
		return types.NewString(s), nil
	case types.KindBytes:
		if c == '"' {
			s, err := r.str()
			if err != nil {
				return types.NullValue, err
			}
			b, err := decodeBase64(s)
			if err != nil {
				return types.NullValue, err
			}
			return types.NewBytes(b), nil
		}
	case types.KindArray:
		if c == '[' {
			return r.array(t)
		}
	case types.KindMap:
		if c == '{' {
			return r.mapValue(t)
		}
	case types.KindStruct:
		if c == '{' {
			vals, bad, err := r.object(t)
			if err != nil {
				if bad >= 0 {
					err = atPath(err, "."+t.Fields[bad].Name)
				}
				return types.NullValue, err
			}
			return types.NewStruct(vals), nil
		}
	default:
		return types.NullValue, failf("type %s is not supported", t)
	}
	return types.NullValue, r.typeErr(t)
}

// scalarText returns the text of the number or string at r.i.
func (r *jsonReader) scalarText(c byte) (string, error) {
	if c == '"' {
		s, err := r.str()
		return strings.TrimSpace(s), err
	}
	n, err := r.num()
	return string(n), err
}

// asString reads any JSON value as ksqlDB's STRING does: strings as
// themselves, numbers and booleans as their text, objects as compact
// JSON, arrays as "[a, b]" of their elements read as strings.
func (r *jsonReader) asString(c byte) (string, error) {
	switch {
	case c == '"':
		return r.str()
	case c == 't':
		return "true", r.lit("true")
	case c == 'f':
		return "false", r.lit("false")
	case c == 'n':
		return "null", r.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := r.num()
		return string(n), err
	case c == '{':
		start := r.i
		if err := r.skip(); err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, r.b[start:r.i]); err != nil {
			return "", failf("invalid JSON: %v", err)
		}
		return buf.String(), nil
	case c == '[':
		if err := r.enter(); err != nil {
			return "", err
		}
		r.i++
		var sb strings.Builder
		sb.WriteByte('[')
		for n := 0; ; n++ {
			r.ws()
			if n == 0 && r.i < len(r.b) && r.b[r.i] == ']' {
				r.i++
				r.depth--
				break
			}
			if n > 0 {
				sb.WriteString(", ")
			}
			r.ws()
			if r.i >= len(r.b) {
				return "", r.syntax("a value")
			}
			s, err := r.asString(r.b[r.i])
			if err != nil {
				return "", err
			}
			sb.WriteString(s)
			more, err := r.more(']')
			if err != nil {
				return "", err
			}
			if !more {
				break
			}
		}
		sb.WriteByte(']')
		return sb.String(), nil
	}
	return "", r.syntax("a value")
}

func (r *jsonReader) array(t *types.Type) (types.Value, error) {
	if err := r.enter(); err != nil {
		return types.NullValue, err
	}
	r.i++
	var elems []types.Value
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		r.depth--
		return types.NewArray([]types.Value{}), nil
	}
	for {
		v, err := r.value(t.Elem)
		if err != nil {
			return types.NullValue, atPath(err, "["+strconv.Itoa(len(elems))+"]")
		}
		elems = append(elems, v)
		if more, err := r.more(']'); err != nil {
			return types.NullValue, err
		} else if !more {
			return types.NewArray(elems), nil
		}
	}
}

// members walks an object's members: for each, fn is called with the key
// (valid until the next call) while r.i is at the member's value, and
// must consume that value.
func (r *jsonReader) members(fn func(key []byte) error) error {
	if err := r.enter(); err != nil {
		return err
	}
	r.i++
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		r.depth--
		return nil
	}
	for {
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return r.syntax("a field name")
		}
		key, err := r.rawStr()
		if err != nil {
			return err
		}
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != ':' {
			return r.syntax("':'")
		}
		r.i++
		if err := fn(key); err != nil {
			return err
		}
		if more, err := r.more('}'); err != nil || !more {
			return err
		}
	}
}

// Field-name match strengths: a later member replaces an earlier match of
// the same or lower strength.
const (
	matchNone = iota
	matchFold
	matchExact
)

// object decodes an object into t's fields, matching member names to
// field names exactly first and case-insensitively otherwise, as ksqlDB
// does; fields without a member are NULL and members without a field are
// ignored. bad is the index of the field whose value failed, or -1.
func (r *jsonReader) object(t *types.Type) (vals []types.Value, bad int, err error) {
	n := len(t.Fields)
	vals = make([]types.Value, n)
	var strengthBuf [16]uint8
	var strength []uint8
	if n <= len(strengthBuf) {
		strength = strengthBuf[:n]
	} else {
		strength = make([]uint8, n)
	}
	bad = -1
	err = r.members(func(key []byte) error {
		idx, m := matchField(t.Fields, key)
		if idx < 0 || m < strength[idx] {
			return r.skip()
		}
		v, err := r.value(&t.Fields[idx].Type)
		if err != nil {
			bad = idx
			return err
		}
		vals[idx], strength[idx] = v, m
		return nil
	})
	return vals, bad, err
}

// matchField finds the field named key: exactly, else ignoring case.
func matchField(fields []types.Field, key []byte) (int, uint8) {
	for i := range fields {
		if string(key) == fields[i].Name {
			return i, matchExact
		}
	}
	for i := range fields {
		if equalFold(key, fields[i].Name) {
			return i, matchFold
		}
	}
	return -1, matchNone
}

// equalFold is strings.EqualFold for a byte slice, without converting.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) && isASCII(b) && isASCIIString(s) {
		// Only a non-ASCII letter folds to one of another length (the
		// Kelvin sign to k).
		return false
	}
	if len(b) == len(s) {
		i := 0
		for ; i < len(b); i++ {
			x, y := b[i], s[i]
			if x >= utf8.RuneSelf || y >= utf8.RuneSelf {
				break
			}
			if x == y {
				continue
			}
			if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
				return false
			}
		}
		if i == len(b) {
			return true
		}
	}
	return strings.EqualFold(string(b), s)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (r *jsonReader) mapValue(t *types.Type) (types.Value, error) {
	var keys, vals []types.Value
	var index map[string]int // built once the map grows past a few keys
	err := r.members(func(key []byte) error {
		k, err := textValue(t.Key, string(key))
		if err != nil {
			return atPath(err, "["+strconv.Quote(string(key))+"]")
		}
		v, err := r.value(t.Elem)
		if err != nil {
			return atPath(err, "["+strconv.Quote(string(key))+"]")
		}
		// A repeated key replaces the earlier entry, as in a Java map.
		if index == nil && len(keys) >= 8 {
			index = make(map[string]int, 2*len(keys))
			for i, k := range keys {
				index[mapIndexKey(k)] = i
			}
		}
		if index != nil {
			ik := mapIndexKey(k)
			if i, ok := index[ik]; ok {
				vals[i] = v
				return nil
			}
			index[ik] = len(keys)
		} else {
			for i := range keys {
				if types.Equal(keys[i], k) {
					vals[i] = v
					return nil
				}
			}
		}
		keys, vals = append(keys, k), append(vals, v)
		return nil
	})
	if err != nil {
		return types.NullValue, err
	}
	return types.NewMap(keys, vals), nil
}

// mapIndexKey is a primitive key's identity for de-duplication.
func mapIndexKey(k types.Value) string {
	b, _ := appendJSONValue(nil, &types.Type{Kind: k.Kind()}, k)
	return string(b)
}

// textValue converts text (a MAP key, a DELIMITED field) to type t.
func textValue(t *types.Type, s string) (types.Value, error) {
	switch t.Kind {
	case types.KindString:
		return types.NewString(s), nil
	case types.KindBoolean:
		switch {
		case strings.EqualFold(s, "true"):
			return types.NewBoolean(true), nil
		case strings.EqualFold(s, "false"):
			return types.NewBoolean(false), nil
		}
		return types.NullValue, failf("%q is not a BOOLEAN", s)
	case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
		i, err := parseIntegral(strings.TrimSpace(s), intBits(t))
		if err != nil {
			return types.NullValue, err
		}
		return newIntValue(t, i), nil
	case types.KindDouble:
		f, err := parseDouble(strings.TrimSpace(s))
		if err != nil {
			return types.NullValue, err
		}
		return types.NewDouble(f), nil
	case types.KindDecimal:
		d, err := parseDecimal(strings.TrimSpace(s), t.Precision, t.Scale)
		if err != nil {
			return types.NullValue, err
		}
		return types.NewDecimal(d, int32(t.Scale)), nil
	case types.KindBytes:
		b, err := decodeBase64(s)
		if err != nil {
			return types.NullValue, err
		}
		return types.NewBytes(b), nil
	}
	return types.NullValue, failf("type %s cannot be read from text", t)
}

// decodeBase64 reads BYTES: standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil && len(s)%4 != 0 {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, failf("invalid base64 for BYTES")
	}
	return b, nil
}

// num scans a JSON number at r.i and returns its text.
func (r *jsonReader) num() ([]byte, error) {
	b, start := r.b, r.i
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		r.i = i
		return nil, r.syntax("a digit")
	}
	if i < len(b) && b[i] == '.' {
		i++
		ds := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == ds {
			r.i = i
			return nil, r.syntax("a digit")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		ds := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == ds {
			r.i = i
			return nil, r.syntax("a digit")
		}
	}
	r.i = i
	return b[start:i], nil
}

// str reads the JSON string at r.i.
func (r *jsonReader) str() (string, error) {
	raw, err := r.rawStr()
	if r.alias && len(raw) > 0 {
		// raw is a slice of b (which the caller keeps unchanged) or a
		// buffer of rawStr's own: immutable either way.
		return unsafe.String(&raw[0], len(raw)), err
	}
	return string(raw), err
}

// rawStr reads the JSON string at r.i and returns its unescaped bytes:
// a slice of the input when the string has no escapes.
func (r *jsonReader) rawStr() ([]byte, error) {
	b := r.b
	start := r.i + 1
	i := start
	ascii := true
	for i < len(b) {
		i = plainRun(b, i)
		if i == len(b) {
			break
		}
		c := b[i]
		if c == '"' {
			if !ascii && !utf8.Valid(b[start:i]) {
				r.i = i
				return nil, failf("invalid UTF-8 in a JSON string")
			}
			r.i = i + 1
			return b[start:i], nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
		i++
	}
	// Room for the string so far twice over: one escape usually means
	// more (Nexmark's padding has a backslash every forty bytes or so).
	out := append(make([]byte, 0, 2*(i-start)+16), b[start:i]...)
	for i < len(b) {
		if j := plainRun(b, i); j > i {
			out = append(out, b[i:j]...)
			if i = j; i == len(b) {
				break
			}
		}
		c := b[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				r.i = i
				return nil, failf("invalid UTF-8 in a JSON string")
			}
			r.i = i + 1
			return out, nil
		case c < 0x20:
			r.i = i
			return nil, failf("invalid JSON: control character %q in a string at offset %d", c, i)
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		i++
		if i >= len(b) {
			break
		}
		switch e := b[i]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			ru, ok := hex4(b, i+1)
			if !ok {
				r.i = i
				return nil, failf("invalid JSON: bad \\u escape at offset %d", i-1)
			}
			i += 4
			if utf16.IsSurrogate(ru) {
				// A pair is two escapes; a lone half becomes U+FFFD.
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if lo, ok := hex4(b, i+3); ok {
						if d := utf16.DecodeRune(ru, lo); d != utf8.RuneError {
							ru = d
							i += 6
						}
					}
				}
				if utf16.IsSurrogate(ru) {
					ru = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, ru)
		default:
			r.i = i
			return nil, failf("invalid JSON: bad escape %q at offset %d", e, i-1)
		}
		i++
	}
	r.i = len(b)
	return nil, failf("invalid JSON: unterminated string")
}

// skipStr consumes the JSON string at r.i as rawStr does, failing where
// and as rawStr fails, without unescaping it. A skipped or checked column
// (the long `extra` of a Nexmark bid has an escape every forty bytes or
// so) then costs no buffer and no copy: rawStr's unescaping was 9% of
// Nexmark q2's CPU.
//
// rawStr checks the UTF-8 of what it unescapes, where skipStr checks the
// input's: the two agree, since an escape stands for whole characters
// and is written in ASCII, so it can neither complete nor break a
// multi-byte sequence around it.
func (r *jsonReader) skipStr() error {
	b := r.b
	start := r.i + 1
	ascii, plain := true, true
	for i := start; i < len(b); {
		i = plainRun(b, i)
		if i == len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:i]) {
				r.i = i
				return failf("invalid UTF-8 in a JSON string")
			}
			r.strChecked, r.strPlain = &b[start-1], plain
			r.i = i + 1
			return nil
		case c < 0x20:
			r.i = i
			return failf("invalid JSON: control character %q in a string at offset %d", c, i)
		case c >= utf8.RuneSelf:
			ascii = false
			i++
			continue
		}
		// A backslash.
		i++
		if i >= len(b) {
			break
		}
		switch e := b[i]; e {
		case '"', '\\', 'b', 'f', 'n', 'r', 't':
		case '/':
			plain = false // written as itself
		case 'u':
			plain = false // written as the character, or otherwise
			// A surrogate pair is two escapes to rawStr, each checked
			// alike: checking them one at a time accepts the same.
			if _, ok := hex4(b, i+1); !ok {
				r.i = i
				return failf("invalid JSON: bad \\u escape at offset %d", i-1)
			}
			i += 4
		default:
			r.i = i
			return failf("invalid JSON: bad escape %q at offset %d", e, i-1)
		}
		i++
	}
	r.i = len(b)
	return failf("invalid JSON: unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// skip consumes one JSON value of any kind, checking its syntax.
func (r *jsonReader) skip() error {
	r.ws()
	if r.i >= len(r.b) {
		return r.syntax("a value")
	}
	switch c := r.b[r.i]; {
	case c == '"':
		return r.skipStr()
	case c == 't':
		return r.lit("true")
	case c == 'f':
		return r.lit("false")
	case c == 'n':
		return r.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := r.num()
		return err
	case c == '{':
		return r.members(func([]byte) error { return r.skip() })
	case c == '[':
		if err := r.enter(); err != nil {
			return err
		}
		r.i++
		r.ws()
		if r.i < len(r.b) && r.b[r.i] == ']' {
			r.i++
			r.depth--
			return nil
		}
		for {
			if err := r.skip(); err != nil {
				return err
			}
			if more, err := r.more(']'); err != nil || !more {
				return err
			}
		}
	}
	return r.syntax("a value")
}

// plainInt reads, at r.i, an integer as strconv.AppendInt writes it (an
// optional minus, then 1 to 18 digits without a leading zero, never -0)
// that no digit, fraction or exponent follows: the usual integer member,
// scanned and parsed in one pass. ok is false, r.i unmoved, for anything
// else, which num and the slower paths then read (or refuse) as before.
//
// It reads eight bytes at a time (digits8) while eight are left, and the
// last few one at a time.
func (r *jsonReader) plainInt() (v int64, ok bool) {
	b, i := r.b, r.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var u uint64
	for len(b)-i >= 8 {
		nd, x := digits8(binary.LittleEndian.Uint64(b[i:]))
		if i-start+nd > 18 {
			return 0, false
		}
		u = u*pow10u[nd] + x
		i += nd
		if nd < 8 {
			goto done
		}
	}
	for ; i < len(b) && i-start <= 18; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			break
		}
		u = u*10 + uint64(c-'0')
	}
done:
	v = int64(u) // at most 18 digits: below 1e18, in range
	n := i - start
	if n == 0 || n > 18 || (b[start] == '0' && (n > 1 || neg)) {
		return 0, false
	}
	if i < len(b) {
		if c := b[i]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	r.i = i
	return v, true
}

// pow10u[n] is 10 to the n, for n up to 8.
var pow10u = [9]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// digits8 reads w, eight bytes of text in little-endian order (its low
// byte first): nd is how many of its first bytes are ASCII digits, 0 to
// 8, and x the number they write.
//
// A byte is no digit when it is below '0' (subtracting 0x30 borrows into
// its high bit), above '9' (adding 0x46 carries into it) or has its high
// bit set already. A borrow or carry only reaches bytes above the one it
// starts in, after the first byte flagged rightly, so the lowest flag is
// exact. The digits are then moved to the high end of the word (zeros,
// leading, below them) and summed in pairs, fours and eights.
func digits8(w uint64) (nd int, x uint64) {
	flags := ((w - ones*'0') | (w + ones*0x46) | w) & highs
	nd = bits.TrailingZeros64(flags) / 8 // 8 when no byte is flagged
	if nd == 0 {
		return 0, 0
	}
	x = (w - ones*'0') << (64 - 8*nd)
	x = (x*10 + x>>8) & 0x00ff00ff00ff00ff
	x = (x*100 + x>>16) & 0x0000ffff0000ffff
	x = (x*10000 + x>>32) & 0xffffffff
	return nd, x
}

// atoiFast parses an optionally negative run of at most 18 digits, the
// common case of an integer field, without converting to a string.
func atoiFast(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}
