//go:build invariants

package embedded

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/runnel/runnel/log"
)

// TestReaderRecyclePoisons: under the invariants tag (make test), the
// bytes of a batch handed back read as poison at once, so that a caller
// that recycles a batch while it still holds views of it (a processor
// whose recycleBatch is wrong) reads garbage in every test rather than
// only when a later batch happens to land on the same bytes. A batch not
// handed back is left alone, and the next batch read into the poisoned
// memory is the log's.
func TestReaderRecyclePoisons(t *testing.T) {
	ctx := ctxT(t)
	val := func(i int) string { return fmt.Sprintf("value %04d", i) }
	rr := recycleReader(ctx, t, 300, func(i int) []byte { return []byte(val(i)) })
	r, rc := log.Reader(rr), log.Recycler(rr)
	first, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// What a careless caller kept: views of the batch's bytes.
	key, value := first[3].Key, first[3].Value
	if string(value) != val(3) {
		t.Fatalf("offset 3: %q", value)
	}
	rc.Recycle(first)
	poisoned := bytes.Repeat([]byte{poisonByte}, len(value))
	if !bytes.Equal(value, poisoned) || !bytes.Equal(key, poisoned[:len(key)]) {
		t.Fatalf("a recycled batch's bytes still read %q %q", key, value)
	}
	second, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range second {
		if string(rec.Value) != val(int(rec.Offset)) {
			t.Fatalf("offset %d read into recycled memory: %q", rec.Offset, rec.Value)
		}
	}
	if &second[0].Value[0] != &first[0].Value[0] {
		t.Fatalf("the second batch was not read into the first's memory")
	}
	// A batch not handed back (an earlier one) is not poisoned.
	third, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc.Recycle(second)
	for _, rec := range second {
		if string(rec.Value) != val(int(rec.Offset)) {
			t.Fatalf("offset %d of a batch not handed back changed: %q", rec.Offset, rec.Value)
		}
	}
	if len(third) == 0 || string(third[0].Value) != val(int(third[0].Offset)) {
		t.Fatalf("the third batch: %v", third)
	}
}
