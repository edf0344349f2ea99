package operators

import (
	"fmt"
	"testing"
)

// TestSeenFilter: every key added is found, in a filter of one layer or
// of several (a layer of any size, as a load sized for a store's keys
// makes); absent keys are found about as rarely as the bits per key
// promise; and each key's bits are in one block of its layer.
func TestSeenFilter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first int // the first layer's keys; 0: seenFirstKeys
		keys  int
		// maxFalse bounds the share of absent keys found, per cent.
		maxFalse float64
	}{
		{name: "one layer, full", keys: seenFirstKeys, maxFalse: 2},
		{name: "one sized layer, full", first: 3000, keys: 3000, maxFalse: 2},
		{name: "a sized layer not of whole blocks", first: 1001, keys: 1001, maxFalse: 2},
		// Layers of 512, 1024, ... 32768 keys, each full but the last:
		// each adds its false positives.
		{name: "seven layers", keys: 40000, maxFalse: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f seenFilter
			if tc.first > 0 {
				f.layers = []bloomLayer{newBloomLayer(tc.first)}
			}
			for i := range tc.keys {
				h := seenHash(fmt.Appendf(nil, "key%d", i))
				// The blocks a key sets bits in, for the first keys
				// (a copy of the layer each).
				var before []uint64
				if n := len(f.layers); i < 2000 && n > 0 && f.layers[n-1].n < f.layers[n-1].limit {
					before = append(before, f.layers[n-1].bits...)
				}
				f.add(h)
				l := f.layers[len(f.layers)-1]
				if before != nil && len(before) == len(l.bits) {
					changed := map[int]bool{}
					for w := range before {
						if before[w] != l.bits[w] {
							changed[w/seenBlockWords] = true
						}
					}
					if len(changed) > 1 {
						t.Fatalf("key%d set bits in %d blocks, want one", i, len(changed))
					}
				}
			}
			for i := range tc.keys {
				if !f.mayHave(seenHash(fmt.Appendf(nil, "key%d", i))) {
					t.Fatalf("key%d was added and is not found", i)
				}
			}
			const absent = 100000
			found := 0
			for i := range absent {
				if f.mayHave(seenHash(fmt.Appendf(nil, "absent%d", i))) {
					found++
				}
			}
			if pct := 100 * float64(found) / absent; pct > tc.maxFalse {
				t.Fatalf("%.2f%% of absent keys found, want at most %.1f%%", pct, tc.maxFalse)
			} else {
				t.Logf("%d layers, %.2f%% of absent keys found", len(f.layers), pct)
			}
		})
	}
}
