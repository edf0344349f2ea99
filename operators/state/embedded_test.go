package state

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
)

func TestEmbeddedPendingCommitAbortReopen(t *testing.T) {
	dir := t.TempDir()
	l := openEmbedded(t, dir)
	ctx := testCtx(t)
	for _, name := range []string{"in", "out"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	m := newManager(t, l)
	if !m.Shared() {
		t.Fatal("manager over the embedded log is not shared")
	}
	s := open(t, m, Spec{Name: "q/agg/0"})
	r := m.Reader("q/agg/0")

	put(t, s, "b", "2")
	put(t, s, "a", "1")
	put(t, s, "c", "3")
	put(t, s, "a", "1bis")
	del(t, s, "c")
	wantGet(t, s, "a", "1bis", true)
	wantGet(t, s, "c", "", false)
	if got, want := dump(t, s, nil, nil), []string{"a=1bis", "b=2"}; !slices.Equal(got, want) {
		t.Fatalf("pending Scan = %v, want %v", got, want)
	}
	if s.Pending() != 5 {
		t.Fatalf("Pending = %d, want 5", s.Pending())
	}
	// Readers see committed state only.
	wantGet(t, r, "a", "", false)

	txn := log.Txn{
		Group:   "g",
		Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Key: []byte("a"), Value: []byte("x"), Partition: 0}}},
		Offsets: map[log.TopicPartition]int64{{Topic: "in", Partition: 0}: 7},
	}
	if err := s.Commit(ctx, txn); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending after Commit = %d", s.Pending())
	}
	wantGet(t, r, "a", "1bis", true)
	if got, want := dump(t, r, nil, nil), []string{"a=1bis", "b=2"}; !slices.Equal(got, want) {
		t.Fatalf("Reader Scan after Commit = %v, want %v", got, want)
	}
	if ends, _ := l.EndOffsets(ctx, "out"); ends[0] != 1 {
		t.Fatalf("out end offset = %d, want 1", ends[0])
	}
	if offs, _ := l.CommittedOffsets(ctx, "g", "in"); offs[0] != 7 {
		t.Fatalf("committed offsets = %v, want 7", offs)
	}

	// Abort drops pending writes, committed ones stay.
	put(t, s, "a", "lost")
	del(t, s, "b")
	s.Abort()
	wantGet(t, s, "a", "1bis", true)
	wantGet(t, s, "b", "2", true)

	// A failing commit (unknown topic) writes neither records nor state,
	// drops the pending writes, and leaves the store usable.
	put(t, s, "z", "lost")
	bad := log.Txn{Records: []log.ProduceRecord{{Topic: "missing", Record: log.Record{Value: []byte("x"), Partition: 0}}}}
	if err := s.Commit(ctx, bad); !errors.Is(err, log.ErrUnknownTopic) {
		t.Fatalf("Commit to a missing topic = %v, want ErrUnknownTopic", err)
	}
	wantGet(t, s, "z", "", false)
	wantGet(t, r, "z", "", false)
	put(t, s, "d", "4")
	if err := s.Commit(ctx, log.Txn{}); err != nil {
		t.Fatalf("Commit without records: %v", err)
	}

	// Only one TaskStore per name.
	if _, err := m.Open(ctx, Spec{Name: "q/agg/0"}); !errors.Is(err, ErrStoreOpen) {
		t.Fatalf("second Open = %v, want ErrStoreOpen", err)
	}
	s.Close()
	if err := s.Put([]byte("k"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}

	// State survives reopening the log.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openEmbedded(t, dir)
	defer l.Close()
	m = newManager(t, l)
	s = open(t, m, Spec{Name: "q/agg/0"})
	defer s.Close()
	if got, want := dump(t, s, nil, nil), []string{"a=1bis", "b=2", "d=4"}; !slices.Equal(got, want) {
		t.Fatalf("Scan after reopen = %v, want %v", got, want)
	}
}

func TestStoresAreIsolated(t *testing.T) {
	l := openEmbedded(t, t.TempDir())
	defer l.Close()
	ctx := testCtx(t)
	m := newManager(t, l)
	a1 := open(t, m, Spec{Name: "a/1"})
	defer a1.Close()
	a10 := open(t, m, Spec{Name: "a/10"})
	defer a10.Close()

	put(t, a1, "0k", "in a/1")
	put(t, a1, "x", "in a/1")
	put(t, a10, "k", "in a/10")
	put(t, a10, "", "empty key in a/10")
	for _, s := range []*TaskStore{a1, a10} {
		if err := s.Commit(ctx, log.Txn{}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := dump(t, a1, nil, nil), []string{"0k=in a/1", "x=in a/1"}; !slices.Equal(got, want) {
		t.Fatalf("a/1 = %v, want %v", got, want)
	}
	if got, want := dump(t, m.Reader("a/10"), nil, nil), []string{"=empty key in a/10", "k=in a/10"}; !slices.Equal(got, want) {
		t.Fatalf("a/10 = %v, want %v", got, want)
	}
	wantGet(t, a1, "k", "", false)
	wantGet(t, m.Reader("a"), "/10k", "", false)

	// Bounds, and stopping early.
	if got, want := dump(t, a1, []byte("1"), []byte("y")), []string{"x=in a/1"}; !slices.Equal(got, want) {
		t.Fatalf("a/1 [1, y) = %v, want %v", got, want)
	}
	n := 0
	if err := a1.Scan(nil, nil, func(k, v []byte) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("stopped Scan visited %d, err %v", n, err)
	}

	// Writing during a Scan (a window operator expiring what it scans) is
	// allowed; the Scan does not see those writes.
	err := a1.Scan(nil, nil, func(k, v []byte) bool {
		if err := a1.Delete(k); err != nil {
			t.Fatal(err)
		}
		if err := a1.Put(append([]byte("zz"), k...), v); err != nil {
			t.Fatal(err)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dump(t, a1, nil, nil), []string{"zz0k=in a/1", "zzx=in a/1"}; !slices.Equal(got, want) {
		t.Fatalf("a/1 after rewriting during Scan = %v, want %v", got, want)
	}
	a1.Abort()

	// Drop needs the store closed, and removes only that store.
	if err := m.Drop(ctx, "a/1"); !errors.Is(err, ErrStoreOpen) {
		t.Fatalf("Drop of an open store = %v, want ErrStoreOpen", err)
	}
	a1.Close()
	if err := m.Drop(ctx, "a/1"); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if got := dump(t, m.Reader("a/1"), nil, nil); len(got) != 0 {
		t.Fatalf("a/1 after Drop = %v", got)
	}
	if got := dump(t, a10, nil, nil); len(got) != 2 {
		t.Fatalf("a/10 after dropping a/1 = %v", got)
	}
	// No state key ever lands outside the state prefix.
	it, _ := l.DB().NewIter(&pebble.IterOptions{LowerBound: []byte{embedded.StatePrefix}, UpperBound: []byte{embedded.StatePrefix + 1}})
	defer it.Close()
	keys := 0
	for it.First(); it.Valid(); it.Next() {
		keys++
	}
	if keys != 2 {
		t.Fatalf("%d keys under the state prefix, want 2", keys)
	}
}

func TestReaderConcurrentWithTask(t *testing.T) {
	l := openEmbedded(t, t.TempDir())
	defer l.Close()
	ctx := testCtx(t)
	m := newManager(t, l)
	s := open(t, m, Spec{Name: "t/0"})
	defer s.Close()
	r := m.Reader("t/0")

	// The task writes every key of a round with the same value and commits
	// the round at once, so a reader must never see two values mixed.
	const keys, rounds = 20, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var first []byte
			n := 0
			err := r.Scan(nil, nil, func(k, v []byte) bool {
				if first == nil {
					first = bytes.Clone(v)
				}
				if !bytes.Equal(v, first) {
					errs <- fmt.Errorf("torn read: %q then %q", first, v)
					return false
				}
				n++
				return true
			})
			if err == nil && n != 0 && n != keys {
				err = fmt.Errorf("reader saw %d keys, want 0 or %d", n, keys)
			}
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
		}
	}()
	for round := range rounds {
		for k := range keys {
			put(t, s, fmt.Sprintf("k%02d", k), fmt.Sprint(round))
		}
		if err := s.Commit(ctx, log.Txn{}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	wantGet(t, r, "k00", fmt.Sprint(rounds-1), true)
}

func TestOptions(t *testing.T) {
	l := openEmbedded(t, t.TempDir())
	defer l.Close()
	other, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := NewManager(Options{Log: l, DB: other}); err == nil {
		t.Fatal("NewManager accepted a database other than the embedded log's")
	}
	if _, err := NewManager(Options{DB: other}); err == nil {
		t.Fatal("NewManager accepted no log")
	}
	if m, err := NewManager(Options{Log: l, DB: l.DB()}); err != nil || !m.Shared() {
		t.Fatalf("NewManager with the log's own DB = %v", err)
	}
}

func TestMemStore(t *testing.T) {
	s := NewMemStore()
	put(t, s, "b", "2")
	put(t, s, "a", "1")
	put(t, s, "c", "")
	del(t, s, "b")
	wantGet(t, s, "a", "1", true)
	wantGet(t, s, "b", "", false)
	wantGet(t, s, "c", "", true)
	if got, want := dump(t, s, nil, nil), []string{"a=1", "c="}; !slices.Equal(got, want) {
		t.Fatalf("Scan = %v, want %v", got, want)
	}
	if got, want := dump(t, s, []byte("b"), []byte("d")), []string{"c="}; !slices.Equal(got, want) {
		t.Fatalf("Scan [b, d) = %v, want %v", got, want)
	}
	v, _, _ := s.Get([]byte("a"))
	v[0] = 'X'
	wantGet(t, s, "a", "1", true)
}

// TestScanIteratorReused: Scan keeps one iterator over the pending writes
// between scans; each Scan still sees every write made before it (the
// iterator's view is refreshed), none made by its fn, its own bounds
// only, and a Scan from inside another's fn works beside it. Across
// Commit and Abort the iterator is dropped with the writes it read.
func TestScanIteratorReused(t *testing.T) {
	dir := t.TempDir()
	l := openEmbedded(t, dir)
	ctx := testCtx(t)
	for _, name := range []string{"in", "out"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	m := newManager(t, l)
	s := open(t, m, Spec{Name: "q/join/0"})
	want := func(start, end string, w ...string) {
		t.Helper()
		var lo, hi []byte
		if start != "" {
			lo = []byte(start)
		}
		if end != "" {
			hi = []byte(end)
		}
		if got := dump(t, s, lo, hi); !slices.Equal(got, w) {
			t.Fatalf("Scan [%q, %q) = %v, want %v", start, end, got, w)
		}
	}
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	want("", "", "a=1", "b=2")
	it := s.it
	if it == nil {
		t.Fatal("Scan kept no iterator")
	}
	put(t, s, "c", "3")
	del(t, s, "a")
	want("", "", "b=2", "c=3")
	want("c", "", "c=3")
	want("", "c", "b=2")
	if s.it != it {
		t.Fatal("Scan made a new iterator instead of reusing its own")
	}

	// Writes by fn are not seen by its Scan; a nested Scan sees them.
	var outer, inner []string
	err := s.Scan(nil, nil, func(k, v []byte) bool {
		outer = append(outer, string(k))
		if string(k) == "b" {
			put(t, s, "d", "4")
			if err := s.Scan([]byte("c"), nil, func(k, _ []byte) bool {
				inner = append(inner, string(k))
				return true
			}); err != nil {
				t.Fatal(err)
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(outer, []string{"b", "c"}) || !slices.Equal(inner, []string{"c", "d"}) {
		t.Fatalf("outer scan %v (want b c), nested %v (want c d)", outer, inner)
	}
	want("", "", "b=2", "c=3", "d=4")

	txn := log.Txn{Group: "g", Offsets: map[log.TopicPartition]int64{{Topic: "in", Partition: 0}: 1}}
	if err := s.Commit(ctx, txn); err != nil {
		t.Fatal(err)
	}
	if s.it != nil {
		t.Fatal("the iterator outlived the batch it read")
	}
	want("", "", "b=2", "c=3", "d=4")
	put(t, s, "e", "5")
	want("d", "", "d=4", "e=5")
	s.Abort()
	if s.it != nil {
		t.Fatal("the iterator outlived Abort")
	}
	want("", "", "b=2", "c=3", "d=4")
	s.Close()
}
