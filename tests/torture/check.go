package torture

import (
	"fmt"
	"sort"
	"strings"
)

// The checker compares what the server holds with what the ledger knows.
// It is pure: the I/O that feeds it is in verify.go, so its unit tests
// feed it hand-made losses, duplicates and phantoms.

// sourceRow is a row of the source stream as a scan returns it.
type sourceRow struct {
	ID      int64
	User    string
	Amount  int64
	Region  string
	Rowtime int64
}

// sinkRow is a row of the sink stream as a scan returns it.
type sinkRow struct {
	ID      int64
	User    string
	Dbl     int64
	Region  string
	Rowtime int64
}

// agg is one group of a table: a count and a sum.
type agg struct{ N, Total int64 }

// winKey is a group of the windowed table.
type winKey struct {
	Region string
	Start  int64
}

// Kinds of violation, as the report names them.
const (
	vLostSource    = "source: acknowledged id missing"
	vDupSource     = "source: id present more than once"
	vPhantomSource = "source: id present that was never sent or was refused"
	vBadSource     = "source: row content differs from what was sent"
	vLostSink      = "sink: id of the source that passes the filter missing"
	vDupSink       = "sink: id present more than it is in the source"
	vPhantomSink   = "sink: id present that is not in the source or does not pass the filter"
	vBadSink       = "sink: row content is not the projection of the source row"
	vPerUser       = "per_user: group differs from the recomputation"
	vPerRegion     = "per_region_10s: window differs from the recomputation"
	vPerUserTopic  = "per_user's topic: a key's last value differs from the recomputation"
)

// maxExamples bounds the examples kept for each kind of violation, so a
// run that loses everything still reports in a few lines.
const maxExamples = 8

// violations counts broken invariants by kind and keeps a few examples.
type violations struct {
	counts   map[string]int64
	examples map[string][]string
}

func (v *violations) add(kind, format string, args ...any) {
	if v.counts == nil {
		v.counts, v.examples = map[string]int64{}, map[string][]string{}
	}
	v.counts[kind]++
	if len(v.examples[kind]) < maxExamples {
		v.examples[kind] = append(v.examples[kind], fmt.Sprintf(format, args...))
	}
}

// total is the number of violations of every kind.
func (v *violations) total() int64 {
	var n int64
	for _, c := range v.counts {
		n += c
	}
	return n
}

// String lists each kind with its count and examples, kinds sorted.
func (v *violations) String() string {
	kinds := make([]string, 0, len(v.counts))
	for k := range v.counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "%s: %d\n", k, v.counts[k])
		for _, e := range v.examples[k] {
			fmt.Fprintf(&b, "    %s\n", e)
		}
	}
	return b.String()
}

// checker accumulates the scans of the source and the sink, then compares
// them and the tables with the ledger.
type checker struct {
	users    int
	outcomes []outcome
	// src[id] and sink[id] count id's rows in each stream, saturating at
	// 255 (anything above one is a violation anyway).
	src, sink []uint8
	// perUser and perRegion are recomputed from the source's rows, each
	// occurrence counted, as the queries see the topic.
	perUser   map[string]agg
	perRegion map[winKey]agg
	// strangers counts rows whose id the ledger never allocated.
	strangers int64
	v         violations
}

func newChecker(outcomes []outcome, users int) *checker {
	return &checker{
		users:     users,
		outcomes:  outcomes,
		src:       make([]uint8, len(outcomes)),
		sink:      make([]uint8, len(outcomes)),
		perUser:   map[string]agg{},
		perRegion: map[winKey]agg{},
	}
}

// known reports whether id is one the ledger allocated.
func (c *checker) known(id int64) bool { return id > 0 && id < int64(len(c.outcomes)) }

func (c *checker) addSource(r sourceRow) {
	// The tables are recomputed from the topic as it is, every row
	// counted, so a table is judged on its own even when the source
	// itself is wrong.
	u := c.perUser[r.User]
	u.N++
	u.Total += r.Amount
	c.perUser[r.User] = u
	if r.Amount%5 != 0 {
		k := winKey{Region: r.Region, Start: windowOf(r.Rowtime)}
		w := c.perRegion[k]
		w.N++
		w.Total += 2 * r.Amount
		c.perRegion[k] = w
	}
	if !c.known(r.ID) {
		c.v.add(vPhantomSource, "id %d was never allocated (row %+v)", r.ID, r)
		c.strangers++
		return
	}
	if c.src[r.ID] < 255 {
		c.src[r.ID]++
	}
	want := sourceRow{ID: r.ID, User: userOf(r.ID, c.users), Amount: amountOf(r.ID), Region: regionOf(r.ID), Rowtime: rowtimeOf(r.ID)}
	if r != want {
		c.v.add(vBadSource, "got %+v, sent %+v", r, want)
	}
}

func (c *checker) addSink(r sinkRow) {
	if !c.known(r.ID) {
		c.v.add(vPhantomSink, "id %d was never allocated (row %+v)", r.ID, r)
		c.strangers++
		return
	}
	if c.sink[r.ID] < 255 {
		c.sink[r.ID]++
	}
	want := sinkRow{ID: r.ID, User: userOf(r.ID, c.users), Dbl: 2 * amountOf(r.ID), Region: regionOf(r.ID), Rowtime: rowtimeOf(r.ID)}
	if r != want {
		c.v.add(vBadSink, "got %+v, want %+v", r, want)
	}
}

// tallies are the figures of a check.
type tallies struct {
	// SourceRows and SinkRows are the rows the scans returned.
	SourceRows, SinkRows int64
	// UnknownLanded is how many unknown ids are in the source.
	UnknownLanded int64
	// Lost counts acknowledged ids missing from the source or the sink;
	// Duplicated ids present more than once in either; Phantom ids
	// present that should not be.
	Lost, Duplicated, Phantom int64
	// Users and Windows are the groups the tables hold.
	Users, Windows int
}

// finish compares the streams with the ledger and the tables with their
// recomputation, and returns the figures.
func (c *checker) finish(perUser map[string]agg, perRegion map[winKey]agg) tallies {
	t := tallies{Phantom: c.strangers}
	for id := int64(1); id < int64(len(c.outcomes)); id++ {
		o, s, k := c.outcomes[id], int64(c.src[id]), int64(c.sink[id])
		t.SourceRows += s
		t.SinkRows += k
		switch {
		case o == acked && s == 0:
			c.v.add(vLostSource, "id %d", id)
			t.Lost++
		case (o == acked || o == unknown || o == pending) && s > 1:
			c.v.add(vDupSource, "id %d (%s) %d times", id, o, s)
			t.Duplicated++
		case (o == refused || o == neverSent) && s > 0:
			c.v.add(vPhantomSource, "id %d (%s) %d times", id, o, s)
			t.Phantom++
		}
		if (o == unknown || o == pending) && s == 1 {
			t.UnknownLanded++
		}
		// The sink is judged against the source as it is: each source
		// row that passes the filter once in the sink.
		want := int64(0)
		if passes(id) {
			want = s
		}
		switch {
		case k < want:
			c.v.add(vLostSink, "id %d (%s): %d in the sink, %d in the source", id, o, k, s)
			if o == acked {
				t.Lost++
			}
		case k > want && want > 0:
			c.v.add(vDupSink, "id %d (%s): %d in the sink, %d in the source", id, o, k, s)
			t.Duplicated++
		case k > want:
			c.v.add(vPhantomSink, "id %d (%s, passes %v): %d in the sink, %d in the source", id, o, passes(id), k, s)
			t.Phantom++
		}
	}
	compareGroups(&c.v, vPerUser, c.perUser, perUser)
	compareGroups(&c.v, vPerRegion, c.perRegion, perRegion)
	t.Users, t.Windows = len(perUser), len(perRegion)
	return t
}

// compareGroups reports every group where the table differs from the
// recomputation, either way, in a stable order.
func compareGroups[K comparable](v *violations, kind string, want, got map[K]agg) {
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%v: missing, recomputed %+v", k, w))
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%v: table %+v, recomputed %+v", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%v: table %+v, not in the recomputation", k, g))
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		v.add(kind, "%s", d)
	}
}
