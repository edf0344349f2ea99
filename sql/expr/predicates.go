package expr

import (
	"strings"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/runnel/runnel/sql/types"
)

func (b *Binder) isNull(n *ast.IsNullExpr) (Expr, error) {
	x, err := b.Bind(n.Expr)
	if err != nil {
		return nil, err
	}
	text := []any{"(", x, " IS NULL)"}
	if n.Not {
		text = []any{"(", x, " IS NOT NULL)"}
	}
	want := !n.Not
	return &node{t: types.Boolean, sql: text, kids: []Expr{x}, eval: func(row types.Row) (types.Value, error) {
		v, err := x.Eval(row)
		if err != nil {
			return types.Value{}, err
		}
		return boolV(v.IsNull() == want), nil
	}}, nil
}

func (b *Binder) isTruth(n *ast.IsTruthExpr) (Expr, error) {
	x, err := b.bind(n.Expr)
	if err != nil {
		return nil, err
	}
	if err := requireBoolean(b, x, "IS TRUE"); err != nil {
		return nil, err
	}
	target := n.True > 0
	suffix := " IS "
	if n.Not {
		suffix += "NOT "
	}
	if target {
		suffix += "TRUE)"
	} else {
		suffix += "FALSE)"
	}
	neg := n.Not
	return &node{t: types.Boolean, sql: []any{"(", x, suffix}, kids: []Expr{x}, eval: func(row types.Row) (types.Value, error) {
		v, err := x.Eval(row)
		if err != nil {
			return types.Value{}, err
		}
		is := !v.IsNull() && v.Bool() == target
		return boolV(is != neg), nil
	}}, nil
}

// like binds [NOT] LIKE / ILIKE. % matches any run of characters, _ any
// one character; an ESCAPE character, when given, makes the next
// character literal. Without ESCAPE no character escapes (ksqlDB's
// default). A literal pattern is compiled once at bind time.
func (b *Binder) like(n *ast.PatternLikeOrIlikeExpr) (Expr, error) {
	x, err := b.bind(n.Expr)
	if err != nil {
		return nil, err
	}
	p, err := b.bind(n.Pattern)
	if err != nil {
		return nil, err
	}
	b.infer(x, types.String)
	b.infer(p, types.String)
	for _, e := range []Expr{x, p} {
		if k := e.Type().Kind; k != types.KindString && k != types.KindNull {
			return nil, errorf(ErrTypeMismatch, "LIKE needs STRING operands, got %s: %s", e.Type(), clip(e))
		}
	}
	esc := rune(-1)
	if n.EscapeExplicit {
		esc = rune(n.Escape)
	}
	fold := !n.IsLike
	kw := "LIKE"
	if fold {
		kw = "ILIKE"
	}
	if n.Not {
		kw = "NOT " + kw
	}
	tail := ")"
	if n.EscapeExplicit {
		tail = " ESCAPE " + quoteString(string(esc)) + ")"
	}
	text := []any{"(", x, " " + kw + " ", p, tail}
	neg := n.Not
	var fixed []likeTok
	if lit, ok := p.(*Literal); ok && !lit.Value.IsNull() {
		pat := lit.Value.Str()
		if fold {
			pat = strings.ToLower(pat)
		}
		if fixed, err = compileLike(pat, esc); err != nil {
			return nil, err
		}
	}
	return &node{t: types.Boolean, sql: text, kids: []Expr{x, p}, eval: func(row types.Row) (types.Value, error) {
		v, err := x.Eval(row)
		if err != nil || v.IsNull() {
			return types.Value{}, err
		}
		toks := fixed
		if toks == nil {
			pv, err := p.Eval(row)
			if err != nil || pv.IsNull() {
				return types.Value{}, err
			}
			pat := pv.Str()
			if fold {
				pat = strings.ToLower(pat)
			}
			if toks, err = compileLike(pat, esc); err != nil {
				return types.Value{}, err
			}
		}
		s := v.Str()
		if fold {
			s = strings.ToLower(s)
		}
		return boolV(matchLike(toks, s) != neg), nil
	}}, nil
}

// likeTok is one element of a compiled LIKE pattern: a literal rune, any
// one rune (_), or any run of runes (%).
type likeTok struct {
	kind byte // 'c' literal, '_' one, '%' many
	r    rune
}

func compileLike(p string, esc rune) ([]likeTok, error) {
	toks := make([]likeTok, 0, len(p))
	for i := 0; i < len(p); {
		r, sz := utf8.DecodeRuneInString(p[i:])
		i += sz
		switch {
		case r == esc:
			if i >= len(p) {
				return nil, errorf(ErrInvalidEscape, "LIKE pattern %q ends with its escape character", p)
			}
			r, sz = utf8.DecodeRuneInString(p[i:])
			i += sz
			toks = append(toks, likeTok{kind: 'c', r: r})
		case r == '%':
			if len(toks) == 0 || toks[len(toks)-1].kind != '%' {
				toks = append(toks, likeTok{kind: '%'})
			}
		case r == '_':
			toks = append(toks, likeTok{kind: '_'})
		default:
			toks = append(toks, likeTok{kind: 'c', r: r})
		}
	}
	return toks, nil
}

// matchLike matches s against toks with the classic single-backtrack
// wildcard algorithm: on a mismatch, retry from the last % consuming one
// more rune. Linear in practice, O(len(s)·len(toks)) at worst.
func matchLike(toks []likeTok, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case '%':
				starT, starS = ti, si
				ti++
				continue
			case '_':
				_, sz := utf8.DecodeRuneInString(s[si:])
				si += sz
				ti++
				continue
			default:
				r, sz := utf8.DecodeRuneInString(s[si:])
				if r == t.r {
					si += sz
					ti++
					continue
				}
			}
		}
		if starT < 0 {
			return false
		}
		_, sz := utf8.DecodeRuneInString(s[starS:])
		starS += sz
		si = starS
		ti = starT + 1
	}
	for ti < len(toks) && toks[ti].kind == '%' {
		ti++
	}
	return ti == len(toks)
}

// in binds x [NOT] IN (list) with three-valued logic: TRUE if any item
// equals x, else NULL if x or any item is NULL, else FALSE.
func (b *Binder) in(n *ast.PatternInExpr) (Expr, error) {
	if n.Sel != nil {
		return nil, errorf(ErrUnsupported, "IN (subquery) is not supported")
	}
	x, err := b.bind(n.Expr)
	if err != nil {
		return nil, err
	}
	items := make([]Expr, len(n.List))
	for i, it := range n.List {
		if items[i], err = b.bind(it); err != nil {
			return nil, err
		}
	}
	// An open parameter on the left takes the first typed item's type.
	if isOpenParam(x) {
		for _, it := range items {
			if !isOpenParam(it) {
				b.infer(x, it.Type())
				break
			}
		}
	}
	lhs := make([]Expr, len(items))
	cmps := make([]cmpFunc, len(items))
	for i := range items {
		if lhs[i], items[i], cmps[i], err = comparer(b, x, items[i], "IN"); err != nil {
			return nil, err
		}
	}
	b.settle(x)
	kw := " IN ("
	if n.Not {
		kw = " NOT IN ("
	}
	text := []any{"(", x, kw, joined{sep: ", ", items: items}, "))"}
	neg := n.Not
	kids := append([]Expr{x}, items...)
	return &node{t: types.Boolean, sql: text, kids: kids, eval: func(row types.Row) (types.Value, error) {
		xv, err := x.Eval(row)
		if err != nil || xv.IsNull() {
			return types.Value{}, err
		}
		sawNull := false
		for i, it := range items {
			a := xv
			if lhs[i] != x { // x was converted for this item (a string vs a TIMESTAMP)
				if a, err = lhs[i].Eval(row); err != nil {
					return types.Value{}, err
				}
			}
			v, err := it.Eval(row)
			if err != nil {
				return types.Value{}, err
			}
			if v.IsNull() {
				sawNull = true
				continue
			}
			if cmps[i](a, v) == 0 {
				return boolV(!neg), nil
			}
		}
		if sawNull {
			return types.Value{}, nil
		}
		return boolV(neg), nil
	}}, nil
}

// between binds x [NOT] BETWEEN lo AND hi as lo <= x AND x <= hi.
func (b *Binder) between(n *ast.BetweenExpr) (Expr, error) {
	x, err := b.bind(n.Expr)
	if err != nil {
		return nil, err
	}
	lo, err := b.bind(n.Left)
	if err != nil {
		return nil, err
	}
	hi, err := b.bind(n.Right)
	if err != nil {
		return nil, err
	}
	if isOpenParam(x) {
		if !isOpenParam(lo) {
			b.infer(x, lo.Type())
		} else {
			b.infer(x, hi.Type())
		}
	}
	ge, err := compare(b, opcode.GE, x, lo)
	if err != nil {
		return nil, err
	}
	le, err := compare(b, opcode.LE, x, hi)
	if err != nil {
		return nil, err
	}
	both, err := logic(b, true, ge, le)
	if err != nil {
		return nil, err
	}
	kw := " BETWEEN "
	if n.Not {
		both, _ = not(b, both)
		kw = " NOT BETWEEN "
	}
	eval := both.(*node).eval
	if cx, clo, chi, ok := betweenColumns(x, lo, hi); ok {
		eval = betweenInts(cx, clo, chi, n.Not)
	}
	return &node{t: types.Boolean, sql: []any{"(", x, kw, lo, " AND ", hi, ")"},
		kids: []Expr{x, lo, hi}, eval: eval}, nil
}

// betweenColumns reports whether x BETWEEN lo AND hi reads three columns
// whose values compare as their integers do, with nothing to convert:
// INT or BIGINT all three, or all three of one of the temporal types.
// Nexmark q4's ON condition, B.dateTime BETWEEN A.dateTime AND A.expires,
// is evaluated for every pair its join meets.
func betweenColumns(x, lo, hi Expr) (cx, clo, chi *Column, ok bool) {
	cx, ok1 := x.(*Column)
	clo, ok2 := lo.(*Column)
	chi, ok3 := hi.(*Column)
	if !ok1 || !ok2 || !ok3 {
		return nil, nil, nil, false
	}
	k, kl, kh := cx.T.Kind, clo.T.Kind, chi.T.Kind
	switch {
	case isIntegral(cx.T) && isIntegral(clo.T) && isIntegral(chi.T):
	case isTemporal(k) && kl == k && kh == k:
	default:
		return nil, nil, nil, false
	}
	return cx, clo, chi, true
}

// betweenInts is x [NOT] BETWEEN lo AND hi over such columns, in one
// step: lo <= x AND x <= hi as the bound form answers it (FALSE when
// either comparison is FALSE, else NULL when either is NULL), where that
// form evaluated x twice and went through three nodes and a comparison
// function. Reading a column cannot fail, so the order the bound form
// evaluates its operands in, which decides which error comes out, does
// not matter here.
func betweenInts(x, lo, hi *Column, not bool) evalFunc {
	return func(row types.Row) (types.Value, error) {
		v := row[x.Index]
		if v.IsNull() {
			return types.Value{}, nil
		}
		l, h := row[lo.Index], row[hi.Index]
		i := v.Int()
		if (!l.IsNull() && i < l.Int()) || (!h.IsNull() && i > h.Int()) {
			return boolV(not), nil
		}
		if l.IsNull() || h.IsNull() {
			return types.Value{}, nil
		}
		return boolV(!not), nil
	}
}

// caseExpr binds searched and simple CASE. The result type unifies the
// branches (numerics widen); a missing ELSE is NULL.
func (b *Binder) caseExpr(n *ast.CaseExpr) (Expr, error) {
	var subject Expr
	var err error
	if n.Value != nil {
		if subject, err = b.bind(n.Value); err != nil {
			return nil, err
		}
	}
	conds := make([]Expr, len(n.WhenClauses))
	results := make([]Expr, 0, len(n.WhenClauses)+1)
	for i, w := range n.WhenClauses {
		c, err := b.bind(w.Expr)
		if err != nil {
			return nil, err
		}
		if subject != nil {
			if isOpenParam(subject) && !isOpenParam(c) {
				b.infer(subject, c.Type())
			}
			if c, err = compare(b, opcode.EQ, subject, c); err != nil {
				return nil, err
			}
		} else if err := requireBoolean(b, c, "CASE WHEN"); err != nil {
			return nil, err
		}
		conds[i] = c
		r, err := b.bind(w.Result)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	var elseE Expr
	if n.ElseClause != nil {
		if elseE, err = b.bind(n.ElseClause); err != nil {
			return nil, err
		}
		results = append(results, elseE)
	}
	t, err := unify(b, results, "CASE")
	if err != nil {
		return nil, err
	}
	if t.Kind == types.KindNull {
		// ksqlDB cannot type such a CASE, and refuses it.
		return nil, errorf(ErrTypeMismatch, "Invalid Case expression. All case branches have NULL type")
	}
	for i := range results {
		if results[i], err = Coerce(results[i], t); err != nil {
			return nil, err
		}
	}
	if elseE != nil {
		elseE = results[len(results)-1]
	}
	text := make([]any, 0, 4*len(conds)+5)
	text = append(text, "CASE")
	if subject != nil {
		text = append(text, " ", subject)
	}
	for i := range n.WhenClauses {
		when := conds[i]
		if subject != nil {
			when = when.(*node).kids[1]
		}
		text = append(text, " WHEN ", when, " THEN ", results[i])
	}
	if elseE != nil {
		text = append(text, " ELSE ", elseE)
	}
	text = append(text, " END")
	kids := append(append([]Expr{}, conds...), results...)
	return &node{t: t, sql: text, kids: kids, eval: func(row types.Row) (types.Value, error) {
		for i, c := range conds {
			v, err := c.Eval(row)
			if err != nil {
				return types.Value{}, err
			}
			if !v.IsNull() && v.Bool() {
				return results[i].Eval(row)
			}
		}
		if elseE != nil {
			return elseE.Eval(row)
		}
		return types.Value{}, nil
	}}, nil
}

// unify computes the common type of es, inferring open parameters from it
// (STRING when nothing is typed).
func unify(b *Binder, es []Expr, what string) (types.Type, error) {
	t := types.Null
	for _, e := range es {
		if isOpenParam(e) {
			continue
		}
		nt, ok := commonType(t, e.Type())
		if !ok {
			return types.Type{}, errorf(ErrTypeMismatch, "%s types %s and %s cannot be matched", what, t, e.Type())
		}
		t = nt
	}
	for _, e := range es {
		b.infer(e, t)
	}
	if t.Kind == types.KindNull {
		for _, e := range es {
			if e.Type().Kind != types.KindNull {
				t = e.Type()
			}
		}
	}
	return t, nil
}
