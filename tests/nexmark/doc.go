// Package nexmark is the Nexmark benchmark in Runnel: a generator of its
// events, its queries in Runnel SQL, a harness that runs them topic to
// topic and measures them (`make nexmark`, `runnel nexmark bench`), and a
// test that checks every query's result against an independent
// computation in plain Go (reference_test.go).
//
//	generator ──JSON──▶ person, auction, bid topics ──▶ query ──▶ sink topic
//	  (Event(n))   (log API: Load + NewLogWriter,       (persistent, exactly-once,
//	                or pgwire INSERTs: NewPgwireWriter)   StartQuery / AwaitQuery)
//
// # The generator
//
// It follows the definition both reference implementations share:
// nexmark-flink (github.com/nexmark/nexmark, nexmark-flink/src/main/java/
// com/github/nexmark/flink: NexmarkConfiguration, generator/GeneratorConfig,
// generator/NexmarkGenerator, generator/model/PersonGenerator,
// AuctionGenerator, BidGenerator, PriceGenerator, StringsGenerator) and
// RisingWave's nexmark-rs (github.com/risingwavelabs/nexmark-bench,
// src/generator/nexmark: config.rs, event.rs, utils.rs). Read from their
// sources and written anew here:
//
//   - Of every 50 consecutive event ids, 1 is a person, 3 are auctions and
//     46 are bids. People and auctions are numbered from 1000 in creation
//     order; categories are 10 to 14.
//   - Hot keys: a bid is for the hot auction (the first of the latest
//     batch of 100) with probability 1/2, by the hot bidder (the second
//     person of the latest batch of 100) with probability 3/4; an auction
//     has the hot seller (the first person of the batch) with probability
//     3/4. Other references are drawn among the 1,000 most recent people
//     and 100 most recent auctions, up to 10 ids ahead.
//   - Half the bids come through one of four hot channels (Google,
//     Facebook, Baidu, Apple), the rest through one of 10,000 others whose
//     URLs carry a channel_id nine times in ten.
//   - Prices are log-uniform from $1 to $1,000,000 (in cents); random
//     strings are lower-case letters with a space (or '_') one time in 13;
//     each event's "extra" pads it to 200, 500 or 100 bytes on average,
//     cut from one random megabyte as nexmark-flink does.
//   - Event n happens at base_time + n / first-event.rate (10,000 events/s
//     by default, so n/10 ms); base_time is nexmark-rs's 2015-07-15 00:00
//     UTC. An auction lasts long enough for about 100 to be open at once.
//   - Each event is drawn from a random stream chosen by the seed and its
//     id (nexmark-rs seeds one per event id), so event n is the same
//     whoever makes it, in any order: Generator.Event is a pure function.
//
// Deliberate differences, each small: the random number generator is Go's
// PCG, so the bytes differ from both references' (the distributions do
// not); bidders are offset by 1000 once, as in nexmark-rs, where
// nexmark-flink's BidGenerator adds it twice (a slip that keeps its
// bidders from ever matching a person); channel 1's channel_id is
// 2147483648 (nexmark-rs), not Java's overflowed negative; one generator
// timeline and no out-of-order groups, which are both references'
// defaults.
//
// # Topics
//
// Three topics, nexmark_person, nexmark_auction and nexmark_bid, under
// three streams person, auction and bid, rather than nexmark-flink's one
// topic whose events carry an event_type and a nested row per type. Runnel
// SQL has no views, so over one topic every query would repeat WHERE
// event_type = 2 and read bid->price for price, and every query would read
// and decode all events to use 92% of them; the TIMESTAMP of a stream must
// be one top-level column, which the nested layout does not have. With a
// topic per kind, each stream's columns are the event's fields, its event
// time is its dateTime column, a query reads only its events, and a join
// joins two streams as the suite's text does. The
// JSON field names are nexmark-flink's (dateTime, itemName, ...), which
// Runnel's JSON format matches to the upper-cased columns ignoring case;
// times are ms since the epoch. Records have no key and are spread
// round-robin over the partitions, as nexmark-flink's Kafka sink spreads
// them; each record's timestamp is its event time.
//
// # Ways in
//
// Load writes events through a Writer. NewLogWriter appends straight to the
// log (engine.Engine.Log): the default of `runnel nexmark generate` and the
// one the benchmark uses, since it costs no SQL per row (hundreds of
// thousands of events/s where INSERT manages tens of thousands), but it
// needs the data directory to itself (or Kafka). NewPgwireWriter sends
// multi-row INSERTs to a running server, for when one is running; COPY
// FROM STDIN will replace it once Runnel has it.
//
// # Queries
//
// Queries lists nexmark-flink's q0 to q23. Each one Runnel can express is a
// file queries/<name>.sql, checked against nexmark-flink's text and
// RisingWave's (its comment says where they differ and why); the others
// say why not (ROW_NUMBER, OVER windows, processing time). None is
// rewritten to compute something else. Runnel has no subqueries, so a
// query nexmark-flink writes with them is several statements, stages in
// one file, each a persistent query over the events or the sinks of the
// stages before it (q3, q4), or a declaration of a stream over an earlier
// stage's topic, which reads a table's changelog back as a stream (q5);
// ksqlDB joins streams only within a window, so a regular join of two
// streams is either a join of tables made from them (q3) or a windowed join
// whose window provably holds every match, its exact condition in ON (q4,
// q20); and a window's result that nexmark-flink joins once the window has
// closed is a table that converges to it whatever the order of its input,
// joined by a foreign key (q5, q7).
//
// # Measuring
//
// Bench loads the events into a fresh embedded log, copies the bid topic
// raw (RawCopy: read and committed per batch with no decoding, the same
// transaction a query task makes), then runs each query alone from the
// earliest offset, its stages all at once. A query is done when AwaitQuery
// says so: stage by stage, its consumer group's committed offsets reach
// its inputs' end offsets and then its internal topics', and for a table a
// pull query answers (pull queries wait for every step to catch up).
// Beside each run's result, a line "nexmark lsm <run>" says what the
// embedded log's Pebble wrote meanwhile (embedded.LSMStats): the bytes
// its memtable flushes wrote, those its compactions rewrote and those they
// moved down without a rewrite, each split into the log's records, its
// metadata and the state stores, against the bytes written to it. The
// same line for the settle before each run ("settle_before_q7") and after
// the last says what the run before left for the LSM to compact, and the
// CPU that cost, which that run's own cpu_seconds does not count.
// Latency runs a query while events arrive at a fixed rate and times each
// event from its append to the sink topic and to a push query's client.
//
// This package knows Runnel only through its public doors: engine.Open and
// Engine.Log and StateStats, the log.Log interface (and the embedded
// log's LSMStats, for the LSM line), and pgwire via pgx.
package nexmark
