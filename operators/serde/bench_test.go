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
