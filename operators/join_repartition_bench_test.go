package operators

import (
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// BenchmarkKeyRepartition runs a join's key repartition over a Nexmark
// bid: "value" keys it by a column of the value (the auction, as q4's and
// q20's bid side), "key" by the record's own key column, which the value
// does not hold. The decoder reads only the key's columns, as the
// builder's readingDecoder makes it; the other columns are still checked,
// so "key" tells what the value's check costs when the join key needs
// none of it (BENCHMARKS.md, "keys passed as bytes"). "pruned" is
// "value" passing on only q4's columns of the bid (auction, price,
// dateTime), as its join keeps.
func BenchmarkKeyRepartition(b *testing.B) {
	valCols := nexmarkBidCols
	value := nexmarkBidValue
	joinKey, err := serde.NewKeyFormat("KAFKA", []types.Column{{Name: "K", Type: types.Bigint, Key: true}}, serde.Props{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		cols    []types.Column
		keyFmt  string
		recKey  []byte
		keyCol  int
		wantKey []byte
		stored  []int
	}{
		{"value", valCols, "NONE", nil, 0, []byte{0, 0, 0, 0, 0, 0, 0x03, 0xef}, nil},
		{"pruned", valCols, "NONE", nil, 0, []byte{0, 0, 0, 0, 0, 0, 0x03, 0xef}, []int{0, 2, 5, len(valCols)}},
		{"key", append([]types.Column{{Name: "ID", Type: types.Bigint, Key: true}}, valCols...), "KAFKA",
			[]byte{0, 0, 0, 0, 0, 0, 0, 42}, 0, []byte{0, 0, 0, 0, 0, 0, 0, 42}, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			read := make([]bool, len(bc.cols))
			read[bc.keyCol] = true
			dec, err := NewDecoder(DecoderSpec{Columns: bc.cols, KeyFormat: bc.keyFmt, ValueFormat: "JSON", Read: read})
			if err != nil {
				b.Fatal(err)
			}
			c := bc.cols[bc.keyCol]
			r := &KeyRepartition{Decoder: dec, TimeIndex: len(bc.cols),
				Keys: []expr.Expr{&expr.Column{Index: bc.keyCol, Name: c.Name, T: c.Type}},
				Key:  joinKey, Topic: "rp", Partitions: 4, Prune: RepartitionPruner(dec, bc.stored)}
			rec := log.Record{Key: bc.recKey, Value: value, Timestamp: 1436918400123, Partition: 1}
			var last log.ProduceRecord
			emit := func(pr log.ProduceRecord) { last = pr }
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Process(&rec, emit); err != nil {
					b.Fatal(err)
				}
			}
			if string(last.Key) != string(bc.wantKey) || last.Timestamp != rec.Timestamp {
				b.Fatalf("wrote key %x at %d", last.Key, last.Timestamp)
			}
		})
	}
}
