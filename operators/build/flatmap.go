package build

import (
	"context"
	"io"

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
