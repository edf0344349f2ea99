package serde

import (
	"errors"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

func TestConstructorErrors(t *testing.T) {
	arr := []types.Column{col("A", types.Array(types.Int))}
	tests := []struct {
		name  string
		build func() error
		want  *sqlstate.Error
		frag  string
	}{
		{"avro value", func() error { _, err := NewValueFormat("AVRO", pageviews, Props{}); return err }, ErrUnsupported, "not supported yet"},
		{"protobuf key", func() error { _, err := NewKeyFormat("protobuf", pageviews[:1], Props{}); return err }, ErrUnsupported, "PROTOBUF is not supported yet"},
		{"unknown", func() error { _, err := NewValueFormat("XML", pageviews, Props{}); return err }, ErrUnsupported, "Unknown format: XML"},
		{"none value", func() error { _, err := NewValueFormat("NONE", pageviews, Props{}); return err }, ErrUnsupported, "The 'NONE' format can only be used when no columns are defined. Got: [`USERID` STRING, `VIEWTIME` BIGINT]"},
		{"none with columns", func() error { _, err := NewKeyFormat("NONE", pageviews[:1], Props{}); return err }, ErrUnsupported, "The 'NONE' format can only be used when no columns are defined"},
		{"kafka two columns", func() error { _, err := NewKeyFormat("KAFKA", pageviews, Props{}); return err }, ErrUnsupported, "The 'KAFKA' format only supports a single field. Got: [`USERID` STRING, `VIEWTIME` BIGINT]"},
		{"kafka boolean", func() error {
			_, err := NewKeyFormat("KAFKA", []types.Column{col("B", types.Boolean)}, Props{})
			return err
		}, ErrUnsupported, "The 'KAFKA' format does not support type 'BOOLEAN'"},
		{"kafka decimal", func() error {
			_, err := NewValueFormat("KAFKA", []types.Column{col("P", types.Decimal(4, 2))}, Props{})
			return err
		}, ErrUnsupported, "does not support type 'DECIMAL'"},
		{"kafka wrapped", func() error {
			_, err := NewValueFormat("KAFKA", pageviews[:1], Props{WrapSingleValue: WrapOn})
			return err
		}, ErrUnsupported, "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'."},
		{"delimited array", func() error { _, err := NewValueFormat("DELIMITED", arr, Props{}); return err }, ErrUnsupported, "The 'DELIMITED' format does not support type 'ARRAY', column: `A`"},
		{"delimited wrapped", func() error {
			_, err := NewValueFormat("DELIMITED", pageviews[:1], Props{WrapSingleValue: WrapOn})
			return err
		}, ErrUnsupported, "Format 'DELIMITED' does not support 'WRAP_SINGLE_VALUE' set to 'true'."},
		{"delimited wrapped, several columns", func() error {
			_, err := NewValueFormat("DELIMITED", pageviews, Props{WrapSingleValue: WrapOn})
			return err
		}, ErrUnsupported, "Format 'DELIMITED' does not support 'WRAP_SINGLE_VALUE' set to 'true'."},
		{"wrap several columns", func() error {
			_, err := NewValueFormat("JSON", pageviews, Props{WrapSingleValue: WrapOff})
			return err
		}, ErrInvalidProps, "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas"},
		{"delimiter on JSON", func() error {
			_, err := NewValueFormat("JSON", pageviews, Props{ValueDelimiter: "|"})
			return err
		}, ErrInvalidProps, "JSON does not support the following configs: [delimiter]"},
		{"key delimiter on KAFKA", func() error {
			_, err := NewKeyFormat("KAFKA", pageviews[:1], Props{KeyDelimiter: "|"})
			return err
		}, ErrInvalidProps, "KAFKA does not support the following configs: [delimiter]"},
		{"delimiter blank", func() error {
			_, err := NewValueFormat("DELIMITED", pageviews, Props{ValueDelimiter: "\t"})
			return err
		}, ErrInvalidProps, "Configuration VALUE_DELIMITER is invalid: Delimiter cannot be empty"},
		{"delimiter name in lower case", func() error {
			_, err := NewKeyFormat("DELIMITED", pageviews, Props{KeyDelimiter: "tab"})
			return err
		}, ErrInvalidProps, "Configuration KEY_DELIMITER is invalid: Invalid delimiter value: 'tab'. Delimiter must be a single character or TAB,SPACE"},
		{"delimiter outside the BMP", func() error {
			_, err := NewValueFormat("DELIMITED", pageviews, Props{ValueDelimiter: "😀"})
			return err
		}, ErrInvalidProps, "Invalid delimiter value"},
		{"delimiter too long", func() error {
			_, err := NewValueFormat("DELIMITED", pageviews, Props{ValueDelimiter: "ab"})
			return err
		}, ErrInvalidProps, "VALUE_DELIMITER"},
		{"delimiter quote", func() error { _, err := NewValueFormat("DELIMITED", pageviews, Props{ValueDelimiter: `"`}); return err }, ErrInvalidProps, "VALUE_DELIMITER"},
		{"json map bytes key", func() error {
			_, err := NewValueFormat("JSON", []types.Column{col("M", types.Map(types.Bytes, types.Int))}, Props{})
			return err
		}, ErrUnsupported, "STRING keys"},
		{"json map int key", func() error {
			_, err := NewValueFormat("JSON", []types.Column{col("M", types.Array(types.Map(types.Int, types.Int)))}, Props{})
			return err
		}, ErrUnsupported, "JSON only supports MAP types with STRING keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build()
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if sqlstate.Of(err) != tc.want.Code {
				t.Fatalf("SQLSTATE %q, want %q", sqlstate.Of(err), tc.want.Code)
			}
			if !strings.Contains(err.Error(), tc.frag) {
				t.Fatalf("error %q does not mention %q", err, tc.frag)
			}
		})
	}
}

func TestFormatNames(t *testing.T) {
	v := mustValue(t, "", pageviews, Props{})
	if v.Name() != FormatJSON || len(v.Columns()) != 2 {
		t.Fatalf("default value format %s with %d columns", v.Name(), len(v.Columns()))
	}
	k := mustKey(t, "", pageviews[:1], Props{})
	if k.Name() != FormatKafka {
		t.Fatalf("default key format %s, want KAFKA", k.Name())
	}
	if f := mustValue(t, " delimited ", pageviews, Props{}); f.Name() != FormatDelimited {
		t.Fatalf("name %s", f.Name())
	}
}

// A key-less stream carries no key, whatever KEY_FORMAT says.
func TestKeylessKeys(t *testing.T) {
	for _, name := range []string{"NONE", "KAFKA", "JSON"} {
		f := mustKey(t, name, nil, Props{})
		b, err := f.Encode(types.Row{})
		if err != nil || b != nil {
			t.Fatalf("%s: Encode = %q, %v; want nil", name, b, err)
		}
		for _, in := range [][]byte{nil, []byte("ignored")} {
			got, err := f.Decode(in)
			if err != nil || got == nil || len(got) != 0 {
				t.Fatalf("%s: Decode(%q) = %s, %v; want an empty row", name, in, showRow(got), err)
			}
		}
	}
}

func TestEncodeRowLength(t *testing.T) {
	for _, name := range []string{"JSON", "DELIMITED"} {
		f := mustValue(t, name, pageviews, Props{})
		_, err := f.Encode(types.Row{types.NewString("a")})
		if !errors.Is(err, ErrEncode) || !strings.Contains(err.Error(), "1 values for 2 columns") {
			t.Fatalf("%s: error %v", name, err)
		}
	}
}
