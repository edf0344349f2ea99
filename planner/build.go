package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Planner plans statements against a catalog: queries into plan trees,
// DDL into catalog entries.
type Planner struct {
	Catalog *catalog.Catalog
	// NewBinder returns an expression binder over a scope. The engine
	// supplies it so that a statement's bind parameters reach expressions.
	NewBinder func(expr.Scope) *expr.Binder
	// Aggregates resolves aggregate calls; nil refuses aggregation.
	Aggregates AggregateResolver
	// Formats checks that a source's formats carry its columns; nil skips
	// the check (the runtime then refuses such a source when it starts).
	Formats FormatChecker
	// WrapSingleValues is the session's ksql.persistence.wrap.single.values:
	// "true" or "false" is the WRAP_SINGLE_VALUE of a CREATE STREAM|TABLE,
	// with or without AS SELECT, whose WITH gives none (defaultWrap in
	// ddl.go). Anything else, the default "", leaves each format's own
	// default: JSON wraps a single value in an object.
	WrapSingleValues string

	// hooked is set on the copy withHooks makes.
	hooked bool
	// query is the query a copy made by forQuery plans: its errors are
	// placed in its text (at).
	query *sql.Query
}

// forQuery returns a copy of p that plans q: with the planner's hooks
// (withHooks), placing its errors where q's text has what they are about
// (at).
func (p *Planner) forQuery(q *sql.Query) *Planner {
	c := *p.withHooks()
	c.query = q
	return &c
}

// SinkSpec describes the sink of a persistent query.
type SinkSpec struct {
	// Name of the sink source.
	Name string
	// Kind of the sink for CREATE ... AS SELECT.
	Kind sql.SourceKind
	// With are the CREATE statement's WITH properties.
	With map[string]string
	// Insert is set for INSERT INTO ... SELECT: the sink exists.
	Insert bool
	// Stored is set, with Insert, when a recorded query is planned again
	// (at start): its sink is the one it made or was allowed into. The
	// checks a new statement gets (the sink's kind, its keys in the
	// projection) are not made again, so that a query recorded by an
	// earlier version keeps running; a layout that differs from the
	// sink's only in the order of its value columns is put in the sink's.
	Stored bool
	// Statement is the SQL text recorded for a created sink.
	Statement string
}

// bound is a query bound over its source, before its root: the select
// list's Project over the rest of the tree.
type bound struct {
	// from is the bound FROM clause: one source, or joins.
	from *fromClause
	// scan is the single source's scan; nil for a join.
	scan    *Scan
	project *Project
	// keyErr, when set, is why a persistent query cannot be keyed: the
	// select list leaves out the join key (a transient query needs none).
	// It takes the sink's name.
	keyErr func(sink string) error
	// agg is the aggregation; nil for a query that does not aggregate.
	agg *Aggregation
	// aggBound is a single source's aggregation as bound, for the checks
	// a persistent query adds (checkPersistent); nil otherwise.
	aggBound *boundAggregate
	// keyCopies names, for each part of the output key of a single
	// source's query that does not aggregate — a source key column, or a
	// PARTITION BY expression — the select items that are exactly it;
	// keyTexts render the parts and keyWhat names them for messages. nil
	// when the output has no key (PARTITION BY NULL) or is a join's.
	keyCopies [][]string
	keyTexts  []string
	keyWhat   string
	// unkeyed is set by PARTITION BY NULL: the output has no key, and a
	// created sink's key format is NONE (ksqlDB's Analyzer).
	unkeyed bool
	// ordered is set when the query has ORDER BY (a Sort under project
	// unless the query aggregates, which PlanTransient then refuses).
	ordered bool
	// limit is the LIMIT: 0 none, -1 for LIMIT 0.
	limit int64
}

// PlanTransient plans a push or pull query whose rows go to the client:
// its root is a Result.
func (p *Planner) PlanTransient(q *sql.Query) (plan *Plan, err error) {
	p = p.forQuery(q)
	// An error the binder made about a column is placed at it.
	defer func() { err = p.at(nil, err) }()
	b, err := p.bind(q)
	if err != nil {
		return nil, err
	}
	if b.from.join != nil {
		switch {
		case q.Emit == sql.EmitNone:
			return nil, p.at(firstJoin(q.Select), ErrUnsupported.Errorf("Pull queries don't support JOIN clauses. Use EMIT CHANGES for a push query, or CREATE ... AS SELECT and query the result."))
		case q.Select.OrderBy != nil:
			return nil, ErrUnsupported.Errorf("ORDER BY is supported only in pull queries over tables")
		}
		return &Plan{Root: &Result{Input: b.project, Mode: Push, Limit: b.limit}}, nil
	}
	src := b.scan.Source
	if q.Select.OrderBy != nil && (q.Emit != sql.EmitNone || src.Kind != catalog.KindTable || b.agg != nil) {
		return nil, ErrUnsupported.Errorf("ORDER BY is supported only in pull queries over tables")
	}
	mode := Push
	if q.Emit == sql.EmitNone {
		if b.agg != nil {
			return nil, ErrUnsupported.Errorf("a pull query cannot aggregate: use EMIT CHANGES, or CREATE TABLE ... AS SELECT and query the table")
		}
		// The scan is still the planner's own node: nothing else has
		// seen it yet.
		mode = StreamScan
		b.scan.Bounded = true
		if src.Kind == catalog.KindTable {
			mode, b.scan.Bounded, b.scan.Materialized = Pull, false, true
		}
	}
	var root Node = &Result{Input: b.project, Mode: mode, Limit: b.limit}
	if mode == Pull {
		if root, _, err = Transform(root, PushKeyLookup); err != nil {
			return nil, err
		}
	}
	return readsMarked(root)
}

// readsMarked is the plan of a single-source query's root, its scan told
// which columns the query reads (ReadColumns).
func readsMarked(root Node) (*Plan, error) {
	root, _, err := Transform(root, ReadColumns)
	if err != nil {
		return nil, err
	}
	return &Plan{Root: root}, nil
}

// PlanPersistent plans CREATE ... AS SELECT or INSERT INTO ... SELECT: its
// root is a Sink.
func (p *Planner) PlanPersistent(q *sql.Query, sink SinkSpec) (plan *Plan, err error) {
	p = p.forQuery(q)
	// An error the binder made about a column is placed at it.
	defer func() { err = p.at(nil, err) }()
	b, err := p.bind(q)
	if err != nil {
		return nil, err
	}
	top, _, err := KeysFirst(b.project)
	if err != nil {
		return nil, err
	}
	if b.limit > 0 {
		return nil, ErrUnsupported.Errorf("LIMIT is not supported in a persistent query")
	}
	if b.ordered {
		return nil, ErrUnsupported.Errorf("ORDER BY is not supported in a persistent query")
	}
	if err := b.checkWindowedSource(q); err != nil {
		return nil, err
	}
	top = dropWindowBounds(top, b)
	if !sink.Stored {
		if err := b.checkPersistent(sink.Name, top.Columns()); err != nil {
			return nil, err
		}
	}
	out := top.Columns()
	if sink.Insert {
		s, err := p.Catalog.Source(sink.Name)
		if err != nil {
			return nil, ErrUnknownSource.Errorf("stream or table %s does not exist", sink.Name)
		}
		if !sink.Stored {
			// ksqlDB's words (its EngineExecutor and source-table.json).
			switch {
			case s.Kind == catalog.KindTable:
				return nil, ErrWrongObjectType.Errorf("INSERT INTO can only be used to insert into a stream. %s is a table.", s.Name)
			case s.ReadOnly:
				return nil, ErrWrongObjectType.Errorf("Cannot insert into read-only stream: %s", s.Name)
			}
		}
		if b.keyErr != nil {
			return nil, b.keyErr(sink.Name)
		}
		if sink.Stored {
			top = alignToSink(top, s)
			out = top.Columns()
		}
		if err := checkInsertSchema(s, out); err != nil {
			return nil, err
		}
		return readsMarked(&Sink{Input: top, Target: s})
	}
	kind := b.from.kind
	if b.agg != nil {
		kind = catalog.KindTable
	}
	// ksqlDB's words (its EngineExecutor.validateResultType).
	switch {
	case sink.Kind == sql.Table && kind == catalog.KindStream:
		return nil, ErrWrongObjectType.Errorf("Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead.")
	case sink.Kind == sql.Stream && kind == catalog.KindTable:
		return nil, ErrWrongObjectType.Errorf("Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead.")
	}
	if b.keyErr != nil {
		return nil, b.keyErr(sink.Name)
	}
	target, err := p.sinkSource(b.from.defaults, out, b.agg, sinkKeying{unkeyed: b.unkeyed, joined: b.from.join != nil}, sink)
	if err != nil {
		return nil, err
	}
	return readsMarked(&Sink{Input: top, Target: target, Create: true})
}

// bind binds a single-source query into a tree: Scan, then Filter (WHERE),
// then PartitionBy, or Repartition, Aggregate and Having, then Sort (ORDER
// BY), under the select list's Project. It binds the clauses in the order
// they are written, so that parameters are numbered and inferred as a
// reader expects.
func (p *Planner) bind(q *sql.Query) (*bound, error) {
	sel := q.Select
	aggregating := sel.GroupBy != nil || hasAggregateCall(sel)
	if q.Window != nil && !aggregating {
		return nil, ErrGrouping.Errorf("a WINDOW clause needs GROUP BY")
	}
	if sel.Having != nil && !aggregating {
		return nil, ErrGrouping.Errorf("HAVING needs GROUP BY")
	}
	if aggregating && len(q.PartitionBy) > 0 {
		return nil, ErrUnsupported.Errorf("PARTITION BY cannot be combined with GROUP BY")
	}
	if sel.Distinct {
		return nil, ErrUnsupported.Errorf("SELECT DISTINCT is not supported")
	}
	if sel.With != nil || len(sel.WindowSpecs) > 0 {
		return nil, ErrUnsupported.Errorf("WITH and window functions are not supported")
	}
	from, err := p.bindFrom(sel)
	if err != nil {
		return nil, err
	}
	tableFns, err := findTableFunctions(sel)
	if err != nil {
		return nil, err
	}
	if tableFns {
		if err := checkTableFunctions(aggregating, from); err != nil {
			return nil, err
		}
	}
	if from.join != nil {
		return p.bindJoined(q, from)
	}
	src := from.scan.Source
	input := from.scan.Cols
	sc := from.scope.(*scope)
	binder := p.NewBinder(sc)
	b := &bound{from: from, scan: from.scan}
	var node Node = b.scan

	if sel.Where != nil {
		if src.Window != nil {
			if err := windowBoundLiterals(sel.Where); err != nil {
				return nil, err
			}
		}
		f, err := binder.Bind(sel.Where)
		if err != nil {
			return nil, err
		}
		if k := f.Type().Kind; k != types.KindBoolean && k != types.KindNull {
			return nil, ErrTypeMismatch.Errorf("WHERE must be a BOOLEAN expression, not %s: %s", f.Type(), f)
		}
		filter := &Filter{Input: node, Predicate: f}
		if src.Kind == catalog.KindTable {
			if filter.KeyLookup, err = keyLookup(sel.Where, src, sc, binder); err != nil {
				return nil, err
			}
		}
		node = filter
	}
	var partitionBy []expr.Expr
	for _, n := range q.PartitionBy {
		e, err := binder.Bind(n)
		if err != nil {
			return nil, err
		}
		partitionBy = append(partitionBy, e)
	}
	if err := checkPartitionBy(src, partitionBy); err != nil {
		return nil, err
	}
	b.unkeyed = len(partitionBy) == 1 && partitionBy[0].Type().Kind == types.KindNull
	if aggregating {
		a, err := p.bindAggregate(q, sc, nil)
		if err != nil {
			return nil, err
		}
		if a.agg.NeedsRepartition(src) {
			node = &Repartition{Input: node, Keys: a.agg.GroupBy, Purpose: "the group key", Retract: src.Kind == catalog.KindTable}
		}
		node = &Aggregate{Input: node, Aggregation: a.agg}
		if a.having != nil {
			node = &Having{Input: node, Predicate: a.having}
		}
		b.agg, b.aggBound = a.agg, a
		b.project = &Project{Input: node, Exprs: a.exprs, Cols: a.cols}
	} else {
		// The select list's table functions read columns of a FlatMap
		// under the projection (tablefn.go).
		tf := &tableFnHook{base: len(input)}
		if tableFns {
			prev := binder.Hook
			binder.Hook = chainHooks(tf.hook, prev)
			defer func() { binder.Hook = prev }()
		}
		exprs, cols, keys, copies, err := p.project(sel, sc, binder, src, input, partitionBy, q.PartitionBy)
		if err != nil {
			return nil, err
		}
		node = tf.flatMap(node)
		b.keyCopies = copies
		if len(keys) > 0 {
			b.keyWhat = "partitioning expression"
			for _, k := range keys {
				b.keyTexts = append(b.keyTexts, k.String())
			}
		} else {
			b.keyWhat = "key column"
			for _, k := range src.KeyColumns() {
				b.keyTexts = append(b.keyTexts, k.Name)
			}
		}
		if len(keys) > 0 {
			node = &PartitionBy{Input: node, Keys: keys}
		}
		b.project = &Project{Input: node, Exprs: exprs, Cols: cols}
	}
	if sel.OrderBy != nil && !aggregating {
		items, err := p.orderBy(b.project, sel, binder)
		if err != nil {
			return nil, err
		}
		b.project.Input = &Sort{Input: b.project.Input, Items: items}
	}
	return b, b.bindLimit(sel)
}

// checkWindowedSource refuses what ksqlDB refuses of a query over a
// windowed source (WINDOW_TYPE, or a windowed aggregation's table): a
// persistent query over a windowed table, and re-keying a windowed stream
// (a GROUP BY or PARTITION BY would need its own repartition).
func (b *bound) checkWindowedSource(q *sql.Query) error {
	if b.scan == nil || b.scan.Source.Window == nil {
		return nil
	}
	src := b.scan.Source
	switch {
	case src.Kind == catalog.KindTable:
		return ErrUnsupported.Errorf("KSQL does not support persistent queries on windowed tables.")
	case b.agg != nil || len(q.PartitionBy) > 0:
		return ErrUnsupported.Errorf("Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.")
	}
	return nil
}

// dropWindowBounds leaves out of a persistent query over a windowed source
// the window bounds its select list names without an alias (SELECT *
// lists them): the sink's keys carry the window, as ksqlDB's
// FinalProjectNode leaves them out.
func dropWindowBounds(top Node, b *bound) Node {
	p, ok := top.(*Project)
	if !ok || b.scan == nil || b.scan.Source.Window == nil || b.agg != nil {
		return top
	}
	input := b.scan.Cols
	var exprs []expr.Expr
	var cols []types.Column
	for i, c := range p.Cols {
		if col, ok := p.Exprs[i].(*expr.Column); ok && (c.Name == WindowStart || c.Name == WindowEnd) &&
			col.Index < len(input) && input[col.Index].Name == c.Name {
			continue
		}
		exprs, cols = append(exprs, p.Exprs[i]), append(cols, c)
	}
	if len(cols) == len(p.Cols) {
		return top
	}
	out := *p
	out.Exprs, out.Cols = exprs, cols
	return &out
}

// alignToSink lays a recorded query's output out as its sink's columns
// when it has the same columns in another order (a query recorded by an
// earlier version); otherwise it returns top as it is.
func alignToSink(top Node, sink *catalog.Source) Node {
	p, ok := top.(*Project)
	if !ok || len(p.Cols) != len(sink.Columns) {
		return top
	}
	exprs := make([]expr.Expr, len(sink.Columns))
	cols := make([]types.Column, len(sink.Columns))
	for i, sc := range sink.Columns {
		found := false
		for j, c := range p.Cols {
			if c.Name == sc.Name && c.Key == sc.Key && c.Type.Equal(sc.Type) {
				exprs[i], cols[i], found = p.Exprs[j], c, true
				break
			}
		}
		if !found {
			return top
		}
	}
	out := *p
	out.Exprs, out.Cols = exprs, cols
	return &out
}

// checkPersistent applies what ksqlDB requires of a query that writes a
// sink (its LogicalPlanner and FinalProjectNode): an aggregation's
// grouping expressions, or a source's key columns, each in the projection
// once, and at least one value column. out is the sink's layout.
func (b *bound) checkPersistent(sink string, out []types.Column) error {
	if b.aggBound != nil {
		return b.aggBound.checkPersistent(sink)
	}
	if b.keyCopies != nil {
		var missing []string
		for ki, names := range b.keyCopies {
			switch {
			case len(names) == 0:
				missing = append(missing, b.keyTexts[ki])
			case len(names) > 1:
				sorted := append([]string(nil), names...)
				sort.Strings(sorted)
				return ErrDuplicateColumn.Errorf("The projection contains a key column (`%s`) more than once, aliased as: %s.\n"+
					"Each key column must only be in the projection once. If you intended to copy the key into the value, "+
					"then consider using the AS_VALUE function to indicate which key reference should be copied.",
					strings.Trim(b.keyTexts[ki], "`"), andList(sorted))
			}
		}
		if len(missing) > 0 {
			plural, s := "", ""
			if len(b.keyTexts) > 1 {
				plural, s = "s", "s"
			}
			return ErrInvalidColumnRef.Errorf("Key%s missing from projection (ie, SELECT). \nThe query used to build `%s` "+
				"must include the %s%s %s in its projection (eg, SELECT %s...).",
				plural, sink, b.keyWhat, s, andList(b.keyTexts), strings.Join(b.keyTexts, ", "))
		}
	}
	for _, c := range out {
		if !c.Key {
			return nil
		}
	}
	return ErrInvalidTableDef.Errorf("The projection contains no value columns.")
}

// bindLimit reads LIMIT into b.
func (b *bound) bindLimit(sel *ast.SelectStmt) error {
	b.ordered = sel.OrderBy != nil
	if sel.Limit != nil {
		if sel.Limit.Offset != nil {
			return ErrUnsupported.Errorf("LIMIT with OFFSET is not supported")
		}
		n, ok := intLiteral(sel.Limit.Count)
		if !ok || n < 0 {
			return ErrInvalidProperty.Errorf("LIMIT must be a non-negative integer")
		}
		b.limit = n
		if n == 0 {
			b.limit = -1 // LIMIT 0: no rows at all
		}
	}
	return nil
}

// project binds the select list of a query that does not aggregate over
// the source row (input), and decides the output's key columns: the
// source's keys it selects, or the PARTITION BY expressions, which must be
// selected. It returns the PARTITION BY keys in effect (none for PARTITION
// BY NULL, a stream without a key, as in ksqlDB), and, when the output is
// keyed by the source's keys, the names of the select items that are each
// key column. partitionNodes are the PARTITION BY expressions as written
// (partitionBy bound): AS_VALUE there, or in a select item, is only seen
// in the text, as binding removes it.
func (p *Planner) project(sel *ast.SelectStmt, sc *scope, binder *expr.Binder, src *catalog.Source, input []types.Column,
	partitionBy []expr.Expr, partitionNodes []ast.ExprNode) (exprs []expr.Expr, cols []types.Column, keys []expr.Expr, copies [][]string, err error) {
	type field struct {
		name  string
		e     expr.Expr
		isKey bool
		// asValue marks a select item AS_VALUE(x): a value column even
		// where x is the PARTITION BY expression (ksqlDB's as_value.json).
		asValue bool
	}
	var fields []field
	seen := map[string]bool{}
	add := func(f field) error {
		if seen[f.name] {
			return ErrDuplicateColumn.Errorf("column %s is in the projection more than once: give one an alias", quoteName(f.name))
		}
		seen[f.name] = true
		fields = append(fields, f)
		return nil
	}
	keyUsed := map[int]bool{}
	partitioned := len(partitionBy) > 0
	nkeys := len(src.KeyColumns())
	copies = make([][]string, nkeys)
	names := newNamer(sel.Fields.Fields)
	for _, sf := range sel.Fields.Fields {
		if sf.WildCard != nil {
			if q := sf.WildCard.Table.O; q != "" && q != sc.source && q != sc.alias {
				return nil, nil, nil, nil, ErrUnknownSource.Errorf("unknown source %s in %s.*", q, q)
			}
			for _, ci := range wildcardOrder(src, partitioned) {
				c := src.Columns[ci]
				isKey := c.Key && !partitioned && !keyUsed[ci]
				keyUsed[ci] = keyUsed[ci] || isKey
				if c.Key && ci < nkeys {
					copies[ci] = append(copies[ci], c.Name)
				}
				if err := add(field{name: c.Name, e: columnRef(ci, c), isKey: isKey}); err != nil {
					return nil, nil, nil, nil, err
				}
				// A windowed table's window is part of its key: * shows
				// the bounds right after the key columns, as ksqlDB does.
				last := ci+1 == len(src.Columns) || !src.Columns[ci+1].Key
				if src.Window != nil && c.Key && last {
					for wi := len(input) - 2; wi < len(input); wi++ {
						if err := add(field{name: input[wi].Name, e: columnRef(wi, input[wi])}); err != nil {
							return nil, nil, nil, nil, err
						}
					}
				}
			}
			continue
		}
		e, err := binder.Bind(sf.Expr)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		name := sf.AsName.O
		if name == "" {
			name = names.name(sf.Expr)
		}
		isKey := false
		if cn, ok := sf.Expr.(*ast.ColumnNameExpr); ok {
			if ci, _, err := sc.Resolve(cn.Name.Table.O, cn.Name.Name.O); err == nil && ci < len(src.Columns) && src.Columns[ci].Key {
				if ci < nkeys {
					copies[ci] = append(copies[ci], name)
				}
				if !partitioned && !keyUsed[ci] {
					isKey, keyUsed[ci] = true, true
				}
			}
		}
		if err := add(field{name: name, e: e, isKey: isKey, asValue: isAsValue(sf.Expr)}); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if len(partitionBy) == 1 && partitionBy[0].Type().Kind == types.KindNull {
		// PARTITION BY NULL: a stream without a key, as in ksqlDB.
		partitionBy = nil
		partitioned = false
		copies = nil
	}
	if partitioned {
		// The output is keyed by the PARTITION BY expressions: each is the
		// first select item that is exactly it. Under SELECT * an
		// expression the list leaves out is added as a key column of its
		// own (ksqlDB's partition-by.json "expression - select star").
		copies = make([][]string, len(partitionBy))
		wildcard := false
		for _, sf := range sel.Fields.Fields {
			wildcard = wildcard || sf.WildCard != nil
		}
		for pi, pe := range partitionBy {
			found := false
			// PARTITION BY AS_VALUE(k) matches only a select item
			// AS_VALUE(k): under SELECT * its key is a column of its own
			// and k stays in the value (as_value.json "partition by").
			peAsValue := pi < len(partitionNodes) && isAsValue(partitionNodes[pi])
			for i := range fields {
				if fields[i].asValue != peAsValue || fields[i].e.String() != pe.String() {
					continue
				}
				copies[pi] = append(copies[pi], fields[i].name)
				if !found && !fields[i].isKey {
					fields[i].isKey, found = true, true
				}
			}
			switch {
			case found:
			case wildcard:
				// Named as a select item would be: a struct field by
				// its field's name (partition-by.json "struct field -
				// select star") unless a column has it, anything else
				// KSQL_COL_<n>.
				var node ast.ExprNode
				if pi < len(partitionNodes) {
					node = partitionNodes[pi]
				}
				name := names.name(node)
				if seen[name] {
					// The field's name is a column's already: a
					// generated name rather than a refusal.
					name = names.name(nil)
				}
				copies[pi] = append(copies[pi], name)
				if err := add(field{name: name, e: pe, isKey: true}); err != nil {
					return nil, nil, nil, nil, err
				}
			default:
				return nil, nil, nil, nil, ErrInvalidColumnRef.Errorf("the PARTITION BY expression %s must be in the projection (e.g. SELECT %s, ...)", pe, pe)
			}
		}
	}
	// The select list's order; a persistent sink's schema puts the keys
	// first (KeysFirst).
	for _, f := range fields {
		exprs = append(exprs, f.e)
		cols = append(cols, types.Column{Name: f.name, Type: outputType(f.e.Type()), Key: f.isKey})
	}
	return exprs, cols, partitionBy, copies, nil
}

// isAsValue reports whether n is a call of AS_VALUE.
func isAsValue(n ast.ExprNode) bool {
	call, ok := n.(*ast.FuncCallExpr)
	return ok && call.FnName.L == "as_value"
}

// wildcardOrder is the order in which SELECT * lists a source's columns:
// as declared, keys first; re-keyed by PARTITION BY, the old keys follow
// the value columns, as ksqlDB moves them into the value (its
// PartitionByParamsFactory).
func wildcardOrder(src *catalog.Source, partitioned bool) []int {
	order := make([]int, 0, len(src.Columns))
	for ci, c := range src.Columns {
		if !partitioned || !c.Key {
			order = append(order, ci)
		}
	}
	if partitioned {
		for ci, c := range src.Columns {
			if c.Key {
				order = append(order, ci)
			}
		}
	}
	return order
}

// checkPartitionBy refuses what ksqlDB refuses of PARTITION BY (its
// PartitionByParamsFactory and SchemaKTable): NULL beside other
// expressions, and re-keying a table by anything but its own key.
func checkPartitionBy(src *catalog.Source, partitionBy []expr.Expr) error {
	if len(partitionBy) > 1 {
		for _, e := range partitionBy {
			if e.Type().Kind == types.KindNull {
				return ErrInvalidColumnRef.Errorf("Cannot PARTITION BY multiple columns including NULL")
			}
		}
	}
	if src.Kind != catalog.KindTable || len(partitionBy) == 0 {
		return nil
	}
	keys := src.KeyColumns()
	if len(keys) > 1 {
		return ErrUnsupported.Errorf("Cannot repartition a TABLE source. If this is a join, joins on tables with multiple columns is not yet supported.")
	}
	if c, ok := partitionBy[0].(*expr.Column); len(partitionBy) == 1 && ok && c.Index == 0 {
		return nil // by its own key: nothing changes
	}
	return ErrUnsupported.Errorf("Cannot repartition a TABLE source. If this is a join, make sure that the criteria uses the TABLE's key column %s instead of %s",
		keys[0].Name, exprList(partitionBy))
}

// outputType gives an untyped NULL projection a concrete column type.
func outputType(t types.Type) types.Type {
	if t.Kind == types.KindNull {
		return types.String
	}
	return t
}

// namer names unaliased select items as ksqlDB does: a column keeps its
// name, a struct field access takes the field's name, anything else gets
// the next free KSQL_COL_<n>, numbered among the generated names only.
type namer struct {
	next  int
	taken map[string]bool
	// natural is the name an expression has by itself, if any.
	natural func(ast.ExprNode) (string, bool)
}

// newNamer reserves the select list's explicit names (aliases and column
// names), so that a generated name never collides with one.
func newNamer(fields []*ast.SelectField) *namer {
	return newNamerWith(fields, naturalName)
}

// newNamerWith is newNamer with another rule for natural names (a join's).
func newNamerWith(fields []*ast.SelectField, natural func(ast.ExprNode) (string, bool)) *namer {
	n := &namer{taken: map[string]bool{}, natural: natural}
	for _, f := range fields {
		if f.AsName.O != "" {
			n.taken[f.AsName.O] = true
		} else if f.Expr != nil {
			if name, ok := natural(f.Expr); ok {
				n.taken[name] = true
			}
		}
	}
	return n
}

func (n *namer) name(e ast.ExprNode) string {
	if name, ok := n.natural(e); ok {
		return name
	}
	for {
		name := fmt.Sprintf("KSQL_COL_%d", n.next)
		n.next++
		if !n.taken[name] {
			n.taken[name] = true
			return name
		}
	}
}

// naturalName is the name an expression has by itself, if any.
func naturalName(n ast.ExprNode) (string, bool) {
	switch e := n.(type) {
	case *ast.ColumnNameExpr:
		return e.Name.Name.O, true
	case *ast.FuncCallExpr:
		if strings.EqualFold(e.FnName.O, "RUNNEL_FIELD") && len(e.Args) == 2 {
			if v, ok := e.Args[1].(*test_driver.ValueExpr); ok {
				return v.GetString(), true
			}
		}
	}
	return "", false
}

func intLiteral(n ast.ExprNode) (int64, bool) {
	v, ok := n.(*test_driver.ValueExpr)
	if !ok {
		return 0, false
	}
	switch x := v.GetValue().(type) {
	case int64:
		return x, true
	case uint64:
		return int64(x), true
	}
	return 0, false
}

// kafkaKeyType reports whether the KAFKA format can carry a key of type t.
func kafkaKeyType(t types.Type) bool {
	switch t.Kind {
	case types.KindInt, types.KindBigint, types.KindDouble, types.KindString, types.KindBytes:
		return true
	}
	return false
}

func windowKindName(k sql.WindowKind) string {
	switch k {
	case sql.Hopping:
		return "HOPPING"
	case sql.Session:
		return "SESSION"
	}
	return "TUMBLING"
}

// InputColumns is the row layout of a source's decoded records: its
// declared columns, the pseudo columns, and for a windowed table its
// window bounds.
func InputColumns(src *catalog.Source) []types.Column {
	cols := append(append([]types.Column(nil), src.Columns...), PseudoColumns...)
	if src.Window != nil {
		cols = append(cols, types.Column{Name: WindowStart, Type: types.Bigint}, types.Column{Name: WindowEnd, Type: types.Bigint})
	}
	return cols
}

// orderBy binds ORDER BY over the input row of the select list's project
// (where the Sort goes). An item naming an output column sorts by that
// column's expression; anything else is bound over the input row.
func (p *Planner) orderBy(project *Project, sel *ast.SelectStmt, binder *expr.Binder) ([]OrderItem, error) {
	var items []OrderItem
	for _, item := range sel.OrderBy.Items {
		var e expr.Expr
		if cn, ok := item.Expr.(*ast.ColumnNameExpr); ok && cn.Name.Table.O == "" {
			for i, c := range project.Cols {
				if c.Name == cn.Name.Name.O {
					e = project.Exprs[i]
					break
				}
			}
		}
		if e == nil {
			var err error
			if e, err = binder.Bind(item.Expr); err != nil {
				return nil, err
			}
		}
		items = append(items, OrderItem{Expr: e, Desc: item.Desc})
	}
	return items, nil
}

// keyLookup finds, among the top-level AND terms of a table query's WHERE,
// `key = constant` on the table's single key column, so that a pull query
// reads one key instead of scanning. The whole WHERE is still applied to
// what it reads.
func keyLookup(where ast.ExprNode, src *catalog.Source, sc *scope, binder *expr.Binder) (expr.Expr, error) {
	keys := src.KeyColumns()
	if len(keys) != 1 {
		return nil, nil
	}
	var found expr.Expr
	var visit func(n ast.ExprNode) error
	visit = func(n ast.ExprNode) error {
		if found != nil {
			return nil
		}
		switch b := n.(type) {
		case *ast.ParenthesesExpr:
			return visit(b.Expr)
		case *ast.BinaryOperationExpr:
			switch b.Op {
			case opcode.LogicAnd:
				if err := visit(b.L); err != nil {
					return err
				}
				return visit(b.R)
			case opcode.EQ:
				for _, side := range [2][2]ast.ExprNode{{b.L, b.R}, {b.R, b.L}} {
					cn, ok := side[0].(*ast.ColumnNameExpr)
					if !ok || cn.Name.Name.O != keys[0].Name {
						continue
					}
					if _, _, err := sc.Resolve(cn.Name.Table.O, cn.Name.Name.O); err != nil {
						continue
					}
					e, err := binder.BindAs(side[1], keys[0].Type)
					if err != nil || !expr.IsConstant(e) {
						continue
					}
					found = e
					return nil
				}
			}
		}
		return nil
	}
	if err := visit(where); err != nil {
		return nil, err
	}
	return found, nil
}

// windowBoundLiterals lets a windowed table's WINDOWSTART and WINDOWEND
// (BIGINT milliseconds) be compared with ISO-8601 strings, as ksqlDB's pull
// queries allow: each such string literal becomes its milliseconds.
func windowBoundLiterals(where ast.ExprNode) error {
	isBound := func(n ast.ExprNode) bool {
		cn, ok := n.(*ast.ColumnNameExpr)
		return ok && (cn.Name.Name.O == WindowStart || cn.Name.Name.O == WindowEnd)
	}
	toMillis := func(n *ast.ExprNode) error {
		v, ok := (*n).(*test_driver.ValueExpr)
		if !ok || v.Kind() != test_driver.KindString {
			return nil
		}
		ms, err := types.ParseTimestamp(v.GetString())
		if err != nil {
			return ErrTypeMismatch.Errorf("cannot compare a window bound with %q: %v", v.GetString(), err)
		}
		*n = ast.NewValueExpr(ms, "", "")
		return nil
	}
	var visit func(n ast.ExprNode) error
	visit = func(n ast.ExprNode) error {
		switch e := n.(type) {
		case *ast.ParenthesesExpr:
			return visit(e.Expr)
		case *ast.UnaryOperationExpr:
			return visit(e.V)
		case *ast.BetweenExpr:
			if isBound(e.Expr) {
				if err := toMillis(&e.Left); err != nil {
					return err
				}
				return toMillis(&e.Right)
			}
		case *ast.BinaryOperationExpr:
			switch e.Op {
			case opcode.LogicAnd, opcode.LogicOr:
				if err := visit(e.L); err != nil {
					return err
				}
				return visit(e.R)
			case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE:
				if isBound(e.L) {
					return toMillis(&e.R)
				}
				if isBound(e.R) {
					return toMillis(&e.L)
				}
			}
		}
		return nil
	}
	return visit(where)
}

// PlanConstant plans a SELECT without FROM: one row of constant
// expressions, such as the SELECT 1 that drivers and pools use to check a
// connection. Its tree is a Result over a Project over Values.
func (p *Planner) PlanConstant(q *sql.Query) (plan *Plan, err error) {
	p = p.forQuery(q)
	// An error the binder made about a column is placed at it.
	defer func() { err = p.at(nil, err) }()
	sel := q.Select
	if q.Emit != sql.EmitNone || q.Window != nil || sel.Where != nil || sel.GroupBy != nil ||
		sel.Having != nil || sel.OrderBy != nil || sel.Limit != nil {
		return nil, ErrUnsupported.Errorf("a query without FROM takes only a select list")
	}
	binder := p.NewBinder(nil)
	names := newNamer(sel.Fields.Fields)
	project := &Project{Input: &Values{}}
	for _, sf := range sel.Fields.Fields {
		if sf.WildCard != nil {
			return nil, ErrSyntax.Errorf("SELECT * needs a FROM clause")
		}
		e, err := binder.Bind(sf.Expr)
		if err != nil {
			return nil, err
		}
		name := sf.AsName.O
		if name == "" {
			name = names.name(sf.Expr)
		}
		project.Exprs = append(project.Exprs, e)
		project.Cols = append(project.Cols, types.Column{Name: name, Type: outputType(e.Type())})
	}
	return &Plan{Root: &Result{Input: project, Mode: Constant}}, nil
}
