package serde

import (
	"strings"
	"sync"

	"github.com/runnel/runnel/sql/types"
)

// Format encodes and decodes one side of a record (its key or its value)
// for the column list it was built with.
//
// A Format is immutable and safe for concurrent use by any number of
// goroutines. Rows passed to Encode are read, never retained; Rows and
// byte slices returned are new and owned by the caller.
type Format interface {
	// Name is the format's canonical name: "JSON", "KAFKA", "DELIMITED"
	// or "NONE".
	Name() string

	// Columns are the columns the format was built with, in order. The
	// slice must not be modified.
	Columns() []types.Column

	// Encode serializes row, whose values are in Columns' order and of
	// their types (ints of any integer kind are accepted for INT, BIGINT,
	// TIMESTAMP, DATE and TIME; ints and decimals for DOUBLE; ints for
	// DECIMAL). A nil row encodes to nil bytes: a tombstone for a value,
	// no key for a key. Formats that hold a single bare value (KAFKA, JSON
	// unwrapped) encode a NULL to nil bytes too, as ksqlDB does. Errors
	// wrap ErrEncode.
	Encode(row types.Row) ([]byte, error)

	// Decode deserializes b into a row of len(Columns()) values. nil bytes
	// decode to a nil Row for a value (a tombstone) and to a row of NULLs
	// for a key. Non-nil bytes always decode to a full row or an error: a
	// key that is empty or JSON null is a row of NULLs, but a wrapped
	// value that is empty or JSON null is an error (ksqlDB reads it as a
	// null record; Runnel's tombstones are nil bytes only), so callers can
	// index the row without checking. Errors wrap ErrDecode and name the
	// column and the reason. Decode never panics.
	Decode(b []byte) (types.Row, error)
}

// RowDecoder decodes straight into a row of the caller's, and reads only
// the columns the caller needs. Every Format built here implements it.
type RowDecoder interface {
	// DecodeRow decodes b as Decode does, but into dst: column i into
	// dst[p.Index[i]]. dst's places for the columns must hold NULL, and
	// keep it for a column absent from b or marked in p.Skip. A skipped
	// column is checked as Decode checks it (a record that Decode refuses
	// is refused) but its value is not built, which is the point: JSON
	// reads a skipped STRING without copying it. nil bytes, and a null
	// record of a key, leave dst as it is; a null record of a value is an
	// error, as for Decode.
	DecodeRow(b []byte, dst types.Row, p *Projection) error
}

// AppendEncoder encodes into a buffer of the caller's. Every Format built
// here implements it.
type AppendEncoder interface {
	// AppendEncode appends the encoding of row to dst, as Encode encodes
	// it, and returns the extended buffer. null reports a row that
	// encodes to nil bytes (a nil row, or a bare NULL); out is then dst
	// unchanged. On an error, out is dst unchanged too.
	AppendEncode(dst []byte, row types.Row) (out []byte, null bool, err error)
}

// Projection says where a format's columns go in a wider row, and which
// of them a reader never uses.
type Projection struct {
	// Index[i] is the place of column i in the row; len(Columns()).
	Index []int
	// Skip[i] is set for a column that need not be built; nil builds
	// every column.
	Skip []bool
	// Alias lets the decoded values share the bytes decoded instead of
	// copying them (JSON strings, for now): the caller promises never to
	// modify those bytes, and accepts that a value kept keeps them all
	// alive. A task that encodes each row and drops it sets it; one that
	// keeps values in a store must not, or a short string would pin its
	// whole read batch. Default (false): every value owns its bytes.
	Alias bool
}

// ValueFormat is the Format of a record's value, built by NewValueFormat.
type ValueFormat interface{ Format }

// KeyFormat is the Format of a record's key, built by NewKeyFormat.
type KeyFormat interface{ Format }

// Wrap says whether a format with a single column writes it inside a
// record (a JSON object) or bare. It is ksqlDB's WRAP_SINGLE_VALUE.
type Wrap uint8

const (
	// WrapDefault is ksqlDB's default: values wrapped, keys unwrapped.
	WrapDefault Wrap = iota
	// WrapOn is WRAP_SINGLE_VALUE=true.
	WrapOn
	// WrapOff is WRAP_SINGLE_VALUE=false.
	WrapOff
)

// Props are a format's properties from a WITH clause.
type Props struct {
	// WrapSingleValue applies to a value of exactly one column, as
	// ksqlDB's WRAP_SINGLE_VALUE: JSON wraps it in an object by default,
	// and writes it bare with WrapOff; KAFKA and DELIMITED always write it
	// bare and refuse WrapOn. Set on a value of several columns, it is an
	// error. Keys ignore it: ksqlDB writes a single key column bare and
	// several in an object (JSON) or a delimited line. Default WrapDefault.
	WrapSingleValue Wrap
	// ValueDelimiter is DELIMITED's field delimiter for values (ksqlDB's
	// VALUE_DELIMITER): one character, or "TAB" or "SPACE". Default ","
	// (when ""). Other value formats refuse it.
	ValueDelimiter string
	// KeyDelimiter is the same for keys (KEY_DELIMITER). Default ",".
	KeyDelimiter string
}

// Format names.
const (
	FormatJSON      = "JSON"
	FormatKafka     = "KAFKA"
	FormatDelimited = "DELIMITED"
	FormatNone      = "NONE"
)

// laterFormats are ksqlDB formats Runnel will support later; they get a
// friendlier message than a name nobody knows.
var laterFormats = map[string]bool{
	"AVRO": true, "PROTOBUF": true, "PROTOBUF_NOSR": true, "JSON_SR": true,
}

// NewValueFormat returns the value format called name (case-insensitive;
// "" means JSON) for cols. JSON, DELIMITED and KAFKA are supported;
// unknown names, types the format cannot carry and properties it rejects
// are errors wrapping ErrUnsupported (SQLSTATE 0A000), bad property
// values errors wrapping ErrInvalidProps.
func NewValueFormat(name string, cols []types.Column, props Props) (ValueFormat, error) {
	name, err := canonical(name)
	if err != nil {
		return nil, err
	}
	if props.ValueDelimiter != "" && name != FormatDelimited {
		return nil, errorf(ErrInvalidProps, "%s does not support the following configs: [delimiter]", name)
	}
	if name == FormatNone {
		// NONE carries no columns; Runnel needs a value column, so NONE
		// is only ever a key format.
		return nil, noneErr(cols)
	}
	if w := props.WrapSingleValue; w != WrapDefault {
		// ksqlDB's order (its SerdeFeaturesFactory): the format first,
		// then the column count.
		if w == WrapOn && name != FormatJSON {
			return nil, errorf(ErrUnsupported, "Format '%s' does not support 'WRAP_SINGLE_VALUE' set to 'true'.", name)
		}
		if len(cols) != 1 {
			return nil, errorf(ErrInvalidProps, "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas")
		}
	}
	var c codec
	switch name {
	case FormatJSON:
		wrap := props.WrapSingleValue != WrapOff || len(cols) != 1
		c, err = newJSONCodec(cols, wrap)
	case FormatDelimited:
		c, err = newDelimitedCodec(cols, props.ValueDelimiter, "VALUE_DELIMITER")
	case FormatKafka:
		c, err = newKafkaCodec(cols)
	}
	if err != nil {
		return nil, err
	}
	return &format{name: name, cols: cols, c: c}, nil
}

// noneErr is ksqlDB's refusal of NONE for columns.
func noneErr(cols []types.Column) error {
	return errorf(ErrUnsupported, "The 'NONE' format can only be used when no columns are defined. Got: %s", columnList(cols))
}

// columnList renders columns as ksqlDB's messages do:
// [`K` STRING KEY, `V` INTEGER].
func columnList(cols []types.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "`" + c.Name + "` " + c.Type.String()
		if c.Key {
			parts[i] += " KEY"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// NewKeyFormat returns the key format called name (case-insensitive; ""
// means KAFKA) for the key columns cols. KAFKA, JSON, DELIMITED and NONE
// are supported; with no key columns every format behaves as NONE, as
// ksqlDB does for key-less streams. A single key column is written bare
// in every format, and several as a JSON object or a delimited line
// (KAFKA carries one). Errors as for NewValueFormat.
func NewKeyFormat(name string, cols []types.Column, props Props) (KeyFormat, error) {
	if name == "" {
		name = FormatKafka
	}
	name, err := canonical(name)
	if err != nil {
		return nil, err
	}
	if props.KeyDelimiter != "" && name != FormatDelimited {
		return nil, errorf(ErrInvalidProps, "%s does not support the following configs: [delimiter]", name)
	}
	var c codec
	switch {
	case name == FormatNone && len(cols) > 0:
		err = noneErr(cols)
	case len(cols) == 0:
		c = noneCodec{}
	case name == FormatJSON:
		c, err = newJSONCodec(cols, len(cols) != 1)
	case name == FormatKafka:
		c, err = newKafkaCodec(cols)
	case name == FormatDelimited:
		var d *delimitedCodec
		if d, err = newDelimitedCodec(cols, props.KeyDelimiter, "KEY_DELIMITER"); err == nil {
			d.nullKey = len(cols) == 1
			c = d
		}
	}
	if err != nil {
		return nil, err
	}
	return &format{name: name, cols: cols, key: true, c: c}, nil
}

// canonical upper-cases a format name and rejects the unknown ones.
func canonical(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch n {
	case "":
		return FormatJSON, nil
	case FormatJSON, FormatKafka, FormatDelimited, FormatNone:
		return n, nil
	}
	if laterFormats[n] {
		return "", errorf(ErrUnsupported, "format %s is not supported yet", n)
	}
	return "", errorf(ErrUnsupported, "Unknown format: %s", n)
}

// codec is one format's encoding, bound to its columns. The wrapping
// format checks row lengths and handles nil rows and nil bytes.
type codec interface {
	// encode appends row (len == columns) to dst. null reports that the
	// whole row encodes as nil bytes (a bare NULL); out is then ignored.
	encode(dst []byte, row types.Row, what string) (out []byte, null bool, err error)
	// decode decodes non-nil b; a nil Row means the record is null.
	decode(b []byte, what string) (types.Row, error)
}

// format is the Format every constructor returns.
type format struct {
	name string
	cols []types.Column
	key  bool
	c    codec
}

var _ ValueFormat = (*format)(nil)
var _ KeyFormat = (*format)(nil)

func (f *format) Name() string            { return f.name }
func (f *format) Columns() []types.Column { return f.cols }

func (f *format) what() string {
	if f.key {
		return "key"
	}
	return "value"
}

// bufPool holds scratch buffers for Encode: a row is built in a pooled
// buffer and copied out once, so Encode allocates exactly its result.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (f *format) Encode(row types.Row) ([]byte, error) {
	if row == nil {
		return nil, nil
	}
	if len(row) != len(f.cols) {
		return nil, errorf(ErrEncode, "%s row has %d values for %d columns", f.what(), len(row), len(f.cols))
	}
	bp := bufPool.Get().(*[]byte)
	out, null, err := f.c.encode((*bp)[:0], row, f.what())
	if out == nil {
		out = *bp
	}
	var res []byte
	if err == nil && !null {
		res = make([]byte, len(out))
		copy(res, out)
	}
	if cap(out) <= 64<<10 { // don't pin huge buffers in the pool
		*bp = out[:0]
		bufPool.Put(bp)
	}
	return res, err
}

var _ AppendEncoder = (*format)(nil)

// AppendEncode implements AppendEncoder.
func (f *format) AppendEncode(dst []byte, row types.Row) ([]byte, bool, error) {
	if row == nil {
		return dst, true, nil
	}
	if len(row) != len(f.cols) {
		return dst, false, errorf(ErrEncode, "%s row has %d values for %d columns", f.what(), len(row), len(f.cols))
	}
	out, null, err := f.c.encode(dst, row, f.what())
	if err != nil || null {
		return dst, null && err == nil, err
	}
	return out, false, nil
}

func (f *format) Decode(b []byte) (types.Row, error) {
	if b == nil {
		return f.nullRow(), nil
	}
	row, err := f.c.decode(b, f.what())
	if err != nil {
		return nil, err
	}
	if row == nil {
		if !f.key {
			return nil, errorf(ErrDecode, "value: a null record (empty, or JSON null) where a row was expected")
		}
		return f.nullRow(), nil
	}
	return row, nil
}

var _ RowDecoder = (*format)(nil)

// DecodeRow implements RowDecoder.
func (f *format) DecodeRow(b []byte, dst types.Row, p *Projection) error {
	if b == nil {
		return nil
	}
	if len(p.Index) != len(f.cols) || (p.Skip != nil && len(p.Skip) != len(f.cols)) {
		return errorf(ErrDecode, "%s: a projection of %d columns for %d", f.what(), len(p.Index), len(f.cols))
	}
	var null bool
	if jc, ok := f.c.(*jsonCodec); ok {
		var err error
		if null, err = jc.decodeInto(b, f.what(), dst, p.Index, p.Skip, p.Alias); err != nil {
			return err
		}
	} else {
		row, err := f.c.decode(b, f.what())
		if err != nil {
			return err
		}
		null = row == nil
		for i, v := range row {
			if p.Skip == nil || !p.Skip[i] {
				dst[p.Index[i]] = v
			}
		}
	}
	if null && !f.key {
		return errorf(ErrDecode, "value: a null record (empty, or JSON null) where a row was expected")
	}
	return nil
}

// nullRow is what a null record decodes to: nothing for a value, NULLs
// for a key.
func (f *format) nullRow() types.Row {
	if f.key {
		return make(types.Row, len(f.cols))
	}
	return nil
}

// noneCodec is the NONE key format: no columns, the key bytes ignored.
type noneCodec struct{}

func (noneCodec) encode(dst []byte, _ types.Row, _ string) ([]byte, bool, error) {
	return dst, true, nil
}

func (noneCodec) decode([]byte, string) (types.Row, error) { return types.Row{}, nil }
