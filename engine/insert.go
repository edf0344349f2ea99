package engine

import (
	"context"
	"fmt"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// prepareInsertValues describes INSERT INTO ... VALUES. Binding the cells
// against the target's column types infers the parameters' types. Its
// rows join the session's transaction: they reach the log when it
// commits (see txn.go).
func (s *session) prepareInsertValues(st *sql.Insert) (*statement, error) {
	b := &binding{}
	if _, _, err := s.e.bindInsert(st, b); err != nil {
		return nil, err
	}
	return &statement{params: b.paramTypes(), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		recs, size, err := s.e.insertRecords(st, args)
		if err != nil {
			return server.Result{}, err
		}
		if err := s.addWrites(recs, size); err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: fmt.Sprintf("INSERT 0 %d", len(recs))}, nil
	}}, nil
}

// insertTarget is the row layout of INSERT VALUES: the target's columns
// then ROWTIME.
type insertTarget struct {
	src  *catalog.Source
	cols []types.Column
}

// bindInsert binds every VALUES cell against its column's type. Columns
// not named are NULL; ROWTIME may be named to set the record timestamp.
func (e *Engine) bindInsert(st *sql.Insert, b *binding) (*insertTarget, [][]expr.Expr, error) {
	src, err := e.cat.Source(st.Target)
	if err != nil {
		return nil, nil, errUnknownSource.Errorf("stream or table %s does not exist", st.Target)
	}
	if src.System {
		return nil, nil, errWrongObject.Errorf("%s is maintained by Runnel and cannot be written", src.Name)
	}
	if err := readOnly(src, "insert values into"); err != nil {
		return nil, nil, err
	}
	if src.Window != nil {
		// ksqlDB's words (its InsertValuesExecutor): a row gives no window.
		return nil, nil, errUnsupported.Errorf("Cannot insert values into windowed stream/table!")
	}
	if err := e.sourceFailure(src); err != nil {
		return nil, nil, err
	}
	t := &insertTarget{src: src, cols: append(append([]types.Column(nil), src.Columns...), types.Column{Name: planner.RowTime, Type: types.Bigint})}
	names := st.Columns
	if len(names) == 0 {
		for _, c := range src.Columns {
			names = append(names, c.Name)
		}
	}
	idx := make([]int, len(names))
	seen := map[int]bool{}
	for i, n := range names {
		idx[i] = -1
		for ci, c := range t.cols {
			if c.Name == n {
				idx[i] = ci
			}
		}
		if idx[i] < 0 {
			return nil, nil, errUnknownColumn.Errorf("column %s does not exist in %s", n, src.Name)
		}
		if seen[idx[i]] {
			return nil, nil, errDuplicateColumn.Errorf("column %s is named more than once", n)
		}
		seen[idx[i]] = true
	}
	// One binder for every row: a parameter is one parameter wherever it
	// occurs, and binding stays linear in the rows (a binder per row
	// made the parameter bookkeeping quadratic).
	b.maxValueBytes = e.opts.MaxValueBytes
	binder := b.newBinder(nil)
	rows := make([][]expr.Expr, len(st.Rows))
	for r, cells := range st.Rows {
		if len(cells) != len(names) {
			return nil, nil, errSyntax.Errorf("VALUES row %d has %d values for %d columns", r+1, len(cells), len(names))
		}
		row := make([]expr.Expr, len(t.cols))
		for i, cell := range cells {
			ex, err := binder.BindAs(cell, t.cols[idx[i]].Type)
			if err != nil {
				return nil, nil, fmt.Errorf("column %s: %w", names[i], err)
			}
			row[idx[i]] = ex
		}
		rows[r] = row
	}
	return t, rows, nil
}

// insertRecords evaluates the rows of INSERT ... VALUES into records,
// and returns them with their size as a transaction counts it.
func (e *Engine) insertRecords(st *sql.Insert, args []types.Value) ([]log.ProduceRecord, int64, error) {
	t, rows, err := e.bindInsert(st, &binding{values: args})
	if err != nil {
		return nil, 0, err
	}
	w, err := newRowWriter(t.src)
	if err != nil {
		return nil, 0, err
	}
	recs := make([]log.ProduceRecord, 0, len(rows))
	var size int64
	vals := make(types.Row, len(t.cols))
	for _, r := range rows {
		clear(vals)
		for i, ex := range r {
			if ex == nil {
				continue
			}
			if vals[i], err = ex.Eval(nil); err != nil {
				return nil, 0, err
			}
		}
		rec, err := w.encode(vals)
		if err != nil {
			return nil, 0, err
		}
		recs = append(recs, rec)
		size += recordSize(rec)
	}
	return recs, size, nil
}

// rowWriter encodes rows written to a stream or table (INSERT VALUES,
// COPY FROM) into its topic's records. A row holds the source's columns
// then ROWTIME.
type rowWriter struct {
	src *catalog.Source
	enc *operators.Encoder
	// tsCol is the TIMESTAMP column, when the source has one whose value
	// is a time (not a string to parse): it stamps rows that set no
	// ROWTIME. -1 when there is none.
	tsCol int
}

func newRowWriter(src *catalog.Source) (*rowWriter, error) {
	enc, err := build.NewEncoder(src)
	if err != nil {
		return nil, err
	}
	w := &rowWriter{src: src, enc: enc, tsCol: -1}
	if tc := src.Props["TIMESTAMP"]; tc != "" {
		if c, ok := src.Column(tc); ok && c.Type.Kind != types.KindString {
			for i, col := range src.Columns {
				if col.Name == c.Name {
					w.tsCol = i
				}
			}
		}
	}
	return w, nil
}

// encode turns a row (the source's columns, then ROWTIME) into a record.
func (w *rowWriter) encode(vals types.Row) (log.ProduceRecord, error) {
	src := w.src
	n := len(src.Columns)
	if src.Kind == catalog.KindTable {
		for i, c := range src.Columns {
			if c.Key && vals[i].IsNull() {
				return log.ProduceRecord{}, errNotNull.Errorf("a value for the PRIMARY KEY column %s is required: a table row needs a key", c.Name)
			}
		}
	}
	ts := log.NoTimestamp
	switch {
	case !vals[n].IsNull():
		ts = vals[n].Int()
	case w.tsCol >= 0 && !vals[w.tsCol].IsNull():
		ts = vals[w.tsCol].Int()
	}
	rec, err := w.enc.Encode(vals[:n], ts)
	if err != nil {
		return log.ProduceRecord{}, errData.Errorf("cannot encode row for %s: %v", src.Name, err)
	}
	return log.ProduceRecord{Topic: src.Topic, Record: rec}, nil
}

// recordOverhead is what a buffered record costs beyond its key and
// value: the record's own fields and its slot in the transaction.
const recordOverhead = 128

// recordSize is a buffered record's size as MaxTransactionBytes counts
// it.
func recordSize(rec log.ProduceRecord) int64 {
	return int64(len(rec.Key)+len(rec.Value)) + recordOverhead
}
