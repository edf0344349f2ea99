package logtest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/runnel/runnel/log"
)

// testRecycle reads a partition handing every batch back as soon as it is
// copied (log.Recycler, for a reader that has it; any other reader is
// read as it is): every record comes back whole and in order, and a batch
// the caller still holds, handed back out of turn, is never written over.
func testRecycle(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 1})
	const total = 1500
	value := func(i int) []byte {
		return append(fmt.Appendf(nil, "v%d-", i), bytes.Repeat([]byte{byte('a' + i%26)}, i%37)...)
	}
	for from := 0; from < total; from += 300 {
		recs := make([]log.Record, 300)
		for i := range recs {
			recs[i] = log.Record{Key: fmt.Appendf(nil, "k%d", from+i), Value: value(from + i), Partition: 0}
		}
		mustAppend(t, l, name, recs)
	}
	r := openReader(t, l, name, 0, 0)
	rc, _ := r.(log.Recycler)
	ctx := waitCtx(t)
	var (
		held     []log.Record // a batch kept, never handed back in turn
		heldCopy []log.Record
		n        int
		batches  int
	)
	for n < total {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d of %d records: %v", n, total, err)
		}
		for _, rec := range recs {
			if rec.Offset != int64(n) || string(rec.Key) != fmt.Sprintf("k%d", n) || !bytes.Equal(rec.Value, value(n)) {
				t.Fatalf("record %d: offset %d key %q value %q", n, rec.Offset, rec.Key, rec.Value)
			}
			n++
		}
		batches++
		switch {
		case batches == 1:
			// Keep the first batch, and hand it back after the second
			// Next, when it is no longer the last: out of turn, so the
			// reader must ignore it.
			held = recs
			for _, rec := range recs {
				heldCopy = append(heldCopy, log.Record{Key: bytes.Clone(rec.Key), Value: bytes.Clone(rec.Value), Offset: rec.Offset})
			}
		case batches == 2 && rc != nil:
			rc.Recycle(held)
		case rc != nil:
			rc.Recycle(recs)
		}
	}
	for i, rec := range held {
		if w := heldCopy[i]; rec.Offset != w.Offset || !bytes.Equal(rec.Key, w.Key) || !bytes.Equal(rec.Value, w.Value) {
			t.Fatalf("record %d of a batch still held changed: %q, was %q", w.Offset, rec.Value, w.Value)
		}
	}
}
