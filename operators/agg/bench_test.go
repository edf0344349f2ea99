package agg

import (
	"testing"

	"github.com/runnel/runnel/sql/types"
)

func BenchmarkSumAdd(b *testing.B) {
	f, err := Resolve("SUM", []types.Type{types.Bigint}, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	a := f.New()
	args := []types.Value{types.NewBigint(7)}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Add(args); err != nil {
			b.Fatal(err)
		}
		if err := a.Retract(args); err != nil { // stay clear of overflow
			b.Fatal(err)
		}
	}
}

func BenchmarkCountEncodeDecode(b *testing.B) {
	f, err := Resolve("COUNT", nil, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	a := f.New()
	for range 12345 {
		_ = a.Add(nil)
	}
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf = a.AppendEncode(buf[:0])
		if _, err := f.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}
