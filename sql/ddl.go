package sql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// create parses CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS]
// name [(columns)] [WITH (props)] [AS query], and CREATE TYPE.
func (p *parser) create() (Statement, error) {
	start := p.i
	p.next()
	c := &CreateSource{}
	if p.accept("OR") {
		if err := p.expect("REPLACE"); err != nil {
			return nil, err
		}
		c.OrReplace = true
	}
	if !c.OrReplace && p.peek().is("TYPE") {
		return p.createType(start)
	}
	if !c.OrReplace && (p.peek().is("SOURCE") || p.peek().is("SINK")) && p.peekN(1).is("CONNECTOR") {
		return p.createConnector(start)
	}
	if p.peek().is("SOURCE") && (p.peekN(1).is("STREAM") || p.peekN(1).is("TABLE")) {
		p.next()
		c.Source = true
	}
	kind, err := p.sourceKind()
	if err != nil {
		return nil, err
	}
	c.Kind = kind
	if p.peek().is("IF") && p.peekN(1).is("NOT") && p.peekN(2).is("EXISTS") {
		p.i += 3
		c.IfNotExists = true
	}
	if c.Name, err = p.name("a " + kind.lower() + " name"); err != nil {
		return nil, err
	}
	if p.peek().isOp("(") {
		if c.Columns, err = p.columns(kind); err != nil {
			return nil, err
		}
	}
	if p.accept("WITH") {
		if c.With, err = p.properties(); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); t.is("AS") {
		if len(c.Columns) > 0 {
			return nil, errAt(t.pos, "CREATE %s AS SELECT takes no column list", kind)
		}
		if c.Source {
			return nil, errAt(t.pos, "CREATE SOURCE %s takes no AS SELECT: a source %s is read-only", kind, kind.lower())
		}
		p.next()
		if !p.peek().is("SELECT") {
			return nil, p.unexpected("SELECT")
		}
		if c.Query, err = p.query(); err != nil {
			return nil, err
		}
	}
	c.text = p.textFrom(start)
	c.stored = p.storedText(p.toks[start].pos, p.toks[p.i-1].end)
	return c, nil
}

// createType parses CREATE TYPE [IF NOT EXISTS] name AS type; the cursor
// is at TYPE.
func (p *parser) createType(start int) (Statement, error) {
	p.next()
	ct := &CreateType{}
	if p.peek().is("IF") && p.peekN(1).is("NOT") && p.peekN(2).is("EXISTS") {
		p.i += 3
		ct.IfNotExists = true
	}
	nt := p.peek()
	name, err := p.name("a type name")
	if err != nil {
		return nil, err
	}
	if nt.kind == tkIdent && builtinType(name) {
		return nil, errAt(nt.pos, "%s is a built-in type: a custom type needs a name of its own", name)
	}
	ct.Name = name
	if err := p.expect("AS"); err != nil {
		return nil, err
	}
	if ct.Type, err = p.typ(); err != nil {
		return nil, err
	}
	ct.text = p.textFrom(start)
	return ct, nil
}

// columns parses (name type [KEY | PRIMARY KEY], ...).
func (p *parser) columns(kind SourceKind) ([]ColumnDef, error) {
	p.next() // (
	var cols []ColumnDef
	seen := map[string]bool{}
	for {
		name, typ, err := p.column(seen)
		if err != nil {
			return nil, err
		}
		col := ColumnDef{Name: name, Type: typ}
		switch kt := p.peek(); {
		case kt.is("PRIMARY"):
			p.next()
			if err := p.expect("KEY"); err != nil {
				return nil, err
			}
			if kind == Stream {
				return nil, errAt(kt.pos, "column %s: streams have KEY columns, not PRIMARY KEY", name)
			}
			col.Key = true
		case kt.is("KEY"):
			p.next()
			if kind == Table {
				return nil, errAt(kt.pos, "column %s: tables need PRIMARY KEY, not KEY", name)
			}
			col.Key = true
		}
		cols = append(cols, col)
		if p.acceptOp(",") {
			continue
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return cols, nil
	}
}

// properties parses (KEY = value, ...) after WITH: keys upper-cased,
// string values unquoted, numbers as written, bare words upper-cased.
func (p *parser) properties() (map[string]string, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	props := map[string]string{}
	for {
		kt := p.peek()
		if !kt.isName() && kt.kind != tkString {
			return nil, p.unexpected("a property name")
		}
		p.next()
		key := strings.ToUpper(kt.val)
		if kt.kind == tkIdent {
			key = strings.ToUpper(kt.text)
		}
		if _, dup := props[key]; dup {
			return nil, errAt(kt.pos, "duplicate property %s", key)
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		var val string
		if vt := p.peek(); vt.kind == tkIdent {
			p.next()
			val = strings.ToUpper(vt.text)
		} else {
			v, err := p.literal("a property value")
			if err != nil {
				return nil, err
			}
			val = v
		}
		props[key] = val
		if p.acceptOp(",") {
			continue
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return props, nil
	}
}

// insert parses INSERT INTO name [(columns)] VALUES (...), ... and
// INSERT INTO name SELECT ....
func (p *parser) insert() (Statement, error) {
	start := p.i
	p.next()
	if err := p.expect("INTO"); err != nil {
		return nil, err
	}
	ins := &Insert{}
	var err error
	if ins.Target, err = p.name("a stream or table name"); err != nil {
		return nil, err
	}
	if p.acceptOp("(") {
		seen := map[string]bool{}
		for {
			nt := p.peek()
			col, err := p.name("a column name")
			if err != nil {
				return nil, err
			}
			if seen[col] {
				return nil, errAt(nt.pos, "duplicate column %s", col)
			}
			seen[col] = true
			ins.Columns = append(ins.Columns, col)
			if p.acceptOp(",") {
				continue
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			break
		}
	}
	switch t := p.peek(); {
	case t.is("SELECT"):
		if ins.Columns != nil {
			return nil, errAt(t.pos, "INSERT INTO ... SELECT takes no column list")
		}
		if ins.Query, err = p.query(); err != nil {
			return nil, err
		}
	case t.is("VALUES"):
		if ins.Rows, err = p.valuesRows(); err != nil {
			return nil, err
		}
	default:
		return nil, p.unexpected("VALUES or SELECT")
	}
	ins.text = p.textFrom(start)
	ins.stored = p.storedText(p.toks[start].pos, p.toks[p.i-1].end)
	return ins, nil
}

// valuesRows parses VALUES (...), ... to the end of the statement with
// TiDB, as the rows of an INSERT into a placeholder table.
func (p *parser) valuesRows() ([][]ast.ExprNode, error) {
	end := len(p.toks) - 1
	toks := p.toks[p.i:end]
	p.i = end
	rw := &rewriter{src: p.src, owner: p}
	body, err := rw.seq(toks, 0)
	if err != nil {
		return nil, err
	}
	f := frag{synth("INSERT INTO T ", toks[0])}
	f = append(f, body...)
	// VALUES rows are the engine's to bind: no positions are recorded.
	stmt, err := tidbParse(f.build(p.src, p.toks[end].pos, nil))
	if err != nil {
		return nil, err
	}
	in, ok := stmt.(*ast.InsertStmt)
	if !ok || in.Select != nil || len(in.Lists) == 0 || in.Setlist || in.OnDuplicate != nil {
		return nil, errAt(toks[0].pos, "expected VALUES (...), ...")
	}
	return in.Lists, nil
}
