package nexmark

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func newTestGenerator(t testing.TB, cfg Config) *Generator {
	t.Helper()
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestProportions: 1:3:46 over 100,000 events, exactly, and in the order
// of the Java generator within every 50 ids.
func TestProportions(t *testing.T) {
	g := newTestGenerator(t, Config{})
	var counts [3]int
	for n := range int64(100_000) {
		e := g.Event(n)
		counts[e.Kind]++
		var want Kind
		switch r := n % 50; {
		case r == 0:
			want = KindPerson
		case r <= 3:
			want = KindAuction
		default:
			want = KindBid
		}
		if e.Kind != want {
			t.Fatalf("event %d is a %v, want a %v", n, e.Kind, want)
		}
	}
	if want := [3]int{2000, 6000, 92000}; counts != want {
		t.Fatalf("person/auction/bid counts %v, want %v", counts, want)
	}
}

// TestIDRanges: people and auctions are numbered consecutively from 1000;
// every reference to a person or auction is to one already created or at
// most the lead ahead; categories, prices, expiries and channels are in
// their ranges.
func TestIDRanges(t *testing.T) {
	g := newTestGenerator(t, Config{Seed: 7})
	nextPerson, nextAuction := int64(FirstPersonID), int64(FirstAuctionID)
	for n := range int64(100_000) {
		e := g.Event(n)
		switch e.Kind {
		case KindPerson:
			if e.Person.ID != nextPerson {
				t.Fatalf("event %d: person id %d, want %d", n, e.Person.ID, nextPerson)
			}
			nextPerson++
			if !contains(usStates, e.Person.State) || !contains(usCities, e.Person.City) {
				t.Fatalf("event %d: state %q city %q", n, e.Person.State, e.Person.City)
			}
			if len(e.Person.CreditCard) != 19 || !strings.Contains(e.Person.EmailAddress, "@") {
				t.Fatalf("event %d: credit card %q email %q", n, e.Person.CreditCard, e.Person.EmailAddress)
			}
		case KindAuction:
			a := e.Auction
			if a.ID != nextAuction {
				t.Fatalf("event %d: auction id %d, want %d", n, a.ID, nextAuction)
			}
			nextAuction++
			checkRef(t, n, "seller", a.Seller, FirstPersonID, nextPerson-1+PersonIDLead)
			if a.Category < FirstCategoryID || a.Category >= FirstCategoryID+NumCategories {
				t.Fatalf("event %d: category %d", n, a.Category)
			}
			checkPrice(t, n, a.InitialBid)
			if a.Reserve <= a.InitialBid || a.Expires <= a.DateTime {
				t.Fatalf("event %d: reserve %d initial %d expires %d at %d", n, a.Reserve, a.InitialBid, a.Expires, a.DateTime)
			}
		case KindBid:
			b := e.Bid
			checkRef(t, n, "auction", b.Auction, FirstAuctionID, nextAuction-1+AuctionIDLead)
			// A random auction is one of the NumInFlightAuctions latest.
			if b.Auction < nextAuction-1-NumInFlightAuctions && b.Auction%HotBatch != 0 {
				t.Fatalf("event %d: auction %d is neither hot nor in flight (last %d)", n, b.Auction, nextAuction-1)
			}
			checkRef(t, n, "bidder", b.Bidder, FirstPersonID, nextPerson-1+PersonIDLead)
			checkPrice(t, n, b.Price)
			if !strings.HasPrefix(b.URL, "https://www.nexmark.com/") {
				t.Fatalf("event %d: url %q", n, b.URL)
			}
			if !contains(HotChannels[:], b.Channel) && !strings.HasPrefix(b.Channel, "channel-") {
				t.Fatalf("event %d: channel %q", n, b.Channel)
			}
		}
	}
}

func checkRef(t *testing.T, n int64, what string, id, lo, hi int64) {
	t.Helper()
	if id < lo || id > hi {
		t.Fatalf("event %d: %s %d outside [%d, %d]", n, what, id, lo, hi)
	}
}

func checkPrice(t *testing.T, n, p int64) {
	t.Helper()
	if p < 100 || p > 100_000_000 {
		t.Fatalf("event %d: price %d outside $1..$1,000,000", n, p)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestHotSkew: half the bids are for the hot auction of their time, three
// quarters are by the hot bidder, three quarters of auctions are by the
// hot seller, half the bids come through the four hot channels; and the
// hottest auction and bidder stand far above the rest.
func TestHotSkew(t *testing.T) {
	g := newTestGenerator(t, Config{Seed: 3})
	var bids, hotAuction, hotBidder, hotChannel, auctions, hotSeller int
	perAuction, perBidder := map[int64]int{}, map[int64]int{}
	for n := range int64(100_000) {
		e := g.Event(n)
		switch e.Kind {
		case KindAuction:
			auctions++
			if e.Auction.Seller == lastBase0PersonID(n)/HotBatch*HotBatch+FirstPersonID {
				hotSeller++
			}
		case KindBid:
			bids++
			b := e.Bid
			perAuction[b.Auction]++
			perBidder[b.Bidder]++
			if b.Auction == lastBase0AuctionID(n)/HotBatch*HotBatch+FirstAuctionID {
				hotAuction++
			}
			if b.Bidder == lastBase0PersonID(n)/HotBatch*HotBatch+1+FirstPersonID {
				hotBidder++
			}
			if contains(HotChannels[:], b.Channel) {
				hotChannel++
			}
		}
	}
	for _, c := range []struct {
		name    string
		got     float64
		lo, hi  float64
		meaning string
	}{
		{"hot auction", frac(hotAuction, bids), 0.49, 0.53, "1 - 1/HotAuctionRatio, plus random draws that land on it"},
		{"hot bidder", frac(hotBidder, bids), 0.74, 0.77, "1 - 1/HotBiddersRatio"},
		{"hot seller", frac(hotSeller, auctions), 0.73, 0.77, "1 - 1/HotSellersRatio"},
		{"hot channel", frac(hotChannel, bids), 0.49, 0.51, "1 - 1/HotChannelsRatio"},
	} {
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s share %.4f outside [%.2f, %.2f] (%s)", c.name, c.got, c.lo, c.hi, c.meaning)
		}
	}
	// 100,000 events make 6,000 auctions in 60 batches of 100 and 2,000
	// people in 20 batches: each hot auction takes about half of its
	// batch's bids, and each hot bidder three quarters of its batch's.
	topA, topB := top(perAuction), top(perBidder)
	if topA < bids/60/3 {
		t.Errorf("hottest auction has %d of %d bids: no skew", topA, bids)
	}
	if topB < bids/20/2 {
		t.Errorf("hottest bidder has %d of %d bids: no skew", topB, bids)
	}
	if len(perAuction) < 1000 || len(perBidder) < 500 {
		t.Errorf("%d auctions and %d bidders received bids: too few distinct", len(perAuction), len(perBidder))
	}
}

func frac(a, b int) float64 { return float64(a) / float64(b) }

func top(m map[int64]int) int {
	best := 0
	for _, v := range m {
		best = max(best, v)
	}
	return best
}

// TestEventTimes: event time starts at the base time, never goes back, and
// advances by 1/FirstEventRate per event (n/10 ms at the default rate),
// for events of every kind.
func TestEventTimes(t *testing.T) {
	g := newTestGenerator(t, Config{})
	prev := int64(math.MinInt64)
	for n := range int64(100_000) {
		e := g.Event(n)
		ts := e.Time()
		if ts < prev {
			t.Fatalf("event %d at %d, before event %d at %d", n, ts, n-1, prev)
		}
		if want := DefaultBaseTime + n/10; ts != want {
			t.Fatalf("event %d at %d, want %d", n, ts, want)
		}
		prev = ts
	}
	slow := newTestGenerator(t, Config{FirstEventRate: 0.5, BaseTime: 1000})
	for _, c := range []struct{ n, want int64 }{{0, 1000}, {1, 3000}, {10, 21000}} {
		if got := slow.Timestamp(c.n); got != c.want {
			t.Errorf("at 0.5 events/s, event %d at %d, want %d", c.n, got, c.want)
		}
	}
}

// TestSeeds: the same seed gives the same bytes (from another generator
// and in another order); another seed gives other events with the same
// ids and times.
func TestSeeds(t *testing.T) {
	a, b, c := newTestGenerator(t, Config{Seed: 42}), newTestGenerator(t, Config{Seed: 42}), newTestGenerator(t, Config{Seed: 43})
	var same, differ int
	for n := int64(4999); n >= 0; n-- {
		ea, eb, ec := a.Event(n), b.Event(n), c.Event(n)
		ja, jb, jc := ea.AppendJSON(nil), eb.AppendJSON(nil), ec.AppendJSON(nil)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("event %d differs between two generators of seed 42:\n%s\n%s", n, ja, jb)
		}
		if ea.Time() != ec.Time() || ea.Kind != ec.Kind {
			t.Fatalf("event %d: time or kind depends on the seed", n)
		}
		if bytes.Equal(ja, jc) {
			same++
		} else {
			differ++
		}
	}
	if same > 0 {
		t.Errorf("%d of 5000 events are identical under seeds 42 and 43", same)
	}
	if again := a.Event(1234); !reflect.DeepEqual(again, b.Event(1234)) {
		t.Errorf("event 1234 is not reproducible")
	}
}

// TestJSON: every event is a JSON object whose fields are exactly the
// columns of its stream (matched ignoring case, as Runnel's JSON format
// matches them), with numbers where the column is BIGINT or TIMESTAMP and
// strings where it is VARCHAR.
func TestJSON(t *testing.T) {
	g := newTestGenerator(t, Config{Seed: 11})
	var sizes [3]float64
	var counts [3]int
	for n := range int64(5000) {
		e := g.Event(n)
		raw := e.AppendJSON(nil)
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("event %d: %v\n%s", n, err, raw)
		}
		cols := columnTypes(streamColumns[e.Kind])
		var names []string
		for k := range m {
			names = append(names, strings.ToUpper(k))
		}
		sort.Strings(names)
		var want []string
		for c := range cols {
			want = append(want, c)
		}
		sort.Strings(want)
		if !reflect.DeepEqual(names, want) {
			t.Fatalf("%v fields %v, want the stream's columns %v", e.Kind, names, want)
		}
		for k, v := range m {
			switch typ := cols[strings.ToUpper(k)]; typ {
			case "BIGINT", "TIMESTAMP":
				num, ok := v.(json.Number)
				if _, err := num.Int64(); !ok || err != nil {
					t.Fatalf("%v field %s = %v, want an integer for %s", e.Kind, k, v, typ)
				}
			case "VARCHAR":
				if _, ok := v.(string); !ok {
					t.Fatalf("%v field %s = %v, want a string", e.Kind, k, v)
				}
			default:
				t.Fatalf("column %s has type %q", k, typ)
			}
		}
		if m["dateTime"].(json.Number).String() != formatInt(e.Time()) {
			t.Fatalf("event %d: dateTime %v, want %d", n, m["dateTime"], e.Time())
		}
		sizes[e.Kind] += float64(idealSize(&e))
		counts[e.Kind]++
	}
	// The padding brings each kind to its idealized average size.
	for k, want := range [3]float64{AvgPersonBytes, AvgAuctionBytes, AvgBidBytes} {
		if avg := sizes[k] / float64(counts[k]); math.Abs(avg-want) > want*0.05 {
			t.Errorf("%v: average idealized size %.1f, want about %v", Kind(k), avg, want)
		}
	}
}

// idealSize is the size the Java generator pads to: its currentSize plus
// the extra.
func idealSize(e *Event) int {
	switch e.Kind {
	case KindPerson:
		p := e.Person
		return 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State) + len(p.Extra)
	case KindAuction:
		a := e.Auction
		return 8 + len(a.ItemName) + len(a.Description) + 40 + len(a.Extra)
	}
	return 32 + len(e.Bid.Extra)
}

// columnTypes parses a stream's column list into upper-case name → type.
func columnTypes(list string) map[string]string {
	out := map[string]string{}
	for _, col := range strings.Split(list, ",") {
		f := strings.Fields(col)
		out[strings.ToUpper(f[0])] = f[1]
	}
	return out
}

func formatInt(v int64) string { return string(appendIntField(nil, "", v)) }

// TestJSONString: strings that need escaping come out as valid JSON that
// decodes to the same text (invalid UTF-8 as U+FFFD).
func TestJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te`, `back\slash`, "tab\tnew\nline\r", "\x00\x1f", "héllo ✓", "bad\xffbyte"} {
		out := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q → %s: %v", s, out, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want {
			t.Errorf("%q → %s → %q, want %q", s, out, back, want)
		}
	}
}

// TestConfigValidate: rates that cannot be honoured are refused.
func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{FirstEventRate: -1}, {FirstEventRate: math.Inf(1)}, {FirstEventRate: math.NaN()}, {FirstEventRate: 2e9}, {BaseTime: -5}} {
		if _, err := NewGenerator(c); err == nil {
			t.Errorf("NewGenerator(%+v) accepted", c)
		}
	}
}

func BenchmarkGenerateJSON(b *testing.B) {
	g := newTestGenerator(b, Config{})
	var buf []byte
	b.ReportAllocs()
	for i := range b.N {
		e := g.Event(int64(i))
		buf = e.AppendJSON(buf[:0])
	}
}
