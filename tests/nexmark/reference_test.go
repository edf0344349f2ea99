package nexmark

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file computes each supported query's result in plain Go, straight
// from the generated events and the query's definition in nexmark-flink,
// sharing nothing with Runnel's engine: no SQL, no expressions, no
// aggregates, no windows of its own.

// refQuery is a supported query's reference: what to read back from
// Runnel, the kinds of its columns, and the rows Runnel must return.
type refQuery struct {
	// sel reads the query's result over pgwire: a scan of a stream's
	// topic, or a pull query of a table's rows.
	sel string
	// kinds has one letter per selected column: i BIGINT/INT, s VARCHAR,
	// t TIMESTAMP, d DECIMAL, f DOUBLE.
	kinds string
	// rows computes the expected rows, as Go values of the kinds (int64,
	// string, int64 ms, *big.Rat, float64; nil for NULL), in any order.
	rows func(events []Event) [][]any
	// fast runs the query over events 10 ms apart rather than 10 s
	// (TestQueriesMatchReference): for queries that need several events
	// in one short window.
	fast bool
	// both runs the query over both sets of events, whatever fast says:
	// for queries whose windows mean something with one event in each
	// and with many.
	both bool
}

var references = map[string]refQuery{
	"q0": {
		sel:   "SELECT auction, bidder, price, dateTime, extra FROM NEXMARK_Q0",
		kinds: "iiits",
		rows: forBids(func(b Bid) []any {
			return []any{b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra}
		}),
	},
	"q1": {
		sel:   "SELECT auction, bidder, price, dateTime, extra FROM NEXMARK_Q1",
		kinds: "iidts",
		rows: forBids(func(b Bid) []any {
			return []any{b.Auction, b.Bidder, euros(b.Price), b.DateTime, b.Extra}
		}),
	},
	"q2": {
		sel:   "SELECT auction, price FROM NEXMARK_Q2",
		kinds: "ii",
		rows: forBids(func(b Bid) []any {
			if b.Auction%123 != 0 {
				return nil
			}
			return []any{b.Auction, b.Price}
		}),
	},
	"q3": {
		sel:   "SELECT name, city, state, id FROM NEXMARK_Q3",
		kinds: "sssi",
		rows:  refQ3,
	},
	"q4": {
		sel:   "SELECT category, avg_final FROM NEXMARK_Q4",
		kinds: "if",
		rows:  refQ4,
	},
	"q5": {
		sel:   "SELECT auction, num FROM NEXMARK_Q5",
		kinds: "ii",
		rows:  refQ5,
		// At the slow rate a hopping window holds one bid at most: every
		// count is 1 and every auction ties, five rows a bid, which costs
		// the test time and checks little that TestWindowEdges does not.
		fast: true,
	},
	"q7": {
		sel:   "SELECT auction, price, bidder, dateTime, extra FROM NEXMARK_Q7",
		kinds: "iiits",
		rows:  refQ7,
		both:  true,
	},
	"q8": {
		sel:   "SELECT id, name, starttime FROM NEXMARK_Q8",
		kinds: "ist",
		rows:  refQ8,
		fast:  true,
	},
	"q10": {
		sel:   "SELECT auction, bidder, price, dateTime, extra, dt, hm FROM NEXMARK_Q10",
		kinds: "iiitsss",
		rows: forBids(func(b Bid) []any {
			t := utc(b.DateTime)
			return []any{b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra, t.Format("2006-01-02"), t.Format("15:04")}
		}),
	},
	"q11": {
		sel:   "SELECT bidder, bid_count, starttime, endtime FROM NEXMARK_Q11",
		kinds: "iiii",
		rows:  refSessions,
	},
	"q14": {
		sel:   "SELECT auction, bidder, price, bidTimeType, dateTime, extra, c_counts FROM NEXMARK_Q14",
		kinds: "iidstsi",
		rows: forBids(func(b Bid) []any {
			// 0.908 * price strictly between 1,000,000 and 50,000,000,
			// in thousandths to stay exact.
			if milli := b.Price * 908; milli <= 1_000_000*1000 || milli >= 50_000_000*1000 {
				return nil
			}
			kind := "otherTime"
			switch h := utc(b.DateTime).Hour(); {
			case h >= 8 && h <= 18:
				kind = "dayTime"
			case h <= 6 || h >= 20:
				kind = "nightTime"
			}
			return []any{b.Auction, b.Bidder, euros(b.Price), kind, b.DateTime, b.Extra, int64(strings.Count(b.Extra, "c"))}
		}),
	},
	"q15": {
		sel:   "SELECT * FROM NEXMARK_Q15",
		kinds: "s" + strings.Repeat("i", 12),
		rows: func(events []Event) [][]any {
			groups := map[string]*stats{}
			for _, b := range bidsOf(events) {
				day := utc(b.DateTime).Format("2006-01-02")
				statsOf(groups, day).add(b)
			}
			var out [][]any
			for day, st := range groups {
				out = append(out, append([]any{day}, st.counts()...))
			}
			return out
		},
	},
	"q16": {
		sel:   "SELECT * FROM NEXMARK_Q16",
		kinds: "sss" + strings.Repeat("i", 12),
		rows: func(events []Event) [][]any {
			groups := map[string]*stats{}
			for _, b := range bidsOf(events) {
				t := utc(b.DateTime)
				st := statsOf(groups, b.Channel+"\x00"+t.Format("2006-01-02"))
				st.add(b)
				st.maxMinute = max(st.maxMinute, t.Format("15:04"))
			}
			var out [][]any
			for key, st := range groups {
				channel, day, _ := strings.Cut(key, "\x00")
				out = append(out, append([]any{channel, day, st.maxMinute}, st.counts()...))
			}
			return out
		},
	},
	"q17": {
		sel:   "SELECT * FROM NEXMARK_Q17",
		kinds: "isiiiiiifi",
		rows: func(events []Event) [][]any {
			type key struct {
				auction int64
				day     string
			}
			groups := map[key]*stats{}
			var order []key
			for _, b := range bidsOf(events) {
				k := key{b.Auction, utc(b.DateTime).Format("2006-01-02")}
				st, ok := groups[k]
				if !ok {
					st = &stats{}
					groups[k] = st
					order = append(order, k)
				}
				st.add(b)
			}
			var out [][]any
			for _, k := range order {
				st := groups[k]
				out = append(out, []any{k.auction, k.day, st.total, st.rank[0], st.rank[1], st.rank[2],
					st.minPrice, st.maxPrice, float64(st.sum) / float64(st.total), st.sum})
			}
			return out
		},
	},
	"q18": {
		sel:   "SELECT auction, bidder, price, channel, url, dateTime, extra FROM NEXMARK_Q18",
		kinds: "iiissts",
		rows:  refQ18,
		both:  true,
	},
	"q20": {
		sel: "SELECT auction, bidder, price, channel, url, bid_dateTime, bid_extra, itemName, description, initialBid, reserve, " +
			"auction_dateTime, expires, seller, category, auction_extra FROM NEXMARK_Q20",
		kinds: "iiisstsssiittiis",
		rows: func(events []Event) [][]any {
			auctions := map[int64]Auction{}
			for _, a := range auctionsOf(events) {
				auctions[a.ID] = a
			}
			var out [][]any
			for _, b := range bidsOf(events) {
				a, ok := auctions[b.Auction]
				if !ok || a.Category != 10 {
					continue
				}
				out = append(out, []any{b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.DateTime, b.Extra,
					a.ItemName, a.Description, a.InitialBid, a.Reserve, a.DateTime, a.Expires, a.Seller, a.Category, a.Extra})
			}
			return out
		},
	},
	"q21": {
		sel:   "SELECT auction, bidder, price, channel, channel_id FROM NEXMARK_Q21",
		kinds: "iiiss",
		rows: forBids(func(b Bid) []any {
			id, ok := map[string]string{"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}[strings.ToLower(b.Channel)]
			if !ok {
				if id, ok = channelID(b.URL); !ok {
					return nil
				}
			}
			return []any{b.Auction, b.Bidder, b.Price, b.Channel, id}
		}),
	},
	"q22": {
		sel:   "SELECT auction, bidder, price, channel, dir1, dir2, dir3 FROM NEXMARK_Q22",
		kinds: "iiissss",
		rows: forBids(func(b Bid) []any {
			parts := strings.Split(b.URL, "/")
			dir := func(i int) any {
				if i < len(parts) {
					return parts[i]
				}
				return nil
			}
			return []any{b.Auction, b.Bidder, b.Price, b.Channel, dir(3), dir(4), dir(5)}
		}),
	},
}

func bidsOf(events []Event) []Bid {
	var out []Bid
	for i := range events {
		if events[i].Kind == KindBid {
			out = append(out, events[i].Bid)
		}
	}
	return out
}

// forBids maps each bid to a row, or to nothing when fn returns nil.
func forBids(fn func(Bid) []any) func([]Event) [][]any {
	return func(events []Event) [][]any {
		var out [][]any
		for _, b := range bidsOf(events) {
			if row := fn(b); row != nil {
				out = append(out, row)
			}
		}
		return out
	}
}

func utc(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// euros is 0.908 * price, exactly.
func euros(price int64) *big.Rat { return big.NewRat(price*908, 1000) }

// channelID is the value of the URL's first channel_id parameter that is
// at the start of the URL or follows an '&': what the pattern
// (&|^)channel_id=([^&]*) captures in its second group.
func channelID(url string) (string, bool) {
	rest, ok := strings.CutPrefix(url, "channel_id=")
	if !ok {
		i := strings.Index(url, "&channel_id=")
		if i < 0 {
			return "", false
		}
		rest = url[i+len("&channel_id="):]
	}
	if j := strings.IndexByte(rest, '&'); j >= 0 {
		rest = rest[:j]
	}
	return rest, true
}

func peopleOf(events []Event) []Person {
	var out []Person
	for i := range events {
		if events[i].Kind == KindPerson {
			out = append(out, events[i].Person)
		}
	}
	return out
}

func auctionsOf(events []Event) []Auction {
	var out []Auction
	for i := range events {
		if events[i].Kind == KindAuction {
			out = append(out, events[i].Auction)
		}
	}
	return out
}

// refQ3 is q3: each auction of category 10 with its seller, when the
// seller's state is OR, ID or CA, whichever event came first.
func refQ3(events []Event) [][]any {
	people := map[int64]Person{}
	for _, p := range peopleOf(events) {
		people[p.ID] = p
	}
	var out [][]any
	for _, a := range auctionsOf(events) {
		p, ok := people[a.Seller]
		if !ok || a.Category != 10 || (p.State != "OR" && p.State != "ID" && p.State != "CA") {
			continue
		}
		out = append(out, []any{p.Name, p.City, p.State, a.ID})
	}
	return out
}

// refQ4 is q4: each auction's highest bid among those made from its
// creation to its expiry (both included), then the average of those
// prices per category; auctions without such a bid count for nothing.
func refQ4(events []Event) [][]any {
	auctions := map[int64]Auction{}
	for _, a := range auctionsOf(events) {
		auctions[a.ID] = a
	}
	final := map[int64]int64{}
	for _, b := range bidsOf(events) {
		a, ok := auctions[b.Auction]
		if !ok || b.DateTime < a.DateTime || b.DateTime > a.Expires {
			continue
		}
		if p, ok := final[a.ID]; !ok || b.Price > p {
			final[a.ID] = b.Price
		}
	}
	sum, n := map[int64]float64{}, map[int64]int64{}
	for id, price := range final {
		c := auctions[id].Category
		sum[c] += float64(price)
		n[c]++
	}
	var out [][]any
	for c, s := range sum {
		out = append(out, []any{c, s / float64(n[c])})
	}
	return out
}

// refQ5 is q5: the bids counted per auction and hopping window (10 s
// long, starting every 2 s from the epoch), and in each window the
// auctions whose count is the window's highest, ties all kept, as
// (auction, count) rows.
func refQ5(events []Event) [][]any {
	type key struct{ auction, start int64 }
	counts := map[key]int64{}
	highest := map[int64]int64{}
	for _, b := range bidsOf(events) {
		last := b.DateTime - b.DateTime%2_000
		for start := last; start > b.DateTime-10_000; start -= 2_000 {
			k := key{b.Auction, start}
			counts[k]++
			highest[start] = max(highest[start], counts[k])
		}
	}
	var out [][]any
	for k, n := range counts {
		if n == highest[k.start] {
			out = append(out, []any{k.auction, n})
		}
	}
	return out
}

// refQ7 is q7: the highest price of each 10-second tumbling window (from a
// multiple of 10 s since the epoch), and every bid at that price whose time
// is within nexmark-flink's range for the window: from 1 ms before its
// start to 1 ms before its end (TUMBLE_ROWTIME), both included. A bid in
// a window's last millisecond is in the next window's range too, and one
// row for each window whose highest price it equals.
func refQ7(events []Event) [][]any {
	highest := map[int64]int64{}
	bids := bidsOf(events)
	for _, b := range bids {
		start := b.DateTime - b.DateTime%10_000
		if p, ok := highest[start]; !ok || b.Price > p {
			highest[start] = b.Price
		}
	}
	var out [][]any
	for _, b := range bids {
		for start := range highest {
			rowtime := start + 10_000 - 1
			if b.DateTime >= rowtime-10_000 && b.DateTime <= rowtime && b.Price == highest[start] {
				out = append(out, []any{b.Auction, b.Price, b.Bidder, b.DateTime, b.Extra})
			}
		}
	}
	return out
}

// refQ8 is q8: each person who opened an auction in the 10-second window
// (from a multiple of 10 s since the epoch) in which they registered, with
// the window's start, once however many auctions they opened in it.
func refQ8(events []Event) [][]any {
	window := func(ms int64) int64 { return ms - ms%10_000 }
	sold := map[[2]int64]bool{}
	for _, a := range auctionsOf(events) {
		sold[[2]int64{a.Seller, window(a.DateTime)}] = true
	}
	var out [][]any
	for _, p := range peopleOf(events) {
		if sold[[2]int64{p.ID, window(p.DateTime)}] {
			out = append(out, []any{p.ID, p.Name, window(p.DateTime)})
		}
	}
	return out
}

// refQ18 is q18: each bidder's bid on each auction with the latest time.
// The test's events are at least 10 ms apart, so no two bids tie (where
// nexmark-flink's choice among them is unspecified).
func refQ18(events []Event) [][]any {
	type key struct{ bidder, auction int64 }
	last := map[key]Bid{}
	for _, b := range bidsOf(events) {
		k := key{b.Bidder, b.Auction}
		if l, ok := last[k]; !ok || b.DateTime > l.DateTime {
			last[k] = b
		}
	}
	var out [][]any
	for _, b := range last {
		out = append(out, []any{b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.DateTime, b.Extra})
	}
	return out
}

// refSessions is q11: each bidder's bids in time order, cut wherever two
// consecutive bids are more than 10 seconds apart; a session runs from its
// first bid to its last (Kafka Streams' session windows).
func refSessions(events []Event) [][]any {
	byBidder := map[int64][]int64{}
	for _, b := range bidsOf(events) {
		byBidder[b.Bidder] = append(byBidder[b.Bidder], b.DateTime)
	}
	var out [][]any
	for bidder, times := range byBidder {
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		start, end, n := times[0], times[0], int64(1)
		for _, ts := range times[1:] {
			if ts-end <= 10_000 {
				end, n = ts, n+1
				continue
			}
			out = append(out, []any{bidder, n, start, end})
			start, end, n = ts, ts, 1
		}
		out = append(out, []any{bidder, n, start, end})
	}
	return out
}

// stats are the aggregates of q15, q16 and q17 for one group.
type stats struct {
	total     int64
	rank      [3]int64
	bidders   [4]map[int64]bool // all, then per rank
	auctions  [4]map[int64]bool
	minPrice  int64
	maxPrice  int64
	sum       int64
	maxMinute string
}

func statsOf[K comparable](m map[K]*stats, k K) *stats {
	st, ok := m[k]
	if !ok {
		st = &stats{}
		m[k] = st
	}
	return st
}

// priceRank is q15's rank of a price: below $100, below $10,000, above.
func priceRank(price int64) int {
	switch {
	case price < 10_000:
		return 0
	case price < 1_000_000:
		return 1
	}
	return 2
}

func (st *stats) add(b Bid) {
	if st.total == 0 {
		st.minPrice, st.maxPrice = b.Price, b.Price
		for i := range st.bidders {
			st.bidders[i], st.auctions[i] = map[int64]bool{}, map[int64]bool{}
		}
	}
	st.total++
	r := priceRank(b.Price)
	st.rank[r]++
	st.bidders[0][b.Bidder], st.bidders[r+1][b.Bidder] = true, true
	st.auctions[0][b.Auction], st.auctions[r+1][b.Auction] = true, true
	st.minPrice, st.maxPrice = min(st.minPrice, b.Price), max(st.maxPrice, b.Price)
	st.sum += b.Price
}

// counts are q15's twelve columns.
func (st *stats) counts() []any {
	out := []any{st.total, st.rank[0], st.rank[1], st.rank[2]}
	for _, m := range st.bidders {
		out = append(out, int64(len(m)))
	}
	for _, m := range st.auctions {
		out = append(out, int64(len(m)))
	}
	return out
}

// canonical renders a value of a column kind so that Runnel's text form
// and the reference's Go value compare equal when they are the same
// value: integers and times as decimal integers (times in ms), decimals as
// reduced fractions, doubles to 12 significant digits, NULL as NULL.
func canonical(kind byte, v any) (string, error) {
	if v == nil {
		return "NULL", nil
	}
	switch kind {
	case 'i', 't':
		switch x := v.(type) {
		case int64:
			return strconv.FormatInt(x, 10), nil
		case string:
			if kind == 't' {
				ts, err := time.Parse("2006-01-02 15:04:05.999999999", x)
				if err != nil {
					return "", err
				}
				return strconv.FormatInt(ts.UnixMilli(), 10), nil
			}
			n, err := strconv.ParseInt(x, 10, 64)
			return strconv.FormatInt(n, 10), err
		}
	case 's':
		if s, ok := v.(string); ok {
			return strconv.Quote(s), nil
		}
	case 'd':
		switch x := v.(type) {
		case *big.Rat:
			return x.RatString(), nil
		case string:
			r, ok := new(big.Rat).SetString(x)
			if !ok {
				return "", errBadText(x)
			}
			return r.RatString(), nil
		}
	case 'f':
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'g', 12, 64), nil
		case string:
			f, err := strconv.ParseFloat(x, 64)
			return strconv.FormatFloat(f, 'g', 12, 64), err
		}
	}
	return "", errBadText(v)
}

func errBadText(v any) error { return fmt.Errorf("cannot render %#v as this column's kind", v) }
