package nexmark

import (
	"fmt"
	"strings"
)

// The streams the queries read, and their topics: one topic per kind of
// event, as RisingWave's nexmark-bench lays them out (see doc.go for why
// not nexmark-flink's single topic with a discriminator).
var (
	// Streams are the stream names, indexed by Kind.
	Streams = [3]string{"person", "auction", "bid"}
	// Topics are their topics, indexed by Kind.
	Topics = [3]string{"nexmark_person", "nexmark_auction", "nexmark_bid"}
)

// DefaultPartitions is the partition count of each event topic: one task
// per partition per query, two per core on the 2-core machine the
// benchmarks run on, as tests/bench uses.
const DefaultPartitions = 4

// streamColumns are the columns of each stream, matching the JSON that
// Event.AppendJSON writes. Runnel matches JSON field names exactly and then
// ignoring case, as ksqlDB does, so the unquoted (upper-cased) names find
// nexmark-flink's camel-case fields.
var streamColumns = [3]string{
	"id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, state VARCHAR, dateTime TIMESTAMP, extra VARCHAR",
	"id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR",
	"auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP, extra VARCHAR",
}

// DDL returns the statements that declare the three streams over topics of
// the given partition count (or over the existing topics, whatever their
// count). Event time is the dateTime column, which the generator also
// writes as each record's timestamp.
func DDL(partitions int32) []string {
	out := make([]string, len(Streams))
	for k := range Streams {
		out[k] = fmt.Sprintf("CREATE STREAM IF NOT EXISTS %s (%s) WITH (kafka_topic='%s', value_format='JSON', partitions=%d, timestamp='dateTime')",
			Streams[k], streamColumns[k], Topics[k], partitions)
	}
	return out
}

// insertColumns are the column lists of the generator's INSERT statements.
var insertColumns = [3]string{
	"id, name, emailAddress, creditCard, city, state, dateTime, extra, ROWTIME",
	"id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra, ROWTIME",
	"auction, bidder, price, channel, url, dateTime, extra, ROWTIME",
}

// appendSQLValues appends the event as one parenthesized row of an INSERT
// ... VALUES over insertColumns[e.Kind]: strings quoted for SQL, times as
// FROM_UNIXTIME of their ms, and ROWTIME set to the event time.
func (e *Event) appendSQLValues(b *strings.Builder) {
	str := func(s string) {
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(s, "'", "''"))
		b.WriteByte('\'')
	}
	num := func(v int64) { fmt.Fprint(b, v) }
	ts := func(v int64) { fmt.Fprintf(b, "FROM_UNIXTIME(%d)", v) }
	sep := func() { b.WriteString(", ") }
	b.WriteByte('(')
	switch e.Kind {
	case KindPerson:
		p := &e.Person
		num(p.ID)
		sep()
		str(p.Name)
		sep()
		str(p.EmailAddress)
		sep()
		str(p.CreditCard)
		sep()
		str(p.City)
		sep()
		str(p.State)
		sep()
		ts(p.DateTime)
		sep()
		str(p.Extra)
	case KindAuction:
		a := &e.Auction
		num(a.ID)
		sep()
		str(a.ItemName)
		sep()
		str(a.Description)
		sep()
		num(a.InitialBid)
		sep()
		num(a.Reserve)
		sep()
		ts(a.DateTime)
		sep()
		ts(a.Expires)
		sep()
		num(a.Seller)
		sep()
		num(a.Category)
		sep()
		str(a.Extra)
	default:
		bd := &e.Bid
		num(bd.Auction)
		sep()
		num(bd.Bidder)
		sep()
		num(bd.Price)
		sep()
		str(bd.Channel)
		sep()
		str(bd.URL)
		sep()
		ts(bd.DateTime)
		sep()
		str(bd.Extra)
	}
	sep()
	num(e.Time())
	b.WriteByte(')')
}
