package server_test

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql/types"
)

func dec(s string, scale int32) types.Value {
	i, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return types.NewDecimal(i, scale)
}

// codecCases are values with their PostgreSQL text form.
var codecCases = []struct {
	t    types.Type
	v    types.Value
	text string
}{
	{types.Boolean, types.NewBoolean(false), "f"},
	{types.Int, types.NewInt(math.MaxInt32), "2147483647"},
	{types.Int, types.NewInt(math.MinInt32), "-2147483648"},
	{types.Bigint, types.NewBigint(math.MinInt64), "-9223372036854775808"},
	{types.Double, types.NewDouble(0.1), "0.1"},
	{types.Double, types.NewDouble(123456789012345), "123456789012345"},
	{types.Double, types.NewDouble(1e15), "1e+15"},
	{types.Double, types.NewDouble(0.0001), "0.0001"},
	{types.Double, types.NewDouble(0.00001234), "1.234e-05"},
	{types.Double, types.NewDouble(-2.5e300), "-2.5e+300"},
	{types.Double, types.NewDouble(math.Inf(1)), "Infinity"},
	{types.Double, types.NewDouble(math.Inf(-1)), "-Infinity"},
	{types.Decimal(10, 2), dec("12345", 2), "123.45"},
	{types.Decimal(10, 4), dec("-5", 4), "-0.0005"},
	{types.Decimal(38, 0), dec("100000000000000000000000000000", 0), "100000000000000000000000000000"},
	{types.Decimal(20, 9), dec("123456789123456789", 9), "123456789.123456789"},
	{types.Decimal(10, 3), dec("0", 3), "0.000"},
	{types.Decimal(12, 4), dec("100000000", 4), "10000.0000"},
	{types.String, types.NewString(""), ""},
	{types.String, types.NewString("日本\x00x"), "日本\x00x"},
	{types.Bytes, types.NewBytes(nil), `\x`},
	{types.Bytes, types.NewBytes([]byte("\x00\xffA")), `\x00ff41`},
	{types.Timestamp, types.NewTimestamp(0), "1970-01-01 00:00:00"},
	{types.Timestamp, types.NewTimestamp(-1), "1969-12-31 23:59:59.999"},
	{types.Timestamp, types.NewTimestamp(1700000000120), "2023-11-14 22:13:20.12"},
	{types.Timestamp, types.NewTimestamp(253402300799999), "9999-12-31 23:59:59.999"},
	{types.Timestamp, types.NewTimestamp(-62167219200000), "0001-01-01 00:00:00 BC"},
	{types.Date, types.NewDate(0), "1970-01-01"},
	{types.Date, types.NewDate(-719528), "0001-01-01 BC"},
	{types.Date, types.NewDate(10957), "2000-01-01"},
	{types.Time, types.NewTime(0), "00:00:00"},
	{types.Time, types.NewTime(86399999), "23:59:59.999"},
	{types.Array(types.String), types.NewArray([]types.Value{types.NewString("a\"b\n"), types.NullValue}), `["a\"b\n",null]`},
	{types.Array(types.Array(types.Double)), types.NewArray([]types.Value{types.NewArray([]types.Value{types.NewDouble(1e20)})}), `[[1e+20]]`},
	{types.Map(types.String, types.Timestamp), types.NewMap([]types.Value{types.NewString("z"), types.NewString("a")},
		[]types.Value{types.NewTimestamp(0), types.NullValue}), `{"z":"1970-01-01 00:00:00","a":null}`},
	{types.Struct(types.Field{Name: "Id", Type: types.Bigint}, types.Field{Name: "Tags", Type: types.Array(types.String)},
		types.Field{Name: "Price", Type: types.Decimal(5, 2)}, types.Field{Name: "Raw", Type: types.Bytes}),
		types.NewStruct([]types.Value{types.NewBigint(7), types.NewArray(nil), dec("-150", 2), types.NewBytes([]byte{1})}),
		`{"Id":7,"Tags":[],"Price":-1.50,"Raw":"\\x01"}`},
}

func TestTextRoundTrip(t *testing.T) {
	for _, c := range codecCases {
		got, err := server.AppendText(nil, c.t, c.v)
		if err != nil || string(got) != c.text {
			t.Errorf("%s %v: text %q %v, want %q", c.t, c.v, got, err, c.text)
			continue
		}
		back, err := server.ParseText(c.t, got)
		if err != nil || !types.Equal(back, c.v) {
			t.Errorf("%s %q: parsed %v %v, want %v", c.t, got, back, err, c.v)
			continue
		}
		if again, _ := server.AppendText(nil, c.t, back); string(again) != c.text {
			t.Errorf("%s: second text %q, want %q", c.t, again, c.text)
		}
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, c := range codecCases {
		b, err := server.AppendBinary(nil, c.t, c.v)
		if err != nil {
			t.Errorf("%s %v: %v", c.t, c.v, err)
			continue
		}
		back, err := server.DecodeParam(0, 1, c.t, append([]byte{}, b...))
		if err != nil || !types.Equal(back, c.v) {
			t.Errorf("%s %v: binary %x parsed %v %v", c.t, c.v, b, back, err)
			continue
		}
		if text, _ := server.AppendText(nil, c.t, back); string(text) != c.text {
			t.Errorf("%s: after binary, text %q, want %q", c.t, text, c.text)
		}
	}
}

// TestBinaryAgainstPgtype checks the binary forms against pgx's own
// codecs, both ways.
func TestBinaryAgainstPgtype(t *testing.T) {
	m := pgtype.NewMap()
	for _, c := range codecCases {
		oid := server.OID(c.t)
		b, err := server.AppendBinary(nil, c.t, c.v)
		if err != nil {
			t.Fatal(err)
		}
		var text string
		switch c.t.Kind {
		case types.KindDecimal:
			var n pgtype.Numeric
			if err := m.Scan(oid, pgtype.BinaryFormatCode, b, &n); err != nil {
				t.Errorf("%s: pgtype scan %x: %v", c.t, b, err)
				continue
			}
			// pgtype's text form of numeric drops the scale; compare values.
			r := new(big.Rat).SetInt(n.Int)
			if n.Exp < 0 {
				r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-n.Exp)), nil)))
			} else {
				r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n.Exp)), nil)))
			}
			if r.Cmp(c.v.AsRat()) != 0 {
				t.Errorf("%s: pgtype read %v", c.t, r)
			}
			enc, err := m.Encode(oid, pgtype.BinaryFormatCode, n, nil)
			if err != nil {
				t.Fatal(err)
			}
			back, err := server.ParseBinary(oid, types.Type{Kind: types.KindDecimal}, enc)
			if err != nil || back.AsRat().Cmp(c.v.AsRat()) != 0 {
				t.Errorf("%s: pgtype's %x read as %v %v", c.t, enc, back, err)
			}
			continue
		case types.KindTimestamp:
			var ts time.Time
			if err := m.Scan(oid, pgtype.BinaryFormatCode, b, &ts); err != nil {
				t.Errorf("%s: %v", c.t, err)
				continue
			}
			if ts.UnixMilli() != c.v.Int() {
				t.Errorf("%s: pgtype read %v", c.t, ts)
			}
			continue
		case types.KindDate:
			var d pgtype.Date
			if err := m.Scan(oid, pgtype.BinaryFormatCode, b, &d); err != nil {
				t.Errorf("%s: %v", c.t, err)
				continue
			}
			if d.Time.Unix()/86400 != c.v.Int() {
				t.Errorf("%s: pgtype read %v", c.t, d.Time)
			}
			continue
		case types.KindDouble:
			var f float64
			if err := m.Scan(oid, pgtype.BinaryFormatCode, b, &f); err != nil || f != c.v.Float() {
				t.Errorf("%s: pgtype read %v %v", c.t, f, err)
			}
			continue
		default:
			var s pgtype.Text
			if c.t.Kind == types.KindString || c.t.Kind >= types.KindArray {
				if err := m.Scan(oid, pgtype.BinaryFormatCode, b, &s); err != nil {
					t.Errorf("%s: %v", c.t, err)
				}
				text = s.String
				if text != c.text {
					t.Errorf("%s: pgtype read %q, want %q", c.t, text, c.text)
				}
			}
		}
	}
}

func TestParseTextForms(t *testing.T) {
	cases := []struct {
		t    types.Type
		in   string
		want types.Value
	}{
		{types.Boolean, "TRUE", types.NewBoolean(true)},
		{types.Boolean, "off", types.NewBoolean(false)},
		{types.Int, " 12 ", types.NewInt(12)},
		{types.Double, "nan", types.NewDouble(math.NaN())},
		{types.Double, "-1e-3", types.NewDouble(-0.001)},
		{types.Decimal(5, 2), "1.005", dec("101", 2)},
		{types.Decimal(5, 2), "-1.005", dec("-101", 2)},
		{types.Type{Kind: types.KindDecimal}, "1.50", dec("150", 2)},
		{types.Bytes, "raw", types.NewBytes([]byte("raw"))},
		{types.Timestamp, "2023-11-14T22:13:20.123Z", types.NewTimestamp(1700000000123)},
		{types.Timestamp, "2023-11-14 23:13:20.123+01:00", types.NewTimestamp(1700000000123)},
		{types.Timestamp, "2023-11-14 22:13:20.123456", types.NewTimestamp(1700000000123)},
		{types.Timestamp, "2023-11-14", types.NewTimestamp(1699920000000)},
		{types.Time, "01:02", types.NewTime(3720000)},
		{types.Map(types.String, types.Int), `{"b":1,"a":2}`, types.NewMap(
			[]types.Value{types.NewString("b"), types.NewString("a")}, []types.Value{types.NewInt(1), types.NewInt(2)})},
		{types.Struct(types.Field{Name: "A", Type: types.Int}), `{"a":3}`, types.NewStruct([]types.Value{types.NewInt(3)})},
		{types.Array(types.Timestamp), `[0,"1970-01-01 00:00:01"]`, types.NewArray([]types.Value{types.NewTimestamp(0), types.NewTimestamp(1000)})},
	}
	for _, c := range cases {
		got, err := server.ParseText(c.t, []byte(c.in))
		if err != nil {
			t.Errorf("%s %q: %v", c.t, c.in, err)
			continue
		}
		if c.t.Kind == types.KindDouble && math.IsNaN(c.want.Float()) {
			if !math.IsNaN(got.Float()) {
				t.Errorf("%q: %v", c.in, got)
			}
			continue
		}
		if !types.Equal(got, c.want) {
			t.Errorf("%s %q: %v, want %v", c.t, c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		t  types.Type
		in string
	}{
		{types.Int, "2147483648"}, {types.Int, "x"}, {types.Boolean, "maybe"}, {types.Decimal(3, 1), "123.4"},
		{types.Date, "2023-13-01"}, {types.Array(types.Int), `[1,`}, {types.Array(types.Int), `{"a":1}`},
		{types.Struct(types.Field{Name: "A", Type: types.Int}), `{"B":1}`}, {types.Bytes, `\xzz`}, {types.Array(types.Int), `[1] x`},
	} {
		if v, err := server.ParseText(c.t, []byte(c.in)); err == nil {
			t.Errorf("%s %q: no error, %v", c.t, c.in, v)
		}
	}
}

func TestErrorResponse(t *testing.T) {
	r := server.ErrorResponse(server.ErrUnknownPortal)
	if r.Code != "34000" || r.Severity != "ERROR" {
		t.Errorf("%+v", r)
	}
	r = server.ErrorResponse(errPos{})
	if r.Code != "XX000" || r.Position != 9 {
		t.Errorf("%+v", r)
	}
}

type errPos struct{}

func (errPos) Error() string { return "bad" }
func (errPos) Position() int { return 9 }
