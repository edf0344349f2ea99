package build

import (
	"context"
	"io"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/sql/types"
)

// pushFlat runs a push query with table functions: each partition's
// reader expands a record into all its rows (operators.FlatRows), and the
// iterator hands them out one at a time. LIMIT counts rows, not records,
// so it is the iterator's.
func (b *Builder) pushFlat(spec operators.PushSpec, r *rows) *PushQuery {
	limit := spec.Limit
	spec.Limit = 0
	spec.Buffer = operators.FlatPushBuffer
	conv := safeConvertOf(b, spec.Topic, operators.FlatRows(r.dec, r.pipeline()))
	return &PushQuery{start: func(owner context.Context) RowIter {
		return &flatIter{push: operators.StartPush(owner, spec, conv), limit: limit}
	}}
}

// flatIter hands out the rows of a push query with table functions. Its
// memory is the rows of the record being handed out, besides the records'
// rows the readers hold (operators.FlatPushBuffer).
type flatIter struct {
	push    *operators.Push[[]types.Row]
	pending []types.Row
	limit   int64 // 0: none; -1: LIMIT 0
	sent    int64
}

// Next implements RowIter.
func (f *flatIter) Next(ctx context.Context) (types.Row, error) {
	for {
		if f.limit < 0 || (f.limit > 0 && f.sent >= f.limit) {
			return nil, io.EOF
		}
		if len(f.pending) > 0 {
			row := f.pending[0]
			f.pending[0] = nil
			f.pending = f.pending[1:]
			f.sent++
			return row, nil
		}
		rows, err := f.push.Next(ctx)
		if err != nil {
			return nil, err
		}
		f.pending = rows
	}
}

// Close implements RowIter.
func (f *flatIter) Close() { f.push.Close() }

// flatSinkOutput writes the rows a table function makes of each joined
// row to a stream sink: every row is encoded before any is emitted, so
// the rows of one joined row are written together or not at all, as
// operators.Stateless writes those of one record.
func flatSinkOutput(sink *catalog.Source, pipe *operators.Pipeline, enc *operators.Encoder) operators.JoinOutput {
	return func(row types.Row, _ int64, emit operators.Emit) error {
		outs, ts, err := pipe.ApplyFlat(row)
		if err != nil || len(outs) == 0 {
			return err
		}
		recs := make([]log.Record, len(outs))
		for i, out := range outs {
			if recs[i], err = enc.Encode(out, ts); err != nil {
				return err
			}
		}
		for i := range recs {
			emit(log.ProduceRecord{Topic: sink.Topic, Record: recs[i]})
		}
		return nil
	}
}

// flatPushOutput queues the rows a table function makes of each joined
// row for a push query over a join; its iterator hands them out and
// counts them against LIMIT.
func flatPushOutput(pipe *operators.Pipeline, pending *[]types.Row) operators.JoinOutput {
	return func(row types.Row, _ int64, _ operators.Emit) error {
		outs, _, err := pipe.ApplyFlat(row)
		if err != nil {
			return err
		}
		*pending = append(*pending, outs...)
		return nil
	}
}
