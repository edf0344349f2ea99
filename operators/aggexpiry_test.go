package operators

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// TestAggregatorExpiryLists: a time window's expiry is indexed in a list
// per expiry time and Flush (expiryList), so the store holds far fewer
// expiry entries than windows, and every window still expires at the
// first Flush whose stream time reaches its expiry time, no earlier: the
// store's windows are, after each Flush, exactly those a model keeps. An
// entry of the older kind, one per window, expires as before.
func TestAggregatorExpiryLists(t *testing.T) {
	w := &window.Spec{Kind: window.Hopping, Size: 10 * time.Second, Advance: 2 * time.Second, HasGrace: true, Retention: 30 * time.Second}
	store := state.NewMemStore()
	h := newAggHarness(t, w, false, store)
	// live is the model: each window's state key and its expiry time.
	live := map[string]int64{}
	now := int64(0)
	apply := func(key string, ts int64) {
		t.Helper()
		in := keyInput(t, h.codec, key)
		in.Time, in.Args = ts, [][]types.Value{nil, {types.NewBigint(1)}}
		if err := h.a.Apply(&in, nil); err != nil {
			t.Fatal(err)
		}
		now = max(now, ts)
		for _, win := range w.Assign(ts, nil) {
			if !w.Closed(win, now) {
				if _, ok := live[string(stateKey(in.KeyBytes, &win))]; !ok {
					live[string(stateKey(in.KeyBytes, &win))] = w.ExpireTime(win)
				}
			}
		}
	}
	flush := func() {
		t.Helper()
		if err := h.a.Flush(nil); err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for k, et := range live {
			if now >= et {
				delete(live, k)
				continue
			}
			want = append(want, k)
		}
		if err := store.Scan([]byte{'a'}, []byte{'b'}, func(k, _ []byte) bool {
			got = append(got, string(k))
			return true
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("at %d: the store has %d windows, the model %d", now, len(got), len(want))
		}
	}
	// An entry of the older kind, for a window the store has.
	if err := h.a.init(); err != nil {
		t.Fatal(err)
	}
	old := keyInput(t, h.codec, "old")
	oldWin := w.At(0)
	oldKey := stateKey(old.KeyBytes, &oldWin)
	if err := store.Put(oldKey, encodeState(h.a.fresh(), oldWin.End)); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(append(orderedTime([]byte{'x'}, w.ExpireTime(oldWin)), oldKey...), nil); err != nil {
		t.Fatal(err)
	}
	live[string(oldKey)] = w.ExpireTime(oldWin)
	// 2,000 groups in each of 5 windows in one batch: more than one list
	// entry (maxExpiryListBytes) for an expiry time.
	for g := range 2000 {
		apply(fmt.Sprintf("g%04d", g), 9_000)
	}
	flush()
	if n, x := keysWith(t, store, 'a'), keysWith(t, store, 'x'); n != 5*2000+1 || x < 6 || x > 30 {
		t.Fatalf("%d windows and %d expiry entries, want 10,001 and a few lists", n, x)
	}
	// Stream time moves on by a second at a time: a window expires at the
	// Flush that reaches its expiry time, with the others of its list.
	for ts := int64(10_000); ts <= 70_000; ts += 1_000 {
		for g := range 3 {
			apply(fmt.Sprintf("g%04d", g+int(ts/1000)%7), ts)
		}
		flush()
	}
	if x := keysWith(t, store, 'x'); len(live) == 0 || x == 0 {
		t.Fatalf("%d windows live and %d expiry entries at the end: the test expired everything", len(live), x)
	}
	if _, ok := live[string(oldKey)]; ok {
		t.Fatal("the older kind's window did not expire")
	}
}
