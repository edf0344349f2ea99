package server

import (
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// This file runs COPY's sub-protocols: CopyOutResponse, CopyData...,
// CopyDone for COPY TO STDOUT, and CopyInResponse then the client's
// CopyData... CopyDone (or CopyFail) for COPY FROM STDIN. copyformat.go
// reads and writes the data.

// errClientTerminated ends the connection when the client sends
// Terminate in the middle of a COPY.
var errClientTerminated = errors.New("server: client terminated the connection during COPY")

// checkCopy validates a COPY result: one kind at most, a valid format.
func checkCopy(res *Result) error {
	switch {
	case res.CopyIn != nil && res.CopyOut != nil:
		return fmt.Errorf("server: a result cannot be both COPY FROM and COPY TO")
	case res.CopyIn != nil:
		if res.Rows != nil || res.CopyIn.Sink == nil {
			return fmt.Errorf("server: COPY FROM needs a sink and no rows")
		}
		return res.CopyIn.Format.Validate(true)
	case res.CopyOut != nil:
		if res.Rows == nil {
			return fmt.Errorf("server: COPY TO without rows")
		}
		return res.CopyOut.Format.Validate(false)
	}
	return nil
}

// copyOut streams a COPY TO's rows as CopyData, one message per row,
// flushed whenever the next row is not ready yet and every FlushRows
// rows, so that a push query's rows reach the client as they happen. A
// cancel ends it with 57014, as any statement.
func (c *conn) copyOut(e *execution) error {
	co := e.res.CopyOut
	f := &co.Format
	codes := make([]uint16, len(co.Columns))
	for i := range codes {
		codes[i] = uint16(f.code())
	}
	c.be.Send(&pgproto3.CopyOutResponse{OverallFormat: byte(f.code()), ColumnFormatCodes: codes})
	buf := f.appendStart(nil, co.Columns)
	if len(buf) > 0 {
		c.be.Send(&pgproto3.CopyData{Data: buf})
	}
	var tmp []byte
	var sent int64
	pending := 0
	for {
		p, err := c.nextRow(e, &pending)
		if err != nil {
			return err
		}
		if errors.Is(p.err, io.EOF) {
			if end := f.appendEnd(buf[:0]); len(end) > 0 {
				c.be.Send(&pgproto3.CopyData{Data: end})
			}
			c.be.Send(&pgproto3.CopyDone{})
			return c.complete(e, sent)
		}
		if p.err != nil {
			return p.err
		}
		if buf, tmp, err = f.appendRow(buf[:0], tmp, co.Columns, p.row); err != nil {
			return err
		}
		c.be.Send(&pgproto3.CopyData{Data: buf})
		sent++
		if pending++; pending >= c.srv.opts.FlushRows {
			if err := c.flush(); err != nil {
				return err
			}
			pending = 0
		}
	}
}

// copyIn reads a COPY FROM's data from the client until CopyDone and
// hands each row to the sink, then finishes it. Any failure aborts the
// sink, so that nothing of the COPY is written. A CancelRequest takes
// effect at the client's next message.
//
// On an error the client may still be sending data: the rest of its
// CopyData, CopyDone and CopyFail messages are dropped by the main loop
// (and, in the extended protocol, everything up to Sync), as PostgreSQL
// does.
func (c *conn) copyIn(e *execution) (err error) {
	ci := e.res.CopyIn
	ctx := e.ctx
	codes := make([]uint16, len(ci.Columns))
	for i := range codes {
		codes[i] = uint16(ci.Format.code())
	}
	finished := false
	defer func() {
		if !finished {
			ci.Sink.Abort()
		}
	}()
	c.be.Send(&pgproto3.CopyInResponse{OverallFormat: byte(ci.Format.code()), ColumnFormatCodes: codes})
	if err := c.flush(); err != nil {
		return err
	}
	dec := newCopyDecoder(ci, c.srv.opts.MaxMessageSize, func(row types.Row) error { return ci.Sink.Write(ctx, row) })
	for {
		msg, err := c.be.Receive()
		if err != nil {
			c.recvErr = err
			return fmt.Errorf("receive COPY data: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if err := dec.feed(m.Data); err != nil {
				return err
			}
		case *pgproto3.CopyDone:
			if err := dec.finish(); err != nil {
				return err
			}
			finished = true
			n, err := ci.Sink.Finish(ctx)
			if err != nil {
				return err
			}
			return c.complete(e, n)
		case *pgproto3.CopyFail:
			return sqlstate.Errorf(sqlstate.QueryCanceled, "COPY from stdin failed: %s", m.Message)
		case *pgproto3.Flush, *pgproto3.Sync:
			// Ignored during COPY FROM, as PostgreSQL ignores them.
		case *pgproto3.Terminate:
			c.terminated = true
			return errClientTerminated
		default:
			return sqlstate.Errorf(sqlstate.ProtocolViolation, "unexpected message %T during COPY from stdin", msg)
		}
	}
}
