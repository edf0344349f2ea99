package sql

// This file parses ksqlDB 0.29's statements that manage queries and
// sources without a query of their own (PAUSE, RESUME, ALTER), and those
// Runnel reads only to refuse them clearly (RUN SCRIPT, the connector
// statements): a ksqlDB user who pastes one gets a statement the engine
// answers with 0A000 and why, not a syntax error.

// PauseResume is PAUSE query_id | PAUSE ALL, or RESUME query_id | RESUME
// ALL (Resume).
type PauseResume struct {
	text    string
	Resume  bool
	QueryID string
	All     bool
}

// AlterSource is ALTER STREAM|TABLE name ADD [COLUMN] col type [, ADD
// [COLUMN] col type ...]: value columns added to a declared source.
type AlterSource struct {
	text string
	Kind SourceKind
	Name string
	// Columns are the added columns, in order; never keys.
	Columns []ColumnDef
	// stored is the text to record when it differs from text: custom
	// types spelled out (see StoredText).
	stored string
}

// RunScript is ksqlDB's RUN SCRIPT 'file': a command of ksqlDB's CLI,
// which reads the file on the client's side.
type RunScript struct {
	text string
	File string
}

// ConnectorAction is what a connector statement asks for.
type ConnectorAction int

const (
	// ConnectorList is SHOW|LIST [SOURCE|SINK] CONNECTORS.
	ConnectorList ConnectorAction = iota + 1
	// ConnectorPlugins is SHOW|LIST CONNECTOR PLUGINS.
	ConnectorPlugins
	// ConnectorCreate is CREATE SOURCE|SINK CONNECTOR [IF NOT EXISTS] name
	// WITH (props).
	ConnectorCreate
	// ConnectorDescribe is DESCRIBE CONNECTOR name.
	ConnectorDescribe
	// ConnectorDrop is DROP CONNECTOR [IF EXISTS] name.
	ConnectorDrop
)

// Connector is one of ksqlDB's Kafka Connect statements.
type Connector struct {
	text   string
	Action ConnectorAction
	// Type is SOURCE or SINK when the statement names one.
	Type string
	Name string
}

func (s *PauseResume) Text() string { return s.text }
func (s *AlterSource) Text() string { return s.text }
func (s *RunScript) Text() string   { return s.text }
func (s *Connector) Text() string   { return s.text }

func (*PauseResume) statement() {}
func (*AlterSource) statement() {}
func (*RunScript) statement()   {}
func (*Connector) statement()   {}

// pauseResume parses PAUSE|RESUME query_id | ALL. Ids are read as
// TERMINATE reads them (upper-cased unless quoted).
func (p *parser) pauseResume() (Statement, error) {
	start := p.i
	pr := &PauseResume{Resume: p.next().is("RESUME")}
	if p.accept("ALL") {
		pr.All = true
	} else {
		id, err := p.name("a query id or ALL")
		if err != nil {
			return nil, err
		}
		pr.QueryID = id
	}
	pr.text = p.textFrom(start)
	return pr, nil
}

// alter parses ALTER STREAM|TABLE name ADD [COLUMN] col type [, ...].
// ksqlDB's grammar has no KEY here: only value columns are added.
func (p *parser) alter() (Statement, error) {
	start := p.i
	p.next()
	kind, err := p.sourceKind()
	if err != nil {
		return nil, err
	}
	a := &AlterSource{Kind: kind}
	if a.Name, err = p.name("a " + kind.lower() + " name"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for {
		if err := p.expect("ADD"); err != nil {
			return nil, err
		}
		p.accept("COLUMN")
		name, typ, err := p.column(seen)
		if err != nil {
			return nil, err
		}
		if kt := p.peek(); kt.is("KEY") || kt.is("PRIMARY") {
			return nil, errAt(kt.pos, "ALTER adds value columns only: a key column cannot be added")
		}
		a.Columns = append(a.Columns, ColumnDef{Name: name, Type: typ})
		if !p.acceptOp(",") {
			break
		}
	}
	a.text = p.textFrom(start)
	if p.i > start {
		a.stored = p.storedText(p.toks[start].pos, p.toks[p.i-1].end)
	}
	return a, nil
}

// runScript parses RUN SCRIPT 'file'.
func (p *parser) runScript() (Statement, error) {
	start := p.i
	p.next()
	if err := p.expect("SCRIPT"); err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tkString {
		return nil, p.unexpected("the script's file name as a quoted string")
	}
	p.next()
	return &RunScript{text: p.textFrom(start), File: t.val}, nil
}

// listConnectors parses the rest of SHOW|LIST [SOURCE|SINK] CONNECTORS
// and SHOW|LIST CONNECTOR PLUGINS; start is the SHOW token's index and the
// cursor is past SHOW.
func (p *parser) listConnectors(start int) (Statement, error) {
	c := &Connector{Action: ConnectorList}
	switch {
	case p.accept("SOURCE"):
		c.Type = "SOURCE"
	case p.accept("SINK"):
		c.Type = "SINK"
	case p.accept("CONNECTOR"):
		if err := p.expect("PLUGINS"); err != nil {
			return nil, err
		}
		c.Action = ConnectorPlugins
		c.text = p.textFrom(start)
		return c, nil
	}
	if err := p.expect("CONNECTORS"); err != nil {
		return nil, err
	}
	c.text = p.textFrom(start)
	return c, nil
}

// isConnectorList reports whether the tokens after SHOW|LIST are a
// connector listing.
func (p *parser) isConnectorList() bool {
	t := p.peek()
	return t.is("CONNECTORS") || (t.is("SOURCE") || t.is("SINK")) && p.peekN(1).is("CONNECTORS") ||
		t.is("CONNECTOR") && p.peekN(1).is("PLUGINS")
}

// createConnector parses the rest of CREATE SOURCE|SINK CONNECTOR [IF NOT
// EXISTS] name WITH (props); the cursor is at SOURCE or SINK.
func (p *parser) createConnector(start int) (Statement, error) {
	c := &Connector{Action: ConnectorCreate, Type: p.next().name()}
	if err := p.expect("CONNECTOR"); err != nil {
		return nil, err
	}
	if p.peek().is("IF") && p.peekN(1).is("NOT") && p.peekN(2).is("EXISTS") {
		p.i += 3
	}
	name, err := p.name("a connector name")
	if err != nil {
		return nil, err
	}
	c.Name = name
	if err := p.expect("WITH"); err != nil {
		return nil, err
	}
	if _, err := p.properties(); err != nil {
		return nil, err
	}
	c.text = p.textFrom(start)
	return c, nil
}

// connectorByName parses the rest of DESCRIBE CONNECTOR name and DROP
// CONNECTOR [IF EXISTS] name; the cursor is at CONNECTOR.
func (p *parser) connectorByName(start int, action ConnectorAction) (Statement, error) {
	p.next()
	if action == ConnectorDrop && p.peek().is("IF") && p.peekN(1).is("EXISTS") {
		p.i += 2
	}
	name, err := p.name("a connector name")
	if err != nil {
		return nil, err
	}
	return &Connector{text: p.textFrom(start), Action: action, Name: name}, nil
}
