package build

import (
	"container/heap"
	"context"
	"io"
	"sort"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// pullChunk bounds the stored rows one step of a pull scan reads before it
// hands rows to its caller: the scan holds at most that many rows at a
// time when it streams (no ORDER BY), and looks at the caller's context
// between steps.
const pullChunk = 256

// Pull builds a pull query over a table's materialized state: the plan's
// root is a Result in Pull mode over Project, [Sort], [Filter] and a
// materialized Scan. materializer is the id of the query that materializes
// the table (see Materializer). The caller has waited for the table to
// catch up with the writes the query must see; the scan reads the stores
// as they are when each step runs. ctx bounds looking up the table's
// partitions.
//
// Memory: without ORDER BY the rows stream, pullChunk at a time; with
// ORDER BY and LIMIT n, the scan keeps the n first rows; with ORDER BY
// alone, every row the filter keeps.
func (b *Builder) Pull(ctx context.Context, plan *planner.Plan, materializer string) (RowIter, error) {
	return b.PullFrom(ctx, plan, func(part int32) PartitionReader {
		return localPartition{b.env.State.Reader(MaterializedStore(materializer, part))}
	})
}

// PartitionReader reads one partition of a materialized table for a pull
// scan. Scan calls fn with each stored key and value in [start, end) (nil:
// unbounded), in key order, until fn returns false, as state.Reader.Scan
// does; the slices are valid only during the call. It may block (a
// cluster node reads the partitions other nodes hold through them): ctx
// bounds it.
type PartitionReader interface {
	Scan(ctx context.Context, start, end []byte, fn func(key, value []byte) bool) error
}

// localPartition reads a partition in this process's stores.
type localPartition struct{ r *state.Reader }

func (l localPartition) Scan(_ context.Context, start, end []byte, fn func(key, value []byte) bool) error {
	return l.r.Scan(start, end, fn)
}

// PullFrom is Pull reading each partition the scan needs through
// read(partition) rather than this process's stores: a cluster node
// forwards the partitions that other nodes hold (engine/cluster_pull.go).
// read is called once per chunk of a partition, from the goroutine that
// calls the iterator's Next.
func (b *Builder) PullFrom(ctx context.Context, plan *planner.Plan, read func(part int32) PartitionReader) (RowIter, error) {
	root, r, err := lowerPull(plan)
	if err != nil {
		return nil, err
	}
	src := r.scan.Source
	partitions, err := b.Partitions(ctx, src.Topic)
	if err != nil {
		return nil, err
	}
	// The table's key encoder is built for a key lookup only: a scan of
	// every row needs none.
	lookup := func(v types.Value) ([]byte, []byte, int32, error) {
		enc, err := NewEncoder(src)
		if err != nil {
			return nil, nil, 0, err
		}
		return lookupRange(v, enc, src, partitions)
	}
	return pullRows(root, r, pullSpace{partitions: partitions, read: read, record: operators.MaterializedRecord, lookup: lookup})
}

// lowerPull lowers a pull query's plan: its Result, and the rows under it.
func lowerPull(plan *planner.Plan) (*planner.Result, *rows, error) {
	root := plan.Result()
	if root == nil || root.Mode != planner.Pull {
		return nil, nil, errShape(plan.Root)
	}
	r, err := lowerRows(root.Input)
	return root, r, err
}

// pullSpace is where a pull scan finds a table's rows: its partitions,
// how to read one, how a stored value becomes the table's record, and
// which stored keys, in which partition, hold one key's rows.
type pullSpace struct {
	partitions int32
	read       func(part int32) PartitionReader
	record     func(v []byte, part int32) log.Record
	// lookup returns the range of stored keys that holds the rows of the
	// table key v, and the partition that holds them: -1 when it cannot
	// tell, and every partition is read in that range.
	lookup func(v types.Value) (start, end []byte, part int32, err error)
}

// pullRows builds the scan of a pull query lowered as r, with root its
// Result, over space.
func pullRows(root *planner.Result, r *rows, space pullSpace) (RowIter, error) {
	it := &pullIter{read: space.read, record: space.record, dec: r.dec, filter: r.filter, project: r.project.Exprs,
		limit: root.Limit, last: space.partitions - 1, scratch: make([]byte, 0, 64)}
	if r.sort != nil {
		it.order = r.sort.Items
	}
	// A key lookup reads one partition, and in it one key (or one key's
	// windows); anything else scans every partition.
	if r.scan.Lookup != nil {
		v, err := r.scan.Lookup.Eval(nil)
		if err != nil {
			return nil, err
		}
		part := int32(-1)
		if it.start, it.end, part, err = space.lookup(v); err != nil {
			return nil, err
		}
		if part >= 0 {
			it.part, it.last = part, part
		}
	}
	return it, nil
}

// lookupRange is the store range and partition of a materialized table
// that hold the rows of key v: the table encodes its key with enc.
func lookupRange(v types.Value, enc *operators.Encoder, src *catalog.Source, partitions int32) (start, end []byte, partition int32, err error) {
	key, err := enc.EncodeKey(types.Row{v})
	if err != nil {
		return nil, nil, 0, err
	}
	partition = log.PartitionFor(key, partitions)
	if src.Window == nil {
		start = append([]byte{'k'}, key...)
		return start, append(append([]byte(nil), start...), 0), partition, nil
	}
	return window.AppendStoreKeyPrefix([]byte{'k'}, key), window.AppendStoreKeyPrefixEnd([]byte{'k'}, key), partition, nil
}

// pullIter scans a materialized table: partition by partition, in key
// order, a chunk at a time.
type pullIter struct {
	read    func(part int32) PartitionReader
	record  func(v []byte, part int32) log.Record
	dec     *operators.Decoder
	filter  expr.Expr
	project []expr.Expr
	order   []planner.OrderItem
	limit   int64

	// part is the partition being read, last the last to read; start and
	// end bound the keys read (nil: all).
	part, last int32
	start, end []byte
	// resume is where the current partition's next chunk starts; nil at
	// the partition's start.
	resume []byte
	// scratch holds the last key a chunk read, to compute resume.
	scratch []byte
	out     []types.Row
	sent    int64
	done    bool
}

// Next implements RowIter.
func (p *pullIter) Next(ctx context.Context) (types.Row, error) {
	for {
		if p.limit < 0 || (p.limit > 0 && p.sent >= p.limit) {
			return nil, io.EOF
		}
		if len(p.out) > 0 {
			row := p.out[0]
			p.out[0] = nil
			p.out = p.out[1:]
			p.sent++
			return row, nil
		}
		if p.done {
			return nil, io.EOF
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.order != nil {
			if err := p.sortAll(ctx); err != nil {
				return nil, err
			}
			continue
		}
		p.out = p.out[:0]
		if err := p.step(ctx, func(in types.Row) error {
			row, err := p.projectRow(in)
			if err == nil {
				p.out = append(p.out, row)
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
}

// Close implements RowIter: a scan holds nothing open between steps.
func (p *pullIter) Close() { p.out, p.done = nil, true }

// step reads up to pullChunk stored rows of the current partition from
// where the last step stopped, and calls fn with each decoded row the
// filter keeps. It moves to the next partition when this one is done, and
// sets done after the last.
func (p *pullIter) step(ctx context.Context, fn func(in types.Row) error) error {
	from := p.start
	if p.resume != nil {
		from = p.resume
	}
	part := p.part
	n := 0
	var rowErr error
	err := p.read(part).Scan(ctx, from, p.end, func(k, v []byte) bool {
		n++
		p.scratch = append(p.scratch[:0], k...)
		rec := p.record(v, part)
		in, ok, err := p.dec.Decode(&rec)
		if err == nil && ok {
			if rowErr = p.keep(in, fn); rowErr != nil {
				return false
			}
		}
		// A row that does not decode is not part of the table.
		return n < pullChunk
	})
	if err == nil {
		err = rowErr
	}
	if err != nil {
		return err
	}
	if n < pullChunk {
		p.part++
		p.resume = nil
		p.done = p.part > p.last
		return nil
	}
	// The next chunk starts right after the last key read.
	p.resume = append(append(p.resume[:0], p.scratch...), 0)
	return nil
}

// keep applies the filter and hands a kept row to fn.
func (p *pullIter) keep(in types.Row, fn func(types.Row) error) error {
	if p.filter != nil {
		v, err := p.filter.Eval(in)
		if err != nil {
			return err
		}
		if v.IsNull() || !v.Bool() {
			return nil
		}
	}
	return fn(in)
}

func (p *pullIter) projectRow(in types.Row) (types.Row, error) {
	row := make(types.Row, len(p.project))
	for i, e := range p.project {
		var err error
		if row[i], err = e.Eval(in); err != nil {
			return nil, err
		}
	}
	return row, nil
}

// sortAll reads every partition, keeps the rows in ORDER BY order — only
// the first LIMIT of them when there is a limit — and leaves them in out.
// Ties keep scan order, as a stable sort would.
func (p *pullIter) sortAll(ctx context.Context) error {
	h := &sortHeap{order: p.order}
	var seq int64
	for !p.done {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := p.step(ctx, func(in types.Row) error {
			row, err := p.projectRow(in)
			if err != nil {
				return err
			}
			s := sortRow{row: row, seq: seq, keys: make(types.Row, len(p.order))}
			seq++
			for i, o := range p.order {
				if s.keys[i], err = o.Expr.Eval(in); err != nil {
					return err
				}
			}
			if p.limit <= 0 {
				h.rows = append(h.rows, s)
				return nil
			}
			// A bounded heap whose top is the row that sorts last: a new
			// row that sorts before it takes its place.
			if int64(len(h.rows)) < p.limit {
				heap.Push(h, s)
			} else if h.before(s, h.rows[0]) {
				h.rows[0] = s
				heap.Fix(h, 0)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	sort.Slice(h.rows, func(i, j int) bool { return h.before(h.rows[i], h.rows[j]) })
	p.out = make([]types.Row, len(h.rows))
	for i, s := range h.rows {
		p.out[i] = s.row
	}
	p.order = nil
	return nil
}

// sortRow is a projected row with its ORDER BY values and its place in
// scan order.
type sortRow struct {
	row  types.Row
	keys types.Row
	seq  int64
}

// sortHeap is a max-heap in ORDER BY order: its top sorts last.
type sortHeap struct {
	order []planner.OrderItem
	rows  []sortRow
}

// before reports whether a sorts before b: by the ORDER BY values, then
// by scan order.
func (h *sortHeap) before(a, b sortRow) bool {
	for k, o := range h.order {
		c := types.Compare(a.keys[k], b.keys[k])
		if o.Desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return a.seq < b.seq
}

func (h *sortHeap) Len() int           { return len(h.rows) }
func (h *sortHeap) Less(i, j int) bool { return h.before(h.rows[j], h.rows[i]) }
func (h *sortHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *sortHeap) Push(x any)         { h.rows = append(h.rows, x.(sortRow)) }
func (h *sortHeap) Pop() any {
	x := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return x
}
