// Package kafka is the Kafka backend of log.Log, built on franz-go (kgo for
// producing and consuming, kadm for administration, kmsg for the few
// transactional requests kgo keeps to its group consumers).
//
// It owns the mapping from Runnel's log contract to Kafka:
//
//	topics        kadm CreateTopic/DeleteTopic, uncached Metadata; a compacted
//	              topic is cleanup.policy=compact, read back from its config
//	Append        one idempotent producer, acks=all, produced synchronously;
//	              the partition is always chosen here (murmur2 through
//	              log.PartitionFor, round-robin for nil keys) and handed to
//	              kgo's manual partitioner, so Runnel and the embedded log
//	              agree on where every key lives
//	Commit        one Kafka transaction per log.Txn, on a transactional
//	              producer per consumer group (see txn.go)
//	Reader        one consumer client per reader, read_committed, assigned
//	              the one partition directly (no group membership)
//	offsets       kadm ListOffsets and OffsetCommit/OffsetFetch
//	JoinGroup     one consumer-group member per persistent query on this
//	              node (cooperative-sticky balancer): it fetches nothing,
//	              it only holds partitions and reports their assignment
//	              and revocation; while it exists, the group's commits
//	              (Commit, CommitOffsets) carry its member id and
//	              generation, so a member the group has moved on from is
//	              refused (see group.go; the engine's cluster.go decides
//	              which topics a query's group shares out); with an
//	              InstanceID the member is static and Leave removes it
//	              by that id, which Abandon (tests' kill -9) skips
//
// Kafka compacts on the broker's schedule, so *Log does not implement
// log.Compactor.
//
// Differences from the embedded log that callers may notice: offsets of a
// partition that received a transaction are not dense (each commit or abort
// spends one offset on a control record that readers never see), and
// EndOffsets reports the last stable offset (see offsets.go).
//
// The package knows nothing of SQL: keys and values are opaque bytes.
package kafka
