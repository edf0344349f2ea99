package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/planner/pgcatalog"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// listing is a statement whose rows are computed when it runs.
func listing(cols []types.Column, rows func(ctx context.Context) ([]types.Row, error)) *statement {
	return &statement{cols: cols, exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		r, err := rows(ctx)
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: r}}, nil
	}}
}

// noticedListing is a listing whose rows come with notices: SHOW and
// DESCRIBE say so when a source has failed, without changing the columns
// clients expect.
func noticedListing(cols []types.Column, rows func(ctx context.Context) ([]types.Row, []string, error)) *statement {
	return &statement{cols: cols, exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		r, notices, err := rows(ctx)
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: r}, Notices: notices}, nil
	}}
}

// sliceIter iterates rows already computed.
type sliceIter struct{ rows []types.Row }

func (s *sliceIter) Next(context.Context) (types.Row, error) {
	if len(s.rows) == 0 {
		return nil, io.EOF
	}
	r := s.rows[0]
	s.rows = s.rows[1:]
	return r, nil
}

func (s *sliceIter) Close() {}

func strCols(names ...string) []types.Column {
	cols := make([]types.Column, len(names))
	for i, n := range names {
		cols[i] = types.Column{Name: n, Type: types.String}
	}
	return cols
}

func strRow(vals ...string) types.Row {
	r := make(types.Row, len(vals))
	for i, v := range vals {
		r[i] = types.NewString(v)
	}
	return r
}

// prepareShow describes SHOW STREAMS|TABLES|QUERIES|TOPICS|PROPERTIES|FUNCTIONS.
func (s *session) prepareShow(st *sql.Show) (*statement, error) {
	e := s.e
	switch st.What {
	case sql.ShowStreams, sql.ShowTables:
		if st.Extended {
			// ksqlDB's SHOW STREAMS EXTENDED describes each stream.
			kind := sql.Stream
			if st.What == sql.ShowTables {
				kind = sql.Table
			}
			return s.prepareDescribeSources(kind, true)
		}
		kind := catalog.KindStream
		if st.What == sql.ShowTables {
			kind = catalog.KindTable
		}
		name := strings.ToLower(string(kind)) + "_name"
		return noticedListing(strCols(name, "kafka_topic", "key_format", "value_format", "is_windowed"), func(context.Context) ([]types.Row, []string, error) {
			var rows []types.Row
			var listed []*catalog.Source
			for _, src := range e.cat.Sources() {
				if src.Kind == kind {
					rows = append(rows, strRow(src.Name, src.Topic, src.KeyFormat, src.ValueFormat, fmt.Sprint(src.Window != nil)))
					listed = append(listed, src)
				}
			}
			return rows, e.failureNotices(listed...), nil
		}), nil
	case sql.ShowNodes:
		return listing(showNodesColumns, e.showNodes), nil
	case sql.ShowQueries:
		if st.Extended {
			return listing(showQueriesExtendedColumns, e.showQueriesExtended), nil
		}
		return listing(strCols("query_id", "status", "sink", "sink_topic", "query_string"), func(context.Context) ([]types.Row, error) {
			var rows []types.Row
			for _, q := range e.cat.Queries() {
				state := "UNKNOWN"
				if rq, ok := e.runningQuery(q.ID); ok {
					var qerr error
					state, qerr = rq.status()
					// A query paused for a full disk says so: it is
					// waiting for space, not broken.
					if errors.Is(qerr, log.ErrDiskFull) {
						state += ": disk full"
					}
				}
				topic := ""
				if src, err := e.cat.Source(q.Sink); err == nil {
					topic = src.Topic
				}
				rows = append(rows, strRow(q.ID, state, q.Sink, topic, q.Statement))
			}
			return rows, nil
		}), nil
	case sql.ShowTopics:
		cols := []types.Column{{Name: "kafka_topic", Type: types.String}, {Name: "partitions", Type: types.Int}, {Name: "replicas", Type: types.Int}}
		return listing(cols, func(ctx context.Context) ([]types.Row, error) {
			topics, err := e.log.Topics(ctx)
			if err != nil {
				return nil, err
			}
			var rows []types.Row
			for _, t := range topics {
				// Internal topics (the catalog) are Runnel's business;
				// SHOW TOPICS EXTENDED lists them too.
				if strings.HasPrefix(t.Name, "_") && !st.Extended {
					continue
				}
				replicas := int32(t.Replicas)
				if replicas == 0 {
					replicas = 1
				}
				rows = append(rows, types.Row{types.NewString(t.Name), types.NewInt(t.Partitions), types.NewInt(replicas)})
			}
			return rows, nil
		}), nil
	case sql.ShowProperties:
		return listing(strCols("property", "value"), func(context.Context) ([]types.Row, error) {
			var rows []types.Row
			for _, kv := range s.propList() {
				rows = append(rows, strRow(kv[0], kv[1]))
			}
			return rows, nil
		}), nil
	case sql.ShowTypes:
		// ksqlDB's SHOW TYPES: each custom type's name and definition.
		return listing(strCols("type_name", "schema"), func(context.Context) ([]types.Row, error) {
			var rows []types.Row
			for _, t := range e.cat.Types() {
				rows = append(rows, strRow(t.Name, t.Type.String()))
			}
			return rows, nil
		}), nil
	case sql.ShowVariables:
		// ksqlDB's SHOW VARIABLES: the session's variables.
		return listing(strCols("variable_name", "value"), func(context.Context) ([]types.Row, error) {
			var rows []types.Row
			for _, kv := range s.variables() {
				rows = append(rows, strRow(kv[0], kv[1]))
			}
			return rows, nil
		}), nil
	case sql.ShowFunctions:
		// ksqlDB's SHOW FUNCTIONS: each function's name, its type
		// (SCALAR, AGGREGATE or TABLE) and its category, sorted by name;
		// Runnel adds the description.
		return listing(strCols("name", "type", "category", "description"), func(context.Context) ([]types.Row, error) {
			var rows []types.Row
			for _, f := range expr.Descriptions() {
				rows = append(rows, strRow(f.Name, f.Kind.String(), f.Category, f.Description))
			}
			return rows, nil
		}), nil
	}
	return nil, errUnsupported.Errorf("SHOW: not supported: %s", st.Text())
}

// prepareDescribe describes DESCRIBE [EXTENDED] source | FUNCTION name.
func (s *session) prepareDescribe(st *sql.Describe) (*statement, error) {
	e := s.e
	if st.Function {
		// One row per overload, of any kind of function.
		return listing(strCols("name", "description", "signature"), func(context.Context) ([]types.Row, error) {
			f, ok := expr.Describe(st.Name)
			if !ok {
				return nil, errUnknownFunction.Errorf("function %s does not exist", st.Name)
			}
			var rows []types.Row
			for _, sig := range f.Signatures {
				rows = append(rows, strRow(f.Name, f.Description, sig))
			}
			return rows, nil
		}), nil
	}
	if _, err := e.cat.Source(st.Name); err != nil {
		return nil, errUnknownSource.Errorf("stream or table %s does not exist", st.Name)
	}
	if !st.Extended {
		return noticedListing(strCols("field", "type"), func(context.Context) ([]types.Row, []string, error) {
			src, err := e.cat.Source(st.Name)
			if err != nil {
				return nil, nil, errUnknownSource.Errorf("stream or table %s does not exist", st.Name)
			}
			return describeColumns(src), e.failureNotices(src), nil
		}), nil
	}
	return noticedListing(strCols("property", "value"), func(ctx context.Context) ([]types.Row, []string, error) {
		src, err := e.cat.Source(st.Name)
		if err != nil {
			return nil, nil, errUnknownSource.Errorf("stream or table %s does not exist", st.Name)
		}
		return e.describeExtended(ctx, src), e.failureNotices(src), nil
	}), nil
}

// describeColumns lists a source's columns, marking keys as ksqlDB does.
func describeColumns(src *catalog.Source) []types.Row {
	var rows []types.Row
	for _, c := range src.Columns {
		t := c.Type.String()
		if c.Key {
			if src.Kind == catalog.KindTable {
				t += " (primary key)"
			} else {
				t += " (key)"
			}
		}
		rows = append(rows, strRow(c.Name, t))
	}
	return rows
}

// describeExtended lists a source's properties, columns, the queries that
// read and write it, and their counters: records processed, and records
// skipped because they could not be decoded or evaluated.
func (e *Engine) describeExtended(ctx context.Context, src *catalog.Source) []types.Row {
	rows := []types.Row{
		strRow("name", src.Name),
		strRow("type", string(src.Kind)),
		strRow("kafka_topic", src.Topic),
		strRow("key_format", src.KeyFormat),
		strRow("value_format", src.ValueFormat),
	}
	// The formats' properties, when the statement (or an inherited
	// delimiter, or the session's default wrapping) set them. ksqlDB's
	// DESCRIBE EXTENDED prints the formats' names only
	// (SourceDescription's keyFormat and valueFormat) and leaves these to
	// its statement text, where an inherited one does not show.
	for _, p := range [...]struct{ prop, row string }{
		{"KEY_DELIMITER", "key_delimiter"},
		{"VALUE_DELIMITER", "value_delimiter"},
		{"WRAP_SINGLE_VALUE", "wrap_single_value"},
	} {
		if v, ok := src.Props[p.prop]; ok {
			rows = append(rows, strRow(p.row, v))
		}
	}
	rows = append(rows, strRow("partitions", fmt.Sprint(src.Partitions)))
	failure := e.sourceFailure(src)
	if failure != nil {
		rows = append(rows, strRow("status", "FAILED: "+failure.Error()))
	}
	if ts := src.Props["TIMESTAMP"]; ts != "" {
		rows = append(rows, strRow("timestamp", ts))
		if f := src.Props["TIMESTAMP_FORMAT"]; f != "" {
			rows = append(rows, strRow("timestamp_format", f))
		}
	}
	if w := src.Window; w != nil {
		rows = append(rows, strRow("window_type", w.Kind))
		if w.SizeMs > 0 {
			rows = append(rows, strRow("window_size_ms", fmt.Sprint(w.SizeMs)))
		}
	}
	if src.ReadOnly {
		rows = append(rows, strRow("read_only", "true"))
	}
	if src.Statement != "" {
		rows = append(rows, strRow("statement", src.Statement))
	}
	for _, r := range describeColumns(src) {
		rows = append(rows, strRow("column "+r[0].Str(), r[1].Str()))
	}
	var consumed, produced, failed, late int64
	lastErr := ""
	for _, id := range e.cat.QueriesUsing(src.Name) {
		q, err := e.cat.Query(id)
		if err != nil {
			continue
		}
		role := "reads"
		if q.Sink == src.Name {
			role = "writes"
		}
		state := "UNKNOWN"
		if rq, ok := e.runningQuery(id); ok {
			var qerr error
			state, qerr = rq.status()
			if qerr != nil {
				state += ": " + qerr.Error()
			}
			if q.Sink == src.Name {
				m := rq.metrics
				consumed += m.Consumed.Load()
				produced += m.Produced.Load()
				failed += m.Failed.Load()
				late += m.Late.Load()
				if p := m.LastError.Load(); p != nil {
					lastErr = *p
				}
			}
		}
		rows = append(rows, strRow("query "+id, role+" ("+state+"): "+q.Statement))
	}
	// A failed source's topic may have more partitions than the server
	// can count offsets for: partitionsOf refuses those.
	if _, err := e.partitionsOf(ctx, src.Topic); err == nil && failure == nil {
		if end, err := e.log.EndOffsets(ctx, src.Topic); err == nil {
			var total int64
			for _, o := range end {
				total += o
			}
			rows = append(rows, strRow("topic_end_offsets_total", fmt.Sprint(total)))
		}
	}
	// A stream-stream join drops late records as a window does.
	windowed := src.Window != nil
	if rq, ok := e.runningQuery(src.Query); ok && src.Query != "" {
		// What the writing query is made of beyond its sources: its joins,
		// the internal topics between its stages and its state stores
		// (TERMINATE removes the last two).
		if rq.plan != nil {
			planner.Walk(rq.plan.Root, func(n planner.Node) bool {
				if j, ok := n.(*planner.Join); ok {
					rows = append(rows, strRow("join", strings.TrimPrefix(j.DescribeQuery(src.Query), "[ JOIN ] | ")))
					windowed = windowed || j.Within != nil
				}
				return true
			})
		}
		for _, t := range rq.topics {
			rows = append(rows, strRow("internal_topic", t))
		}
		for _, st := range rq.stores {
			rows = append(rows, strRow("state_store", st.Name))
		}
		// In a cluster, each task of the writing query and the node that
		// runs it; a listing that cannot be read now (the brokers) is
		// left out.
		if e.clustered() {
			if lines, err := e.taskLines(ctx, rq); err == nil {
				for _, l := range lines {
					rows = append(rows, strRow("task", l))
				}
			}
		}
	}
	if src.Query != "" {
		rows = append(rows,
			strRow("records_consumed", fmt.Sprint(consumed)),
			strRow("records_produced", fmt.Sprint(produced)),
			strRow("records_failed", fmt.Sprint(failed)),
		)
		if windowed {
			rows = append(rows, strRow("records_late", fmt.Sprint(late)))
		}
		if lastErr != "" {
			rows = append(rows, strRow("last_failure", lastErr))
		}
	}
	return rows
}

// prepareExplain describes EXPLAIN statement | EXPLAIN query_id: the plan
// as text rows, as PostgreSQL's EXPLAIN returns it.
func (s *session) prepareExplain(st *sql.Explain) (*statement, error) {
	e := s.e
	var text func(ctx context.Context) (string, error)
	switch {
	case st.QueryID != "":
		text = func(ctx context.Context) (string, error) {
			id := strings.ToUpper(st.QueryID)
			rq, ok := e.runningQuery(id)
			if !ok || rq.plan == nil {
				return "", errUnknownObject.Errorf("query %s does not exist or is not running", st.QueryID)
			}
			text := "query " + id + ": " + rq.q.Statement + "\n" + rq.plan.ExplainQuery(id)
			if !e.clustered() {
				return text, nil
			}
			// In a cluster: the tasks and the nodes that run them,
			// cluster-wide, as SHOW QUERIES EXTENDED lists them.
			lines, err := e.taskLines(ctx, rq)
			if err != nil {
				return "", err
			}
			return text + "\nTasks:\n  " + strings.Join(lines, "\n  "), nil
		}
	default:
		var q *sql.Query
		var sink *sinkOf
		switch inner := st.Statement.(type) {
		case *sql.Select:
			q = inner.Query
		case *sql.CreateSource:
			q = inner.Query
			sink = &sinkOf{create: inner}
		case *sql.Insert:
			q = inner.Query
			sink = &sinkOf{insert: inner}
		}
		if q == nil {
			return nil, errUnsupported.Errorf("EXPLAIN takes a query, CREATE ... AS SELECT or INSERT INTO ... SELECT")
		}
		text = func(context.Context) (string, error) {
			p := e.planner(nil)
			if sink == nil {
				plan, err := p.PlanTransient(q)
				if err != nil {
					return "", err
				}
				return plan.Explain(), nil
			}
			plan, err := p.PlanPersistent(q, sink.spec())
			if err != nil {
				return "", err
			}
			return plan.Explain(), nil
		}
		if _, err := text(context.Background()); err != nil {
			return nil, err
		}
	}
	return listing(strCols("QUERY PLAN"), func(ctx context.Context) ([]types.Row, error) {
		t, err := text(ctx)
		if err != nil {
			return nil, err
		}
		var rows []types.Row
		for _, line := range strings.Split(t, "\n") {
			rows = append(rows, strRow(line))
		}
		return rows, nil
	}), nil
}

// sinkOf is the sink statement EXPLAIN plans against.
type sinkOf struct {
	create *sql.CreateSource
	insert *sql.Insert
}

func (s *sinkOf) spec() planner.SinkSpec {
	if s.insert != nil {
		return planner.SinkSpec{Name: s.insert.Target, Insert: true}
	}
	return planner.SinkSpec{Name: s.create.Name, Kind: s.create.Kind, With: s.create.With, Statement: s.create.Text()}
}

// prepareCatalog describes a query of pg_catalog or information_schema
// (see pgcatalog.Wants); ok is false for any other query. The catalog is
// read again at each execution.
func (s *session) prepareCatalog(q *sql.Query) (st *statement, ok bool, err error) {
	isSource := func(name string) bool { _, err := s.e.cat.Source(name); return err == nil }
	if !pgcatalog.Wants(q, isSource) {
		return nil, false, nil
	}
	plan, err := pgcatalog.Bind(q, s.catalogEnv(), nil)
	if err != nil {
		return nil, true, err
	}
	return &statement{params: plan.Params, cols: plan.Columns, exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		if args == nil {
			args = []types.Value{} // values, not a description
		}
		plan, err := pgcatalog.Bind(q, s.catalogEnv(), args)
		if err != nil {
			return server.Result{}, err
		}
		rows, err := plan.Run(ctx)
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: rows}}, nil
	}}, true, nil
}

// catalogEnv is what a catalog query sees of the engine and the session.
func (s *session) catalogEnv() *pgcatalog.Env {
	settings := map[string]string{}
	for k, v := range serverSettings {
		settings[k] = v
	}
	for _, kv := range s.propList() {
		settings[strings.ToLower(kv[0])] = kv[1]
	}
	pid, _ := strconv.ParseInt(s.params[server.BackendPIDParam], 10, 32)
	return &pgcatalog.Env{Sources: s.e.cat.Sources(), Functions: expr.Functions(), Types: s.e.cat.Types(), User: s.user,
		Database: s.params["database"], BackendPID: int32(pid), Settings: settings}
}
