package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// execution is one run of a Statement: its result and, for a statement
// with rows, the pump goroutine pulling them from the RowIter. It lives
// for one simple-query statement, or for an extended-protocol portal
// across the Executes of a suspended portal.
type execution struct {
	cols    []types.Column
	formats []int16 // per column: 0 text, 1 binary
	res     Result
	cancel  context.CancelFunc
	// ctx is the execution's own context. It is kept because a suspended
	// portal's execution outlives the Execute message that started it;
	// cancel ends it.
	ctx context.Context

	rows     chan pumped
	pumpDone chan struct{}
	// done is set once the rows ended (or there were none) and
	// CommandComplete was sent.
	done bool
	// finished is set by finish, which runs once.
	finished bool
	// onComplete, when set, runs just before CommandComplete is sent: the
	// commit of a simple Query's implicit transaction. Its error fails
	// the statement instead.
	onComplete func() error
}

// pumped is one result of RowIter.Next.
type pumped struct {
	row types.Row
	err error
}

// start executes stmt under a child of parent that CancelRequest cancels,
// and starts pumping its rows. The caller must call finish.
func (c *conn) start(parent context.Context, stmt Statement, args []types.Value, formats []int16) (*execution, error) {
	ctx, cancel := context.WithCancel(parent)
	c.setCancel(cancel)
	res, err := stmt.Execute(ctx, args)
	if err != nil {
		c.setCancel(nil)
		cancel()
		return nil, err
	}
	if res.Columns != nil && !sameResultType(res.Columns, stmt.Columns()) {
		// The rows no longer fit the description the client holds.
		if res.Rows != nil {
			res.Rows.Close()
		}
		c.setCancel(nil)
		cancel()
		return nil, ErrResultTypeChanged
	}
	e := &execution{cols: stmt.Columns(), formats: formats, res: res, cancel: cancel, ctx: ctx}
	if err := checkCopy(&e.res); err != nil {
		if res.Rows != nil {
			res.Rows.Close()
		}
		if res.CopyIn != nil && res.CopyIn.Sink != nil {
			res.CopyIn.Sink.Abort()
		}
		c.setCancel(nil)
		cancel()
		return nil, err
	}
	for _, n := range res.Notices {
		c.be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: string(sqlstate.SuccessfulCompletion), Message: n})
	}
	if res.CopyOut != nil {
		// COPY TO's rows are described by CopyOut, not by the statement.
		e.cols = res.CopyOut.Columns
	}
	if res.Rows != nil {
		if e.cols == nil {
			// A statement without columns has no rows to send.
			res.Rows.Close()
			e.res.Rows = nil
		} else {
			e.rows = make(chan pumped, c.srv.opts.FlushRows)
			e.pumpDone = make(chan struct{})
			go pump(ctx, c.log, res.Rows, e.rows, e.pumpDone)
		}
	}
	return e, nil
}

// pump calls it.Next until it fails (io.EOF included) or ctx is done,
// handing each row to out. It owns it.Next; finish waits for it before
// closing it. A panic in Next becomes the statement's error.
func pump(ctx context.Context, log *slog.Logger, it RowIter, out chan<- pumped, done chan<- struct{}) {
	defer close(done)
	defer func() {
		if r := recover(); r != nil {
			log.Error("pgwire row iterator panicked", "panic", r, "stack", string(debug.Stack()))
			select {
			case out <- pumped{err: fmt.Errorf("server: internal error: %v", r)}:
			case <-ctx.Done():
			}
		}
	}()
	for {
		row, err := it.Next(ctx)
		select {
		case out <- pumped{row, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// finish cancels the execution, waits for its pump and closes its rows.
func (c *conn) finish(e *execution) {
	if e.finished {
		return
	}
	e.finished = true
	c.setCancel(nil)
	e.cancel()
	if e.pumpDone != nil {
		<-e.pumpDone
	}
	if e.res.Rows != nil {
		e.res.Rows.Close()
	}
}

// run sends up to maxRows rows (all when maxRows <= 0) and then
// CommandComplete, or PortalSuspended when maxRows were sent and more may
// follow. It flushes whenever the next row is not ready yet and every
// FlushRows rows, so rows reach the client as they are produced. A COPY
// runs to its end whatever maxRows says.
func (c *conn) run(e *execution, maxRows int) (suspended bool, err error) {
	if e.finished && !e.done {
		return false, fmt.Errorf("%w: portal is no longer usable", ErrProtocolViolation)
	}
	if e.done {
		c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(e.tag(0))})
		return false, nil
	}
	switch {
	case e.res.CopyIn != nil:
		return false, c.copyIn(e)
	case e.res.CopyOut != nil:
		return false, c.copyOut(e)
	case e.rows == nil:
		return false, c.complete(e, 0)
	}
	// buf is never nil: an empty value must be sent as an empty slice,
	// not as nil, which is NULL.
	buf := make([]byte, 0, 256)
	values := make([][]byte, len(e.cols))
	sent, pending := 0, 0
	for maxRows <= 0 || sent < maxRows {
		p, err := c.nextRow(e, &pending)
		if err != nil {
			return false, err
		}
		if errors.Is(p.err, io.EOF) {
			return false, c.complete(e, int64(sent))
		}
		if p.err != nil {
			return false, p.err
		}
		if len(p.row) != len(e.cols) {
			return false, fmt.Errorf("server: row of %d values for %d columns", len(p.row), len(e.cols))
		}
		buf = buf[:0]
		ends := make([]int, len(e.cols))
		for i, v := range p.row {
			if v.IsNull() {
				ends[i] = -1
				continue
			}
			if e.format(i) == 1 {
				buf, err = AppendBinary(buf, e.cols[i].Type, v)
			} else {
				buf, err = AppendText(buf, e.cols[i].Type, v)
			}
			if err != nil {
				return false, fmt.Errorf("column %s: %w", e.cols[i].Name, err)
			}
			ends[i] = len(buf)
		}
		start := 0
		for i, end := range ends {
			if end < 0 {
				values[i] = nil
				continue
			}
			values[i] = buf[start:end:end]
			start = end
		}
		c.be.Send(&pgproto3.DataRow{Values: values})
		sent++
		pending++
		if pending >= c.srv.opts.FlushRows {
			if err := c.flush(); err != nil {
				return false, err
			}
			pending = 0
		}
	}
	c.be.Send(&pgproto3.PortalSuspended{})
	return true, nil
}

// nextRow returns the next result of the pump, flushing what waits in
// the output buffer first when it is not ready yet; *pending counts the
// rows buffered since the last flush. The error is one of the connection
// or of the execution's context; the pump's own (io.EOF included) is in
// the result.
func (c *conn) nextRow(e *execution, pending *int) (pumped, error) {
	if err := e.ctx.Err(); err != nil {
		return pumped{}, err
	}
	select {
	case p := <-e.rows:
		return p, nil
	default:
	}
	if err := c.flush(); err != nil {
		return pumped{}, err
	}
	*pending = 0
	select {
	case p := <-e.rows:
		return p, nil
	case <-e.ctx.Done():
		return pumped{}, e.ctx.Err()
	}
}

// complete ends an execution that produced n rows: onComplete, then
// CommandComplete.
func (c *conn) complete(e *execution, n int64) error {
	e.done = true
	if e.onComplete != nil {
		f := e.onComplete
		e.onComplete = nil
		if err := f(); err != nil {
			return err
		}
	}
	c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(e.tag(n))})
	return nil
}

// format is the wire format of column i.
func (e *execution) format(i int) int16 {
	switch len(e.formats) {
	case 0:
		return 0
	case 1:
		return e.formats[0]
	}
	return e.formats[i]
}

// tag is the CommandComplete tag after n rows: the verb and the count for
// statements with columns and for COPY, the engine's tag otherwise.
func (e *execution) tag(n int64) string {
	verb := e.res.Tag
	switch {
	case e.res.CopyIn != nil || e.res.CopyOut != nil:
		verb = "COPY"
	case e.cols == nil:
		return e.res.Tag
	case verb == "":
		verb = "SELECT"
	}
	return verb + " " + strconv.FormatInt(n, 10)
}

// rowDescription describes cols with the given formats.
func rowDescription(cols []types.Column, formats []int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		var f int16
		switch len(formats) {
		case 0:
		case 1:
			f = formats[0]
		default:
			f = formats[i]
		}
		fields[i] = pgproto3.FieldDescription{
			Name:         []byte(col.Name),
			DataTypeOID:  OID(col.Type),
			DataTypeSize: typeSize(col.Type),
			TypeModifier: typeModifier(col.Type),
			Format:       f,
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

// simpleQuery runs every statement of text in order, stopping at the
// first error, in one implicit transaction (see Session): the session's
// Sync ends it, just before the last statement's CommandComplete or after
// the error. The caller sends ReadyForQuery.
func (c *conn) simpleQuery(ctx context.Context, text string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.setCancel(cancel)
	defer c.setCancel(nil)
	synced := false
	defer func() {
		if !synced && !c.fatal && c.writeErr == nil {
			c.syncSession(ctx)
		}
	}()
	stmts, err := c.sess.Prepare(ctx, text)
	if err != nil {
		c.fail(err)
		return
	}
	if len(stmts) == 0 {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for i, stmt := range stmts {
		// Between statements a CancelRequest cancels the rest.
		c.setCancel(cancel)
		var onComplete func() error
		if i == len(stmts)-1 {
			onComplete = func() error {
				synced = true
				return c.sess.Sync(ctx)
			}
		}
		before := c.sess.TxStatus()
		if err := c.simpleStatement(ctx, stmt, onComplete); err != nil {
			if synced {
				// The commit failed: the transaction is over, not
				// aborted.
				c.sendError(err)
			} else {
				c.fail(err)
			}
			return
		}
		c.txnMayHaveEnded(before, nil)
		if c.writeErr != nil || c.fatal {
			return
		}
	}
}

func (c *conn) simpleStatement(ctx context.Context, stmt Statement, onComplete func() error) error {
	if n := len(stmt.Params()); n > 0 {
		return fmt.Errorf("%w $%d: the simple query protocol cannot bind parameters", ErrUndefinedParameter, n)
	}
	e, err := c.start(ctx, stmt, nil, nil)
	if err != nil {
		return err
	}
	defer c.finish(e)
	e.onComplete = onComplete
	if e.cols != nil && e.res.CopyOut == nil {
		if e.res.Binary {
			e.formats = []int16{1}
		}
		c.be.Send(rowDescription(e.cols, e.formats))
	}
	_, err = c.run(e, 0)
	return err
}

// fail reports the error of a statement or message and tells the session
// its transaction failed.
func (c *conn) fail(err error) {
	c.sendError(err)
	if !c.fatal {
		c.sess.Fail()
	}
}

// syncSession ends the session's implicit transaction; a failure to
// commit is reported.
func (c *conn) syncSession(ctx context.Context) {
	if err := c.sess.Sync(ctx); err != nil {
		c.sendError(err)
	}
}

// txnMayHaveEnded closes the portals of a transaction that a statement
// just ended (COMMIT or ROLLBACK: the status went from a block to idle),
// except keep, the portal that ran it.
func (c *conn) txnMayHaveEnded(before TxStatus, keep *portal) {
	if before == TxIdle || c.sess.TxStatus() != TxIdle {
		return
	}
	for name, pt := range c.portals {
		if pt != keep {
			c.closePortal(name)
		}
	}
}

// sameResultType reports whether rows of columns now can be sent as rows
// of columns described: the same number of columns with the same names
// and types, which is what PostgreSQL compares (the row type) before it
// runs a cached plan again. Key marks are not part of a row description.
func sameResultType(now, described []types.Column) bool {
	if len(now) != len(described) {
		return false
	}
	for i := range now {
		if now[i].Name != described[i].Name || !now[i].Type.Equal(described[i].Type) {
			return false
		}
	}
	return true
}
