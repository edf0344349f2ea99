package operators

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/log"
)

// The table joins against a model: random sequences of upserts and
// deletes on both sides, in every order, over a few keys. After each
// change the sink's table (its records applied in order) must equal the
// join of the two tables as they stand, a tombstone must delete a row
// that exists, and a written row's ROWTIME must be the larger of the
// changing record's and the row it met.

type modelRow struct {
	v  string
	ts int64
}

// sinkTable applies a sink's records, failing on a tombstone of a row it
// does not hold.
type sinkTable struct {
	t    *testing.T
	rows map[string]map[string]any
	// ts is the time of each row's last upsert.
	ts map[string]int64
}

func newSinkTable(t *testing.T) *sinkTable {
	return &sinkTable{t: t, rows: map[string]map[string]any{}, ts: map[string]int64{}}
}

func (s *sinkTable) apply(step string, out []log.ProduceRecord) {
	s.t.Helper()
	for _, pr := range out {
		k := string(pr.Key)
		if pr.Value == nil {
			if _, ok := s.rows[k]; !ok {
				s.t.Fatalf("%s: a tombstone of %s, which the sink does not hold", step, k)
			}
			delete(s.rows, k)
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(pr.Value, &v); err != nil {
			s.t.Fatal(err)
		}
		s.rows[k], s.ts[k] = v, pr.Timestamp
	}
}

func (s *sinkTable) check(step string, want map[string]map[string]any) {
	s.t.Helper()
	if fmt.Sprint(s.rows) != fmt.Sprint(want) {
		s.t.Fatalf("after %s:\nsink  %v\nmodel %v", step, s.rows, want)
	}
}

func str(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// TestTableTableJoinModel: INNER, LEFT, RIGHT and FULL against the model.
func TestTableTableJoinModel(t *testing.T) {
	keys := []string{"k0", "k1", "k2"}
	vals := []string{"a", "b", "c"}
	for _, tc := range []struct {
		name                string
		keepLeft, keepRight bool
	}{{"inner", false, false}, {"left", true, false}, {"right", false, true}, {"full", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(20) {
				rng := rand.New(rand.NewPCG(seed, 7))
				j, _ := pkJoin(t, tc.keepLeft, tc.keepRight, nil, nil)
				sink := newSinkTable(t)
				left, right := map[string]modelRow{}, map[string]modelRow{}
				for i := range 60 {
					side, k := rng.IntN(2), keys[rng.IntN(len(keys))]
					ts := int64(i*10 + rng.IntN(25)) // not always increasing
					field, own, other := "A", left, right
					if side == 1 {
						field, own, other = "B", right, left
					}
					rec := log.Record{Key: []byte(k), Timestamp: ts, Offset: int64(i)}
					step := fmt.Sprintf("seed %d step %d: %s %s", seed, i, field, k)
					if rng.IntN(3) == 0 {
						delete(own, k)
						step += " deleted"
					} else {
						v := vals[rng.IntN(len(vals))]
						rec.Value = fmt.Appendf(nil, `{"%s":%q}`, field, v)
						own[k] = modelRow{v, ts}
						step += " = " + v
					}
					var out []log.ProduceRecord
					if err := j.ProcessInput(side, &rec, func(pr log.ProduceRecord) { out = append(out, pr) }); err != nil {
						t.Fatal(err)
					}
					sink.apply(step, out)
					want := map[string]map[string]any{}
					for _, key := range keys {
						l, lok := left[key]
						r, rok := right[key]
						switch {
						case lok && rok, lok && tc.keepLeft, rok && tc.keepRight:
							want[key] = map[string]any{"A": str(l.v), "B": str(r.v)}
						}
					}
					sink.check(step, want)
					if len(out) == 1 && out[0].Value != nil {
						wantTS := ts
						if o, ok := other[k]; ok {
							wantTS = max(ts, o.ts)
						}
						if out[0].Timestamp != wantTS {
							t.Fatalf("%s: written at %d, want %d", step, out[0].Timestamp, wantTS)
						}
					}
					if len(out) > 1 {
						t.Fatalf("%s: %d records for one change", step, len(out))
					}
				}
			}
		})
	}
}

// TestForeignKeyJoinModel: INNER and LEFT foreign-key joins against the
// model, the foreign keys changing, becoming NULL and pointing at rows
// that come and go; over the store itself, and through a TableJoinStore
// (whose write-back writes the index: deriveIndex) of a cache that holds
// a few rows, or none (each written through), or all, flushed now and
// then, with the index's cache forgotten now and then so that right
// changes read the store's index.
func TestForeignKeyJoinModel(t *testing.T) {
	lkeys := []string{"A", "B", "C", "D"}
	rkeys := []string{"x", "y", "z"}
	vals := []string{"1", "2", "3"}
	for _, tc := range []struct {
		name  string
		left  bool
		cache int // TableJoinStore.CacheBytes; -1: none
	}{
		{"inner", false, -1}, {"left", true, -1},
		{"inner/cache-none", false, 100}, {"inner/cache-few", false, 1000}, {"inner/cache-all", false, 1 << 20},
		{"left/cache-few", true, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(20) {
				rng := rand.New(rand.NewPCG(seed, 11))
				j := fkJoin(t, tc.left, nil, 1)
				if tc.cache >= 0 {
					j.Store = &TableJoinStore{Store: j.Store, CacheBytes: tc.cache}
				}
				sink := newSinkTable(t)
				type lrowM struct {
					fk, n string // fk "" is NULL
					ts    int64
				}
				left, right := map[string]lrowM{}, map[string]modelRow{}
				for i := range 80 {
					ts := int64(i*10 + rng.IntN(25))
					rec := log.Record{Timestamp: ts, Offset: int64(i)}
					side := rng.IntN(2)
					var step string
					if side == 0 {
						k := lkeys[rng.IntN(len(lkeys))]
						rec.Key = []byte(k)
						step = fmt.Sprintf("seed %d step %d: left %s", seed, i, k)
						if rng.IntN(4) == 0 {
							delete(left, k)
							step += " deleted"
						} else {
							fk, n := "", vals[rng.IntN(len(vals))]
							if rng.IntN(5) != 0 {
								fk = rkeys[rng.IntN(len(rkeys))]
							}
							left[k] = lrowM{fk, n, ts}
							fkJSON := "null"
							if fk != "" {
								fkJSON = fmt.Sprintf("%q", fk)
							}
							rec.Value = fmt.Appendf(nil, `{"FK":%s,"N":%q}`, fkJSON, n)
							step += fmt.Sprintf(" -> %q n=%s", fk, n)
						}
					} else {
						k := rkeys[rng.IntN(len(rkeys))]
						rec.Key = []byte(k)
						step = fmt.Sprintf("seed %d step %d: right %s", seed, i, k)
						if rng.IntN(3) == 0 {
							delete(right, k)
							step += " deleted"
						} else {
							m := vals[rng.IntN(len(vals))]
							right[k] = modelRow{m, ts}
							rec.Value = fmt.Appendf(nil, `{"M":%q}`, m)
							step += " = " + m
						}
					}
					var out []log.ProduceRecord
					if err := j.ProcessInput(side, &rec, func(pr log.ProduceRecord) { out = append(out, pr) }); err != nil {
						t.Fatal(err)
					}
					if tc.cache >= 0 {
						if rng.IntN(7) == 0 {
							if err := j.Flush(nil); err != nil {
								t.Fatal(err)
							}
						}
						if rng.IntN(3) == 0 {
							j.index.reset()
						}
					}
					sink.apply(step, out)
					want := map[string]map[string]any{}
					for k, l := range left {
						r, ok := right[l.fk]
						switch {
						case ok && l.fk != "":
							want[k] = map[string]any{"FK": str(l.fk), "N": l.n, "M": r.v}
						case tc.left:
							want[k] = map[string]any{"FK": str(l.fk), "N": l.n, "M": nil}
						}
					}
					sink.check(step, want)
					// Each upsert's time: the larger of the change's and
					// the row it met.
					for _, pr := range out {
						if pr.Value == nil {
							continue
						}
						l := left[string(pr.Key)]
						wantTS := max(ts, l.ts)
						if r, ok := right[l.fk]; ok && l.fk != "" && side == 0 {
							wantTS = max(ts, r.ts)
						} else if side == 0 {
							wantTS = ts
						}
						if pr.Timestamp != wantTS {
							t.Fatalf("%s: %s written at %d, want %d", step, pr.Key, pr.Timestamp, wantTS)
						}
					}
				}
			}
		})
	}
}
