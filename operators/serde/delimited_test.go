package serde

import (
	"math"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

func TestDelimitedBytes(t *testing.T) {
	all := []types.Column{
		col("B", types.Boolean), col("I", types.Int), col("L", types.Bigint), col("D", types.Double),
		col("P", types.Decimal(6, 2)), col("S", types.String), col("BY", types.Bytes),
		col("TS", types.Timestamp), col("DT", types.Date), col("TM", types.Time),
	}
	tests := []struct {
		name string
		cols []types.Column
		p    Props
		row  types.Row
		want string
	}{
		{"pageview", pageviews, Props{}, types.Row{types.NewString("a"), types.NewBigint(9000)}, `a,9000`},
		{"every type", all, Props{}, types.Row{
			types.NewBoolean(true), types.NewInt(-1), types.NewBigint(1 << 40), types.NewDouble(2.5),
			dec("-1050", 2), types.NewString("x y"), types.NewBytes([]byte{1, 2}),
			types.NewTimestamp(1000), types.NewDate(2), types.NewTime(3),
		}, `true,-1,1099511627776,2.5,-10.50,x y,AQI=,1000,2,3`},
		{"nulls", all, Props{}, make(types.Row, len(all)), `,,,,,,,,,`},
		{"quoting", []types.Column{col("A", types.String), col("B", types.String), col("C", types.String), col("D", types.String)}, Props{},
			types.Row{types.NewString("a,b"), types.NewString(`say "hi"`), types.NewString("two\nlines"), types.NewString("#x")},
			"\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"#x\""},
		{"first field not alphanumeric", []types.Column{col("A", types.Int), col("B", types.String), col("C", types.Int)}, Props{},
			types.Row{types.NewInt(-5), types.NewString("-x"), types.NewInt(-6)}, `"-5",-x,-6`},
		{"first field empty string", []types.Column{col("A", types.String), col("B", types.Int)}, Props{},
			types.Row{types.NewString(""), types.NewInt(1)}, `"",1`},
		{"empty string elsewhere", []types.Column{col("A", types.Int), col("B", types.String)}, Props{},
			types.Row{types.NewInt(1), types.NewString("")}, `1,`},
		{"empty bytes", []types.Column{col("B", types.Bytes), col("C", types.Bytes)}, Props{},
			types.Row{types.NewBytes(nil), types.NullValue}, `"",`},
		{"non-ASCII delimiter", pageviews, Props{ValueDelimiter: "§"}, types.Row{types.NewString("a§b"), types.NewBigint(1)}, `"a§b"§1`},
		{"edge spaces quoted", []types.Column{col("A", types.String), col("B", types.String)}, Props{},
			types.Row{types.NewString(" lead"), types.NewString("trail ")}, `" lead","trail "`},
		{"tab", pageviews, Props{ValueDelimiter: "TAB"}, types.Row{types.NewString("a,b"), types.NewBigint(1)}, "a,b\t1"},
		{"space", pageviews, Props{ValueDelimiter: "SPACE"}, types.Row{types.NewString("a b"), types.NewBigint(1)}, `"a b" 1`},
		{"pipe", pageviews, Props{ValueDelimiter: "|"}, types.Row{types.NewString("a|b"), types.NewBigint(1)}, `"a|b"|1`},
		{"dot delimiter quotes numbers", []types.Column{col("D", types.Double), col("S", types.String)}, Props{ValueDelimiter: "."},
			types.Row{types.NewDouble(1.5), types.NewString("x")}, `"1.5".x`},
		{"single", pageviews[1:], Props{}, types.Row{types.NewBigint(5)}, `5`},
		{"single null", pageviews[:1], Props{}, types.Row{types.NullValue}, ``},
		{"double nan", []types.Column{col("D", types.Double)}, Props{}, types.Row{types.NewDouble(math.NaN())}, `NaN`},
	}
	// What an encoding decodes to, when not the row: an empty string or
	// BYTES reads back as NULL, as in ksqlDB.
	lossy := map[string]types.Row{
		"first field empty string": {types.NullValue, types.NewInt(1)},
		"empty string elsewhere":   {types.NewInt(1), types.NullValue},
		"empty bytes":              {types.NullValue, types.NullValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustValue(t, "DELIMITED", tc.cols, tc.p)
			b, err := f.Encode(tc.row)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want || b == nil {
				t.Fatalf("Encode = %q, want %q", b, tc.want)
			}
			got, err := f.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			back := tc.row
			if l, ok := lossy[tc.name]; ok {
				back = l
			}
			if !sameRow(got, back) {
				t.Fatalf("round trip: %s, want %s", showRow(got), showRow(back))
			}
		})
	}
}

func TestDelimitedDecode(t *testing.T) {
	cols := []types.Column{col("ID", types.Bigint), col("NAME", types.String), col("OK", types.Boolean)}
	f := mustValue(t, "DELIMITED", cols, Props{})
	tests := []struct {
		in   string
		want types.Row
	}{
		{"120,bob,true", types.Row{types.NewBigint(120), types.NewString("bob"), types.NewBoolean(true)}},
		{"120, bob,FALSE\r\n", types.Row{types.NewBigint(120), types.NewString(" bob"), types.NewBoolean(false)}},
		{" 7 ,,", types.Row{types.NewBigint(7), types.NullValue, types.NullValue}},
		{`,"",`, types.Row{types.NullValue, types.NullValue, types.NullValue}},
		{"5,x,yes", types.Row{types.NewBigint(5), types.NewString("x"), types.NewBoolean(false)}},
		{"\n6,y,TRUE\r\n7,z,true", types.Row{types.NewBigint(6), types.NewString("y"), types.NewBoolean(true)}},
		{`"8" ,"q" ,`, types.Row{types.NewBigint(8), types.NewString("q"), types.NullValue}},
		{`1,a"b,true`, types.Row{types.NewBigint(1), types.NewString(`a"b`), types.NewBoolean(true)}},
		{"1,\"x\r\ny\",true\n", types.Row{types.NewBigint(1), types.NewString("x\r\ny"), types.NewBoolean(true)}},
	}
	for _, tc := range tests {
		got, err := f.Decode([]byte(tc.in))
		if err != nil {
			t.Fatalf("Decode(%q): %v", tc.in, err)
		}
		if !sameRow(got, tc.want) {
			t.Fatalf("Decode(%q) = %s, want %s", tc.in, showRow(got), showRow(tc.want))
		}
	}
	if got, err := f.Decode(nil); err != nil || got != nil {
		t.Fatalf("Decode(nil) = %s, %v; want a tombstone", showRow(got), err)
	}
}

func TestDelimitedDecodeErrors(t *testing.T) {
	cols := []types.Column{col("ID", types.Int), col("P", types.Decimal(4, 1)), col("B", types.Boolean)}
	f := mustValue(t, "DELIMITED", cols, Props{})
	tests := []struct {
		in   string
		frag []string
	}{
		{"1,2", []string{"2 delimited fields for 3 columns"}},
		{"1,2,true,4", []string{"4 delimited fields"}},
		{"x,2,true", []string{"column ID", `"x" is not a number`}},
		{"3000000000,2,true", []string{"column ID", "out of range"}},
		{"1,2.25,true", []string{"column P", "without rounding"}},
		{`"1,2,true`, []string{"unterminated"}},
		{`"1"x,2,true`, []string{"after a quoted field"}},
		{"1,2,\xff", []string{"UTF-8"}},
		{"", []string{"1 delimited fields for 3 columns"}},
	}
	for _, tc := range tests {
		got, err := f.Decode([]byte(tc.in))
		if err == nil {
			t.Fatalf("Decode(%q) = %s, want an error", tc.in, showRow(got))
		}
		wantDecodeErr(t, err, tc.frag...)
	}
}

// DELIMITED keys: one column's NULL is no key, as a record without a key
// is written again by ksqlDB; several columns are one delimited line, with
// KEY_DELIMITER's delimiter.
func TestDelimitedKeys(t *testing.T) {
	one := mustKey(t, "DELIMITED", []types.Column{col("K", types.Int)}, Props{})
	if b, err := one.Encode(types.Row{types.NullValue}); err != nil || b != nil {
		t.Fatalf("NULL key = %q, %v; want no key", b, err)
	}
	if b, err := one.Encode(types.Row{types.NewInt(-3)}); err != nil || string(b) != `"-3"` {
		t.Fatalf("key -3 = %q, %v", b, err)
	}
	if got, err := one.Decode([]byte(`"22"`)); err != nil || !sameRow(got, types.Row{types.NewInt(22)}) {
		t.Fatalf("decode quoted key = %s, %v", showRow(got), err)
	}
	two := mustKey(t, "DELIMITED", []types.Column{col("A", types.String), col("B", types.String)}, Props{KeyDelimiter: ";"})
	for _, tc := range []struct {
		row  types.Row
		want string
	}{
		{types.Row{types.NewString("foo,bar"), types.NewString("baz")}, `foo,bar;baz`},
		{types.Row{types.NullValue, types.NullValue}, `;`},
		{types.Row{types.NewString("a;b"), types.NullValue}, `"a;b";`},
	} {
		b, err := two.Encode(tc.row)
		if err != nil || string(b) != tc.want || b == nil {
			t.Fatalf("Encode(%s) = %q, %v; want %q", showRow(tc.row), b, err, tc.want)
		}
		got, err := two.Decode(b)
		if err != nil || !sameRow(got, tc.row) {
			t.Fatalf("Decode(%q) = %s, %v", b, showRow(got), err)
		}
	}
	if got, err := two.Decode(nil); err != nil || !sameRow(got, types.Row{types.NullValue, types.NullValue}) {
		t.Fatalf("no key = %s, %v; want NULLs", showRow(got), err)
	}
}
