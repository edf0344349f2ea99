package operators

import (
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// FlatMap is the work of a query's table functions (EXPLODE,
// CUBE_EXPLODE): one input row becomes as many rows as its longest
// call gives, each the input row followed by one value per call — the
// calls zipped, a shorter one padded with NULLs, as ksqlDB does. A row
// for which every call gives nothing becomes no row.
//
// It is immutable and shared by a query's tasks.
type FlatMap struct {
	// Calls are the table function calls, bound over the input row.
	Calls []*expr.TableCall
	// MaxBytes bounds what one input row expands to: the Size of every
	// output row the projection computes from it (a row's columns are
	// copied into each of its rows, so a long array beside a large
	// column multiplies). An input row over it fails with SQLSTATE 54000
	// and is skipped like any row that fails. Default (0):
	// DefaultFlatMapBytes.
	MaxBytes int64
}

// DefaultFlatMapBytes is FlatMap.MaxBytes's default: 16 MiB, what one
// value may hold (expr.DefaultMaxValueBytes), so that the rows of one
// record weigh no more than the largest value a query may build.
const DefaultFlatMapBytes = expr.DefaultMaxValueBytes

// FlatPushBuffer is the PushSpec.Buffer of a push query with table
// functions: each item is all the rows of one record, up to
// DefaultFlatMapBytes, so the readers hold at most this many of them
// ready (and one each in hand).
const FlatPushBuffer = 8

func (f *FlatMap) maxBytes() int64 {
	if f.MaxBytes <= 0 {
		return DefaultFlatMapBytes
	}
	return f.MaxBytes
}

// Expand calls fn for each row in expands to, in order. The row passed
// to fn is reused for the next: fn must not retain it. An error of a
// call or of fn stops the expansion and is returned.
func (f *FlatMap) Expand(in types.Row, fn func(row types.Row) error) error {
	var one [1][]types.Value
	vals, n, err := f.eval(in, &one, nil)
	if err != nil || n == 0 {
		return err
	}
	row := make(types.Row, len(in)+len(f.Calls))
	copy(row, in)
	for r := range n {
		fillFlat(row, len(in), vals, r)
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// eval evaluates the calls over in, and returns their values with the
// count of rows they expand to, the longest's length. One call (EXPLODE's
// usual use) puts its values in one, so that it needs no slice of its
// own. When room is not nil (room() long), the calls that can put
// their values there (EXPLODE(ARRAY[...])) do, one after the other; the
// values are then valid until the next use of room.
func (f *FlatMap) eval(in types.Row, one *[1][]types.Value, room types.Row) (vals [][]types.Value, n int, err error) {
	vals = one[:0]
	if len(f.Calls) > 1 {
		vals = make([][]types.Value, 0, len(f.Calls))
	}
	for _, c := range f.Calls {
		var v []types.Value
		if k := c.Room(); room != nil && k > 0 {
			v, err = c.EvalInto(in, room[:k:k])
			room = room[k:]
		} else {
			v, err = c.Eval(in)
		}
		if err != nil {
			return nil, 0, err
		}
		vals = append(vals, v)
		n = max(n, len(v))
	}
	return vals, n, nil
}

// room is how many values the calls may put in eval's room.
func (f *FlatMap) room() int {
	n := 0
	for _, c := range f.Calls {
		n += c.Room()
	}
	return n
}

// fillFlat writes the r-th row's call values into row from place width
// on: NULL past a shorter call's end.
func fillFlat(row types.Row, width int, vals [][]types.Value, r int) {
	for i, v := range vals {
		row[width+i] = types.Value{}
		if r < len(v) {
			row[width+i] = v[r]
		}
	}
}

// projectFlat projects one expanded row into out and adds its values'
// sizes to size, or fails once the rows of the input row pass limit.
func (p *Pipeline) projectFlat(row, out types.Row, size *int64, limit int64) error {
	for i, e := range p.Project {
		v, err := e.Eval(row)
		if err != nil {
			return err
		}
		out[i] = v
		*size += v.Size()
	}
	if *size > limit {
		return flatTooLarge(limit)
	}
	return nil
}

// ApplyFlat runs a pipeline with table functions (p.FlatMap set) over
// one input row: filter, expand, project each row. It returns every
// output row or, when any fails, none and the error, so that the rows of
// one input record are written together or not at all. The rows carry
// the input's event time, ts.
func (p *Pipeline) ApplyFlat(in types.Row) (outs []types.Row, ts int64, err error) {
	if ok, err := p.keep(in); err != nil || !ok {
		return nil, 0, err
	}
	limit := p.FlatMap.maxBytes()
	var size int64
	err = p.FlatMap.Expand(in, func(row types.Row) error {
		out := make(types.Row, len(p.Project))
		if err := p.projectFlat(row, out, &size, limit); err != nil {
			return err
		}
		outs = append(outs, out)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return outs, in[p.TimeIndex].Int(), nil
}

// FlatRows converts records to the rows of a query with table functions:
// all the rows of one record, or none.
func FlatRows(dec *Decoder, pipe *Pipeline) Convert[[]types.Row] {
	return func(rec *log.Record) ([]types.Row, bool, error) {
		row, ok, err := dec.Decode(rec)
		if err != nil || !ok {
			return nil, false, err
		}
		rows, _, err := pipe.ApplyFlat(row)
		return rows, len(rows) > 0, err
	}
}

// processFlat is Stateless.Process for a pipeline with table functions.
// Every row of the record is encoded before any is emitted: the task
// commits what one Process emitted with the record's offset, so the rows
// of one record are written together, or, when one fails, none is. A
// record whose value is null gives no rows (a NULL array explodes into
// none).
//
// It is ApplyFlat and an encoding of each row, in the task's reused
// memory, as the path without table functions is (task.go): the record is
// decoded into s.in, its strings views of the record's bytes; the calls'
// arguments and the filter share their common subexpressions
// (Pipeline.shareFlat: Nexmark q5's five window starts each computed
// UNIX_TIMESTAMP(dateTime) twice and its remainder once); s.in, its
// places after the input's holding the calls' values, is the row the
// projection reads, into s.out; and each output row is encoded into
// s.buf before the next is projected. The Stateless struct has no place
// of its own for the flat path's memory; a flat pipeline never takes the
// other path, so the two never share these.
func (s *Stateless) processFlat(rec *log.Record, emit Emit) error {
	if rec.Value == nil {
		return nil
	}
	p := s.Pipeline
	w := s.Decoder.Width()
	calls := p.FlatMap.Calls
	if s.in == nil {
		// After the row and the shared subexpressions' places, room for
		// the values of the calls that need no memory of their own
		// (FlatMap.eval): no row or expression reads those places.
		rowLen := w + len(calls) + p.shareFlat(w)
		s.in = make(types.Row, rowLen+p.FlatMap.room())
		s.in = s.in[:rowLen]
		s.out = make(types.Row, len(p.Project))
	}
	in := s.in
	if ok, err := s.Decoder.decodeReuse(rec, in); err != nil || !ok {
		return err
	}
	if ok, err := p.keep(in); err != nil || !ok {
		return err
	}
	var one [1][]types.Value
	vals, n, err := p.FlatMap.eval(in, &one, in[len(in):cap(in)])
	if err != nil || n == 0 {
		return err
	}
	ts := in[p.TimeIndex].Int()
	noKey := s.noKey(rec)
	limit := p.FlatMap.maxBytes()
	var size int64
	// Up to eight records on the stack (q5 explodes each bid into five).
	var stack [8]log.Record
	recs := stack[:0]
	for r := range n {
		fillFlat(in, w, vals, r)
		if err := p.projectFlat(in, s.out, &size, limit); err != nil {
			return err
		}
		enc, err := s.Encoder.encodeBuf(s.out, ts, &s.buf, nil)
		if err != nil {
			return err
		}
		if noKey {
			enc.Key = nil
		}
		s.windowKey(&enc, in)
		recs = append(recs, enc)
	}
	for i := range recs {
		emit(log.ProduceRecord{Topic: s.Sink, Record: recs[i]})
	}
	return nil
}

// flatTooLarge is the error of an input row whose table functions would
// produce rows of more than limit bytes.
func flatTooLarge(limit int64) error {
	return expr.ErrValueTooLarge.Errorf("the table functions of one row would produce rows of more than %d bytes", limit)
}
