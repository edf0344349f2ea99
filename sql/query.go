package sql

import (
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// query parses a SELECT at the cursor, consuming every remaining token of
// the statement. The streaming clauses (WINDOW, PARTITION BY, EMIT) are
// found at parenthesis depth 0, parsed by us and cut out; the rest is
// rewritten and handed to TiDB.
func (p *parser) query() (*Query, error) {
	start := p.i
	end := len(p.toks) - 1 // the tkEOF token
	q := &Query{text: p.src[p.toks[start].pos:p.toks[end-1].end], pos: p.positions()}
	var kept []token
	var partition []token
	lastKeptNext := end // index of the token after the last kept one
	// joins holds what a join clause says beyond TiDB's grammar (FULL,
	// WITHIN), keyed by the index in kept of the ON that ends the clause.
	joins := map[int]*joinExtra{}
	var pending *joinExtra
	depth := 0
	for i := start; i < end; {
		t := p.toks[i]
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		}
		if depth == 0 {
			next := p.toks[i+1]
			switch {
			case t.is("WINDOW") && (next.is("TUMBLING") || next.is("HOPPING") || next.is("SESSION")):
				if q.Window != nil {
					return nil, errAt(t.pos, "duplicate WINDOW clause")
				}
				p.i = i + 1
				w, err := p.window()
				if err != nil {
					return nil, err
				}
				q.Window = w
				i = p.i
				continue
			case t.is("PARTITION") && next.is("BY"):
				if partition != nil {
					return nil, errAt(t.pos, "duplicate PARTITION BY clause")
				}
				j := i + 2
				for d := 0; j < end; j++ {
					u := p.toks[j]
					if u.isOp("(") || u.isOp("[") {
						d++
					} else if u.isOp(")") || u.isOp("]") {
						d--
					} else if d == 0 && endsPartitionBy(u, p.toks[j+1]) {
						break
					}
				}
				if j == i+2 {
					return nil, errAt(p.toks[j].pos, "expected PARTITION BY expressions, found %s", p.toks[j].describe())
				}
				partition = p.toks[i+2 : j]
				i = j
				continue
			case startsFullJoin(p.toks, i):
				// TiDB has no FULL JOIN (it would take FULL for an alias):
				// it gets a LEFT JOIN, and the ON condition a marker.
				if pending != nil {
					return nil, errAt(pending.at.pos, "expected ON for the %s", pending.describe())
				}
				pending = &joinExtra{at: t, full: true}
				kept = append(kept, token{kind: tkIdent, text: "LEFT", val: "LEFT", pos: t.pos, end: t.end})
				lastKeptNext = i + 1
				i++
				continue
			case startsWithin(t, next):
				if pending != nil && pending.within != nil {
					return nil, errAt(t.pos, "duplicate WITHIN clause")
				}
				p.i = i
				w, err := p.within()
				if err != nil {
					return nil, err
				}
				if !p.peek().is("ON") {
					return nil, p.unexpected("ON after the WITHIN clause")
				}
				if pending == nil {
					pending = &joinExtra{at: t}
				}
				pending.within = w
				i = p.i
				continue
			case t.is("ON") && pending != nil:
				joins[len(kept)] = pending
				pending = nil
			case t.is("EMIT") && (next.is("CHANGES") || next.is("FINAL")):
				// EMIT is not reserved: a column may be named EMIT.
				if q.Emit != EmitNone {
					return nil, errAt(t.pos, "duplicate EMIT clause")
				}
				q.Emit = EmitChanges
				if next.is("FINAL") {
					q.Emit = EmitFinal
				}
				i += 2
				continue
			}
		}
		kept = append(kept, t)
		lastKeptNext = i + 1
		i++
	}
	p.i = end
	if pending != nil {
		return nil, errAt(pending.at.pos, "expected ON for the %s", pending.describe())
	}

	rw := &rewriter{src: p.src, owner: p}
	f, err := rw.rewriteWithJoins(kept, joins)
	if err != nil {
		return nil, err
	}
	stmt, err := tidbParse(f.build(p.src, p.toks[lastKeptNext].pos, p.positions()))
	if err != nil {
		return nil, err
	}
	if set, ok := stmt.(*ast.SetOprStmt); ok && p.allowSetOpr && q.Window == nil && partition == nil && q.Emit == EmitNone {
		q.SetOpr = set
		return q, nil
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok {
		return nil, errAt(p.toks[start].pos, "expected a single SELECT (UNION and friends are not supported)")
	}
	q.Select = sel
	if sources, joins, ok := fromPlaces(kept); ok {
		placeFrom(sel, sources, joins, p.positions())
	}
	if partition != nil {
		exprs, err := p.exprList(partition)
		if err != nil {
			return nil, err
		}
		q.PartitionBy = exprs
	}
	return q, nil
}

// endsPartitionBy reports whether t (followed by next) starts the clause
// after a PARTITION BY list.
func endsPartitionBy(t, next token) bool {
	switch {
	case t.is("HAVING"), t.is("LIMIT"), t.is("WHERE"):
		return true
	case t.is("EMIT"):
		return next.is("CHANGES") || next.is("FINAL")
	case t.is("WINDOW"):
		return next.is("TUMBLING") || next.is("HOPPING") || next.is("SESSION")
	case t.is("GROUP"), t.is("ORDER"):
		return next.is("BY")
	}
	return false
}

// exprList parses a comma-separated list of expressions with TiDB, as the
// fields of SELECT <list>.
func (p *parser) exprList(toks []token) ([]ast.ExprNode, error) {
	rw := &rewriter{src: p.src, owner: p}
	body, err := rw.seq(toks, 0)
	if err != nil {
		return nil, err
	}
	f := frag{synth("SELECT ", toks[0])}
	f = append(f, body...)
	last := toks[len(toks)-1]
	stmt, err := tidbParse(f.build(p.src, last.end, p.positions()))
	if err != nil {
		return nil, err
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok || sel.Fields == nil || sel.From != nil || sel.Where != nil || sel.GroupBy != nil ||
		sel.Having != nil || sel.OrderBy != nil || sel.Limit != nil {
		return nil, errAt(toks[0].pos, "expected a list of expressions")
	}
	var exprs []ast.ExprNode
	for _, fld := range sel.Fields.Fields {
		if fld.WildCard != nil || fld.Expr == nil {
			return nil, errAt(toks[0].pos, "'*' is not an expression here")
		}
		if fld.AsName.O != "" {
			return nil, errAt(toks[0].pos, "an alias is not allowed here")
		}
		exprs = append(exprs, fld.Expr)
	}
	return exprs, nil
}

// durationUnits maps ksqlDB's time units to their length.
var durationUnits = map[string]time.Duration{
	"MILLISECOND": time.Millisecond, "MILLISECONDS": time.Millisecond,
	"SECOND": time.Second, "SECONDS": time.Second,
	"MINUTE": time.Minute, "MINUTES": time.Minute,
	"HOUR": time.Hour, "HOURS": time.Hour,
	"DAY": 24 * time.Hour, "DAYS": 24 * time.Hour,
}

// duration parses "n unit".
func (p *parser) duration() (time.Duration, error) {
	nt := p.peek()
	n, err := p.integer("a duration")
	if err != nil {
		return 0, err
	}
	u := p.peek()
	unit, ok := durationUnits[u.name()]
	if u.kind != tkIdent || !ok {
		return 0, p.unexpected("a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)")
	}
	p.next()
	if n > int64(1<<62)/int64(unit) {
		return 0, errAt(nt.pos, "duration %d %s is too long", n, u.name())
	}
	return time.Duration(n) * unit, nil
}

// window parses TUMBLING|HOPPING|SESSION (...) after WINDOW.
func (p *parser) window() (*Window, error) {
	kt := p.next()
	w := &Window{}
	switch kt.name() {
	case "TUMBLING":
		w.Kind = Tumbling
	case "HOPPING":
		w.Kind = Hopping
	default:
		w.Kind = Session
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var hasSize, hasAdvance, hasRetention bool
	for first := true; ; first = false {
		t := p.peek()
		var err error
		switch {
		case w.Kind == Session && first && t.kind == tkNumber:
			w.Size, err = p.duration()
			hasSize = true
		case w.Kind != Session && t.is("SIZE"):
			if hasSize {
				return nil, errAt(t.pos, "duplicate SIZE")
			}
			p.next()
			w.Size, err = p.duration()
			hasSize = true
		case w.Kind == Hopping && t.is("ADVANCE"):
			if hasAdvance {
				return nil, errAt(t.pos, "duplicate ADVANCE BY")
			}
			p.next()
			if err = p.expect("BY"); err == nil {
				w.Advance, err = p.duration()
			}
			hasAdvance = true
		case t.is("RETENTION"):
			if hasRetention {
				return nil, errAt(t.pos, "duplicate RETENTION")
			}
			p.next()
			w.Retention, err = p.duration()
			hasRetention = true
		case t.is("GRACE"):
			if w.HasGrace {
				return nil, errAt(t.pos, "duplicate GRACE PERIOD")
			}
			p.next()
			if err = p.expect("PERIOD"); err == nil {
				w.Grace, err = p.duration()
			}
			w.HasGrace = true
		default:
			switch {
			case w.Kind == Session && first:
				return nil, p.unexpected("the session gap, e.g. 5 MINUTES")
			case w.Kind == Hopping:
				return nil, p.unexpected("SIZE, ADVANCE BY, RETENTION or GRACE PERIOD")
			case w.Kind == Tumbling:
				return nil, p.unexpected("SIZE, RETENTION or GRACE PERIOD")
			}
			return nil, p.unexpected("RETENTION or GRACE PERIOD")
		}
		if err != nil {
			return nil, err
		}
		if p.acceptOp(",") {
			continue
		}
		if p.peek().isOp(")") {
			break
		}
		return nil, p.unexpected("',' or ')'")
	}
	closeTok := p.next()
	switch {
	case !hasSize && w.Kind != Session:
		return nil, errAt(closeTok.pos, "%s window requires SIZE", kt.name())
	case w.Kind == Hopping && !hasAdvance:
		return nil, errAt(closeTok.pos, "HOPPING window requires ADVANCE BY")
	case w.Size <= 0:
		return nil, errAt(kt.pos, "window size must be positive")
	case w.Kind == Hopping && (w.Advance <= 0 || w.Advance > w.Size):
		return nil, errAt(kt.pos, "ADVANCE BY must be positive and at most SIZE")
	case hasRetention && w.Retention < w.Size:
		return nil, errAt(kt.pos, "RETENTION must be at least the window size")
	}
	return w, nil
}
