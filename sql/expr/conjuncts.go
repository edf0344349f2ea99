package expr

// Conjuncts returns the terms of e's top-level AND, in order: its
// operands when e is an AND (the operands of an AND among them in turn),
// else e alone. The WHERE is TRUE only when every term is: a term that is
// FALSE or NULL for a row makes the WHERE not TRUE for it, whatever the
// others are, which is what lets a join test a term that reads one side
// on that side's rows alone.
func Conjuncts(e Expr) []Expr {
	n, ok := e.(*node)
	if !ok || !n.and {
		return []Expr{e}
	}
	var out []Expr
	for _, k := range n.kids {
		out = append(out, Conjuncts(k)...)
	}
	return out
}

// AllOf is the AND of terms, each BOOLEAN (terms of a bound WHERE, as
// Conjuncts returns them): the term itself when there is one, nil for
// none.
func AllOf(terms []Expr) Expr {
	switch len(terms) {
	case 0:
		return nil
	case 1:
		return terms[0]
	}
	return logicNode(true, terms)
}
