package operators

import (
	"fmt"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// BenchmarkStreamStreamJoinOperator: the join operator alone, its state in
// memory (OrderedMemStore), so that what it measures is the operator's
// own work per record — decoding, storing and reading back rows, making
// joined rows — and not Pebble's: Nexmark q20's shape, each auction (10
// columns) followed by 15 bids (7 columns) of it, JSON values, within a
// window nothing leaves. "every column" stores whole rows (q20 reads
// them all); "read columns" stores the few q4 reads (the auction's id,
// category, times; the bid's auction, price, time).
func BenchmarkStreamStreamJoinOperator(b *testing.B) {
	str, big := types.String, types.Bigint
	bidCols := []types.Column{{Name: "AUCTION", Type: big}, {Name: "BIDDER", Type: big}, {Name: "PRICE", Type: big},
		{Name: "CHANNEL", Type: str}, {Name: "URL", Type: str}, {Name: "DATETIME", Type: big}, {Name: "EXTRA", Type: str}}
	aucCols := []types.Column{{Name: "ID", Type: big}, {Name: "ITEMNAME", Type: str}, {Name: "DESCRIPTION", Type: str},
		{Name: "INITIALBID", Type: big}, {Name: "RESERVE", Type: big}, {Name: "DATETIME", Type: big}, {Name: "EXPIRES", Type: big},
		{Name: "SELLER", Type: big}, {Name: "CATEGORY", Type: big}, {Name: "EXTRA", Type: str}}
	for _, tc := range []struct {
		name   string
		stored [2][]int
	}{
		{"every column", [2][]int{nil, nil}},
		{"read columns", [2][]int{{0, 2, 5, 7}, {0, 5, 6, 8, 10}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var sides [2]StreamSide
			for i, cols := range [][]types.Column{bidCols, aucCols} {
				dec, err := NewDecoder(DecoderSpec{Columns: cols, ValueFormat: "JSON"})
				if err != nil {
					b.Fatal(err)
				}
				sides[i] = StreamSide{Decoder: dec, Time: len(cols), Stored: tc.stored[i],
					Keys: []expr.Expr{&expr.Column{Index: 0, Name: cols[0].Name, T: big}}}
			}
			kf, err := serde.NewKeyFormat("KAFKA", []types.Column{{Name: "K", Type: big, Key: true}}, serde.Props{})
			if err != nil {
				b.Fatal(err)
			}
			store := NewOrderedMemStore()
			var pairs int
			var sink int64
			j := &StreamStreamJoin{Spec: &StreamStreamSpec{Sides: sides, Before: 1 << 40, After: 1 << 40, Grace: 1 << 40, Key: kf},
				// No index: the store is in memory already.
				Store: store, IndexBytes: -1, Output: func(row types.Row, ts int64, _ Emit) error {
					// Read a value of each side, as a projection would.
					pairs++
					sink += row[2].Int() + row[len(bidCols)+3+8].Int()
					return nil
				}}
			pad := fmt.Sprintf("%0100d", 0)
			recs := make([]log.Record, b.N)
			inputs := make([]int, b.N)
			for i := range recs {
				ts := int64(i) * 100
				id := int64(i / 16)
				if i%16 == 0 {
					inputs[i] = 1
					recs[i] = log.Record{Timestamp: ts, Offset: int64(i), Value: fmt.Appendf(nil,
						`{"id":%d,"itemName":"item %d","description":"description of %d","initialBid":%d,"reserve":%d,"dateTime":%d,"expires":%d,"seller":%d,"category":%d,"extra":%q}`,
						id, id, id, 100+id, 200+id, ts, ts+10000, id%997, id%5, pad)}
				} else {
					recs[i] = log.Record{Timestamp: ts, Offset: int64(i), Value: fmt.Appendf(nil,
						`{"auction":%d,"bidder":%d,"price":%d,"channel":"Google","url":"https://www.nexmark.com/item.htm?query=%d","dateTime":%d,"extra":%q}`,
						id, i%1009, i, i, ts, pad)}
				}
			}
			processTimed(b, j, recs, inputs)
			if want := b.N - (b.N+15)/16; pairs != want {
				b.Fatalf("%d pairs, want %d", pairs, want)
			}
			b.ReportMetric(float64(store.Bytes())/float64(b.N), "state-bytes/record")
		})
	}
}

// BenchmarkStreamStreamJoinIndexed: the join with its index of recent
// records (a windowIndex beside an in-memory store), in Nexmark q8's
// shape: each person (left, 5 columns) followed by three auctions (right,
// 4 columns) they sell, joined on the person's id, so that nearly every
// join key has one record a side. What it measures is the per-record work
// of storing a record in the index and meeting the other side's records,
// where a join key is new nearly every time.
func BenchmarkStreamStreamJoinIndexed(b *testing.B) {
	sides := personAuctionSides(b, "DATETIME")
	kf, err := serde.NewKeyFormat("KAFKA", []types.Column{{Name: "K", Type: types.Bigint, Key: true}}, serde.Props{})
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]log.Record, b.N)
	inputs := make([]int, b.N)
	for i := range recs {
		ts := int64(i) * 10
		id := int64(i / 4)
		if i%4 == 0 {
			recs[i] = log.Record{Timestamp: ts, Offset: int64(i), Value: fmt.Appendf(nil,
				`{"id":%d,"name":"person %d","emailAddress":"p%d@example.com","city":"Phoenix","dateTime":%d}`, id, id, id, ts)}
		} else {
			inputs[i] = 1
			recs[i] = log.Record{Timestamp: ts, Offset: int64(i), Value: fmt.Appendf(nil,
				`{"seller":%d,"id":%d,"itemName":"item %d","dateTime":%d}`, id, i, i, ts)}
		}
	}
	runPersonsAuctions(b, sides, kf, recs, inputs)
}

// BenchmarkWindowIndexHotKey is the index's per-record work in the shape
// of Nexmark's q4 bids: half the records are the hot join key's, the
// rest spread over 100 keys, and they come from four partitions read in
// batches of 256, so a hot key's record is as a rule a little older than
// the last one it holds (a put that is not an append), and eviction, in
// the order records came, takes a hot key's records out of time order.
// Each put is followed by a scan of the other side for the record's key,
// as a bid's meeting with its auction is. The hot key is one for the
// whole run (sustained), or changes every 800 records as Nexmark's hot
// auction does (rotating).
func BenchmarkWindowIndexHotKey(b *testing.B) {
	for _, every := range []int{0, 800} {
		name := "sustained"
		if every > 0 {
			name = "rotating"
		}
		b.Run(name, func(b *testing.B) { benchmarkWindowIndexHotKey(b, every) })
	}
}

func benchmarkWindowIndexHotKey(b *testing.B, every int) {
	const parts, batch, keys = 4, 256, 100
	ix := newWindowIndex(DefaultJoinIndexBytes)
	prefixes := make([][]byte, keys+1)
	auctions := make([][]byte, keys+1)
	for k := range prefixes {
		id := []byte(fmt.Sprintf("auction-%d", k))
		prefixes[k] = recordPrefix(nil, 1, id)
		auctions[k] = recordPrefix(nil, 0, id)
		ak := appendBE64(binary32(appendTime(append([]byte(nil), auctions[k]...), 0), 0), uint64(k))
		ix.put(0, ak, []byte{rowFormatFlag, 1, 2, 3})
	}
	value := make([]byte, 24)
	value[0] = rowFormatFlag
	var key []byte
	var met int
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Record i of the merged input: batch i/batch of partition
		// (i/batch)%parts, the partitions' records interleaved in time.
		p := (i / batch) % parts
		n := (i/(batch*parts))*batch + i%batch
		ts := int64(n*parts + p)
		k := 0
		if every > 0 {
			k = 1 + (n/every)%keys
		}
		if i%2 == 1 {
			k = 1 + int(uint64(i)*2654435761%keys)
		}
		key = appendBE64(binary32(appendTime(append(key[:0], prefixes[k]...), ts), uint32(p)), uint64(n))
		ix.now = ts
		ix.put(1, key, value)
		ix.scan(0, auctions[k], ts-1000, ts, func(int64, []byte, []byte) bool { met++; return true })
	}
	if met == 0 {
		b.Fatal("no record met its auction")
	}
}

// BenchmarkStreamStreamJoinRepartitioned: Nexmark q8's join as its task
// runs it, both sides read from repartition topics: each person (left)
// followed by three auctions (right) they sell, joined on the id and the
// 10-second window number, a two-column key that the repartitions wrote
// in JSON as the records' keys (their own keys in a header). The join
// takes the written key (KeyBytes) or serializes the one it computes
// again.
func BenchmarkStreamStreamJoinRepartitioned(b *testing.B) {
	for _, written := range []bool{false, true} {
		name := "computed key"
		if written {
			name = "written key"
		}
		b.Run(name, func(b *testing.B) { benchmarkJoinRepartitioned(b, written) })
	}
}

func benchmarkJoinRepartitioned(b *testing.B, written bool) {
	big := types.Bigint
	sides := personAuctionSides(b, "WINDOW")
	for i := range sides {
		w := sides[i].Time - 1
		sides[i].Restore, sides[i].KeyBytes = RestoreKey, written
		sides[i].Keys = append(sides[i].Keys, &expr.Column{Index: w, Name: "WINDOW", T: big})
	}
	kf, err := serde.NewKeyFormat("JSON", []types.Column{{Name: "JOINKEY_0", Type: big, Key: true}, {Name: "JOINKEY_1", Type: big, Key: true}}, serde.Props{})
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]log.Record, b.N)
	inputs := make([]int, b.N)
	for i := range recs {
		ts := int64(i) * 10
		id := int64(i / 4)
		key, err := kf.Encode(types.Row{types.NewBigint(id), types.NewBigint(ts / 40000)})
		if err != nil {
			b.Fatal(err)
		}
		rec := log.Record{Timestamp: ts, Offset: int64(i), Key: append([]byte(nil), key...)}
		if i%4 == 0 {
			rec.Value = fmt.Appendf(nil, `{"id":%d,"name":"person %d","emailAddress":"p%d@example.com","city":"Phoenix","window":%d}`, id, id, id, ts/40000)
		} else {
			inputs[i] = 1
			rec.Value = fmt.Appendf(nil, `{"seller":%d,"id":%d,"itemName":"item %d","window":%d}`, id, i, i, ts/40000)
		}
		rec.Headers = []log.Header{{Key: RepartitionedKey, Value: fmt.Appendf(nil, "%d", i)}}
		recs[i] = rec
	}
	runPersonsAuctions(b, sides, kf, recs, inputs)
}

// runPersonsAuctions times a join of sides within 10 seconds, in memory
// with its index, over recs (of inputs): a person then three auctions of
// theirs, each auction meeting its person.
func runPersonsAuctions(b *testing.B, sides [2]StreamSide, kf serde.KeyFormat, recs []log.Record, inputs []int) {
	var pairs int
	j := &StreamStreamJoin{Spec: &StreamStreamSpec{Sides: sides, Before: 10000, After: 10000, Grace: 0, Key: kf},
		Store: NewOrderedMemStore(), Output: func(row types.Row, ts int64, _ Emit) error {
			pairs++
			return nil
		}}
	processTimed(b, j, recs, inputs)
	if want := len(recs) - (len(recs)+3)/4; pairs != want {
		b.Fatalf("%d pairs, want %d", pairs, want)
	}
}

// processTimed times j's processing of recs (of inputs), in wall and CPU
// time, with its allocations; the timer is stopped when it returns.
func processTimed(b *testing.B, j *StreamStreamJoin, recs []log.Record, inputs []int) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := range recs {
		if err := j.ProcessInput(inputs[i], &recs[i], nil); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
	b.StopTimer()
}

// personAuctionSides are the sides of q8's join: persons (ID, NAME,
// EMAILADDRESS, CITY, last) and auctions (SELLER, ID, ITEMNAME, last),
// JSON values, each keyed by its first column.
func personAuctionSides(b *testing.B, last string) [2]StreamSide {
	str, big := types.String, types.Bigint
	personCols := []types.Column{{Name: "ID", Type: big}, {Name: "NAME", Type: str}, {Name: "EMAILADDRESS", Type: str},
		{Name: "CITY", Type: str}, {Name: last, Type: big}}
	aucCols := []types.Column{{Name: "SELLER", Type: big}, {Name: "ID", Type: big}, {Name: "ITEMNAME", Type: str},
		{Name: last, Type: big}}
	var sides [2]StreamSide
	for i, cols := range [][]types.Column{personCols, aucCols} {
		dec, err := NewDecoder(DecoderSpec{Columns: cols, ValueFormat: "JSON"})
		if err != nil {
			b.Fatal(err)
		}
		sides[i] = StreamSide{Decoder: dec, Time: len(cols),
			Keys: []expr.Expr{&expr.Column{Index: 0, Name: cols[0].Name, T: big}}}
	}
	return sides
}

// BenchmarkWindowIndexManyKeys is the index's per-record work where the
// join keys are many (q4's 60,000 auctions, q8's persons): each record,
// of a key drawn at random among 50,000, meets the other side's records
// of its key (a scan) and is put with its own side's, as a join's match
// and store do; records leave by eviction once the index is full. The
// keys' map is then far larger than the processor's caches, and a lookup
// is a miss as often as not.
func BenchmarkWindowIndexManyKeys(b *testing.B) {
	const keys = 50_000
	ix := newWindowIndex(DefaultJoinIndexBytes / 4)
	var prefixes [2][][]byte
	for s := range 2 {
		for k := range keys {
			prefixes[s] = append(prefixes[s], recordPrefix(nil, s, fmt.Appendf(nil, "key-%d", k)))
		}
	}
	value := make([]byte, 24)
	value[0] = rowFormatFlag
	var key []byte
	var met int
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := range b.N {
		side := i % 2
		k := int(uint64(i) * 2654435761 >> 8 % keys)
		ts := int64(i)
		ix.now = ts
		ix.scan(1-side, prefixes[1-side][k], ts-100000, ts, func(int64, []byte, []byte) bool { met++; return true })
		key = appendBE64(binary32(appendTime(append(key[:0], prefixes[side][k]...), ts), 0), uint64(i))
		ix.put(side, key, value)
	}
	cpu.report(b)
	if met == 0 && b.N > 2*keys {
		b.Fatal("no record met another")
	}
}
