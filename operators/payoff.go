package operators

// payoff counts how often a piece of optional work pays off, for a
// policy (payoffPolicy) to judge it by: a cache that keeps what may be
// read again, or an index that puts an entry ahead of the row it waits
// for. Its zero value has counted nothing.
type payoff struct {
	// done counts the times the work was done, paid those of them that
	// paid off, and skipped the times it was not done since the last.
	done, paid, skipped int
}

// payoffPolicy says when work counted by a payoff is worth doing: while
// its counts are young (warmup) and while at least one in ratio of the
// times it was done paid off; below that, once in sample, so that the
// share is still measured. window bounds the counts, halved past it, so
// that they follow recent behaviour rather than the whole run's.
type payoffPolicy struct {
	warmup, ratio, sample, window int
}

// worth reports whether the work is worth doing this time.
func (p *payoff) worth(pol payoffPolicy) bool {
	if p.done < pol.warmup || pol.ratio*p.paid >= p.done {
		return true
	}
	if p.skipped++; p.skipped < pol.sample {
		return false
	}
	p.skipped = 0
	return true
}

// did counts a time the work was done.
func (p *payoff) did(pol payoffPolicy) {
	if p.done++; p.done > pol.window {
		p.done, p.paid = p.done/2, p.paid/2
	}
}

// paidOff counts a time it paid off.
func (p *payoff) paidOff() { p.paid++ }
