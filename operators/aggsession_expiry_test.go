package operators

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
)

// indexCountingStore counts the writes to a store's expiry index.
type indexCountingStore struct {
	state.Store
	puts, deletes int
}

func (s *indexCountingStore) Put(k, v []byte) error {
	if len(k) > 0 && k[0] == 'x' {
		s.puts++
	}
	return s.Store.Put(k, v)
}

func (s *indexCountingStore) Delete(k []byte) error {
	if len(k) > 0 && k[0] == 'x' {
		s.deletes++
	}
	return s.Store.Delete(k)
}

// storedSessions lists the sessions in a store as "key start-end", and
// its expiry entries as "x time start" (the time and the session start),
// but for key "z"'s, whose records only move stream time on.
func storedSessions(t *testing.T, h *aggHarness, s state.Store) (sessions, entries []string) {
	t.Helper()
	keyOf := func(sk []byte) (string, int64) {
		kb, start, err := parseStateKey(sk)
		if err != nil {
			t.Fatal(err)
		}
		key, err := h.codec.DecodeKey(kb)
		if err != nil {
			t.Fatal(err)
		}
		return key[0].Str(), start
	}
	err := s.Scan([]byte{'a'}, []byte{'b'}, func(k, v []byte) bool {
		key, start := keyOf(k)
		if key == "z" {
			return true
		}
		_, end, err := h.a.decodeState(v)
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, fmt.Sprintf("%s %d-%d", key, start, end))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Scan([]byte{'x'}, []byte{'y'}, func(k, _ []byte) bool {
		key, start := keyOf(k[9:])
		if key == "z" {
			return true
		}
		entries = append(entries, fmt.Sprintf("x %d %d", int64(be64(k[1:9])^1<<63), start))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return sessions, entries
}

// expectStored checks the sessions and expiry entries in a store.
func expectStored(t *testing.T, h *aggHarness, s state.Store, wantSessions, wantEntries []string) {
	t.Helper()
	sessions, entries := storedSessions(t, h, s)
	if !slices.Equal(sessions, wantSessions) || !slices.Equal(entries, wantEntries) {
		t.Fatalf("stored:\n got %q %q\nwant %q %q", sessions, entries, wantSessions, wantEntries)
	}
}

// TestAggregatorSessionExpiryEntries: a session's expiry entry is written
// once, when the session starts, and stays while the session grows or
// merges others, whose entries it keeps; when an entry comes due, the
// session it stands for (the one of its state key, or the one that covers
// its start) expires, or the entry moves to that session's real expiry.
// Each session expires when its real end says, and the index is empty
// once every session has.
func TestAggregatorSessionExpiryEntries(t *testing.T) {
	// Gap 5 s and grace 20 s: a session ending at e expires at
	// e + 2*5,000 + 20,000 + 1 (expireTime).
	w := &window.Spec{Kind: window.Session, Gap: 5 * time.Second, Grace: 20 * time.Second, HasGrace: true}
	store := &indexCountingStore{Store: state.NewMemStore()}
	h := newAggHarness(t, w, false, store)
	for ts := int64(0); ts <= 9_000; ts += 1_000 {
		h.add("a", 1, ts)
	}
	if store.puts != 1 || store.deletes != 0 {
		t.Fatalf("a session grown by ten records wrote %d index entries and deleted %d, want 1 and 0", store.puts, store.deletes)
	}
	expectStored(t, h, store, []string{"a 0-9000"}, []string{"x 30001 0"})

	// Two sessions of b, bridged by a third record: the merged one keeps
	// the first one's state key, and both entries. A session of c that a
	// record extends backwards gets a new state key, and keeps the entry
	// of its old one.
	h.add("b", 1, 10_000)
	h.add("b", 1, 18_000)
	h.add("b", 1, 14_000)
	h.add("c", 1, 20_000)
	h.add("c", 1, 17_000)
	if store.puts != 4 || store.deletes != 0 {
		t.Fatalf("%d index entries written and %d deleted, want 4 and 0", store.puts, store.deletes)
	}
	expectStored(t, h, store,
		[]string{"a 0-9000", "b 10000-18000", "c 17000-20000"},
		[]string{"x 30001 0", "x 40001 10000", "x 48001 18000", "x 50001 20000"})

	// a's entry comes due: a has grown since, and its entry moves to its
	// real expiry, 39,001. (Key z's records move stream time.)
	h.add("z", 1, 30_001)
	expectStored(t, h, store,
		[]string{"a 0-9000", "b 10000-18000", "c 17000-20000"},
		[]string{"x 39001 0", "x 40001 10000", "x 48001 18000", "x 50001 20000"})
	h.add("z", 1, 39_000)
	expectStored(t, h, store,
		[]string{"a 0-9000", "b 10000-18000", "c 17000-20000"},
		[]string{"x 39001 0", "x 40001 10000", "x 48001 18000", "x 50001 20000"})
	h.add("z", 1, 39_001) // a expires
	expectStored(t, h, store,
		[]string{"b 10000-18000", "c 17000-20000"},
		[]string{"x 40001 10000", "x 48001 18000", "x 50001 20000"})
	// b's first entry moves to its real expiry, 48,001, where its
	// second one is, which then expires it; the first one then stands
	// for no session, and goes.
	h.add("z", 1, 40_001)
	expectStored(t, h, store,
		[]string{"b 10000-18000", "c 17000-20000"},
		[]string{"x 48001 10000", "x 48001 18000", "x 50001 20000"})
	h.add("z", 1, 48_001)
	expectStored(t, h, store, []string{"c 17000-20000"}, []string{"x 50001 20000"})
	// c's entry, under its old state key, expires it.
	h.add("z", 1, 50_000)
	expectStored(t, h, store, []string{"c 17000-20000"}, []string{"x 50001 20000"})
	h.add("z", 1, 50_001)
	expectStored(t, h, store, nil, nil)
	// Only z's sessions are left, one entry each.
	if n, x := keysWith(t, store, 'a'), keysWith(t, store, 'x'); n != x {
		t.Fatalf("%d sessions and %d expiry entries left, want as many", n, x)
	}
}

// TestAggregatorSessionEntryOutOfCache: an entry whose session was merged
// into one with an earlier start finds that session in the store when
// the cache no longer holds its group (a restarted task).
func TestAggregatorSessionEntryOutOfCache(t *testing.T) {
	w := &window.Spec{Kind: window.Session, Gap: 5 * time.Second, Grace: 20 * time.Second, HasGrace: true}
	store := state.NewMemStore()
	h := newAggHarness(t, w, false, store)
	h.add("c", 1, 20_000)
	h.add("c", 1, 17_000)
	h.add("c", 1, 23_000)
	h = newAggHarness(t, w, false, store)
	h.add("z", 1, 50_001) // c's entry: c lives on, to 53,001
	expectStored(t, h, store, []string{"c 17000-23000"}, []string{"x 53001 17000"})
	h = newAggHarness(t, w, false, store)
	h.add("z", 1, 53_001)
	expectStored(t, h, store, nil, nil)
}

// TestAggregatorSessionOldIndexLayout: state written by a binary whose
// expiry entries moved with each session's end (an entry at the exact
// expiry of the session's window, the old one deleted) is read by this
// one after a restart over the same Pebble database: the session is
// extended, expires at its real end's expiry and not before, and leaves
// no entry behind.
func TestAggregatorSessionOldIndexLayout(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	w := &window.Spec{Kind: window.Session, Gap: 5 * time.Second, Grace: 20 * time.Second, HasGrace: true}
	open := func() (*embedded.Log, *state.TaskStore) {
		t.Helper()
		l, err := embedded.Open(embedded.Options{Dir: dir, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		m, err := state.NewManager(state.Options{Log: l, DB: l.DB(), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.Open(ctx, state.Spec{Name: "q11/0"})
		if err != nil {
			t.Fatal(err)
		}
		return l, s
	}
	commit := func(s *state.TaskStore) {
		t.Helper()
		if err := s.Commit(ctx, log.Txn{Group: "g"}); err != nil {
			t.Fatal(err)
		}
	}

	l, s := open()
	h := newAggHarness(t, w, false, s)
	h.add("a", 1, 0)
	h.add("a", 2, 3_000)
	h.expect("a 0 0 1 1", "-a", "a 0 3000 2 3")
	// The old layout: the entry moved with the end, from [0,0]'s expiry
	// (30,001) to [0,3000]'s (33,001).
	sk := stateKey(keyInput(t, h.codec, "a").KeyBytes, &window.Window{Start: 0})
	if err := s.Delete(append(orderedTime([]byte{'x'}, 30_001), sk...)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(append(orderedTime([]byte{'x'}, 33_001), sk...), nil); err != nil {
		t.Fatal(err)
	}
	commit(s)
	expectStored(t, h, s, []string{"a 0-3000"}, []string{"x 33001 0"})
	s.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Restarted on this binary.
	l, s = open()
	defer func() {
		s.Close()
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}()
	h = newAggHarness(t, w, false, s)
	h.add("a", 4, 6_000)
	h.expect("-a", "a 0 6000 3 7")
	commit(s)
	expectStored(t, h, s, []string{"a 0-6000"}, []string{"x 33001 0"})
	h.add("z", 1, 33_001) // the old entry comes due: a lives on, to 36,001
	commit(s)
	expectStored(t, h, s, []string{"a 0-6000"}, []string{"x 36001 0"})
	h.add("z", 1, 36_000)
	commit(s)
	expectStored(t, h, s, []string{"a 0-6000"}, []string{"x 36001 0"})
	h.add("z", 1, 36_001)
	commit(s)
	expectStored(t, h, s, nil, nil)
}

// TestAggregatorSessionExpiryModel: random records, in and out of order,
// over a few keys, with a session cache small enough that groups leave
// it: after every flush the store holds exactly the sessions a model
// built from the window package's rules holds (none expired late, none
// early), each with an expiry entry that stands for it no later than its
// expiry; once stream time passes them all, no session and no entry is
// left.
func TestAggregatorSessionExpiryModel(t *testing.T) {
	w := &window.Spec{Kind: window.Session, Gap: 5 * time.Second, Grace: 2 * time.Second, HasGrace: true}
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		store := state.NewMemStore()
		h := newAggHarness(t, w, false, store)
		h.a.CacheBytes = 600 // a few groups' sessions
		model := map[string][]window.Window{}
		now, seen := int64(0), false
		clock := int64(0)
		for i := range 400 {
			clock += rng.Int64N(3_000)
			ts := clock - rng.Int64N(9_000) // up to 9 s out of order
			key := string(rune('a' + rng.IntN(5)))
			if !seen || ts > now {
				now, seen = ts, true
			}
			if !w.Late(ts, now) {
				var touching []window.Window
				var rest []window.Window
				for _, s := range model[key] {
					if window.SessionTouches(w.Gap, ts, s) {
						touching = append(touching, s)
					} else {
						rest = append(rest, s)
					}
				}
				merged := window.MergeSession(w.Gap, ts, touching)
				late := w.Closed(merged, now)
				for _, s := range touching {
					late = late || w.Closed(s, now)
				}
				if !late {
					model[key] = append(rest, merged)
				}
			}
			h.add(key, 1, ts)
			h.out = nil
			for k, list := range model {
				list = slices.DeleteFunc(list, func(s window.Window) bool { return h.a.expireTime(s) <= now })
				model[k] = list
			}
			checkSessionStore(t, h, store, model, fmt.Sprintf("seed %d record %d", seed, i))
		}
		h.add("z", 1, clock+1_000_000)
		if n, x := keysWith(t, store, 'a'), keysWith(t, store, 'x'); n != 1 || x != 1 {
			t.Fatalf("seed %d: %d sessions and %d entries left, want z's one of each", seed, n, x)
		}
	}
}

// checkSessionStore compares the sessions in a store with a model's and
// checks that each has an expiry entry that stands for it: one of its
// state key, or of a state key of its group that it covers, due no later
// than it expires.
func checkSessionStore(t *testing.T, h *aggHarness, s state.Store, model map[string][]window.Window, where string) {
	t.Helper()
	var want []string
	for k, list := range model {
		for _, w := range list {
			want = append(want, fmt.Sprintf("%s %d-%d", k, w.Start, w.End))
		}
	}
	slices.Sort(want)
	got, _ := storedSessions(t, h, s)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: stored sessions\n got %q\nwant %q", where, got, want)
	}
	type entry struct {
		key   string
		start int64
		at    int64
	}
	var entries []entry
	err := s.Scan([]byte{'x'}, []byte{'y'}, func(k, _ []byte) bool {
		kb, start, err := parseStateKey(k[9:])
		if err != nil {
			t.Fatal(err)
		}
		key, err := h.codec.DecodeKey(kb)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{key[0].Str(), start, int64(be64(k[1:9]) ^ 1<<63)})
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, list := range model {
		for _, w := range list {
			ok := slices.ContainsFunc(entries, func(e entry) bool {
				return e.key == k && w.Start <= e.start && e.start <= w.End && e.at <= h.a.expireTime(w)
			})
			if !ok {
				t.Fatalf("%s: session %s [%d,%d] has no entry due by %d among %v", where, k, w.Start, w.End, h.a.expireTime(w), entries)
			}
		}
	}
}
