package embedded

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/internal/invariants"
	"github.com/runnel/runnel/log"
)

// NewReader implements log.Log.
func (l *Log) NewReader(ctx context.Context, tp log.TopicPartition, offset int64) (log.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.enter(); err != nil {
		return nil, err
	}
	defer l.exit()
	t, err := l.lookup(tp.Topic)
	if err != nil {
		return nil, fmt.Errorf("new reader: %w", err)
	}
	p, err := l.partition(t, tp.Partition)
	if err != nil {
		return nil, fmt.Errorf("new reader: %w", err)
	}
	// Below the start (a purged topic's) reads from the start.
	return &reader{l: l, t: t, p: p, part: tp.Partition, pos: max(offset, p.start())}, nil
}

// reader reads one partition. It holds no Pebble resources between calls:
// each Next opens an iterator over what is visible and closes it, so a
// parked reader pins no memtable or sstable.
type reader struct {
	l    *Log
	t    *topic
	p    *partition
	part int32
	pos  int64 // the next offset to read
	// arenaHint is the size of the last batch's bytes: the next batch's
	// arena starts that large, rather than growing by doubling.
	arenaHint int
	// last is the batch Next returned last, with the arena its records'
	// bytes are in (the newer array, when the batch outgrew its first);
	// the caller may hand it back (Recycle). spare is what it handed
	// back, for the next readRange to write into: held only while there
	// is more to read, so that a parked reader holds no memory.
	last  recycled
	spare recycled
}

// recycled is a batch's memory: its records' slice and its bytes' arena.
type recycled struct {
	recs  []log.Record
	arena []byte
}

var (
	_ log.Reader    = (*reader)(nil)
	_ log.Recycler  = (*reader)(nil)
	_ log.LagReader = (*reader)(nil)
)

// Lag implements log.LagReader.
func (r *reader) Lag() int64 { return max(r.p.visible()-r.pos, 0) }

// Next implements log.Reader.
func (r *reader) Next(ctx context.Context) ([]log.Record, error) {
	// What the caller handed back (Recycle) is read into, if anything
	// is read; the fields let go of it at once, so that a Next that
	// fails or parks leaves the reader holding no batch.
	spare := r.spare
	r.spare, r.last = recycled{}, recycled{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case <-r.t.gone:
			return nil, r.goneErr()
		case <-r.l.done:
			return nil, log.ErrClosed
		default:
		}
		// Take the channel before reading: an append that lands after
		// this point closes it, so the wait below cannot miss it.
		start, visible, notify := r.p.state()
		// A purge may pass a reader that lags behind its group (PRINT of
		// an internal topic): it goes on from the start, as a reader
		// opened below it does.
		r.pos = max(r.pos, start)
		if r.pos < visible {
			recs, next, used, arena, err := r.l.readRange(r.t, r.part, r.pos, visible, r.arenaHint, spare)
			if err != nil {
				return nil, err
			}
			r.pos = next
			r.arenaHint = used
			r.last = recycled{recs: recs, arena: arena}
			// recs may be empty when everything up to visible was
			// compacted away: the caller still learns the new Position.
			return recs, nil
		}
		// Parked until more arrives, which may be long: the memory of a
		// recycled batch goes back to the collector rather than wait.
		spare = recycled{}
		select {
		case <-notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.t.gone:
			return nil, r.goneErr()
		case <-r.l.done:
			return nil, log.ErrClosed
		}
	}
}

// Recycle implements log.Recycler: the last batch's records and arena
// are written over by the next readRange.
func (r *reader) Recycle(recs []log.Record) {
	if len(recs) == 0 || len(r.last.recs) != len(recs) || &r.last.recs[0] != &recs[0] {
		return // not the last batch (or an empty one): nothing to reuse
	}
	r.spare, r.last = r.last, recycled{}
	if invariants.Enabled {
		poison(r.spare)
	}
}

// poisonByte is what a recycled batch's bytes read as until the next
// batch is written into them.
const poisonByte = 0xA5

// poison overwrites the memory of a batch handed back (invariants): a
// caller that recycles a batch while something of it is still in use (a
// state, a cache, an output record that aliases its bytes) then reads
// garbage at once, rather than rarely, when a later batch happens to
// be written over the bytes it kept, and its tests fail loudly. The
// records are left as they were: their keys and values now read as
// poison (those in an array the batch outgrew aside).
func poison(b recycled) {
	arena := b.arena[:cap(b.arena)]
	for i := range arena {
		arena[i] = poisonByte
	}
}

// Position implements log.Reader.
func (r *reader) Position() int64 { return r.pos }

func (r *reader) goneErr() error {
	return fmt.Errorf("read %s/%d: %w", r.t.info.Name, r.part, log.ErrUnknownTopic)
}

// Close implements log.Reader. A reader holds nothing, so Close only
// exists for the contract.
func (r *reader) Close() error { return nil }

// readRange reads up to ReadBatch records (at most ReadBatchBytes of their
// bytes, or one record larger than that) of one partition with offsets in
// [from, to), and returns them with the offset to read next, the bytes
// they take and the arena that holds (the last of) them. arenaHint is how
// many bytes to expect; spare is the memory of a batch its caller is done
// with, to reuse when it fits.
func (l *Log) readRange(t *topic, part int32, from, to int64, arenaHint int, spare recycled) ([]log.Record, int64, int, []byte, error) {
	if err := l.enter(); err != nil {
		return nil, 0, 0, nil, err
	}
	defer l.exit()
	// The key holding offset from is the last one at or below it: a
	// batch's base may lie below from. The lower bound is the partition's
	// start, where that key may be.
	lo, _ := partitionRecordBounds(t.id, part)
	it, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: lo,
		UpperBound: recordKey(t.id, part, to),
	})
	if err != nil {
		return nil, 0, 0, nil, fmt.Errorf("read %s/%d: %w", t.info.Name, part, err)
	}
	defer it.Close()

	// Copy every value into one arena the records then alias, and
	// decode each record as it lands there, while its bytes are still
	// in the CPU's cache: a second pass over a batch's arena (about a
	// megabyte, more than a core's L2 cache) read it back from memory,
	// nearly a quarter of the read path's CPU samples in Nexmark's q0
	// to q2. The arena is usually one allocation for
	// the batch's bytes, owned by the caller (the records are never
	// reused by the log). Should a batch outgrow it, the rest goes to a
	// new array as large as the bytes so far, and the records decoded
	// so far keep the old one, which nothing writes again: no copy, and
	// at most about twice the batch's bytes, as a doubling append.
	batch, limit := l.opts.ReadBatch, l.opts.ReadBatchBytes
	n := int(min(int64(batch), to-from))
	// An eighth more than the last batch took: a batch a little larger
	// than the last (records vary in size) would otherwise need a
	// second array.
	want := min(max(arenaHint+arenaHint/8, 4096), limit)
	var (
		arena []byte
		recs  []log.Record
		used  int // the bytes of the records, whichever array holds them
		full  bool
	)
	// A recycled batch's memory is written over when it is large enough
	// and not much larger than needed: a reader that has caught up reads
	// small batches, and lets a large arena go rather than hold it. Its
	// old records are each written whole before they are returned. A new
	// arena has an eighth more room again than want, so that it is large
	// enough to be reused for the next batches while they do not grow by
	// more than that (sized to want, it was too small half the time: a
	// quarter of q0's reads still allocated their arena).
	if c := cap(spare.arena); c >= want && c <= 4*want {
		arena = spare.arena[:0]
	} else {
		arena = make([]byte, 0, min(want+want/8, limit))
	}
	if c := cap(spare.recs); c >= n && c <= 4*n {
		recs = spare.recs[:0]
	} else {
		recs = make([]log.Record, 0, n)
	}
	// A packed batch is decompressed once, into a buffer the records'
	// bytes are then copied from into the arena as an unpacked batch's
	// are from Pebble's: the records alias the arena alone, as before.
	unpack := l.scratch.unpack.get()
	defer func() { l.scratch.unpack.put(unpack) }()
	ok := it.SeekLT(recordKey(t.id, part, from+1))
	if !ok && it.Error() == nil {
		ok = it.First() // from is below the partition's first key
	}
keys:
	for ; ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, 0, nil, fmt.Errorf("read %s/%d: %w", t.info.Name, part, err)
		}
		var kr keyRecords
		kr, unpack, err = newKeyRecordsBuf(it.Key(), v, unpack)
		if err != nil {
			return nil, 0, 0, nil, fmt.Errorf("read %s/%d: %w", t.info.Name, part, err)
		}
		for {
			off, rv, more := kr.next()
			if !more {
				break
			}
			if off < from {
				continue // the start of the batch holding from
			}
			if off >= to {
				// Not visible yet. A key below to holds only offsets
				// below it (a key's records are one write's, visible
				// together), so this is only a guard.
				break keys
			}
			// A batch stops before the record that would take it past
			// limit (one record alone may), so that an arena of limit
			// bytes always holds it: stopping once limit was passed let
			// a full batch's last record spill into a second array of
			// the batch's size, a third of a raw copy's read memory.
			if len(recs) == batch || (len(recs) > 0 && used+len(rv) > limit) {
				full = true
				break keys
			}
			if cap(arena)-len(arena) < len(rv) {
				arena = make([]byte, 0, max(len(rv), used, 4096))
			}
			start := len(arena)
			arena = append(arena, rv...)
			used += len(rv)
			// recs has room, its records having distinct offsets in
			// [from, to) (unless the batch is corrupt), at most batch
			// of them: its next slot, still zero from make, is only
			// resliced (appending a zero record wrote it once more).
			if len(recs) < cap(recs) {
				recs = recs[:len(recs)+1]
			} else {
				recs = append(recs, log.Record{})
			}
			rec := &recs[len(recs)-1]
			if err := decodeRecord(arena[start:len(arena):len(arena)], rec); err != nil {
				return nil, 0, 0, nil, fmt.Errorf("read %s/%d@%d: %w", t.info.Name, part, off, err)
			}
			rec.Partition = part
			rec.Offset = off
		}
		if kr.err != nil {
			return nil, 0, 0, nil, fmt.Errorf("read %s/%d: %w", t.info.Name, part, kr.err)
		}
	}
	if err := it.Error(); err != nil {
		return nil, 0, 0, nil, fmt.Errorf("read %s/%d: %w", t.info.Name, part, err)
	}
	next := to
	if full {
		next = recs[len(recs)-1].Offset + 1
	}
	return recs, next, used, arena, nil
}
