// Package log owns topics: partitioned, ordered, durable sequences of
// records, and everything about them that is not SQL — keyed partitioning
// (Kafka's murmur2, so both backends and any Kafka producer agree where a key
// lives), offsets, readers that wait for new records, consumer-group offsets,
// transactional commits of records together with input offsets, and
// compaction of changelog topics.
//
// log.go is the contract (Log, Reader, Compactor, the record types and the
// sentinel errors). Two backends implement it:
//
//	log/embedded  one Pebble database; the default, single-binary mode
//	log/kafka     a Kafka cluster through franz-go
//
// and both must pass the one conformance suite in log/logtest.
//
// The package knows nothing of SQL, schemas, formats or the catalog: keys and
// values are opaque bytes, and a tombstone is simply a nil value.
package log
