package operators

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/agg"
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
// Only unwindowed aggregations combine: a windowed one judges each row
// against the stream time that the rows before it moved, which a
// partial's one timestamp cannot reproduce.

// DefaultCombineBytes bounds what a first stage's partials hold between
// two flushes (Repartition.CombineBytes): when a batch's groups outgrow
// it, their partials are written out mid-batch and the map starts over.
const DefaultCombineBytes = 4 << 20

// groupValuePartial is the first byte of a repartition value that carries
// partial accumulators (see GroupCodec).
const groupValuePartial = 0x03

// partialGroup is one group's partials of the rows seen since the last
// flush: the hidden COUNT(*), then each call's accumulator, and the
// latest of the rows' times.
type partialGroup struct {
	key  []byte
	accs []agg.Accumulator
	time int64
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
	c := &combiner{funcs: append([]agg.Func{count}, funcs...), index: map[string]int{}, limit: limit}
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

// fold is add without the bound: a caller that must not write partials
// where it stands checks full before.
func (c *combiner) fold(in *GroupInput) error {
	i, ok := c.last-1, c.last > 0 && string(c.groups[c.last-1].key) == string(in.KeyBytes)
	if !ok {
		i, ok = c.index[string(in.KeyBytes)]
	}
	if !ok {
		accs := make([]agg.Accumulator, len(c.funcs))
		for j, f := range c.funcs {
			accs[j] = f.New()
		}
		// KeyBytes are the grouping's reused buffer (groupScratch.key):
		// the group keeps a copy.
		key := append([]byte(nil), in.KeyBytes...)
		c.groups = append(c.groups, partialGroup{key: key, accs: accs, time: in.Time})
		i = len(c.groups) - 1
		c.index[string(key)] = i
		c.bytes += partialGroupBytes(len(in.KeyBytes), len(accs))
	}
	c.last = i + 1
	g := &c.groups[i]
	g.time = max(g.time, in.Time)
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

// flush hands every group's partials to emit and starts over.
func (c *combiner) flush(emit func(*partialGroup)) {
	for i := range c.groups {
		emit(&c.groups[i])
	}
	clear(c.index)
	clear(c.groups)
	c.groups, c.bytes, c.last = c.groups[:0], 0, 0
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

// combine is Process for a first stage that combines: the row joins its
// group's partials, which are written out at Flush (or before, when the
// partials outgrow their bound).
func (r *Repartition) combine(rec *log.Record, emit Emit) error {
	if r.comb == nil {
		var err error
		if r.comb, err = newCombiner(r.Combine, r.CombineBytes); err != nil {
			return err
		}
		// The combiner copies a new group's key and keeps no other, so
		// the grouping writes every row's key into one buffer.
		r.scratch.reuseKey = true
	}
	in, ok, err := r.group(rec)
	if err != nil || !ok {
		return err
	}
	return r.comb.add(&in, r.emitPartial(emit))
}

// emitPartial returns the writer of a group's partials to the topic.
func (r *Repartition) emitPartial(emit Emit) func(*partialGroup) {
	return func(g *partialGroup) {
		emit(log.ProduceRecord{Topic: r.Topic, Record: partialRecord(g)})
	}
}

// Recover implements Recoverable: the partials of a batch that failed go
// with it; its replay makes them again.
func (r *Repartition) Recover() {
	if r.comb != nil {
		r.comb.forget()
	}
}

var _ Recoverable = (*Repartition)(nil)

// errPartialWindowed is a partial record that reached a windowed
// aggregation, which never asks for them (a planner bug or a topic
// written by another query).
var errPartialWindowed = errors.New("operators: partial aggregates reached a windowed aggregation")

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
