package operators

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// TestWindowIndex: what a side holds completely (from) as the budget
// drops its oldest records, from the larger side; replacing, deleting and
// the bytes it counts.
func TestWindowIndex(t *testing.T) {
	key := func(side int, k string, ts int64, off int64) []byte {
		return appendBE64(binary32(appendTime(recordPrefix(nil, side, []byte(k)), ts), 0), uint64(off))
	}
	// A record costs its place and value: its join key and time are its
	// key's.
	entry := func(_, v []byte) int { return placeBytes + len(v) + indexEntryBytes }
	k1, k2, k3 := key(0, "a", 10, 1), key(0, "a", 20, 2), key(0, "b", 15, 3)
	r1 := key(1, "a", 12, 1)
	v := []byte{rowFormatFlag, 0}
	// Room for three records.
	ix := newWindowIndex(3 * entry(k1, v))
	for _, k := range [][]byte{k1, k2, k3} {
		ix.put(0, k, v)
	}
	if !ix.covers(0, math.MinInt64) || ix.bytes != 3*entry(k1, v) {
		t.Fatalf("three records: from %d, bytes %d", ix.side[0].from, ix.bytes)
	}
	// A fourth, on the smaller side: the larger side's oldest goes.
	ix.put(1, r1, v)
	if ix.covers(0, 10) || !ix.covers(0, 11) || !ix.covers(1, math.MinInt64) {
		t.Errorf("after an eviction: from %d and %d, want 11 and the start", ix.side[0].from, ix.side[1].from)
	}
	if _, ok := ix.get(0, k1); ok {
		t.Error("the oldest record is still held")
	}
	// A record older than what the side holds completely is not taken.
	ix.put(0, key(0, "a", 5, 9), v)
	if ix.count(0) != 2 {
		t.Errorf("a record older than from was taken: %d records", ix.count(0))
	}
	// Replacing keeps the count; deleting frees the bytes.
	ix.put(0, k3, []byte{rowFormatFlag | matchedFlag, 0})
	if got, _ := ix.get(0, k3); got[0]&matchedFlag == 0 {
		t.Error("the replaced value was not kept")
	}
	ix.delete(0, k3)
	ix.delete(0, k3)
	if ix.bytes != entry(k2, v)+entry(r1, v) {
		t.Errorf("bytes %d after a delete, want %d", ix.bytes, entry(k2, v)+entry(r1, v))
	}
	var got []string
	prefix := recordPrefix(nil, 0, []byte("a"))
	ix.scanKeys(0, prefix, math.MinInt64, math.MaxInt64, func(k, _ []byte) bool {
		got = append(got, fmt.Sprint(readTime(k[len(k)-placeLen:])))
		return true
	})
	if strings.Join(got, ",") != "20" {
		t.Errorf("scan of a: %v", got)
	}
	// A budget too small for one record holds none, and covers nothing.
	tiny := newWindowIndex(1)
	tiny.put(0, k1, v)
	if tiny.count(0) != 0 || tiny.bytes != 0 || tiny.covers(0, 10) {
		t.Errorf("a tiny budget: %d records, %d bytes", tiny.count(0), tiny.bytes)
	}
}

func binary32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// TestStreamStreamJoinIndexAgrees: the index changes no row. A random
// mix of records, out of order within the grace, some late, over a few
// keys, through every join type and an extra condition, gives the same
// rows with no index (every match scans the store), with the default one,
// and with budgets so small that the index keeps dropping records — and
// when the join restarts over its store midway, or recovers, or a
// record's processing stops halfway.
func TestStreamStreamJoinIndexAgrees(t *testing.T) {
	for _, tp := range []string{"inner", "left", "right", "full"} {
		for seed := range uint64(4) {
			rng := rand.New(rand.NewPCG(seed, 7))
			var steps []string
			now := int64(0)
			for i := range 400 {
				now += rng.Int64N(6)
				ts := now - rng.Int64N(40) // up to 40 late: some beyond the grace
				side := "l"
				if rng.IntN(3) > 0 {
					side = "r"
				}
				steps = append(steps, fmt.Sprintf("%s k%d v%d@%d", side, rng.IntN(5), i, ts))
			}
			w := within{15, 8, 20, tp}
			// gaveUp notes the budgets under which the index gave a side
			// up (evict): too small to hold a window of it.
			gaveUp := map[int]bool{}
			run := func(budget int, disrupt func(f *windowFixture, i int) *windowFixture) []string {
				store := NewOrderedMemStore()
				f := newWindowFixture(t, w, store, nil)
				f.j.IndexBytes = budget
				var got []string
				for i, st := range steps {
					if disrupt != nil {
						if g := disrupt(f, i); g != f {
							got = append(got, f.got...)
							g.offsets, g.j.IndexBytes = f.offsets, budget
							f = g
							f.got = nil
						}
					}
					f.step(t, st)
				}
				if ix := f.j.index; ix != nil {
					if ix.side[0].off || ix.side[1].off {
						gaveUp[budget] = true
					}
				}
				return append(got, f.got...)
			}
			want := run(-1, nil)
			if len(want) < 50 {
				t.Fatalf("%s seed %d: only %d rows: the workload tests little", tp, seed, len(want))
			}
			cases := map[string][]string{
				"default":  run(0, nil),
				"200":      run(200, nil),
				"2000":     run(2000, nil),
				"8000":     run(8000, nil),
				"1":        run(1, nil),
				"restart":  nil,
				"recover":  nil,
				"unsettle": nil,
			}
			cases["restart"] = run(3000, func(f *windowFixture, i int) *windowFixture {
				if i%97 != 50 {
					return f
				}
				if err := f.j.Flush(nil); err != nil {
					t.Fatal(err)
				}
				return newWindowFixture(t, w, f.j.Store, nil)
			})
			cases["recover"] = run(3000, func(f *windowFixture, i int) *windowFixture {
				if i%61 == 30 {
					// The store here keeps its writes: a failed commit
					// that lost nothing.
					if err := f.j.Flush(nil); err != nil {
						t.Fatal(err)
					}
					f.j.Recover()
				}
				return f
			})
			cases["unsettle"] = run(3000, func(f *windowFixture, i int) *windowFixture {
				if i%53 == 20 {
					// As a record that stopped halfway leaves it.
					f.j.unsettled = true
				}
				return f
			})
			if !gaveUp[200] || gaveUp[0] {
				t.Errorf("%s seed %d: a side given up under budgets %v: want 200's and not the default's", tp, seed, gaveUp)
			}
			for name, got := range cases {
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s seed %d, index %s: %d rows differ from the store's %d:\n%s", tp, seed, name, len(got), len(want),
						firstDiff(got, want))
				}
			}
		}
	}
}

// TestWindowIndexAgreesWithStore: whatever the index answers — a scan
// from a time it covers, a get of a record it holds — the store answers
// alike, through random puts (out of time order, some of keys held
// already), deletes (of the oldest as expiry makes them, and of any) and
// budgets that keep evicting, while the order list it evicts from stays
// bounded.
func TestWindowIndexAgreesWithStore(t *testing.T) {
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 3))
		budget := []int{300, 2000, 8000, 1 << 20}[seed%4]
		ix := newWindowIndex(budget)
		store := NewOrderedMemStore()
		var keys [][]byte
		now := int64(0)
		for i := range 3000 {
			side := rng.IntN(2)
			// Odd seeds delete about as much as they put: the order list
			// fills with the entries of records that left.
			puts, marks := 6, 8
			if seed%2 == 1 {
				puts, marks = 5, 6
			}
			switch op := rng.IntN(10); {
			case op < puts || len(keys) == 0:
				now += rng.Int64N(4)
				ts := now - rng.Int64N(30)
				k := recordPrefix(nil, side, []byte(fmt.Sprintf("k%d", rng.IntN(7))))
				k = appendBE64(binary32(appendTime(k, ts), uint32(side)), uint64(i))
				v := []byte{rowFormatFlag, byte(i)}
				if err := store.Put(k, v); err != nil {
					t.Fatal(err)
				}
				ix.put(side, k, v)
				keys = append(keys, k)
			case op < marks:
				// A record held already is marked as matched.
				k := keys[rng.IntN(len(keys))]
				if v, ok, _ := store.Get(k); ok {
					v[0] |= matchedFlag
					v = append(v, 'm')
					store.Put(k, v)
					ix.put(int(k[1]), k, v)
				}
			default:
				j := 0
				if op%2 == 1 {
					j = rng.IntN(len(keys))
				}
				k := keys[j]
				keys = append(keys[:j], keys[j+1:]...)
				store.Delete(k)
				ix.delete(int(k[1]), k)
			}
			// A scan of each side and key from a time each covers.
			for s := range 2 {
				for kn := range 7 {
					lo := max(ix.side[s].from, now-40+rng.Int64N(20))
					checkIndexScan(t, ix, store, s, kn, lo, lo+rng.Int64N(50), fmt.Sprintf("seed %d step %d", seed, i))
				}
				if o := ix.side[s].order.len(); o > 2*ix.count(s)+65 {
					t.Fatalf("seed %d step %d: side %d lists %d entries for %d records", seed, i, s, o, ix.count(s))
				}
			}
			for _, k := range keys[max(0, len(keys)-5):] {
				// A record older than from may be held stale: the join
				// reads none (close gets only what covers says).
				if !ix.covers(int(k[1]), readTime(k[len(k)-placeLen:])) {
					continue
				}
				v, ok := ix.get(int(k[1]), k)
				if sv, sok, _ := store.Get(k); ok != sok || string(sv) != string(v) {
					t.Fatalf("seed %d step %d: get %x: index %x %v, store %x %v", seed, i, k, v, ok, sv, sok)
				}
			}
			if ix.bytes > budget {
				t.Fatalf("seed %d step %d: %d bytes held, budget %d", seed, i, ix.bytes, budget)
			}
			if err := ix.checkKeys(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, i, err)
			}
		}
	}
}

// scanKeys is scan with each record's whole key, as a Store.Scan gives
// it.
// checkIndexScan fails t unless ix's scan of side s's key k<kn> over
// [lo, hi] gives what store's does; at says where the test stands.
func checkIndexScan(t *testing.T, ix *windowIndex, store *OrderedMemStore, s, kn int, lo, hi int64, at string) {
	t.Helper()
	prefix := recordPrefix(nil, s, []byte(fmt.Sprintf("k%d", kn)))
	var want, got []string
	store.Scan(appendTime(append([]byte(nil), prefix...), lo), appendTime(append([]byte(nil), prefix...), hi+1), func(k, v []byte) bool {
		want = append(want, fmt.Sprintf("%x=%x", k, v))
		return true
	})
	ix.scanKeys(s, prefix, lo, hi, func(k, v []byte) bool {
		got = append(got, fmt.Sprintf("%x=%x", k, v))
		return true
	})
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s: side %d k%d [%d, %d]: index %v, store %v", at, s, kn, lo, hi, got, want)
	}
}

func (ix *windowIndex) scanKeys(side int, prefix []byte, lo, hi int64, fn func(key, value []byte) bool) {
	ix.scan(side, prefix, lo, hi, func(ts int64, place, value []byte) bool {
		return fn(append(appendTime(append([]byte(nil), prefix...), ts), place...), value)
	})
}

// findKey is keyRecords.find for a record key.
func (kr *keyRecords) findKey(key []byte) (int, bool) {
	at := len(key) - placeLen
	return kr.find(readTime(key[at:]), key[at+8:])
}

// checkKeys reports a join key of the index whose map key is not its
// records' prefix, or that holds no record, or whose first slot keeps a
// record its records no longer share.
func (ix *windowIndex) checkKeys() error {
	for k, p := range ix.keys {
		if k != p.key || len(p.side[0].recs)+len(p.side[1].recs) == 0 {
			return fmt.Errorf("key %x: map key, records' key %x, %d and %d records", k, p.key, len(p.side[0].recs), len(p.side[1].recs))
		}
		for s := range p.side {
			kr := &p.side[s]
			if kr.pair != p {
				return fmt.Errorf("side %d key %x: its records are not its entry's", s, k)
			}
			if kr.first[0].data != nil && (len(kr.recs) == 0 || &kr.recs[:1][0] != &kr.first[0]) {
				return fmt.Errorf("side %d key %x: first keeps a record the records moved away from", s, k)
			}
		}
	}
	if ix.lastOK {
		if p := ix.keys[string(ix.lastKey)]; p != ix.last {
			return fmt.Errorf("key %x: the last lookup's answer is not the map's", ix.lastKey)
		}
	}
	// An array in the pool is no key's, and keeps no record's bytes.
	pooled := 0
	for c, free := range ix.pool.free {
		for _, base := range free {
			pooled += (1 << c) * int(unsafe.Sizeof(indexRecord{}))
			arr := unsafe.Slice(base, 1<<c)
			lo, hi := uintptr(unsafe.Pointer(base)), uintptr(unsafe.Pointer(&arr[len(arr)-1]))
			for k, p := range ix.keys {
				for s := range p.side {
					if a := uintptr(unsafe.Pointer(unsafe.SliceData(p.side[s].recs))); a >= lo && a <= hi {
						return fmt.Errorf("side %d key %x: its records are in an array of the pool", s, k)
					}
				}
			}
			for _, r := range arr {
				if r.data != nil {
					return fmt.Errorf("a pooled array keeps a record")
				}
			}
		}
	}
	if pooled != ix.pool.bytes || pooled > ix.pool.limit {
		return fmt.Errorf("the pool holds %d bytes, counts %d, limit %d", pooled, ix.pool.bytes, ix.pool.limit)
	}
	return nil
}

// TestWindowIndexOrderBounded: in a steady state, where each new record
// evicts the oldest, the eviction list stays within a few times the
// records held, and the index still holds exactly the newest ones. It
// used to keep an entry for every record ever put.
func TestWindowIndexOrderBounded(t *testing.T) {
	v := []byte{rowFormatFlag, 0}
	key := func(k string, ts int64) []byte {
		return appendBE64(binary32(appendTime(recordPrefix(nil, 1, []byte(k)), ts), 0), uint64(ts))
	}
	const held = 50
	ix := newWindowIndex(held * (placeBytes + len(v) + indexEntryBytes))
	for ts := range int64(20000) {
		// A hot key and a few cold ones, as Nexmark's bids are.
		k := "hh"
		if ts%2 == 1 {
			k = fmt.Sprintf("k%d", ts%7)
		}
		ix.put(1, key(k, ts), v)
		is := &ix.side[1]
		if is.n > held {
			t.Fatalf("at %d: %d records held, budget %d", ts, is.n, held)
		}
		if o, b := is.order.len(), len(is.order.blocks); o > 2*held+65 || b > 2 {
			t.Fatalf("at %d: the order list holds %d entries in %d blocks for %d records", ts, o, b, is.n)
		}
	}
	is := &ix.side[1]
	if is.n != held {
		t.Fatalf("%d records held, want %d", is.n, held)
	}
	// The newest held completely: from is just past the last evicted.
	if want := int64(20000 - held); is.from != want {
		t.Errorf("from %d, want %d", is.from, want)
	}
	for ts := int64(20000 - held); ts < 20000; ts++ {
		k := "hh"
		if ts%2 == 1 {
			k = fmt.Sprintf("k%d", ts%7)
		}
		if _, ok := ix.get(1, key(k, ts)); !ok {
			t.Errorf("record at %d not held", ts)
		}
	}
}

// TestWindowIndexGivesUpASide: a side the budget cannot hold a reach of
// is given up whole when its oldest record must go within reach of the
// stream time: it covers nothing and takes nothing, until the stream time
// has moved a reach on; then it takes records again, from the next
// millisecond, and covers from there. A side whose evicted records are
// out of reach only loses them, as without drops.
func TestWindowIndexGivesUpASide(t *testing.T) {
	v := []byte{rowFormatFlag, 0}
	key := func(side int, ts int64) []byte {
		return appendBE64(binary32(appendTime(recordPrefix(nil, side, []byte("k")), ts), 0), uint64(ts))
	}
	entry := len(key(0, 0)) + len(v) + indexEntryBytes
	ix := newWindowIndex(10 * entry)
	ix.drops, ix.reach = true, [2]int64{100, 0}
	// Side 1 (reach 0): its oldest records go one by one.
	for ts := range int64(12) {
		ix.now = ts
		ix.put(1, key(1, ts), v)
	}
	if is := &ix.side[1]; is.off || is.n != 10 || is.from != 2 {
		t.Fatalf("side 1 after 12 puts: off %v, %d records, from %d; want 10 records from 2", is.off, is.n, is.from)
	}
	// Side 0 (reach 100): once it is the larger and must lose a record
	// of the last 100 ms, it goes whole.
	for ts := int64(12); ts < 24; ts++ {
		ix.now = ts
		ix.put(0, key(0, ts), v)
	}
	is := &ix.side[0]
	if !is.off || is.n != 0 || ix.covers(0, 1<<40) {
		t.Fatalf("side 0: off %v, %d records, covers %v; want it given up", is.off, is.n, ix.covers(0, 1<<40))
	}
	if ix.bytes != ix.side[1].bytes {
		t.Errorf("%d bytes held, side 1's %d", ix.bytes, ix.side[1].bytes)
	}
	// Side 1 shares its key's entry with side 0, which gave its records
	// up: its own stay, and scan.
	var times []int64
	ix.scan(1, recordPrefix(nil, 1, []byte("k")), math.MinInt64, math.MaxInt64, func(ts int64, _, _ []byte) bool {
		times = append(times, ts)
		return true
	})
	if len(times) != ix.side[1].n || len(times) == 0 || times[0] != ix.side[1].from {
		t.Errorf("side 1 scans %v, holds %d records from %d", times, ix.side[1].n, ix.side[1].from)
	}
	if err := ix.checkKeys(); err != nil {
		t.Fatal(err)
	}
	given := is.offAt
	// Within a reach of when it was given up, nothing is taken.
	ix.now = given + 100
	ix.put(0, key(0, ix.now), v)
	if !is.off || is.n != 0 {
		t.Fatalf("side 0 took a record within a reach: off %v, %d records", is.off, is.n)
	}
	// Past it, the side is taken again from the next millisecond: not the
	// record at the stream time (the store may hold others at that time),
	// the ones after it.
	ix.now = given + 101
	ix.put(0, key(0, ix.now), v)
	if is.off || is.n != 0 || is.from != given+102 {
		t.Fatalf("side 0 past a reach: off %v, %d records, from %d; want taken from %d", is.off, is.n, is.from, given+102)
	}
	ix.now++
	ix.put(0, key(0, ix.now), v)
	if is.n != 1 || !ix.covers(0, given+102) || ix.covers(0, given+101) {
		t.Errorf("side 0 taken again: %d records, covers from %d", is.n, is.from)
	}
}

// TestKeyRecordsFind: find (a gallop back from the last record, then a
// bisection) agrees with a linear search, for a key's records of every
// size, at every position, present or not, and for times and places
// that only the place (or only the time) tells apart.
func TestKeyRecordsFind(t *testing.T) {
	key := func(ts int64, place uint32) []byte {
		k := recordPrefix(nil, 1, []byte("auction-7"))
		return appendBE64(binary32(appendTime(k, ts), 0), uint64(place))
	}
	for _, n := range []int{0, 1, 2, 3, 5, 8, 33, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			// Records at even times from -n, two places each; the probes
			// are every odd time too, and places between and beyond.
			kr := &keyRecords{}
			ix := newWindowIndex(DefaultJoinIndexBytes)
			var held [][]byte
			for i := range n {
				k := key(int64(2*(i/2)-n), uint32(2*(i%2)+1))
				held = append(held, k)
				kr.recs = append(kr.recs, newIndexRecord(k[len(k)-placeBytes:], []byte{'v'}, readTime(k[len(k)-placeLen:])))
			}
			for ts := int64(-n - 2); ts <= int64(n+2); ts++ {
				for place := range uint32(5) {
					probe := key(ts, place)
					want, wantOK := len(held), false
					for i, h := range held {
						if c := strings.Compare(string(h), string(probe)); c >= 0 {
							want, wantOK = i, c == 0
							break
						}
					}
					got, gotOK := kr.findKey(probe)
					if got != want || gotOK != wantOK {
						t.Fatalf("find(ts %d, place %d) = %d, %v; want %d, %v", ts, place, got, gotOK, want, wantOK)
					}
					if wantOK {
						kr.sorted = int32(len(kr.recs))
						at := len(probe) - placeLen
						if i, ok := ix.side[1].findOldest(ix, kr, readTime(probe[at:]), probe[at+8:]); i != want || !ok {
							t.Fatalf("findOldest(ts %d, place %d) = %d, %v; want %d, true", ts, place, i, ok, want)
						}
					}
				}
			}
		})
	}
}

// TestOrderQueue: the eviction list's blocks give back the entries in the
// order they were pushed, across block boundaries, emptied, filtered
// and filled again, against a slice doing the same.
func TestOrderQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var q orderQueue
	var model []indexOrder
	recs := make([]keyRecords, 5000)
	next := 0
	for step := range 200000 {
		if rng.IntN(100) < 55 {
			o := indexOrder{ts: int64(next), recs: &recs[next%len(recs)]}
			next++
			q.push(o)
			model = append(model, o)
		} else {
			o, ok := q.take()
			if ok != (len(model) > 0) {
				t.Fatalf("step %d: take ok %v with %d listed", step, ok, len(model))
			}
			if ok {
				if o.recs != model[0].recs || o.ts != model[0].ts {
					t.Fatalf("step %d: took another entry than the oldest", step)
				}
				model = model[1:]
			}
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: %d listed, want %d", step, q.len(), len(model))
		}
		if step%997 == 0 {
			// Drop about a third of the entries, or all of them now and
			// then, as the index's compaction does.
			all := step%(997*17) == 0
			keep := func(o indexOrder) bool { return !all && o.ts%3 != 0 }
			q.filter(keep)
			kept := model[:0:0]
			for _, o := range model {
				if keep(o) {
					kept = append(kept, o)
				}
			}
			model = kept
			var got []indexOrder
			for q.len() > 0 {
				o, _ := q.take()
				got = append(got, o)
			}
			for i, o := range got {
				if o.recs != model[i].recs || o.ts != model[i].ts {
					t.Fatalf("step %d: entry %d out of order after a filter", step, i)
				}
				q.push(o)
			}
		}
	}
	if n := len(q.blocks); n > len(model)/orderBlock+2 {
		t.Errorf("%d blocks for %d entries", n, len(model))
	}
}

// TestWindowIndexTail: a key's records put out of order wait in its tail
// until they are read in order, and a record put again while its first
// put is in the tail replaces it. Scans come only every few steps, so
// that tails grow long, take puts again, deletes, gets and evictions
// before they are sorted in; whatever the index answers agrees with the
// store, and its counts with the records it holds.
func TestWindowIndexTail(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 11))
		budget := []int{1 << 20, 6000}[seed%2]
		ix := newWindowIndex(budget)
		store := NewOrderedMemStore()
		var keys [][]byte
		now := int64(0)
		for i := range 4000 {
			side := rng.IntN(2)
			switch op := rng.IntN(20); {
			case op < 12 || len(keys) == 0:
				// Four partitions read in batches: a record is often older
				// than its key's last one.
				now += rng.Int64N(3)
				ts := now - rng.Int64N(40)
				k := recordPrefix(nil, side, []byte(fmt.Sprintf("k%d", rng.IntN(3))))
				k = appendBE64(binary32(appendTime(k, ts), uint32(rng.IntN(4))), uint64(i))
				v := []byte{rowFormatFlag, byte(i)}
				store.Put(k, v)
				ix.put(side, k, v)
				keys = append(keys, k)
			case op < 16:
				// A record put again, with a value of another length or not.
				k := keys[rng.IntN(len(keys))]
				if v, ok, _ := store.Get(k); ok {
					v[0] |= matchedFlag
					if op%2 == 0 {
						v = append(v, 'm')
					}
					store.Put(k, v)
					ix.put(int(k[1]), k, v)
				}
			case op < 18:
				j := rng.IntN(len(keys))
				k := keys[j]
				keys = append(keys[:j], keys[j+1:]...)
				store.Delete(k)
				ix.delete(int(k[1]), k)
			default:
				k := keys[rng.IntN(len(keys))]
				if ix.covers(int(k[1]), readTime(k[len(k)-placeLen:])) {
					v, ok := ix.get(int(k[1]), k)
					if sv, sok, _ := store.Get(k); ok != sok || string(sv) != string(v) {
						t.Fatalf("seed %d step %d: get %x: index %x %v, store %x %v", seed, i, k, v, ok, sv, sok)
					}
				}
			}
			if i%23 != 0 {
				continue
			}
			for s := range 2 {
				for kn := range 3 {
					lo := max(ix.side[s].from, now-60+rng.Int64N(30))
					checkIndexScan(t, ix, store, s, kn, lo, lo+rng.Int64N(80), fmt.Sprintf("seed %d step %d", seed, i))
				}
				// Once every key is sorted in, the counts are the records'.
				n, b := 0, 0
				for _, p := range ix.keys {
					kr := &p.side[s]
					ix.side[s].settle(ix, kr)
					n += len(kr.recs)
					for r := range kr.recs {
						b += kr.recs[r].cost()
					}
				}
				if n != ix.side[s].n || b != ix.side[s].bytes {
					t.Fatalf("seed %d step %d: side %d counts %d records, %d bytes; holds %d, %d", seed, i, s, ix.side[s].n, ix.side[s].bytes, n, b)
				}
			}
			if err := ix.checkKeys(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, i, err)
			}
		}
	}
}
