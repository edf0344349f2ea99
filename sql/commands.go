package sql

import "strings"

// This file parses the statements that are plain commands: no query, no
// expressions, only keywords, names and literals.

var showKinds = map[string]ShowKind{
	"STREAMS":    ShowStreams,
	"TABLES":     ShowTables,
	"QUERIES":    ShowQueries,
	"TOPICS":     ShowTopics,
	"PROPERTIES": ShowProperties,
	"FUNCTIONS":  ShowFunctions,
	"TYPES":      ShowTypes,
	"VARIABLES":  ShowVariables,
	"NODES":      ShowNodes,
}

// show parses SHOW|LIST [ALL] STREAMS|TABLES|QUERIES|TOPICS|PROPERTIES|
// FUNCTIONS|TYPES|VARIABLES|NODES [EXTENDED]. ALL is ksqlDB's "include internal topics" flag; it
// is accepted before TOPICS only and carries no meaning here yet.
func (p *parser) show() (Statement, error) {
	start := p.i
	p.next()
	if p.isConnectorList() {
		return p.listConnectors(start)
	}
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
		return nil, p.unexpected("STREAMS, TABLES, QUERIES, TOPICS, PROPERTIES, FUNCTIONS, TYPES, VARIABLES or NODES")
	}
	p.next()
	ext := p.accept("EXTENDED")
	return &Show{text: p.textFrom(start), What: kind, Extended: ext}, nil
}

// describe parses DESCRIBE [EXTENDED] name [EXTENDED], DESCRIBE FUNCTION
// name and DESCRIBE STREAMS|TABLES [EXTENDED]. Unquoted, STREAMS and
// TABLES mean every stream or table, as in ksqlDB; a source of that name
// is described when quoted.
func (p *parser) describe() (Statement, error) {
	start := p.i
	p.next()
	if t := p.peek(); (t.is("STREAMS") || t.is("TABLES")) && (p.peekN(1).kind == tkEOF || p.peekN(1).is("EXTENDED") && p.peekN(2).kind == tkEOF) {
		p.next()
		ds := &DescribeSources{Kind: Stream, Extended: p.accept("EXTENDED")}
		if t.is("TABLES") {
			ds.Kind = Table
		}
		ds.text = p.textFrom(start)
		return ds, nil
	}
	if p.peek().is("CONNECTOR") && p.peekN(1).isName() && p.peekN(2).kind == tkEOF {
		return p.connectorByName(start, ConnectorDescribe)
	}
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

// drop parses DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC] and DROP
// TYPE [IF EXISTS] name.
func (p *parser) drop() (Statement, error) {
	start := p.i
	p.next()
	if p.peek().is("CONNECTOR") {
		return p.connectorByName(start, ConnectorDrop)
	}
	if p.accept("TYPE") {
		dt := &DropType{}
		if p.peek().is("IF") && p.peekN(1).is("EXISTS") {
			p.i += 2
			dt.IfExists = true
		}
		name, err := p.name("a type name")
		if err != nil {
			return nil, err
		}
		dt.Name = name
		dt.text = p.textFrom(start)
		return dt, nil
	}
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

// Lower is the kind in lower case: stream or table.
func (k SourceKind) Lower() string { return k.lower() }

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

// define parses DEFINE name = 'value'. A name starts with a letter or
// '_' and goes on with letters, digits and '_' (ksqlDB's rule); it is
// case-insensitive, kept lower-case.
func (p *parser) define() (Statement, error) {
	start := p.i
	p.next()
	name, err := p.variableName()
	if err != nil {
		return nil, err
	}
	if err := p.expectOp("="); err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tkString {
		return nil, p.unexpected("the variable's value as a quoted string ('value')")
	}
	p.next()
	return &Define{text: p.textFrom(start), Name: name, Value: t.val}, nil
}

// undefine parses UNDEFINE name.
func (p *parser) undefine() (Statement, error) {
	start := p.i
	p.next()
	name, err := p.variableName()
	if err != nil {
		return nil, err
	}
	return &Undefine{text: p.textFrom(start), Name: name}, nil
}

// variableName reads a session variable's name.
func (p *parser) variableName() (string, error) {
	t := p.peek()
	if t.kind != tkIdent || !validVariableName(t.text) {
		return "", p.unexpected("a variable name (a letter or '_', then letters, digits or '_')")
	}
	p.next()
	return strings.ToLower(t.text), nil
}

// assert parses ksqlDB's ASSERT [NOT EXISTS] TOPIC name [WITH (props)]
// [TIMEOUT n unit] and ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID n]
// [TIMEOUT n unit]. ksqlDB's test-only forms (ASSERT VALUES, ASSERT
// STREAM, ...) are syntax errors in a server, as in ksqlDB.
func (p *parser) assert() (Statement, error) {
	start := p.i
	p.next()
	a := &Assert{}
	if p.peek().is("NOT") && p.peekN(1).is("EXISTS") {
		p.i += 2
		a.NotExists = true
	}
	switch {
	case p.accept("TOPIC"):
		a.Kind = AssertTopic
		name, err := p.resourceName("a topic name")
		if err != nil {
			return nil, err
		}
		a.Name = name
		if p.accept("WITH") {
			if a.With, err = p.properties(); err != nil {
				return nil, err
			}
		}
	case p.accept("SCHEMA"):
		a.Kind = AssertSchema
		if p.accept("SUBJECT") {
			name, err := p.resourceName("a subject name")
			if err != nil {
				return nil, err
			}
			a.Name = name
		}
		if p.accept("ID") {
			id, err := p.integer("a schema id")
			if err != nil {
				return nil, err
			}
			a.ID, a.HasID = id, true
		}
		if a.Name == "" && !a.HasID {
			return nil, p.unexpected("SUBJECT or ID")
		}
	default:
		return nil, p.unexpected("TOPIC or SCHEMA")
	}
	if p.accept("TIMEOUT") {
		d, err := p.duration()
		if err != nil {
			return nil, err
		}
		a.Timeout, a.HasTimeout = d, true
	}
	a.text = p.textFrom(start)
	return a, nil
}

// resourceName reads a topic or subject name: a string, or a name kept
// exactly as written (topic names are case-sensitive).
func (p *parser) resourceName(what string) (string, error) {
	t := p.peek()
	switch t.kind {
	case tkString, tkQIdent:
		p.next()
		return t.val, nil
	case tkIdent:
		p.next()
		return t.text, nil
	}
	return "", p.unexpected(what)
}
