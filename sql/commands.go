package sql

// This file parses the statements that are plain commands: no query, no
// expressions, only keywords, names and literals.

var showKinds = map[string]ShowKind{
	"STREAMS":    ShowStreams,
	"TABLES":     ShowTables,
	"QUERIES":    ShowQueries,
	"TOPICS":     ShowTopics,
	"PROPERTIES": ShowProperties,
	"FUNCTIONS":  ShowFunctions,
}

// show parses SHOW|LIST [ALL] STREAMS|TABLES|QUERIES|TOPICS|PROPERTIES|
// FUNCTIONS [EXTENDED]. ALL is ksqlDB's "include internal topics" flag; it
// is accepted before TOPICS only and carries no meaning here yet.
func (p *parser) show() (Statement, error) {
	start := p.i
	p.next()
	all := p.accept("ALL")
	t := p.peek()
	kind, ok := ShowKind(0), false
	if t.kind == tkIdent {
		kind, ok = showKinds[t.name()]
	}
	if !ok && (t.kind == tkIdent || all) {
		return p.showVariable(start, all)
	}
	if !ok || (all && kind != ShowTopics) {
		return nil, p.unexpected("STREAMS, TABLES, QUERIES, TOPICS, PROPERTIES or FUNCTIONS")
	}
	p.next()
	ext := p.accept("EXTENDED")
	return &Show{text: p.textFrom(start), What: kind, Extended: ext}, nil
}

// describe parses DESCRIBE [EXTENDED] name [EXTENDED] and DESCRIBE
// FUNCTION name.
func (p *parser) describe() (Statement, error) {
	start := p.i
	p.next()
	d := &Describe{}
	if p.peek().is("FUNCTION") && p.peekN(1).isName() {
		p.next()
		d.Function = true
	} else if p.peek().is("EXTENDED") && p.peekN(1).isName() {
		p.next()
		d.Extended = true
	}
	name, err := p.name("a stream, table or function name")
	if err != nil {
		return nil, err
	}
	d.Name = name
	if !d.Function && !d.Extended && p.accept("EXTENDED") {
		d.Extended = true
	}
	d.text = p.textFrom(start)
	return d, nil
}

// sourceKind parses STREAM or TABLE.
func (p *parser) sourceKind() (SourceKind, error) {
	switch {
	case p.accept("STREAM"):
		return Stream, nil
	case p.accept("TABLE"):
		return Table, nil
	}
	return 0, p.unexpected("STREAM or TABLE")
}

// drop parses DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC].
func (p *parser) drop() (Statement, error) {
	start := p.i
	p.next()
	kind, err := p.sourceKind()
	if err != nil {
		return nil, err
	}
	d := &Drop{Kind: kind}
	if p.peek().is("IF") && p.peekN(1).is("EXISTS") {
		p.i += 2
		d.IfExists = true
	}
	if d.Name, err = p.name("a " + kind.lower() + " name"); err != nil {
		return nil, err
	}
	if p.accept("DELETE") {
		if err := p.expect("TOPIC"); err != nil {
			return nil, err
		}
		d.DeleteTopic = true
	}
	d.text = p.textFrom(start)
	return d, nil
}

func (k SourceKind) lower() string {
	if k == Table {
		return "table"
	}
	return "stream"
}

// terminate parses TERMINATE query_id | TERMINATE ALL. Query ids are
// identifiers: ksqlDB's ids (CSAS_X_1) are upper-case, so an unquoted id
// typed in lower case still names them.
func (p *parser) terminate() (Statement, error) {
	start := p.i
	p.next()
	tm := &Terminate{}
	if p.accept("ALL") {
		tm.All = true
	} else {
		id, err := p.name("a query id or ALL")
		if err != nil {
			return nil, err
		}
		tm.QueryID = id
	}
	tm.text = p.textFrom(start)
	return tm, nil
}

// literal consumes a string or number literal and returns its value: the
// unquoted string, or the number's text.
func (p *parser) literal(what string) (string, error) {
	t := p.peek()
	switch t.kind {
	case tkString:
		p.i++
		return t.val, nil
	case tkNumber:
		p.i++
		return t.text, nil
	case tkOp:
		if t.text == "-" && p.peekN(1).kind == tkNumber && p.peekN(1).pos == t.end {
			p.i += 2
			return "-" + p.toks[p.i-1].text, nil
		}
	}
	return "", p.unexpected(what)
}

// set parses SET 'name' = 'value'.
func (p *parser) set() (Statement, error) {
	start := p.i
	p.next()
	s := &Set{}
	t := p.peek()
	if t.kind != tkString {
		return p.pgSet(start)
	}
	p.next()
	s.Name = t.val
	if err := p.expectOp("="); err != nil {
		return nil, err
	}
	v, err := p.literal("a quoted property value")
	if err != nil {
		return nil, err
	}
	s.Value = v
	s.text = p.textFrom(start)
	return s, nil
}

// unset parses UNSET 'name'.
func (p *parser) unset() (Statement, error) {
	start := p.i
	p.next()
	t := p.peek()
	if t.kind != tkString {
		return nil, p.unexpected("a quoted property name")
	}
	p.next()
	return &Unset{text: p.textFrom(start), Name: t.val}, nil
}

// print parses PRINT 'topic'|topic [FROM BEGINNING] [INTERVAL|SAMPLE n]
// [LIMIT n]. Topic names are case-sensitive in ksqlDB, even unquoted, so
// an unquoted name is kept exactly as written.
func (p *parser) print() (Statement, error) {
	start := p.i
	p.next()
	pr := &Print{}
	t := p.peek()
	switch t.kind {
	case tkString, tkQIdent:
		pr.Topic = t.val
	case tkIdent:
		pr.Topic = t.text
	default:
		return nil, p.unexpected("a topic name")
	}
	p.next()
	// Topic names may contain '-' and '.' when written unquoted, e.g.
	// PRINT my-topic: glue adjacent tokens back together.
	for t.kind == tkIdent {
		nt := p.peek()
		if nt.pos != p.toks[p.i-1].end || !(nt.isOp("-") || nt.isOp(".") || nt.kind == tkIdent || nt.kind == tkNumber) {
			break
		}
		pr.Topic += nt.text
		p.next()
	}
	seen := map[string]bool{}
	for {
		t := p.peek()
		var clause string
		switch {
		case t.is("FROM"):
			clause = "FROM"
		case t.is("INTERVAL"), t.is("SAMPLE"):
			clause = "INTERVAL"
		case t.is("LIMIT"):
			clause = "LIMIT"
		default:
			pr.text = p.textFrom(start)
			return pr, nil
		}
		if seen[clause] {
			return nil, errAt(t.pos, "duplicate %s clause", clause)
		}
		seen[clause] = true
		p.next()
		var err error
		switch clause {
		case "FROM":
			err = p.expect("BEGINNING")
			pr.FromBeginning = true
		case "INTERVAL":
			pr.Interval, err = p.integer("an interval")
		case "LIMIT":
			pr.Limit, err = p.integer("a limit")
		}
		if err != nil {
			return nil, err
		}
	}
}

// explain parses EXPLAIN statement | EXPLAIN query_id.
func (p *parser) explain() (Statement, error) {
	start := p.i
	p.next()
	e := &Explain{}
	t := p.peek()
	if t.is("SELECT") || t.is("CREATE") || t.is("INSERT") {
		st, err := p.statementPrefix()
		if err != nil {
			return nil, err
		}
		e.Statement = st
	} else {
		id, err := p.name("a statement or a query id")
		if err != nil {
			return nil, err
		}
		e.QueryID = id
	}
	e.text = p.textFrom(start)
	return e, nil
}
