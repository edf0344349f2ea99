package nexmark

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Word lists of the Java generator (PersonGenerator, BidGenerator). The
// states are upper case as in nexmark-flink, whose q3 filters on 'OR',
// 'ID' and 'CA'.
var (
	usStates   = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = []string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	// HotChannels are the four channels half of all bids come through.
	HotChannels = [4]string{"Google", "Facebook", "Baidu", "Apple"}
)

// minStringLength is the shortest random string nextString makes.
const minStringLength = 3

// reusableExtraBytes is the length of the random text that "extra" fields
// are cut from: nexmark-flink's REUSABLE_EXTRA_STRING (1 MiB), which spares
// generating hundreds of random characters per event.
const reusableExtraBytes = 1 << 20

// Generator makes the events of one Config. Event(n) is a pure function of
// the configuration and n, so any range of events can be made in any
// order, by any number of goroutines: a Generator is safe for concurrent
// use.
type Generator struct {
	cfg     Config
	delayUs float64
	// extra is the text that Extra fields are substrings of.
	extra string
	// hotURLs are the URLs of HotChannels; channels and channelURLs are
	// the NumChannels other channels ("channel-<i>") and their URLs, nine
	// in ten of which carry a channel_id parameter.
	hotURLs     [len(HotChannels)]string
	channels    []string
	channelURLs []string
}

// NewGenerator returns the generator of cfg, with its defaults filled in.
func NewGenerator(cfg Config) (*Generator, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, delayUs: cfg.interEventDelayUs()}
	// The tables are drawn from streams of their own, apart from every
	// event's: stream ids past any event id (events are numbered from 0).
	r := newRNG(cfg.Seed, math.MaxUint64)
	var sb strings.Builder
	sb.Grow(reusableExtraBytes)
	for sb.Len() < reusableExtraBytes {
		// Twelve letters from each 64 random bits (26^12 < 2^64; the
		// slight unevenness of the last letter does not matter here).
		v := r.pcg.Uint64()
		for range 12 {
			sb.WriteByte(byte('a' + v%26))
			v /= 26
		}
	}
	g.extra = sb.String()
	for i := range g.hotURLs {
		g.hotURLs[i] = baseURL(&r)
	}
	g.channels = make([]string, NumChannels)
	g.channelURLs = make([]string, NumChannels)
	for i := range NumChannels {
		url := baseURL(&r)
		if r.intn(10) > 0 {
			// The Java generator appends Math.abs(Integer.reverse(i)); the
			// absolute value is taken in 64 bits, as nexmark-rs does, so
			// that channel 1 is 2147483648 rather than Java's overflowed
			// negative.
			rev := int64(int32(bits.Reverse32(uint32(i))))
			if rev < 0 {
				rev = -rev
			}
			url += "&channel_id=" + strconv.FormatInt(rev, 10)
		}
		g.channels[i] = "channel-" + strconv.Itoa(i)
		g.channelURLs[i] = url
	}
	return g, nil
}

// Config returns the generator's configuration, defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Timestamp is the event time of event n, in ms since the epoch
// (GeneratorConfig.timestampForEvent): it advances with the event count,
// by 1/FirstEventRate seconds per event.
func (g *Generator) Timestamp(n int64) int64 {
	return g.cfg.BaseTime + int64(float64(n)*g.delayUs)/1000
}

// KindOf is the kind of event n: the first of every TotalProportion ids is
// a person, the next AuctionProportion are auctions, the rest bids.
func KindOf(n int64) Kind {
	switch rem := n % TotalProportion; {
	case rem < PersonProportion:
		return KindPerson
	case rem < PersonProportion+AuctionProportion:
		return KindAuction
	}
	return KindBid
}

// Event returns event n (n >= 0). Event ids and event numbers coincide:
// one generator, no out-of-order groups (nexmark-flink's defaults).
func (g *Generator) Event(n int64) Event {
	r := newRNG(g.cfg.Seed, uint64(n))
	ts := g.Timestamp(n)
	var e Event
	switch e.Kind = KindOf(n); e.Kind {
	case KindPerson:
		g.person(&e.Person, n, ts, &r)
	case KindAuction:
		g.auction(&e.Auction, n, ts, &r)
	default:
		g.bid(&e.Bid, n, ts, &r)
	}
	return e
}

func (g *Generator) person(p *Person, id, ts int64, r *rng) {
	p.ID = lastBase0PersonID(id) + FirstPersonID
	p.Name = firstNames[r.intn(len(firstNames))] + " " + lastNames[r.intn(len(lastNames))]
	p.EmailAddress = nextString(r, 7, ' ') + "@" + nextString(r, 5, ' ') + ".com"
	var cc [19]byte
	for i := range 4 {
		v := r.intn(10000)
		cc[i*5], cc[i*5+1], cc[i*5+2], cc[i*5+3] = byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10)
		if i < 3 {
			cc[i*5+4] = ' '
		}
	}
	p.CreditCard = string(cc[:])
	p.City = usCities[r.intn(len(usCities))]
	p.State = usStates[r.intn(len(usStates))]
	p.DateTime = ts
	size := 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State)
	p.Extra = g.nextExtra(r, size, AvgPersonBytes)
}

func (g *Generator) auction(a *Auction, id, ts int64, r *rng) {
	a.ID = lastBase0AuctionID(id) + FirstAuctionID
	if r.intn(HotSellersRatio) > 0 {
		// A hot seller: the first person of the latest batch of HotBatch.
		a.Seller = lastBase0PersonID(id) / HotBatch * HotBatch
	} else {
		a.Seller = nextBase0PersonID(id, r)
	}
	a.Seller += FirstPersonID
	a.Category = FirstCategoryID + int64(r.intn(NumCategories))
	a.InitialBid = nextPrice(r)
	a.DateTime = ts
	a.Expires = ts + g.nextAuctionLengthMs(id, ts, r)
	a.ItemName = nextString(r, 20, ' ')
	a.Description = nextString(r, 100, ' ')
	a.Reserve = a.InitialBid + nextPrice(r)
	size := 8 + len(a.ItemName) + len(a.Description) + 8 + 8 + 8 + 8 + 8
	a.Extra = g.nextExtra(r, size, AvgAuctionBytes)
}

func (g *Generator) bid(b *Bid, id, ts int64, r *rng) {
	if r.intn(HotAuctionRatio) > 0 {
		// A hot auction: the first of the latest batch of HotBatch.
		b.Auction = lastBase0AuctionID(id) / HotBatch * HotBatch
	} else {
		b.Auction = nextBase0AuctionID(id, r)
	}
	b.Auction += FirstAuctionID
	if r.intn(HotBiddersRatio) > 0 {
		// A hot bidder: the second person of the latest batch, so that hot
		// bidders and hot sellers differ.
		b.Bidder = lastBase0PersonID(id)/HotBatch*HotBatch + 1
	} else {
		b.Bidder = nextBase0PersonID(id, r)
	}
	// nexmark-flink's BidGenerator adds FIRST_PERSON_ID twice, so that its
	// bidders are 2000 above the person ids they were drawn from and never
	// match a person; nexmark-rs adds it once, as here.
	b.Bidder += FirstPersonID
	b.Price = nextPrice(r)
	if r.intn(HotChannelsRatio) > 0 {
		i := r.intn(len(HotChannels))
		b.Channel, b.URL = HotChannels[i], g.hotURLs[i]
	} else {
		i := r.intn(NumChannels)
		b.Channel, b.URL = g.channels[i], g.channelURLs[i]
	}
	b.DateTime = ts
	b.Extra = g.nextExtra(r, 8+8+8+8, AvgBidBytes)
}

// nextAuctionLengthMs draws how long an auction lasts: on average until
// NumInFlightAuctions more auctions have been created, so that about that
// many are open at any time.
func (g *Generator) nextAuctionLengthMs(n, ts int64, r *rng) int64 {
	eventsForAuctions := int64(NumInFlightAuctions) * TotalProportion / AuctionProportion
	horizon := g.Timestamp(n+eventsForAuctions) - ts
	return 1 + r.int64n(max(horizon*2, 1))
}

// lastBase0PersonID is the id (from 0) of the last person created at or
// before event id: the current one if id is a person.
func lastBase0PersonID(id int64) int64 {
	epoch, offset := id/TotalProportion, id%TotalProportion
	if offset >= PersonProportion {
		offset = PersonProportion - 1
	}
	return epoch*PersonProportion + offset
}

// lastBase0AuctionID is the id (from 0) of the last auction created at or
// before event id; -1 before the first.
func lastBase0AuctionID(id int64) int64 {
	epoch, offset := id/TotalProportion, id%TotalProportion
	switch {
	case offset < PersonProportion:
		epoch--
		offset = AuctionProportion - 1
	case offset >= PersonProportion+AuctionProportion:
		offset = AuctionProportion - 1
	default:
		offset -= PersonProportion
	}
	return epoch*AuctionProportion + offset
}

// nextBase0PersonID draws a person among the NumActivePeople most recent,
// or up to PersonIDLead ahead of the last.
func nextBase0PersonID(id int64, r *rng) int64 {
	people := lastBase0PersonID(id) + 1
	active := min(people, NumActivePeople)
	return people - active + r.int64n(active+PersonIDLead)
}

// nextBase0AuctionID draws an auction among the NumInFlightAuctions most
// recent, or up to AuctionIDLead ahead of the last.
func nextBase0AuctionID(id int64, r *rng) int64 {
	hi := lastBase0AuctionID(id)
	lo := max(hi-NumInFlightAuctions, 0)
	return lo + r.int64n(hi-lo+1+AuctionIDLead)
}

// nextPrice draws a price in cents, log-uniform from $1 to $1,000,000.
func nextPrice(r *rng) int64 {
	return int64(math.Round(math.Pow(10, r.float64()*6) * 100))
}

// nextString draws a string of 3 to maxLength-1 characters: lower-case
// letters, and special one time in 13; spaces at either end are trimmed.
func nextString(r *rng, maxLength int, special byte) string {
	n := minStringLength + r.intn(maxLength-minStringLength)
	var buf [128]byte
	b := buf[:0]
	for range n {
		if r.intn(13) == 0 {
			b = append(b, special)
		} else {
			b = append(b, byte('a'+r.intn(26)))
		}
	}
	return strings.TrimSpace(string(b))
}

// nextExtra draws padding that brings an event of size bytes to avg on
// average: within 20% of avg - size, or nothing past avg.
func (g *Generator) nextExtra(r *rng, size, avg int) string {
	if size > avg {
		return ""
	}
	want := avg - size
	delta := int(math.Round(float64(want) * 0.2))
	n := want - delta
	if delta > 0 {
		n += r.intn(2 * delta)
	}
	off := r.intn(len(g.extra) - n)
	return g.extra[off : off+n]
}

// baseURL draws an item URL with three random path segments.
func baseURL(r *rng) string {
	return "https://www.nexmark.com/" + nextString(r, 5, '_') + "/" + nextString(r, 5, '_') + "/" +
		nextString(r, 5, '_') + "/item.htm?query=1"
}

// rng is the random source of one event: a PCG stream chosen by the seed
// and the event id, so that each event is reproducible on its own (as
// nexmark-rs seeds a SmallRng with each event id). It lives on the stack.
type rng struct{ pcg rand.PCG }

func newRNG(seed, stream uint64) rng {
	var r rng
	// Scrambled so that neighbouring ids and seeds start far apart.
	r.pcg.Seed(mix64(seed^0x9e3779b97f4a7c15), mix64(stream+mix64(seed)))
	return r
}

// mix64 is SplitMix64's finalizer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a uniform int in [0, n), n > 0.
func (r *rng) intn(n int) int { return int(r.int64n(int64(n))) }

// int64n returns a uniform int64 in [0, n), n > 0, without modulo bias
// (Lemire's multiply-and-reject).
func (r *rng) int64n(n int64) int64 {
	un := uint64(n)
	hi, lo := bits.Mul64(r.pcg.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.pcg.Uint64(), un)
		}
	}
	return int64(hi)
}

// float64 returns a uniform float64 in [0, 1).
func (r *rng) float64() float64 { return float64(r.pcg.Uint64()>>11) / (1 << 53) }
