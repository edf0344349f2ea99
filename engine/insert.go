package engine

import (
	"context"
	"fmt"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// prepareInsertValues describes INSERT INTO ... VALUES. Binding the cells
// against the target's column types infers the parameters' types.
func (s *session) prepareInsertValues(st *sql.Insert) (*statement, error) {
	b := &binding{}
	if _, _, err := s.e.bindInsert(st, b); err != nil {
		return nil, err
	}
	return &statement{params: b.paramTypes(), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		n, err := s.e.insertValues(ctx, st, args)
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: fmt.Sprintf("INSERT 0 %d", n)}, nil
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
		return nil, nil, &Error{Code: "42P01", Msg: fmt.Sprintf("stream or table %s does not exist", st.Target)}
	}
	if src.System {
		return nil, nil, &Error{Code: "42809", Msg: fmt.Sprintf("%s is maintained by Runnel and cannot be written", src.Name)}
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
			return nil, nil, &Error{Code: "42703", Msg: fmt.Sprintf("column %s does not exist in %s", n, src.Name)}
		}
		if seen[idx[i]] {
			return nil, nil, &Error{Code: "42701", Msg: fmt.Sprintf("column %s is named more than once", n)}
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
			return nil, nil, &Error{Code: "42601", Msg: fmt.Sprintf("VALUES row %d has %d values for %d columns", r+1, len(cells), len(names))}
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

// insertValues appends the rows of INSERT ... VALUES in one atomic append.
func (e *Engine) insertValues(ctx context.Context, st *sql.Insert, args []types.Value) (int, error) {
	t, rows, err := e.bindInsert(st, &binding{values: args})
	if err != nil {
		return 0, err
	}
	src := t.src
	enc, err := build.NewEncoder(src)
	if err != nil {
		return 0, err
	}
	n := len(src.Columns)
	recs := make([]log.Record, 0, len(rows))
	for _, r := range rows {
		vals := make(types.Row, len(t.cols))
		for i, ex := range r {
			if ex == nil {
				continue
			}
			if vals[i], err = ex.Eval(nil); err != nil {
				return 0, err
			}
		}
		if src.Kind == catalog.KindTable {
			for i, c := range src.Columns {
				if c.Key && vals[i].IsNull() {
					return 0, &Error{Code: "23502", Msg: fmt.Sprintf("a value for the PRIMARY KEY column %s is required: a table row needs a key", c.Name)}
				}
			}
		}
		ts := log.NoTimestamp
		if !vals[n].IsNull() {
			ts = vals[n].Int()
		}
		if tc := src.Props["TIMESTAMP"]; tc != "" && vals[n].IsNull() {
			if c, ok := src.Column(tc); ok {
				for i, col := range src.Columns {
					if col.Name == c.Name && !vals[i].IsNull() && c.Type.Kind != types.KindString {
						ts = vals[i].Int()
					}
				}
			}
		}
		rec, err := enc.Encode(vals[:n], ts)
		if err != nil {
			return 0, &Error{Code: "22000", Msg: fmt.Sprintf("cannot encode row for %s: %v", src.Name, err)}
		}
		recs = append(recs, rec)
	}
	if _, err := e.log.Append(ctx, src.Topic, recs); err != nil {
		return 0, fmt.Errorf("insert into %s: %w", src.Name, err)
	}
	return len(recs), nil
}
