package operators

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/operators/state"
)

// joinReadCounter counts the reads that reach a store.
type joinReadCounter struct {
	*state.MemStore
	gets, scans int
}

func (s *joinReadCounter) Get(key []byte) ([]byte, bool, error) {
	s.gets++
	return s.MemStore.Get(key)
}

func (s *joinReadCounter) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	s.scans++
	return s.MemStore.Scan(start, end, fn)
}

// TestTableJoinStoreModel: random writes, deletes and reads through the
// cache, small enough to turn its generations over many times, read what
// a plain map holds, and what the store beneath holds too; a Recover
// after the store lost writes reads the store again.
func TestTableJoinStoreModel(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 3))
		under := &joinReadCounter{MemStore: state.NewMemStore()}
		// Keys the store held before the task started.
		model := map[string]string{}
		for i := range 20 {
			k, v := fmt.Sprintf("k%02d", i*3), fmt.Sprintf("old%d", i)
			model[k] = v
			if err := under.Put([]byte(k), []byte(v)); err != nil {
				t.Fatal(err)
			}
		}
		s := &TableJoinStore{Store: under, CacheBytes: 1000}
		for step := range 3000 {
			k := fmt.Sprintf("k%02d", rng.IntN(64))
			switch op := rng.IntN(10); {
			case op < 3:
				v := fmt.Sprintf("v%d-%s", step, k)
				if err := s.Put([]byte(k), []byte(v)); err != nil {
					t.Fatal(err)
				}
				model[k] = v
			case op < 5:
				if err := s.Delete([]byte(k)); err != nil {
					t.Fatal(err)
				}
				delete(model, k)
			case op == 5 && step%100 == 5:
				// The store drops writes (a failed commit) and the join
				// recovers: what the cache held is forgotten.
				under.MemStore = state.NewMemStore()
				model = map[string]string{}
				s.Recover()
			default:
				v, ok, err := s.Get([]byte(k))
				if err != nil {
					t.Fatal(err)
				}
				want, wok := model[k]
				if ok != wok || string(v) != want {
					t.Fatalf("seed %d step %d: Get(%s) = %q %v, want %q %v", seed, step, k, v, ok, want, wok)
				}
				if ok {
					v[0] = 'X' // the caller's: the cache must not see this
				}
			}
			if held := s.cacheBytes(); held > 1000 {
				t.Fatalf("seed %d step %d: the cache holds %d bytes, over its 1000", seed, step, held)
			}
		}
		for k, want := range model {
			v, ok, err := under.MemStore.Get([]byte(k))
			if err != nil || !ok || string(v) != want {
				t.Fatalf("seed %d: the store holds %s = %q %v, want %q", seed, k, v, ok, want)
			}
		}
		if under.Len() != len(model) {
			t.Fatalf("seed %d: the store holds %d keys, want %d", seed, under.Len(), len(model))
		}
	}
}

// TestTableJoinStoreSparesReads: a key the store never held, and one read
// or written recently, are answered without reading the store; the
// filter is loaded once, with the keys the store held already.
func TestTableJoinStoreSparesReads(t *testing.T) {
	under := &joinReadCounter{MemStore: state.NewMemStore()}
	if err := under.Put([]byte("before"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	s := &TableJoinStore{Store: under}
	get := func(k string) (string, bool) {
		t.Helper()
		v, ok, err := s.Get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		return string(v), ok
	}
	for i := range 1000 {
		if _, ok := get(fmt.Sprintf("new%d", i)); ok {
			t.Fatalf("new%d is present", i)
		}
	}
	if under.scans != 1 || under.gets > 30 {
		t.Fatalf("1000 absent keys: %d scans and %d reads of the store, want 1 scan and about 1%% of the keys read", under.scans, under.gets)
	}
	if v, ok := get("before"); !ok || v != "1" {
		t.Fatalf("a key the store held before: %q %v", v, ok)
	}
	under.gets = 0
	if err := s.Put([]byte("x"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete([]byte("before")); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if v, ok := get("x"); !ok || v != "2" {
			t.Fatalf("x: %q %v", v, ok)
		}
		if _, ok := get("before"); ok {
			t.Fatal("a deleted key is present")
		}
	}
	if under.gets != 0 {
		t.Fatalf("%d reads of the store for keys just written", under.gets)
	}
	// After Recover the filter is loaded again, with what the store holds.
	s.Recover()
	if v, ok := get("x"); !ok || v != "2" || under.scans != 2 {
		t.Fatalf("after Recover: x = %q %v, %d scans", v, ok, under.scans)
	}
}

// cacheBytes is what s's cache holds, both generations.
func (s *TableJoinStore) cacheBytes() int {
	if s.cache == nil {
		return 0
	}
	return s.cache.youngBytes + s.cache.oldBytes
}
