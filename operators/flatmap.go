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
	vals := make([][]types.Value, len(f.Calls))
	n := 0
	for i, c := range f.Calls {
		v, err := c.Eval(in)
		if err != nil {
			return err
		}
		vals[i] = v
		n = max(n, len(v))
	}
	if n == 0 {
		return nil
	}
	row := make(types.Row, len(in)+len(f.Calls))
	copy(row, in)
	for r := 0; r < n; r++ {
		for i, v := range vals {
			row[len(in)+i] = types.Value{} // NULL past a shorter call's end
			if r < len(v) {
				row[len(in)+i] = v[r]
			}
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// ApplyFlat runs a pipeline with table functions (p.FlatMap set) over
// one input row: filter, expand, project each row. It returns every
// output row or, when any fails, none and the error, so that the rows of
// one input record are written together or not at all. The rows carry
// the input's event time, ts.
func (p *Pipeline) ApplyFlat(in types.Row) (outs []types.Row, ts int64, err error) {
	if p.Filter != nil {
		v, err := p.Filter.Eval(in)
		if err != nil {
			return nil, 0, err
		}
		if v.IsNull() || !v.Bool() {
			return nil, 0, nil
		}
	}
	limit := p.FlatMap.maxBytes()
	var size int64
	err = p.FlatMap.Expand(in, func(row types.Row) error {
		out := make(types.Row, len(p.Project))
		for i, e := range p.Project {
			v, err := e.Eval(row)
			if err != nil {
				return err
			}
			out[i] = v
			size += v.Size()
		}
		if size > limit {
			return expr.ErrValueTooLarge.Errorf("the table functions of one row would produce rows of more than %d bytes", limit)
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
func (s *Stateless) processFlat(rec *log.Record, emit Emit) error {
	if rec.Value == nil {
		return nil
	}
	row, ok, err := s.Decoder.Decode(rec)
	if err != nil || !ok {
		return err
	}
	outs, ts, err := s.Pipeline.ApplyFlat(row)
	if err != nil || len(outs) == 0 {
		return err
	}
	recs := make([]log.Record, len(outs))
	noKey := s.noKey(rec)
	for i, out := range outs {
		if recs[i], err = s.Encoder.Encode(out, ts); err != nil {
			return err
		}
		if noKey {
			recs[i].Key = nil
		}
		s.windowKey(&recs[i], row)
	}
	for i := range recs {
		emit(log.ProduceRecord{Topic: s.Sink, Record: recs[i]})
	}
	return nil
}
