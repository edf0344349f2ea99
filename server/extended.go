package server

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// prepared is a Parse'd statement. stmt is nil for empty text.
type prepared struct {
	stmt Statement
	// oids are the parameter types the client declared (0: unspecified).
	oids []uint32
}

// params are the types of the statement's parameters, with any extra ones
// the client declared beyond those the statement knows.
func (p *prepared) params() []types.Type {
	if p.stmt == nil {
		return nil
	}
	ts := p.stmt.Params()
	for i := len(ts); i < len(p.oids); i++ {
		ts = append(ts[:i:i], typeForOID(p.oids[i]))
	}
	return ts
}

func (p *prepared) oid(i int, t types.Type) uint32 {
	if i < len(p.oids) && p.oids[i] != 0 {
		return p.oids[i]
	}
	return OID(t)
}

// portal is a Bind'd statement: its arguments and result formats, and its
// execution once Executed.
type portal struct {
	stmt    Statement
	args    []types.Value
	formats []int16
	exec    *execution
}

func (c *conn) parse(ctx context.Context, m *pgproto3.Parse) error {
	if _, ok := c.stmts[m.Name]; ok && m.Name != "" {
		return fmt.Errorf("%w: %q", ErrDuplicateStatement, m.Name)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.setCancel(cancel)
	defer c.setCancel(nil)
	stmts, err := c.sess.Prepare(ctx, m.Query)
	if err != nil {
		return err
	}
	if len(stmts) > 1 {
		return ErrMultipleStatements
	}
	p := &prepared{oids: append([]uint32(nil), m.ParameterOIDs...)}
	if len(stmts) == 1 {
		p.stmt = stmts[0]
	}
	c.stmts[m.Name] = p
	c.be.Send(&pgproto3.ParseComplete{})
	return nil
}

func (c *conn) bind(m *pgproto3.Bind) error {
	p, ok := c.stmts[m.PreparedStatement]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownStatement, m.PreparedStatement)
	}
	ts := p.params()
	if len(m.Parameters) != len(ts) {
		return fmt.Errorf("%w: bind message supplies %d parameters, but prepared statement %q requires %d",
			ErrProtocolViolation, len(m.Parameters), m.PreparedStatement, len(ts))
	}
	if n := len(m.ParameterFormatCodes); n > 1 && n != len(ts) {
		return fmt.Errorf("%w: bind message has %d parameter formats but %d parameters", ErrProtocolViolation, n, len(ts))
	}
	var cols []types.Column
	if p.stmt != nil {
		cols = p.stmt.Columns()
	}
	if n := len(m.ResultFormatCodes); n > 1 && n != len(cols) {
		return fmt.Errorf("%w: bind message has %d result formats but query has %d columns", ErrProtocolViolation, n, len(cols))
	}
	for _, f := range m.ResultFormatCodes {
		if f != 0 && f != 1 {
			return fmt.Errorf("%w: unsupported format code: %d", ErrProtocolViolation, f)
		}
	}
	args := make([]types.Value, len(ts))
	for i, t := range ts {
		var f int16
		switch len(m.ParameterFormatCodes) {
		case 0:
		case 1:
			f = m.ParameterFormatCodes[0]
		default:
			f = m.ParameterFormatCodes[i]
		}
		var oid uint32
		if i < len(p.oids) {
			oid = p.oids[i]
		}
		v, err := DecodeParam(oid, f, t, m.Parameters[i])
		if err != nil {
			return fmt.Errorf("parameter $%d: %w", i+1, err)
		}
		args[i] = v
	}
	c.closePortal(m.DestinationPortal)
	if len(c.portals) >= c.srv.opts.MaxPortals {
		return sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
			"too many open portals: %d is this server's limit per connection (close portals, or end the transaction)", c.srv.opts.MaxPortals)
	}
	c.portals[m.DestinationPortal] = &portal{
		stmt:    p.stmt,
		args:    args,
		formats: append([]int16(nil), m.ResultFormatCodes...),
	}
	c.be.Send(&pgproto3.BindComplete{})
	return nil
}

func (c *conn) describe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		p, ok := c.stmts[m.Name]
		if !ok {
			return fmt.Errorf("%w: %q", ErrUnknownStatement, m.Name)
		}
		ts := p.params()
		oids := make([]uint32, len(ts))
		for i, t := range ts {
			oids[i] = p.oid(i, t)
		}
		c.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
		c.describeColumns(p.stmt, nil)
	case 'P':
		pt, ok := c.portals[m.Name]
		if !ok {
			return fmt.Errorf("%w: %q", ErrUnknownPortal, m.Name)
		}
		c.describeColumns(pt.stmt, pt.formats)
	default:
		return fmt.Errorf("%w: describe of object type %q", ErrProtocolViolation, m.ObjectType)
	}
	return nil
}

func (c *conn) describeColumns(stmt Statement, formats []int16) {
	if stmt == nil || stmt.Columns() == nil {
		c.be.Send(&pgproto3.NoData{})
		return
	}
	c.be.Send(rowDescription(stmt.Columns(), formats))
}

func (c *conn) execute(ctx context.Context, m *pgproto3.Execute) error {
	pt, ok := c.portals[m.Portal]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownPortal, m.Portal)
	}
	if pt.stmt == nil {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	before := c.sess.TxStatus()
	if pt.exec == nil {
		e, err := c.start(ctx, pt.stmt, pt.args, pt.formats)
		if err != nil {
			return err
		}
		pt.exec = e
	} else {
		if before == TxFailed && !pt.exec.done {
			// A suspended portal of a failed transaction block: only
			// ROLLBACK may run now, as in PostgreSQL.
			return errInFailedTxn
		}
		c.setCancel(pt.exec.cancel)
	}
	suspended, err := c.run(pt.exec, int(m.MaxRows))
	c.setCancel(nil)
	if err != nil || !suspended {
		c.finishPortal(pt)
	}
	if err == nil {
		c.txnMayHaveEnded(before, pt)
	}
	return err
}

// errInFailedTxn is PostgreSQL's error for a statement of a failed
// transaction block.
var errInFailedTxn = sqlstate.New(sqlstate.InFailedSQLTransaction,
	"current transaction is aborted, commands ignored until end of transaction block")

func (c *conn) close(m *pgproto3.Close) error {
	switch m.ObjectType {
	case 'S':
		delete(c.stmts, m.Name)
	case 'P':
		c.closePortal(m.Name)
	default:
		return fmt.Errorf("%w: close of object type %q", ErrProtocolViolation, m.ObjectType)
	}
	c.be.Send(&pgproto3.CloseComplete{})
	return nil
}

// finishPortal ends pt's execution but keeps the portal: executing it
// again reports completion with no rows.
func (c *conn) finishPortal(pt *portal) {
	if pt.exec != nil {
		c.finish(pt.exec)
	}
}

func (c *conn) closePortal(name string) {
	if pt, ok := c.portals[name]; ok {
		if pt.exec != nil {
			c.finish(pt.exec)
		}
		delete(c.portals, name)
	}
}

func (c *conn) closePortals() {
	for name := range c.portals {
		c.closePortal(name)
	}
}
