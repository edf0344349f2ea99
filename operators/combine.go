package operators

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// Combining a batch's rows before the repartition (Flink's local-global
// aggregation): a stream aggregation whose functions all combine
// (agg.Combines) needs no record per row in its repartition topic. Its
// first stage (Repartition with Combine set) folds the rows of each
// group that a batch holds into one set of partial accumulators, and at
// the batch's Flush, before the commit that moves the input's offsets
// past those rows, writes one record per group that carries them (the
// 0x03 layout, see GroupCodec). The second stage merges a record's
// partials into the group's state (Aggregator.mergePartials): the state
// is what folding the rows one by one would have made, and the group's
// changelog shows one change per record where it showed one per row, as
// ksqlDB's record cache merges a group's changes within a commit.
//
// Time windows (TUMBLING, HOPPING) combine too, per group and window;
// sessions, which merge, do not. A windowed second stage judges each row
// against its stream time, the latest time of the rows it has read: it
// drops the row from each of its windows that the stream time has
// closed (and counts it late when that is all of them); EMIT FINAL
// emits a window, and retention drops it, at the second stage's Flush
// once its stream time has passed the window's close (expiry) time. A
// partial has one time, the latest of its rows', so the combining stage
// makes sure that the one verdict the second stage gives a partial is
// the one it would have given each of its rows, and that no Flush of
// the second stage closes a window before the partials of its rows are
// merged. With one input partition (whose order is deterministic; with
// more, the second stage's order is the topic's interleaving anyway) the
// results are the same rows, and EMIT FINAL's records the same records,
// as a stage that writes a record per row:
//
//  1. The first stage keeps its own stream time S, the latest time of
//     the rows it has grouped since it started (or recovered). A row r
//     is folded into the partials of its windows only when S (r's time
//     included) has closed none of them; a row that S judges late for
//     any window (and a row of no window: a negative time) is written
//     as a row, as before, after every partial the stage holds, so that
//     the second stage reads it after every row that came before it and
//     judges it with the stream time it would have had.
//  2. A partial (the 0x04 layout) carries its window's start, its rows'
//     latest time, and how many of its rows have it for their last
//     window (for the late count). Its time is before its window's close
//     time, as every one of its rows' S was.
//  3. The partials are written in the order of their times (first come
//     first, on a tie). So the second stage's stream time when it meets a
//     partial P of window w is the latest of: T, its stream time when the
//     stage last started (the records written before then, which it
//     reads first); the rows written since, before P's rows, whose times
//     were at most the S of P's rows, before w's close; and the partials
//     written before P in its write, whose times are at most P's. So w is
//     closed then exactly when T had closed it, which is also what
//     decided each of P's rows when written one by one: each saw T and
//     rows before w's close. The second stage merges P into w when w is
//     still open, and drops all of it (counting its last-window rows as
//     late) when not. Its stream time only moves to P's time and, until
//     P is merged, stays before w's close: no Flush closes w (EMIT FINAL)
//     or drops it (retention comes no earlier than the close) early.
//
// S may be behind T (it starts empty after a restart or a recovery) or
// ahead of the second stage's (a partition of the topic has only some of
// the groups): neither changes a result. Behind, the argument above
// holds as written; ahead, S judges more rows late, which are written as
// rows. Within a batch S only grows, and with Kafka Streams' default
// grace (24 hours less the size), as Nexmark's q5 uses, no row is late.
//
// What changes is what EMIT CHANGES shows between two results: a
// window's changelog shows one change per partial where it showed one
// per row, as for an unwindowed aggregation (and as ksqlDB's record
// cache merges them within a commit), and the changes of a batch come
// in the order of the partials' times.

// DefaultCombineBytes bounds what a first stage's partials hold between
// two flushes (Repartition.CombineBytes): when a batch's groups outgrow
// it, their partials are written out mid-batch and the map starts over.
const DefaultCombineBytes = 4 << 20

// groupValuePartial is the first byte of a repartition value that carries
// partial accumulators (see GroupCodec); groupValueWindowPartial of one
// that carries those of a group in one time window: the window's start
// (a varint) and how many of its rows have it for their last window (a
// uvarint) come before the accumulators.
const (
	groupValuePartial       = 0x03
	groupValueWindowPartial = 0x04
)

// partialGroup is one group's partials of the rows seen since the last
// flush: the hidden COUNT(*), then each call's accumulator, and the
// latest of the rows' times. A windowed combiner's is a group's in one
// window, which starts at start; lastRows of its rows have it for their
// last window.
//
// next links a windowed combiner's partials of one key, newest first: the
// index in combiner.groups of the key's partial made before this one, -1
// for none.
type partialGroup struct {
	key         []byte
	accs        []agg.Accumulator
	time        int64
	start, last int64
	next        int
}

// combKey is a windowed combiner's group key: the partials of its
// windows are a list from head (an index in combiner.groups, -1 for
// none) through partialGroup.next.
type combKey struct {
	key  []byte
	head int
}

// timedIndex is a partial's time and its index in combiner.groups.
type timedIndex struct {
	time int64
	i    int
}

// combiner is one first-stage task's partials, in the order their groups
// first came, so that the records they make come out in a fixed order.
type combiner struct {
	// funcs are the hidden COUNT(*), then the aggregate's functions.
	funcs []agg.Func
	// text marks the functions whose result is a STRING or BYTES.
	text   []bool
	index  map[string]int
	groups []partialGroup
	// windowed is set for a time-windowed aggregation's: a partial is a
	// group's in one window, and flush writes the partials in the order
	// of their times. Its partials are found by their group's key in
	// keyIndex (an index in keys), then by their window's start in the
	// key's list: a hopping row's windows (five in Nexmark's q5) share
	// one map lookup, where a map keyed by group and window took one per
	// window (0.33 of q5's 11.4 CPU seconds in map lookups, and a string
	// made of each new partial's key). lastKey is one more than the
	// index in keys of the last row's key (0: none).
	windowed bool
	keyIndex map[string]int
	keys     []combKey
	lastKey  int
	// order is flush's, reused: the partials by time.
	order []timedIndex
	// last is one more than the index of the group the last row joined
	// (0: none). A join's pairs come a group after another (a late
	// auction of Nexmark's q4 meeting its bids, a hot auction's bids one
	// after another), and each looked its group up in index.
	last int
	// bytes estimates what groups hold; limit bounds it.
	bytes, limit int
}

func newCombiner(funcs []agg.Func, limit int) (*combiner, error) {
	count, err := agg.Resolve("COUNT", nil, nil, false)
	if err != nil {
		return nil, err
	}
	for _, f := range funcs {
		if !agg.Combines(f) {
			return nil, fmt.Errorf("operators: %s cannot be combined before the repartition", f.Name())
		}
	}
	if limit <= 0 {
		limit = DefaultCombineBytes
	}
	c := &combiner{funcs: append([]agg.Func{count}, funcs...), index: map[string]int{}, keyIndex: map[string]int{}, limit: limit}
	for _, f := range c.funcs {
		k := f.ResultType().Kind
		c.text = append(c.text, k == types.KindString || k == types.KindBytes)
	}
	return c, nil
}

// partialGroupBytes is what a group costs beside its key: its entry, its
// map slot, and an accumulator each.
func partialGroupBytes(key, accs int) int { return 2*key + 96 + 48*accs }

// add folds one row into its group's partials. A row is never rejected
// once grouped: combining accumulators fail on no well-formed row
// (agg.Combines).
func (c *combiner) add(in *GroupInput, emit func(*partialGroup)) error {
	if c.full() {
		if _, ok := c.index[string(in.KeyBytes)]; !ok {
			c.flush(emit)
		}
	}
	return c.fold(in)
}

// full reports whether the partials have reached their bound: the next
// new group is to find them written out.
func (c *combiner) full() bool { return c.bytes >= c.limit }

// partials is how many partials the combiner holds, the records its
// flush writes; none for a nil combiner (a stage that does not combine).
func (c *combiner) partials() int {
	if c == nil {
		return 0
	}
	return len(c.groups)
}

// fold is add without the bound: a caller that must not write partials
// where it stands checks full before.
func (c *combiner) fold(in *GroupInput) error {
	i := c.last - 1
	ok := c.last > 0 && string(c.groups[i].key) == string(in.KeyBytes)
	if !ok {
		i, ok = c.index[string(in.KeyBytes)]
	}
	if !ok {
		// KeyBytes are the grouping's reused buffer (groupScratch.key):
		// the group keeps a copy.
		key := append([]byte(nil), in.KeyBytes...)
		i = c.newGroup(key, in.Time, 0)
		c.index[string(key)] = i
		c.bytes += partialGroupBytes(len(key), len(c.funcs))
	}
	c.last = i + 1
	return c.addTo(&c.groups[i], in, false)
}

// foldWindows folds one row into its group's partials in each of wins, a
// windowed combiner's (in ascending order of start, as window.Assign
// lists them, so the row's last window is the last of them).
func (c *combiner) foldWindows(in *GroupInput, wins []window.Window) error {
	k := c.lastKey - 1
	if k < 0 || string(c.keys[k].key) != string(in.KeyBytes) {
		var ok bool
		if k, ok = c.keyIndex[string(in.KeyBytes)]; !ok {
			// KeyBytes are the grouping's reused buffer: the key's
			// partials share one copy.
			key := append([]byte(nil), in.KeyBytes...)
			c.keys = append(c.keys, combKey{key: key, head: -1})
			k = len(c.keys) - 1
			c.keyIndex[string(key)] = k
		}
		c.lastKey = k + 1
	}
	ck := &c.keys[k]
	for n, w := range wins {
		// The key's newest partials come first, and a row's windows
		// are most often among them: the rows come nearly in time
		// order.
		i := ck.head
		for i >= 0 && c.groups[i].start != w.Start {
			i = c.groups[i].next
		}
		if i < 0 {
			i = c.newGroup(ck.key, in.Time, w.Start)
			c.groups[i].next, ck.head = ck.head, i
			// What a partial keyed by its group and window cost (the
			// window's start was 8 bytes of its key): the bound
			// writes partials out at the cadence it did.
			c.bytes += partialGroupBytes(len(ck.key)+8, len(c.funcs))
		}
		if err := c.addTo(&c.groups[i], in, n == len(wins)-1); err != nil {
			return err
		}
	}
	return nil
}

// newGroup appends a partial of key in the window that starts at start
// (0 for an unwindowed combiner's), with fresh accumulators, and returns
// its index. A flush keeps the accumulators of the partials it wrote,
// which the next ones reuse: making them anew after every flush was 0.14
// of q5's 11.4 CPU seconds (agg.New) and 31 MB of its allocations.
func (c *combiner) newGroup(key []byte, t, start int64) int {
	n := len(c.groups)
	if n == cap(c.groups) {
		c.groups = append(c.groups, partialGroup{})
	}
	c.groups = c.groups[:n+1]
	g := &c.groups[n]
	if len(g.accs) == len(c.funcs) {
		for j, f := range c.funcs {
			g.accs[j] = agg.Reuse(f, g.accs[j])
		}
	} else {
		g.accs = make([]agg.Accumulator, len(c.funcs))
		for j, f := range c.funcs {
			g.accs[j] = f.New()
		}
	}
	g.key, g.time, g.start, g.last, g.next = key, t, start, 0, -1
	return n
}

// addTo folds one row into the partials g, whose window is the row's
// last when last is set.
func (c *combiner) addTo(g *partialGroup, in *GroupInput, last bool) error {
	g.time = max(g.time, in.Time)
	if last {
		g.last++
	}
	if err := g.accs[0].Add(nil); err != nil {
		return err
	}
	for j, args := range in.Args {
		acc := g.accs[j+1]
		if !c.text[j+1] {
			if err := acc.Add(args); err != nil {
				return fmt.Errorf("combine %s: %w", c.funcs[j+1].Name(), err)
			}
			continue
		}
		// A MIN or MAX that takes a string keeps a view of the record
		// (Decoder.decodeReuse), which the partial may outlive: it
		// keeps a copy of each value it takes instead.
		before := acc.Result()
		if err := acc.Add(args); err != nil {
			return fmt.Errorf("combine %s: %w", c.funcs[j+1].Name(), err)
		}
		if after := acc.Result(); !after.IsNull() && (before.IsNull() || after.Str() != before.Str()) {
			c.bytes += len(after.Str())
			if err := c.own(g, j+1, after); err != nil {
				return err
			}
		}
	}
	return nil
}

// own replaces accumulator j of g, whose result is v, by one that holds
// a copy of v: a fresh accumulator with v's copy folded in, which for a
// MIN or MAX (the only combining functions that keep a string) is the
// same state.
func (c *combiner) own(g *partialGroup, j int, v types.Value) error {
	copied := types.NewString(strings.Clone(v.Str()))
	if v.Kind() == types.KindBytes {
		copied = types.NewBytesString(strings.Clone(v.Str()))
	}
	acc := c.funcs[j].New()
	if err := acc.Add([]types.Value{copied}); err != nil {
		return err
	}
	g.accs[j] = acc
	return nil
}

// flush hands every group's partials to emit and starts over: in the
// order their groups first came, or a windowed combiner's in the order
// of their times (see the top of this file).
func (c *combiner) flush(emit func(*partialGroup)) {
	if c.windowed {
		// The order of (time, index) is the stable order of the times:
		// sorting these 16-byte pairs instead of the partials (64 bytes
		// each) with a stable sort took q5's sort from 0.12-0.19 CPU
		// seconds to 0.07 or less.
		c.order = c.order[:0]
		for i := range c.groups {
			c.order = append(c.order, timedIndex{c.groups[i].time, i})
		}
		slices.SortFunc(c.order, func(a, b timedIndex) int {
			return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.i, b.i))
		})
		for _, o := range c.order {
			emit(&c.groups[o.i])
		}
	} else {
		for i := range c.groups {
			emit(&c.groups[i])
		}
	}
	for i := range c.groups {
		// The records have their own encoding of the accumulators,
		// which newGroup reuses; the key is theirs.
		c.groups[i].key = nil
	}
	clear(c.index)
	clear(c.keyIndex)
	clear(c.keys)
	c.groups, c.keys, c.bytes, c.last, c.lastKey = c.groups[:0], c.keys[:0], 0, 0, 0
}

// forget drops the partials: the batch that made them is replayed.
func (c *combiner) forget() { c.flush(func(*partialGroup) {}) }

// appendAccs appends each accumulator, length-prefixed: a group's state
// after its header (encodeStateTo), a partial record's after its layout
// byte.
func appendAccs(b []byte, accs []agg.Accumulator) []byte {
	var prefix [binary.MaxVarintLen64]byte
	for _, acc := range accs {
		// Each accumulator is encoded in place, then moved up past its
		// length prefix: no scratch buffer once b has grown.
		start := len(b)
		b = acc.AppendEncode(b)
		n := len(b) - start
		w := binary.PutUvarint(prefix[:], uint64(n))
		b = append(b, prefix[:w]...)
		copy(b[start+w:], b[start:start+n])
		copy(b[start:], prefix[:w])
	}
	return b
}

// partialRecord is the repartition record of a group's partials.
func partialRecord(g *partialGroup) log.Record {
	v := appendAccs(append(make([]byte, 0, 1+12*len(g.accs)), groupValuePartial), g.accs)
	return log.Record{Key: g.key, Value: v, Timestamp: g.time, Partition: -1}
}

// windowPartialRecord is the repartition record of a group's partials in
// one window (groupValueWindowPartial). Its key is the group's alone, so
// that a group's windows go to one partition, as its rows do.
func windowPartialRecord(g *partialGroup) log.Record {
	v := append(make([]byte, 0, 1+2*binary.MaxVarintLen64+12*len(g.accs)), groupValueWindowPartial)
	v = binary.AppendVarint(v, g.start)
	v = binary.AppendUvarint(v, uint64(g.last))
	v = appendAccs(v, g.accs)
	return log.Record{Key: g.key, Value: v, Timestamp: g.time, Partition: -1}
}

// parseWindowPartial splits a 0x04 value (after its layout byte) into the
// window's start, its last-window rows and the accumulators.
func parseWindowPartial(b []byte) (start, last int64, accs []byte, err error) {
	start, n := binary.Varint(b)
	if n <= 0 {
		return 0, 0, nil, errors.New("operators: corrupt window partial record: its window's start")
	}
	l, m := binary.Uvarint(b[n:])
	if m <= 0 || l > math.MaxInt64 {
		return 0, 0, nil, errors.New("operators: corrupt window partial record: its late count")
	}
	return start, int64(l), b[n+m:], nil
}

// combine is Process for a first stage that combines: the row joins its
// group's partials, which are written out at Flush (or before, when the
// partials outgrow their bound).
func (r *Repartition) combine(rec *log.Record, emit Emit) error {
	if r.comb == nil {
		var err error
		if r.comb, err = newCombiner(r.Combine, r.CombineBytes); err != nil {
			return err
		}
		if w := r.Window; w != nil {
			if w.Kind == window.Session {
				return errors.New("operators: a session window's rows cannot be combined before the repartition")
			}
			r.comb.windowed = true
		}
		// The combiner copies a new group's key and keeps no other, so
		// the grouping writes every row's key into one buffer.
		r.scratch.reuseKey = true
	}
	in, ok, err := r.group(rec)
	if err != nil || !ok {
		return err
	}
	if r.Window != nil {
		return r.combineWindowed(&in, emit)
	}
	return r.comb.add(&in, r.emitPartial(emit))
}

// combineWindowed folds a grouped row into its group's partials in each
// of its windows, or writes it as a row after every partial when the
// stage's stream time has closed one of them (see the top of this file).
func (r *Repartition) combineWindowed(in *GroupInput, emit Emit) error {
	spec := r.Window
	now := r.st.Observe(in.Time)
	r.wins = spec.Assign(in.Time, r.wins[:0])
	// Assign lists the windows by start: the first closes first.
	if len(r.wins) == 0 || spec.Closed(r.wins[0], now) {
		r.comb.flush(r.emitPartial(emit))
		out, err := r.Grouper.Codec.Encode(in)
		if err != nil {
			return err
		}
		// Its key is the grouping's reused buffer (reuseKey), which the
		// next row overwrites: the record keeps a copy.
		out.Key = bytes.Clone(out.Key)
		emit(log.ProduceRecord{Topic: r.Topic, Record: out})
		return nil
	}
	if r.comb.full() {
		r.comb.flush(r.emitPartial(emit))
	}
	return r.comb.foldWindows(in, r.wins)
}

// emitPartial returns the writer of a group's partials to the topic.
func (r *Repartition) emitPartial(emit Emit) func(*partialGroup) {
	record := partialRecord
	if r.Window != nil {
		record = windowPartialRecord
	}
	return func(g *partialGroup) {
		emit(log.ProduceRecord{Topic: r.Topic, Record: record(g)})
	}
}

var _ flushSizer = (*Repartition)(nil)

// flushOutput implements flushSizer: Flush writes a record per partial.
func (r *Repartition) flushOutput() int { return r.comb.partials() }

// Recover implements Recoverable: the partials of a batch that failed go
// with it; its replay makes them again. The stream time starts over too:
// one behind the second stage's changes no result (see the top of this
// file), and the replay moves it again.
func (r *Repartition) Recover() {
	if r.comb != nil {
		r.comb.forget()
	}
	r.st = window.StreamTime{}
}

var _ Recoverable = (*Repartition)(nil)

// errPartialWindowed is a partial record whose windowing is not its
// aggregation's: an unwindowed group's partials reached a windowed (or a
// session) aggregation, or a window's partials an unwindowed one (a
// planner bug or a topic written by another query).
var errPartialWindowed = errors.New("operators: partial aggregates of another windowing reached an aggregation")

// mergePartials merges a partial record's accumulators (GroupInput's
// Partials) into g's. They are all decoded first: a record that does not
// decode changes nothing. ok is false when a merge failed half-way,
// which combining functions never do on accumulators of their own kind.
func (a *Aggregator) mergePartials(g *cachedGroup, b []byte) (ok bool, err error) {
	if len(a.partials) != len(g.accs) {
		a.partials = a.fresh()
	}
	parts := a.partials
	for i := range parts {
		n, w := binary.Uvarint(b)
		if w <= 0 || w+int(n) > len(b) {
			return true, errors.New("operators: corrupt partial aggregate record")
		}
		acc, err := agg.DecodeInto(a.funcOf(i), parts[i], b[w:w+int(n)])
		if err != nil {
			// The scratch accumulator is not to be read again.
			parts[i] = a.funcOf(i).New()
			return true, fmt.Errorf("decode partial %d: %w", i, err)
		}
		parts[i] = acc
		b = b[w+int(n):]
	}
	if len(b) != 0 {
		return true, fmt.Errorf("operators: %d bytes after a record's partial aggregates", len(b))
	}
	for i, p := range parts {
		if err := g.accs[i].Merge(p); err != nil {
			return false, err
		}
	}
	return true, nil
}

// JoinCombine is the processor of a join whose rows feed an aggregation
// that combines: where the join's rows would each be a record of the
// aggregation's repartition topic (one per pair, and consecutive bids of
// one auction make pairs of one group), its Output folds them into
// partials per group, which its Flush writes after the join's own, before
// the task commits the batch. The partials, the join's state changes and
// the inputs' offsets are then in one transaction: a crash loses or
// doubles none of them, and Recover forgets the partials of a batch that
// is to be replayed, as it does the join's memory. The second stage
// merges them as it merges a stream aggregation's (the 0x03 layout).
//
// Partials that outgrow their bound are written out before the next
// input record, never while one is joined: a record that panics has its
// output dropped from the batch (Task's process), which must not take
// earlier records' partials with it. The partials outgrow the bound by
// at most one record's rows, as the batch's records would hold them
// uncombined.
type JoinCombine struct {
	// Join makes the rows; its Output must be the JoinCombine's Output.
	Join InputProcessor
	// Grouper groups a joined row (its Filter the WHERE over the join).
	Grouper *Grouper
	Topic   string
	// Funcs are the aggregation's functions, which all combine;
	// CombineBytes bounds the partials (default DefaultCombineBytes).
	Funcs        []agg.Func
	CombineBytes int

	comb    *combiner
	scratch groupScratch
	// emit is the batch's while the partials are written; write is the
	// method value of writePartial, made once rather than per write.
	emit  Emit
	write func(*partialGroup)
}

var (
	_ InputProcessor = (*JoinCombine)(nil)
	_ Recoverable    = (*JoinCombine)(nil)
	_ flushFailer    = (*JoinCombine)(nil)
)

// Output is the join's output: the row joins its group's partials.
func (c *JoinCombine) Output(row types.Row, _ int64, _ Emit) error {
	if c.comb == nil {
		var err error
		if c.comb, err = newCombiner(c.Funcs, c.CombineBytes); err != nil {
			return err
		}
		// The combiner copies a new group's key and keeps no other.
		c.scratch.reuseKey = true
		c.write = c.writePartial
	}
	in, ok, err := c.Grouper.groupIn(row, &c.scratch)
	if err != nil || !ok {
		return err
	}
	return c.comb.fold(&in)
}

// writePartial writes a group's partials to the repartition topic.
func (c *JoinCombine) writePartial(g *partialGroup) {
	c.emit(log.ProduceRecord{Topic: c.Topic, Record: partialRecord(g)})
}

// writeAll writes every group's partials into emit's batch.
func (c *JoinCombine) writeAll(emit Emit) {
	c.emit = emit
	c.comb.flush(c.write)
	c.emit = nil
}

// Process implements Processor: a join's records come with their input.
func (c *JoinCombine) Process(rec *log.Record, emit Emit) error { return c.Join.Process(rec, emit) }

// ProcessInput implements InputProcessor: partials at their bound are
// written before the record is joined.
func (c *JoinCombine) ProcessInput(input int, rec *log.Record, emit Emit) error {
	if c.comb != nil && c.comb.full() {
		c.writeAll(emit)
	}
	return c.Join.ProcessInput(input, rec, emit)
}

// Flush implements Processor: the join's flush first (rows it makes
// there are combined too), then the batch's partials.
func (c *JoinCombine) Flush(emit Emit) error {
	if err := c.Join.Flush(emit); err != nil {
		return err
	}
	if c.comb != nil {
		c.writeAll(emit)
	}
	return nil
}

var _ flushSizer = (*JoinCombine)(nil)

// flushOutput implements flushSizer: Flush writes a record per partial
// (the join's own flush emits into the partials, not the batch).
func (c *JoinCombine) flushOutput() int { return c.comb.partials() }

// Recover implements Recoverable: the join forgets what it knew of its
// store, and the partials of the batch that failed go; its replay makes
// them again.
func (c *JoinCombine) Recover() {
	if r, ok := c.Join.(Recoverable); ok {
		r.Recover()
	}
	if c.comb != nil {
		c.comb.forget()
	}
}

// takeFlushFailures implements flushFailer for a join that has them.
func (c *JoinCombine) takeFlushFailures() []error {
	if ff, ok := c.Join.(flushFailer); ok {
		return ff.takeFlushFailures()
	}
	return nil
}
