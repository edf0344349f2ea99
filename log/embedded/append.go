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
	items := make([]item, len(recs))
	for i := range recs {
		items[i] = item{t: t, r: &recs[i]}
	}
	class := classData
	if l.system[name] {
		class = classSystem
	}
	if err := l.write(items, nil, class); err != nil {
		return nil, fmt.Errorf("append to %q: %w", name, err)
	}
	out := slices.Clone(recs)
	for i := range out {
		out[i].Partition, out[i].Offset, out[i].Timestamp = items[i].part, items[i].off, items[i].ts
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
	return l.CommitWithSize(ctx, txn, 0, extra)
}

// CommitWithSize is CommitWith, told that extra writes about extraBytes
// of batch (keys, values and each entry's kind and lengths), so that the
// batch is allocated once at its full size. Left to grow, a batch whose
// state writes outweigh its records was copied at every doubling: in
// Nexmark's q17 over 300,000 events the growth was 104 MB of the 1.6 GB
// the query allocated. A wrong estimate costs only memory or a growth.
func (l *Log) CommitWithSize(ctx context.Context, txn log.Txn, extraBytes int, extra func(b *pebble.Batch) error) error {
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
	w, err := l.startCommit(txn, extraBytes, extra)
	if err != nil {
		return err
	}
	if err := w.finish(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

var _ log.AsyncCommitter = (*Log)(nil)

// CommitAsync implements log.AsyncCommitter. The batch goes through
// Pebble's commit pipeline (the write-ahead log's buffer and the
// memtable) before it returns; a goroutine of its own then waits for the
// write-ahead log's sync and publishes the records, as Commit does after
// its sync, so that readers see them as soon as they are durable rather
// than when the caller gets round to wait. wait joins that goroutine.
func (l *Log) CommitAsync(ctx context.Context, txn log.Txn) (wait func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(txn.Offsets) > 0 && txn.Group == "" {
		return nil, fmt.Errorf("commit: offsets without a group")
	}
	if err := l.enter(); err != nil {
		return nil, err
	}
	w, err := l.startCommit(txn, 0, nil)
	if err != nil {
		l.exit()
		return nil, err
	}
	// The goroutine ends once the sync does, whether or not anyone waits;
	// it holds the lifecycle gate until then, so Close waits for it as it
	// waits for a Commit.
	done := make(chan error, 1)
	go func() {
		defer l.exit()
		done <- w.finish()
	}()
	return func() error {
		if err := <-done; err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}, nil
}

// startCommit is CommitWithSize up to the batch's hand-over to Pebble;
// the caller is inside enter, and calls finish on the write it returns.
func (l *Log) startCommit(txn log.Txn, extraBytes int, extra func(b *pebble.Batch) error) (*pendingWrite, error) {
	// The items are done with once the batch is encoded (startWrite), so
	// they go back for the next commit: 48 bytes a record, zeroed, at
	// every commit otherwise.
	items := l.scratch.items.get(len(txn.Records))
	defer l.scratch.items.put(items, true)
	var last *topic
	for i := range txn.Records {
		pr := &txn.Records[i]
		// A batch's records mostly go to one topic: look it up once.
		t := last
		if t == nil || t.info.Name != pr.Topic {
			var err error
			if t, err = l.lookup(pr.Topic); err != nil {
				return nil, fmt.Errorf("commit: %w", err)
			}
			last = t
		}
		items[i] = item{t: t, r: &pr.Record}
	}
	setOffsets, purged, err := l.offsetWrites(txn.Group, txn.Offsets)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	w, err := l.startWrite(items, func(b *pebble.Batch) error {
		setOffsets(b)
		if extra != nil {
			return extra(b)
		}
		return nil
	}, max(extraBytes, 0), classData)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	w.durable = purged
	return w, nil
}

// item is one record bound for a topic: the caller's record, which write
// reads and never changes, and the partition, offset and timestamp write
// gives it.
type item struct {
	t    *topic
	r    *log.Record
	part int32
	// group is startWrite's, the index of the record's partition among
	// the write's.
	group int32
	off   int64
	ts    int64
	// size is the record's encoded size (recordSize).
	size int
}

// write appends items, together with whatever pre writes, in one synced
// batch, once the disk guard admits it as a write of class c. The caller
// is inside enter.
func (l *Log) write(items []item, pre func(b *pebble.Batch) error, c writeClass) error {
	return l.writeSized(items, pre, 0, c)
}

// writeSized is write, with room in the batch for preBytes of pre's
// writes beyond the few a commit's offsets take.
func (l *Log) writeSized(items []item, pre func(b *pebble.Batch) error, preBytes int, c writeClass) error {
	w, err := l.startWrite(items, pre, preBytes, c)
	if err != nil {
		return err
	}
	return w.finish()
}

// pendingWrite is a write that Pebble has applied (its batch is in the
// write-ahead log's buffer and the memtable) but whose sync nobody has
// waited for yet: its offsets are reserved, its flight ticket is out and
// its bytes are in the disk guard's flight, so nothing of it is visible,
// not even its group offsets (CommittedOffsets waits for the ticket).
// finish completes it, once.
type pendingWrite struct {
	l      *Log
	b      *pebble.Batch
	n      int64 // the bytes the disk guard admitted
	flight *flight
	resvns []*reservation
	// err is Pebble's refusal of the batch, which then needs no sync.
	err error
	// durable, when set, is called once the batch is durable, before
	// its records are published: a purge's new start (purge.go).
	durable func()
}

// finish waits for the write's sync, then publishes its records (even
// on failure: the offsets become a gap instead of a wall that every later
// write to the partition would wait behind) and returns the sync's error.
func (w *pendingWrite) finish() error {
	err := w.err
	if err == nil {
		err = noSpace(w.b.SyncWait())
	}
	// The write's bytes now show in the disk's free space, so it leaves
	// the guard's flight before its records are published. Readers act on
	// them at once: a query commits its output of them, and were this
	// write still counted in flight, that commit's admission would count
	// its bytes twice, once in the free space and once in flight, and be
	// refused (a 218-byte commit refused 16 KiB above the reserve, after
	// a 64 KiB write, in TestDiskFullOverPgwire).
	w.l.disk.done(w.n)
	if err == nil && w.durable != nil {
		w.durable()
	}
	for _, r := range w.resvns {
		r.complete()
	}
	// The ticket goes back once the records are published.
	w.l.flights.end(w.flight)
	_ = w.b.Close()
	return err
}

// startWrite is writeSized up to the batch's hand-over to Pebble, which
// returns once the batch is in the write-ahead log's buffer and the
// memtable; the caller is inside enter until the write's finish returns.
// On an error, nothing was written and nothing is pending.
func (l *Log) startWrite(items []item, pre func(b *pebble.Batch) error, preBytes int, c writeClass) (*pendingWrite, error) {
	now := time.Now().UnixMilli()
	// Place every record first, so a bad partition fails before anything
	// is reserved.
	type group struct {
		p    *partition
		id   uint64 // the topic's
		part int32
		// idxs are the group's records, indexes into items in their
		// order: a slice of one array for all the groups.
		idxs  []int32
		at    int32 // the group's index in groups
		n     int   // the group's records
		base  int64
		resvn *reservation
		// keys are the group's batch keys, each a run of idxs (see
		// batchValueTarget).
		keys []batchRun
	}
	var groups []*group
	// A batch's records mostly go to one topic, spread over its
	// partitions (round robin when they have no key): each record finds
	// its partition's group by index in its topic's slice of them, and
	// the partition is looked up once per batch (a sync.Map load and a
	// map lookup per record were 8% of write and more). A topic of more
	// partitions than indexedPartitions has a map instead, so that the
	// cost stays with the partitions written (lazy_test.go).
	type topicGroups struct {
		t  *topic
		gs []*group         // by partition, or
		m  map[int32]*group // for a topic of many partitions
	}
	var (
		byTopic []*topicGroups // a txn writes one topic or a few
		cur     *topicGroups   // the last record's topic
	)
	for i := range items {
		it := &items[i]
		r := it.r
		it.part = r.Partition
		if it.part < 0 {
			if r.Key != nil {
				it.part = log.PartitionFor(r.Key, it.t.info.Partitions)
			} else {
				it.part = int32((it.t.rr.Add(1) - 1) % uint32(it.t.info.Partitions))
			}
		}
		if cur == nil || cur.t != it.t {
			cur = nil
			for _, tg := range byTopic {
				if tg.t == it.t {
					cur = tg
					break
				}
			}
			if cur == nil {
				cur = &topicGroups{t: it.t}
				if n := it.t.info.Partitions; n <= indexedPartitions {
					cur.gs = make([]*group, n)
				} else {
					cur.m = make(map[int32]*group)
				}
				byTopic = append(byTopic, cur)
			}
		}
		var g *group
		switch {
		case cur.m != nil:
			g = cur.m[it.part]
		case it.part >= 0 && int(it.part) < len(cur.gs):
			g = cur.gs[it.part]
		}
		if g == nil {
			// First of its partition (or out of range: partition says so).
			p, err := l.partition(it.t, it.part)
			if err != nil {
				return nil, err
			}
			g = &group{p: p, id: it.t.id, part: it.part, at: int32(len(groups))}
			if cur.m != nil {
				cur.m[it.part] = g
			} else {
				cur.gs[it.part] = g
			}
			groups = append(groups, g)
		}
		it.ts = r.Timestamp
		if it.ts < 0 {
			it.ts = now
		}
		it.size = recordSize(r, it.ts)
		// Counted here, placed below: one array of indexes for the
		// whole write rather than a slice per group grown by appends.
		it.group = g.at
		g.n++
	}
	idxs := l.scratch.idxs.get(len(items))
	defer l.scratch.idxs.put(idxs, false)
	at := 0
	for _, g := range groups {
		g.idxs = idxs[at : at : at+g.n]
		at += g.n
	}
	for i := range items {
		g := groups[items[i].group]
		g.idxs = append(g.idxs, int32(i))
	}
	// Each partition's records go into batch keys of about
	// batchValueTarget bytes. Offsets are consecutive within a
	// reservation, so a record's delta from its key's base is known
	// before the offsets are.
	for _, g := range groups {
		run := batchRun{}
		for j, i := range g.idxs {
			e := batchEntrySize(int64(j-run.from), items[i].size)
			if j > run.from && run.bytes+e > batchValueTarget {
				g.keys = append(g.keys, run)
				run = batchRun{from: j}
				e = batchEntrySize(0, items[i].size)
			}
			run.bytes += e
			run.to = j + 1
		}
		g.keys = append(g.keys, run)
	}
	// A batch's value holds offset deltas, never offsets, so each is
	// encoded and packed (record.go) here, before any offset is
	// reserved: the compression, the write's costliest part, holds back
	// no other write to the partitions. The values wait in packs, whose
	// bytes go back to the pool once the Pebble batch has copied them.
	packs := l.scratch.packs.get()
	raw := l.scratch.unpack.get()
	defer func() {
		l.scratch.packs.put(packs)
		l.scratch.unpack.put(raw)
	}()
	size := 0
	for _, g := range groups {
		for k := range g.keys {
			run := &g.keys[k]
			raw = slices.Grow(raw[:0], run.bytes)
			for j := run.from; j < run.to; j++ {
				it := &items[g.idxs[j]]
				raw = appendBatchEntryHeader(raw, int64(j-run.from), it.size)
				raw = appendRecordAt(raw, it.r, it.ts)
			}
			if len(raw) != run.bytes {
				return nil, fmt.Errorf("embedded: batch encoded to %d bytes, sized %d", len(raw), run.bytes)
			}
			run.at = len(packs)
			var packed bool
			if packs, packed = packBatch(packs, raw); !packed {
				packs = append(packs, raw...)
			}
			run.bytes = len(packs) - run.at
			size += batchKeyLen + run.bytes + batchEntryOverhead
		}
	}

	// One allocation for the whole batch: the records, and room for what
	// pre writes (offsets, and a state store's changes as preBytes
	// estimates them). Pebble's pool of batches keeps a closed batch's
	// memory only up to 1 MiB by default, and a task's commit of a read
	// batch is a few megabytes: retained up to four times a read batch's
	// bytes, the next commit writes into it instead of a new array. Twice
	// was too few for a commit with state: an aggregation making a group
	// of each record (Nexmark's q7 had one, its table of rows, until
	// 2026-12-02) commits 32,768 changes at a time, 3.4 MB of records and
	// 6.2 MB of state writes, and each of those batches (21 in a run) was
	// a new array of 10 MB, every page of it a fault at its first touch. The pool is
	// a sync.Pool, which lets go of what it holds at each garbage
	// collection; Pebble keeps no batch it made a memtable of, and a
	// batch made with its default bound (the state stores' own, the
	// log's metadata writes) that is handed a larger one drops it.
	b := l.db.NewBatchWithSize(size+preBytes+4096, pebble.WithMaxRetainedSizeBytes(max(4*l.opts.ReadBatchBytes, 1<<20)))
	if pre != nil {
		if err := pre(b); err != nil {
			_ = b.Close()
			return nil, err
		}
	}

	// Admit the write before reserving offsets: a refused write then
	// leaves no gap and holds back no later write. Its size is what the
	// batch will hold: pre's writes, and each record's key and value.
	n := int64(b.Len()) + int64(size)
	if err := l.disk.admit(n, c); err != nil {
		_ = b.Close()
		return nil, err
	}
	// The ticket goes back when the records are published (finish).
	w := &pendingWrite{l: l, b: b, n: n, flight: l.flights.begin(), resvns: make([]*reservation, len(groups))}
	handed := false
	defer func() {
		if !handed {
			// A panic while encoding (a batch sized wrong): the ticket
			// goes back, so that CommittedOffsets does not wait for it.
			l.flights.end(w.flight)
			_ = b.Close()
		}
	}()
	for i, g := range groups {
		g.base, g.resvn = g.p.reserve(len(g.idxs))
		w.resvns[i] = g.resvn
	}
	// A reservation holds back every later write to its partition until
	// it completes; what is done here, the keys and a copy of values
	// already packed, is short next to the sync that follows.
	for _, g := range groups {
		for j, i := range g.idxs {
			items[i].off = g.base + int64(j)
		}
		for _, run := range g.keys {
			op := b.SetDeferred(batchKeyLen, run.bytes)
			putBatchKey(op.Key, g.id, g.part, g.base+int64(run.from))
			copy(op.Value, packs[run.at:run.at+run.bytes])
			_ = op.Finish()
		}
	}
	// Applied, not yet synced: finish waits for the sync. Pebble
	// refuses a batch only before it enters the commit pipeline, and
	// then there is no sync to wait for.
	w.err = noSpace(l.db.ApplyNoSyncWait(b, pebble.Sync))
	handed = true
	return w, nil
}

// indexedPartitions is the most partitions a topic may have for write to
// find its records' groups by index (a slice of that many pointers per
// topic written, per write).
const indexedPartitions = 1024

// batchEntryOverhead is, for estimating a Pebble batch before its keys
// are in it, the size of an entry's kind and two length varints.
const batchEntryOverhead = 1 + 2*binary.MaxVarintLen32

// batchRun is the records of one batch key: a partition's records from..to
// (indexes into its group's), whose entries take bytes, and, once they
// are packed, whose value is bytes from at in the write's packs.
type batchRun struct {
	from, to int
	bytes    int
	at       int
}

// batchValueTarget is the size a batch key's value is cut at: a write's
// records for one partition take one key per this many bytes (a record
// larger than it has a key of its own). Per key, Pebble pays a memtable
// node, a flush's block entry, bloom hashing and iterator steps; with one
// key per record those were about a third of a raw copy's CPU. The target keeps the value about one
// data block (logBlockSize), so that a reader starting inside a batch
// skips at most that many bytes, and the values a flush or a compaction
// holds stay small.
const batchValueTarget = logBlockSize

// offsetWrites validates a group's offsets and returns the function that
// adds them to a batch, with the purges they bring (purge.go), and the
// function to call once that batch is durable (nil when there is none).
func (l *Log) offsetWrites(group string, offsets map[log.TopicPartition]int64) (set func(b *pebble.Batch), durable func(), err error) {
	type kv struct{ k, v []byte }
	sets := make([]kv, 0, len(offsets))
	var purges []*purge
	for tp, off := range offsets {
		t, err := l.lookup(tp.Topic)
		if err != nil {
			return nil, nil, err
		}
		p, err := l.partition(t, tp.Partition)
		if err != nil {
			return nil, nil, err
		}
		sets = append(sets, kv{groupOffsetKey(t.id, group, tp.Partition), binary.BigEndian.AppendUint64(nil, uint64(off))})
		pg, err := l.planPurge(t, tp.Partition, p, off)
		if err != nil {
			return nil, nil, fmt.Errorf("purge %s/%d: %w", tp.Topic, tp.Partition, err)
		}
		if pg != nil {
			purges = append(purges, pg)
		}
	}
	if len(purges) > 0 {
		durable = func() {
			for _, pg := range purges {
				pg.done()
			}
		}
	}
	return func(b *pebble.Batch) {
		for _, s := range sets {
			_ = b.Set(s.k, s.v, nil)
		}
		for _, pg := range purges {
			pg.write(b)
		}
	}, durable, nil
}
