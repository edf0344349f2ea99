package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/sql/types"
)

// cluster is a log shared by catalogs opened on it, as nodes share one
// Kafka catalog topic.
type cluster struct {
	t   *testing.T
	ctx context.Context
	log *embedded.Log
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	l, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &cluster{t: t, ctx: context.Background(), log: l}
}

// node opens one more catalog on the shared log: a node starting, or a
// replay from scratch.
func (c *cluster) node() *Catalog {
	c.t.Helper()
	n, err := Open(c.ctx, c.log, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// state renders everything a catalog holds, for comparing nodes.
func state(t *testing.T, c *Catalog) string {
	t.Helper()
	var b strings.Builder
	for _, s := range c.Sources() {
		fmt.Fprintf(&b, "source %s %s topic=%s query=%s\n", s.Name, s.Kind, s.Topic, s.Query)
	}
	for _, q := range c.Queries() {
		fmt.Fprintf(&b, "query %s sink=%s sources=%v\n", q.ID, q.Sink, q.Sources)
	}
	for _, ty := range c.Types() {
		fmt.Fprintf(&b, "type %s %s\n", ty.Name, ty.Type)
	}
	return b.String()
}

// agree checks that every node, once caught up, and a replay from
// scratch hold the same catalog, and returns it.
func (c *cluster) agree(nodes ...*Catalog) string {
	c.t.Helper()
	nodes = append(nodes, c.node())
	var want string
	for i, n := range nodes {
		if _, err := n.CatchUp(c.ctx); err != nil {
			c.t.Fatal(err)
		}
		got := state(c.t, n)
		if i == 0 {
			want = got
			continue
		}
		if got != want {
			c.t.Fatalf("node %d holds\n%s\nnode 1 holds\n%s", i+1, got, want)
		}
	}
	return want
}

func stream(name string) *Source {
	return &Source{Name: name, Kind: KindStream, Topic: strings.ToLower(name)}
}

// csas is CREATE STREAM sink AS SELECT ... FROM from, as the engine
// records it: the sink and its query in one command.
func csas(ctx context.Context, c *Catalog, sink, from string) (string, error) {
	id := fmt.Sprintf("CSAS_%s_%d", sink, c.NextSequence())
	s := stream(sink)
	s.Query = id
	return id, c.PutSinkQuery(ctx, s, &Query{ID: id, Statement: "CREATE STREAM " + sink + " AS SELECT * FROM " + from, Sink: sink, Sources: []string{from}}, Deps{})
}

// race runs first on one node and then second on another that has not
// read first's command: both were checked against the same state, and
// the topic orders first's command before second's.
func race(t *testing.T, a, b *Catalog, first func(*Catalog) error, second func(*Catalog) error) (error, error) {
	t.Helper()
	return first(a), second(b)
}

// TestDropRacesCreateAsSelect: DROP STREAM s on one node and CREATE
// STREAM out AS SELECT ... FROM s on another, both checked against a
// catalog where s is unused, in both orders. Whichever the topic holds
// first wins, with the error the other statement gives when it runs
// after it; nobody keeps a sink without its query.
func TestDropRacesCreateAsSelect(t *testing.T) {
	drop := func(c *Catalog) error { return c.DropSource(context.Background(), "S") }
	create := func(c *Catalog) error { _, err := csas(context.Background(), c, "OUT", "S"); return err }
	for _, tc := range []struct {
		name           string
		dropFirst      bool
		wantDrop       sqlstate.Code
		wantCreate     sqlstate.Code
		wantCreateText string
		want           string
	}{
		{name: "drop first", dropFirst: true, wantCreate: sqlstate.UndefinedTable, wantCreateText: "stream or table S does not exist",
			want: ""},
		{name: "create first", wantDrop: sqlstate.DependentObjects,
			want: "source OUT STREAM topic=out query=CSAS_OUT_3\nsource S STREAM topic=s query=\nquery CSAS_OUT_3 sink=OUT sources=[S]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t)
			n1 := cl.node()
			if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
				t.Fatal(err)
			}
			n2 := cl.node()
			var errDrop, errCreate error
			if tc.dropFirst {
				errDrop, errCreate = race(t, n1, n2, drop, create)
			} else {
				errCreate, errDrop = race(t, n2, n1, create, drop)
			}
			if got := sqlstate.Of(errDrop); got != tc.wantDrop {
				t.Fatalf("drop: %v (%s), want SQLSTATE %q", errDrop, got, tc.wantDrop)
			}
			if got := sqlstate.Of(errCreate); got != tc.wantCreate {
				t.Fatalf("create: %v (%s), want SQLSTATE %q", errCreate, got, tc.wantCreate)
			}
			if tc.wantCreateText != "" && errCreate.Error() != tc.wantCreateText {
				t.Fatalf("create: %q, want %q", errCreate, tc.wantCreateText)
			}
			if errDrop != nil && !strings.Contains(errDrop.Error(), "it is used by the queries CSAS_OUT_3; terminate them first") {
				t.Fatalf("drop: %q, want the in-use error naming the query", errDrop)
			}
			if got := cl.agree(n1, n2); got != tc.want {
				t.Fatalf("catalog holds\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestDropAfterRacingQueryTerminated: a drop checked before another node
// created a query over the source applies if that query was terminated
// before the drop reached the topic, as it would had it run after the
// TERMINATE.
func TestDropAfterRacingQueryTerminated(t *testing.T) {
	cl := newCluster(t)
	n1 := cl.node()
	if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
		t.Fatal(err)
	}
	n2 := cl.node()
	id, err := csas(cl.ctx, n2, "OUT", "S")
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.DropQuery(cl.ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := n1.DropSource(cl.ctx, "S"); err != nil {
		t.Fatalf("drop after the reader's terminate: %v", err)
	}
	want := "source OUT STREAM topic=out query=CSAS_OUT_3\n"
	if got := cl.agree(n1, n2); got != want {
		t.Fatalf("catalog holds\n%s\nwant\n%s", got, want)
	}
}

// TestCreatesAsSelectOnOneSourceDoNotConflict: two queries reading one
// stream, created on two nodes at once, both apply: reading a key is not
// writing it.
func TestCreatesAsSelectOnOneSourceDoNotConflict(t *testing.T) {
	for _, order := range []string{"n1 first", "n2 first"} {
		t.Run(order, func(t *testing.T) {
			cl := newCluster(t)
			n1 := cl.node()
			if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
				t.Fatal(err)
			}
			n2 := cl.node()
			a, b := n1, n2
			if order == "n2 first" {
				a, b = n2, n1
			}
			if _, err := csas(cl.ctx, a, "A", "S"); err != nil {
				t.Fatalf("first: %v", err)
			}
			if _, err := csas(cl.ctx, b, "B", "S"); err != nil {
				t.Fatalf("second: %v", err)
			}
			got := cl.agree(n1, n2)
			if strings.Count(got, "query ") != 2 || strings.Count(got, "source ") != 3 {
				t.Fatalf("catalog holds\n%s\nwant both queries and their sinks", got)
			}
			// Both queries use S now: a drop based on the current
			// state is refused, as a DROP before any race is.
			if err := n1.DropSource(cl.ctx, "S"); !errors.Is(err, ErrSourceInUse) {
				t.Fatalf("drop of the read stream: %v, want ErrSourceInUse", err)
			}
		})
	}
}

// TestDropTypeRacesCreateUsingIt: DROP TYPE on one node and a CREATE
// that used the type on another. If the drop comes first, the create
// fails as it would after the drop (the type does not exist); if the
// create comes first, both apply, as they do one after the other (a
// source keeps the type it was made with).
func TestDropTypeRacesCreateUsingIt(t *testing.T) {
	dropType := func(c *Catalog) error { return c.DropType(context.Background(), "ADDR") }
	create := func(c *Catalog) error {
		return c.PutSourceDeps(context.Background(), stream("S"), Deps{Types: []string{"ADDR"}})
	}
	for _, tc := range []struct {
		name       string
		dropFirst  bool
		wantCreate sqlstate.Code
		want       string
	}{
		{name: "drop first", dropFirst: true, wantCreate: sqlstate.UndefinedObject, want: ""},
		{name: "create first", want: "source S STREAM topic=s query=\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t)
			n1 := cl.node()
			if err := n1.PutType(cl.ctx, &TypeAlias{Name: "ADDR", Type: types.String}); err != nil {
				t.Fatal(err)
			}
			n2 := cl.node()
			var errDrop, errCreate error
			if tc.dropFirst {
				errDrop, errCreate = race(t, n1, n2, dropType, create)
			} else {
				errCreate, errDrop = race(t, n2, n1, create, dropType)
			}
			if errDrop != nil {
				t.Fatalf("drop type: %v", errDrop)
			}
			if got := sqlstate.Of(errCreate); got != tc.wantCreate {
				t.Fatalf("create: %v (%s), want SQLSTATE %q", errCreate, got, tc.wantCreate)
			}
			if got := cl.agree(n1, n2); got != tc.want {
				t.Fatalf("catalog holds\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestInsertIntoRacesDropOfTarget: INSERT INTO t SELECT ... depends on
// its target as on its sources.
func TestInsertIntoRacesDropOfTarget(t *testing.T) {
	cl := newCluster(t)
	n1 := cl.node()
	for _, name := range []string{"S", "T"} {
		if err := n1.PutSource(cl.ctx, stream(name)); err != nil {
			t.Fatal(err)
		}
	}
	n2 := cl.node()
	if err := n1.DropSource(cl.ctx, "T"); err != nil {
		t.Fatal(err)
	}
	err := n2.PutQuery(cl.ctx, &Query{ID: "INSERTQUERY_4", Statement: "INSERT INTO T SELECT * FROM S", Sink: "T", Sources: []string{"S"}})
	if !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("insert into a target dropped first: %v, want ErrUnknownSource", err)
	}
	if got, want := cl.agree(n1, n2), "source S STREAM topic=s query=\n"; got != want {
		t.Fatalf("catalog holds\n%s\nwant\n%s", got, want)
	}
}

// TestReplacedSinkKeepsItsQuery: a CREATE ... AS SELECT's query lives in
// its own record, so replacing its sink (compaction keeps only the
// source key's latest record) does not lose it, and terminating it does
// not lose the sink.
func TestReplacedSinkKeepsItsQuery(t *testing.T) {
	cl := newCluster(t)
	n1 := cl.node()
	if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
		t.Fatal(err)
	}
	id, err := csas(cl.ctx, n1, "OUT", "S")
	if err != nil {
		t.Fatal(err)
	}
	// As CREATE OR REPLACE STREAM out (...) records it: a source of no
	// query, over the sink the query still writes.
	// Twice: the second replaces a record that names no query.
	for _, topic := range []string{"out1", "out2"} {
		replaced := stream("OUT")
		replaced.Topic = topic
		if err := n1.PutSource(cl.ctx, replaced); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.log.Compact(cl.ctx, Topic); err != nil {
		t.Fatal(err)
	}
	want := "source OUT STREAM topic=out2 query=\nsource S STREAM topic=s query=\nquery CSAS_OUT_2 sink=OUT sources=[S]\n"
	if got := cl.agree(n1); got != want {
		t.Fatalf("after compaction the catalog holds\n%s\nwant\n%s", got, want)
	}
	// Terminated, the query stays gone after compaction, though its
	// own command carried the sink.
	if err := n1.DropQuery(cl.ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := cl.log.Compact(cl.ctx, Topic); err != nil {
		t.Fatal(err)
	}
	want = "source OUT STREAM topic=out2 query=\nsource S STREAM topic=s query=\n"
	if got := cl.agree(n1); got != want {
		t.Fatalf("after TERMINATE and compaction the catalog holds\n%s\nwant\n%s", got, want)
	}
}

// TestOldRecordsReplay: records written before commands carried Reads
// and Drop — separate source and query commands, tombstones for drops,
// with and without Base — replay as they always did.
func TestOldRecordsReplay(t *testing.T) {
	cl := newCluster(t)
	cl.node() // creates the topic
	rec := func(key string, v any) log.Record { return oldRecord(t, key, v) }
	out := stream("OUT")
	out.Query = "CSAS_OUT_1"
	recs := []log.Record{
		rec("source/S", oldCommand{Source: stream("S")}),
		rec("source/OUT", oldCommand{Source: out, Base: 1}),
		rec("query/CSAS_OUT_1", oldCommand{Query: &Query{ID: "CSAS_OUT_1", Sink: "OUT", Sources: []string{"S"}}, Base: 2}),
		rec("source/GONE", oldCommand{Source: stream("GONE"), Base: 3}),
		rec("source/GONE", nil),
		// A tombstone is unconditional: it deletes even though a query
		// reads S.
		rec("source/T", oldCommand{Source: stream("T"), Base: 5}),
		rec("query/INSERTQUERY_7", oldCommand{Query: &Query{ID: "INSERTQUERY_7", Sink: "OUT", Sources: []string{"T"}}, Base: 6}),
		rec("source/T", nil),
	}
	if _, err := cl.log.Append(cl.ctx, Topic, recs); err != nil {
		t.Fatal(err)
	}
	want := "source OUT STREAM topic=out query=CSAS_OUT_1\nsource S STREAM topic=s query=\n" +
		"query CSAS_OUT_1 sink=OUT sources=[S]\nquery INSERTQUERY_7 sink=OUT sources=[T]\n"
	if got := cl.agree(); got != want {
		t.Fatalf("old records replay to\n%s\nwant\n%s", got, want)
	}
}

// TestSkippedCommandSurvivesCompaction: a CREATE ... AS SELECT that lost
// to a DROP of its source, with the source made again afterwards. Were
// the commands records under their objects' keys, compaction would keep
// only the re-creation of the source, and a replay from scratch would
// find nothing against the losing command; under keys of their own all
// three stay, and the replay skips it as the nodes did.
func TestSkippedCommandSurvivesCompaction(t *testing.T) {
	cl := newCluster(t)
	n1 := cl.node()
	if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
		t.Fatal(err)
	}
	n2 := cl.node()
	if err := n1.DropSource(cl.ctx, "S"); err != nil {
		t.Fatal(err)
	}
	if _, err := csas(cl.ctx, n2, "OUT", "S"); !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("create over a source dropped first: %v, want ErrUnknownSource", err)
	}
	if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
		t.Fatalf("make S again: %v", err)
	}
	if err := cl.log.Compact(cl.ctx, Topic); err != nil {
		t.Fatal(err)
	}
	if got, want := cl.agree(n1, n2), "source S STREAM topic=s query=\n"; got != want {
		t.Fatalf("after compaction the catalog holds\n%s\nwant\n%s", got, want)
	}
}

// TestCompactionKeepsEveryCommand: each command is a record under a key
// of its own, a drop a value rather than a tombstone, so compaction
// removes none of them (only older replay markers): a query made by
// CREATE ... AS SELECT and terminated does not come back, its sink
// stays, and after the drops the catalog is empty while the topic still
// holds every command, as ksqlDB's command topic does.
func TestCompactionKeepsEveryCommand(t *testing.T) {
	cl := newCluster(t)
	n1 := cl.node()
	if err := n1.PutType(cl.ctx, &TypeAlias{Name: "CODE", Type: types.String}); err != nil {
		t.Fatal(err)
	}
	if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
		t.Fatal(err)
	}
	id, err := csas(cl.ctx, n1, "OUT", "S")
	if err != nil {
		t.Fatal(err)
	}
	if err := n1.DropQuery(cl.ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := cl.log.Compact(cl.ctx, Topic); err != nil {
		t.Fatal(err)
	}
	want := "source OUT STREAM topic=out query=" + id + "\nsource S STREAM topic=s query=\ntype CODE STRING\n"
	if got := cl.agree(n1); got != want {
		t.Fatalf("after TERMINATE and compaction the catalog holds\n%s\nwant\n%s", got, want)
	}
	for _, err := range []error{n1.DropSource(cl.ctx, "OUT"), n1.DropSource(cl.ctx, "S"), n1.DropType(cl.ctx, "CODE")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.log.Compact(cl.ctx, Topic); err != nil {
		t.Fatal(err)
	}
	if got := cl.agree(n1); got != "" {
		t.Fatalf("after the drops and compaction the catalog holds\n%s", got)
	}
	var commands []string
	for _, k := range topicKeys(t, cl) {
		if !strings.HasPrefix(k, markerPrefix) {
			commands = append(commands, objectKey(k))
		}
	}
	// CREATE TYPE, CREATE STREAM, CREATE ... AS SELECT (query, then
	// sink), TERMINATE, and the three drops.
	wantKeys := []string{"type/CODE", "source/S", "query/" + id, "source/OUT", "query/" + id, "source/OUT", "source/S", "type/CODE"}
	if fmt.Sprint(commands) != fmt.Sprint(wantKeys) {
		t.Fatalf("after compaction the topic holds commands about %v, want every command: %v", commands, wantKeys)
	}
}

// TestSkippedDropSparesARecreation: a drop that lost to another node's
// re-creation of the name is skipped everywhere, and after compaction
// too: the drop is no tombstone that would remove the re-creation with
// it, and it shares no key with it.
func TestSkippedDropSparesARecreation(t *testing.T) {
	cl := newCluster(t)
	n1 := cl.node()
	if err := n1.PutSource(cl.ctx, stream("S")); err != nil {
		t.Fatal(err)
	}
	n2 := cl.node()
	if err := n1.DropSource(cl.ctx, "S"); err != nil {
		t.Fatal(err)
	}
	again := stream("S")
	again.Topic = "again"
	if err := n1.PutSource(cl.ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := n2.DropSource(cl.ctx, "S"); !errors.Is(err, ErrConcurrentChange) {
		t.Fatalf("drop based on the first S: %v, want ErrConcurrentChange", err)
	}
	if err := cl.log.Compact(cl.ctx, Topic); err != nil {
		t.Fatal(err)
	}
	if got, want := cl.agree(n1, n2), "source S STREAM topic=again query=\n"; got != want {
		t.Fatalf("catalog holds\n%s\nwant\n%s", got, want)
	}
}

// topicKeys lists the keys of the catalog topic's records, in order.
func topicKeys(t *testing.T, cl *cluster) []string {
	t.Helper()
	ends, err := cl.log.EndOffsets(cl.ctx, Topic)
	if err != nil {
		t.Fatal(err)
	}
	starts, err := cl.log.StartOffsets(cl.ctx, Topic)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cl.log.NewReader(cl.ctx, log.TopicPartition{Topic: Topic}, starts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var keys []string
	for next := starts[0]; next < ends[0]; {
		recs, err := r.Next(cl.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			keys = append(keys, string(rec.Key))
			next = rec.Offset + 1
		}
	}
	return keys
}

// TestConcurrentCreateAsSelectOneWins: two nodes creating one sink with
// CREATE ... AS SELECT at once: the first applies everywhere, the second
// fails naming the sink, and no node keeps its query.
func TestConcurrentCreateAsSelectOneWins(t *testing.T) {
	cl := newCluster(t)
	n1 := cl.node()
	for _, name := range []string{"S", "T"} {
		if err := n1.PutSource(cl.ctx, stream(name)); err != nil {
			t.Fatal(err)
		}
	}
	n2 := cl.node()
	id, err := csas(cl.ctx, n1, "OUT", "S")
	if err != nil {
		t.Fatal(err)
	}
	_, err = csas(cl.ctx, n2, "OUT", "T")
	if !errors.Is(err, ErrConcurrentChange) || !strings.HasPrefix(err.Error(), "OUT was created or changed by another node") {
		t.Fatalf("second create: %v, want ErrConcurrentChange naming OUT", err)
	}
	want := "source OUT STREAM topic=out query=" + id + "\nsource S STREAM topic=s query=\nsource T STREAM topic=t query=\nquery " + id + " sink=OUT sources=[S]\n"
	if got := cl.agree(n1, n2); got != want {
		t.Fatalf("catalog holds\n%s\nwant\n%s", got, want)
	}
}

// oldCommand is a catalog command as versions before Reads and Drop
// wrote it.
type oldCommand struct {
	Source *Source `json:"source,omitempty"`
	Query  *Query  `json:"query,omitempty"`
	Base   int64   `json:"base,omitempty"`
}

// oldRecord is a catalog record under an object's key, as older versions
// wrote them: v as JSON, or a tombstone when v is nil.
func oldRecord(t *testing.T, key string, v any) log.Record {
	t.Helper()
	r := log.Record{Key: []byte(key), Partition: 0, Timestamp: log.NoTimestamp}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		r.Value = b
	}
	return r
}
