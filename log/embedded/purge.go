package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Purging a topic's consumed records (log.TopicConfig.DeleteConsumed).
//
// Kafka Streams deletes the records of its repartition topics once the
// task reading them has committed past them: they are read once, by one
// group, and kept otherwise for nothing. Kept here, every one of them was
// flushed from the memtable into a table and then rewritten by
// compactions, in queries that repartition millions of rows (Nexmark's
// q5 explodes 920,000 bids into 4.6 million).
//
// A commit of a group's offset for a partition of such a topic deletes,
// in the same Pebble batch, the partition's keys below the one that
// holds the offset, and moves the partition's start to the offset: so
// the deletion is exactly as durable as the commit, and a restart from
// the committed offset finds every record it needs. The deletion is one
// DeleteRange from where the last purge ended, so that the range
// tombstones of a partition never overlap. When it reaches the memtable
// before the records are flushed, the flush drops them; otherwise a
// compaction (or, for whole tables, a delete-only compaction) does.
//
// The key holding the committed offset stays: a batch key's records run
// from its base to the next key's, and the offset may lie inside it. The
// records of that key below the start are skipped by readers (a reader
// never reads below the start), and go at the next purge. So does the
// last key, whole, which keeps a partition's end offset found on open.
//
// Purges come every Options.PurgeRecords offsets at most, not at every
// commit: each one is an iterator's seek to find the key that holds the
// offset, and a range tombstone that Pebble's iterators over the
// memtable fragment again. They also come every Options.PurgeInterval
// at most (30 s, Kafka Streams' repartition.purge.interval.ms): a
// tombstone that reaches the levels after its records did overlaps
// their tables, and Pebble rewrites what it partly covers instead of
// moving the tables down whole. Purged every 16,384 records, Nexmark's
// q5 and q7 ran about twice as many compactions in the runs measured
// (BENCHMARKS.md, which gives their spread too); a purge every 30 s
// makes a few large tombstones, which cover whole tables that
// delete-only compactions drop.
//
// Purging earlier does not keep Nexmark's internal records out of the
// tables: the repartitions that carry most of them (a join's, q5's
// EXPLODE's) are written far ahead of their readers, so they are
// flushed before anyone commits past them, and a purge of what a commit
// finds still in the memtable saved 3 to 10 MB of flushes a query and
// no CPU (BENCHMARKS.md, "Purging internal topics before their flush").

// startFloor is what a partition's start floor key holds.
type startFloor struct {
	// start is the first offset readers may read.
	start int64
	// purged is the base of the first key not deleted: the next purge's
	// DeleteRange begins there.
	purged int64
}

func (f startFloor) encode() []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(f.start))
	return binary.BigEndian.AppendUint64(v, uint64(f.purged))
}

// loadStart reads a partition's start floor: zero for a partition never
// purged.
func (l *Log) loadStart(id uint64, part int32) (startFloor, error) {
	v, closer, err := l.db.Get(startFloorKey(id, part))
	if errors.Is(err, pebble.ErrNotFound) {
		return startFloor{}, nil
	}
	if err != nil {
		return startFloor{}, err
	}
	defer closer.Close()
	if len(v) != 16 {
		return startFloor{}, fmt.Errorf("malformed start floor %x", v)
	}
	f := startFloor{start: int64(binary.BigEndian.Uint64(v)), purged: int64(binary.BigEndian.Uint64(v[8:]))}
	if f.purged > f.start || f.purged < 0 {
		return startFloor{}, fmt.Errorf("malformed start floor %x", v)
	}
	return f, nil
}

// purge is one partition's purge, planned by planPurge: writes adds it
// to the batch of the commit it goes with, and done publishes the new
// start once that batch is durable.
type purge struct {
	p      *partition
	id     uint64
	part   int32
	from   startFloor // the floor before
	to     startFloor // the floor after
	lo, hi []byte     // the keys deleted, when to.purged > from.purged
	at     time.Time  // when it was planned
}

// planPurge plans the purge that a commit of offset off for partition
// part of t brings, or returns nil when none is due: the topic is not
// DeleteConsumed, or the start would move by fewer than PurgeRecords
// offsets. The caller is inside enter.
func (l *Log) planPurge(t *topic, part int32, p *partition, off int64) (*purge, error) {
	if !t.deleteConsumed || l.opts.PurgeRecords < 0 {
		return nil, nil
	}
	p.mu.Lock()
	from := startFloor{start: p.mu.start, purged: p.mu.purged}
	visible := p.mu.visible
	now := l.opts.now()
	if l.opts.PurgeInterval > 0 {
		// The interval runs from the partition's last purge, or from
		// its first commit.
		if p.mu.lastPurge.IsZero() {
			p.mu.lastPurge = now
		}
		if now.Sub(p.mu.lastPurge) < l.opts.PurgeInterval {
			p.mu.Unlock()
			return nil, nil
		}
	}
	p.mu.Unlock()
	// Never past what readers may see: a record beyond it may still be
	// in flight, and its key not yet in the database.
	off = min(off, visible)
	if off-from.start < max(l.opts.PurgeRecords, 1) {
		return nil, nil
	}
	// The key holding off is the last one below off's record key (a
	// batch keyed at off itself sorts after that key, and stays).
	lo := recordKey(t.id, part, from.purged)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: recordKey(t.id, part, off)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	to := startFloor{start: off, purged: from.purged}
	if it.Last() {
		base, err := recordKeyOffset(it.Key())
		if err != nil {
			return nil, err
		}
		to.purged = max(base, from.purged)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	pg := &purge{p: p, id: t.id, part: part, from: from, to: to, at: now}
	if to.purged > from.purged {
		pg.lo, pg.hi = lo, recordKey(t.id, part, to.purged)
	}
	return pg, nil
}

// write adds the purge to a commit's batch.
func (pg *purge) write(b *pebble.Batch) {
	if pg.lo != nil {
		_ = b.DeleteRange(pg.lo, pg.hi, nil)
	}
	_ = b.Set(startFloorKey(pg.id, pg.part), pg.to.encode(), nil)
}

// done publishes the new start once the purge's batch is durable. A
// purge planned meanwhile from the same floor (two commits of one
// partition at once, which a group's one task never makes) finds the
// floor moved and keeps the larger.
func (pg *purge) done() {
	p := pg.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.start = max(p.mu.start, pg.to.start)
	p.mu.purged = max(p.mu.purged, pg.to.purged)
	p.mu.lastPurge = pg.at
}

// Options.PurgeRecords' and Options.PurgeInterval's defaults.
const (
	defaultPurgeRecords  = 16384
	defaultPurgeInterval = 30 * time.Second
)
