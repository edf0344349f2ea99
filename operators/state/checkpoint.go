package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// Changelog checkpoints (changelog mode only).
//
// A store's local copy survives on its node across restarts and while its
// task runs elsewhere. Its checkpoint says which prefix of the changelog
// partition the copy holds: every record before Offset is applied, none
// after. It is written in the same Pebble batch as the state it describes
// (a restore's last batch, a commit's local apply), so after a crash the
// database holds a checkpoint and the state it describes, or an older
// checkpoint and state that may hold more: records after the checkpoint
// applied too. Either way replaying the changelog from the checkpoint
// gives the changelog's state, since applying a record sets its key to
// what the record says whatever the key held; that replay is the tail
// a restore reads instead of the whole changelog.
//
// A checkpoint is only used for the changelog it names: the same topic
// (by name, and by Kafka's topic id, which changes when a topic is
// deleted and created again) and partition, with the offset inside the
// partition's current range. Otherwise the local copy is wiped and the
// whole changelog read, as before checkpoints.

// checkpoint is a store's changelog position.
type checkpoint struct {
	Topic     string
	Partition int32
	// TopicID is Kafka's id of the topic (zero where the log has none).
	TopicID [16]byte
	// Offset is the first changelog offset the local copy has not applied.
	Offset int64
}

// checkpointVersion is the first byte of an encoded checkpoint.
const checkpointVersion = 1

// checkpointPrefix starts the key of every checkpoint: outside the
// stores' 'S' range, so that no scan or drop of a store's keys sees it.
// Checkpoints live only in changelog mode's local database, which holds
// nothing else; the embedded log's database never gets one.
const checkpointPrefix = 'K'

// checkpointKey is the key of the checkpoint of the store called name.
func checkpointKey(name string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(name))
	k = append(k, checkpointPrefix)
	k = binary.AppendUvarint(k, uint64(len(name)))
	return append(k, name...)
}

func (c checkpoint) encode() []byte {
	b := make([]byte, 0, 1+16+2*binary.MaxVarintLen64+len(c.Topic))
	b = append(b, checkpointVersion)
	b = append(b, c.TopicID[:]...)
	b = binary.AppendVarint(b, int64(c.Partition))
	b = binary.AppendVarint(b, c.Offset)
	return append(b, c.Topic...)
}

var errBadCheckpoint = errors.New("state: malformed checkpoint")

func decodeCheckpoint(b []byte) (checkpoint, error) {
	var c checkpoint
	if len(b) < 1+16 || b[0] != checkpointVersion {
		return c, errBadCheckpoint
	}
	copy(c.TopicID[:], b[1:17])
	b = b[17:]
	p, n := binary.Varint(b)
	if n <= 0 || p < 0 || p > 1<<31-1 {
		return c, errBadCheckpoint
	}
	b = b[n:]
	off, n := binary.Varint(b)
	if n <= 0 || off < 0 {
		return c, errBadCheckpoint
	}
	c.Partition, c.Offset, c.Topic = int32(p), off, string(b[n:])
	return c, nil
}

// readCheckpoint returns the store's checkpoint; ok is false when it has
// none (a new store, a wiped one) or an unreadable one.
func (m *Manager) readCheckpoint(name string) (c checkpoint, ok bool, err error) {
	v, closer, err := m.db.Get(checkpointKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("state: read checkpoint of %q: %w", name, err)
	}
	defer closer.Close()
	c, err = decodeCheckpoint(v)
	if err != nil {
		m.logger.Warn("state: unreadable checkpoint ignored; the store is restored from the start", "store", name)
		return c, false, nil
	}
	return c, true, nil
}

// usable says why a checkpoint cannot start a restore of a changelog
// partition whose current topic id is id and whose records span [start,
// end), or "" when it can.
func (c checkpoint) usable(tp log.TopicPartition, id [16]byte, start, end int64) string {
	switch {
	case c.Topic != tp.Topic || c.Partition != tp.Partition:
		return "it is of another changelog"
	case c.TopicID != id:
		return "it is of another generation of the changelog topic (deleted and created again)"
	case c.Offset < start:
		return "it is older than the changelog's first offset"
	case c.Offset > end:
		return "it is past the changelog's end"
	}
	return ""
}

// topicIDer is a log that tells topics' ids (Kafka).
type topicIDer interface {
	TopicID(ctx context.Context, topic string) ([16]byte, error)
}

// topicID is the changelog topic's id, or zero where the log has none.
func (m *Manager) topicID(ctx context.Context, topic string) ([16]byte, error) {
	if l, ok := m.opts.Log.(topicIDer); ok {
		return l.TopicID(ctx, topic)
	}
	return [16]byte{}, nil
}

// reportingCommitter is a log whose commit tells, per partition written,
// the offset past the transaction's last record there
// (kafka.Log.CommitReporting).
type reportingCommitter interface {
	CommitReporting(ctx context.Context, txn log.Txn) (map[log.TopicPartition]int64, error)
}

// RestoreStats count what the restores of a Manager's stores read.
type RestoreStats struct {
	// Restores is how many restores ran (opens, arrivals, recoveries);
	// FromCheckpoint how many of them started from a checkpoint rather
	// than the changelog's first offset.
	Restores, FromCheckpoint int64
	// Records is how many changelog records they applied in all.
	Records int64
	// Standbys is how many standby copies caught up (Follow), and
	// StandbyRecords how many changelog records standby copies applied,
	// catching up and tailing: none of them is counted above.
	Standbys, StandbyRecords int64
}

// RestoreStats returns the counts so far.
func (m *Manager) RestoreStats() RestoreStats {
	return RestoreStats{
		Restores:       m.stats.restores.Load(),
		FromCheckpoint: m.stats.fromCheckpoint.Load(),
		Records:        m.stats.records.Load(),
		Standbys:       m.stats.standbys.Load(),
		StandbyRecords: m.stats.standbyRecords.Load(),
	}
}
