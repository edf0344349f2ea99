package operators

import (
	"bytes"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
)

// TestMaterialize: a table's changes, unwindowed, time-windowed and
// session-windowed, land in the store under MaterializedKey with
// joinPrev's value, a tombstone deleting its key; the scratch buffers
// Materialize reuses from record to record (keys of different lengths
// here) change nothing the store already holds.
func TestMaterialize(t *testing.T) {
	type change struct {
		key, value []byte
		ts         int64
	}
	tw := func(k string, start int64) []byte { return window.AppendTimeWindowedKey(nil, []byte(k), start) }
	sw := func(k string, start, end int64) []byte {
		return window.AppendSessionWindowedKey(nil, []byte(k), window.Window{Start: start, End: end})
	}
	for _, tc := range []struct {
		name    string
		w       *WindowedKey
		changes []change
		deleted [][]byte // keys whose last change is a tombstone
	}{
		{
			name: "unwindowed",
			changes: []change{
				{[]byte(`"a-long-key-first"`), []byte(`{"V":1}`), 10},
				{[]byte(`"b"`), []byte(`{"V":22222222}`), 11},
				{[]byte(`"c"`), []byte(`{"V":3}`), 12},
				{[]byte(`"a-long-key-first"`), []byte(`{"V":4}`), 13},
				{[]byte(`"c"`), nil, 14},
				{[]byte(`""`), []byte(`{}`), 15},
			},
			deleted: [][]byte{[]byte(`"c"`)},
		},
		{
			name: "time windows",
			w:    &WindowedKey{SizeMs: 1000},
			changes: []change{
				{tw("long-key-aaaa", 0), []byte(`{"N":1}`), 5},
				{tw("k", 1000), []byte(`{"N":2}`), 1005},
				{tw("k", 0), []byte(`{"N":3}`), 6},
				{tw("k", 1000), nil, 1006},
			},
			deleted: [][]byte{tw("k", 1000)},
		},
		{
			name: "session windows",
			w:    &WindowedKey{Session: true},
			changes: []change{
				{sw("session-key-long", 0, 50), []byte(`{"N":1}`), 50},
				{sw("s", 100, 100), []byte(`{"N":2}`), 100},
				{sw("s", 100, 100), nil, 120},
				{sw("s", 100, 130), []byte(`{"N":3}`), 130},
			},
			deleted: [][]byte{sw("s", 100, 100)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := state.NewMemStore()
			m := &Materialize{Store: st, Window: tc.w}
			last := map[string]change{}
			for _, c := range tc.changes {
				rec := &log.Record{Key: c.key, Value: c.value, Timestamp: c.ts}
				if err := m.Process(rec, nil); err != nil {
					t.Fatalf("process %q: %v", c.key, err)
				}
				last[string(c.key)] = c
			}
			for k, c := range last {
				sk, err := MaterializedKey([]byte(k), tc.w)
				if err != nil {
					t.Fatal(err)
				}
				v, ok, err := st.Get(sk)
				if err != nil {
					t.Fatal(err)
				}
				if c.value == nil {
					if ok {
						t.Errorf("%q: deleted, yet the store has %q", k, v)
					}
					continue
				}
				if want := joinPrev(c.key, c.value, c.ts); !ok || !bytes.Equal(v, want) {
					t.Errorf("%q: store has %q (%v), want %q", k, v, ok, want)
				}
				if rec := MaterializedRecord(v, 0); !bytes.Equal(rec.Key, c.key) || !bytes.Equal(rec.Value, c.value) || rec.Timestamp != c.ts {
					t.Errorf("%q: read back as %q %q %d", k, rec.Key, rec.Value, rec.Timestamp)
				}
			}
			for _, k := range tc.deleted {
				if c := last[string(k)]; c.value != nil {
					t.Fatalf("test case: %q is not deleted last", k)
				}
			}
		})
	}
	if err := (&Materialize{Store: state.NewMemStore()}).Process(&log.Record{Value: []byte(`{}`)}, nil); err == nil {
		t.Error("a table record without a key was stored")
	}
}
