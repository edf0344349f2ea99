package state

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/runnel/runnel/log"
)

// TestPendingMatchesModel: random Puts, Deletes, Gets, Scans (some from
// inside another's fn), Commits and Aborts on a TaskStore agree with a
// map that applies each write at once and drops the uncommitted ones on
// Abort. The keys are few, so that most writes overwrite a pending or a
// committed key. The store's writes wait unindexed when it does not scan
// while they are pending, or only now and then (up to maxSortsPerCommit
// Scans after writes in a commit), and in an indexed batch when it scans
// more: the scan-free case has Scans only when no write came since the
// last one, the rare case at most maxSortsPerCommit others per commit,
// and the last case anywhere, so that each way and the move from one to
// the other are taken.
func TestPendingMatchesModel(t *testing.T) {
	for _, c := range []struct {
		name     string
		maxDirty int // Scans after a write per commit; -1: any number
	}{{"scans", -1}, {"scan-free", 0}, {"rare-scans", maxSortsPerCommit}} {
		t.Run(c.name, func(t *testing.T) { testPendingMatchesModel(t, c.maxDirty) })
	}
}

func testPendingMatchesModel(t *testing.T, maxDirty int) {
	l := openEmbedded(t, t.TempDir())
	defer l.Close()
	ctx := testCtx(t)
	m := newManager(t, l)
	s := open(t, m, Spec{Name: "q/model/0"})
	defer s.Close()
	// Another store's keys around this one's must never show.
	other := open(t, m, Spec{Name: "q/model/1"})
	defer other.Close()
	put(t, other, "k05", "other")
	if err := other.Commit(ctx, log.Txn{}); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(7, 11))
	committed, cur := map[string]string{}, map[string]string{}
	key := func() string { return fmt.Sprintf("k%02d", rng.IntN(40)) }
	// want is the model's keys in [lo, hi), as "k=v".
	want := func(lo, hi string) []string {
		var out []string
		for _, k := range slices.Sorted(maps.Keys(cur)) {
			if k >= lo && (hi == "" || k < hi) {
				out = append(out, k+"="+cur[k])
			}
		}
		return out
	}
	wrote, dirty := false, 0
	for step := range 5000 {
		op := rng.IntN(100)
		if op >= 80 && op < 95 && wrote {
			if maxDirty >= 0 && dirty >= maxDirty {
				op = 0 // a Put instead of one Scan too many
			} else {
				dirty++
			}
		}
		switch {
		case op < 65:
			wrote = true
		case op < 80: // a Get
		case op < 95:
			wrote = false
		default:
			wrote, dirty = false, 0
		}
		if maxDirty >= 0 && s.batch != nil {
			t.Fatalf("step %d: a store that scanned over new writes at most %d times a commit indexed them", step, maxDirty)
		}
		switch {
		case op < 45:
			k, v := key(), fmt.Sprint(step)
			put(t, s, k, v)
			cur[k] = v
		case op < 65:
			k := key()
			del(t, s, k)
			delete(cur, k)
		case op < 80:
			k := key()
			v, ok := cur[k]
			wantGet(t, s, k, v, ok)
		case op < 95:
			lo, hi := key(), key()
			if hi < lo {
				lo, hi = hi, lo
			}
			if rng.IntN(4) == 0 {
				hi = ""
			}
			var end []byte
			if hi != "" {
				end = []byte(hi)
			}
			exp := want(lo, hi)
			var got []string
			nested := maxDirty < 0 && rng.IntN(3) == 0
			err := s.Scan([]byte(lo), end, func(k, v []byte) bool {
				got = append(got, string(k)+"="+string(v))
				if nested && len(got) == 1 {
					// A write from fn is not seen by this Scan; a
					// nested one sees it.
					k2, v2 := key(), fmt.Sprint(step)+"n"
					put(t, s, k2, v2)
					cur[k2] = v2
					if g, w := dump(t, s, nil, nil), want("", ""); !slices.Equal(g, w) {
						t.Fatalf("step %d: nested Scan = %v, want %v", step, g, w)
					}
				}
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("step %d: Scan [%q, %q) = %v, want %v", step, lo, hi, got, exp)
			}
		case op < 98:
			if err := s.Commit(ctx, log.Txn{}); err != nil {
				t.Fatal(err)
			}
			committed = maps.Clone(cur)
			// What a Reader sees is what was committed.
			if g, w := dump(t, m.Reader("q/model/0"), nil, nil), want("", ""); !slices.Equal(g, w) {
				t.Fatalf("step %d: Reader after Commit = %v, want %v", step, g, w)
			}
		default:
			s.Abort()
			cur = maps.Clone(committed)
		}
	}
}

// TestPendingWritesCoalesced: a key written several times before a commit
// reaches the database once, with its last write, and the commit's writes
// are applied in key order; Pending still counts every write.
func TestPendingWritesCoalesced(t *testing.T) {
	p := newPendingWrites()
	for _, w := range []struct {
		k, v string
		del  bool
	}{
		{"c", "1", false}, {"a", "1", false}, {"c", "2", false}, {"b", "", true}, {"a", "", true}, {"b", "3", false},
	} {
		p.set([]byte(w.k), []byte(w.v), w.del)
	}
	if len(p.ents) != 3 {
		t.Fatalf("%d entries, want 3", len(p.ents))
	}
	var got []string
	for _, i := range p.inKeyOrder() {
		e := &p.ents[i]
		if e.del {
			got = append(got, string(p.key(e))+" deleted")
		} else {
			got = append(got, string(p.key(e))+"="+string(p.value(e)))
		}
	}
	if want := []string{"a deleted", "b=3", "c=2"}; !slices.Equal(got, want) {
		t.Fatalf("in key order %v, want %v", got, want)
	}
	// First-written order, for the changelog.
	var first []string
	for i := range p.ents {
		first = append(first, string(p.key(&p.ents[i])))
	}
	if want := []string{"c", "a", "b"}; !slices.Equal(first, want) {
		t.Fatalf("first-written order %v, want %v", first, want)
	}
	p.reset()
	if !p.empty() {
		t.Fatalf("after reset: %d entries", len(p.ents))
	}
	if _, _, ok := p.get([]byte("c")); ok {
		t.Fatal("a key survived reset")
	}
}

// TestPendingKeyOrder: inKeyOrder sorts as bytes.Compare does, whatever
// the keys share: a long common prefix (all equal in the sort's first
// 8 bytes past it or not), keys that end inside the prefix, keys that
// differ only in a zero byte past another's end, the empty key, and
// writes again after a sort.
func TestPendingKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	alphabet := []byte{0, 1, 'a', 0xff}
	for round := range 300 {
		p := newPendingWrites()
		var common []byte
		for range rng.IntN(12) {
			common = append(common, alphabet[rng.IntN(len(alphabet))])
		}
		n := 1 + rng.IntN(200)
		if round%50 == 0 {
			n = 5000 // several pdqsort partitions
		}
		for range n {
			k := append([]byte(nil), common...)
			if rng.IntN(8) == 0 {
				k = k[:rng.IntN(len(k)+1)]
			}
			for range rng.IntN(20) {
				k = append(k, alphabet[rng.IntN(len(alphabet))])
			}
			p.set(k, []byte("v"), rng.IntN(4) == 0)
			if rng.IntN(64) == 0 {
				checkKeyOrder(t, p)
			}
		}
		checkKeyOrder(t, p)
		p.reset()
	}
}

func checkKeyOrder(t *testing.T, p *pendingWrites) {
	t.Helper()
	order := p.inKeyOrder()
	if len(order) != len(p.ents) {
		t.Fatalf("%d entries sorted, %d written", len(order), len(p.ents))
	}
	seen := make([]bool, len(p.ents))
	for j, i := range order {
		if seen[i] {
			t.Fatalf("entry %d sorted twice", i)
		}
		seen[i] = true
		if j > 0 {
			if a, b := p.key(&p.ents[order[j-1]]), p.key(&p.ents[i]); bytes.Compare(a, b) >= 0 {
				t.Fatalf("key %q sorted before %q", a, b)
			}
		}
	}
}

// TestPendingArenaAndIndex: pendingWrites over many keys (its index grows
// several times) and values of every size, some larger than an arena
// chunk and many crossing where one would end, overwritten and deleted,
// over several commits (reset reuses the chunks): each key reads back its
// last write, the entries hold exactly the model's keys, and a value read
// before later writes still holds its bytes after them (a Scan reads its
// entries while its fn writes more).
func TestPendingArenaAndIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	p := newPendingWrites()
	for commit := range 4 {
		type write struct {
			v   string
			del bool
		}
		model := map[string]write{}
		// held are values read back during the commit, and what they
		// held then.
		var held [][]byte
		var heldWas []string
		for step := range 20_000 {
			k := fmt.Sprintf("key-%d-%d", commit, rng.IntN(6_000))
			n := rng.IntN(200)
			if rng.IntN(500) == 0 {
				n = chunkSize + rng.IntN(chunkSize) // a chunk of its own
			}
			v := bytes.Repeat([]byte{byte('a' + step%26)}, n)
			del := rng.IntN(10) == 0
			if del {
				v = nil
			}
			p.set([]byte(k), v, del)
			model[k] = write{string(v), del}
			if step%100 == 0 {
				got, _, _ := p.get([]byte(k))
				held, heldWas = append(held, got), append(heldWas, string(got))
			}
		}
		for i := range held {
			if string(held[i]) != heldWas[i] {
				t.Fatalf("commit %d: a value read earlier changed under later writes", commit)
			}
		}
		if len(p.ents) != len(model) {
			t.Fatalf("commit %d: %d entries for %d keys", commit, len(p.ents), len(model))
		}
		for k, w := range model {
			v, del, ok := p.get([]byte(k))
			if !ok || del != w.del || string(v) != w.v {
				t.Fatalf("commit %d: key %s reads (%d bytes, del %v, found %v), want (%d bytes, del %v)", commit, k, len(v), del, ok, len(w.v), w.del)
			}
		}
		if _, _, ok := p.get([]byte("absent")); ok {
			t.Fatalf("commit %d: a key never written was found", commit)
		}
		checkKeyOrder(t, p)
		p.reset()
		if _, _, ok := p.get([]byte(fmt.Sprintf("key-%d-1", commit))); ok || !p.empty() {
			t.Fatalf("commit %d: writes left after reset", commit)
		}
	}
}
