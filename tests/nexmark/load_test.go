package nexmark

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/runnel/runnel/tests/harness"
)

// streamRefs read back each stream in full, ROWTIME included, with the
// rows the events must give.
var streamRefs = [3]refQuery{
	{
		sel:   "SELECT id, name, emailAddress, creditCard, city, state, dateTime, extra, ROWTIME FROM person",
		kinds: "isssssts" + "i",
		rows: func(events []Event) [][]any {
			var out [][]any
			for _, e := range events {
				if p := e.Person; e.Kind == KindPerson {
					out = append(out, []any{p.ID, p.Name, p.EmailAddress, p.CreditCard, p.City, p.State, p.DateTime, p.Extra, p.DateTime})
				}
			}
			return out
		},
	},
	{
		sel:   "SELECT id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra, ROWTIME FROM auction",
		kinds: "issiittiis" + "i",
		rows: func(events []Event) [][]any {
			var out [][]any
			for _, e := range events {
				if a := e.Auction; e.Kind == KindAuction {
					out = append(out, []any{a.ID, a.ItemName, a.Description, a.InitialBid, a.Reserve, a.DateTime, a.Expires, a.Seller, a.Category, a.Extra, a.DateTime})
				}
			}
			return out
		},
	},
	{
		sel:   "SELECT auction, bidder, price, channel, url, dateTime, extra, ROWTIME FROM bid",
		kinds: "iiissts" + "i",
		rows: forBids(func(b Bid) []any {
			return []any{b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.DateTime, b.Extra, b.DateTime}
		}),
	},
}

// TestWriters: both ways in — appends through the log API (here at a
// fixed rate) and INSERTs over pgwire — give streams whose rows are the
// generated events, ROWTIME their event time, spread evenly over the
// partitions.
func TestWriters(t *testing.T) {
	const events = 500
	g := newTestGenerator(t, Config{Seed: 99})
	all := make([]Event, events)
	for i := range all {
		all[i] = g.Event(int64(i))
	}
	for _, via := range []string{"log", "pgwire"} {
		t.Run(via, func(t *testing.T) {
			s := harness.Start(t, harness.Options{})
			conn := s.Connect(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := CreateStreams(ctx, conn, DefaultPartitions); err != nil {
				t.Fatal(err)
			}
			opts := LoadOptions{Events: events}
			var w Writer
			if via == "log" {
				var err error
				if w, err = NewLogWriter(ctx, s.Engine.Log()); err != nil {
					t.Fatal(err)
				}
				opts.Rate, opts.ChunkEvents = 5000, 64
			} else {
				w = NewPgwireWriter(s.Connect(t), 37)
			}
			var before atomic.Int64
			opts.BeforeWrite = func(first, end int64) {
				if first != before.Load() || end <= first {
					t.Errorf("chunk [%d, %d) after %d: out of order", first, end, before.Load())
				}
				before.Store(end)
			}
			st, err := Load(ctx, g, w, opts)
			if err != nil {
				t.Fatal(err)
			}
			if st.Events != events || st.ByKind != [3]int64{10, 30, 460} || before.Load() != events {
				t.Fatalf("loaded %+v, chunks up to %d", st, before.Load())
			}
			if opts.Rate > 0 {
				// The last chunk may not start before (events - chunk) / rate.
				if min := time.Duration(float64(events-2*opts.ChunkEvents) / opts.Rate * float64(time.Second)); st.Elapsed < min {
					t.Errorf("%d events at %v/s took %v, less than %v", events, opts.Rate, st.Elapsed, min)
				}
			}
			for k, ref := range streamRefs {
				got, err := readCanonical(ctx, conn, ref)
				if err != nil {
					t.Fatal(err)
				}
				want, err := canonicalRows(ref.kinds, ref.rows(all))
				if err != nil {
					t.Fatal(err)
				}
				compareRows(t, Streams[k], got, want)
				if via != "log" {
					continue
				}
				ends, err := s.Engine.Log().EndOffsets(ctx, Topics[k])
				if err != nil {
					t.Fatal(err)
				}
				per := st.ByKind[k] / int64(len(ends))
				for p, e := range ends {
					if e < per || e > per+1 {
						t.Errorf("%s partition %d holds %d of %d records: not round-robin", Topics[k], p, e, st.ByKind[k])
					}
				}
			}
		})
	}
}

// TestLoadStops: a load whose context ends returns promptly with the
// context's error, having written a prefix of the events.
func TestLoadStops(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	conn := s.Connect(t)
	ctx := context.Background()
	if err := CreateStreams(ctx, conn, 2); err != nil {
		t.Fatal(err)
	}
	w, err := NewLogWriter(ctx, s.Engine.Log())
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGenerator(t, Config{})
	lctx, cancel := context.WithCancel(ctx)
	var progressed atomic.Bool
	st, err := Load(lctx, g, w, LoadOptions{Events: 1_000_000, Rate: 2000, ProgressEvery: time.Millisecond,
		Progress: func(s LoadStats) {
			progressed.Store(true)
			if s.Events >= 100 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Load returned %v, want context.Canceled", err)
	}
	if !progressed.Load() || st.Events < 100 || st.Events >= 1_000_000 {
		t.Fatalf("stopped after %d events", st.Events)
	}
	var total int64
	for _, topic := range Topics {
		ends, err := s.Engine.Log().EndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ends {
			total += e
		}
	}
	// Load reports the events whose Appends returned. The cancel may
	// interrupt the chunk being written after the log took some of it
	// (an append is durable before it is acknowledged), so the log holds
	// what Load reports and at most that one chunk more: 20 events at
	// 2,000 a second, extended to the end of their millisecond.
	if total < st.Events || total > st.Events+40 {
		t.Fatalf("the log holds %d events, Load reports %d", total, st.Events)
	}
}

// TestLoadOptions: nonsense is refused before anything is written.
func TestLoadOptions(t *testing.T) {
	g := newTestGenerator(t, Config{})
	for _, o := range []LoadOptions{{}, {Events: -1}, {Events: 5, Rate: -1}, {Events: 5, Workers: -2}} {
		if _, err := Load(context.Background(), g, nil, o); err == nil {
			t.Errorf("Load(%+v) accepted", o)
		}
	}
}

// TestKafka: the generator writes through Kafka's log (franz-go's
// in-process kfake cluster) as through the embedded one, and a query over
// those topics gives the reference's result.
func TestKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	s := harness.Start(t, harness.Options{Kafka: c.ListenAddrs()})
	conn := s.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := CreateStreams(ctx, conn, 2); err != nil {
		t.Fatal(err)
	}
	w, err := NewLogWriter(ctx, s.Engine.Log())
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGenerator(t, correctnessConfig)
	const events = 1000
	if _, err := Load(ctx, g, w, LoadOptions{Events: events, ChunkEvents: 128}); err != nil {
		t.Fatal(err)
	}
	all := make([]Event, events)
	for i := range all {
		all[i] = g.Event(int64(i))
	}
	q, _ := Lookup("q17")
	ids, err := StartQuery(ctx, conn, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := AwaitQuery(ctx, conn, s.Engine.Log(), q, ids, nil); err != nil {
		t.Fatal(err)
	}
	ref := references[q.Name]
	got, err := readCanonical(ctx, conn, ref)
	if err != nil {
		t.Fatal(err)
	}
	want, err := canonicalRows(ref.kinds, ref.rows(all))
	if err != nil {
		t.Fatal(err)
	}
	compareRows(t, q.Name, got, want)
}
