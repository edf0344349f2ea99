package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// ksqlDB's statements beyond sources and queries: custom types, ASSERT,
// DESCRIBE STREAMS|TABLES. (Session variables are in session.go.)

// errAssertion is a failed ASSERT: PostgreSQL's assert_failure.
var errAssertion = sqlstate.New(sqlstate.AssertFailure, "engine: assertion failed")

// createType runs CREATE TYPE: a catalog command, so that every node and
// every restart knows the type.
func (e *Engine) createType(ctx context.Context, st *sql.CreateType) error {
	e.ddl.Lock()
	defer e.ddl.Unlock()
	if old, ok := e.cat.Type(st.Name); ok {
		if st.IfNotExists {
			return nil
		}
		return errTypeExists.Errorf("Cannot register custom type '%s' since it is already registered with type: %s", st.Name, old)
	}
	return e.cat.PutType(ctx, &catalog.TypeAlias{Name: st.Name, Type: st.Type})
}

// dropType runs DROP TYPE. Sources and queries keep the types they were
// made with: they were resolved when their statements were parsed.
func (e *Engine) dropType(ctx context.Context, st *sql.DropType) error {
	e.ddl.Lock()
	defer e.ddl.Unlock()
	if _, ok := e.cat.Type(st.Name); !ok {
		if st.IfExists {
			return nil
		}
		return errUnknownObject.Errorf("Type %s does not exist.", st.Name)
	}
	return e.cat.DropType(ctx, st.Name)
}

// defaultAssertTimeout is ksqlDB's ksql.assert.topic.default.timeout.ms.
const defaultAssertTimeout = time.Second

// assertRetry is how often an assertion is checked again until its
// timeout.
const assertRetry = 100 * time.Millisecond

// prepareAssert describes ASSERT [NOT EXISTS] TOPIC: it checks the topic
// (and the PARTITIONS and REPLICAS it is given) until the assertion holds
// or its TIMEOUT passes, as ksqlDB's AssertTopicExecutor does, and fails
// with ksqlDB's message. ASSERT SCHEMA needs a Schema Registry, which
// Runnel has none of.
func (s *session) prepareAssert(st *sql.Assert) (*statement, error) {
	if st.Kind == sql.AssertSchema {
		return nil, errUnsupported.Errorf("ASSERT SCHEMA is not supported: Runnel has no Schema Registry")
	}
	timeout := defaultAssertTimeout
	if st.HasTimeout {
		timeout = st.Timeout
	}
	cols := strCols("topic", "exists")
	return &statement{cols: cols, exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		deadline := time.Now().Add(timeout)
		for {
			err := s.e.assertTopic(ctx, st)
			if err == nil {
				row := strRow(st.Name, strconv.FormatBool(!st.NotExists))
				return server.Result{Tag: "ASSERT", Rows: &sliceIter{rows: []types.Row{row}}}, nil
			}
			if !errors.Is(err, errAssertion) || time.Now().Add(assertRetry).After(deadline) {
				return server.Result{}, err
			}
			select {
			case <-ctx.Done():
				return server.Result{}, ctx.Err()
			case <-time.After(assertRetry):
			}
		}
	}}, nil
}

// assertTopic checks an ASSERT TOPIC once.
func (e *Engine) assertTopic(ctx context.Context, st *sql.Assert) error {
	info, err := e.log.Topic(ctx, st.Name)
	exists := err == nil
	if err != nil && !errors.Is(err, log.ErrUnknownTopic) {
		//lint:ignore ST1005 ksqlDB's message, word for word
		return fmt.Errorf("Cannot check topic existence: %w", err)
	}
	if st.NotExists {
		if exists {
			return errAssertion.Errorf("Topic %s exists", st.Name)
		}
		return nil
	}
	if !exists {
		return errAssertion.Errorf("Topic %s does not exist", st.Name)
	}
	replicas := int32(info.Replicas)
	if replicas == 0 {
		replicas = 1 // the embedded log keeps one copy
	}
	var problems []string
	for k, v := range st.With {
		var actual int32
		switch k {
		case "PARTITIONS":
			actual = info.Partitions
		case "REPLICAS":
			actual = replicas
		default:
			problems = append(problems, "Cannot assert unknown topic property: "+k)
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 32); err != nil || int32(n) != actual {
			problems = append(problems, fmt.Sprintf("Mismatched configuration for topic %s: For config %s, expected %s got %d",
				st.Name, strings.ToLower(k), v, actual))
		}
	}
	if len(problems) > 0 {
		return errAssertion.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// prepareDescribeSources describes DESCRIBE STREAMS|TABLES [EXTENDED],
// and SHOW STREAMS|TABLES EXTENDED, which ksqlDB answers alike: every
// stream (or table) as DESCRIBE [EXTENDED] describes it, one result with
// the source's name on each row.
func (s *session) prepareDescribeSources(kind sql.SourceKind, extended bool) (*statement, error) {
	e := s.e
	want := catalog.KindStream
	if kind == sql.Table {
		want = catalog.KindTable
	}
	cols := strCols("name", "field", "type")
	if extended {
		cols = strCols("name", "property", "value")
	}
	return noticedListing(cols, func(ctx context.Context) ([]types.Row, []string, error) {
		var rows []types.Row
		var listed []*catalog.Source
		for _, src := range e.cat.Sources() {
			if src.Kind != want {
				continue
			}
			listed = append(listed, src)
			var described []types.Row
			if extended {
				described = e.describeExtended(ctx, src)
			} else {
				described = describeColumns(src)
			}
			for _, r := range described {
				rows = append(rows, append(types.Row{types.NewString(src.Name)}, r...))
			}
		}
		return rows, e.failureNotices(listed...), nil
	}), nil
}

// readOnly refuses a write to a source made by CREATE SOURCE, in
// ksqlDB's words (source-stream.json, source-table.json).
func readOnly(src *catalog.Source, what string) error {
	if !src.ReadOnly {
		return nil
	}
	return errWrongObject.Errorf("Cannot %s read-only %s: %s", what, strings.ToLower(string(src.Kind)), src.Name)
}
