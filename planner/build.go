package planner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Planner plans queries against a catalog.
type Planner struct {
	Catalog *catalog.Catalog
	// NewBinder returns an expression binder over a scope. The engine
	// supplies it so that a statement's bind parameters reach expressions.
	NewBinder func(expr.Scope) *expr.Binder
	// Aggregates resolves aggregate calls; nil refuses aggregation.
	Aggregates AggregateResolver
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
	// Statement is the SQL text recorded for a created sink.
	Statement string
}

// PlanTransient plans a push or pull query whose rows go to the client.
func (p *Planner) PlanTransient(q *sql.Query) (*Plan, error) {
	plan, err := p.build(q)
	if err != nil {
		return nil, err
	}
	if q.Select.OrderBy != nil && (q.Emit != sql.EmitNone || plan.Source.Kind != catalog.KindTable || plan.Aggregate != nil) {
		return nil, unsupported("ORDER BY is supported only in pull queries over tables")
	}
	return plan, nil
}

// PlanPersistent plans CREATE ... AS SELECT or INSERT INTO ... SELECT.
func (p *Planner) PlanPersistent(q *sql.Query, sink SinkSpec) (*Plan, error) {
	plan, err := p.build(q)
	if err != nil {
		return nil, err
	}
	plan.keysFirst()
	if plan.Limit > 0 {
		return nil, unsupported("LIMIT is not supported in a persistent query")
	}
	if q.Select.OrderBy != nil {
		return nil, unsupported("ORDER BY is not supported in a persistent query")
	}
	if sink.Insert {
		s, err := p.Catalog.Source(sink.Name)
		if err != nil {
			return nil, errorf(CodeUndefinedTable, "stream or table %s does not exist", sink.Name)
		}
		if err := checkInsertSchema(s, plan.Output); err != nil {
			return nil, err
		}
		plan.Sink = &Sink{Source: s}
		return plan, nil
	}
	switch {
	case sink.Kind == sql.Table && plan.Aggregate == nil:
		if plan.Source.Kind == catalog.KindTable {
			return nil, unsupported("CREATE TABLE ... AS SELECT over a table without GROUP BY is not supported yet")
		}
		return nil, errorf(CodeWrongObjectType, "the query produces a STREAM: use CREATE STREAM ... AS SELECT")
	case sink.Kind == sql.Stream && plan.Aggregate != nil:
		return nil, errorf(CodeWrongObjectType, "the query produces a TABLE: use CREATE TABLE ... AS SELECT")
	}
	src, err := p.sinkSource(plan, sink)
	if err != nil {
		return nil, err
	}
	plan.Sink = &Sink{Source: src, Create: true}
	return plan, nil
}

// sinkSource builds the catalog entry of a CREATE ... AS SELECT sink from
// the plan's output and the WITH properties, defaulting to the input's
// formats and partition count as ksqlDB does.
func (p *Planner) sinkSource(plan *Plan, sink SinkSpec) (*catalog.Source, error) {
	in := plan.Source
	with := sink.With
	src := &catalog.Source{
		Name:        sink.Name,
		Kind:        catalog.KindStream,
		Topic:       sink.Name,
		Columns:     plan.Output,
		KeyFormat:   in.KeyFormat,
		ValueFormat: in.ValueFormat,
		Partitions:  in.Partitions,
		Statement:   sink.Statement,
		Props:       map[string]string{},
	}
	if sink.Kind == sql.Table {
		src.Kind = catalog.KindTable
	}
	for k, v := range with {
		switch k {
		case "KAFKA_TOPIC":
			src.Topic = v
		case "VALUE_FORMAT":
			src.ValueFormat = strings.ToUpper(v)
		case "KEY_FORMAT":
			src.KeyFormat = strings.ToUpper(v)
		case "FORMAT":
			src.KeyFormat, src.ValueFormat = strings.ToUpper(v), strings.ToUpper(v)
		case "PARTITIONS":
			// The value's form; this server's limit on it is the engine's
			// to check, against the topic it creates or finds.
			n, err := catalog.ParsePartitions(v, 0)
			if err != nil {
				return nil, err
			}
			src.Partitions = n
		case "REPLICAS":
			if _, err := catalog.ParseReplicas(v); err != nil {
				return nil, err
			}
			src.Props[k] = v
		case "WRAP_SINGLE_VALUE", "VALUE_DELIMITER", "TIMESTAMP", "TIMESTAMP_FORMAT":
			src.Props[k] = v
		default:
			return nil, errorf(CodeInvalidParameter, "unknown property %s in WITH", k)
		}
	}
	keys := src.KeyColumns()
	_, userKeyFormat := with["KEY_FORMAT"]
	if _, ok := with["FORMAT"]; ok {
		userKeyFormat = true
	}
	switch {
	case len(keys) == 0:
		src.KeyFormat = "NONE"
	case !userKeyFormat && (len(keys) > 1 || !kafkaKeyType(keys[0].Type)):
		// KAFKA carries one primitive key; a compound or other key
		// defaults to JSON, which carries any.
		src.KeyFormat = "JSON"
	case src.KeyFormat == "NONE" || src.KeyFormat == "":
		src.KeyFormat = "KAFKA"
	}
	if a := plan.Aggregate; a != nil && a.Window != nil {
		src.Window = &catalog.WindowInfo{Kind: windowKindName(a.Window.Kind), SizeMs: a.Window.Size.Milliseconds()}
	}
	return src, nil
}

// checkInsertSchema checks that a query's output fits the sink of INSERT
// INTO ... SELECT: the same columns, names, types and keys, in order.
func checkInsertSchema(sink *catalog.Source, out []types.Column) error {
	if len(sink.Columns) != len(out) {
		return errorf(CodeDatatypeMismatch, "incompatible schema: %s has %d columns, the query produces %d", sink.Name, len(sink.Columns), len(out))
	}
	for i, c := range sink.Columns {
		o := out[i]
		if c.Name != o.Name || !c.Type.Equal(o.Type) || c.Key != o.Key {
			return errorf(CodeDatatypeMismatch, "incompatible schema: %s has column %s, the query produces %s",
				sink.Name, describeColumn(c), describeColumn(o))
		}
	}
	return nil
}

func describeColumn(c types.Column) string {
	s := quoteName(c.Name) + " " + c.Type.String()
	if c.Key {
		s += " KEY"
	}
	return s
}

// build binds a single-source query into a plan.
func (p *Planner) build(q *sql.Query) (*Plan, error) {
	sel := q.Select
	aggregating := sel.GroupBy != nil || hasAggregateCall(sel)
	if q.Window != nil && !aggregating {
		return nil, errorf(CodeGrouping, "a WINDOW clause needs GROUP BY")
	}
	if sel.Having != nil && !aggregating {
		return nil, errorf(CodeGrouping, "HAVING needs GROUP BY")
	}
	if aggregating && len(q.PartitionBy) > 0 {
		return nil, unsupported("PARTITION BY cannot be combined with GROUP BY")
	}
	if sel.Distinct {
		return nil, unsupported("SELECT DISTINCT is not supported")
	}
	if sel.With != nil || len(sel.WindowSpecs) > 0 {
		return nil, unsupported("WITH and window functions are not supported")
	}
	src, alias, err := p.from(sel)
	if err != nil {
		return nil, err
	}
	input := InputColumns(src)
	sc := &scope{source: src.Name, alias: alias, cols: input}
	binder := p.NewBinder(sc)
	plan := &Plan{Source: src, Input: input, Emit: emitString(q.Emit)}

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
			return nil, errorf(CodeDatatypeMismatch, "WHERE must be a BOOLEAN expression, not %s: %s", f.Type(), f)
		}
		plan.Filter = f
		if src.Kind == catalog.KindTable {
			if plan.KeyLookup, err = keyLookup(sel.Where, src, sc, binder); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range q.PartitionBy {
		e, err := binder.Bind(n)
		if err != nil {
			return nil, err
		}
		plan.PartitionBy = append(plan.PartitionBy, e)
	}
	if aggregating {
		if err := p.buildAggregate(plan, q, sc); err != nil {
			return nil, err
		}
	} else if err := p.project(plan, sel, sc, binder); err != nil {
		return nil, err
	}
	if sel.OrderBy != nil && !aggregating {
		if err := p.orderBy(plan, sel, binder); err != nil {
			return nil, err
		}
	}
	if sel.Limit != nil {
		if sel.Limit.Offset != nil {
			return nil, unsupported("LIMIT with OFFSET is not supported")
		}
		n, ok := intLiteral(sel.Limit.Count)
		if !ok || n < 0 {
			return nil, errorf(CodeInvalidParameter, "LIMIT must be a non-negative integer")
		}
		plan.Limit = n
		if n == 0 {
			plan.Limit = -1 // LIMIT 0: no rows at all
		}
	}
	return plan, nil
}

// from resolves the FROM clause to one source.
func (p *Planner) from(sel *ast.SelectStmt) (*catalog.Source, string, error) {
	if sel.From == nil || sel.From.TableRefs == nil {
		return nil, "", unsupported("a query needs a FROM clause naming a stream or table")
	}
	j := sel.From.TableRefs
	if j.Right != nil {
		return nil, "", unsupported("joins are not supported yet")
	}
	ts, ok := j.Left.(*ast.TableSource)
	if !ok {
		return nil, "", unsupported("FROM must name a stream or table")
	}
	tn, ok := ts.Source.(*ast.TableName)
	if !ok {
		return nil, "", unsupported("subqueries in FROM are not supported")
	}
	name := tn.Name.O
	src, err := p.Catalog.Source(name)
	if err != nil {
		if errors.Is(err, catalog.ErrUnknownSource) {
			return nil, "", errorf(CodeUndefinedTable, "stream or table %s does not exist", name)
		}
		return nil, "", err
	}
	return src, ts.AsName.O, nil
}

// project binds the select list and decides the output's key columns.
func (p *Planner) project(plan *Plan, sel *ast.SelectStmt, sc *scope, binder *expr.Binder) error {
	type field struct {
		name  string
		e     expr.Expr
		isKey bool
	}
	var fields []field
	seen := map[string]bool{}
	add := func(f field) error {
		if seen[f.name] {
			return errorf(CodeDuplicateColumn, "column %s is in the projection more than once: give one an alias", quoteName(f.name))
		}
		seen[f.name] = true
		fields = append(fields, f)
		return nil
	}
	keyUsed := map[int]bool{}
	partitioned := len(plan.PartitionBy) > 0
	names := newNamer(sel.Fields.Fields)
	for _, sf := range sel.Fields.Fields {
		if sf.WildCard != nil {
			if q := sf.WildCard.Table.O; q != "" && q != sc.source && q != sc.alias {
				return errorf(CodeUndefinedTable, "unknown source %s in %s.*", q, q)
			}
			for ci, c := range plan.Source.Columns {
				isKey := c.Key && !partitioned && !keyUsed[ci]
				keyUsed[ci] = keyUsed[ci] || isKey
				if err := add(field{name: c.Name, e: columnRef(ci, c), isKey: isKey}); err != nil {
					return err
				}
				// A windowed table's window is part of its key: * shows
				// the bounds right after the key columns, as ksqlDB does.
				last := ci+1 == len(plan.Source.Columns) || !plan.Source.Columns[ci+1].Key
				if plan.Source.Window != nil && c.Key && last {
					for wi := len(plan.Input) - 2; wi < len(plan.Input); wi++ {
						if err := add(field{name: plan.Input[wi].Name, e: columnRef(wi, plan.Input[wi])}); err != nil {
							return err
						}
					}
				}
			}
			continue
		}
		e, err := binder.Bind(sf.Expr)
		if err != nil {
			return err
		}
		name := sf.AsName.O
		if name == "" {
			name = names.name(sf.Expr)
		}
		isKey := false
		if cn, ok := sf.Expr.(*ast.ColumnNameExpr); ok && !partitioned {
			if ci, _, err := sc.Resolve(cn.Name.Table.O, cn.Name.Name.O); err == nil && ci < len(plan.Source.Columns) &&
				plan.Source.Columns[ci].Key && !keyUsed[ci] {
				isKey, keyUsed[ci] = true, true
			}
		}
		if err := add(field{name: name, e: e, isKey: isKey}); err != nil {
			return err
		}
	}
	if len(plan.PartitionBy) == 1 && plan.PartitionBy[0].Type().Kind == types.KindNull {
		// PARTITION BY NULL: a stream without a key, as in ksqlDB.
		plan.PartitionBy = nil
		partitioned = false
	}
	if partitioned {
		for _, pe := range plan.PartitionBy {
			found := false
			for i := range fields {
				if !fields[i].isKey && fields[i].e.String() == pe.String() {
					fields[i].isKey, found = true, true
					break
				}
			}
			if !found {
				return errorf(CodeInvalidColumnRef, "the PARTITION BY expression %s must be in the projection (e.g. SELECT %s, ...)", pe, pe)
			}
		}
	}
	// The select list's order; a persistent sink's schema puts the keys
	// first (see keysFirst).
	for _, f := range fields {
		plan.Project = append(plan.Project, f.e)
		plan.Output = append(plan.Output, types.Column{Name: f.name, Type: outputType(f.e.Type()), Key: f.isKey})
	}
	return nil
}

// keysFirst reorders a persistent query's output as every ksqlDB schema is
// laid out: key columns first. An aggregation's keys come in GROUP BY
// order, including group columns the select list left out.
func (p *Plan) keysFirst() {
	var proj []expr.Expr
	var out []types.Column
	if a := p.Aggregate; a != nil {
		for gi := range a.GroupBy {
			proj = append(proj, &expr.Column{Index: gi, Name: a.Row[gi].Name, T: a.Row[gi].Type})
			out = append(out, types.Column{Name: a.KeyNames[gi], Type: a.Row[gi].Type, Key: true})
		}
	} else {
		for i, c := range p.Output {
			if c.Key {
				proj, out = append(proj, p.Project[i]), append(out, c)
			}
		}
	}
	for i, c := range p.Output {
		if !c.Key {
			proj, out = append(proj, p.Project[i]), append(out, c)
		}
	}
	p.Project, p.Output = proj, out
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
}

// newNamer reserves the select list's explicit names (aliases and column
// names), so that a generated name never collides with one.
func newNamer(fields []*ast.SelectField) *namer {
	n := &namer{taken: map[string]bool{}}
	for _, f := range fields {
		if f.AsName.O != "" {
			n.taken[f.AsName.O] = true
		} else if f.Expr != nil {
			if name, ok := naturalName(f.Expr); ok {
				n.taken[name] = true
			}
		}
	}
	return n
}

func (n *namer) name(e ast.ExprNode) string {
	if name, ok := naturalName(e); ok {
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

func emitString(m sql.EmitMode) string {
	switch m {
	case sql.EmitChanges:
		return "CHANGES"
	case sql.EmitFinal:
		return "FINAL"
	}
	return ""
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

// orderBy binds ORDER BY. An item naming an output column sorts by that
// column's expression; anything else is bound over the input row.
func (p *Planner) orderBy(plan *Plan, sel *ast.SelectStmt, binder *expr.Binder) error {
	for _, item := range sel.OrderBy.Items {
		var e expr.Expr
		if cn, ok := item.Expr.(*ast.ColumnNameExpr); ok && cn.Name.Table.O == "" {
			for i, c := range plan.Output {
				if c.Name == cn.Name.Name.O {
					e = plan.Project[i]
					break
				}
			}
		}
		if e == nil {
			var err error
			if e, err = binder.Bind(item.Expr); err != nil {
				return err
			}
		}
		plan.OrderBy = append(plan.OrderBy, OrderItem{Expr: e, Desc: item.Desc})
	}
	return nil
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
			return errorf(CodeDatatypeMismatch, "cannot compare a window bound with %q: %v", v.GetString(), err)
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
// connection.
func (p *Planner) PlanConstant(q *sql.Query) (*Plan, error) {
	sel := q.Select
	if q.Emit != sql.EmitNone || q.Window != nil || sel.Where != nil || sel.GroupBy != nil ||
		sel.Having != nil || sel.OrderBy != nil || sel.Limit != nil {
		return nil, unsupported("a query without FROM takes only a select list")
	}
	binder := p.NewBinder(nil)
	names := newNamer(sel.Fields.Fields)
	plan := &Plan{}
	for _, sf := range sel.Fields.Fields {
		if sf.WildCard != nil {
			return nil, errorf(CodeSyntax, "SELECT * needs a FROM clause")
		}
		e, err := binder.Bind(sf.Expr)
		if err != nil {
			return nil, err
		}
		name := sf.AsName.O
		if name == "" {
			name = names.name(sf.Expr)
		}
		plan.Project = append(plan.Project, e)
		plan.Output = append(plan.Output, types.Column{Name: name, Type: outputType(e.Type())})
	}
	return plan, nil
}
