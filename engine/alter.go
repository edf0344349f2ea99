package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// This file runs ksqlDB's ALTER STREAM|TABLE ... ADD COLUMN, and refuses
// the ksqlDB statements that have no place in Runnel (RUN SCRIPT, the
// connector statements) with 0A000 and what to do instead.

// alterSource adds value columns to a declared stream or table, with
// ksqlDB 0.29's rules (its AlterSourceFactory and DdlCommandExec): the
// source must exist, be of the kind the statement names, be neither a
// CREATE SOURCE (read-only) source nor the sink of a CREATE ... AS
// SELECT, and the new names must be new. The topic is not touched:
// records written before read NULL for the new columns, as a missing
// field of any value does.
//
// Queries already running keep the columns they were planned with, as in
// ksqlDB. Runnel plans a recorded query again from its text when it
// starts, though, so a query whose result would change shape with the new
// columns (SELECT * over the source, or a join, where a new name could
// make another ambiguous) would no longer fit its sink after a restart,
// nor would an INSERT INTO ... SELECT into the source: ALTER refuses a
// source such a query reads or writes (ksqlDB keeps each query's plan
// and allows it).
func (e *Engine) alterSource(ctx context.Context, st *sql.AlterSource) error {
	e.lockDDL(ctx)
	defer e.ddl.Unlock()
	kind := strings.ToLower(st.Kind.String())
	old, err := e.cat.Source(st.Name)
	if err != nil {
		return errUnknownSource.Errorf("Source %s does not exist.", st.Name)
	}
	switch {
	case string(old.Kind) != st.Kind.String():
		return errWrongObject.Errorf("Incompatible data source type is %s, but statement was ALTER %s", old.Kind, st.Kind)
	case old.ReadOnly:
		return errUnsupported.Errorf("Cannot alter %s '%s': ALTER operations are not supported on source %ss.", kind, st.Name, kind)
	case old.Query != "":
		return errUnsupported.Errorf("ALTER command is not supported for CREATE ... AS statements.")
	case old.System:
		return errWrongObject.Errorf("%s is maintained by Runnel and cannot be altered", st.Name)
	}
	for _, id := range e.cat.QueriesUsing(old.Name) {
		q, err := e.cat.Query(id)
		if err != nil {
			continue
		}
		if q.Sink == old.Name {
			// An INSERT INTO ... SELECT: planned again at start, its
			// result must match the sink's columns exactly.
			return errUnsupported.Errorf("Cannot alter %s '%s': query %s writes it (INSERT INTO ... SELECT), and Runnel plans a query again from its text at start, so its result would no longer fit the new columns; TERMINATE it first", kind, st.Name, q.ID)
		}
		if reshaped, why := e.reshapedByAlter(q); reshaped {
			return errUnsupported.Errorf("Cannot alter %s '%s': query %s reads it with %s, and Runnel plans a query again from its text at start, so its result would no longer fit its sink %s; TERMINATE it first", kind, st.Name, q.ID, why, q.Sink)
		}
	}
	src := *old
	src.Columns = append([]types.Column(nil), old.Columns...)
	src.Props = make(map[string]string, len(old.Props))
	for k, v := range old.Props {
		src.Props[k] = v
	}
	for _, c := range st.Columns {
		switch c.Name {
		case planner.RowTime, planner.RowPartition, planner.RowOffset, planner.WindowStart, planner.WindowEnd:
			return planner.ErrReservedName.Errorf("%s is a reserved column name", c.Name)
		}
		if _, dup := src.Column(c.Name); dup {
			return errDuplicateColumn.Errorf("Cannot add column %s to schema. A column with the same name already exists.", c.Name)
		}
		src.Columns = append(src.Columns, types.Column{Name: c.Name, Type: c.Type})
	}
	// The value format must hold the new schema (DELIMITED holds no
	// ARRAY, an unwrapped single value no second column, ...).
	if p := e.planner(nil); p.Formats != nil {
		if err := p.Formats(&src); err != nil {
			return err
		}
	}
	// The source's statement keeps its history, so that DESCRIBE EXTENDED
	// shows how its columns came to be (ksqlDB shows the ALTER alone).
	src.Statement = old.Statement + ";\n" + sql.StoredText(st)
	if err := e.cat.PutSource(ctx, &src); err != nil {
		return fmt.Errorf("record the altered %s %s: %w", kind, st.Name, err)
	}
	if src.Kind == catalog.KindTable {
		// The table's materialized rows were decoded with the old columns:
		// a new materializer reads the topic again with the new ones, at
		// once if the old one ran (the table was pulled), else at the
		// first pull query (lazyMaterializer).
		pulled := e.materializing(old.Name)
		e.stopMaterializer(ctx, old)
		if pulled {
			return e.runMaterializer(&src)
		}
		return e.startMaterializer(ctx, &src)
	}
	return nil
}

// reshapedByAlter reports whether query q's result could change when a
// source it reads gains columns, and why: it selects * or joins.
func (e *Engine) reshapedByAlter(q *catalog.Query) (bool, string) {
	query, err := e.storedQuery(q)
	if err != nil || query.Select == nil {
		// Unreadable: it will fail at start whatever ALTER does.
		return false, ""
	}
	sel := query.Select
	if sel.Fields != nil {
		for _, f := range sel.Fields.Fields {
			if f.WildCard != nil {
				return true, "SELECT *"
			}
		}
	}
	if sel.From != nil && sel.From.TableRefs != nil && sel.From.TableRefs.Right != nil {
		return true, "a join"
	}
	return false, ""
}

// refuseKsqlOnly answers the ksqlDB statements Runnel reads only to
// refuse: 0A000, with what to do instead.
func refuseKsqlOnly(st sql.Statement) error {
	switch st := st.(type) {
	case *sql.RunScript:
		return errUnsupported.Errorf("RUN SCRIPT is a command of ksqlDB's CLI, which reads the file itself: with psql, run \\i %s", st.File)
	case *sql.Connector:
		return errUnsupported.Errorf("%s: connectors are not part of Runnel (ksqlDB runs them in Kafka Connect); run Kafka Connect beside Runnel's topics in Kafka mode", connectorVerb(st))
	}
	return errUnsupported.Errorf("statement not supported: %s", st.Text())
}

// connectorVerb names a connector statement as ksqlDB's reference does.
func connectorVerb(st *sql.Connector) string {
	switch st.Action {
	case sql.ConnectorPlugins:
		return "SHOW CONNECTOR PLUGINS"
	case sql.ConnectorCreate:
		return "CREATE " + st.Type + " CONNECTOR"
	case sql.ConnectorDescribe:
		return "DESCRIBE CONNECTOR"
	case sql.ConnectorDrop:
		return "DROP CONNECTOR"
	}
	return "SHOW CONNECTORS"
}
