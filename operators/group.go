package operators

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
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
	// Prev, when not nil, holds the arguments of the row that this
	// input's row replaces within the same group: a table row updated
	// without leaving its group. The Aggregator retracts Prev and adds
	// Args as one change and emits the group once, as Kafka Streams 3.5
	// and later do (KIP-904, KAFKA-12446). Retract is false then.
	Prev [][]types.Value
	// Partials, when not nil, are the encoded partial accumulators of
	// several rows of the group that a first stage combined (a view of
	// a 0x03 or 0x04 record, see combine.go); Args is nil then.
	Partials []byte
	// InWindow is set on a 0x04 record's partials: they are the group's
	// rows in the time window that starts at WindowStart, LastRows of
	// which have it for their last window (they are late, and counted,
	// when it is closed).
	InWindow    bool
	WindowStart int64
	LastRows    int64
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
// subexpressions' values), and a GroupInput's key and arguments.
// Whoever reads a GroupInput built in them is done with its Key and Args
// before the next record: the first stage encodes
// it, the Aggregator folds it (a cached group clones its key, the
// accumulators copy the values they keep).
type groupScratch struct {
	row  types.Row
	all  types.Row
	args [][]types.Value
	// key is the GroupInput's KeyBytes when reuseKey is set: a reader
	// that keeps no key past the record (the combining first stage,
	// which copies a new group's) lets it be reused; every other
	// GroupInput's KeyBytes are its own.
	key      []byte
	reuseKey bool
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

// Rows returns one task's Group, whose GroupInputs are built in buffers
// reused from row to row (groupScratch): what it returns is valid until
// its next call. For a join's rows, which a stage encodes or an
// Aggregator folds before the next comes.
func (g *Grouper) Rows() func(row types.Row) (GroupInput, bool, error) {
	var s groupScratch
	return func(row types.Row) (GroupInput, bool, error) { return g.groupIn(row, &s) }
}

// Output is a join's output that sends its rows to an aggregation's
// repartition topic, one record per row, keyed by its group. It is one
// task's: its group inputs are built in buffers reused from row to row.
func (g *Grouper) Output(topic string) JoinOutput {
	group := g.Rows()
	return func(row types.Row, _ int64, emit Emit) error {
		in, ok, err := group(row)
		if err != nil || !ok {
			return err
		}
		rec, err := g.Codec.Encode(&in)
		if err != nil {
			return err
		}
		emit(log.ProduceRecord{Topic: topic, Record: rec})
		return nil
	}
}

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
	// One row holds the key, then the arguments, and one slice the calls'
	// views of it: two allocations a row rather than one per call.
	nargs := 0
	for _, args := range g.Args {
		nargs += len(args)
	}
	k := len(g.GroupBy)
	var all types.Row
	switch {
	case s == nil:
		all = make(types.Row, k+nargs)
	case s.all == nil:
		s.all = make(types.Row, k+nargs)
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
	vals := all[k:]
	if s != nil {
		in.Args = s.args
	} else {
		in.Args = make([][]types.Value, len(g.Args))
	}
	n := 0
	for i, args := range g.Args {
		in.Args[i] = vals[n : n+len(args) : n+len(args)]
		for j, e := range args {
			if in.Args[i][j], err = e.Eval(row); err != nil {
				return in, false, err
			}
		}
		n += len(args)
	}
	if s != nil && s.reuseKey {
		in.KeyBytes, err = g.Codec.appendKey(s.key[:0], in.Key)
		s.key = in.KeyBytes
	} else {
		in.KeyBytes, err = g.Codec.EncodeKey(in.Key)
	}
	if err != nil {
		return in, false, fmt.Errorf("encode group key: %w", err)
	}
	in.Time = row[g.TimeIndex].Int()
	return in, true, nil
}

// GroupCodec encodes GroupInputs into repartition records and back, and
// group keys into state keys. Keys use the JSON key format over the group
// columns. A value is the flattened arguments of one row or two, in one
// of the binary layouts below; values written before them are JSON
// objects of the same columns and a retraction flag, and are read still.
//
//	value  = 0x01 arg... retract   a row added (retract 0) or retracted (1)
//	       | 0x02 arg... arg...    a row replaced within its group: the
//	                               new row's arguments, then the old row's
//	arg      a value in agg.AppendValue's encoding (its kind, then it)
//	retract  0 or 1
//
//	       | 0x03 partial...       several rows of the group, combined
//	                               by a first stage (combine.go)
//	partial  the hidden COUNT(*)'s, then each call's accumulator in
//	         its AppendEncode encoding, each length-prefixed (uvarint)
//
// JSON never begins with 0x01, 0x02 or 0x03, so the first byte tells the
// layouts apart. Only a query whose plan says its first stage combines
// writes 0x03 (an older query keeps writing rows), but any second stage
// reads every layout. The binary layout costs a record a few bytes per
// argument where JSON spent a name, quotes and text to parse (the
// aggregation stage of Nexmark's q17 spent a tenth of its time decoding
// them), and it keeps each value as the first stage computed it, as an
// aggregation that needs no repartition sees it.
//
// The 0x02 layout is KIP-904's combined change: a table row updated
// without leaving its group travels as one record, so that the update is
// atomic in the topic and the aggregation applies it as one change
// (GroupInput.Prev). A binary that predates it wrote such an update as
// two 0x01 records, a retraction and an addition, which are read as
// before: a topic written by either binary is aggregated the same, only
// the number of changes emitted differs.
type GroupCodec struct {
	key   serde.KeyFormat
	value serde.ValueFormat
	// argCounts is the number of arguments of each call; nargs their sum.
	argCounts []int
	nargs     int
	// strArgs are the call and position of each STRING or BYTES argument
	// (argsRoom).
	strArgs [][2]int
	// intKey, when every group column is an INT or a BIGINT, is the JSON
	// text before each column's value ({"G0": and ,"G1": ...; nothing for
	// one column, which the key format writes bare), so that such a key
	// is written with strconv alone, without the key format's generic
	// encoder (appendKey). Nexmark q5's (auction, starttime) is one.
	intKey []string
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
		c.nargs += len(ts)
		for j, t := range ts {
			if t.Kind == types.KindNull {
				t = types.String
			}
			if t.Kind == types.KindString || t.Kind == types.KindBytes {
				c.strArgs = append(c.strArgs, [2]int{i, j})
			}
			valCols = append(valCols, types.Column{Name: fmt.Sprintf("A%d_%d", i, j), Type: t})
		}
	}
	valCols = append(valCols, types.Column{Name: "RETRACT", Type: types.Boolean})
	c.intKey = intKeyPrefixes(groupTypes)
	var err error
	if c.key, err = serde.NewKeyFormat(serde.FormatJSON, keyCols, serde.Props{}); err != nil {
		return nil, err
	}
	if c.value, err = serde.NewValueFormat(serde.FormatJSON, valCols, serde.Props{}); err != nil {
		return nil, err
	}
	return c, nil
}

// intKeyPrefixes returns GroupCodec.intKey for group columns of types ts:
// nil unless each is an INT or a BIGINT.
func intKeyPrefixes(ts []types.Type) []string {
	if len(ts) == 0 {
		return nil
	}
	for _, t := range ts {
		if t.Kind != types.KindInt && t.Kind != types.KindBigint {
			return nil
		}
	}
	if len(ts) == 1 {
		return []string{""}
	}
	pre := make([]string, len(ts))
	for i := range ts {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		pre[i] = fmt.Sprintf("%s\"G%d\":", sep, i)
	}
	return pre
}

// EncodeKey encodes group values as the codec keys them, into new bytes
// of their length.
func (c *GroupCodec) EncodeKey(key types.Row) ([]byte, error) {
	if c.intKey == nil {
		return c.key.Encode(key)
	}
	var buf [64]byte
	b, err := c.appendKey(buf[:0], key)
	if err != nil {
		return nil, err
	}
	return append(make([]byte, 0, len(b)), b...), nil
}

// appendKey appends a group key's encoding to dst: the key format's,
// written directly when the key is integers (intKey).
func (c *GroupCodec) appendKey(dst []byte, key types.Row) ([]byte, error) {
	if !c.intKeyOf(key) {
		b, err := c.key.Encode(key)
		return append(dst, b...), err
	}
	for i, v := range key {
		dst = append(dst, c.intKey[i]...)
		dst = strconv.AppendInt(dst, v.Int(), 10)
	}
	if len(key) > 1 {
		dst = append(dst, '}')
	}
	return dst, nil
}

// intKeyOf says whether appendKey may write key directly: the codec's
// columns are integers and so is each value (groupIn drops a row with a
// NULL group value before; another caller's NULL goes to the key format,
// which says what it makes of it).
func (c *GroupCodec) intKeyOf(key types.Row) bool {
	if c.intKey == nil || len(key) != len(c.intKey) {
		return false
	}
	for _, v := range key {
		if k := v.Kind(); k != types.KindInt && k != types.KindBigint {
			return false
		}
	}
	return true
}

// DecodeKey decodes group key bytes.
func (c *GroupCodec) DecodeKey(b []byte) (types.Row, error) { return c.key.Decode(b) }

// groupValueBinary and groupValueUpdate are the first bytes of a
// repartition value in the binary layouts (see GroupCodec): one row, and
// a row replaced within its group.
const (
	groupValueBinary = 0x01
	groupValueUpdate = 0x02
)

// appendArgs appends each call's arguments in agg.AppendValue's encoding.
func appendArgs(v []byte, args [][]types.Value) []byte {
	for _, a := range args {
		for _, x := range a {
			v = agg.AppendValue(v, x)
		}
	}
	return v
}

// Encode turns a GroupInput into a repartition record.
func (c *GroupCodec) Encode(in *GroupInput) (log.Record, error) {
	v := make([]byte, 0, 2+c.argsRoom(in.Args)+c.argsRoom(in.Prev))
	if in.Prev != nil {
		v = append(v, groupValueUpdate)
		v = appendArgs(v, in.Args)
		v = appendArgs(v, in.Prev)
	} else {
		v = append(v, groupValueBinary)
		v = appendArgs(v, in.Args)
		if in.Retract {
			v = append(v, 1)
		} else {
			v = append(v, 0)
		}
	}
	return log.Record{Key: in.KeyBytes, Value: v, Timestamp: in.Time, Partition: -1}, nil
}

// argsRoom is room enough for most rows' arguments in agg.AppendValue's
// encoding: ten bytes a value, and a string's or bytes' length besides,
// so that a row with a wide string (a LATEST_BY_OFFSET of Nexmark's bid
// extra, as q7 once repartitioned) is encoded without growing its buffer.
func (c *GroupCodec) argsRoom(args [][]types.Value) int {
	if args == nil {
		return 0
	}
	n := 10 * c.nargs
	for _, at := range c.strArgs {
		if at[0] < len(args) && at[1] < len(args[at[0]]) {
			n += len(args[at[0]][at[1]].Str())
		}
	}
	return n
}

// Decode reads a repartition record back.
func (c *GroupCodec) Decode(rec *log.Record) (GroupInput, error) {
	var in GroupInput
	key, err := c.key.Decode(rec.Key)
	if err != nil {
		return in, fmt.Errorf("decode repartition key: %w", err)
	}
	if isPartial(rec.Value) {
		return partialInput(rec, key)
	}
	vals, prev, err := c.decodeValue(rec.Value)
	if err != nil {
		return in, err
	}
	in.Key, in.KeyBytes, in.Time = key, rec.Key, rec.Timestamp
	c.args(&in, vals, prev)
	return in, nil
}

// Input reads a repartition record back as the Aggregator's input: as
// Decode, but its Key is left nil, for the Aggregator decodes a group's
// key only when the group is not in its cache (KeyBytes is the key's
// encoding). ok is true when err is nil.
func (c *GroupCodec) Input(rec *log.Record) (in GroupInput, ok bool, err error) {
	if isPartial(rec.Value) {
		in, err := partialInput(rec, nil)
		return in, err == nil, err
	}
	vals, prev, err := c.decodeValue(rec.Value)
	if err != nil {
		return in, false, err
	}
	c.args(&in, vals, prev)
	in.KeyBytes, in.Time = rec.Key, rec.Timestamp
	return in, true, nil
}

// Reader returns a task's reader of repartition records into group
// inputs: Input, with the decoded values and the calls' views of them
// reused from record to record, so that what it returns is valid until
// its next call. The Aggregator is done with an input when it returns
// (a cached group decodes its own key, the accumulators copy the values
// they keep), as with Grouper.Reader's.
func (c *GroupCodec) Reader() func(rec *log.Record) (GroupInput, bool, error) {
	// all holds an update's two rows and the flag; args and prev are the
	// calls' views of it.
	all := make(types.Row, 2*c.nargs+1)
	args := make([][]types.Value, len(c.argCounts))
	prev := make([][]types.Value, len(c.argCounts))
	return func(rec *log.Record) (in GroupInput, ok bool, err error) {
		if isPartial(rec.Value) {
			in, err := partialInput(rec, nil)
			return in, err == nil, err
		}
		clear(all)
		vals, p, err := c.decodeValueIn(rec.Value, all)
		if err != nil {
			return in, false, err
		}
		in.Args = c.splitInto(args, vals)
		i := c.nargs
		in.Retract = !vals[i].IsNull() && vals[i].Bool()
		if p != nil {
			in.Prev = c.splitInto(prev, p)
		}
		in.KeyBytes, in.Time = rec.Key, rec.Timestamp
		return in, true, nil
	}
}

// isPartial reports whether a repartition value carries partials (0x03,
// or 0x04 for a window's).
func isPartial(v []byte) bool {
	return len(v) > 0 && (v[0] == groupValuePartial || v[0] == groupValueWindowPartial)
}

// partialInput is the group input of a 0x03 or 0x04 record: its
// partials, a view of the record, decoded by the Aggregator that merges
// them, and a 0x04's window.
func partialInput(rec *log.Record, key types.Row) (GroupInput, error) {
	in := GroupInput{Key: key, KeyBytes: rec.Key, Time: rec.Timestamp, Partials: rec.Value[1:]}
	if rec.Value[0] == groupValueWindowPartial {
		var err error
		if in.WindowStart, in.LastRows, in.Partials, err = parseWindowPartial(in.Partials); err != nil {
			return GroupInput{}, err
		}
		in.InWindow = true
	}
	return in, nil
}

// decodeValue decodes a repartition value, binary or JSON, into its row:
// the flattened arguments, then the retraction flag; and for an update
// (0x02), the replaced row's flattened arguments in prev (nil otherwise).
func (c *GroupCodec) decodeValue(b []byte) (vals, prev types.Row, err error) {
	return c.decodeValueIn(b, nil)
}

// decodeValueIn is decodeValue into all when it has room for an update's
// 2*nargs+1 values (a new row otherwise, and for a JSON value).
func (c *GroupCodec) decodeValueIn(b []byte, all types.Row) (vals, prev types.Row, err error) {
	if len(b) == 0 || (b[0] != groupValueBinary && b[0] != groupValueUpdate) {
		vals, err := c.value.Decode(b)
		if err != nil {
			return nil, nil, fmt.Errorf("decode repartition value: %w", err)
		}
		return vals, nil, nil
	}
	n := c.nargs
	update := b[0] == groupValueUpdate
	rows := n + 1
	if update {
		rows += n
	}
	// One row holds both: the arguments and the flag, then the old row's.
	if len(all) < rows {
		all = make(types.Row, rows)
	}
	all = all[:rows]
	rest := b[1:]
	for i := range all[:n] {
		if all[i], rest, err = agg.DecodeValue(rest); err != nil {
			return nil, nil, fmt.Errorf("decode repartition value: argument %d: %w", i, err)
		}
	}
	vals = all[: n+1 : n+1]
	if update {
		prev = all[n+1:]
		for i := range prev {
			if prev[i], rest, err = agg.DecodeValue(rest); err != nil {
				return nil, nil, fmt.Errorf("decode repartition value: the old row's argument %d: %w", i, err)
			}
		}
		if len(rest) != 0 {
			return nil, nil, fmt.Errorf("decode repartition value: %d bytes after the old row's arguments", len(rest))
		}
		vals[n] = types.NewBoolean(false)
		return vals, prev, nil
	}
	if len(rest) != 1 || rest[0] > 1 {
		return nil, nil, fmt.Errorf("decode repartition value: %d bytes after the arguments, want the retraction flag", len(rest))
	}
	vals[n] = types.NewBoolean(rest[0] == 1)
	return vals, nil, nil
}

// args lays the decoded value row of a repartition record out in in, and
// the replaced row's arguments (prev, when not nil) in in.Prev.
func (c *GroupCodec) args(in *GroupInput, vals, prev types.Row) {
	in.Args = c.split(vals)
	i := c.nargs
	in.Retract = !vals[i].IsNull() && vals[i].Bool()
	if prev != nil {
		in.Prev = c.split(prev)
	}
}

// split lays a flattened row of arguments out by call: views of it.
func (c *GroupCodec) split(vals types.Row) [][]types.Value {
	return c.splitInto(make([][]types.Value, len(c.argCounts)), vals)
}

// splitInto is split into args, which has a slot per call.
func (c *GroupCodec) splitInto(args [][]types.Value, vals types.Row) [][]types.Value {
	i := 0
	for ci, n := range c.argCounts {
		args[ci] = vals[i : i+n : i+n]
		i += n
	}
	return args
}

// TableChange writes a table row's change to the repartition topic: prev
// is the repartition record that added the row it replaces, as the
// last-row store keeps it (joinPrev; had is false when there is none),
// next the record that adds the new row (nil for a delete, or a row that
// takes no part). When both are of the same group, the change is one
// record that retracts the old row and adds the new (the 0x02 layout,
// KIP-904); otherwise the old row's retraction, at ts, then the new row's
// addition, as Kafka Streams sends a row that moves to another group.
// Comparing the groups' key bytes is Kafka Streams' comparison of the
// selected keys: the key format writes equal keys as equal bytes.
func (c *GroupCodec) TableChange(prev []byte, had bool, next *log.Record, ts int64, emit func(log.Record)) error {
	if !had {
		if next != nil {
			emit(*next)
		}
		return nil
	}
	k, v, _ := splitPrev(prev)
	old, err := c.argBytes(v)
	if err != nil {
		return fmt.Errorf("decode previous row: %w", err)
	}
	if next != nil && string(k) == string(next.Key) {
		cur, err := c.argBytes(next.Value)
		if err != nil {
			return err
		}
		u := make([]byte, 0, 1+len(cur)+len(old))
		u = append(u, groupValueUpdate)
		u = append(u, cur...)
		u = append(u, old...)
		emit(log.Record{Key: next.Key, Value: u, Timestamp: next.Timestamp, Partition: -1})
		return nil
	}
	r := make([]byte, 0, 2+len(old))
	r = append(r, groupValueBinary)
	r = append(r, old...)
	r = append(r, 1)
	emit(log.Record{Key: k, Value: r, Timestamp: ts, Partition: -1})
	if next != nil {
		emit(*next)
	}
	return nil
}

// argBytes returns the encoded arguments of a row's repartition value
// that added it: a view of a value in the 0x01 layout, the arguments
// re-encoded from one in JSON (a last-row store written by a binary that
// predates the binary layout).
func (c *GroupCodec) argBytes(v []byte) ([]byte, error) {
	if len(v) >= 2 && v[0] == groupValueBinary {
		return v[1 : len(v)-1], nil
	}
	vals, _, err := c.decodeValue(v)
	if err != nil {
		return nil, err
	}
	if n := len(vals) - 1; n >= 0 && !vals[n].IsNull() && vals[n].Bool() {
		return nil, fmt.Errorf("decode repartition value: a retraction where the row's addition was kept")
	}
	var in GroupInput
	c.args(&in, vals, nil)
	return appendArgs(nil, in.Args), nil
}

// Repartition is the first stage of an aggregation whose groups are not
// the input's key (or whose input is a table): it groups each source record
// and writes it to the internal repartition topic, keyed by its group, so
// that the second stage sees every row of a group in one partition.
//
// Over a table it keeps, per table key, the last row it sent, so that an
// update retracts the old row's contribution before adding the new one and
// a delete retracts it. An update within its group is one record, an
// update that moves the row to another group two (GroupCodec.TableChange).
type Repartition struct {
	Grouper *Grouper
	Topic   string
	// Table is set when the source is a table; Store must then be set.
	Table bool
	Store state.Store
	// Combine, when not nil, are the aggregation's functions, which all
	// combine (agg.Combines): the stage folds a batch's rows of a group
	// into partials and writes one record per group at Flush
	// (combine.go). Stream sources only. CombineBytes bounds the
	// partials (default DefaultCombineBytes).
	Combine      []agg.Func
	CombineBytes int
	// Window is the aggregation's time window (TUMBLING or HOPPING) when
	// it combines (nil for none): the partials are then a group's in one
	// window, for the rows this stage's stream time st judges on time
	// (combine.go); wins are a row's windows, reused.
	Window *window.Spec
	comb   *combiner
	st     window.StreamTime
	wins   []window.Window

	// scratch is the task's decoded row and group input, reused from
	// record to record: each is encoded into the repartition record (and
	// the table's last-row store) before the next, so the row's strings
	// may be views of the record's bytes (Decoder.decodeReuse).
	scratch groupScratch
	// tkey and tval are the last-row store's key and value of the
	// record in hand, reused (the store copies what it is given).
	tkey, tval []byte
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
	if r.Combine != nil {
		return r.combine(rec, emit)
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
// the key had, add the row it has now (none for a tombstone), in one
// record when both are of the same group (GroupCodec.TableChange).
func (r *Repartition) processTable(rec *log.Record, emit Emit) error {
	var next *log.Record
	if rec.Value != nil {
		in, ok, err := r.group(rec)
		if err != nil {
			return err
		}
		if ok {
			out, err := r.Grouper.Codec.Encode(&in)
			if err != nil {
				return err
			}
			next = &out
		}
	}
	r.tkey = append(append(r.tkey[:0], 't'), rec.Key...)
	prev, had, err := r.Store.Get(r.tkey)
	if err != nil {
		return err
	}
	if err := r.Grouper.Codec.TableChange(prev, had, next, rec.Timestamp, func(out log.Record) {
		emit(log.ProduceRecord{Topic: r.Topic, Record: out})
	}); err != nil {
		return err
	}
	if next == nil {
		if had {
			return r.Store.Delete(r.tkey)
		}
		return nil
	}
	r.tval = appendPrev(r.tval[:0], next.Key, next.Value, next.Timestamp)
	return r.Store.Put(r.tkey, r.tval)
}

// Flush implements Processor: a stage that combines writes its partials.
func (r *Repartition) Flush(emit Emit) error {
	if r.comb != nil {
		r.comb.flush(r.emitPartial(emit))
	}
	return nil
}

var _ batchRecycler = (*Repartition)(nil)

// recycleBatch implements batchRecycler: the stage keeps nothing of a
// record past its commit. Its repartition records are encoded anew
// (GroupCodec.Encode, TableChange); a table's last-row store copies
// what it is given (state.Store); the combiner copies a new group's key
// and owns the strings its partials keep (combiner.own), and writes them
// all out at Flush; the scratch row's views of the last record are
// written whole by the next decode before anything reads them.
func (r *Repartition) recycleBatch() bool { return true }

// joinPrev packs a repartition record's key, value and time for the
// table's last-row store: 8-byte time, 4-byte key length, key, value.
func joinPrev(k, v []byte, ts int64) []byte {
	return appendPrev(make([]byte, 0, 12+len(k)+len(v)), k, v, ts)
}

// appendPrev appends joinPrev(k, v, ts) to dst.
func appendPrev(dst, k, v []byte, ts int64) []byte {
	dst = appendBE64(dst, uint64(ts))
	dst = appendBE32(dst, uint32(len(k)))
	dst = append(dst, k...)
	return append(dst, v...)
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
