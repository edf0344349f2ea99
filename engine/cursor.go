package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// This file is SQL cursors: DECLARE, FETCH, MOVE and CLOSE, as psql's
// FETCH_COUNT, psycopg2's named cursors and JDBC tools use them.
//
// A cursor runs its query when it is declared: a push query starts
// streaming (from the end of its topics, or from the start under
// 'earliest'), a pull query or a scan reads what it reads. FETCH n returns
// as soon as n rows are there and never waits for more; over a push query
// it waits until they arrive, or until LIMIT ends the query, or until the
// client cancels (57014, after which the cursor can still be fetched
// from). Cursors only move forward.
//
// Without WITH HOLD a cursor needs a transaction block and ends with it,
// as in PostgreSQL; WITH HOLD keeps it until CLOSE or the end of the
// session (PostgreSQL would compute a held cursor's rows at COMMIT, which
// a push query never finishes: Runnel keeps the query running instead).
// ROLLBACK closes the cursors declared in its transaction, held or not.

// cursor is one open cursor. Its query's rows are read by FETCH, whose
// rows the server's pump goroutine pulls; the slot makes the reads take
// turns (two suspended FETCH portals of one cursor), and closing makes a
// read that waits return, so that close can take the slot and close the
// rows once nobody reads them.
type cursor struct {
	name   string
	cols   []types.Column
	binary bool
	hold   bool
	// inTxn is set while the transaction that declared the cursor is
	// open: its ROLLBACK closes the cursor.
	inTxn bool
	// seq orders cursors by declaration, for ROLLBACK TO.
	seq uint64

	rows server.RowIter
	// slot holds a token while someone reads rows or closes the cursor.
	slot chan struct{}
	// closing is closed when the cursor closes: it wakes a read waiting
	// for a row of a push query.
	closing chan struct{}
	// done is set once rows returned io.EOF or failed, and err is that
	// failure; both are guarded by slot.
	done bool
	err  error
}

// Cursor errors, PostgreSQL's codes.
var (
	errNoCursor        = sqlstate.New(sqlstate.InvalidCursorName, "engine: cursor does not exist")
	errCursorExists    = sqlstate.New(sqlstate.DuplicateCursor, "engine: cursor already exists")
	errCursorDirection = sqlstate.New(sqlstate.ObjectNotInState, "engine: cursor can only scan forward")
	errCursorChanged   = sqlstate.New(sqlstate.FeatureNotSupported, "engine: cached plan must not change result type")
	errCursorClosed    = sqlstate.New(sqlstate.InvalidCursorState, "engine: cursor was closed")
)

// hinted is an error with PostgreSQL's HINT line.
type hinted struct {
	error
	hint string
}

func (h *hinted) Unwrap() error { return h.error }
func (h *hinted) Hint() string  { return h.hint }

// watch returns a context that ends with ctx or when the cursor closes,
// for the reads of one FETCH or MOVE, and the function that releases it.
// A read waiting for a push query's row must end when the cursor closes,
// not only when its statement does.
func (c *cursor) watch(ctx context.Context) (context.Context, func()) {
	wctx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-c.closing:
			cancel()
		case <-stop:
		case <-wctx.Done():
		}
	}()
	return wctx, func() {
		close(stop)
		<-done
		cancel()
	}
}

// read returns the cursor's next row, or io.EOF after its last; ctx comes
// from watch. A cancelled read leaves the cursor where it was.
func (c *cursor) read(ctx context.Context) (types.Row, error) {
	closed := func() error { return errCursorClosed.Errorf("cursor %q was closed", c.name) }
	select {
	case c.slot <- struct{}{}:
	case <-ctx.Done():
		select {
		case <-c.closing:
			return nil, closed()
		default:
		}
		return nil, ctx.Err()
	case <-c.closing:
		return nil, closed()
	}
	defer func() { <-c.slot }()
	select {
	case <-c.closing:
		return nil, closed()
	default:
	}
	if c.done {
		if c.err != nil {
			return nil, c.err
		}
		return nil, io.EOF
	}
	row, err := c.rows.Next(ctx)
	switch {
	case err == nil:
		return row, nil
	case errors.Is(err, io.EOF):
		c.done = true
		return nil, io.EOF
	case ctx.Err() != nil:
		select {
		case <-c.closing:
			return nil, closed()
		default:
		}
		return nil, ctx.Err()
	}
	c.done, c.err = true, err
	return nil, err
}

// close stops the cursor's query, waiting for a read in progress to
// return.
func (c *cursor) close() {
	close(c.closing)
	c.slot <- struct{}{}
	c.rows.Close()
}

// prepareDeclare describes DECLARE: its parameters are the query's.
func (s *session) prepareDeclare(st *sql.Declare) (*statement, error) {
	if st.Scroll {
		return nil, &hinted{errCursorDirection.Errorf("SCROLL cursors are not supported: Runnel's cursors only move forward"), "Declare it NO SCROLL."}
	}
	inner, err := s.prepareStatement(&sql.Select{Query: st.Query})
	if err != nil {
		return nil, err
	}
	return &statement{params: inner.params, exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		if !st.Hold && !s.tx.block {
			return server.Result{}, errNoTxn.Errorf("DECLARE CURSOR can only be used in transaction blocks (or declare it WITH HOLD)")
		}
		if _, ok := s.cursors[st.Name]; ok {
			return server.Result{}, errCursorExists.Errorf("cursor %q already exists", st.Name)
		}
		if len(s.cursors) >= s.e.opts.MaxCursors {
			return server.Result{}, sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
				"too many open cursors: a session may keep %d (CLOSE some, or end the transaction)", s.e.opts.MaxCursors)
		}
		res, err := inner.exec(ctx, args)
		if err != nil {
			return server.Result{}, err
		}
		rows := res.Rows
		if rows == nil {
			rows = &sliceIter{}
		}
		s.cursorSeq++
		if s.cursors == nil {
			s.cursors = map[string]*cursor{}
		}
		s.cursors[st.Name] = &cursor{
			name: st.Name, cols: inner.cols, binary: st.Binary, hold: st.Hold,
			inTxn: s.tx.block, seq: s.cursorSeq, rows: rows,
			slot: make(chan struct{}, 1), closing: make(chan struct{}),
		}
		return server.Result{Tag: "DECLARE CURSOR", Notices: res.Notices}, nil
	}}, nil
}

// cursorNamed returns an open cursor.
func (s *session) cursorNamed(name string) (*cursor, error) {
	c, ok := s.cursors[name]
	if !ok {
		return nil, errNoCursor.Errorf("cursor %q does not exist", name)
	}
	return c, nil
}

// prepareFetch describes FETCH (rows: the cursor's columns) and MOVE (no
// rows). The cursor must exist, as in PostgreSQL: a driver describes a
// FETCH before it runs it.
func (s *session) prepareFetch(st *sql.Fetch) (*statement, error) {
	if st.Direction != "" {
		return nil, &hinted{errCursorDirection.Errorf("cursor can only scan forward: FETCH %s is not supported", st.Direction),
			"Runnel's cursors move forward only: FETCH [FORWARD] n | ALL | NEXT."}
	}
	c, err := s.cursorNamed(st.Cursor)
	if err != nil {
		return nil, err
	}
	var cols []types.Column
	if !st.Move {
		cols = c.cols
	}
	limit := st.Count
	if st.All {
		limit = -1
	}
	return &statement{cols: cols, exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		c, err := s.cursorNamed(st.Cursor)
		if err != nil {
			return server.Result{}, err
		}
		if !st.Move {
			if !sameColumns(c.cols, cols) {
				// Prepared against another cursor of the same name.
				return server.Result{}, errCursorChanged.Errorf("cached plan must not change result type: cursor %q was declared again with other columns", st.Cursor)
			}
			return server.Result{Tag: "FETCH", Rows: &fetchIter{c: c, left: limit}, Binary: c.binary}, nil
		}
		wctx, release := c.watch(ctx)
		defer release()
		var n int64
		for limit < 0 || n < limit {
			if _, err := c.read(wctx); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return server.Result{}, err
			}
			n++
		}
		return server.Result{Tag: fmt.Sprintf("MOVE %d", n)}, nil
	}}, nil
}

// fetchIter is the rows of one FETCH: up to left of the cursor's rows
// (all when left < 0). It never reads a row more than it returns, so the
// next FETCH starts where this one stopped. The server's pump calls Next
// with one context throughout; the watch over it is made at the first
// Next and released by Close.
type fetchIter struct {
	c    *cursor
	left int64

	parent  context.Context
	wctx    context.Context
	release func()
}

func (f *fetchIter) Next(ctx context.Context) (types.Row, error) {
	if f.left == 0 {
		return nil, io.EOF
	}
	if f.parent != ctx {
		if f.release != nil {
			f.release()
		}
		f.parent = ctx
		f.wctx, f.release = f.c.watch(ctx)
	}
	row, err := f.c.read(f.wctx)
	if err != nil {
		return nil, err
	}
	if f.left > 0 {
		f.left--
	}
	return row, nil
}

// Close releases the watch and leaves the cursor open: CLOSE or the
// transaction's end closes it.
func (f *fetchIter) Close() {
	if f.release != nil {
		f.release()
		f.release = nil
	}
}

// prepareClose describes CLOSE name | CLOSE ALL.
func (s *session) prepareClose(st *sql.CloseCursor) (*statement, error) {
	return &statement{exec: func(context.Context, []types.Value) (server.Result, error) {
		if st.All {
			for name, c := range s.cursors {
				c.close()
				delete(s.cursors, name)
			}
			return server.Result{Tag: "CLOSE CURSOR ALL"}, nil
		}
		c, err := s.cursorNamed(st.Name)
		if err != nil {
			return server.Result{}, err
		}
		c.close()
		delete(s.cursors, st.Name)
		return server.Result{Tag: "CLOSE CURSOR"}, nil
	}}, nil
}

// closeCursorsAtTxnEnd closes what a transaction's end closes: at COMMIT
// every cursor but WITH HOLD ones, which then belong to the session; at
// ROLLBACK those too when they were declared in the transaction.
func (s *session) closeCursorsAtTxnEnd(commit bool) {
	for name, c := range s.cursors {
		if !c.hold || (!commit && c.inTxn) {
			c.close()
			delete(s.cursors, name)
			continue
		}
		c.inTxn = false
	}
}

// closeCursorsAfter closes the cursors declared after sequence number
// seq (ROLLBACK TO a savepoint).
func (s *session) closeCursorsAfter(seq uint64) {
	for name, c := range s.cursors {
		if c.seq > seq {
			c.close()
			delete(s.cursors, name)
		}
	}
}

// closeAllCursors closes every cursor (the session ends).
func (s *session) closeAllCursors() {
	for name, c := range s.cursors {
		c.close()
		delete(s.cursors, name)
	}
}

// sameColumns reports whether two column lists have the same names and
// types.
func sameColumns(a, b []types.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !a[i].Type.Equal(b[i].Type) {
			return false
		}
	}
	return true
}
