package serde

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

var pageviews = []types.Column{col("USERID", types.String), col("VIEWTIME", types.Bigint)}

func TestJSONValueBytes(t *testing.T) {
	addr := types.Struct(types.Field{Name: "CITY", Type: types.String}, types.Field{Name: "ZIP", Type: types.Int})
	tests := []struct {
		name string
		cols []types.Column
		p    Props
		row  types.Row
		want string
	}{
		{"pageview", pageviews, Props{}, types.Row{types.NewString("a"), types.NewBigint(9000)}, `{"USERID":"a","VIEWTIME":9000}`},
		{"nulls", pageviews, Props{}, types.Row{types.NullValue, types.NullValue}, `{"USERID":null,"VIEWTIME":null}`},
		{"wrapped single", pageviews[:1], Props{}, types.Row{types.NewString("a")}, `{"USERID":"a"}`},
		{"unwrapped single", pageviews[:1], Props{WrapSingleValue: WrapOff}, types.Row{types.NewString("a")}, `"a"`},
		{"boolean", []types.Column{col("B", types.Boolean)}, Props{}, types.Row{types.NewBoolean(true)}, `{"B":true}`},
		{"int", []types.Column{col("I", types.Int)}, Props{}, types.Row{types.NewInt(-7)}, `{"I":-7}`},
		{"double", []types.Column{col("D", types.Double)}, Props{}, types.Row{types.NewDouble(1)}, `{"D":1.0}`},
		{"double frac", []types.Column{col("D", types.Double)}, Props{}, types.Row{types.NewDouble(0.1)}, `{"D":0.1}`},
		{"double big", []types.Column{col("D", types.Double)}, Props{}, types.Row{types.NewDouble(1.5e10)}, `{"D":1.5E10}`},
		{"double nan", []types.Column{col("D", types.Double)}, Props{}, types.Row{types.NewDouble(math.NaN())}, `{"D":"NaN"}`},
		{"decimal scale kept", []types.Column{col("P", types.Decimal(10, 2))}, Props{}, types.Row{dec("150", 2)}, `{"P":1.50}`},
		{"decimal small", []types.Column{col("P", types.Decimal(10, 4))}, Props{}, types.Row{dec("-5", 4)}, `{"P":-0.0005}`},
		{"string escapes", []types.Column{col("S", types.String)}, Props{}, types.Row{types.NewString("a\"b\\c\n\x01é/")}, `{"S":"a\"b\\c\n\u0001é/"}`},
		{"bytes", []types.Column{col("B", types.Bytes)}, Props{}, types.Row{types.NewBytes([]byte{0, 1, 2, 0xff})}, `{"B":"AAEC/w=="}`},
		{"timestamp", []types.Column{col("T", types.Timestamp)}, Props{}, types.Row{types.NewTimestamp(1700000000123)}, `{"T":1700000000123}`},
		{"date", []types.Column{col("D", types.Date)}, Props{}, types.Row{types.NewDate(19000)}, `{"D":19000}`},
		{"time", []types.Column{col("T", types.Time)}, Props{}, types.Row{types.NewTime(3600000)}, `{"T":3600000}`},
		{"array", []types.Column{col("A", types.Array(types.Int))}, Props{}, types.Row{types.NewArray([]types.Value{types.NewInt(1), types.NullValue, types.NewInt(3)})}, `{"A":[1,null,3]}`},
		{"map", []types.Column{col("M", types.Map(types.String, types.Bigint))}, Props{}, types.Row{types.NewMap([]types.Value{types.NewString("x"), types.NewString("y")}, []types.Value{types.NewBigint(1), types.NewBigint(2)})}, `{"M":{"x":1,"y":2}}`},
		{"struct", []types.Column{col("ADDR", addr)}, Props{}, types.Row{types.NewStruct([]types.Value{types.NewString("Paris"), types.NewInt(75001)})}, `{"ADDR":{"CITY":"Paris","ZIP":75001}}`},
		{"quoted name", []types.Column{col("userId", types.String)}, Props{}, types.Row{types.NewString("u")}, `{"userId":"u"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustValue(t, "JSON", tc.cols, tc.p)
			b, err := f.Encode(tc.row)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("Encode = %s, want %s", b, tc.want)
			}
			got, err := f.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRow(got, tc.row) {
				t.Fatalf("round trip: %s, want %s", showRow(got), showRow(tc.row))
			}
		})
	}
}

// TestJSONDecimal64: a DECIMAL held in an int64 (what arithmetic leaves
// when it fits) is written as the same bytes as its big.Int form, at its
// own scale, and without an allocation for the number.
func TestJSONDecimal64(t *testing.T) {
	cols := []types.Column{col("P", types.Decimal(20, 3))}
	f := mustValue(t, "JSON", cols, Props{})
	for _, c := range []struct {
		u     int64
		scale int32
		want  string
	}{
		{908, 3, `{"P":0.908}`}, {-5, 3, `{"P":-0.005}`}, {0, 3, `{"P":0.000}`},
		{123456789, 3, `{"P":123456.789}`}, {math.MinInt64, 3, `{"P":-9223372036854775.808}`},
	} {
		small := types.Row{types.NewDecimal64(c.u, c.scale)}
		wide := types.Row{types.NewDecimal(big.NewInt(c.u), c.scale)}
		a, err := f.Encode(small)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.Encode(wide)
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != c.want || string(b) != c.want {
			t.Fatalf("Encode of %d at scale %d: int64 %s, big.Int %s, want %s", c.u, c.scale, a, b, c.want)
		}
		buf := make([]byte, 0, 64)
		if n := testing.AllocsPerRun(100, func() { buf, _ = appendJSONValue(buf[:0], &cols[0].Type, small[0]) }); n != 0 {
			t.Fatalf("writing %d at scale %d allocates %v times", c.u, c.scale, n)
		}
	}
}

func TestJSONRoundTripEveryType(t *testing.T) {
	nested := types.Array(types.Map(types.String, types.Struct(
		types.Field{Name: "X", Type: types.Decimal(5, 1)},
		types.Field{Name: "y", Type: types.Array(types.Bytes)},
	)))
	cols := []types.Column{
		col("B", types.Boolean), col("I", types.Int), col("L", types.Bigint), col("D", types.Double),
		col("P", types.Decimal(38, 10)), col("S", types.String), col("BY", types.Bytes),
		col("TS", types.Timestamp), col("DT", types.Date), col("TM", types.Time), col("N", nested),
		col("MI", types.Map(types.String, types.Double)),
	}
	nestedVal := types.NewArray([]types.Value{
		types.NewMap([]types.Value{types.NewString("k")}, []types.Value{types.NewStruct([]types.Value{
			dec("-12345", 1), types.NewArray([]types.Value{types.NewBytes([]byte("hi")), types.NullValue}),
		})}),
		types.NullValue,
	})
	rows := []types.Row{
		{
			types.NewBoolean(false), types.NewInt(math.MinInt32), types.NewBigint(math.MaxInt64),
			types.NewDouble(-1.25e-300), dec("123456789012345678901234567890", 10), types.NewString("日本 \t\"x\""),
			types.NewBytes(nil), types.NewTimestamp(-1), types.NewDate(-365), types.NewTime(86399999), nestedVal,
			types.NewMap([]types.Value{types.NewString("1")}, []types.Value{types.NewDouble(math.Inf(-1))}),
		},
		make(types.Row, len(cols)),
	}
	f := mustValue(t, "json", cols, Props{})
	for _, row := range rows {
		b, err := f.Encode(row)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Decode(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if !sameRow(got, row) {
			t.Fatalf("round trip of %s:\n got %s\nwant %s", b, showRow(got), showRow(row))
		}
	}
}

func TestJSONDecodeCoercions(t *testing.T) {
	tests := []struct {
		name string
		typ  types.Type
		in   string
		want types.Value
	}{
		{"int from string", types.Int, `"42"`, types.NewInt(42)},
		{"int from integral double", types.Int, `42.0`, types.NewInt(42)},
		{"int from exponent", types.Int, `4.2e1`, types.NewInt(42)},
		{"bigint from string", types.Bigint, `"-9000"`, types.NewBigint(-9000)},
		{"double from int", types.Double, `3`, types.NewDouble(3)},
		{"double from string", types.Double, `"2.5"`, types.NewDouble(2.5)},
		{"double NaN string", types.Double, `"NaN"`, types.NewDouble(math.NaN())},
		{"decimal exact", types.Decimal(30, 20), `0.10000000000000000001`, dec("10000000000000000001", 20)},
		{"decimal from string", types.Decimal(5, 2), `"12.3"`, dec("1230", 2)},
		{"decimal from exp", types.Decimal(5, 2), `1.5E2`, dec("15000", 2)},
		{"decimal trailing zeros", types.Decimal(4, 1), `1.500`, dec("15", 1)},
		{"string from number", types.String, `12.50`, types.NewString("12.50")},
		{"string from bool", types.String, `true`, types.NewString("true")},
		{"string from object", types.String, `{ "a" : [1, 2] }`, types.NewString(`{"a":[1,2]}`)},
		{"string from array", types.String, `["a", 1, null, {"b":true}]`, types.NewString(`[a, 1, null, {"b":true}]`)},
		{"string escapes", types.String, `"\u00e9\ud83d\ude00\/\t"`, types.NewString("é😀/\t")},
		{"lone surrogate", types.String, `"\ud83d"`, types.NewString("\uFFFD")},
		{"bytes unpadded", types.Bytes, `"AAEC/w"`, types.NewBytes([]byte{0, 1, 2, 0xff})},
		{"timestamp from string", types.Timestamp, `"1000"`, types.NewTimestamp(1000)},
		{"null", types.Bigint, `null`, types.NullValue},
		{"map dup key last wins", types.Map(types.String, types.Int), `{"a":1,"a":2}`,
			types.NewMap([]types.Value{types.NewString("a")}, []types.Value{types.NewInt(2)})},
		{"empty array", types.Array(types.Int), `[ ]`, types.NewArray([]types.Value{})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustValue(t, "JSON", []types.Column{col("C", tc.typ)}, Props{WrapSingleValue: WrapOff})
			got, err := f.Decode([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !sameValue(got[0], tc.want) {
				t.Fatalf("Decode(%s) = %s, want %s", tc.in, showValue(got[0]), showValue(tc.want))
			}
			// The same, wrapped in an object.
			fw := mustValue(t, "JSON", []types.Column{col("C", tc.typ)}, Props{})
			got, err = fw.Decode([]byte(`{"C":` + tc.in + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if !sameValue(got[0], tc.want) {
				t.Fatalf("wrapped Decode = %s, want %s", showValue(got[0]), showValue(tc.want))
			}
		})
	}
}

func TestJSONFieldMatching(t *testing.T) {
	cols := []types.Column{col("USERID", types.String), col("viewTime", types.Bigint)}
	f := mustValue(t, "JSON", cols, Props{})
	tests := []struct {
		in   string
		want types.Row
	}{
		{`{"userid":"a","VIEWTIME":1}`, types.Row{types.NewString("a"), types.NewBigint(1)}},
		{`{"UserId":"a"}`, types.Row{types.NewString("a"), types.NullValue}},
		// An exact match wins over a case-insensitive one, wherever it is.
		{`{"USERID":"exact","userid":"fold"}`, types.Row{types.NewString("exact"), types.NullValue}},
		{`{"userid":"fold","USERID":"exact"}`, types.Row{types.NewString("exact"), types.NullValue}},
		{`{"viewtime":1,"viewTime":2,"VIEWTIME":3}`, types.Row{types.NullValue, types.NewBigint(2)}},
		// Extra fields are ignored, even when they hold values of any shape.
		{`{"EXTRA":{"deep":[1,{"x":null}]},"USERID":"a","MORE":"\"}"}`, types.Row{types.NewString("a"), types.NullValue}},
		{`{}`, types.Row{types.NullValue, types.NullValue}},
		{"\n {\"USERID\" : null }\n", types.Row{types.NullValue, types.NullValue}},
	}
	for _, tc := range tests {
		got, err := f.Decode([]byte(tc.in))
		if err != nil {
			t.Fatalf("Decode(%s): %v", tc.in, err)
		}
		if !sameRow(got, tc.want) {
			t.Fatalf("Decode(%s) = %s, want %s", tc.in, showRow(got), showRow(tc.want))
		}
	}

	// Struct fields match the same way.
	st := types.Struct(types.Field{Name: "CITY", Type: types.String})
	fs := mustValue(t, "JSON", []types.Column{col("ADDR", st)}, Props{})
	got, err := fs.Decode([]byte(`{"addr":{"city":"Paris"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := types.Row{types.NewStruct([]types.Value{types.NewString("Paris")})}
	if !sameRow(got, want) {
		t.Fatalf("struct = %s, want %s", showRow(got), showRow(want))
	}
}

func TestJSONNullRecords(t *testing.T) {
	f := mustValue(t, "JSON", pageviews, Props{})
	if got, err := f.Decode(nil); err != nil || got != nil {
		t.Fatalf("Decode(nil) = %s, %v; want a nil row", showRow(got), err)
	}
	// Non-nil bytes give a full row or an error, never a nil row.
	for _, in := range [][]byte{{}, []byte(" null ")} {
		got, err := f.Decode(in)
		if err == nil {
			t.Fatalf("Decode(%q) = %s, want an error", in, showRow(got))
		}
		wantDecodeErr(t, err, "null record")
	}
	k := mustKey(t, "JSON", pageviews, Props{})
	for _, in := range [][]byte{{}, []byte("null")} {
		got, err := k.Decode(in)
		if err != nil || !sameRow(got, types.Row{types.NullValue, types.NullValue}) {
			t.Fatalf("key Decode(%q) = %s, %v; want NULLs", in, showRow(got), err)
		}
	}
	if b, err := f.Encode(nil); b != nil || err != nil {
		t.Fatalf("Encode(nil) = %q, %v", b, err)
	}
	// An unwrapped NULL is a null record, as ksqlDB writes it.
	u := mustValue(t, "JSON", pageviews[:1], Props{WrapSingleValue: WrapOff})
	if b, err := u.Encode(types.Row{types.NullValue}); b != nil || err != nil {
		t.Fatalf("unwrapped Encode(NULL) = %q, %v", b, err)
	}
	got, err := u.Decode([]byte("null"))
	if err != nil || !sameRow(got, types.Row{types.NullValue}) {
		t.Fatalf("unwrapped Decode(null) = %s, %v", showRow(got), err)
	}
}

func TestJSONDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		cols []types.Column
		p    Props
		in   string
		frag []string
	}{
		{"not json", pageviews, Props{}, `hello`, []string{"value", "expected a JSON object"}},
		{"array not object", pageviews, Props{}, `[1]`, []string{"expected a JSON object, got an array"}},
		{"truncated", pageviews, Props{}, `{"USERID":"a"`, []string{"invalid JSON"}},
		{"trailing", pageviews, Props{}, `{"USERID":"a"} x`, []string{"after the value"}},
		{"bigint from string", pageviews, Props{}, `{"VIEWTIME":"soon"}`, []string{"column VIEWTIME", `"soon" is not a number`}},
		{"bigint from bool", pageviews, Props{}, `{"VIEWTIME":true}`, []string{"column VIEWTIME", "cannot convert a boolean to BIGINT"}},
		{"int fraction", []types.Column{col("I", types.Int)}, Props{}, `{"I":1.5}`, []string{"column I", "not an integer"}},
		{"int overflow", []types.Column{col("I", types.Int)}, Props{}, `{"I":2147483648}`, []string{"column I", "out of range"}},
		{"bigint huge exp", pageviews, Props{}, `{"VIEWTIME":1e999999999999}`, []string{"out of range"}},
		{"decimal rounding", []types.Column{col("P", types.Decimal(5, 1))}, Props{}, `{"P":1.25}`, []string{"column P", "without rounding"}},
		{"decimal precision", []types.Column{col("P", types.Decimal(3, 1))}, Props{}, `{"P":"123.4"}`, []string{"does not fit DECIMAL(3, 1)"}},
		{"boolean from string", []types.Column{col("B", types.Boolean)}, Props{}, `{"B":"true"}`, []string{"cannot convert a string to BOOLEAN"}},
		{"bytes bad base64", []types.Column{col("B", types.Bytes)}, Props{}, `{"B":"!!"}`, []string{"base64"}},
		{"array element", []types.Column{col("A", types.Array(types.Int))}, Props{}, `{"A":[1,"x"]}`, []string{"column A", "[1]"}},
		{"struct field", []types.Column{col("S", types.Struct(types.Field{Name: "F", Type: types.Int}))}, Props{}, `{"S":{"F":[]}}`, []string{"column S", ".F"}},
		{"bad escape", pageviews, Props{}, `{"USERID":"\x"}`, []string{"bad escape"}},
		{"control char", pageviews, Props{}, "{\"USERID\":\"a\x01\"}", []string{"control character"}},
		{"bad utf8", pageviews, Props{}, "{\"USERID\":\"\xff\"}", []string{"UTF-8"}},
		{"deep", []types.Column{col("S", types.String)}, Props{}, `{"S":` + nest(300) + `}`, []string{"deeper"}},
		{"unwrapped garbage", pageviews[:1], Props{WrapSingleValue: WrapOff}, `"a" "b"`, []string{"column USERID"}},
		{"leading zero", pageviews, Props{}, `{"VIEWTIME":01}`, []string{"invalid JSON"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustValue(t, "JSON", tc.cols, tc.p)
			got, err := f.Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("Decode(%s) = %s, want an error", tc.in, showRow(got))
			}
			wantDecodeErr(t, err, tc.frag...)
		})
	}
}

func nest(n int) string {
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		b = append(b, '[')
	}
	for i := 0; i < n; i++ {
		b = append(b, ']')
	}
	return string(b)
}

func TestJSONKeys(t *testing.T) {
	single := mustKey(t, "JSON", []types.Column{col("ID", types.String)}, Props{})
	b, err := single.Encode(types.Row{types.NewString("alice")})
	if err != nil || string(b) != `"alice"` {
		t.Fatalf("single key = %s, %v; want \"alice\"", b, err)
	}
	got, err := single.Decode([]byte(`"alice"`))
	if err != nil || !sameRow(got, types.Row{types.NewString("alice")}) {
		t.Fatalf("decode single key = %s, %v", showRow(got), err)
	}
	if got, err := single.Decode(nil); err != nil || !sameRow(got, types.Row{types.NullValue}) {
		t.Fatalf("nil key = %s, %v; want [NULL]", showRow(got), err)
	}

	// WRAP_SINGLE_VALUE is about values: a single key column is bare.
	bare := mustKey(t, "JSON", []types.Column{col("ID", types.Int)}, Props{WrapSingleValue: WrapOn})
	if b, err := bare.Encode(types.Row{types.NewInt(5)}); err != nil || string(b) != `5` {
		t.Fatalf("key with WrapOn = %s, %v; want 5", b, err)
	}

	multi := mustKey(t, "JSON", []types.Column{col("REGION", types.String), col("ID", types.Int)}, Props{})
	row := types.Row{types.NewString("eu"), types.NewInt(7)}
	b, err = multi.Encode(row)
	if err != nil || string(b) != `{"REGION":"eu","ID":7}` {
		t.Fatalf("multi key = %s, %v", b, err)
	}
	if got, err := multi.Decode(b); err != nil || !sameRow(got, row) {
		t.Fatalf("decode multi key = %s, %v", showRow(got), err)
	}
}

func TestJSONEncodeErrors(t *testing.T) {
	f := mustValue(t, "JSON", []types.Column{col("I", types.Int), col("S", types.String)}, Props{})
	tests := []struct {
		row  types.Row
		frag string
	}{
		{types.Row{types.NewInt(1)}, "1 values for 2 columns"},
		{types.Row{types.NewString("x"), types.NullValue}, "column I"},
		{types.Row{types.NewBigint(1 << 40), types.NullValue}, "out of range"},
		{types.Row{types.NullValue, types.NewInt(3)}, "column S"},
	}
	for _, tc := range tests {
		_, err := f.Encode(tc.row)
		if err == nil || sqlstate.Of(err) != sqlstate.DataException || !strings.Contains(err.Error(), tc.frag) {
			t.Fatalf("Encode(%s) error = %v, want ErrEncode mentioning %q", showRow(tc.row), err, tc.frag)
		}
	}
}

// Operators may hand a column a value of a neighbouring kind; it is
// written as the declared type.
func TestJSONEncodeLenientKinds(t *testing.T) {
	cols := []types.Column{col("P", types.Decimal(10, 2)), col("D", types.Double), col("L", types.Bigint)}
	f := mustValue(t, "JSON", cols, Props{})
	b, err := f.Encode(types.Row{types.NewBigint(3), types.NewInt(2), types.NewInt(1)})
	if err != nil || string(b) != `{"P":3.00,"D":2.0,"L":1}` {
		t.Fatalf("Encode = %s, %v", b, err)
	}
	got, err := f.Decode(b)
	want := types.Row{dec("300", 2), types.NewDouble(2), types.NewBigint(1)}
	if err != nil || !sameRow(got, want) {
		t.Fatalf("Decode = %s, %v; want %s", showRow(got), err, showRow(want))
	}
}
