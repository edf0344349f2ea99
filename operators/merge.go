package operators

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/runnel/runnel/internal/invariants"
	"github.com/runnel/runnel/log"
)

// A task of several inputs (a join stage) merges them in event-time
// order: the next record it processes is, among the heads of its inputs,
// the one with the smallest event time; ties go to the input listed first,
// and within one input records keep their offset order. So a replay after
// a crash, which reads the same records from the same offsets, processes
// them in the same order and produces the same output. A transient join
// merges its inputs the same way.
//
// # Waiting for an idle input
//
// The merge can only compare heads it has. When one input has records
// buffered and another has none, the merge asks the log for the idle
// input's end offset (EndOffsets): if its reader has reached it, the
// input is caught up and the merge goes on with the others' records
// without waiting; if not, records the merge must see are already in the
// log, and it waits for the reader to deliver them. This is Kafka
// Streams' max.task.idle.ms = 0: never wait for records that do not exist
// yet, never skip ahead of records that do. The order is therefore
// deterministic for every record that was in the log before the merge
// reached the point where it belongs; a record appended later than that
// (a table update arriving after the stream records it should precede)
// is processed when it arrives, as in any live system. A merge never
// stalls on an idle input: an idle input is a caught-up one. (In Kafka, a
// partition whose end is held by another producer's open transaction is
// not caught up until that transaction ends.)
//
// The end offset of an idle input is asked once until any input takes a
// new batch (or the merge waits), not once per record: the answer is as
// fresh as the batches the merge works on, as Kafka Streams' lag is as
// fresh as its last fetch.
//
// An input written by the query's own earlier stage (a join's repartition
// topic, MergeInput.Upstream) is not caught up merely because its reader
// has reached the end: records of the stage's input that the stage has
// not passed on yet are records the merge must see too. When such an
// input is found idle, the merge notes the end offsets of the stage's
// input topic, and counts the input caught up only once the stage has
// committed up to them (and the reader has then reached the input's end).
// Noted when the input is found idle and kept until reached, the target
// does not move away under a steady load; records after it are newer than
// the point the merge has reached. Without this, a join of two repartitioned sides would take
// one side's records while the other's were still on their way, and
// drop them as late or pair them differently on every run.
//
// # Readers
//
// Each input's reader belongs to a fetch goroutine that the Merger starts
// and Close stops: it hands one batch at a time to the merge through a
// channel of one slot, so the merge holds at most two batches per input
// (the one it merges and the next). Everything else — buffers, positions,
// decisions — belongs to the goroutine that calls Next.

// MergeInput is one input of a Merger.
type MergeInput struct {
	TP log.TopicPartition
	// Start is the offset to read from.
	Start int64
	// End, when positive, stops the input there: it is then caught up
	// once its reader reaches End, whatever the log holds past it.
	End int64
	// Time gives a record's event time; nil reads its timestamp.
	Time func(*log.Record) int64
	// Upstream, when set, names the group and topic whose records end
	// up in this input (a repartition topic written by the same query):
	// the input is caught up only once Group has consumed Topic to the
	// end offsets it had when the input was found idle.
	Upstream *MergeUpstream
}

// MergeUpstream is the stage that writes an input of a merge: the group
// whose tasks read Topic and write the input.
type MergeUpstream struct {
	Group, Topic string
	// Via are the stages that write Topic in turn, when it is itself an
	// internal topic (the later joins of an n-way chain): each is waited
	// for first, and this stage's target is noted only once they are
	// caught up, so that it includes everything they passed on.
	Via []*MergeUpstream
}

// upstreamPoll is how often a merge waiting for an upstream stage looks
// at its progress again: the stage may catch up without writing the
// input anything (records it drops), which no batch would signal.
const upstreamPoll = 50 * time.Millisecond

// Merger reads several topic partitions and returns their records in
// event-time order. It is used by one goroutine; Close stops its readers.
type Merger struct {
	log    log.Log
	ins    []*mergeInput
	ready  chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// caught[i] records that idle input i was found at the end of its
	// partition, valid while checked[i]: until any input takes a batch
	// or the merge waits, whichever comes first, when the log may have
	// moved on.
	caught  []bool
	checked []bool
}

// mergeInput is the merge's view of one input.
type mergeInput struct {
	MergeInput
	ch chan fetched
	// buf holds the records of the last batch not returned yet, and times
	// their event times.
	buf   []log.Record
	times []int64
	// pos is where the reader stood after the batch buf came from; done
	// is the offset after the last record returned — pos once buf is
	// empty: where a consumer of the merge has got to in this input.
	pos, done int64
	// prev is the reader's position before the last batch (invariants).
	prev int64
	// upTarget is, while the input is idle and its Upstream behind, the
	// end offsets of each upstream stage's topic (Upstream and its Via)
	// when it was found so; empty otherwise.
	upTarget map[*MergeUpstream]map[int32]int64
}

// fetched is one batch a fetch goroutine read.
type fetched struct {
	recs []log.Record
	// pos is the reader's position after the batch.
	pos int64
	err error
}

// StartMerge opens a reader per input and starts their fetch goroutines,
// which run until Close (or ctx's end). On an error nothing is left open.
func StartMerge(ctx context.Context, l log.Log, inputs []MergeInput) (*Merger, error) {
	fctx, cancel := context.WithCancel(ctx)
	m := &Merger{log: l, ready: make(chan struct{}, 1), cancel: cancel, caught: make([]bool, len(inputs)), checked: make([]bool, len(inputs))}
	for _, in := range inputs {
		mi := &mergeInput{MergeInput: in, ch: make(chan fetched, 1), pos: in.Start, done: in.Start, prev: in.Start}
		m.ins = append(m.ins, mi)
		if in.End > 0 && in.Start >= in.End {
			continue // nothing to read: the input is at its end already
		}
		r, err := l.NewReader(ctx, in.TP, in.Start)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("open reader of %s/%d: %w", in.TP.Topic, in.TP.Partition, err)
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer r.Close()
			fetch(fctx, r, mi.ch, m.ready)
		}()
	}
	return m, nil
}

// Close stops the fetch goroutines and closes their readers.
func (m *Merger) Close() {
	m.cancel()
	m.wg.Wait()
}

// Position is the offset after the last record Next returned from input
// i (or past the transaction markers that followed it): where a consumer
// that has processed every returned record commits input i.
func (m *Merger) Position(i int) int64 { return m.ins[i].done }

// fetch reads r until ctx ends, handing each batch to ch and then
// signalling ready (without waiting: one pending signal is enough). A
// read error is handed over too, and ends the fetch.
func fetch(ctx context.Context, r log.Reader, ch chan<- fetched, ready chan<- struct{}) {
	for {
		recs, err := r.Next(ctx)
		f := fetched{recs: recs, pos: r.Position(), err: err}
		select {
		case ch <- f:
		case <-ctx.Done():
			return
		}
		select {
		case ready <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// take moves a fetched batch into the buffer of input mi, cutting it at
// the input's End.
func (mi *mergeInput) take(f fetched) error {
	if f.err != nil {
		return fmt.Errorf("read %s/%d: %w", mi.TP.Topic, mi.TP.Partition, f.err)
	}
	if invariants.Enabled {
		checkBatch(mi.TP, f.recs, mi.prev, f.pos)
	}
	mi.prev = f.pos
	recs := f.recs
	if mi.End > 0 {
		for i := range recs {
			if recs[i].Offset >= mi.End {
				recs = recs[:i]
				break
			}
		}
		f.pos = min(f.pos, mi.End)
	}
	mi.buf = recs
	if len(recs) > 0 {
		clear(mi.upTarget)
	}
	mi.times = mi.times[:0]
	for i := range recs {
		ts := recs[i].Timestamp
		if mi.Time != nil {
			ts = mi.Time(&recs[i])
		}
		mi.times = append(mi.times, ts)
	}
	mi.pos = f.pos
	if len(mi.buf) == 0 {
		mi.done = f.pos
	}
	return nil
}

// pop removes and returns the head record.
func (mi *mergeInput) pop() log.Record {
	rec := mi.buf[0]
	mi.done = rec.Offset + 1
	mi.buf, mi.times = mi.buf[1:], mi.times[1:]
	if len(mi.buf) == 0 {
		mi.done = mi.pos
	}
	return rec
}

// ended reports whether an input bounded by End has been read to it.
func (mi *mergeInput) ended() bool { return mi.End > 0 && mi.pos >= mi.End && len(mi.buf) == 0 }

// Next returns the next record in merge order and the index of its input.
// When the next record cannot be decided without waiting for a reader,
// Next waits if wait is set; otherwise, or when only positions moved while
// it waited (a batch of transaction markers), it returns ok == false.
// With every input bounded (End) and read to its end, it returns ok ==
// false at once: Done then reports true.
func (m *Merger) Next(ctx context.Context, wait bool) (input int, rec log.Record, ok bool, err error) {
	start := make([]int64, 0, 4)
	for _, mi := range m.ins {
		start = append(start, mi.done)
	}
	moved := func() bool {
		for i, mi := range m.ins {
			if mi.done != start[i] {
				return true
			}
		}
		return false
	}
	for {
		// Take what the fetchers have ready, without waiting.
		for _, mi := range m.ins {
			if len(mi.buf) > 0 || mi.ended() {
				continue
			}
			select {
			case f := <-mi.ch:
				if err := mi.take(f); err != nil {
					return 0, rec, false, err
				}
				m.forget()
			default:
			}
		}
		next, idle := -1, false
		for i, mi := range m.ins {
			if len(mi.buf) == 0 {
				if !mi.ended() {
					idle = true
				}
				continue
			}
			if next < 0 || mi.times[0] < m.ins[next].times[0] {
				next = i
			}
		}
		if next >= 0 && idle {
			// Some inputs have nothing buffered: go on only if each of
			// them is at the end of its partition.
			if err := m.checkCaughtUp(ctx); err != nil {
				return 0, rec, false, err
			}
			for i, mi := range m.ins {
				if len(mi.buf) == 0 && !mi.ended() && !m.caught[i] {
					next = -1
				}
			}
		}
		if next >= 0 {
			return next, m.ins[next].pop(), true, nil
		}
		if !wait || moved() || m.Done() {
			return 0, rec, false, nil
		}
		// Wait for a batch from an input the merge needs: any input when
		// all are empty, else the idle ones that are behind.
		if err := m.wait(ctx); err != nil {
			return 0, rec, false, err
		}
		m.forget()
	}
}

// forget drops what the merge knew of which inputs are caught up.
func (m *Merger) forget() { clear(m.checked) }

// Done reports whether every input is bounded and read to its end.
func (m *Merger) Done() bool {
	for _, mi := range m.ins {
		if !mi.ended() {
			return false
		}
	}
	return true
}

// checkCaughtUp finds out, for each input with nothing buffered that it
// does not know about, whether its reader has reached the end of its
// partition: caught[i].
func (m *Merger) checkCaughtUp(ctx context.Context) error {
	var ends map[string][]int64
	for i, mi := range m.ins {
		if len(mi.buf) > 0 || mi.ended() || m.checked[i] {
			continue
		}
		if mi.Upstream != nil {
			// Before the input's own end: what the stage commits after
			// this look is then in the topic when its end is read.
			ok, err := m.upstreamCaughtUp(ctx, mi)
			if err != nil {
				return err
			}
			if !ok {
				m.caught[i], m.checked[i] = false, true
				continue
			}
		}
		if ends == nil {
			ends = map[string][]int64{}
		}
		e, ok := ends[mi.TP.Topic]
		if !ok {
			var err error
			if e, err = m.log.EndOffsets(ctx, mi.TP.Topic); err != nil {
				return fmt.Errorf("end offsets of %s: %w", mi.TP.Topic, err)
			}
			ends[mi.TP.Topic] = e
		}
		m.caught[i] = int(mi.TP.Partition) < len(e) && mi.pos >= e[mi.TP.Partition]
		m.checked[i] = true
	}
	return nil
}

// upstreamCaughtUp reports whether the stage writing mi (and every stage
// it waits for, Via) has consumed its topic to the target noted when mi
// was found idle.
func (m *Merger) upstreamCaughtUp(ctx context.Context, mi *mergeInput) (bool, error) {
	if mi.upTarget == nil {
		mi.upTarget = map[*MergeUpstream]map[int32]int64{}
	}
	ok, err := m.caughtUpTo(ctx, mi, mi.Upstream)
	if ok {
		// Reached: the next look, after the merge has moved on, notes
		// new targets, so that a long idle spell still waits for what
		// the stages receive meanwhile.
		clear(mi.upTarget)
	}
	return ok, err
}

// caughtUpTo reports whether up's stages before it (Via), then up, have
// consumed their topics to their targets; a stage's target is noted once
// the stages before it have reached theirs.
func (m *Merger) caughtUpTo(ctx context.Context, mi *mergeInput, up *MergeUpstream) (bool, error) {
	for _, v := range up.Via {
		if ok, err := m.caughtUpTo(ctx, mi, v); err != nil || !ok {
			return false, err
		}
	}
	target := mi.upTarget[up]
	if target == nil {
		ends, err := m.log.EndOffsets(ctx, up.Topic)
		if err != nil {
			return false, fmt.Errorf("end offsets of %s: %w", up.Topic, err)
		}
		target = make(map[int32]int64, len(ends))
		for p, e := range ends {
			target[int32(p)] = e
		}
		mi.upTarget[up] = target
	}
	committed, err := m.log.CommittedOffsets(ctx, up.Group, up.Topic)
	if err != nil {
		return false, fmt.Errorf("committed offsets of %s on %s: %w", up.Group, up.Topic, err)
	}
	for p, e := range target {
		if committed[p] < e {
			return false, nil
		}
	}
	return true, nil
}

// wait blocks until a batch arrives from an input with nothing buffered
// that is not known to be caught up (or, when every input is empty, from
// any input), and takes it. The fetchers signal ready after each batch
// they hand over, so the wait needs no select over a varying set of
// channels.
func (m *Merger) wait(ctx context.Context) error {
	allEmpty := true
	for _, mi := range m.ins {
		if len(mi.buf) > 0 {
			allEmpty = false
		}
	}
	var poll <-chan time.Time
	for {
		for i, mi := range m.ins {
			if len(mi.buf) > 0 || mi.ended() || !(allEmpty || !m.checked[i] || !m.caught[i]) {
				continue
			}
			select {
			case f := <-mi.ch:
				return mi.take(f)
			default:
			}
			if mi.Upstream != nil && poll == nil {
				t := time.NewTimer(upstreamPoll)
				defer t.Stop()
				poll = t.C
			}
		}
		select {
		case <-m.ready:
		case <-poll:
			// Back to the caller, which looks at the stage again.
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// mergeBatch and mergeBatchBytes bound the input records, and their key
// and value bytes, of one commit of a merging task, so that a long
// backlog is committed as it is worked through. Within them a commit
// holds what the merge has without waiting: at the tail of a live
// stream, where the inputs run dry, the task commits what it has at once
// (runMerged waits only while its batch is empty), so the bounds add no
// latency there.
//
// The bound was 1,000 records. Nearly every commit of Nexmark's joins
// was then a full one (q7's foreign-key join: 921 commits for 920,000
// records; q4's stream-stream join, 982), each a synced Pebble batch of
// the join's state writes, sorted, and its offsets. With 8,192, q7's
// join spent 2.1 s committing where it spent 2.6 (in one profile each,
// on a shared machine): Pebble's memtable inserts 0.66 s where they
// were 1.38 (a larger batch's sorted keys land near the last one's in
// the skiplist), while the sort of its pending writes took 0.68 s, not
// 0.50; and the process's WAL syncs 0.19 s where they were 0.37. Page
// faults did not rise (450,154 and 469,344 in two runs of q4 and q7,
// 454,962 and 467,042 with 1,000). A read batch of a single-input task
// is larger still (Options.ReadBatch, 32,768 records); 32,768 did no
// better here than 8,192, which keeps a commit's pending state and
// output smaller (BENCHMARKS.md).
const (
	mergeBatch      = 8192
	mergeBatchBytes = 4 << 20
)

// mergeBounds bound one commit of a merging task; the zero value is
// mergeBatch and mergeBatchBytes. Tests set their own.
type mergeBounds struct {
	records, bytes int
}

func (m mergeBounds) orDefaults() mergeBounds {
	if m.records <= 0 {
		m.records = mergeBatch
	}
	if m.bytes <= 0 {
		m.bytes = mergeBatchBytes
	}
	return m
}

// runMerged is one attempt of a task of several inputs: from the
// committed offsets until ctx ends (nil) or the log fails (the error).
// Each commit holds every input's position.
func (t *Task) runMerged(ctx context.Context) error {
	inputs := make([]MergeInput, len(t.Inputs))
	for i, tp := range t.Inputs {
		committed, err := t.Log.CommittedOffsets(ctx, t.Group, tp.Topic)
		if err != nil {
			return fmt.Errorf("task %s %s: committed offsets of %s: %w", t.Group, t, tp.Topic, err)
		}
		inputs[i] = MergeInput{TP: tp, Start: committed[tp.Partition]}
		if i < len(t.Time) {
			inputs[i].Time = t.Time[i]
		}
		if i < len(t.Upstream) {
			inputs[i].Upstream = t.Upstream[i]
		}
	}
	m, err := StartMerge(ctx, t.Log, inputs)
	if err != nil {
		return fmt.Errorf("task %s %s: %w", t.Group, t, err)
	}
	defer m.Close()
	last := make([]int64, len(inputs))
	for i, in := range inputs {
		last[i] = in.Start
		t.committed[i].Store(in.Start)
	}
	t.started.Store(true)
	// One Txn for every commit of the attempt, as Task.run's out: no log
	// keeps a Txn's Records or Offsets once Commit (or CommitOffsets)
	// returns (the embedded log encodes both into its batch, Kafka's
	// sends them), and the commit is waited for. Every input's offset is
	// set at each commit, so the map never holds a stale one. Records
	// is cleared after each commit, so that it holds no record's bytes.
	txn := log.Txn{Group: t.Group, Offsets: make(map[log.TopicPartition]int64, len(inputs))}
	// rec is the merge's record at hand, one variable for the attempt:
	// its address goes to the processor (InputProcessor), which made a
	// variable of the loop's a heap allocation per record (96 bytes;
	// 920,000 of them in Nexmark q7). No processor keeps the pointer
	// past ProcessInput.
	var rec log.Record
	bounds := t.mergeFor.orDefaults()
	for {
		txn.Records = txn.Records[:0]
		b := t.newBatch(&txn)
		size := 0
		for b.consumed < bounds.records && size < bounds.bytes {
			// Wait only while nothing is done: a batch that has work
			// commits it rather than wait with it.
			var (
				i  int
				ok bool
			)
			i, rec, ok, err = m.Next(ctx, b.consumed == 0 && samePositions(m, last))
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("task %s %s: %w", t.Group, t, err)
			}
			if !ok {
				break
			}
			size += len(rec.Key) + len(rec.Value)
			b.process(i, &rec)
		}
		rec = log.Record{}
		if samePositions(m, last) {
			continue
		}
		for i, tp := range t.Inputs {
			txn.Offsets[tp] = m.Position(i)
		}
		if b.consumed == 0 {
			// Only positions moved (past transaction markers): commit
			// just them, so a pull query sees the task reach the end.
			if err := t.Log.CommitOffsets(ctx, t.Group, txn.Offsets); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("task %s %s: commit offsets: %w", t.Group, t, err)
			}
			for i := range inputs {
				t.committed[i].Store(m.Position(i))
			}
			t.resumed()
		} else {
			err := t.commit(ctx, b)
			clear(txn.Records)
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
		}
		for i := range inputs {
			last[i] = m.Position(i)
		}
	}
}

// samePositions reports whether the merge stands where last says.
func samePositions(m *Merger, last []int64) bool {
	for i := range last {
		if m.Position(i) != last[i] {
			return false
		}
	}
	return true
}
