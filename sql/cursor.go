package sql

import "strings"

// This file parses PostgreSQL's cursor statements: DECLARE, FETCH, MOVE
// and CLOSE, as psql (FETCH_COUNT), psycopg2 (named cursors) and JDBC
// tools send them. Cursor names follow the identifier rule (upper-cased
// unless quoted), so a name written the same way twice names the same
// cursor.

// declare parses DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [[NO]
// SCROLL] CURSOR [{WITH|WITHOUT} HOLD] FOR query. The options before
// CURSOR may come in any order, as in PostgreSQL.
func (p *parser) declare() (Statement, error) {
	start := p.i
	p.next()
	d := &Declare{}
	var err error
	if d.Name, err = p.name("a cursor name"); err != nil {
		return nil, err
	}
	for !p.accept("CURSOR") {
		switch t := p.peek(); {
		case t.is("BINARY"):
			d.Binary = true
		case t.is("ASENSITIVE"), t.is("INSENSITIVE"):
		case t.is("SCROLL"):
			d.Scroll = true
		case t.is("NO") && p.peekN(1).is("SCROLL"):
			p.next()
			d.Scroll = false
		default:
			return nil, p.unexpected("CURSOR")
		}
		p.next()
	}
	switch {
	case p.peek().is("WITH") && p.peekN(1).is("HOLD"):
		p.i += 2
		d.Hold = true
	case p.peek().is("WITHOUT") && p.peekN(1).is("HOLD"):
		p.i += 2
	}
	if err := p.expect("FOR"); err != nil {
		return nil, err
	}
	if !p.peek().is("SELECT") {
		return nil, p.unexpected("a SELECT")
	}
	if d.Query, err = p.query(); err != nil {
		return nil, err
	}
	d.text = p.textFrom(start)
	return d, nil
}

// fetch parses FETCH or MOVE:
//
//	FETCH [direction] [FROM|IN] name
//	direction: NEXT | PRIOR | FIRST | LAST | ABSOLUTE n | RELATIVE n | n |
//	           ALL | FORWARD [n | ALL] | BACKWARD [n | ALL]
//
// Forward motion sets Count or All; anything else is kept in Direction
// for the engine to refuse, since Runnel's cursors only move forward.
func (p *parser) fetch() (Statement, error) {
	start := p.i
	f := &Fetch{Move: p.next().is("MOVE"), Count: 1}
	dirStart := p.i
	// signed reads an optional '-' and an integer.
	signed := func() (int64, bool, error) {
		neg := p.acceptOp("-")
		if !neg {
			p.acceptOp("+")
		}
		if p.peek().kind != tkNumber {
			if neg {
				return 0, false, p.unexpected("a row count")
			}
			return 0, false, nil
		}
		n, err := p.integer("a row count")
		if neg {
			n = -n
		}
		return n, true, err
	}
	// The direction ends where FROM, IN or the cursor's name begins. A
	// word that is a direction keyword is one only when something follows
	// it (FETCH next names a cursor called NEXT, as in PostgreSQL).
	more := func(n int) bool { return p.peekN(n).kind != tkEOF }
	t := p.peek()
	switch {
	case (t.is("NEXT") || t.is("PRIOR") || t.is("FIRST") || t.is("LAST")) && more(1):
		p.next()
		if !t.is("NEXT") {
			f.Direction = strings.ToUpper(t.text)
		}
	case (t.is("ABSOLUTE") || t.is("RELATIVE")) && more(1):
		p.next()
		if _, ok, err := signed(); err != nil || !ok {
			if err == nil {
				err = p.unexpected("a row count")
			}
			return nil, err
		}
		f.Direction = p.src[p.toks[dirStart].pos:p.toks[p.i-1].end]
	case t.is("ALL") && more(1):
		p.next()
		f.All = true
	case (t.is("FORWARD") || t.is("BACKWARD")) && more(1):
		p.next()
		switch {
		case p.peek().is("ALL") && more(1):
			p.next()
			f.All = true
		default:
			n, ok, err := signed()
			if err != nil {
				return nil, err
			}
			if ok {
				f.Count = n
			}
		}
		if t.is("BACKWARD") {
			f.Direction = p.src[p.toks[dirStart].pos:p.toks[p.i-1].end]
		}
	case t.kind == tkNumber, t.isOp("-"), t.isOp("+"):
		n, _, err := signed()
		if err != nil {
			return nil, err
		}
		f.Count = n
	}
	if f.Direction == "" && !f.All && f.Count <= 0 {
		f.Direction = p.src[p.toks[dirStart].pos:p.toks[p.i-1].end]
	}
	if !p.accept("FROM") {
		p.accept("IN")
	}
	var err error
	if f.Cursor, err = p.name("a cursor name"); err != nil {
		return nil, err
	}
	f.text = p.textFrom(start)
	return f, nil
}

// closeCursor parses CLOSE name | CLOSE ALL.
func (p *parser) closeCursor() (Statement, error) {
	start := p.i
	p.next()
	c := &CloseCursor{}
	if p.peek().is("ALL") && p.peekN(1).kind == tkEOF {
		p.next()
		c.All = true
	} else {
		name, err := p.name("a cursor name or ALL")
		if err != nil {
			return nil, err
		}
		c.Name = name
	}
	c.text = p.textFrom(start)
	return c, nil
}
