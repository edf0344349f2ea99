package sql

import (
	"strconv"
	"time"
)

// This file handles what ksqlDB's join clauses say beyond TiDB's grammar:
// the WITHIN clause of stream-stream joins and FULL [OUTER] JOIN.
//
//	a JOIN b WITHIN 1 HOUR ON cond
//	a JOIN b WITHIN (10 SECONDS, 1 HOUR) GRACE PERIOD 5 MINUTES ON cond
//	a FULL [OUTER] JOIN b [WITHIN ...] ON cond
//
// Each is cut out and folded into the join's ON condition, in the same
// function-call style as the conventions on Query:
//
//	ON RUNNEL_WITHIN(before_ms, after_ms[, grace_ms]) AND (cond)
//	ON RUNNEL_FULL_JOIN() AND (cond)                     a FULL JOIN, given to TiDB as LEFT JOIN
//	ON RUNNEL_FULL_JOIN() AND RUNNEL_WITHIN(...) AND (cond)
//
// so the planner finds them among the terms of the ON condition's
// top-level AND chain (the chain may be rebalanced; the user's condition
// stays one parenthesized term). RUNNEL_WITHIN's third argument is present
// only when GRACE PERIOD was written. TiDB's own LEFT JOIN never carries
// RUNNEL_FULL_JOIN(), which is how the planner tells the two apart.

// joinExtra is what one join clause says beyond TiDB's grammar.
type joinExtra struct {
	at     token // the FULL or WITHIN keyword that started it
	full   bool
	within *within
}

// describe names the clause for an error message.
func (j *joinExtra) describe() string {
	if j.full {
		return "FULL JOIN"
	}
	return "WITHIN clause"
}

// startsFullJoin reports whether toks[i] begins FULL [OUTER] JOIN.
func startsFullJoin(toks []token, i int) bool {
	if !toks[i].is("FULL") || i+1 >= len(toks) {
		return false
	}
	next := toks[i+1]
	if next.is("OUTER") && i+2 < len(toks) {
		next = toks[i+2]
	}
	return next.is("JOIN")
}

// within is one parsed WITHIN clause.
type within struct {
	at            token // the WITHIN keyword
	before, after time.Duration
	grace         time.Duration
	hasGrace      bool
}

// startsWithin reports whether t, followed by next, begins a WITHIN clause.
func startsWithin(t, next token) bool {
	return t.is("WITHIN") && (next.kind == tkNumber || next.isOp("("))
}

// within parses WITHIN (...) at the cursor.
func (p *parser) within() (*within, error) {
	w := &within{at: p.next()}
	var err error
	if p.acceptOp("(") {
		if w.before, err = p.duration(); err != nil {
			return nil, err
		}
		if err := p.expectOp(","); err != nil {
			return nil, err
		}
		if w.after, err = p.duration(); err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	} else {
		if w.before, err = p.duration(); err != nil {
			return nil, err
		}
		w.after = w.before
	}
	if p.peek().is("GRACE") {
		p.next()
		if err := p.expect("PERIOD"); err != nil {
			return nil, err
		}
		if w.grace, err = p.duration(); err != nil {
			return nil, err
		}
		w.hasGrace = true
	}
	return w, nil
}

// call renders the RUNNEL_WITHIN(...) call.
func (w *within) call() string {
	s := "RUNNEL_WITHIN(" + strconv.FormatInt(w.before.Milliseconds(), 10) + ", " + strconv.FormatInt(w.after.Milliseconds(), 10)
	if w.hasGrace {
		s += ", " + strconv.FormatInt(w.grace.Milliseconds(), 10)
	}
	return s + ")"
}

// endsOnCondition reports whether t (followed by next) ends a join's ON
// condition at depth 0.
func endsOnCondition(t, next token) bool {
	switch {
	case t.is("JOIN"), t.is("INNER"), t.is("LEFT"), t.is("RIGHT"), t.is("FULL"),
		t.is("CROSS"), t.is("NATURAL"), t.is("WHERE"), t.is("HAVING"), t.is("LIMIT"):
		return true
	case t.is("GROUP"), t.is("ORDER"):
		return next.is("BY")
	}
	return false
}

// rewriteWithJoins rewrites the kept tokens of a query, folding each
// join clause's extras (keyed by the index in kept of the ON that ends
// the clause) into that ON condition.
func (rw *rewriter) rewriteWithJoins(kept []token, joins map[int]*joinExtra) (frag, error) {
	if len(joins) == 0 {
		return rw.seq(kept, 0)
	}
	var out frag
	start := 0
	for i := 0; i < len(kept); i++ {
		w, ok := joins[i]
		if !ok {
			continue
		}
		head, err := rw.seq(kept[start:i+1], 0)
		if err != nil {
			return nil, err
		}
		out = append(out, head...)
		// The condition runs to the next depth-0 clause keyword.
		end, depth := i+1, 0
		for ; end < len(kept); end++ {
			t := kept[end]
			if t.isOp("(") || t.isOp("[") {
				depth++
			} else if t.isOp(")") || t.isOp("]") {
				depth--
			} else if depth == 0 {
				next := token{}
				if end+1 < len(kept) {
					next = kept[end+1]
				}
				if endsOnCondition(t, next) {
					break
				}
			}
		}
		if end == i+1 {
			return nil, errAt(kept[i].end, "expected a join condition after ON")
		}
		cond, err := rw.seq(kept[i+1:end], 0)
		if err != nil {
			return nil, err
		}
		// Each marker maps to the keyword that caused it, and the
		// parenthesis around the condition to the condition's first
		// token, so that errors about them are placed there.
		if w.full {
			out = append(out, synth(" RUNNEL_FULL_JOIN() AND", w.at))
		}
		if w.within != nil {
			out = append(out, synth(" "+w.within.call()+" AND", w.within.at))
		}
		out = append(out, synth(" (", kept[i+1]))
		out = append(out, cond...)
		out = append(out, synth(") ", kept[end-1]))
		start = end
	}
	tail, err := rw.seq(kept[start:], 0)
	if err != nil {
		return nil, err
	}
	return append(out, tail...), nil
}
