package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/runnel/runnel/log"
)

// ErrNotCompacted is returned by Compact for a topic created without
// TopicConfig.Compacted.
var ErrNotCompacted = errors.New("embedded: topic is not compacted")

// Log is the embedded, Pebble-backed log.
type Log struct {
	db   *pebble.DB
	opts Options

	// gate is held shared by every operation that touches db, and
	// exclusively by DeleteTopic (so no write to a topic being deleted is
	// in flight, and none can leave records behind its DeleteRange) and by
	// Close (so db is never used after it is closed). Being a lifecycle
	// gate, it is held across I/O; nothing waits on a channel under it.
	gate sync.RWMutex
	// closed is set under gate held exclusively and read under gate.
	closed bool
	// closing is set when Close begins: from then on enter refuses new
	// operations, so that Close's wait for the gate ends.
	closing atomic.Bool
	// done is closed by Close (once, wakeOnce) to wake waiting readers.
	done     chan struct{}
	wakeOnce sync.Once
	// disk admits writes while the disk has room; see disk.go.
	disk *diskGuard
	// system are the SystemTopics, whose appends are system writes.
	system map[string]bool

	// ddl serializes CreateTopic and DeleteTopic. Taken before gate.
	ddl sync.Mutex
	// compactMu serializes compactions, which read then rewrite.
	compactMu sync.Mutex
	// flights are the writes in flight, which CommittedOffsets waits for
	// (flight.go).
	flights *flights
	// lsm counts what Pebble writes (LSMStats).
	lsm *lsmCounter
	// scratch is the working memory writes reuse (scratch.go).
	scratch writeScratch

	mu struct {
		sync.Mutex
		// topics by name. Guarded by mu; changed only under ddl.
		topics map[string]*topic
		// nextID is the id of the next topic created; ids are never reused.
		nextID uint64
	}
}

var (
	_ log.Log       = (*Log)(nil)
	_ log.Compactor = (*Log)(nil)
)

// topic is the in-memory state of one topic. Its fields are set at creation
// and never change; partitions carry their own locks.
type topic struct {
	id   uint64
	info log.TopicInfo
	// fresh is set on a topic this process created: none of its
	// partitions has anything on disk, so each starts at offset 0 without
	// a read.
	fresh bool
	// parts holds the partitions used so far (int32 -> *partition). A
	// partition is made the first time something uses it (see
	// Log.partition), so a topic costs nothing per partition until then:
	// the partition count is only a number in the topic's metadata, and a
	// topic declared with 2^31-1 partitions opens as cheaply as one with
	// one. Eager per-partition state made such a topic allocate gigabytes
	// when it was created and again on every open.
	parts sync.Map
	// deleteConsumed is TopicConfig.DeleteConsumed (purge.go).
	deleteConsumed bool
	// rr spreads nil-key records round-robin.
	rr atomic.Uint32
	// gone is closed when the topic is deleted.
	gone chan struct{}
}

// Open opens (or creates) the log in opts.Dir and loads its topics. On a
// disk too full to replay the write-ahead log, even after releasing the
// ballast, it fails with an error wrapping log.ErrDiskFull.
func Open(opts Options) (*Log, error) {
	opts.EnsureDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	popts := &pebble.Options{}
	if opts.Pebble != nil {
		popts = opts.Pebble.Clone()
	}
	popts.Logger = pebbleLogger{opts.Logger}
	if err := opts.FS.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded: create %s: %w", opts.Dir, noSpace(err))
	}
	// The log's own defaults for what the caller left unset (lsm.go):
	// they depend on the size of the disk.
	var diskTotal int64
	if du, err := opts.FS.GetDiskUsage(opts.Dir); err == nil {
		diskTotal = clampInt64(du.TotalBytes)
	}
	tunePebble(popts, diskTotal)
	memtable := int64(popts.MemTableSize)
	disk, err := newDiskGuard(opts.FS, opts.Dir, opts.Disk, memtable, opts.Logger)
	if err != nil {
		return nil, err
	}
	if err := disk.prepareOpen(); err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", opts.Dir, err)
	}
	// Pebble sees ENOSPC only through the guard's callback, which gives it
	// the ballast or waits for space: never the fatal error it would
	// otherwise make of a failed WAL or MANIFEST write.
	popts.FS = vfs.OnDiskFull(opts.FS, disk.onENOSPC)
	// Keep what Pebble adds to a filesystem it is not given: disk health
	// checks (timing every write, for DiskSlow events).
	popts.WithFSDefaults()
	lsm := &lsmCounter{}
	popts.EventListener = disk.eventListener(popts.EventListener)
	*popts.EventListener = pebble.TeeEventListener(*popts.EventListener, lsm.listener())
	db, err := pebble.Open(opts.Dir, popts)
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", opts.Dir, noSpace(err))
	}
	l := &Log{db: db, opts: opts, done: make(chan struct{}), disk: disk, system: make(map[string]bool), flights: newFlights(), lsm: lsm}
	for _, name := range opts.SystemTopics {
		l.system[name] = true
	}
	l.mu.topics = make(map[string]*topic)
	if err := l.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: load %s: %w", opts.Dir, err)
	}
	go disk.run()
	opts.Logger.Debug("embedded log open", "dir", opts.Dir, "topics", len(l.mu.topics),
		"reserve", bytesText(disk.opts.ReserveBytes), "system_reserve", bytesText(disk.opts.SystemReserveBytes),
		"ballast", bytesText(max(disk.opts.BallastBytes, 0)))
	return l, nil
}

// load reads the topic metadata. Partitions are loaded when first used.
func (l *Log) load() error {
	v, closer, err := l.db.Get(nextIDKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		l.mu.nextID = 1
	case err != nil:
		return err
	default:
		if len(v) != 8 {
			_ = closer.Close()
			return fmt.Errorf("malformed next topic id %x", v)
		}
		l.mu.nextID = binary.BigEndian.Uint64(v)
		_ = closer.Close()
	}

	lo, hi := topicKeyBounds()
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		name := string(it.Key()[len(lo):])
		t, err := decodeTopic(name, it.Value())
		if err != nil {
			return err
		}
		// Partitions load their end offsets when first used.
		l.mu.topics[name] = t
	}
	return it.Error()
}

// loadEnd finds a partition's end offset: past its last record, and no lower
// than the floor compaction left.
func (l *Log) loadEnd(id uint64, part int32) (int64, error) {
	var end int64
	v, closer, err := l.db.Get(endFloorKey(id, part))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return 0, err
	default:
		if len(v) == 8 {
			end = int64(binary.BigEndian.Uint64(v))
		}
		_ = closer.Close()
	}
	lo, hi := partitionRecordBounds(id, part)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if it.Last() {
		// The last key's last record: a batch's is its last entry.
		kr, err := newKeyRecords(it.Key(), it.Value())
		if err != nil {
			return 0, err
		}
		for {
			off, _, more := kr.next()
			if !more {
				break
			}
			end = max(end, off+1)
		}
		if kr.err != nil {
			return 0, kr.err
		}
	}
	return end, it.Error()
}

// Topic metadata value: id uint64, partitions uint32, replicas uint16,
// flags byte (bit 0: compacted, bit 1: delete consumed).
func encodeTopic(id uint64, cfg log.TopicConfig) []byte {
	b := binary.BigEndian.AppendUint64(nil, id)
	b = binary.BigEndian.AppendUint32(b, uint32(cfg.Partitions))
	b = binary.BigEndian.AppendUint16(b, uint16(cfg.Replicas))
	var flags byte
	if cfg.Compacted {
		flags |= 1
	}
	if cfg.DeleteConsumed {
		flags |= 2
	}
	return append(b, flags)
}

func decodeTopic(name string, v []byte) (*topic, error) {
	if len(v) != 15 {
		return nil, fmt.Errorf("malformed metadata of topic %s: %x", name, v)
	}
	t := &topic{
		id: binary.BigEndian.Uint64(v),
		info: log.TopicInfo{
			Name:       name,
			Partitions: int32(binary.BigEndian.Uint32(v[8:])),
			Replicas:   int16(binary.BigEndian.Uint16(v[12:])),
			Compacted:  v[14]&1 != 0,
		},
		deleteConsumed: v[14]&2 != 0,
		gone:           make(chan struct{}),
	}
	if t.info.Partitions < 1 {
		return nil, fmt.Errorf("topic %s has %d partitions", name, t.info.Partitions)
	}
	return t, nil
}

// enter admits an operation that uses the database; exit must follow.
func (l *Log) enter() error {
	l.gate.RLock()
	if l.closed || l.closing.Load() {
		l.gate.RUnlock()
		return log.ErrClosed
	}
	return nil
}

func (l *Log) exit() { l.gate.RUnlock() }

// lookup finds a topic by name.
func (l *Log) lookup(name string) (*topic, error) {
	l.mu.Lock()
	t := l.mu.topics[name]
	l.mu.Unlock()
	if t == nil {
		return nil, fmt.Errorf("topic %q: %w", name, log.ErrUnknownTopic)
	}
	return t, nil
}

// partition returns partition p of t, loading its end offset the first
// time it is used. The caller is inside enter.
//
// Two callers may load the same partition at once: both read the same end
// (no write can reach a partition before it is stored, since writes go
// through here), and LoadOrStore keeps the first, so every caller shares
// one partition and its reservations.
func (l *Log) partition(t *topic, p int32) (*partition, error) {
	if p < 0 || p >= t.info.Partitions {
		return nil, fmt.Errorf("topic %q partition %d of %d: %w", t.info.Name, p, t.info.Partitions, log.ErrUnknownPartition)
	}
	if v, ok := t.parts.Load(p); ok {
		return v.(*partition), nil
	}
	var end int64
	var floor startFloor
	if !t.fresh {
		var err error
		if t.deleteConsumed {
			if floor, err = l.loadStart(t.id, p); err != nil {
				return nil, fmt.Errorf("topic %q partition %d: load start offset: %w", t.info.Name, p, err)
			}
		}
		if end, err = l.loadEnd(t.id, p); err != nil {
			return nil, fmt.Errorf("topic %q partition %d: load end offset: %w", t.info.Name, p, err)
		}
		// A purge keeps the key holding its start, so the end is past
		// it; the floor only guards a data directory that disagrees.
		end = max(end, floor.start)
	}
	np := newPartition(end)
	np.mu.start, np.mu.purged = floor.start, floor.purged
	v, _ := t.parts.LoadOrStore(p, np)
	return v.(*partition), nil
}

// DB returns the Pebble database the log lives in, for state stores that
// share it. They must write only keys that start with StatePrefix ('S');
// every key starting with 'L' belongs to the log. They must write only
// through CommitWith and DeleteStateRange, never to the database itself,
// so that the disk guard admits every write. The database is closed by
// Close.
func (l *Log) DB() *pebble.DB { return l.db }

// CreateTopic implements log.Log.
func (l *Log) CreateTopic(ctx context.Context, name string, cfg log.TopicConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("create topic: empty name")
	}
	if cfg.Partitions < 1 {
		return fmt.Errorf("create topic %q: %d partitions, want at least 1", name, cfg.Partitions)
	}
	l.ddl.Lock()
	defer l.ddl.Unlock()
	if err := l.enter(); err != nil {
		return err
	}
	defer l.exit()

	l.mu.Lock()
	_, exists := l.mu.topics[name]
	id := l.mu.nextID
	l.mu.Unlock()
	if exists {
		return fmt.Errorf("create topic %q: %w", name, log.ErrTopicExists)
	}

	b := l.db.NewBatch()
	defer b.Close()
	meta := encodeTopic(id, cfg)
	_ = b.Set(topicKey(name), meta, nil)
	_ = b.Set(nextIDKey, binary.BigEndian.AppendUint64(nil, id+1), nil)
	if err := l.commit(b, classSystem); err != nil {
		return fmt.Errorf("create topic %q: %w", name, err)
	}
	t, err := decodeTopic(name, meta)
	if err != nil {
		return err
	}
	t.fresh = true
	l.mu.Lock()
	l.mu.topics[name] = t
	l.mu.nextID = id + 1
	l.mu.Unlock()
	return nil
}

// DeleteTopic implements log.Log. It waits for operations in flight on any
// topic, removes the topic's records and committed offsets, and wakes its
// readers with ErrUnknownTopic.
func (l *Log) DeleteTopic(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.ddl.Lock()
	defer l.ddl.Unlock()
	l.gate.Lock()
	defer l.gate.Unlock()
	if l.closed || l.closing.Load() {
		return log.ErrClosed
	}
	t, err := l.lookup(name)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}

	b := l.db.NewBatch()
	defer b.Close()
	_ = b.Delete(topicKey(name), nil)
	for _, bounds := range []func(uint64) ([]byte, []byte){topicRecordBounds, topicGroupBounds, topicEndFloorBounds, topicStartFloorBounds} {
		lo, hi := bounds(t.id)
		_ = b.DeleteRange(lo, hi, nil)
	}
	if err := l.commit(b, classSystem); err != nil {
		return fmt.Errorf("delete topic %q: %w", name, err)
	}
	l.mu.Lock()
	delete(l.mu.topics, name)
	l.mu.Unlock()
	close(t.gone)
	l.excise(ctx, name, t.id)
	return nil
}

// excise removes the records of a deleted topic from the LSM at once. The
// range deletion that DeleteTopic commits hides them, but left to
// compactions they are read back in full to be dropped, while the queries
// that go on pay for it: dropping Nexmark's 920,000-bid copy cost 120 MB of
// compaction reads during the next query. Each partition's records have
// tables of their own (lsm.go), so excising drops whole tables, a manifest
// edit, and writes nothing. (When the memtable holds some of them, Pebble
// queues the excise behind it and applies it at its flush.) It needs no lock beyond the gate DeleteTopic holds: no
// reader of the topic is left. A failure costs only the compactions, so it
// is logged, not returned; and it is skipped on a disk without room for a
// memtable's flush, which Pebble would wait for, holding up DeleteTopic
// (a system write, which must work on a full disk). The caller holds the
// gate exclusively.
func (l *Log) excise(ctx context.Context, name string, id uint64) {
	if !l.disk.roomFor(int64(l.db.Metrics().MemTable.Size)) {
		return
	}
	lo, hi := topicRecordBounds(id)
	if err := l.db.Excise(ctx, pebble.KeyRange{Start: lo, End: hi}); err != nil {
		l.opts.Logger.Warn("delete topic: its records are left to compactions", "topic", name, "error", err)
	}
}

// Topic implements log.Log.
func (l *Log) Topic(ctx context.Context, name string) (log.TopicInfo, error) {
	if err := ctx.Err(); err != nil {
		return log.TopicInfo{}, err
	}
	if err := l.enter(); err != nil {
		return log.TopicInfo{}, err
	}
	defer l.exit()
	t, err := l.lookup(name)
	if err != nil {
		return log.TopicInfo{}, err
	}
	return t.info, nil
}

// Topics implements log.Log.
func (l *Log) Topics(ctx context.Context) ([]log.TopicInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.enter(); err != nil {
		return nil, err
	}
	defer l.exit()
	l.mu.Lock()
	out := make([]log.TopicInfo, 0, len(l.mu.topics))
	for _, t := range l.mu.topics {
		out = append(out, t.info)
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Close implements log.Log. It wakes waiting readers with ErrClosed,
// refuses new operations, waits for those in flight, and closes the
// database.
//
// One operation may never finish: a write that Pebble holds until disk
// space returns (see doc.go). Then Close does not wait for it, and does not
// close the database under it; it returns an error wrapping
// log.ErrDiskFull and leaves the database to be recovered from its
// write-ahead log at the next start, as after a crash. Nothing
// acknowledged is lost.
func (l *Log) Close() error {
	if l.closing.Swap(true) {
		return nil
	}
	l.wakeOnce.Do(func() { close(l.done) })
	for !l.gate.TryLock() {
		if l.disk.stuck() {
			l.disk.close()
			return fmt.Errorf("embedded: close %s: %w: a write is waiting for free space, so the database is left open; it recovers from its write-ahead log at the next start",
				l.opts.Dir, log.ErrDiskFull)
		}
		time.Sleep(time.Millisecond)
	}
	defer l.gate.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.disk.close()
	<-l.disk.stopped
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

// commit writes b, a batch of n estimated bytes of class c, synced, once
// the disk guard admits it. The caller is inside enter.
func (l *Log) commit(b *pebble.Batch, c writeClass) error {
	n := int64(b.Len())
	if err := l.disk.admit(n, c); err != nil {
		return err
	}
	defer l.disk.done(n)
	return noSpace(b.Commit(pebble.Sync))
}

// DeleteStateRange deletes the state store keys in [lo, hi), synced: how
// state stores that share the database drop a store, so that the write
// passes the disk guard like every other (a system write: it frees
// space). Both bounds must start with StatePrefix.
func (l *Log) DeleteStateRange(ctx context.Context, lo, hi []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(lo) == 0 || lo[0] != StatePrefix || len(hi) == 0 || hi[0] != StatePrefix {
		return fmt.Errorf("embedded: delete state range [%x, %x): keys must start with %q", lo, hi, StatePrefix)
	}
	if err := l.enter(); err != nil {
		return err
	}
	defer l.exit()
	b := l.db.NewBatch()
	defer b.Close()
	_ = b.DeleteRange(lo, hi, nil)
	if err := l.commit(b, classSystem); err != nil {
		return fmt.Errorf("delete state range: %w", err)
	}
	return nil
}
