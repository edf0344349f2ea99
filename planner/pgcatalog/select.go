package pgcatalog

import (
	"math"
	"sort"
	"strings"

	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// selectRel is one SELECT: FROM, WHERE, grouping and aggregates, window
// functions, HAVING, the select list, DISTINCT, ORDER BY and LIMIT, run
// in that order over materialized rows.
type selectRel struct {
	outerW  int
	from    rel // nil: one row of no columns
	fromW   int // the FROM's columns; the scope's slots follow them
	sc      *scope
	where   expr.Expr
	fields  []expr.Expr // the select list, then hidden ORDER BY keys
	names   []string
	visible int
	groupBy []expr.Expr
	grouped bool
	having  expr.Expr
	aggs    []*aggSlot
	windows []*winSlot
	order   []orderKey
	limit   expr.Expr
	offset  expr.Expr

	distinct bool
}

func (s *selectRel) columns() []col {
	out := make([]col, s.visible)
	for i := range out {
		out[i] = col{name: s.names[i], t: s.fields[i].Type()}
	}
	return out
}

// slot adds a column for an aggregate's or a window function's value to
// the scope and returns its index in the rows expressions see.
func (s *selectRel) slot(t types.Type) int {
	i := s.sc.width()
	s.sc.cols = append(s.sc.cols, col{t: t})
	return i
}

func (s *selectRel) run(x *execution, outer types.Row) ([]types.Row, error) {
	local := []types.Row{{}}
	if s.from != nil {
		var err error
		if local, err = s.from.run(x, outer); err != nil {
			return nil, err
		}
	}
	width := len(outer) + len(s.sc.cols)
	rows := make([]types.Row, 0, len(local))
	for _, l := range local {
		r := make(types.Row, width)
		copy(r, outer)
		copy(r[len(outer):], l)
		if s.where != nil {
			if err := x.charge(1); err != nil {
				return nil, err
			}
			ok, err := truth(s.where, r)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		rows = append(rows, r)
	}
	var err error
	if s.grouped {
		if rows, err = s.group(x, rows, outer, width); err != nil {
			return nil, err
		}
	}
	for _, w := range s.windows {
		if err := w.compute(x, rows); err != nil {
			return nil, err
		}
	}
	out := make([]types.Row, 0, len(rows))
	for _, r := range rows {
		if s.having != nil {
			ok, err := truth(s.having, r)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		o := make(types.Row, len(s.fields))
		for i, f := range s.fields {
			if o[i], err = f.Eval(r); err != nil {
				return nil, err
			}
		}
		out = append(out, o)
	}
	if s.distinct {
		out = distinctRows(out, s.visible)
	}
	if err := sortRows(x, out, s.order); err != nil {
		return nil, err
	}
	if out, err = limitRows(out, s.limit, s.offset); err != nil {
		return nil, err
	}
	if len(s.fields) > s.visible {
		for i := range out {
			out[i] = out[i][:s.visible]
		}
	}
	return out, nil
}

// group folds rows into one row per group: the group's first row, with
// the aggregates' values in their slots. Without GROUP BY, all rows are
// one group, even none.
func (s *selectRel) group(x *execution, rows []types.Row, outer types.Row, width int) ([]types.Row, error) {
	type group struct{ members []types.Row }
	var order []string
	groups := map[string]*group{}
	for _, r := range rows {
		vals := make([]types.Value, len(s.groupBy))
		for i, g := range s.groupBy {
			v, err := g.Eval(r)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		k := rowKey(vals)
		g, ok := groups[k]
		if !ok {
			g = &group{}
			groups[k] = g
			order = append(order, k)
		}
		g.members = append(g.members, r)
	}
	if len(s.groupBy) == 0 && len(order) == 0 {
		order = append(order, "")
		groups[""] = &group{}
	}
	out := make([]types.Row, 0, len(order))
	for _, k := range order {
		g := groups[k]
		var rep types.Row
		if len(g.members) > 0 {
			rep = append(types.Row(nil), g.members[0]...)
		} else {
			rep = make(types.Row, width)
			copy(rep, outer)
		}
		for _, a := range s.aggs {
			v, err := a.compute(x, g.members)
			if err != nil {
				return nil, err
			}
			rep[a.idx] = v
		}
		out = append(out, rep)
	}
	return out, nil
}

// aggSlot is one aggregate call.
type aggSlot struct {
	name     string
	args     []expr.Expr // none for count(*)
	distinct bool
	idx      int
	t        types.Type
}

// aggType is the result type of an aggregate, or ok false when the
// package has no such aggregate.
func aggType(name string, args []expr.Expr) (types.Type, bool) {
	arg := types.Null
	if len(args) > 0 {
		arg = args[0].Type()
	}
	switch name {
	case "count":
		return types.Bigint, true
	case "sum":
		if arg.Kind == types.KindInt || arg.Kind == types.KindBigint {
			return types.Bigint, true
		}
		return types.Double, true
	case "avg":
		return types.Double, true
	case "min", "max":
		return arg, true
	case "string_agg":
		return types.String, true
	case "array_agg":
		return types.Array(arg), true
	case "bool_and", "bool_or", "every":
		return types.Boolean, true
	}
	return types.Type{}, false
}

func (a *aggSlot) compute(x *execution, members []types.Row) (types.Value, error) {
	if err := x.charge(int64(len(members))); err != nil {
		return types.Value{}, err
	}
	var vals [][]types.Value
	seen := map[string]bool{}
	for _, r := range members {
		v := make([]types.Value, len(a.args))
		for i, e := range a.args {
			var err error
			if v[i], err = e.Eval(r); err != nil {
				return types.Value{}, err
			}
		}
		if a.name != "count" || len(a.args) > 0 {
			if len(v) > 0 && v[0].IsNull() && a.name != "array_agg" {
				continue
			}
		}
		if a.distinct {
			k := rowKey(v)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		vals = append(vals, v)
	}
	switch a.name {
	case "count":
		return types.NewBigint(int64(len(vals))), nil
	case "array_agg":
		if len(vals) == 0 {
			return types.Value{}, nil
		}
		l := make([]types.Value, len(vals))
		for i, v := range vals {
			l[i] = v[0]
		}
		return types.NewArray(l), nil
	}
	if len(vals) == 0 {
		return types.Value{}, nil
	}
	switch a.name {
	case "sum", "avg":
		var fs float64
		var is int64
		for _, v := range vals {
			fs += v[0].AsFloat()
			if a.t.Kind == types.KindBigint {
				if n := v[0].Int(); (n > 0 && is > math.MaxInt64-n) || (n < 0 && is < math.MinInt64-n) {
					return types.Value{}, expr.Errorf(expr.ErrOutOfRange, "bigint out of range in sum")
				}
				is += v[0].Int()
			}
		}
		if a.name == "avg" {
			return types.NewDouble(fs / float64(len(vals))), nil
		}
		if a.t.Kind == types.KindBigint {
			return types.NewBigint(is), nil
		}
		return types.NewDouble(fs), nil
	case "min", "max":
		best := vals[0][0]
		for _, v := range vals[1:] {
			c := compareValues(v[0], best)
			if (a.name == "min" && c < 0) || (a.name == "max" && c > 0) {
				best = v[0]
			}
		}
		return best, nil
	case "string_agg":
		var b strings.Builder
		for i, v := range vals {
			if i > 0 && len(v) > 1 && !v[1].IsNull() {
				b.WriteString(v[1].Str())
			}
			b.WriteString(types.Format(v[0], valueType(v[0])))
			if b.Len() > 16<<20 {
				return types.Value{}, ErrTooLarge.Errorf("string_agg result of more than 16 MiB")
			}
		}
		return types.NewString(b.String()), nil
	case "bool_and", "every", "bool_or":
		and := a.name != "bool_or"
		res := and
		for _, v := range vals {
			if and {
				res = res && v[0].Bool()
			} else {
				res = res || v[0].Bool()
			}
		}
		return types.NewBoolean(res), nil
	}
	return types.Value{}, ErrUnsupported.Errorf("aggregate %s is not supported", a.name)
}

// winSlot is one window function: row_number(), rank() or dense_rank()
// OVER (PARTITION BY ... ORDER BY ...).
type winSlot struct {
	name      string
	partition []expr.Expr
	order     []expr.Expr
	desc      []bool
	idx       int
}

func (w *winSlot) compute(x *execution, rows []types.Row) error {
	if err := x.charge(int64(len(rows)) * int64(bitsLen(len(rows)))); err != nil {
		return err
	}
	type item struct {
		row  types.Row
		keys []types.Value
	}
	parts := map[string][]item{}
	var order []string
	for _, r := range rows {
		pv := make([]types.Value, len(w.partition))
		for i, e := range w.partition {
			v, err := e.Eval(r)
			if err != nil {
				return err
			}
			pv[i] = v
		}
		ov := make([]types.Value, len(w.order))
		for i, e := range w.order {
			v, err := e.Eval(r)
			if err != nil {
				return err
			}
			ov[i] = v
		}
		k := rowKey(pv)
		if _, ok := parts[k]; !ok {
			order = append(order, k)
		}
		parts[k] = append(parts[k], item{r, ov})
	}
	cmp := func(a, b []types.Value) int {
		for i := range a {
			c := compareValues(a[i], b[i])
			if c == 0 && a[i].IsNull() != b[i].IsNull() {
				c = 1
				if a[i].IsNull() {
					c = -1
				}
				c = -c // NULLs last
			}
			if w.desc[i] {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}
	for _, k := range order {
		items := parts[k]
		sort.SliceStable(items, func(i, j int) bool { return cmp(items[i].keys, items[j].keys) < 0 })
		rank, dense := int64(0), int64(0)
		for i, it := range items {
			if i == 0 || cmp(items[i-1].keys, it.keys) != 0 {
				rank = int64(i + 1)
				dense++
			}
			n := int64(i + 1)
			switch w.name {
			case "rank":
				n = rank
			case "dense_rank":
				n = dense
			}
			it.row[w.idx] = types.NewBigint(n)
		}
	}
	return nil
}
