package serde

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// quickCols cover quickColumn's classes (integers of both widths, a
// timestamp, strings) and a column it leaves to column (DOUBLE), under
// names that producers spell in another case.
var quickCols = []types.Column{
	col("AUCTION", types.Bigint), col("N", types.Int), col("S", types.String),
	col("dateTime", types.Timestamp), col("D", types.Double), col("EXTRA", types.String),
}

// slowTwin is a format of f's columns whose row decoding never takes
// quickColumn: column alone reads every member.
func slowTwin(t testing.TB, cols []types.Column) Format {
	t.Helper()
	f, err := NewValueFormat("JSON", cols, Props{})
	if err != nil {
		t.Fatal(err)
	}
	f.(*format).c.(*jsonCodec).slow = true
	return f
}

// checkQuickAgainstSlow decodes b with quick and slow, two formats of
// the same columns (slow never taking quickColumn), under every
// projection of a few shapes: every column built, every other one
// skipped, every column skipped, each with and without the columns'
// text (RawDecoder). The results must be the same: the error or its
// absence (and its message), every place of the row, every text.
func checkQuickAgainstSlow(t *testing.T, quick, slow Format, b []byte) {
	t.Helper()
	n := len(quick.Columns())
	for shape := range 3 {
		for _, withRaw := range []bool{false, true} {
			for _, alias := range []bool{false, true} {
				p := &Projection{Index: make([]int, n), Alias: alias}
				if shape > 0 {
					p.Skip = make([]bool, n)
				}
				want := make([]bool, n)
				for i := range n {
					p.Index[i] = n - 1 - i
					if shape == 1 {
						p.Skip[i] = i%2 == 1
					}
					if shape == 2 {
						p.Skip[i] = true
					}
					want[i] = withRaw && i != 1
				}
				run := func(f Format) (types.Row, [][]byte, error) {
					row := make(types.Row, n)
					raw := make([][]byte, n)
					var err error
					if withRaw {
						err = f.(RawDecoder).DecodeRowRaw(b, row, p, want, raw)
					} else {
						err = f.(RowDecoder).DecodeRow(b, row, p)
					}
					return row, raw, err
				}
				qRow, qRaw, qErr := run(quick)
				sRow, sRaw, sErr := run(slow)
				what := func() string {
					return "shape " + string(rune('0'+shape)) + map[bool]string{true: " raw", false: ""}[withRaw] +
						map[bool]string{true: " alias", false: ""}[alias]
				}
				if (qErr == nil) != (sErr == nil) || (qErr != nil && qErr.Error() != sErr.Error()) {
					t.Fatalf("%q (%s): quick error %v, slow error %v", b, what(), qErr, sErr)
				}
				if qErr != nil {
					continue
				}
				if !sameRow(qRow, sRow) {
					t.Fatalf("%q (%s): quick row %s, slow row %s", b, what(), showRow(qRow), showRow(sRow))
				}
				for i := range qRaw {
					if (qRaw[i] == nil) != (sRaw[i] == nil) || !bytes.Equal(qRaw[i], sRaw[i]) {
						t.Fatalf("%q (%s): column %d's text quick %q, slow %q", b, what(), i, qRaw[i], sRaw[i])
					}
				}
			}
		}
	}
}

// TestQuickColumn holds quickColumn's results against column's (the
// same codec with quickColumn off) for the values it reads (null, plain
// integers, strings with and without escapes) and those it must leave
// to column or refuse as column does: other numbers, integers out of
// INT's range, a string for an integer and a number for a string,
// escapes that are not canonical, control characters, invalid UTF-8,
// repeated members, whitespace, and truncations of each.
func TestQuickColumn(t *testing.T) {
	quick, err := NewValueFormat("JSON", quickCols, Props{})
	if err != nil {
		t.Fatal(err)
	}
	slow := slowTwin(t, quickCols)
	cases := []string{
		`{"auction":1007,"n":-5,"s":"Google","dateTime":1436918400214,"d":1.5,"extra":"[_VWUQ\\QRJ\"x"}`,
		`{"AUCTION":0,"N":2147483647,"S":"","DATETIME":-1,"D":2,"EXTRA":"plain"}`,
		`{"auction":null,"n":null,"s":null,"dateTime":null,"d":null,"extra":null}`,
		`{ "auction" : 7 , "n" : 8 , "s" : "sp" , "dateTime" : 9 , "extra" : "e" }`,
		"{\n\t\"auction\":\r\n7,\"s\":\t\"x\"\n}\n",
		`{"auction":-0,"n":01,"s":5,"dateTime":"12","extra":true}`,
		`{"auction":1.0,"n":1e3,"s":[1],"dateTime":1E2,"extra":{"a":1}}`,
		`{"n":2147483648,"auction":9223372036854775807,"dateTime":123456789012345678}`,
		`{"n":-2147483649,"auction":-9223372036854775808,"dateTime":1234567890123456789}`,
		`{"s":"\/","extra":"\u0041\ud83d\ude00"}`,
		`{"s":"é€𝄞","extra":"\\\"\b\f\n\r\t"}`,
		"{\"s\":\"a\x01b\"}", "{\"extra\":\"a\x1fb\"}",
		"{\"s\":\"\xff\"}", "{\"extra\":\"\xc3\"}", "{\"extra\":\"ok\\u00e9\xe2\x82\"}",
		`{"s":"bad \q escape"}`, `{"extra":"bad \u12 escape"}`, `{"extra":"unterminated`, `{"s":"unterminated\`,
		`{"s":"first","s":"\u0041"}`, `{"extra":"\u0041","extra":"second"}`, `{"extra":"\/","extra":null}`,
		`{"auction":1,"AUCTION":2,"auction":null}`, `{"N":5,"n":6}`, `{"n":6,"N":"7"}`,
		`{"S":"a","s":"b","S":"c"}`, `{"dateTime":1,"DATETIME":2,"datetime":3}`,
		`{"auction":nul}`, `{"auction":nullx}`, `{"auction":12x}`, `{"s":"a"x}`, `{"s":"a" "b"}`,
		`{"auction":-}`, `{"auction":-a}`, `{"auction":}`, `{"auction"}`, `{"auction":1,}`, `{,}`,
		`{"other":1,"auction":2,"s":"x"}`, `{"auction":1,"n":2,"s":"x","dateTime":3,"d":4,"extra":"y","more":[1,{"a":null}]}`,
		`{}`, `{ }`, `null`, ``, `   `, `[1]`, `{"auction":1} x`,
	}
	for _, c := range cases {
		checkQuickAgainstSlow(t, quick, slow, []byte(c))
		// Every truncation, too: each stops in another place.
		for i := range len(c) {
			checkQuickAgainstSlow(t, quick, slow, []byte(c[:i]))
		}
	}
	// Random records over the pieces above, members in any order,
	// with and without blanks.
	rng := rand.New(rand.NewPCG(10, 11))
	names := []string{`"auction"`, `"AUCTION"`, `"n"`, `"s"`, `"S"`, `"dateTime"`, `"d"`, `"extra"`, `"x"`}
	values := []string{`1`, `-12`, `0`, `-0`, `2147483648`, `1.5`, `1e2`, `null`, `true`, `"s"`, `"a\\b"`, `"\u0041"`, `"\/"`,
		"\"\x01\"", "\"\xff\"", `"é"`, `[1,"x"]`, `{"a":{}}`, `"12"`, `nul`, `"`, `-`}
	blanks := []string{``, ``, ``, ` `, "\n\t"}
	for range 20_000 {
		var b []byte
		b = append(b, blanks[rng.IntN(len(blanks))]...)
		b = append(b, '{')
		for m := range rng.IntN(8) {
			if m > 0 {
				b = append(b, ',')
			}
			b = append(b, blanks[rng.IntN(len(blanks))]...)
			b = append(b, names[rng.IntN(len(names))]...)
			b = append(b, blanks[rng.IntN(len(blanks))]...)
			b = append(b, ':')
			b = append(b, blanks[rng.IntN(len(blanks))]...)
			b = append(b, values[rng.IntN(len(values))]...)
			b = append(b, blanks[rng.IntN(len(blanks))]...)
		}
		b = append(b, '}')
		checkQuickAgainstSlow(t, quick, slow, b)
	}
}

// FuzzQuickColumn holds quickColumn against column for any input.
func FuzzQuickColumn(f *testing.F) {
	for _, s := range []string{
		`{"auction":1007,"n":-5,"s":"Google","dateTime":1436918400214,"d":1.5,"extra":"[_VWUQ\\QRJ\"x"}`,
		`{ "AUCTION" : null , "S" : "\/" , "extra" : "\u0041" }`, `{"s":"first","s":"\u0041"}`,
		`{"n":2147483648,"auction":-0}`,
	} {
		f.Add([]byte(s))
	}
	quick, err := NewValueFormat("JSON", quickCols, Props{})
	if err != nil {
		f.Fatal(err)
	}
	slow := slowTwin(f, quickCols)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkQuickAgainstSlow(t, quick, slow, b)
	})
}
