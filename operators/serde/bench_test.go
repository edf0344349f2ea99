package serde

import (
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// benchCols is a typical 5-column pageview-like value.
var benchCols = []types.Column{
	col("USERID", types.String), col("PAGEID", types.String), col("VIEWTIME", types.Bigint),
	col("DURATION", types.Double), col("REGION", types.String),
}

var benchRow = types.Row{
	types.NewString("User_42"), types.NewString("Page_1337"), types.NewBigint(1700000000123),
	types.NewDouble(12.75), types.NewString("Region_7"),
}

func BenchmarkJSONEncode(b *testing.B) {
	f, err := NewValueFormat("JSON", benchCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := f.Encode(benchRow)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Encode(benchRow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkJSONDecode(b *testing.B) {
	f, err := NewValueFormat("JSON", benchCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := f.Encode(benchRow)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDelimitedDecode(b *testing.B) {
	f, err := NewValueFormat("DELIMITED", benchCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := f.Encode(benchRow)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// bidCols and bidJSON are a Nexmark bid (tests/nexmark): the columns as the
// benchmark declares them, upper-cased, and a record as its generator
// writes it, with camel-case field names.
var bidCols = []types.Column{
	col("AUCTION", types.Bigint), col("BIDDER", types.Bigint), col("PRICE", types.Bigint),
	col("CHANNEL", types.String), col("URL", types.String), col("DATETIME", types.Timestamp), col("EXTRA", types.String),
}

var bidJSON = []byte(`{"auction":1007,"bidder":2001,"price":4372,"channel":"Google","url":"https://www.nexmark.com/dbp/enkn/oqeb/item.htm?query=1&channel_id=1207959552","dateTime":1436918400214,"extra":"[_VWUQMUOM]NUSRNaaavrdgdpUQMWQOLJXNWXKO\\QRJUNPSHNSJSXNUTJPIHWSXaxsbvmizf\\TXWN_JWVJ_LTbbcpdwwKLRIUNNN"}`)

func BenchmarkJSONDecodeBid(b *testing.B) {
	f, err := NewValueFormat("JSON", bidCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bidJSON)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Decode(bidJSON); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkJSONDecodeBidInto decodes into a row of the caller's, reading
// what Nexmark's q0 reads (every column but channel and url) or q17
// (auction, price and dateTime).
func BenchmarkJSONDecodeBidInto(b *testing.B) {
	f, err := NewValueFormat("JSON", bidCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	rd := f.(RowDecoder)
	for _, bc := range []struct {
		name string
		skip []bool
	}{
		{"all", nil},
		{"q0", []bool{false, false, false, true, true, false, false}},
		{"q17", []bool{false, true, false, true, true, false, true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := &Projection{Index: []int{0, 1, 2, 3, 4, 5, 6}, Skip: bc.skip}
			b.SetBytes(int64(len(bidJSON)))
			b.ReportAllocs()
			for b.Loop() {
				row := make(types.Row, 10)
				if err := rd.DecodeRow(bidJSON, row, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkJSONDecodeBidRaw decodes a bid as Nexmark's q0 does: every
// column checked and kept as its text (RawDecoder), none built.
func BenchmarkJSONDecodeBidRaw(b *testing.B) {
	f, err := NewValueFormat("JSON", bidCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	rd := f.(RawDecoder)
	n := len(bidCols)
	p := &Projection{Index: make([]int, n), Skip: make([]bool, n), Alias: true}
	want := make([]bool, n)
	for i := range n {
		p.Index[i], p.Skip[i], want[i] = i, true, true
	}
	row, raw := make(types.Row, n), make([][]byte, n)
	b.SetBytes(int64(len(bidJSON)))
	b.ReportAllocs()
	for b.Loop() {
		if err := rd.DecodeRowRaw(bidJSON, row, p, want, raw); err != nil {
			b.Fatal(err)
		}
	}
	for i := range raw {
		if raw[i] == nil && i != n-1 {
			// Only extra, which has escapes, may need writing afresh.
			b.Fatalf("column %s has no canonical text", bidCols[i].Name)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkJSONDecodeBidQuery decodes a bid as Nexmark's q0 and q1 tasks
// do (operators.Decoder's rawPlan): the columns copied to the output
// kept as their text and not built, dateTime both kept and built (it is
// the event time), channel and url checked only; q1 builds price, which
// its projection computes with, and keeps no text for it.
func BenchmarkJSONDecodeBidQuery(b *testing.B) {
	f, err := NewValueFormat("JSON", bidCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	rd := f.(RawDecoder)
	//                 AUCTION BIDDER PRICE CHANNEL URL DATETIME EXTRA
	for _, bc := range []struct {
		name       string
		skip, want []bool
	}{
		{"q0", []bool{true, true, true, true, true, false, true}, []bool{true, true, true, false, false, true, true}},
		{"q1", []bool{true, true, false, true, true, false, true}, []bool{true, true, false, false, false, true, true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := len(bidCols)
			p := &Projection{Index: []int{0, 1, 2, 3, 4, 5, 6}, Skip: bc.skip, Alias: true}
			row, raw := make(types.Row, n), make([][]byte, n)
			b.SetBytes(int64(len(bidJSON)))
			b.ReportAllocs()
			for b.Loop() {
				clear(row)
				if err := rd.DecodeRowRaw(bidJSON, row, p, bc.want, raw); err != nil {
					b.Fatal(err)
				}
			}
			if raw[0] == nil || row[5].IsNull() || (bc.name == "q1") == row[2].IsNull() {
				b.Fatalf("%s: columns not read as the query reads them: %s", bc.name, showRow(row))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkJSONEncodeBidRaw writes Nexmark q0's output row for a bid:
// every column given as the text its decode kept (RawEncoder).
func BenchmarkJSONEncodeBidRaw(b *testing.B) {
	in, err := NewValueFormat("JSON", bidCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	outCols := []types.Column{bidCols[0], bidCols[1], bidCols[2], bidCols[5], bidCols[6]}
	out, err := NewValueFormat("JSON", outCols, Props{})
	if err != nil {
		b.Fatal(err)
	}
	n := len(bidCols)
	p := &Projection{Index: []int{0, 1, 2, 3, 4, 5, 6}, Skip: make([]bool, n), Alias: true}
	want := make([]bool, n)
	for i := range n {
		p.Skip[i], want[i] = true, true
	}
	row, raw := make(types.Row, n), make([][]byte, n)
	if err := in.(RawDecoder).DecodeRowRaw(bidJSON, row, p, want, raw); err != nil {
		b.Fatal(err)
	}
	orow := types.Row{row[0], row[1], row[2], row[5], row[6]}
	oraw := [][]byte{raw[0], raw[1], raw[2], raw[5], raw[6]}
	for i, r := range oraw {
		if r == nil {
			b.Fatalf("column %s has no text", outCols[i].Name)
		}
	}
	enc := out.(RawEncoder)
	buf, _, err := enc.AppendEncodeRaw(nil, orow, oraw)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, _, err = enc.AppendEncodeRaw(buf[:0], orow, oraw); err != nil {
			b.Fatal(err)
		}
	}
}
