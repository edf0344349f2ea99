package nexmark

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/tests/harness"
)

// correctnessConfig makes 2,500 events span 7 hours of event time, one
// every 10 seconds, from 18:30 on 15 July 2015 to 01:26 the next day: q14
// sees every time of day it names, q15 to q17 see two days, and q11 sees
// the hot bidder's bids either exactly one session gap apart (which joins
// them: the gap is inclusive) or two gaps apart (which does not), beside
// bidders with one bid a session. The default rate (10,000 events/s)
// would put all of them within a quarter of a second.
var correctnessConfig = Config{Seed: 2015, FirstEventRate: 0.1, BaseTime: DefaultBaseTime + (18*60+30)*60*1000}

// fastConfig makes the same 2,500 events span 25 seconds, 100 a second:
// q8's people and auctions meet in 10-second windows (at the slow rate
// above an event is alone in its window).
var fastConfig = Config{Seed: 2015, FirstEventRate: 100, BaseTime: correctnessConfig.BaseTime}

// correctnessEvents keeps the test to seconds under the race detector.
// q11 bounds it: each bid's session lookup costs time in proportion to
// the updates its bidder's sessions have had (see BENCHMARKS.md), and the
// hot bidder has three quarters of the bids.
const correctnessEvents = 2_500

// TestQueriesMatchReference runs every supported query on the real engine,
// over the embedded log and pgwire, from the earliest offset of 2,500
// loaded events, and compares what each returns (a scan of its stream, a
// pull query of its table) with the independent computation of
// reference_test.go: over events spanning 7 hours, and the queries whose
// reference asks for it (refQuery.fast) over events spanning 25 seconds.
func TestQueriesMatchReference(t *testing.T) {
	t.Run("slow", func(t *testing.T) { matchReferences(t, correctnessConfig, false) })
	t.Run("fast", func(t *testing.T) { matchReferences(t, fastConfig, true) })
}

// matchReferences checks the supported queries whose reference's fast
// field is fast, or whose both field is set, over events of cfg.
func matchReferences(t *testing.T, cfg Config, fast bool) {
	s := harness.Start(t, harness.Options{})
	conn := s.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := CreateStreams(ctx, conn, DefaultPartitions); err != nil {
		t.Fatal(err)
	}
	g := newTestGenerator(t, cfg)
	w, err := NewLogWriter(ctx, s.Engine.Log())
	if err != nil {
		t.Fatal(err)
	}
	// Small chunks: many appends, as a long run makes.
	st, err := Load(ctx, g, w, LoadOptions{Events: correctnessEvents, ChunkEvents: 300})
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != correctnessEvents || st.ByKind != [3]int64{50, 150, 2300} {
		t.Fatalf("loaded %d events, by kind %v", st.Events, st.ByKind)
	}
	events := make([]Event, correctnessEvents)
	for i := range events {
		events[i] = g.Event(int64(i))
	}

	// All at once, as a server runs many queries: each on its own
	// connection.
	type running struct {
		q    Query
		ids  []string
		conn *pgx.Conn
	}
	var runs []running
	for _, q := range Queries() {
		if !q.Supported() {
			continue
		}
		ref, ok := references[q.Name]
		if !ok {
			t.Errorf("%s is supported but has no reference computation", q.Name)
			continue
		}
		if ref.fast != fast && !ref.both {
			continue
		}
		c := s.Connect(t)
		ids, err := StartQuery(ctx, c, q)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, running{q, ids, c})
	}
	for _, r := range runs {
		if err := AwaitQuery(ctx, r.conn, s.Engine.Log(), r.q, r.ids, nil); err != nil {
			t.Fatal(err)
		}
		ref := references[r.q.Name]
		got, err := readCanonical(ctx, r.conn, ref)
		if err != nil {
			t.Fatalf("%s: %v", r.q.Name, err)
		}
		want, err := canonicalRows(ref.kinds, ref.rows(events))
		if err != nil {
			t.Fatalf("%s: reference: %v", r.q.Name, err)
		}
		compareRows(t, r.q.Name, got, want)
	}
}

// TestWindowEdges runs q5, q7 and q18 over a few bids written by hand,
// one INSERT each in the order listed, and compares their results with
// the reference computations. The generated events never fall where these
// do: in the last millisecond of a 10-second window (q7 must match it with
// its own window's highest price and the next one's: nexmark-flink's
// range for a window runs from 1 ms before it to 1 ms before its end),
// at equal prices and counts (every tie is a row), as two identical bids
// (two rows), and late: a bid that raises a window's highest price after
// its rows were emitted, which must retract them, and is not its bidder's
// last bid on its auction by event time though it arrives last (q18).
func TestWindowEdges(t *testing.T) {
	const base = DefaultBaseTime // a multiple of 10 s
	bid := func(auction, price, at int64) Event {
		return Event{Kind: KindBid, Bid: Bid{Auction: auction, Bidder: 7, Price: price, Channel: "Google",
			URL: "https://www.nexmark.com/a", DateTime: base + at, Extra: "x"}}
	}
	events := []Event{
		bid(1, 100, 1_000),
		bid(1, 500, 2_000),
		bid(2, 500, 5_000),  // ties with the one before
		bid(3, 300, 9_999),  // below its window's 500, equal to the next window's 300
		bid(3, 200, 12_000), //
		bid(4, 300, 15_000),
		bid(4, 100, 19_999),  // below both of its windows' highest
		bid(5, 700, 29_999),  // its window's highest and the next one's
		bid(5, 700, 31_000),  //
		bid(6, 100, 35_000),  //
		bid(6, 50, 45_000),   // two identical bids, alone in their window
		bid(6, 50, 45_000),   //
		bid(2, 600, 2_100),   // late: 600 replaces window 0's 500; not the last on auction 2
		bid(9, 10, 140_000),  // far later, one window: the second is the highest
		bid(1, 900, 140_500), //
	}
	if rows := refQ7(events); len(rows) != 9 {
		t.Fatalf("q7's reference finds %d rows in the hand-written bids, want 9: %v", len(rows), rows)
	}

	s := harness.Start(t, harness.Options{})
	conn := s.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := CreateStreams(ctx, conn, DefaultPartitions); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		var b strings.Builder
		b.WriteString("INSERT INTO bid (" + insertColumns[KindBid] + ") VALUES ")
		e.appendSQLValues(&b)
		if _, err := conn.Exec(ctx, b.String()); err != nil {
			t.Fatalf("%s: %v", b.String(), err)
		}
	}
	for _, name := range []string{"q5", "q7", "q18"} {
		q, ok := Lookup(name)
		if !ok || !q.Supported() {
			t.Fatalf("%s is not supported", name)
		}
		ids, err := StartQuery(ctx, conn, q)
		if err != nil {
			t.Fatal(err)
		}
		if err := AwaitQuery(ctx, conn, s.Engine.Log(), q, ids, nil); err != nil {
			t.Fatal(err)
		}
		ref := references[name]
		got, err := readCanonical(ctx, conn, ref)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := canonicalRows(ref.kinds, ref.rows(events))
		if err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		compareRows(t, name, got, want)
	}
}

// readCanonical runs ref.sel and renders each row canonically, values
// read in PostgreSQL's text format.
func readCanonical(ctx context.Context, conn *pgx.Conn, ref refQuery) ([]string, error) {
	rows, err := conn.Query(ctx, ref.sel, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != len(ref.kinds) {
			return nil, fmt.Errorf("%s: %d columns, want %d", ref.sel, len(raw), len(ref.kinds))
		}
		vals := make([]any, len(raw))
		for i, b := range raw {
			if b != nil {
				vals[i] = string(b)
			}
		}
		row, err := canonicalRow(ref.kinds, vals)
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func canonicalRows(kinds string, rows [][]any) ([]string, error) {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		s, err := canonicalRow(kinds, r)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func canonicalRow(kinds string, vals []any) (string, error) {
	if len(vals) != len(kinds) {
		return "", fmt.Errorf("%d values for %d columns", len(vals), len(kinds))
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		s, err := canonical(kinds[i], v)
		if err != nil {
			return "", fmt.Errorf("column %d: %w", i+1, err)
		}
		parts[i] = s
	}
	return strings.Join(parts, " | "), nil
}

// compareRows compares two multisets of rows, reporting a few of the rows
// each side has and the other has not.
func compareRows(t *testing.T, name string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Errorf("%s: the reference expects no rows: the events exercise nothing", name)
	}
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var missing, extra []string
	for r, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, r)
		}
		for ; n < 0; n++ {
			extra = append(extra, r)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		t.Logf("%s: %d rows as the reference computes them", name, len(got))
		return
	}
	sort.Strings(missing)
	sort.Strings(extra)
	t.Errorf("%s: %d rows, want %d: %d missing, %d unexpected\nmissing: %s\nunexpected: %s", name, len(got), len(want),
		len(missing), len(extra), strings.Join(first(missing, 5), "\n  "), strings.Join(first(extra, 5), "\n  "))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
