package slt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/runnel/runnel/internal/sqlstate"
)

// Options configure a Runner. The zero value of each field is replaced by
// the default its comment states.
type Options struct {
	// Connect opens a new connection; the Runner closes it. One connection
	// serves one file, and a new one replaces it when it breaks (after a
	// statement timeout, for instance). Default: pgx.Connect(ctx, DSN).
	Connect func(ctx context.Context) (*pgx.Conn, error)
	// DSN is the connection string used when Connect is nil.
	DSN string
	// Engine is the name skipif/onlyif compare with. Default "runnel".
	Engine string
	// Verbose logs every record as it runs to Log.
	Verbose bool
	// Log receives verbose output and rewrite notices. Default os.Stderr.
	Log io.Writer
	// Rewrite replaces the expected results of queries that differ with
	// the actual ones, in place; the rest of the file is kept byte for byte.
	// Mismatched queries then count as Rewritten, not Failed.
	Rewrite bool
	// StatementTimeout bounds one execution of a statement or query; past
	// it the query is cancelled and the record fails. Default 30s.
	StatementTimeout time.Duration
	// RetryTimeout is how long a `retry` query is re-run before it fails.
	// Default 10s.
	RetryTimeout time.Duration
	// RetryMinBackoff and RetryMaxBackoff bound the pause between retries;
	// it doubles from min to max. Defaults 50ms and 200ms.
	RetryMinBackoff, RetryMaxBackoff time.Duration
	// HashThreshold is the hash threshold at the start of each file, until a
	// hash-threshold record changes it. Default 0: never hash.
	HashThreshold int
}

// EnsureDefaults fills unset fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.Connect == nil && o.DSN != "" {
		dsn := o.DSN
		o.Connect = func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, dsn) }
	}
	if o.Engine == "" {
		o.Engine = "runnel"
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 30 * time.Second
	}
	if o.RetryTimeout <= 0 {
		o.RetryTimeout = 10 * time.Second
	}
	if o.RetryMinBackoff <= 0 {
		o.RetryMinBackoff = 50 * time.Millisecond
	}
	if o.RetryMaxBackoff < o.RetryMinBackoff {
		o.RetryMaxBackoff = max(200*time.Millisecond, o.RetryMinBackoff)
	}
	return o
}

// Runner runs .slt files over pgwire. It keeps no state between files, so
// one Runner may run several files at once.
type Runner struct {
	opts Options
}

// New returns a Runner, or ErrNoConnect when opts has neither Connect nor
// DSN.
func New(opts Options) (*Runner, error) {
	opts.EnsureDefaults()
	if opts.Connect == nil {
		return nil, ErrNoConnect
	}
	return &Runner{opts: opts}, nil
}

// RunFile runs the file at path and returns nil when every record passed,
// else an error listing each failure as file:line (a *FailedError), or the
// error that stopped the run (unreadable file, parse error, no connection).
func (r *Runner) RunFile(ctx context.Context, path string) error {
	res, err := r.Run(ctx, path)
	if err != nil {
		return err
	}
	return res.Err()
}

// Run runs the file at path on a new connection. A failed record does not
// stop the run; `halt`, a cancelled ctx, or a connection that cannot be
// (re)opened do. The Result is never nil and holds what ran before an error.
func (r *Runner) Run(ctx context.Context, path string) (*Result, error) {
	res := &Result{File: path}
	data, err := os.ReadFile(path)
	if err != nil {
		return res, fmt.Errorf("slt: read %s: %w", path, err)
	}
	recs, err := Parse(path, data)
	if err != nil {
		return res, err
	}
	fr := &fileRun{
		opts:      &r.opts,
		path:      path,
		res:       res,
		threshold: r.opts.HashThreshold,
		labels:    make(map[string]labelSeen),
	}
	defer fr.close()
	if err := fr.run(ctx, recs); err != nil {
		return res, err
	}
	if r.opts.Rewrite && len(fr.edits) > 0 {
		if err := writeFile(path, applyEdits(data, fr.edits)); err != nil {
			return res, err
		}
		fmt.Fprintf(r.opts.Log, "%s: rewrote the results of %d queries\n", path, len(fr.edits))
	}
	return res, nil
}

// labelSeen is the first query of a file with a label.
type labelSeen struct {
	hash string
	line int
}

// fileRun is the state of one file's run: its connection, the current hash
// threshold, labels and pending rewrites. Used by one goroutine.
type fileRun struct {
	opts      *Options
	path      string
	res       *Result
	conn      *pgx.Conn
	threshold int
	labels    map[string]labelSeen
	edits     []edit
}

func (fr *fileRun) close() {
	if fr.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = fr.conn.Close(ctx)
		fr.conn = nil
	}
}

func (fr *fileRun) logf(format string, args ...any) {
	if fr.opts.Verbose {
		fmt.Fprintf(fr.opts.Log, format, args...)
	}
}

func (fr *fileRun) run(ctx context.Context, recs []*Record) error {
	for i, rec := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if rec.Skipped(fr.opts.Engine) {
			if rec.Kind == KindStatement || rec.Kind == KindQuery {
				fr.res.Skipped++
			}
			continue
		}
		switch rec.Kind {
		case KindHalt:
			fr.logf("%s:%d: halt\n", fr.path, rec.Line)
			for _, later := range recs[i+1:] {
				if later.Kind == KindStatement || later.Kind == KindQuery {
					fr.res.Skipped++
				}
			}
			return nil
		case KindHashThreshold:
			fr.threshold = rec.Threshold
			continue
		case KindSleep:
			if err := sleep(ctx, rec.Sleep); err != nil {
				return err
			}
			continue
		}
		fr.logf("%s:%d: %s\n", fr.path, rec.Line, rec.SQL)
		msg, err := fr.check(ctx, rec)
		if err != nil {
			return err
		}
		if msg == "" {
			fr.res.Passed++
			continue
		}
		fr.logf("%s:%d: FAILED: %s\n", fr.path, rec.Line, msg)
		fr.res.Failed++
		fr.res.Failures = append(fr.res.Failures, Failure{File: fr.path, Line: rec.Line, SQL: rec.SQL, Msg: msg})
	}
	return nil
}

// check runs a statement or query record, retrying a `retry` query, and
// returns why it failed ("" when it passed). An error stops the file.
func (fr *fileRun) check(ctx context.Context, rec *Record) (string, error) {
	deadline := time.Now().Add(fr.opts.RetryTimeout)
	backoff := fr.opts.RetryMinBackoff
	for {
		out, execErr := fr.exec(ctx, rec.SQL)
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if errors.Is(execErr, errConnect) {
			return "", execErr
		}
		v := fr.judge(rec, out, execErr)
		if v.ok || !rec.Retry || time.Now().After(deadline) {
			return fr.conclude(rec, v), nil
		}
		if err := sleep(ctx, backoff); err != nil {
			return "", err
		}
		backoff = min(2*backoff, fr.opts.RetryMaxBackoff)
	}
}

// conclude turns a final verdict into a failure message, queueing a rewrite
// or checking the query's label.
func (fr *fileRun) conclude(rec *Record, v verdict) string {
	if !v.ok && v.got != nil && fr.opts.Rewrite {
		fr.edits = append(fr.edits, edit{span: rec.span, lines: v.got})
		fr.res.Rewritten++
		v.ok, v.msg = true, ""
	}
	if !v.ok || rec.Label == "" || v.values == nil {
		return v.msg
	}
	h := HashValues(v.values)
	seen, ok := fr.labels[rec.Label]
	if !ok {
		fr.labels[rec.Label] = labelSeen{hash: h, line: rec.Line}
		return ""
	}
	if seen.hash != h {
		return fmt.Sprintf("results differ from those of the query at line %d with label %q", seen.line, rec.Label)
	}
	return ""
}

// errConnect marks a failure to open a connection, which stops the file.
var errConnect = errors.New("slt: connect")

// outcome is what the server returned for one execution.
type outcome struct {
	ncols int
	rows  [][]cell
	tag   pgconn.CommandTag
}

// exec runs sql once on the file's connection, reconnecting first when the
// previous execution broke it. Results are asked for in text format, which
// is what the values are rendered from.
func (fr *fileRun) exec(ctx context.Context, sql string) (*outcome, error) {
	if fr.conn == nil || fr.conn.IsClosed() {
		fr.close()
		conn, err := fr.opts.Connect(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errConnect, fr.path, err)
		}
		fr.conn = conn
	}
	sctx, cancel := context.WithTimeout(ctx, fr.opts.StatementTimeout)
	defer cancel()
	out, err := query(sctx, fr.conn, sql)
	if isStalePlan(err) {
		// pgx caches prepared statements by SQL text; after DDL changed a
		// cached statement's result type, the server refuses it once and
		// pgx drops it from its cache. Nothing ran, so running again is
		// safe, and it prepares the statement afresh.
		out, err = query(sctx, fr.conn, sql)
	}
	if err != nil && ctx.Err() == nil && errors.Is(sctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("timed out after %s: %w", fr.opts.StatementTimeout, err)
	}
	return out, err
}

// isStalePlan reports whether err is PostgreSQL's refusal of a cached
// prepared statement whose result type changed (SQLSTATE 0A000).
func isStalePlan(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == string(sqlstate.FeatureNotSupported) && strings.Contains(pgErr.Message, "cached plan must not change result type")
}

func query(ctx context.Context, conn *pgx.Conn, sql string) (*outcome, error) {
	rows, err := conn.Query(ctx, sql, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	out := &outcome{ncols: len(fields)}
	for rows.Next() {
		row := make([]cell, len(fields))
		raw := rows.RawValues()
		var decoded []any // only when a column did not come as text
		for i := range row {
			switch {
			case i < len(raw) && raw[i] == nil:
				row[i].null = true
			case fields[i].Format == pgx.TextFormatCode && i < len(raw):
				row[i].text = string(raw[i])
			default:
				if decoded == nil {
					if decoded, err = rows.Values(); err != nil {
						return nil, err
					}
				}
				row[i] = textOf(decoded[i])
			}
		}
		out.rows = append(out.rows, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out.tag = rows.CommandTag()
	return out, nil
}

// textOf approximates the text form of a value the server sent in binary,
// which it should not have since text was asked for.
func textOf(v any) cell {
	switch v := v.(type) {
	case nil:
		return cell{null: true}
	case bool:
		if v {
			return cell{text: "t"}
		}
		return cell{text: "f"}
	case []byte:
		return cell{text: fmt.Sprintf(`\x%x`, v)}
	case time.Time:
		return cell{text: v.Format("2006-01-02 15:04:05.999999Z07:00")}
	}
	return cell{text: fmt.Sprint(v)}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
