package operators

import (
	"fmt"
	"sync"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// GroupInput is one input row's contribution to one group: the group key,
// the arguments of each aggregate call, the row's event time, and whether
// the row is added or (for a table's updated or deleted row) retracted.
type GroupInput struct {
	// Key is nil in an input read by GroupCodec.Input: the Aggregator
	// decodes KeyBytes when it needs the key.
	Key types.Row
	// KeyBytes is Key in the group codec's encoding: the state key and the
	// repartition record's key.
	KeyBytes []byte
	// Args holds, per aggregate call, its argument values.
	Args    [][]types.Value
	Time    int64
	Retract bool
	// vals, when set, is the flattened arguments with one more slot, for
	// the retraction flag: the repartition record's value row. Args are
	// slices of it (Grouper.group and GroupCodec.Decode lay them out so),
	// and Encode writes the flag into its last slot rather than copying
	// the arguments into a new row.
	vals types.Row
}

// Grouper computes GroupInputs from source rows: WHERE, then the GROUP BY
// expressions and the aggregate arguments. It is immutable and shared.
type Grouper struct {
	Decoder *Decoder
	// Filter is the WHERE clause; nil keeps all rows.
	Filter  expr.Expr
	GroupBy []expr.Expr
	// Args are the argument expressions of each aggregate call.
	Args [][]expr.Expr
	// TimeIndex is ROWTIME's index in the source row.
	TimeIndex int
	Codec     *GroupCodec

	// shared is what share found that Filter, GroupBy and Args have in
	// common (expr.Share): how many values a decoded row needs after the
	// Decoder's for that. Set once, before any task evaluates.
	shared struct {
		once  sync.Once
		slots int
	}
}

// share marks the subexpressions that the WHERE clause, the grouping
// expressions and the aggregate arguments have in common, once for every
// task of the query, so that each is computed once per row (Nexmark's
// q15 to q17 test the same comparisons in several CASEs), and returns how
// many values a decoded row needs beyond the Decoder's width for that.
// Only a Grouper that decodes its rows shares: a join's Grouper reads the
// joined row, whose width is not the source's, and its expressions may
// be another Grouper's (a shared tree evaluates unshared over rows of its
// own width, see expr.Share). The Grouper is immutable apart from this,
// which sync.Once orders before every task's first evaluation.
func (g *Grouper) share() int {
	g.shared.once.Do(func() {
		if g.Decoder == nil {
			return
		}
		var exprs []expr.Expr
		if g.Filter != nil {
			exprs = append(exprs, g.Filter)
		}
		exprs = append(exprs, g.GroupBy...)
		for _, args := range g.Args {
			exprs = append(exprs, args...)
		}
		g.shared.slots = expr.Share(exprs, g.Decoder.Width())
	})
	return g.shared.slots
}

// groupScratch is one task's buffers for grouping its records, reused
// from record to record: the decoded row (with room for the shared
// subexpressions' values), and a GroupInput's key, arguments and
// retraction flag. Whoever reads a GroupInput built in them is done with
// its Key, Args and vals before the next record: the first stage encodes
// it, the Aggregator folds it (a cached group clones its key, the
// accumulators copy the values they keep).
type groupScratch struct {
	row  types.Row
	all  types.Row
	args [][]types.Value
}

// decoded returns the scratch row for a record of g's source, NULL.
func (s *groupScratch) decoded(g *Grouper) types.Row {
	if s.row == nil {
		w := g.Decoder.Width()
		s.row = make(types.Row, w+g.share())
	}
	return s.row
}

// Reader returns a task's reader of source records into group inputs:
// Input, with the decoded row, the subexpressions its expressions share
// and the GroupInput's buffers reused from record to record. What it
// returns is valid until its next call. It keeps the decoded strings as
// copies, not views of the record (the Aggregator's cache keeps a group's
// key, and accumulators such as LATEST_BY_OFFSET keep values).
func (g *Grouper) Reader() func(rec *log.Record) (GroupInput, bool, error) {
	var s groupScratch
	return func(rec *log.Record) (GroupInput, bool, error) {
		if rec.Value == nil {
			return GroupInput{}, false, nil
		}
		row := s.decoded(g)
		clear(row) // a column the record lacks is NULL; so is every shared value
		if err := g.Decoder.decodeInto(rec, row, &g.Decoder.valProj); err != nil {
			return GroupInput{}, false, err
		}
		return g.groupIn(row, &s)
	}
}

// Group evaluates one row: a decoded source row, or a joined row. ok is
// false when the row does not take part (see group).
func (g *Grouper) Group(row types.Row) (GroupInput, bool, error) { return g.group(row) }

// group evaluates one decoded row into a new GroupInput. ok is false when
// the row does not take part: the filter drops it, or a grouping value is
// NULL (ksqlDB drops such rows too).
func (g *Grouper) group(row types.Row) (in GroupInput, ok bool, err error) {
	return g.groupIn(row, nil)
}

// groupIn is group, its GroupInput built in s's buffers when s is not nil
// (valid until the next record), else in new ones.
func (g *Grouper) groupIn(row types.Row, s *groupScratch) (in GroupInput, ok bool, err error) {
	if g.Filter != nil {
		v, err := g.Filter.Eval(row)
		if err != nil || v.IsNull() || !v.Bool() {
			return in, false, err
		}
	}
	// One row holds the key, then the arguments and the retraction flag
	// (in.vals), and one slice the calls' views of it: two allocations a
	// row rather than one per call.
	nargs := 0
	for _, args := range g.Args {
		nargs += len(args)
	}
	k := len(g.GroupBy)
	var all types.Row
	switch {
	case s == nil:
		all = make(types.Row, k+nargs+1)
	case s.all == nil:
		s.all = make(types.Row, k+nargs+1)
		s.args = make([][]types.Value, len(g.Args))
		all = s.all
	default:
		all = s.all
		clear(all)
	}
	in.Key = all[:k:k]
	for i, e := range g.GroupBy {
		if in.Key[i], err = e.Eval(row); err != nil {
			return in, false, err
		}
		if in.Key[i].IsNull() {
			return in, false, nil
		}
	}
	in.vals = all[k:]
	if s != nil {
		in.Args = s.args
	} else {
		in.Args = make([][]types.Value, len(g.Args))
	}
	n := 0
	for i, args := range g.Args {
		in.Args[i] = in.vals[n : n+len(args) : n+len(args)]
		for j, e := range args {
			if in.Args[i][j], err = e.Eval(row); err != nil {
				return in, false, err
			}
		}
		n += len(args)
	}
	if in.KeyBytes, err = g.Codec.key.Encode(in.Key); err != nil {
		return in, false, fmt.Errorf("encode group key: %w", err)
	}
	in.Time = row[g.TimeIndex].Int()
	return in, true, nil
}

// GroupCodec encodes GroupInputs into repartition records and back, and
// group keys into state keys. Keys use the JSON key format over the group
// columns. A value is the flattened arguments and a retraction flag, in
// the binary layout below; values written before it are JSON objects of
// the same columns, and are read still.
//
//	value = 0x01 arg... retract
//	arg     a value in agg.AppendValue's encoding (its kind, then it)
//	retract 0 or 1
//
// JSON never begins with 0x01, so the first byte tells the two apart. The
// binary layout costs a record a few bytes per argument where JSON spent
// a name, quotes and text to parse (the aggregation stage of Nexmark's
// q17 spent a tenth of its time decoding them), and it keeps each value
// as the first stage computed it, as an aggregation that needs no
// repartition sees it.
type GroupCodec struct {
	key   serde.KeyFormat
	value serde.ValueFormat
	// argCounts is the number of arguments of each call.
	argCounts []int
}

// NewGroupCodec builds the codec for group columns and call arguments.
func NewGroupCodec(groupTypes []types.Type, argTypes [][]types.Type) (*GroupCodec, error) {
	keyCols := make([]types.Column, len(groupTypes))
	for i, t := range groupTypes {
		keyCols[i] = types.Column{Name: fmt.Sprintf("G%d", i), Type: t, Key: true}
	}
	var valCols []types.Column
	c := &GroupCodec{}
	for i, ts := range argTypes {
		c.argCounts = append(c.argCounts, len(ts))
		for j, t := range ts {
			if t.Kind == types.KindNull {
				t = types.String
			}
			valCols = append(valCols, types.Column{Name: fmt.Sprintf("A%d_%d", i, j), Type: t})
		}
	}
	valCols = append(valCols, types.Column{Name: "RETRACT", Type: types.Boolean})
	var err error
	if c.key, err = serde.NewKeyFormat(serde.FormatJSON, keyCols, serde.Props{}); err != nil {
		return nil, err
	}
	if c.value, err = serde.NewValueFormat(serde.FormatJSON, valCols, serde.Props{}); err != nil {
		return nil, err
	}
	return c, nil
}

// DecodeKey decodes group key bytes.
func (c *GroupCodec) DecodeKey(b []byte) (types.Row, error) { return c.key.Decode(b) }

// Encode turns a GroupInput into a repartition record.
func (c *GroupCodec) Encode(in *GroupInput) (log.Record, error) {
	vals := in.vals
	if vals == nil {
		n := 1
		for _, args := range in.Args {
			n += len(args)
		}
		vals = make(types.Row, 0, n)
		for _, args := range in.Args {
			vals = append(vals, args...)
		}
		vals = vals[:n]
	}
	args := vals[:len(vals)-1]
	v := make([]byte, 0, 2+10*len(args))
	v = append(v, groupValueBinary)
	for _, a := range args {
		v = agg.AppendValue(v, a)
	}
	if in.Retract {
		v = append(v, 1)
	} else {
		v = append(v, 0)
	}
	return log.Record{Key: in.KeyBytes, Value: v, Timestamp: in.Time, Partition: -1}, nil
}

// Decode reads a repartition record back.
func (c *GroupCodec) Decode(rec *log.Record) (GroupInput, error) {
	var in GroupInput
	key, err := c.key.Decode(rec.Key)
	if err != nil {
		return in, fmt.Errorf("decode repartition key: %w", err)
	}
	vals, err := c.decodeValue(rec.Value)
	if err != nil {
		return in, err
	}
	in.Key, in.KeyBytes, in.Time = key, rec.Key, rec.Timestamp
	c.args(&in, vals)
	return in, nil
}

// Input reads a repartition record back as the Aggregator's input: as
// Decode, but its Key is left nil, for the Aggregator decodes a group's
// key only when the group is not in its cache (KeyBytes is the key's
// encoding). ok is true when err is nil.
func (c *GroupCodec) Input(rec *log.Record) (in GroupInput, ok bool, err error) {
	vals, err := c.decodeValue(rec.Value)
	if err != nil {
		return in, false, err
	}
	c.args(&in, vals)
	in.KeyBytes, in.Time = rec.Key, rec.Timestamp
	return in, true, nil
}

// groupValueBinary is the first byte of a repartition value in the
// binary layout (see GroupCodec).
const groupValueBinary = 0x01

// decodeValue decodes a repartition value, binary or JSON, into its row:
// the flattened arguments, then the retraction flag.
func (c *GroupCodec) decodeValue(b []byte) (types.Row, error) {
	if len(b) == 0 || b[0] != groupValueBinary {
		vals, err := c.value.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("decode repartition value: %w", err)
		}
		return vals, nil
	}
	n := 0
	for _, k := range c.argCounts {
		n += k
	}
	vals := make(types.Row, n+1)
	rest := b[1:]
	for i := range n {
		var err error
		if vals[i], rest, err = agg.DecodeValue(rest); err != nil {
			return nil, fmt.Errorf("decode repartition value: argument %d: %w", i, err)
		}
	}
	if len(rest) != 1 || rest[0] > 1 {
		return nil, fmt.Errorf("decode repartition value: %d bytes after the arguments, want the retraction flag", len(rest))
	}
	vals[n] = types.NewBoolean(rest[0] == 1)
	return vals, nil
}

// args lays the decoded value row of a repartition record out in in.
func (c *GroupCodec) args(in *GroupInput, vals types.Row) {
	in.Args = make([][]types.Value, len(c.argCounts))
	i := 0
	for ci, n := range c.argCounts {
		in.Args[ci] = vals[i : i+n : i+n]
		i += n
	}
	if len(vals) == i+1 {
		in.vals = vals
	}
	in.Retract = !vals[i].IsNull() && vals[i].Bool()
}

// Repartition is the first stage of an aggregation whose groups are not
// the input's key (or whose input is a table): it groups each source record
// and writes it to the internal repartition topic, keyed by its group, so
// that the second stage sees every row of a group in one partition.
//
// Over a table it keeps, per table key, the last row it sent, so that an
// update retracts the old row's contribution before adding the new one and
// a delete retracts it.
type Repartition struct {
	Grouper *Grouper
	Topic   string
	// Table is set when the source is a table; Store must then be set.
	Table bool
	Store state.Store

	// scratch is the task's decoded row and group input, reused from
	// record to record: each is encoded into the repartition record (and
	// the table's last-row store) before the next, so the row's strings
	// may be views of the record's bytes (Decoder.decodeReuse).
	scratch groupScratch
}

var _ Processor = (*Repartition)(nil)

// group decodes and groups one source record in r's scratch buffers.
func (r *Repartition) group(rec *log.Record) (GroupInput, bool, error) {
	row := r.scratch.decoded(r.Grouper)
	ok, err := r.Grouper.Decoder.decodeReuse(rec, row)
	if err != nil || !ok {
		return GroupInput{}, false, err
	}
	return r.Grouper.groupIn(row, &r.scratch)
}

// Process implements Processor.
func (r *Repartition) Process(rec *log.Record, emit Emit) error {
	if r.Table {
		return r.processTable(rec, emit)
	}
	in, ok, err := r.group(rec)
	if err != nil || !ok {
		return err
	}
	out, err := r.Grouper.Codec.Encode(&in)
	if err != nil {
		return err
	}
	emit(log.ProduceRecord{Topic: r.Topic, Record: out})
	return nil
}

// processTable handles one changelog record of a table: retract the row
// the key had, add the row it has now (none for a tombstone).
func (r *Repartition) processTable(rec *log.Record, emit Emit) error {
	var next *GroupInput
	if rec.Value != nil {
		in, ok, err := r.group(rec)
		if err != nil {
			return err
		}
		if ok {
			next = &in
		}
	}
	prevKey := append([]byte{'t'}, rec.Key...)
	prev, had, err := r.Store.Get(prevKey)
	if err != nil {
		return err
	}
	if had {
		k, v, ts := splitPrev(prev)
		in, err := r.Grouper.Codec.Decode(&log.Record{Key: k, Value: v, Timestamp: ts})
		if err != nil {
			return fmt.Errorf("decode previous row: %w", err)
		}
		in.Retract = true
		in.Time = rec.Timestamp
		out, err := r.Grouper.Codec.Encode(&in)
		if err != nil {
			return err
		}
		emit(log.ProduceRecord{Topic: r.Topic, Record: out})
	}
	if next == nil {
		if had {
			return r.Store.Delete(prevKey)
		}
		return nil
	}
	out, err := r.Grouper.Codec.Encode(next)
	if err != nil {
		return err
	}
	emit(log.ProduceRecord{Topic: r.Topic, Record: out})
	return r.Store.Put(prevKey, joinPrev(out.Key, out.Value, out.Timestamp))
}

// Flush implements Processor.
func (r *Repartition) Flush(Emit) error { return nil }

// joinPrev packs a repartition record's key, value and time for the
// table's last-row store: 8-byte time, 4-byte key length, key, value.
func joinPrev(k, v []byte, ts int64) []byte {
	b := make([]byte, 0, 12+len(k)+len(v))
	b = appendBE64(b, uint64(ts))
	b = appendBE32(b, uint32(len(k)))
	b = append(b, k...)
	return append(b, v...)
}

func splitPrev(b []byte) (k, v []byte, ts int64) {
	ts = int64(be64(b[:8]))
	n := int(be32(b[8:12]))
	return b[12 : 12+n], b[12+n:], ts
}

// Input decodes and groups one source record: the Aggregator's input when
// the source needs no repartition.
func (g *Grouper) Input(rec *log.Record) (GroupInput, bool, error) {
	row, ok, err := g.Decoder.Decode(rec)
	if err != nil || !ok {
		return GroupInput{}, false, err
	}
	return g.group(row)
}

// EncodeKey encodes group values as the codec keys them.
func (c *GroupCodec) EncodeKey(key types.Row) ([]byte, error) { return c.key.Encode(key) }
