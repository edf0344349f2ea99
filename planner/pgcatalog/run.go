package pgcatalog

import (
	"context"
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// execution is the state of one run of a Plan: the bounds' counters and
// the virtual tables built so far (each is built once per run).
type execution struct {
	ctx    context.Context
	env    *Env
	work   int64
	tables map[*vtable][]types.Row
}

// charge counts n row combinations examined, failing past the bound and
// when the statement is cancelled.
func (x *execution) charge(n int64) error {
	before := x.work
	x.work += n
	if x.work > x.env.MaxWork {
		return ErrTooLarge.Errorf("catalog query examines more than %d row combinations", x.env.MaxWork)
	}
	if before>>12 != x.work>>12 {
		return x.ctx.Err()
	}
	return nil
}

// checkRows fails when an intermediate result grows past the bound.
func (x *execution) checkRows(n int) error {
	if n > x.env.MaxRows {
		return ErrTooLarge.Errorf("catalog query has an intermediate result of more than %d rows", x.env.MaxRows)
	}
	return nil
}

// Run computes the rows.
func (p *Plan) Run(ctx context.Context) ([]types.Row, error) {
	p.x = &execution{ctx: ctx, env: p.env, tables: map[*vtable][]types.Row{}}
	defer func() { p.x = nil }()
	rows, err := p.root.run(p.x, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		for i, cast := range p.cast {
			if cast && !r[i].IsNull() {
				r[i] = types.NewString(arrayText(r[i], p.root.columns()[i].t))
			}
		}
	}
	return rows, nil
}

// concat is outer's values followed by each of parts'.
func concat(outer types.Row, parts ...types.Row) types.Row {
	n := len(outer)
	for _, p := range parts {
		n += len(p)
	}
	r := make(types.Row, 0, n)
	r = append(r, outer...)
	for _, p := range parts {
		r = append(r, p...)
	}
	return r
}

// truth evaluates a condition: only TRUE passes.
func truth(e expr.Expr, row types.Row) (bool, error) {
	v, err := e.Eval(row)
	if err != nil {
		return false, err
	}
	return !v.IsNull() && v.Kind() == types.KindBoolean && v.Bool(), nil
}

// tableRel reads a virtual table.
type tableRel struct {
	t     *vtable
	alias string
}

func (r *tableRel) columns() []col {
	out := make([]col, len(r.t.cols))
	for i, c := range r.t.cols {
		out[i] = col{qual: r.alias, name: c.Name, t: c.Type}
	}
	return out
}

func (r *tableRel) run(x *execution, _ types.Row) ([]types.Row, error) {
	rows, ok := x.tables[r.t]
	if !ok {
		rows = r.t.build(x.env)
		x.tables[r.t] = rows
	}
	if err := x.checkRows(len(rows)); err != nil {
		return nil, err
	}
	return rows, nil
}

// aliasRel gives a derived table its alias.
type aliasRel struct {
	inner rel
	alias string
}

func (r *aliasRel) columns() []col {
	in := r.inner.columns()
	out := make([]col, len(in))
	for i, c := range in {
		out[i] = col{qual: r.alias, name: c.name, t: c.t}
	}
	return out
}

func (r *aliasRel) run(x *execution, outer types.Row) ([]types.Row, error) {
	return r.inner.run(x, outer)
}

// joinRel is a nested-loop join: CROSS (with ON: INNER), LEFT or RIGHT.
type joinRel struct {
	left, right rel
	kind        ast.JoinType
	on          expr.Expr
	outerW      int
}

func (r *joinRel) columns() []col {
	return append(append([]col{}, r.left.columns()...), r.right.columns()...)
}

func (r *joinRel) run(x *execution, outer types.Row) ([]types.Row, error) {
	left, err := r.left.run(x, outer)
	if err != nil {
		return nil, err
	}
	right, err := r.right.run(x, outer)
	if err != nil {
		return nil, err
	}
	lw, rw := len(r.left.columns()), len(r.right.columns())
	// A nested loop examines every pair: charged before it starts, so a
	// hostile cross join is refused at once rather than after the bound's
	// worth of work.
	if err := x.charge(int64(len(left)) * int64(len(right))); err != nil {
		return nil, err
	}
	var out []types.Row
	matchedRight := make([]bool, len(right))
	for _, l := range left {
		if err := x.ctx.Err(); err != nil {
			return nil, err
		}
		matched := false
		for j, rr := range right {
			row := concat(outer, l, rr)
			if r.on != nil {
				ok, err := truth(r.on, row)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			matched, matchedRight[j] = true, true
			out = append(out, row[len(outer):])
			if err := x.checkRows(len(out)); err != nil {
				return nil, err
			}
		}
		if !matched && r.kind == ast.LeftJoin {
			out = append(out, concat(l, make(types.Row, rw)))
		}
	}
	if r.kind == ast.RightJoin {
		for j, rr := range right {
			if !matchedRight[j] {
				out = append(out, concat(make(types.Row, lw), rr))
			}
		}
	}
	if err := x.checkRows(len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// orderKey is one ORDER BY item: an output column (perhaps hidden).
type orderKey struct {
	col        int
	desc       bool
	nullsFirst bool
}

// sortRows sorts rows by keys, stably, with PostgreSQL's NULL placement
// (last ascending, first descending, unless NULLS FIRST|LAST says).
func sortRows(x *execution, rows []types.Row, keys []orderKey) error {
	if len(keys) == 0 {
		return nil
	}
	if err := x.charge(int64(len(rows)) * int64(bitsLen(len(rows)))); err != nil {
		return err
	}
	sort.SliceStable(rows, func(i, j int) bool {
		for _, k := range keys {
			a, b := rows[i][k.col], rows[j][k.col]
			if a.IsNull() || b.IsNull() {
				if a.IsNull() == b.IsNull() {
					continue
				}
				return a.IsNull() == k.nullsFirst
			}
			c := types.Compare(a, b)
			if c == 0 {
				continue
			}
			return (c < 0) != k.desc
		}
		return false
	})
	return nil
}

func bitsLen(n int) int {
	b := 1
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

// limitRows applies OFFSET and LIMIT.
func limitRows(rows []types.Row, limit, offset expr.Expr) ([]types.Row, error) {
	if offset != nil {
		v, err := offset.Eval(nil)
		if err != nil {
			return nil, err
		}
		if n := v.Int(); !v.IsNull() && n > 0 {
			if n >= int64(len(rows)) {
				return nil, nil
			}
			rows = rows[n:]
		}
	}
	if limit != nil {
		v, err := limit.Eval(nil)
		if err != nil {
			return nil, err
		}
		if n := v.Int(); !v.IsNull() && n >= 0 && n < int64(len(rows)) {
			rows = rows[:n]
		}
	}
	return rows, nil
}

// rowKey is a row's identity for DISTINCT and GROUP BY.
func rowKey(vals []types.Value) string {
	var b strings.Builder
	for _, v := range vals {
		b.WriteByte(byte(v.Kind()))
		b.WriteString(types.Format(v, valueType(v)))
		b.WriteByte(0)
	}
	return b.String()
}

// valueType is the type a value's kind tells, enough to format it.
func valueType(v types.Value) types.Type {
	switch v.Kind() {
	case types.KindDecimal:
		_, s := v.Decimal()
		return types.Decimal(38, int(s))
	case types.KindArray:
		if l := v.List(); len(l) > 0 {
			return types.Array(valueType(l[0]))
		}
		return types.Array(types.String)
	}
	return types.Type{Kind: v.Kind()}
}

// distinctRows keeps the first of each set of rows equal in their first
// n columns.
func distinctRows(rows []types.Row, n int) []types.Row {
	seen := map[string]bool{}
	out := rows[:0]
	for _, r := range rows {
		k := rowKey(r[:n])
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// unionRel is UNION [ALL] of queries, with its ORDER BY and LIMIT.
// distinct[i] is set when parts[i] follows a UNION (not UNION ALL): the
// rows so far are then made distinct, as UNION associates to the left.
type unionRel struct {
	parts         []rel
	distinct      []bool
	order         []orderKey
	limit, offset expr.Expr
}

func (u *unionRel) columns() []col {
	cols := append([]col{}, u.parts[0].columns()...)
	for i := range cols {
		cols[i].qual = ""
		for _, p := range u.parts[1:] {
			if cols[i].t.Kind == types.KindNull {
				cols[i].t = p.columns()[i].t
			}
		}
	}
	return cols
}

func (u *unionRel) run(x *execution, outer types.Row) ([]types.Row, error) {
	var out []types.Row
	for i, p := range u.parts {
		rows, err := p.run(x, outer)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if err := x.checkRows(len(out)); err != nil {
			return nil, err
		}
		if u.distinct[i] {
			out = distinctRows(out, len(u.columns()))
		}
	}
	if err := sortRows(x, out, u.order); err != nil {
		return nil, err
	}
	return limitRows(out, u.limit, u.offset)
}

// arrayText renders an ARRAY in PostgreSQL's text form: {a,b,NULL}, with
// elements quoted when they must be.
func arrayText(v types.Value, t types.Type) string {
	var b strings.Builder
	b.WriteByte('{')
	elem := types.String
	if t.Elem != nil {
		elem = *t.Elem
	}
	for i, e := range v.List() {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case e.IsNull():
			b.WriteString("NULL")
		case e.Kind() == types.KindBoolean:
			if e.Bool() {
				b.WriteByte('t')
			} else {
				b.WriteByte('f')
			}
		case e.Kind() == types.KindArray:
			b.WriteString(arrayText(e, elem))
		default:
			s := types.Format(e, elem)
			if s == "" || strings.EqualFold(s, "NULL") || strings.ContainsAny(s, "{},\"\\ \t\n") {
				s = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
			}
			b.WriteString(s)
		}
	}
	b.WriteByte('}')
	return b.String()
}
