package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// The select list of a join: how its columns are named and which are the
// result's key (README "Result schema" of tests/suites/joins).

// bindJoined binds a query over a join: WHERE as a Filter over the Join,
// then either an aggregation (whose key is its GROUP BY) or the select
// list, keyed by the join key.
func (p *Planner) bindJoined(q *sql.Query, from *fromClause) (*bound, error) {
	sel := q.Select
	bj := from.join
	sc := bj.scope
	binder := p.NewBinder(sc)
	b := &bound{from: from}
	var node Node = from.node
	if len(q.PartitionBy) > 0 {
		return nil, p.at(q.PartitionBy[0], ErrUnsupported.Errorf("PARTITION BY over a join is not supported: the result is keyed by the join key"))
	}
	if sel.Where != nil {
		f, err := binder.Bind(sel.Where)
		if err != nil {
			return nil, err
		}
		if k := f.Type().Kind; k != types.KindBoolean && k != types.KindNull {
			return nil, ErrTypeMismatch.Errorf("WHERE must be a BOOLEAN expression, not %s: %s", f.Type(), f)
		}
		node = &Filter{Input: node, Predicate: f}
	}
	natural := func(e ast.ExprNode) (string, bool) { return joinNaturalName(sc, e) }
	if sel.GroupBy != nil || hasAggregateCall(sel) {
		a, err := p.bindAggregate(q, sc, natural)
		if err != nil {
			return nil, err
		}
		// A join's result is keyed by the join key, never by a group:
		// the groups always go through a repartition.
		node = &Repartition{Input: node, Keys: a.agg.GroupBy, Purpose: "the group key", Retract: from.kind == catalog.KindTable}
		node = &Aggregate{Input: node, Aggregation: a.agg}
		if a.having != nil {
			node = &Having{Input: node, Predicate: a.having}
		}
		b.agg = a.agg
		b.project = &Project{Input: node, Exprs: a.exprs, Cols: a.cols}
		return b, b.bindLimit(sel)
	}
	// The select list's table functions read columns of a FlatMap over
	// the joined (and filtered) rows (tablefn.go); checkTableFunctions
	// has refused them over a join of tables.
	tf := &tableFnHook{base: len(node.Columns())}
	prev := binder.Hook
	binder.Hook = chainHooks(tf.hook, prev)
	exprs, cols, keyErr, err := p.joinProject(sel, bj, binder, natural)
	binder.Hook = prev
	if err != nil {
		return nil, err
	}
	node = tf.flatMap(node)
	b.project = &Project{Input: node, Exprs: exprs, Cols: cols}
	b.keyErr = keyErr
	return b, b.bindLimit(sel)
}

// joinNaturalName is the name an unaliased select item has by itself in a
// join: a qualified column is named after it, prefixed by its source's
// alias (ALIAS_NAME) when another source has a column of that name or it
// is a pseudo column; an unqualified one as written; a struct field after
// the field.
func joinNaturalName(sc *joinScope, e ast.ExprNode) (string, bool) {
	cn, ok := e.(*ast.ColumnNameExpr)
	if !ok {
		return naturalName(e)
	}
	name := cn.Name.Name.O
	if q := cn.Name.Table.O; q != "" && sc.clashes(name) {
		if js := sc.source(q); js != nil {
			return js.qualifier() + "_" + name, true
		}
	}
	return name, true
}

// joinField is one column of a join's select list.
type joinField struct {
	name string
	e    expr.Expr
	// ref is the row index of the column it reads when it is a plain
	// column reference, else -1.
	ref   int
	isKey bool
}

// joinProject binds the select list of a join. The result's key is, for
// each key equality, the first of its equivalent columns that the list
// selects (as a plain column, under the name the list gives it), or its
// synthetic column; that item reads the join key itself, whichever
// side's column it names. A foreign-key join is keyed by the left table's
// primary key instead. keyErr, when the list leaves a needed key column
// out, says so for a persistent query (a transient one needs no key).
func (p *Planner) joinProject(sel *ast.SelectStmt, bj *boundJoin, binder *expr.Binder,
	natural func(ast.ExprNode) (string, bool)) ([]expr.Expr, []types.Column, func(string) error, error) {
	sc := bj.scope
	row := bj.top.Cols
	var fields []joinField
	star := func(js *joinSource) {
		for i, c := range js.src.Columns {
			ri := js.off + i
			e := &expr.Column{Index: ri, Qualifier: js.qualifier(), Name: c.Name, T: c.Type}
			fields = append(fields, joinField{name: js.qualifier() + "_" + c.Name, e: e, ref: ri})
		}
	}
	names := newNamerWith(sel.Fields.Fields, natural)
	for _, sf := range sel.Fields.Fields {
		if sf.WildCard != nil {
			if q := sf.WildCard.Table.O; q != "" {
				js := sc.source(q)
				if js == nil {
					return nil, nil, nil, ErrUnknownSource.Errorf("'%s' is not a valid stream/table name or alias", q)
				}
				star(js)
				continue
			}
			// A synthetic key is no source's column: * shows it first.
			for _, k := range bj.keys {
				if k.synthetic != "" {
					fields = append(fields, joinField{name: k.synthetic, e: columnRef(k.index, row[k.index]), ref: k.index})
				}
			}
			for i := range sc.sources {
				star(&sc.sources[i])
			}
			continue
		}
		e, err := binder.Bind(sf.Expr)
		if err != nil {
			return nil, nil, nil, err
		}
		name := sf.AsName.O
		if name == "" {
			name = names.name(sf.Expr)
		}
		fields = append(fields, joinField{name: name, e: e, ref: columnIndex(e)})
	}

	// The key.
	var missing []joinKey
	found := 0
	if bj.fk != nil {
		for _, c := range bj.fk {
			if !markKey(fields, []int{c}, nil) {
				missing = append(missing, joinKey{viable: []int{c}})
				continue
			}
			found++
		}
	} else {
		for _, k := range bj.keys {
			cands := k.viable
			if k.synthetic != "" {
				cands = []int{k.index}
			}
			if !markKey(fields, cands, func(f *joinField) {
				// The key column reads the join key: for an unmatched row
				// it holds the present side's key, whichever side's column
				// names it.
				c := &expr.Column{Index: k.index, Name: row[k.index].Name, T: row[k.index].Type}
				if orig, ok := f.e.(*expr.Column); ok {
					c.Qualifier, c.Name = orig.Qualifier, orig.Name
				}
				f.e = c
			}) {
				missing = append(missing, k)
				continue
			}
			found++
		}
	}
	var keyErr func(string) error
	// A stream's records need not be unique per key: it is keyed by the
	// equalities the list selects, at least one. A table's rows are: it
	// needs every one.
	tableResult := bj.top.Kind == TableTable || bj.top.Kind == ForeignKey
	if len(missing) > 0 && (tableResult || found == 0) {
		k := missing[0]
		// The projection is at fault: the error is placed where it
		// starts (its first item, when that is an expression).
		var list ast.Node
		if f := sel.Fields.Fields; len(f) > 0 && f[0].Expr != nil {
			list = f[0].Expr
		}
		keyErr = func(sink string) error { return p.at(list, missingJoinKey(sc, bj, k, sink)) }
	}

	seen := map[string]bool{}
	exprs := make([]expr.Expr, 0, len(fields))
	cols := make([]types.Column, 0, len(fields))
	for _, f := range fields {
		if seen[f.name] {
			return nil, nil, nil, ErrDuplicateColumn.Errorf("column %s is in the projection more than once: give one an alias", quoteName(f.name))
		}
		seen[f.name] = true
		exprs = append(exprs, f.e)
		cols = append(cols, types.Column{Name: f.name, Type: outputType(f.e.Type()), Key: f.isKey})
	}
	return exprs, cols, keyErr, nil
}

// markKey marks as a key the first field that is a plain reference to
// the first of cands that any field references, and applies fix to it.
func markKey(fields []joinField, cands []int, fix func(*joinField)) bool {
	for _, c := range cands {
		for i := range fields {
			f := &fields[i]
			if f.isKey || f.ref != c {
				continue
			}
			f.isKey = true
			if fix != nil {
				fix(f)
			}
			return true
		}
	}
	return false
}

// missingJoinKey is ksqlDB's "Key missing from projection" error for key k
// of a join writing sink.
func missingJoinKey(sc *joinScope, bj *boundJoin, k joinKey, sink string) error {
	if bj.fk != nil {
		js := bj.fkSource
		c := sc.row[k.viable[0]].Name
		return ErrInvalidColumnRef.Errorf("Primary key column missing in projection. For foreign-key table-table joins, the projection must include all primary key columns from the left input table (%s). Missing column: %s.", js.qualifier(), c)
	}
	if k.synthetic != "" {
		return ErrInvalidColumnRef.Errorf("Key missing from projection (ie, SELECT). The query used to build %s must include the join expression %s in its projection (eg, SELECT %s...). %s was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased.",
			sink, k.synthetic, k.synthetic, k.synthetic)
	}
	var names []string
	for _, c := range k.viable {
		js := sc.owner(c)
		names = append(names, js.qualifier()+"."+sc.row[c].Name)
	}
	list, what := names[0], "expression"
	if len(names) > 1 {
		list, what = strings.Join(names[:len(names)-1], ", ")+" or "+names[len(names)-1], "expressions"
	}
	return ErrInvalidColumnRef.Errorf("Key missing from projection (ie, SELECT). The query used to build %s must include the join %s %s in its projection (eg, SELECT %s...).",
		sink, what, list, names[0])
}
