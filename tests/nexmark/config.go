package nexmark

import (
	"fmt"
	"math"
)

// The benchmark's fixed parameters. They are constants in both reference
// generators (nexmark-flink's GeneratorConfig, PersonGenerator,
// AuctionGenerator and BidGenerator; nexmark-rs's NexmarkConfig defaults),
// and changing any of them changes what the queries see, so they are
// constants here too.
const (
	// FirstPersonID, FirstAuctionID and FirstCategoryID offset the ids so
	// that queries find matches even on small event counts.
	FirstPersonID   = 1000
	FirstAuctionID  = 1000
	FirstCategoryID = 10
	// NumCategories is how many auction categories there are.
	NumCategories = 5

	// PersonProportion, AuctionProportion and BidProportion are the 1:3:46
	// mix: of every 50 consecutive event ids, the first is a person, the
	// next three are auctions, and the other 46 are bids.
	PersonProportion  = 1
	AuctionProportion = 3
	BidProportion     = 46
	TotalProportion   = PersonProportion + AuctionProportion + BidProportion

	// AvgPersonBytes, AvgAuctionBytes and AvgBidBytes are the idealized
	// event sizes that each event's "extra" string pads towards.
	AvgPersonBytes  = 200
	AvgAuctionBytes = 500
	AvgBidBytes     = 100

	// HotAuctionRatio, HotSellersRatio and HotBiddersRatio: a bid goes to a
	// hot auction with probability 1 - 1/HotAuctionRatio (1/2), an auction
	// has a hot seller with probability 1 - 1/HotSellersRatio (3/4), and a
	// bid has a hot bidder with probability 1 - 1/HotBiddersRatio (3/4).
	HotAuctionRatio = 2
	HotSellersRatio = 4
	HotBiddersRatio = 4
	// HotBatch is the size of the id batches whose first member is the hot
	// auction or seller (and whose second member is the hot bidder): the
	// constants HOT_AUCTION_RATIO, HOT_SELLER_RATIO and HOT_BIDDER_RATIO
	// (100) of the Java generator.
	HotBatch = 100
	// HotChannelsRatio: a bid comes through one of the four hot channels
	// with probability 1 - 1/HotChannelsRatio (1/2), and otherwise through
	// one of NumChannels others.
	HotChannelsRatio = 2
	NumChannels      = 10_000

	// NumActivePeople bounds the people a random bidder or seller is drawn
	// from (the most recent ones), and NumInFlightAuctions the auctions a
	// random bid is for, so that density does not fall as a run grows.
	NumActivePeople     = 1000
	NumInFlightAuctions = 100
	// PersonIDLead and AuctionIDLead let a random id run a little ahead of
	// the last one created, so that some bids and auctions refer to people
	// and auctions that appear just after them.
	PersonIDLead  = 10
	AuctionIDLead = 10
)

// DefaultBaseTime is the event time of event 0: 2015-07-15 00:00:00 UTC,
// nexmark-rs's NEXMARK_BASE_TIME. nexmark-flink takes the wall clock at
// start instead; a fixed base makes every run see the same events.
const DefaultBaseTime int64 = 1_436_918_400_000

// DefaultFirstEventRate is the event-time rate, in events per second, of
// both reference generators' defaults (first-event.rate = 10,000): event
// n happens n/10 ms after the base time. It fixes event time only; how
// fast events are written is LoadOptions.Rate.
const DefaultFirstEventRate = 10_000

// Config selects one deterministic stream of events. The zero value is the
// benchmark's default configuration with seed 0.
type Config struct {
	// Seed chooses the stream: the same seed (and the other fields) gives
	// the same events, byte for byte. Default: 0.
	Seed uint64
	// FirstEventRate is how many events happen per second of event time
	// (nexmark-flink's first-event.rate; this generator keeps it constant,
	// as both references do when next-event.rate equals it). Fractional
	// rates are allowed so that a small test can span hours of event time.
	// Default: DefaultFirstEventRate (10,000).
	FirstEventRate float64
	// BaseTime is the event time of event 0, in ms since the epoch.
	// Default: DefaultBaseTime.
	BaseTime int64
}

// EnsureDefaults fills in the defaults of unset fields and returns c.
func (c *Config) EnsureDefaults() *Config {
	if c.FirstEventRate == 0 {
		c.FirstEventRate = DefaultFirstEventRate
	}
	if c.BaseTime == 0 {
		c.BaseTime = DefaultBaseTime
	}
	return c
}

// Validate refuses rates and times the generator cannot honour.
func (c *Config) Validate() error {
	if !(c.FirstEventRate > 0) || math.IsInf(c.FirstEventRate, 0) {
		return fmt.Errorf("nexmark: FirstEventRate must be a positive number of events per second, not %v", c.FirstEventRate)
	}
	if c.FirstEventRate > 1e9 {
		return fmt.Errorf("nexmark: FirstEventRate %v is over 1e9 events per second: event times would not advance", c.FirstEventRate)
	}
	if c.BaseTime < 0 {
		return fmt.Errorf("nexmark: BaseTime %d is before the epoch", c.BaseTime)
	}
	return nil
}

// interEventDelayUs is the event-time gap between two events, in
// microseconds (GeneratorConfig.interEventDelayUs with one generator).
func (c *Config) interEventDelayUs() float64 { return 1e6 / c.FirstEventRate }
