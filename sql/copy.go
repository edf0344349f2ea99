package sql

import "strings"

// copyStmt parses COPY (see Copy). It only reads the syntax: which
// options mean what, and which forms Runnel refuses, is the engine's
// business.
func (p *parser) copyStmt() (Statement, error) {
	start := p.i
	p.next()
	c := &Copy{}
	if p.peek().isOp("(") {
		open := p.i
		end := closing(p.toks, open)
		if end < 0 {
			return nil, errAt(p.peek().pos, "unbalanced '('")
		}
		if !p.peekN(1).is("SELECT") {
			p.next()
			return nil, p.unexpected("a SELECT")
		}
		// The query is parsed by a parser of its own over the tokens
		// inside the parentheses; positions stay those of the whole text.
		inner := make([]token, end-open-1, end-open)
		copy(inner, p.toks[open+1:end])
		inner = append(inner, token{kind: tkEOF, pos: p.toks[end].pos, end: p.toks[end].pos})
		q, err := (&parser{src: p.src, toks: inner, opts: p.opts, top: p.root()}).query()
		if err != nil {
			return nil, err
		}
		c.Query = q
		p.i = end + 1
	} else {
		var err error
		if c.Table, err = p.name("a stream or table name, or (SELECT ...)"); err != nil {
			return nil, err
		}
		if p.acceptOp("(") {
			if c.Columns, err = p.nameList("a column name"); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case p.accept("FROM"):
		c.From = true
		if c.Query != nil {
			return nil, errAt(p.toks[p.i-1].pos, "COPY FROM needs a stream or table, not a query")
		}
	case p.accept("TO"):
	default:
		return nil, p.unexpected("FROM or TO")
	}
	switch t := p.peek(); {
	case c.From && t.is("STDIN"), !c.From && t.is("STDOUT"):
		p.next()
	case t.is("PROGRAM") && p.peekN(1).kind == tkString:
		c.Program, c.File = true, p.peekN(1).val
		p.i += 2
	case t.kind == tkString:
		c.File = t.val
		p.next()
	default:
		if c.From {
			return nil, p.unexpected("STDIN")
		}
		return nil, p.unexpected("STDOUT")
	}
	opts, err := p.copyOptions()
	if err != nil {
		return nil, err
	}
	c.Options = opts
	c.text = p.textFrom(start)
	return c, nil
}

// nameList reads names separated by ',' up to ')'; the cursor is after
// '('.
func (p *parser) nameList(what string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	for {
		nt := p.peek()
		n, err := p.name(what)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, errAt(nt.pos, "column %s is named more than once", n)
		}
		seen[n] = true
		names = append(names, n)
		if p.acceptOp(",") {
			continue
		}
		return names, p.expectOp(")")
	}
}

// copyOptions reads COPY's options: [WITH] (name [value], ...) or the old
// syntax [WITH] [BINARY] [DELIMITER [AS] 'c'] [NULL [AS] 's'] [CSV
// [HEADER] [QUOTE [AS] 'q'] [ESCAPE [AS] 'e'] [FORCE QUOTE cols|*]
// [FORCE NOT NULL cols]], which becomes the same list. An option named
// twice is an error, as in PostgreSQL.
func (p *parser) copyOptions() ([]CopyOption, error) {
	var opts []CopyOption
	seen := map[string]bool{}
	add := func(at token, o CopyOption) error {
		if seen[o.Name] {
			return errAt(at.pos, "conflicting or redundant options: %s is given twice", strings.ToUpper(o.Name))
		}
		seen[o.Name] = true
		opts = append(opts, o)
		return nil
	}
	p.accept("WITH")
	if p.acceptOp("(") {
		for {
			nt := p.peek()
			if nt.kind != tkIdent {
				return nil, p.unexpected("a COPY option")
			}
			p.next()
			o := CopyOption{Name: strings.ToLower(nt.text)}
			switch v := p.peek(); {
			case v.isOp("("):
				p.next()
				cols, err := p.nameList("a column name")
				if err != nil {
					return nil, err
				}
				o.Columns, o.HasValue = cols, true
			case v.isOp("*"):
				p.next()
				o.Value, o.HasValue = "*", true
			case v.kind == tkString:
				p.next()
				o.Value, o.HasValue = v.val, true
			case v.kind == tkNumber, v.kind == tkIdent:
				p.next()
				o.Value, o.HasValue = v.text, true
			}
			if err := add(nt, o); err != nil {
				return nil, err
			}
			if p.acceptOp(",") {
				continue
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return opts, nil
		}
	}
	// quoted reads [AS] 'x' after an old-syntax keyword.
	quoted := func(what string) (string, error) {
		p.accept("AS")
		t := p.peek()
		if t.kind != tkString {
			return "", p.unexpected(what)
		}
		p.next()
		return t.val, nil
	}
	for {
		t := p.peek()
		var o CopyOption
		var err error
		switch {
		case t.kind == tkEOF:
			return opts, nil
		case t.is("BINARY"):
			p.next()
			o = CopyOption{Name: "format", Value: "binary", HasValue: true}
		case t.is("CSV"):
			p.next()
			o = CopyOption{Name: "format", Value: "csv", HasValue: true}
		case t.is("HEADER"):
			p.next()
			o = CopyOption{Name: "header"}
		case t.is("DELIMITER"), t.is("NULL"), t.is("QUOTE"), t.is("ESCAPE"), t.is("ENCODING"):
			p.next()
			o = CopyOption{Name: strings.ToLower(t.text), HasValue: true}
			if o.Value, err = quoted("a quoted " + strings.ToLower(t.text) + " string"); err != nil {
				return nil, err
			}
		case t.is("FORCE"):
			p.next()
			switch {
			case p.accept("QUOTE"):
				o.Name = "force_quote"
			case p.peek().is("NOT") && p.peekN(1).is("NULL"):
				p.i += 2
				o.Name = "force_not_null"
			default:
				return nil, p.unexpected("QUOTE or NOT NULL")
			}
			o.HasValue = true
			if p.acceptOp("*") {
				o.Value = "*"
				break
			}
			for {
				n, err := p.name("a column name")
				if err != nil {
					return nil, err
				}
				o.Columns = append(o.Columns, n)
				if !p.acceptOp(",") {
					break
				}
			}
		default:
			return nil, p.unexpected("a COPY option")
		}
		if err := add(t, o); err != nil {
			return nil, err
		}
	}
}
