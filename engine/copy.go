package engine

import (
	"context"
	"strings"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// This file is COPY:
//
//   - COPY (query) TO STDOUT and COPY name [(columns)] TO STDOUT run the
//     query (for a name, SELECT columns FROM name: a scan of a stream, a
//     pull of a table) and hand its rows to the server as COPY data. Over
//     a push query (EMIT CHANGES) rows stream as they happen, until LIMIT
//     or a cancel, as Materialize's SUBSCRIBE does.
//   - COPY name [(columns)] FROM STDIN writes rows into a stream or table
//     like INSERT does. One COPY is atomic: its rows join the session's
//     transaction and commit with it (at the end of the Query message for
//     a COPY on its own), and a bad row fails the whole COPY, which then
//     writes nothing. The rows wait in memory, bounded by
//     MaxTransactionBytes.
//
// COPY to or from a file or a program on the server is refused: psql's
// \copy reads and writes the client's files through STDIN and STDOUT.

// prepareCopy describes a COPY statement.
func (s *session) prepareCopy(st *sql.Copy) (*statement, error) {
	if st.File != "" {
		what := "a file"
		if st.Program {
			what = "a program"
		}
		return nil, sqlstate.Errorf(sqlstate.FeatureNotSupported,
			"COPY to or from %s on the server is not supported: use STDIN or STDOUT (psql's \\copy sends a client file through them)", what)
	}
	f, err := copyFormat(st.Options, st.From)
	if err != nil {
		return nil, err
	}
	if st.From {
		return s.prepareCopyFrom(st, f)
	}
	sel := &sql.Select{Query: st.Query}
	if st.Query == nil {
		cols := "*"
		if len(st.Columns) > 0 {
			quoted := make([]string, len(st.Columns))
			for i, c := range st.Columns {
				quoted[i] = quoteName(c)
			}
			cols = strings.Join(quoted, ", ")
		}
		// The text is the server's, not the client's: Substituted, so
		// that its errors carry no position into it.
		stmts, err := sql.ParseWith("SELECT "+cols+" FROM "+quoteName(st.Table), sql.Options{Substituted: true})
		if err != nil {
			return nil, err
		}
		sel = stmts[0].(*sql.Select)
	}
	inner, err := s.prepareStatement(sel)
	if err != nil {
		return nil, err
	}
	return &statement{params: inner.params, exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		res, err := inner.exec(ctx, args)
		if err != nil {
			return server.Result{}, err
		}
		rows := res.Rows
		if rows == nil {
			rows = &sliceIter{}
		}
		return server.Result{Tag: "COPY", Rows: rows, Notices: res.Notices, CopyOut: &server.CopyOut{Format: f, Columns: inner.cols}}, nil
	}}, nil
}

// quoteName renders a canonical name as a quoted identifier, which reads
// back as exactly that name.
func quoteName(n string) string { return `"` + strings.ReplaceAll(n, `"`, `""`) + `"` }

// copyFormat reads COPY's options into the server's format, checked by
// PostgreSQL's rules.
func copyFormat(opts []sql.CopyOption, from bool) (server.CopyFormat, error) {
	var f server.CopyFormat
	boolean := func(o sql.CopyOption) (bool, error) {
		if !o.HasValue {
			return true, nil
		}
		switch strings.ToLower(o.Value) {
		case "true", "on", "1":
			return true, nil
		case "false", "off", "0":
			return false, nil
		}
		return false, sqlstate.Errorf(sqlstate.Syntax, "%s requires a Boolean value", strings.ToUpper(o.Name))
	}
	str := func(o sql.CopyOption) (string, error) {
		if !o.HasValue || o.Columns != nil {
			return "", sqlstate.Errorf(sqlstate.Syntax, "%s requires a string value", strings.ToUpper(o.Name))
		}
		return o.Value, nil
	}
	for _, o := range opts {
		var err error
		switch o.Name {
		case "format":
			f.Format, err = str(o)
		case "header":
			if strings.EqualFold(o.Value, "match") {
				f.HeaderMatch = true
				break
			}
			f.Header, err = boolean(o)
		case "delimiter":
			f.Delimiter, err = str(o)
		case "null":
			f.Null, err = str(o)
			f.NullSet = true
		case "quote":
			f.Quote, err = str(o)
		case "escape":
			f.Escape, err = str(o)
		case "encoding":
			var enc string
			if enc, err = str(o); err == nil && !strings.EqualFold(strings.ReplaceAll(enc, "-", ""), "utf8") {
				err = sqlstate.Errorf(sqlstate.FeatureNotSupported, "COPY encoding %q is not supported: Runnel speaks UTF8", enc)
			}
		case "freeze":
			// FREEZE is a hint about PostgreSQL's storage: nothing to do.
			_, err = boolean(o)
		case "force_quote", "force_not_null", "force_null":
			err = sqlstate.Errorf(sqlstate.FeatureNotSupported, "COPY option %s is not supported", strings.ToUpper(o.Name))
		default:
			err = sqlstate.Errorf(sqlstate.Syntax, "option %q not recognized", o.Name)
		}
		if err != nil {
			return f, err
		}
	}
	// Validate settles the defaults; the server validates again.
	check := f
	if err := check.Validate(from); err != nil {
		return f, err
	}
	return f, nil
}

// prepareCopyFrom describes COPY name [(columns)] FROM STDIN.
func (s *session) prepareCopyFrom(st *sql.Copy, f server.CopyFormat) (*statement, error) {
	src, err := s.e.cat.Source(st.Table)
	if err != nil {
		return nil, errUnknownSource.Errorf("stream or table %s does not exist", st.Table)
	}
	if src.System {
		return nil, errWrongObject.Errorf("%s is maintained by Runnel and cannot be written", src.Name)
	}
	if err := readOnly(src, "copy into"); err != nil {
		return nil, err
	}
	if src.Window != nil {
		return nil, errUnsupported.Errorf("Cannot copy into windowed stream/table: a row gives no window")
	}
	// The row layout of rowWriter: the source's columns, then ROWTIME.
	all := append(append([]types.Column(nil), src.Columns...), types.Column{Name: planner.RowTime, Type: types.Bigint})
	names := st.Columns
	if len(names) == 0 {
		for _, c := range src.Columns {
			names = append(names, c.Name)
		}
	}
	idx := make([]int, len(names))
	cols := make([]types.Column, len(names))
	for i, n := range names {
		idx[i] = -1
		for ci, c := range all {
			if c.Name == n {
				idx[i] = ci
			}
		}
		if idx[i] < 0 {
			return nil, errUnknownColumn.Errorf("column %s does not exist in %s", n, src.Name)
		}
		cols[i] = types.Column{Name: n, Type: all[idx[i]].Type}
	}
	return &statement{exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		// The source is looked up again: it may have been dropped or
		// replaced since the statement was prepared.
		src, err := s.e.cat.Source(st.Table)
		if err != nil {
			return server.Result{}, errUnknownSource.Errorf("stream or table %s does not exist", st.Table)
		}
		if err := s.e.sourceFailure(src); err != nil {
			return server.Result{}, err
		}
		if len(src.Columns)+1 != len(all) {
			return server.Result{}, errUnsupported.Errorf("%s changed since this COPY was prepared: prepare it again", src.Name)
		}
		if s.tx.block && s.tx.readOnly {
			return server.Result{}, errReadOnlyTxn.Errorf("cannot execute COPY FROM in a read-only transaction")
		}
		w, err := newRowWriter(src)
		if err != nil {
			return server.Result{}, err
		}
		sink := &copySink{s: s, w: w, idx: idx, width: len(all)}
		return server.Result{Tag: "COPY", CopyIn: &server.CopyIn{Format: f, Columns: cols, Target: src.Name, Sink: sink}}, nil
	}}, nil
}

// copySink encodes COPY FROM's rows into records as they arrive and keeps
// them until the COPY ends; then they join the session's transaction.
type copySink struct {
	s   *session
	w   *rowWriter
	idx []int // where each COPY column goes in the writer's row
	// width is the writer's row length: the source's columns and ROWTIME.
	width int
	recs  []log.ProduceRecord
	bytes int64
	vals  types.Row // scratch: the writer does not keep it
}

var _ server.CopySink = (*copySink)(nil)

func (k *copySink) Write(_ context.Context, row types.Row) error {
	if k.vals == nil {
		k.vals = make(types.Row, k.width)
	}
	clear(k.vals)
	for i, v := range row {
		k.vals[k.idx[i]] = v
	}
	rec, err := k.w.encode(k.vals)
	if err != nil {
		return err
	}
	size := recordSize(rec)
	// The COPY counts against the transaction it will join.
	if err := k.s.checkTxnSize(k.bytes + size); err != nil {
		return err
	}
	k.recs = append(k.recs, rec)
	k.bytes += size
	return nil
}

func (k *copySink) Finish(context.Context) (int64, error) {
	n := int64(len(k.recs))
	err := k.s.addWrites(k.recs, k.bytes)
	k.recs = nil
	return n, err
}

func (k *copySink) Abort() { k.recs = nil }
