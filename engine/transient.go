package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// prepareSelect describes a push query (EMIT CHANGES) or a pull query.
func (s *session) prepareSelect(st *sql.Select) (*statement, error) {
	if sel := st.Query.Select; sel.From == nil || sel.From.TableRefs == nil {
		return s.prepareConstant(st)
	}
	b := &binding{}
	plan, err := s.e.planner(b).PlanTransient(st.Query)
	if err != nil {
		return nil, err
	}
	if plan.Result().Mode == planner.Pull {
		return &statement{params: b.paramTypes(), cols: resultColumns(plan.Output()), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
			plan, err := s.e.planner(&binding{values: args}).PlanTransient(st.Query)
			if err != nil {
				return server.Result{}, err
			}
			rows, err := s.e.pull(ctx, plan, s.pullTimeout())
			if err != nil {
				return server.Result{}, err
			}
			// Columns: the plan of now, which the server checks against
			// the prepared description (a SELECT * after ADD COLUMN).
			return server.Result{Tag: "SELECT", Rows: rows, Columns: resultColumns(plan.Output())}, nil
		}}, nil
	}
	return &statement{params: b.paramTypes(), cols: resultColumns(plan.Output()), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		plan, err := s.e.planner(&binding{values: args}).PlanTransient(st.Query)
		if err != nil {
			return server.Result{}, err
		}
		it, err := s.e.startTransient(ctx, plan, s.fromEarliest())
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "SELECT", Rows: it, Columns: resultColumns(plan.Output())}, nil
	}}, nil
}

// resultColumns are a plan's output columns as a client sees them.
func resultColumns(cols []types.Column) []types.Column {
	out := make([]types.Column, len(cols))
	for i, c := range cols {
		out[i] = types.Column{Name: c.Name, Type: c.Type}
	}
	return out
}

// startTransient starts a transient query's readers. A query over a
// stream without EMIT scans what the topic held when it began; a push
// query starts at the end of the topic, or at its start under 'earliest'.
func (e *Engine) startTransient(ctx context.Context, plan *planner.Plan, earliest bool) (server.RowIter, error) {
	for _, src := range plan.Sources() {
		if err := e.sourceFailure(src); err != nil {
			return nil, err
		}
	}
	pq, err := e.builder.Push(ctx, plan, earliest)
	if err != nil {
		return nil, err
	}
	// The rows outlive this call: they stream until the client's statement
	// context ends, so the readers hang off e.ctx and the iterator's Close.
	return pq.Start(e.ctx), nil
}

// preparePrint describes PRINT topic: the topic's raw records as text.
func (s *session) preparePrint(st *sql.Print) (*statement, error) {
	cols := []types.Column{
		{Name: "rowtime", Type: types.Timestamp},
		{Name: "partition", Type: types.Int},
		{Name: "offset", Type: types.Bigint},
		{Name: "key", Type: types.String},
		{Name: "value", Type: types.String},
	}
	return &statement{cols: cols, exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		it, err := s.e.startPrint(ctx, st, s.fromEarliest())
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "PRINT", Rows: it}, nil
	}}, nil
}

// startPrint streams a topic's records. It reads through the same readers
// as a push query with a pass-through "decoder" of raw bytes.
func (e *Engine) startPrint(ctx context.Context, st *sql.Print, earliest bool) (server.RowIter, error) {
	if _, err := e.log.Topic(ctx, st.Topic); err != nil {
		return nil, errUnknownSource.Errorf("topic %s does not exist", st.Topic)
	}
	mode := build.ReadNew
	if earliest || st.FromBeginning {
		mode = build.ReadAll
	}
	spec, err := e.builder.Reads(ctx, st.Topic, mode)
	if err != nil {
		return nil, err
	}
	keyText := e.keyPrinter(st.Topic)
	it := operators.StartPush(e.ctx, spec, func(rec *log.Record) (types.Row, bool, error) {
		return types.Row{types.NewTimestamp(rec.Timestamp), types.NewInt(rec.Partition), types.NewBigint(rec.Offset),
			textValue(keyText(rec.Key)), textValue(printable(rec.Value))}, true, nil
	})
	return &printIter{push: it, interval: st.Interval, limit: st.Limit}, nil
}

// keyPrinter renders the keys of a topic for PRINT. Text keys (STRING,
// JSON) print as they are. When a stream or table over the topic declares
// the key, its key format reads binary keys exactly (KAFKA's INT, BIGINT
// and DOUBLE), and a windowed table's window shows as key@start/end, as
// ksqlDB prints it; otherwise, or when a key does not decode, printable
// guesses.
func (e *Engine) keyPrinter(topic string) func([]byte) any {
	for _, src := range e.cat.Sources() {
		keys := src.KeyColumns()
		if src.Topic != topic || len(keys) == 0 {
			continue
		}
		kf, err := serde.NewKeyFormat(src.KeyFormat, keys, build.SerdeProps(src))
		if err != nil {
			break
		}
		win := build.WindowedKey(src)
		return func(b []byte) any {
			if b == nil {
				return nil
			}
			key, suffix := b, ""
			if win != nil {
				var w window.Window
				var err error
				if win.Session {
					key, w, err = window.ParseSessionWindowedKey(b)
				} else {
					var start int64
					key, start, err = window.ParseTimeWindowedKey(b)
					w = window.Window{Start: start, End: start + win.SizeMs}
				}
				if err != nil {
					return printable(b)
				}
				suffix = fmt.Sprintf("@%d/%d", w.Start, w.End)
			}
			if utf8.Valid(key) && isText(key) {
				return string(key) + suffix // text keys print as they are
			}
			vals, err := kf.Decode(key)
			if err != nil {
				return printable(b)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = types.Format(v, keys[i].Type)
			}
			return strings.Join(parts, ", ") + suffix
		}
	}
	return printable
}

// textValue turns printable's result into a STRING value or NULL.
func textValue(v any) types.Value {
	if s, ok := v.(string); ok {
		return types.NewString(s)
	}
	return types.NullValue
}

// printIter applies PRINT's INTERVAL and LIMIT.
type printIter struct {
	push     *operators.Push[types.Row]
	interval int64
	limit    int64
	seen     int64
	sent     int64
}

func (p *printIter) Next(ctx context.Context) (types.Row, error) {
	for {
		if p.limit > 0 && p.sent >= p.limit {
			return nil, io.EOF
		}
		row, err := p.push.Next(ctx)
		if err != nil {
			return nil, err
		}
		p.seen++
		if p.interval > 1 && (p.seen-1)%p.interval != 0 {
			continue
		}
		p.sent++
		return row, nil
	}
}

func (p *printIter) Close() { p.push.Close() }

// prepareConstant answers a SELECT without FROM with its one row.
func (s *session) prepareConstant(st *sql.Select) (*statement, error) {
	b := &binding{}
	plan, err := s.e.planner(b).PlanConstant(st.Query)
	if err != nil {
		return nil, err
	}
	return &statement{params: b.paramTypes(), cols: plan.Output(), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		plan, err := s.e.planner(&binding{values: args}).PlanConstant(st.Query)
		if err != nil {
			return server.Result{}, err
		}
		rows, err := build.Constant(plan)
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "SELECT", Rows: rows}, nil
	}}, nil
}
