package planner

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Binding a FROM clause that joins: its sources, each join's kind and ON
// condition, the repartitions that co-partition its inputs, and what the
// result's key is. The rules and messages are those of the specification
// in tests/suites/joins/README.md (ksqlDB's, with the departures it
// lists); each refusal below names the form it refuses.
//
// A FROM clause of n sources is a left-deep chain of n-1 joins, in the
// order written: ((s0 ⋈ s1) ⋈ s2) ⋈ ... Each step joins the result so far
// (a stream or a table) with one more source, and must be a valid
// two-way join of those kinds.

// fromClause is a bound FROM clause: one source or a chain of joins.
type fromClause struct {
	// node is the Scan of a single source, or the top Join.
	node Node
	// scope resolves names over node's row.
	scope expr.Scope
	// kind is what node produces: a stream, or a table (a table source, a
	// table-table join).
	kind catalog.Kind
	// scan is the single source's scan; nil for a join.
	scan *Scan
	// join is the bound join; nil for a single source.
	join *boundJoin
	// defaults gives a created sink its default formats and partition
	// count: the source's, or for a join the left-most source's formats
	// and the join's partition count.
	defaults *catalog.Source
}

// boundJoin is what the select list needs to know of a join: how to
// name columns and which columns the result is keyed by.
type boundJoin struct {
	top   *Join
	scope *joinScope
	// keys are the top join's key equalities, in the order written.
	keys []joinKey
	// fk is set for a foreign-key join: the result is keyed by the left
	// table's primary key columns (indexes in the row), not the join key.
	fk []int
	// fkSource is the left table of a foreign-key join.
	fkSource *joinSource
	// steps counts the joins of the FROM clause.
	steps int
}

// joinKey is one key equality of a join, as the result's key sees it.
type joinKey struct {
	// viable are the row indexes of the plain source columns that are
	// equivalent to the key — the equality's column sides, and those of
	// every earlier join of an n-way chain whose key it continues — in the
	// order the sources come. The result's key column is the first of them
	// that the select list selects. None for a synthetic key.
	viable []int
	// index is the key column's index in the joined row: the join key.
	index int
	// synthetic is the name of a synthetic key column (ROWKEY, ...), or
	// "" when the key is named after a viable column.
	synthetic string
	t         types.Type
}

// joinStep is one join of the chain, as written.
type joinStep struct {
	tp     JoinType
	source *ast.TableSource
	on     []ast.ExprNode // the ON condition's AND terms, markers removed
	onText string         // the ON condition as written, for messages
	within *JoinWindow
	// join is the join's node (placed at its first keyword), and
	// withinAt the WITHIN clause's marker (placed at WITHIN); errors
	// about them are placed there.
	join     *ast.Join
	withinAt ast.Node
}

// firstJoin is the first join of a FROM clause, as written; nil when it
// joins nothing.
func firstJoin(sel *ast.SelectStmt) ast.Node {
	if sel.From == nil || sel.From.TableRefs == nil {
		return nil
	}
	var first ast.Node
	for j := sel.From.TableRefs; j != nil; {
		if j.Right != nil {
			first = j
		}
		left, ok := j.Left.(*ast.Join)
		if !ok {
			break
		}
		j = left
	}
	return first
}

// flattenFrom reads a FROM clause's join tree into its first source and
// the joins that follow, refusing the forms ksqlDB's grammar lacks.
func (p *Planner) flattenFrom(n ast.ResultSetNode) (*ast.TableSource, []joinStep, error) {
	switch n := n.(type) {
	case *ast.TableSource:
		if j, ok := n.Source.(*ast.Join); ok {
			if n.AsName.O != "" {
				return nil, nil, ErrUnsupported.Errorf("a join cannot be aliased: name the sources")
			}
			return p.flattenFrom(j)
		}
		return n, nil, nil
	case *ast.Join:
		if n.Right == nil {
			return p.flattenFrom(n.Left)
		}
		switch {
		case n.NaturalJoin:
			return nil, nil, p.at(n, ErrUnsupported.Errorf("NATURAL JOIN is not supported: join with ON"))
		case n.Using != nil:
			return nil, nil, p.at(n, ErrUnsupported.Errorf("JOIN ... USING is not supported: join with ON"))
		case n.StraightJoin:
			return nil, nil, p.at(n, ErrUnsupported.Errorf("STRAIGHT_JOIN is not supported: join with JOIN ... ON"))
		case n.On == nil:
			return nil, nil, p.at(n, ErrUnsupported.Errorf("joins without ON (a comma between sources, CROSS JOIN) are not supported: join with [INNER|LEFT|RIGHT|FULL] JOIN ... ON"))
		}
		first, steps, err := p.flattenFrom(n.Left)
		if err != nil {
			return nil, nil, err
		}
		right, ok := n.Right.(*ast.TableSource)
		if !ok {
			return nil, nil, p.at(n, ErrUnsupported.Errorf("the right side of a join must be a stream or table: joins nest to the left, a JOIN b ON ... JOIN c ON ..."))
		}
		if _, ok := right.Source.(*ast.TableName); !ok {
			return nil, nil, p.at(n, ErrUnsupported.Errorf("the right side of a join must be a stream or table: joins nest to the left, a JOIN b ON ... JOIN c ON ..."))
		}
		st := joinStep{tp: InnerJoin, source: right, onText: display(n.On.Expr), join: n}
		switch n.Tp {
		case ast.LeftJoin:
			st.tp = LeftJoin
		case ast.RightJoin:
			st.tp = RightJoin
		}
		for _, term := range andTerms(n.On.Expr, nil) {
			call, ok := term.(*ast.FuncCallExpr)
			switch {
			case ok && call.FnName.L == "runnel_full_join" && len(call.Args) == 0:
				st.tp = FullJoin
			case ok && call.FnName.L == "runnel_within" && (len(call.Args) == 2 || len(call.Args) == 3):
				w, err := withinOf(call.Args)
				if err != nil {
					return nil, nil, p.at(call, err)
				}
				st.within, st.withinAt = w, call
			default:
				st.on = append(st.on, term)
			}
		}
		st.onText = display(andOf(st.on))
		return first, append(steps, st), nil
	}
	return nil, nil, ErrUnsupported.Errorf("FROM must name a stream or table, or join them")
}

// andTerms appends the terms of e's top-level AND chain (through
// parentheses) to out.
func andTerms(e ast.ExprNode, out []ast.ExprNode) []ast.ExprNode {
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		return andTerms(x.Expr, out)
	case *ast.BinaryOperationExpr:
		if x.Op == opcode.LogicAnd {
			return andTerms(x.R, andTerms(x.L, out))
		}
	}
	return append(out, e)
}

// andOf joins terms with AND; nil for none.
func andOf(terms []ast.ExprNode) ast.ExprNode {
	var out ast.ExprNode
	for _, t := range terms {
		if out == nil {
			out = t
			continue
		}
		out = &ast.BinaryOperationExpr{Op: opcode.LogicAnd, L: out, R: t}
	}
	return out
}

// withinOf reads RUNNEL_WITHIN(before_ms, after_ms[, grace_ms]).
func withinOf(args []ast.ExprNode) (*JoinWindow, error) {
	var ms [3]int64
	for i, a := range args {
		n, ok := intLiteral(a)
		if !ok || n < 0 {
			return nil, ErrSyntax.Errorf("WITHIN takes durations")
		}
		ms[i] = n
	}
	w := &JoinWindow{Before: msDuration(ms[0]), After: msDuration(ms[1])}
	if len(args) == 3 {
		w.Grace, w.HasGrace = msDuration(ms[2]), true
	}
	return w, nil
}

// joinSide is what a step knows of its left input, the result so far.
type joinSide struct {
	node Node
	kind catalog.Kind
	// keys are the input's key: for a source its key columns, for a join
	// its key equalities (each with its equivalent columns). A later join
	// on exactly these needs no repartition.
	keys [][]int
	// keyCols are, for each set of keys, the row index that holds that key
	// whichever rows of the input are present: a source's key column, a
	// join's key column (the join key, which an outer join takes from the
	// present side), or, after a foreign-key join, the left table's key
	// column (the left row is always present).
	keyCols []int
	// source is set when the input is a single source.
	source *joinSource
	// partitions is the input's partition count.
	partitions int32
}

// bindFrom binds the FROM clause.
func (p *Planner) bindFrom(sel *ast.SelectStmt) (*fromClause, error) {
	if sel.From == nil || sel.From.TableRefs == nil {
		return nil, ErrUnsupported.Errorf("a query needs a FROM clause naming a stream or table")
	}
	first, steps, err := p.flattenFrom(sel.From.TableRefs)
	if err != nil {
		return nil, err
	}
	src, err := p.sourceOf(first)
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		input := InputColumns(src)
		scan := &Scan{Source: src, Alias: first.AsName.O, Cols: input}
		return &fromClause{node: scan, scan: scan, kind: src.Kind, defaults: src,
			scope: &scope{source: src.Name, alias: first.AsName.O, cols: input}}, nil
	}
	sources := []*catalog.Source{src}
	names := []*ast.TableSource{first}
	for _, st := range steps {
		s, err := p.sourceOf(st.source)
		if err != nil {
			return nil, err
		}
		sources = append(sources, s)
		names = append(names, st.source)
	}
	if at, err := checkJoinSources(sources); err != nil {
		return nil, p.at(names[at], err)
	}
	// Room for every source up front: steps keep pointers into it.
	sc := &joinScope{sources: make([]joinSource, 0, len(sources))}
	scan := &Scan{Source: src, Alias: first.AsName.O, Cols: InputColumns(src)}
	sc.sources = append(sc.sources, joinSource{src: src, alias: first.AsName.O, cols: scan.Cols})
	left := &joinSide{node: scan, kind: src.Kind, source: &sc.sources[0], partitions: src.Partitions}
	left.keys = sourceKeys(&sc.sources[0])
	for _, k := range left.keys {
		left.keyCols = append(left.keyCols, k[0])
	}
	var bj *boundJoin
	for i, st := range steps {
		if bj, err = p.bindStep(sc, left, sources[i+1], st, i); err != nil {
			return nil, err
		}
		kind := catalog.KindStream
		if bj.top.Kind == TableTable || bj.top.Kind == ForeignKey {
			kind = catalog.KindTable
		}
		next := &joinSide{node: bj.top, kind: kind, partitions: bj.top.Partitions}
		for _, k := range bj.keys {
			next.keys = append(next.keys, k.viable)
			next.keyCols = append(next.keyCols, k.index)
		}
		if bj.fk != nil {
			next.keys, next.keyCols = nil, nil
			for _, c := range bj.fk {
				next.keys = append(next.keys, []int{c})
				next.keyCols = append(next.keyCols, c)
			}
		}
		left = next
	}
	bj.steps = len(steps)
	top := bj.top
	sc.row = top.Cols
	sc.synthetic = map[string]int{}
	for _, k := range bj.keys {
		if k.synthetic != "" {
			sc.synthetic[k.synthetic] = k.index
		}
	}
	bj.scope = sc
	defaults := &catalog.Source{KeyFormat: src.KeyFormat, ValueFormat: src.ValueFormat, Partitions: top.Partitions, Props: map[string]string{}}
	return &fromClause{node: top, scope: sc, kind: left.kind, join: bj, defaults: defaults}, nil
}

// sourceOf looks up the stream or table a FROM item names.
func (p *Planner) sourceOf(ts *ast.TableSource) (*catalog.Source, error) {
	tn, ok := ts.Source.(*ast.TableName)
	if !ok {
		return nil, ErrUnsupported.Errorf("subqueries in FROM are not supported")
	}
	name := tn.Name.O
	src, err := p.Catalog.Source(name)
	if err != nil {
		if errors.Is(err, catalog.ErrUnknownSource) {
			return nil, p.at(ts, ErrUnknownSource.Errorf("stream or table %s does not exist", name))
		}
		return nil, err
	}
	return src, nil
}

// checkJoinSources refuses what ksqlDB's analyzer refuses of a join's
// sources as a whole: a source twice (a self join), and windowed sources.
// at is the index of the source at fault: the second occurrence, the
// first windowed source.
func checkJoinSources(sources []*catalog.Source) (at int, err error) {
	seen := map[string]bool{}
	for i, s := range sources {
		if seen[s.Name] {
			if len(sources) == 2 {
				return i, ErrUnsupported.Errorf("Can not join '%s' to '%s': self joins are not yet supported.", s.Name, s.Name)
			}
			return i, ErrUnsupported.Errorf("N-way joins do not support multiple occurrences of the same source. Source: '%s'.", s.Name)
		}
		seen[s.Name] = true
	}
	windowed, first := 0, -1
	for i, s := range sources {
		if s.Window != nil {
			windowed++
			if first < 0 {
				first = i
			}
		}
	}
	switch {
	case windowed == len(sources):
		return 0, ErrUnsupported.Errorf("joins of windowed tables are not supported yet")
	case windowed > 0:
		return first, ErrUnsupported.Errorf("Can not join windowed source to non-windowed source.")
	}
	return 0, nil
}

// sourceKeys are a source's key columns as row indexes, each its own
// equivalence set.
func sourceKeys(js *joinSource) [][]int {
	var keys [][]int
	for i, c := range js.src.Columns {
		if c.Key {
			keys = append(keys, []int{js.off + i})
		}
	}
	return keys
}

// keyEq is a key equality of an ON condition: left over the result so
// far, right over the source the step adds.
type keyEq struct {
	// term is the equality as written, where errors about it are placed.
	term        ast.ExprNode
	left, right ast.ExprNode
	// l and r are bound over the step's row (left's columns, then the
	// right source's).
	l, r expr.Expr
}

// bindStep binds one join of the chain: left (the result so far) joined
// with right, whose columns go after left's in sc. It returns the join
// bound so far, its top the new Join node.
func (p *Planner) bindStep(sc *joinScope, left *joinSide, right *catalog.Source, st joinStep, index int) (*boundJoin, error) {
	leftCols := left.node.Columns()
	rightAlias := st.source.AsName.O
	rs := joinSource{src: right, alias: rightAlias, off: len(leftCols), cols: InputColumns(right)}
	// The kinds first: they decide which WITHIN and join types exist,
	// before any name in ON is looked at.
	kind, err := p.stepKind(left, rs, st)
	if err != nil {
		return nil, err
	}
	sc.sources = append(sc.sources, rs)
	rsp := &sc.sources[len(sc.sources)-1]
	nLeft := len(sc.sources) - 1
	stepScope := &joinScope{sources: sc.sources}
	binder := p.NewBinder(stepScope)

	// The ON condition's terms: key equalities (one side over the result
	// so far, the other over the new source) and the rest.
	var eqs []keyEq
	var rest []ast.ExprNode
	misplaced := ""
	var misplacedAt ast.Node
	sourcesOf := func(e expr.Expr) map[int]bool {
		refs := map[int]bool{}
		expr.Walk(e, func(x expr.Expr) bool {
			if c, ok := x.(*expr.Column); ok {
				for si, js := range stepScope.sources {
					if c.Index >= js.off && c.Index < js.off+len(js.cols) {
						refs[si] = true
					}
				}
			}
			return true
		})
		return refs
	}
	onLeft := func(refs map[int]bool) bool {
		if len(refs) == 0 {
			return false
		}
		for si := range refs {
			if si >= nLeft {
				return false
			}
		}
		return true
	}
	onRight := func(refs map[int]bool) bool { return len(refs) == 1 && refs[nLeft] }
	for _, term := range st.on {
		b, ok := unparen(term).(*ast.BinaryOperationExpr)
		if !ok || b.Op != opcode.EQ {
			rest = append(rest, term)
			continue
		}
		l, err := binder.Bind(b.L)
		if err != nil {
			return nil, p.at(term, err)
		}
		r, err := binder.Bind(b.R)
		if err != nil {
			return nil, p.at(term, err)
		}
		lr, rr := sourcesOf(l), sourcesOf(r)
		switch {
		case onLeft(lr) && onRight(rr):
			eqs = append(eqs, keyEq{term: term, left: b.L, right: b.R, l: l, r: r})
		case onLeft(rr) && onRight(lr):
			eqs = append(eqs, keyEq{term: term, left: b.R, right: b.L, l: r, r: l})
		default:
			if len(lr) == 1 && len(rr) == 1 && !lr[nLeft] && !rr[nLeft] && misplaced == "" {
				for si := range lr {
					for sj := range rr {
						if si != sj {
							misplacedAt = term
							misplaced = fmt.Sprintf("A join criteria is expected to reference the source (%s) in the FROM clause, instead the right source references %s and the left source references %s",
								rsp.qualifier(), stepScope.sources[sj].qualifier(), stepScope.sources[si].qualifier())
						}
					}
				}
			}
			rest = append(rest, term)
		}
	}
	if len(eqs) == 0 {
		if misplaced != "" {
			return nil, p.at(misplacedAt, ErrUnsupported.Errorf("%s", misplaced))
		}
		return nil, p.at(onAt(st), ErrUnsupported.Errorf("Only equality join criteria is supported: the ON condition needs an equality between an expression of %s and one of the sources before it, got %s", rsp.qualifier(), st.onText))
	}
	for _, eq := range eqs {
		lt, rt := eq.l.Type(), eq.r.Type()
		if !lt.Equal(rt) {
			return nil, p.at(eq.term, ErrTypeMismatch.Errorf("Invalid join condition: types don't match. Got %s{%s} = %s{%s}.", display(eq.left), lt, display(eq.right), rt))
		}
		if hasMap(lt) {
			return nil, p.at(eq.term, ErrUnsupported.Errorf("Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Join key: %s. Type: %s.", display(eq.left), lt))
		}
	}

	j := &Join{Kind: kind, Type: st.tp, Within: st.within, Step: index + 1}
	got := func() string {
		parts := make([]string, len(eqs))
		for i, eq := range eqs {
			parts[i] = display(eq.left) + " = " + display(eq.right)
		}
		return strings.Join(parts, " AND ")
	}
	var leftKeyCols []int // the left input's key column each equality equates, -1 for none
	for _, eq := range eqs {
		leftKeyCols = append(leftKeyCols, columnIndex(eq.l))
	}
	rightKeyOrder, rightIsKey := equatesKey(right, rs.off, eqs)
	var fk []int
	switch kind {
	case StreamTable:
		if !rightIsKey {
			return nil, p.at(notOnKey(right, rs.off, eqs), ErrInvalidColumnRef.Errorf("Invalid join condition: stream-table joins require to join on the table's primary key. Got %s.", got()))
		}
		j.Partitions = right.Partitions
	case TableTable:
		if !rightIsKey {
			return nil, p.at(notOnKey(right, rs.off, eqs), ErrInvalidColumnRef.Errorf("Invalid join condition: table-table joins require to join on the primary key of the right input table. Got %s.", got()))
		}
		if !coversKey(left.keys, eqs) {
			if index > 0 || left.source == nil {
				return nil, p.at(eqs[0].term, ErrUnsupported.Errorf("Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins. Got %s.", got()))
			}
			switch st.tp {
			case FullJoin:
				return nil, p.at(st.join, ErrUnsupported.Errorf("Invalid join type: full-outer join not supported for foreign-key table-table join. Got %s [FULL] OUTER JOIN %s.", left.source.qualifier(), rsp.qualifier()))
			case RightJoin:
				return nil, p.at(st.join, ErrUnsupported.Errorf("RIGHT OUTER JOIN on a foreign key is not supported"))
			}
			j.Kind = ForeignKey
			kind = ForeignKey
			fk = sourceKeyIndexes(left.source)
			j.Partitions = left.partitions
			break
		}
		if left.partitions != right.Partitions {
			return nil, p.at(st.source, ErrUnsupported.Errorf("Can't join %s with %s since the number of partitions don't match. %s partitions = %d; %s partitions = %d. Please repartition either one so that the number of partitions match.",
				leftLabel(left, stepScope), rsp.qualifier(), leftLabel(left, stepScope), left.partitions, rsp.qualifier(), right.Partitions))
		}
		j.Partitions = right.Partitions
		if left.source == nil {
			j.LeftKeyCols = keyColumns(left, eqs)
		}
	case StreamStream:
		j.Partitions = max(left.partitions, right.Partitions)
	}

	// The keys in the order the table keys them (stream-table): the order
	// a repartition writes the stream side's key in.
	order := make([]int, len(eqs))
	for i := range order {
		order[i] = i
	}
	if kind == StreamTable {
		order = rightKeyOrder
	}

	// The right side's keys, bound over its own columns.
	rightBinder := p.NewBinder(&joinScope{sources: []joinSource{{src: right, alias: rightAlias, cols: rs.cols}}})
	rightKeys := make([]expr.Expr, len(eqs))
	for i, eq := range eqs {
		if rightKeys[i], err = rightBinder.Bind(eq.right); err != nil {
			return nil, p.at(eq.term, err)
		}
	}

	// Inputs: a stream side not partitioned by its join key, or in another
	// partition count, goes through a repartition. Tables never do: they
	// are joined on their key (or by foreign key, which needs no
	// co-partitioning).
	leftNode := left.node
	rightNode := Node(&Scan{Source: right, Alias: rightAlias, Cols: rs.cols})
	if left.kind == catalog.KindStream {
		keyed := continuesKey(left.keys, eqs, order)
		if left.source != nil {
			keyed = keyed && sameKeyFormat(left.source.src, right)
		}
		if !keyed || left.partitions != j.Partitions {
			keys := make([]expr.Expr, len(order))
			for i, k := range order {
				keys[i] = eqs[k].l
			}
			leftNode = &Repartition{Input: leftNode, Keys: keys, Purpose: "the join key " + exprList(keys), Partitions: j.Partitions}
		}
	}
	if kind == StreamStream {
		keyed := equatesAllKeys(right, rightKeys) && (left.source == nil || sameKeyFormat(left.source.src, right))
		if !keyed || right.Partitions != j.Partitions {
			rightNode = &Repartition{Input: rightNode, Keys: rightKeys, Purpose: "the join key " + exprList(rightKeys), Partitions: j.Partitions}
		}
	}
	j.Left, j.Right = leftNode, rightNode
	for _, eq := range eqs {
		j.LeftKeys = append(j.LeftKeys, eq.l)
	}
	j.RightKeys = rightKeys
	if len(rest) > 0 {
		extra, err := binder.Bind(andOf(rest))
		if err != nil {
			return nil, p.at(rest[0], err)
		}
		if k := extra.Type().Kind; k != types.KindBoolean && k != types.KindNull {
			return nil, p.at(rest[0], ErrTypeMismatch.Errorf("the ON condition must be BOOLEAN, not %s: %s", extra.Type(), extra))
		}
		j.Extra = extra
	}

	// The result's key: each equality's equivalent columns, continued
	// from the key of the result so far when the equality does (n-way).
	bj := &boundJoin{top: j, fk: fk}
	if fk != nil {
		bj.fkSource = left.source
	}
	taken := map[string]bool{}
	for _, js := range stepScope.sources {
		for _, c := range js.src.Columns {
			taken[c.Name] = true
		}
	}
	base := len(leftCols) + len(rs.cols)
	for i, eq := range eqs {
		k := joinKey{index: base + i, t: eq.l.Type()}
		if st.tp != FullJoin {
			if li := leftKeyCols[i]; li >= 0 {
				k.viable = append(k.viable, equivalents(left.keys, li)...)
			}
			if ri := columnIndex(eq.r); ri >= 0 {
				k.viable = append(k.viable, ri)
			}
		}
		if len(k.viable) == 0 {
			k.synthetic = syntheticName(taken)
			taken[k.synthetic] = true
			j.Synthetic = true
		}
		bj.keys = append(bj.keys, k)
	}
	j.Cols = append(append([]types.Column(nil), leftCols...), rs.cols...)
	for i, k := range bj.keys {
		name := k.synthetic
		if name == "" {
			name = fmt.Sprintf("JOINKEY_%d", i)
		}
		j.KeyNames = append(j.KeyNames, name)
		j.Cols = append(j.Cols, types.Column{Name: name, Type: k.t})
	}
	j.Cols = append(j.Cols, types.Column{Name: RowTime, Type: types.Bigint})
	return bj, nil
}

// stepKind decides a join's kind from its inputs' kinds, refusing the
// pairs, join types and WITHIN clauses that do not exist (README "Which
// joins exist"). A missing WITHIN and a stream on the right of a table
// are placed at the right source, a WITHIN that must go at WITHIN, a
// join type that does not exist at the join's first keyword.
func (p *Planner) stepKind(left *joinSide, right joinSource, st joinStep) (JoinKind, error) {
	lname := "the join so far"
	if left.source != nil {
		lname = left.source.qualifier()
	}
	rname := right.qualifier()
	rightTable := right.src.Kind == catalog.KindTable
	switch {
	case left.kind == catalog.KindStream && !rightTable:
		if st.within == nil {
			return 0, p.at(st.source, ErrSyntax.Errorf("Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.ksqldb.io/en/latest/developer-guide/ksqldb-reference/select-push-query/#within"))
		}
		return StreamStream, nil
	case left.kind == catalog.KindStream:
		if st.within != nil {
			return 0, p.at(st.withinAt, ErrSyntax.Errorf("A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your join again."))
		}
		switch st.tp {
		case FullJoin:
			return 0, p.at(st.join, ErrUnsupported.Errorf("Invalid join type: full-outer join not supported for stream-table join. Got %s [FULL] OUTER JOIN %s.", lname, rname))
		case RightJoin:
			return 0, p.at(st.join, ErrUnsupported.Errorf("Invalid join type: right-outer join not supported for stream-table join. Got %s [RIGHT] OUTER JOIN %s.", lname, rname))
		}
		return StreamTable, nil
	case !rightTable:
		return 0, p.at(st.source, ErrUnsupported.Errorf("Invalid join order: table-stream joins are not supported; only stream-table joins. Got %s %s JOIN %s.", lname, joinTypeWord(st.tp), rname))
	}
	if st.within != nil {
		return 0, p.at(st.withinAt, ErrSyntax.Errorf("A window definition was provided for a Table-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your join again."))
	}
	return TableTable, nil
}

// joinTypeWord renders a join type as ksqlDB's messages do: [INNER],
// [LEFT] OUTER, ...
func joinTypeWord(t JoinType) string {
	switch t {
	case LeftJoin:
		return "[LEFT] OUTER"
	case RightJoin:
		return "[RIGHT] OUTER"
	case FullJoin:
		return "[FULL] OUTER"
	}
	return "[INNER]"
}

// leftLabel names the left input in a message.
func leftLabel(left *joinSide, sc *joinScope) string {
	if left.source != nil {
		return left.source.qualifier()
	}
	return sc.sources[0].qualifier()
}

// onAt is where a step's ON condition is written: its first term (the
// markers of FULL and WITHIN removed); nil for none.
func onAt(st joinStep) ast.Node {
	if len(st.on) == 0 {
		return nil
	}
	return st.on[0]
}

// notOnKey is the equality at fault when eqs do not equate the right
// table's key (equatesKey): the first whose right side is no key column
// of it, or, when each is one (a key column twice, or too few), the
// first equality.
func notOnKey(right *catalog.Source, off int, eqs []keyEq) ast.Node {
	for _, eq := range eqs {
		c := columnIndex(eq.r) - off
		if c < 0 || c >= len(right.Columns) || !right.Columns[c].Key {
			return eq.term
		}
	}
	return eqs[0].term
}

// equatesKey reports whether the right sides of eqs are exactly the right
// table's key columns, each once: then order lists, for each key column
// in the table's order, the equality that equates it.
func equatesKey(right *catalog.Source, off int, eqs []keyEq) (order []int, ok bool) {
	keys := right.KeyColumns()
	if len(keys) != len(eqs) {
		return nil, false
	}
	used := make([]bool, len(eqs))
	ki := 0
	for ci, c := range right.Columns {
		if !c.Key {
			continue
		}
		found := -1
		for i, eq := range eqs {
			if !used[i] && columnIndex(eq.r) == off+ci {
				found = i
				break
			}
		}
		if found < 0 {
			return nil, false
		}
		used[found] = true
		order = append(order, found)
		ki++
	}
	return order, ki == len(eqs)
}

// equatesAllKeys reports whether keys (over a source's own row) are its
// key columns, in order.
func equatesAllKeys(src *catalog.Source, keys []expr.Expr) bool {
	var idx []int
	for i, c := range src.Columns {
		if c.Key {
			idx = append(idx, i)
		}
	}
	if len(idx) != len(keys) {
		return false
	}
	for i, k := range keys {
		if columnIndex(k) != idx[i] {
			return false
		}
	}
	return true
}

// continuesKey reports whether the equalities' left sides are exactly the
// left input's key — each a column equivalent to its key column, all of
// them, in order (order lists the equalities in the order to check, nil
// for as written).
func continuesKey(keys [][]int, eqs []keyEq, order []int) bool {
	if len(keys) == 0 || len(keys) != len(eqs) {
		return false
	}
	for i := range keys {
		k := i
		if order != nil {
			k = order[i]
		}
		c := columnIndex(eqs[k].l)
		if c < 0 || !contains(keys[i], c) {
			return false
		}
	}
	return true
}

// coversKey reports whether the equalities' left sides are exactly the
// left input's key, in any order: each key column (or a column
// equivalent to it) equated once.
func coversKey(keys [][]int, eqs []keyEq) bool {
	if len(keys) == 0 || len(keys) != len(eqs) {
		return false
	}
	used := make([]bool, len(eqs))
	for _, set := range keys {
		found := false
		for i, eq := range eqs {
			if c := columnIndex(eq.l); !used[i] && c >= 0 && contains(set, c) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// keyColumns maps each equality, whose left side coversKey found
// equivalent to a key of left, to the row index that holds that key
// (joinSide.keyCols).
func keyColumns(left *joinSide, eqs []keyEq) []int {
	out := make([]int, len(eqs))
	used := make([]bool, len(left.keys))
	for i, eq := range eqs {
		c := columnIndex(eq.l)
		for k, set := range left.keys {
			if !used[k] && contains(set, c) {
				out[i], used[k] = left.keyCols[k], true
				break
			}
		}
	}
	return out
}

// equivalents returns the equivalence set of keys that holds column c, or
// just c.
func equivalents(keys [][]int, c int) []int {
	for _, set := range keys {
		if contains(set, c) {
			return append([]int(nil), set...)
		}
	}
	return []int{c}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// sameKeyFormat reports whether a stream's keys are serialized as a
// table's, so that equal keys are equal bytes in the same partition.
func sameKeyFormat(stream, table *catalog.Source) bool {
	return strings.EqualFold(stream.KeyFormat, table.KeyFormat)
}

// sourceKeyIndexes are a source's key columns as row indexes.
func sourceKeyIndexes(js *joinSource) []int {
	var out []int
	for i, c := range js.src.Columns {
		if c.Key {
			out = append(out, js.off+i)
		}
	}
	return out
}

// columnIndex is the row index e reads when it is a plain column
// reference, or -1.
func columnIndex(e expr.Expr) int {
	if c, ok := e.(*expr.Column); ok {
		return c.Index
	}
	return -1
}

// hasMap reports whether t is or contains a MAP.
func hasMap(t types.Type) bool {
	switch t.Kind {
	case types.KindMap:
		return true
	case types.KindArray:
		return hasMap(*t.Elem)
	case types.KindStruct:
		for _, f := range t.Fields {
			if hasMap(f.Type) {
				return true
			}
		}
	}
	return false
}

// syntheticName is the first of ROWKEY, ROWKEY_1, ROWKEY_2, ... that no
// source has as a column.
func syntheticName(taken map[string]bool) string {
	if !taken["ROWKEY"] {
		return "ROWKEY"
	}
	for i := 1; ; i++ {
		if n := fmt.Sprintf("ROWKEY_%d", i); !taken[n] {
			return n
		}
	}
}

// unparen strips parentheses.
func unparen(e ast.ExprNode) ast.ExprNode {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// msDuration is n milliseconds.
func msDuration(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
