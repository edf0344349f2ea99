package catalog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// TestLoserNeedsNoRewrite: two nodes race on one name, the topic orders
// one command first, and the other loses. A losing node used to write
// the winner's state again after its command, and one that died before
// doing so left its command as the name's latest record: compaction then
// removed the winner, and a replay applied the loser. Now no node writes
// anything after losing (the topic holds exactly one record per
// statement), and a replay after compaction, on every node and from
// scratch, keeps the command that won, whichever order the topic took.
func TestLoserNeedsNoRewrite(t *testing.T) {
	ctx := context.Background()
	createS := func(topic string) func(*Catalog) error {
		return func(c *Catalog) error {
			s := stream("S")
			s.Topic = topic
			return c.PutSource(ctx, s)
		}
	}
	csasOut := func(from string) func(*Catalog) error {
		return func(c *Catalog) error { _, err := csas(ctx, c, "OUT", from); return err }
	}
	dropS := func(c *Catalog) error { return c.DropSource(ctx, "S") }
	for _, tc := range []struct {
		name string
		// setup runs on the first node before the second opens.
		setup         func(*Catalog) error
		first, second func(*Catalog) error
		// records is how many records the two statements write.
		records int
		want    string
	}{
		{
			name: "two creates of one stream", first: createS("one"), second: createS("two"), records: 2,
			want: "source S STREAM topic=one query=\n",
		},
		{
			name: "two CREATE AS SELECT of one sink", setup: func(c *Catalog) error {
				if err := c.PutSource(ctx, stream("A")); err != nil {
					return err
				}
				return c.PutSource(ctx, stream("B"))
			},
			first: csasOut("A"), second: csasOut("B"), records: 3, // the winner writes its sink again
			want: "source A STREAM topic=a query=\nsource B STREAM topic=b query=\nsource OUT STREAM topic=out query=CSAS_OUT_3\nquery CSAS_OUT_3 sink=OUT sources=[A]\n",
		},
		{
			name: "drop before a CREATE AS SELECT over it", setup: createS("s"),
			first: dropS, second: csasOut("S"), records: 2,
			want: "",
		},
		{
			name: "CREATE AS SELECT before a drop of its source", setup: createS("s"),
			first: csasOut("S"), second: dropS, records: 3,
			want: "source OUT STREAM topic=out query=CSAS_OUT_2\nsource S STREAM topic=s query=\nquery CSAS_OUT_2 sink=OUT sources=[S]\n",
		},
		{
			name: "drop before a replace", setup: createS("s"),
			first: dropS, second: createS("replaced"), records: 2,
			want: "",
		},
		{
			name: "replace before a drop", setup: createS("s"),
			first: createS("replaced"), second: dropS, records: 2,
			want: "source S STREAM topic=replaced query=\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t)
			n1 := cl.node()
			if tc.setup != nil {
				if err := tc.setup(n1); err != nil {
					t.Fatal(err)
				}
			}
			n2 := cl.node()
			before := len(commandKeys(t, cl))
			if err := tc.first(n1); err != nil {
				t.Fatalf("first: %v", err)
			}
			// n2 has not read n1's command: its statement was checked
			// against the state before it, and loses.
			err := tc.second(n2)
			if !refusal(err) {
				t.Fatalf("second: %v, want a refusal", err)
			}
			if got := len(commandKeys(t, cl)) - before; got != tc.records {
				t.Fatalf("the statements wrote %d records, want %d: %v", got, tc.records, commandKeys(t, cl))
			}
			if got := cl.agree(n1, n2); got != tc.want {
				t.Fatalf("before compaction the catalog holds\n%s\nwant\n%s", got, tc.want)
			}
			// Compacted, with a later command (which the nodes
			// apply), and compacted again.
			if err := cl.log.Compact(cl.ctx, Topic); err != nil {
				t.Fatal(err)
			}
			if got := cl.agree(n1, n2); got != tc.want {
				t.Fatalf("after compaction the catalog holds\n%s\nwant\n%s", got, tc.want)
			}
			if err := n2.PutType(cl.ctx, &TypeAlias{Name: "LATER", Type: types.Int}); err != nil {
				t.Fatal(err)
			}
			if err := cl.log.Compact(cl.ctx, Topic); err != nil {
				t.Fatal(err)
			}
			if got, want := cl.agree(n1, n2), tc.want+"type LATER INTEGER\n"; got != want {
				t.Fatalf("after a later command and compaction the catalog holds\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// refusal reports whether err is a command's refusal by the catalog
// (conflictLocked's errors).
func refusal(err error) bool {
	if err == nil {
		return false
	}
	for _, s := range []error{ErrConcurrentChange, ErrUnknownSource, ErrUnknownType, ErrSourceInUse} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// commandKeys lists the keys of the catalog topic's records that carry
// commands, in order.
func commandKeys(t *testing.T, cl *cluster) []string {
	t.Helper()
	var out []string
	for _, k := range topicKeys(t, cl) {
		if !strings.HasPrefix(k, markerPrefix) {
			out = append(out, k)
		}
	}
	return out
}

// TestReplayAfterCompactionDecidesAlike: three nodes on one catalog
// topic run random statements, each node reading the others' commands
// only now and then (so that many commands race and lose), and the topic
// is compacted at random moments. After each compaction, and at the end,
// every node caught up and a replay from scratch hold the same catalog:
// compaction never changes which command won.
func TestReplayAfterCompactionDecidesAlike(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 11))
			cl := newCluster(t)
			nodes := []*Catalog{cl.node(), cl.node(), cl.node()}
			names := []string{"A", "B", "C"}
			sinks := []string{"X", "Y"}
			refused := 0
			for range 60 {
				n := nodes[rnd.IntN(len(nodes))]
				if rnd.IntN(3) == 0 {
					if _, err := n.CatchUp(cl.ctx); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				switch op := rnd.IntN(6); op {
				case 0, 1: // CREATE [OR REPLACE] STREAM
					s := stream(names[rnd.IntN(len(names))])
					s.Topic = fmt.Sprintf("t%d", rnd.IntN(100))
					err = n.PutSource(cl.ctx, s)
				case 2: // DROP STREAM, as the engine checks it
					name := names[rnd.IntN(len(names))]
					if _, e := n.Source(name); e == nil {
						err = n.DropSource(cl.ctx, name)
					}
				case 3: // CREATE STREAM sink AS SELECT over a known source
					from, sink := names[rnd.IntN(len(names))], sinks[rnd.IntN(len(sinks))]
					_, e1 := n.Source(from)
					_, e2 := n.Source(sink)
					if e1 == nil && e2 != nil {
						_, err = csas(cl.ctx, n, sink, from)
					}
				case 4: // TERMINATE a known query
					if qs := n.Queries(); len(qs) > 0 {
						err = n.DropQuery(cl.ctx, qs[rnd.IntN(len(qs))].ID)
					}
				case 5: // CREATE TYPE, DROP TYPE
					if _, ok := n.Type("T"); ok && rnd.IntN(2) == 0 {
						err = n.DropType(cl.ctx, "T")
					} else {
						err = n.PutType(cl.ctx, &TypeAlias{Name: "T", Type: types.Int})
					}
				}
				switch {
				case refusal(err):
					refused++
				case err != nil:
					t.Fatal(err)
				}
				if rnd.IntN(8) == 0 {
					if err := cl.log.Compact(cl.ctx, Topic); err != nil {
						t.Fatal(err)
					}
					cl.agree(nodes...)
				}
			}
			if err := cl.log.Compact(cl.ctx, Topic); err != nil {
				t.Fatal(err)
			}
			cl.agree(nodes...)
			if refused == 0 {
				t.Fatalf("seed %d: no command lost a race: the test exercised nothing", seed)
			}
		})
	}
}

// TestOldCatalogThenNewCommands: a catalog written by an older version
// (commands under their objects' keys, drops as tombstones) stays
// readable after this version writes on top of it, before and after
// compaction: the new commands do not share the old records' keys, so
// compaction removes no old record that it would not have removed
// before.
func TestOldCatalogThenNewCommands(t *testing.T) {
	cl := newCluster(t)
	cl.node() // creates the topic
	rec := func(key string, v any) log.Record { return oldRecord(t, key, v) }
	out := stream("OUT")
	out.Query = "CSAS_OUT_2"
	gone := rec("source/GONE", nil)
	gone.Headers = []log.Header{{Key: baseHeader, Value: []byte("5")}}
	if _, err := cl.log.Append(cl.ctx, Topic, []log.Record{
		rec("source/S", oldCommand{Source: stream("S")}),
		rec("query/CSAS_OUT_2", oldCommand{Source: out, Query: &Query{ID: "CSAS_OUT_2", Sink: "OUT", Sources: []string{"S"}}, Base: 2}),
		rec("source/OUT", oldCommand{Source: out, Base: 3}),
		rec("source/GONE", oldCommand{Source: stream("GONE"), Base: 4}),
		gone,
	}); err != nil {
		t.Fatal(err)
	}
	n := cl.node()
	old := "source OUT STREAM topic=out query=CSAS_OUT_2\nsource S STREAM topic=s query=\nquery CSAS_OUT_2 sink=OUT sources=[S]\n"
	if got := cl.agree(n); got != old {
		t.Fatalf("the old catalog reads\n%s\nwant\n%s", got, old)
	}
	// New commands on the old objects: TERMINATE, a replaced S, a drop
	// of OUT, and GONE made again.
	if err := n.DropQuery(cl.ctx, "CSAS_OUT_2"); err != nil {
		t.Fatal(err)
	}
	replaced := stream("S")
	replaced.Topic = "s2"
	if err := n.PutSource(cl.ctx, replaced); err != nil {
		t.Fatal(err)
	}
	if err := n.DropSource(cl.ctx, "OUT"); err != nil {
		t.Fatal(err)
	}
	if err := n.PutSource(cl.ctx, stream("GONE")); err != nil {
		t.Fatal(err)
	}
	want := "source GONE STREAM topic=gone query=\nsource S STREAM topic=s2 query=\n"
	if got := cl.agree(n); got != want {
		t.Fatalf("after new commands the catalog holds\n%s\nwant\n%s", got, want)
	}
	if err := cl.log.Compact(cl.ctx, Topic); err != nil {
		t.Fatal(err)
	}
	if got := cl.agree(n); got != want {
		t.Fatalf("after compaction the catalog holds\n%s\nwant\n%s", got, want)
	}
}

// TestClaimSequence: two nodes at the same catalog position would name a
// new query alike by NextSequence; numbers claimed with ClaimSequence
// differ, on one node and across nodes. A claim changes nothing a node
// or a replay applies, and a node's commands after its claim apply as
// they would without it.
func TestClaimSequence(t *testing.T) {
	cl := newCluster(t)
	n1 := cl.node()
	if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
		t.Fatal(err)
	}
	n2 := cl.node()
	if _, err := n1.CatchUp(cl.ctx); err != nil {
		t.Fatal(err)
	}
	if n1.NextSequence() != n2.NextSequence() {
		t.Fatalf("the nodes are at %d and %d, want one position", n1.NextSequence(), n2.NextSequence())
	}
	seen := map[int64]bool{}
	for i, n := range []*Catalog{n1, n2, n1, n2} {
		seq, err := n.ClaimSequence(cl.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if seen[seq] {
			t.Fatalf("claim %d: %d was claimed already (%v)", i, seq, seen)
		}
		seen[seq] = true
	}
	// Both create a query over S, named by their claims: both apply.
	for _, n := range []*Catalog{n1, n2} {
		seq, err := n.ClaimSequence(cl.ctx)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("INSERTQUERY_%d", seq)
		if err := n.PutQuery(cl.ctx, &Query{ID: id, Statement: "INSERT INTO S SELECT * FROM S", Sink: "S", Sources: []string{"S"}}); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	got := cl.agree(n1, n2)
	if strings.Count(got, "query INSERTQUERY_") != 2 || !strings.HasPrefix(got, "source S STREAM topic=s query=\n") {
		t.Fatalf("catalog holds\n%s\nwant S and both queries", got)
	}
}
