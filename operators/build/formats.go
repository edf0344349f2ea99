package build

import (
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/types"
)

// The one place that reads a catalog source into the runtime's decoders
// and encoders, and the hooks the planner takes from the runtime so that
// it never imports it.

// NewDecoder builds the decoder of a source's records.
func NewDecoder(src *catalog.Source) (*operators.Decoder, error) {
	return operators.NewDecoder(DecoderSpec(src))
}

// DecoderSpec is how a source's records decode, every column built.
func DecoderSpec(src *catalog.Source) operators.DecoderSpec {
	return operators.DecoderSpec{
		Columns:         src.Columns,
		KeyFormat:       src.KeyFormat,
		ValueFormat:     src.ValueFormat,
		Props:           SerdeProps(src),
		TimestampColumn: src.Props["TIMESTAMP"],
		Window:          WindowedKey(src),
	}
}

// NewScanDecoder builds the decoder of a scan's records: the source's,
// building only the columns the query reads (planner.Scan.Reads).
func NewScanDecoder(scan *planner.Scan) (*operators.Decoder, error) {
	src := scan.Source
	var read []bool
	if scan.Reads != nil {
		read = scan.Reads[:len(src.Columns)]
	}
	spec := DecoderSpec(src)
	spec.Read = read
	return operators.NewDecoder(spec)
}

// NewEncoder builds an encoder of rows laid out as a source's columns. An
// encoder is not safe for concurrent use: each task makes its own.
func NewEncoder(src *catalog.Source) (*operators.Encoder, error) {
	return operators.NewEncoder(src.Columns, src.KeyFormat, src.ValueFormat, SerdeProps(src))
}

// SerdeProps reads a source's format properties.
func SerdeProps(src *catalog.Source) serde.Props {
	var p serde.Props
	switch strings.ToLower(src.Props["WRAP_SINGLE_VALUE"]) {
	case "true":
		p.WrapSingleValue = serde.WrapOn
	case "false":
		p.WrapSingleValue = serde.WrapOff
	}
	p.ValueDelimiter = src.Props["VALUE_DELIMITER"]
	p.KeyDelimiter = src.Props["KEY_DELIMITER"]
	return p
}

// WindowedKey describes a windowed table's keys; nil for any other source.
func WindowedKey(src *catalog.Source) *operators.WindowedKey {
	if src.Window == nil {
		return nil
	}
	return &operators.WindowedKey{Session: src.Window.Kind == "SESSION", SizeMs: src.Window.SizeMs}
}

// CheckFormats is the planner's FormatChecker: a source's formats must
// decode its records and encode its rows, so that a statement is refused
// when it is planned rather than when its first record arrives.
func CheckFormats(src *catalog.Source) error {
	if _, err := NewDecoder(src); err != nil {
		return err
	}
	_, err := NewEncoder(src)
	return err
}

// ResolveAggregate is the planner's AggregateResolver: the result type of
// an aggregate call, from the runtime's aggregate functions.
func ResolveAggregate(name string, argTypes []types.Type, consts []types.Value, distinct bool) (types.Type, error) {
	f, err := agg.Resolve(name, argTypes, consts, distinct)
	if err != nil {
		return types.Type{}, err
	}
	return f.ResultType(), nil
}
