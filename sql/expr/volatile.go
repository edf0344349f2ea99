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
		if n, ok := x.(*node); ok && (n.volatile || n.ext) {
			v = true
		}
		return !v
	})
	return v
}
