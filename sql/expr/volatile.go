package expr

// Volatile reports whether e calls a function whose value is not a
// function of its arguments (RANDOM, UUID, ...) or evaluates part of
// itself over rows of its own making (a lambda): evaluating such an
// expression once in place of several times, or the other way round,
// changes what it computes. Operators that evaluate a condition early
// (a join's filter of one side) must leave those alone.
func Volatile(e Expr) bool {
	v := false
	Walk(e, func(x Expr) bool {
		if n, ok := x.(*node); ok && n.unrepeatable() {
			v = true
		}
		return !v
	})
	return v
}

// unrepeatable reports whether n itself (not its children) must be
// evaluated exactly where and as often as the query says: a volatile
// function, or a node that evaluates part of itself over rows of its own
// making (a lambda's body). Volatile and Share both ask it.
func (n *node) unrepeatable() bool { return n.volatile || n.ext }
