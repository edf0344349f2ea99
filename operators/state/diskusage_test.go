package state

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/log"
)

// TestDiskUsage: a store's bytes on disk count its committed writes, even
// those still in the memtable, and not another store's.
func TestDiskUsage(t *testing.T) {
	l := openEmbedded(t, t.TempDir())
	defer l.Close()
	ctx := testCtx(t)
	m := newManager(t, l)
	big, small := open(t, m, Spec{Name: "q/big/0"}), open(t, m, Spec{Name: "q/small/0"})
	defer big.Close()
	defer small.Close()
	// Values that do not compress, so that the bytes on disk follow the
	// bytes written.
	const n, size = 2000, 100
	var encoded int64
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		k := fmt.Sprintf("k%06d", i)
		v := make([]byte, size)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		if err := big.Put([]byte(k), v); err != nil {
			t.Fatal(err)
		}
		encoded += int64(len(k) + len(v))
	}
	put(t, small, "a", "1")
	for _, s := range []*TaskStore{big, small} {
		if err := s.Commit(ctx, log.Txn{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		names    []string
		min, max int64
	}{
		{[]string{"q/big/0"}, encoded / 2, 2 * encoded},
		// An empty store: Pebble's estimate counts the block its range
		// falls in and a share of the table's index and filter, a few
		// blocks at most, far from the big store's bytes.
		{[]string{"q/none/00"}, 0, encoded / 4},
	} {
		got, err := m.DiskUsage(ctx, c.names)
		if err != nil {
			t.Fatalf("DiskUsage(%v): %v", c.names, err)
		}
		if got < c.min || got > c.max {
			t.Errorf("DiskUsage(%v) = %d, want between %d and %d (%d bytes encoded)", c.names, got, c.min, c.max, encoded)
		}
	}
}
