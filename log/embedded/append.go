package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// Append implements log.Log. The records are synced before it returns.
func (l *Log) Append(ctx context.Context, name string, recs []log.Record) ([]log.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.enter(); err != nil {
		return nil, err
	}
	defer l.exit()
	t, err := l.lookup(name)
	if err != nil {
		return nil, fmt.Errorf("append: %w", err)
	}
	out := slices.Clone(recs)
	items := make([]item, len(out))
	for i := range out {
		items[i] = item{t: t, r: &out[i]}
	}
	class := classData
	if l.system[name] {
		class = classSystem
	}
	if err := l.write(items, nil, class); err != nil {
		return nil, fmt.Errorf("append to %q: %w", name, err)
	}
	return out, nil
}

// Commit implements log.Log: the Txn's records and offsets are one synced
// Pebble batch.
func (l *Log) Commit(ctx context.Context, txn log.Txn) error {
	return l.CommitWith(ctx, txn, nil)
}

// CommitWith commits txn as Commit does, and applies extra's writes in the
// same atomic batch: a state store's changes commit with the records and
// offsets they belong to. extra must write only keys under StatePrefix and
// must not commit or close the batch, nor call the Log (it runs while the
// commit holds the log's lifecycle gate); if it fails, nothing is written.
// It runs before offsets are assigned, so it cannot see them.
func (l *Log) CommitWith(ctx context.Context, txn log.Txn, extra func(b *pebble.Batch) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(txn.Offsets) > 0 && txn.Group == "" {
		return fmt.Errorf("commit: offsets without a group")
	}
	if err := l.enter(); err != nil {
		return err
	}
	defer l.exit()

	items := make([]item, len(txn.Records))
	recs := make([]log.Record, len(txn.Records))
	for i, pr := range txn.Records {
		t, err := l.lookup(pr.Topic)
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		recs[i] = pr.Record
		items[i] = item{t: t, r: &recs[i]}
	}
	setOffsets, err := l.offsetWrites(txn.Group, txn.Offsets)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	err = l.write(items, func(b *pebble.Batch) error {
		setOffsets(b)
		if extra != nil {
			return extra(b)
		}
		return nil
	}, classData)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// item is one record bound for a topic; write fills in its partition,
// offset and timestamp.
type item struct {
	t *topic
	r *log.Record
}

// write appends items, together with whatever pre writes, in one synced
// batch, once the disk guard admits it as a write of class c. The caller
// is inside enter.
func (l *Log) write(items []item, pre func(b *pebble.Batch) error, c writeClass) error {
	now := time.Now().UnixMilli()
	// Place every record first, so a bad partition fails before anything
	// is reserved.
	type group struct {
		p     *partition
		idxs  []int
		base  int64
		resvn *reservation
	}
	var groups []*group
	byPart := make(map[*partition]*group)
	for i, it := range items {
		r := it.r
		if r.Partition < 0 {
			if r.Key != nil {
				r.Partition = log.PartitionFor(r.Key, it.t.info.Partitions)
			} else {
				r.Partition = int32((it.t.rr.Add(1) - 1) % uint32(it.t.info.Partitions))
			}
		}
		p, err := l.partition(it.t, r.Partition)
		if err != nil {
			return err
		}
		if r.Timestamp < 0 {
			r.Timestamp = now
		}
		g := byPart[p]
		if g == nil {
			g = &group{p: p}
			byPart[p] = g
			groups = append(groups, g)
		}
		g.idxs = append(g.idxs, i)
	}

	b := l.db.NewBatch()
	defer b.Close()
	if pre != nil {
		if err := pre(b); err != nil {
			return err
		}
	}
	// Encode values before reserving: a reservation holds back every later
	// write to its partition until it completes, so keep it short.
	size := 0
	for _, it := range items {
		size += encodedSize(it.r)
	}
	buf := make([]byte, 0, size)
	vals := make([][]byte, len(items))
	for i, it := range items {
		start := len(buf)
		buf = appendRecord(buf, it.r)
		vals[i] = buf[start:len(buf):len(buf)]
	}

	// Admit the write before reserving offsets: a refused write then
	// leaves no gap and holds back no later write. Its size is what the
	// batch will hold: pre's writes, and each record's key and value.
	n := int64(b.Len())
	for _, v := range vals {
		n += recordKeyLen + int64(len(v)) + batchEntryOverhead
	}
	if err := l.disk.admit(n, c); err != nil {
		return err
	}
	defer l.disk.done(n)
	l.publish.RLock()
	defer l.publish.RUnlock()
	for _, g := range groups {
		g.base, g.resvn = g.p.reserve(len(g.idxs))
	}
	for _, g := range groups {
		for j, i := range g.idxs {
			it := items[i]
			it.r.Offset = g.base + int64(j)
			_ = b.Set(recordKey(it.t.id, it.r.Partition, it.r.Offset), vals[i], nil)
		}
	}
	err := noSpace(b.Commit(pebble.Sync))
	// Publish even on failure: the offsets become a gap instead of a wall
	// that every later write to the partition would wait behind.
	for _, g := range groups {
		g.resvn.complete()
	}
	return err
}

// Sizes for estimating a batch before its records are in it: a record's
// key, and a batch entry's kind and two length varints.
const (
	recordKeyLen       = 22
	batchEntryOverhead = 1 + 2*binary.MaxVarintLen32
)

// offsetWrites validates a group's offsets and returns the function that
// adds them to a batch.
func (l *Log) offsetWrites(group string, offsets map[log.TopicPartition]int64) (func(b *pebble.Batch), error) {
	type kv struct{ k, v []byte }
	sets := make([]kv, 0, len(offsets))
	for tp, off := range offsets {
		t, err := l.lookup(tp.Topic)
		if err != nil {
			return nil, err
		}
		if _, err := l.partition(t, tp.Partition); err != nil {
			return nil, err
		}
		sets = append(sets, kv{groupOffsetKey(t.id, group, tp.Partition), binary.BigEndian.AppendUint64(nil, uint64(off))})
	}
	return func(b *pebble.Batch) {
		for _, s := range sets {
			_ = b.Set(s.k, s.v, nil)
		}
	}, nil
}
