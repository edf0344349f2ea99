package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// createSource runs CREATE STREAM|TABLE over an existing or a new topic.
//
// Every check comes before the first write — the topic, then the catalog
// command, then the materializer — so that a refused statement leaves
// nothing behind.
// wrap is the session's ksql.persistence.wrap.single.values
// (planner.Planner.WrapSingleValues).
func (e *Engine) createSource(ctx context.Context, st *sql.CreateSource, wrap string) error {
	e.lockDDL(ctx)
	defer e.ddl.Unlock()
	old, _ := e.cat.Source(st.Name)
	if st.OrReplace && (st.Source || old != nil && old.ReadOnly) {
		return errUnsupported.Errorf("Cannot add %s '%s': CREATE OR REPLACE is not supported on source %ss.", st.Kind.Lower(), st.Name, st.Kind.Lower())
	}
	if old != nil {
		switch {
		case st.IfNotExists:
			return nil
		case !st.OrReplace:
			return errSourceExists.Errorf("%s %s already exists", strings.ToLower(string(old.Kind)), st.Name)
		case old.System:
			return errWrongObject.Errorf("%s is maintained by Runnel and cannot be replaced", st.Name)
		}
	}
	p := e.planner(nil)
	p.WrapSingleValues = wrap
	src, err := p.PlanSource(st)
	if err != nil {
		return err
	}
	topic, err := e.planTopic(ctx, src, st.With)
	if err != nil {
		return err
	}
	// Checked: now the writes.
	created, err := e.createTopic(ctx, src, topic)
	if err != nil {
		return err
	}
	if err := e.cat.PutSourceDeps(ctx, src, catalog.Deps{Types: e.typesUsed(st.Text())}); err != nil {
		e.undoTopic(src.Topic, created, err)
		e.afterRefusedWrite(ctx)
		return err
	}
	e.forgetFailure(src.Name)
	if old != nil && old.Kind == catalog.KindTable {
		e.stopMaterializer(ctx, old)
	}
	if src.Kind == catalog.KindTable {
		return e.startMaterializer(ctx, src)
	}
	return nil
}

// topicPlan is what a statement will do with its topic, decided by
// planTopic before anything is written.
type topicPlan struct {
	// create is set when the topic is missing and must be created with
	// cfg.
	create bool
	cfg    log.TopicConfig
}

// planTopic checks src's topic — its name, the partitions and replicas in
// with, an existing topic's partition count — against Kafka's rules and
// this server's limits, and sets src.Partitions. It writes nothing. A
// missing topic needs PARTITIONS, as in ksqlDB, unless src already has a
// count (a CREATE ... AS SELECT sink inherits its input's).
func (e *Engine) planTopic(ctx context.Context, src *catalog.Source, with map[string]string) (topicPlan, error) {
	if err := catalog.ValidateTopicName(src.Topic); err != nil {
		return topicPlan{}, err
	}
	var replicas int16
	if r, ok := with["REPLICAS"]; ok {
		var err error
		if replicas, err = catalog.ParseReplicas(r); err != nil {
			return topicPlan{}, err
		}
		// The embedded log keeps one copy of each topic: a replication
		// factor above one is what Kafka refuses on a cluster of one
		// broker, in Kafka's words.
		if _, ok := e.log.(*embedded.Log); ok && replicas > 1 {
			return topicPlan{}, catalog.ErrInvalidReplicas.Errorf("Replication factor: %d larger than available brokers: 1 (the embedded log keeps one copy of each topic)", replicas)
		}
	}
	var partitions int32
	if p, ok := with["PARTITIONS"]; ok {
		var err error
		if partitions, err = catalog.ParsePartitions(p, e.opts.MaxPartitions); err != nil {
			return topicPlan{}, err
		}
	}
	info, err := e.log.Topic(ctx, src.Topic)
	if err == nil {
		if partitions != 0 && partitions != info.Partitions {
			return topicPlan{}, errInvalidValue.Errorf("topic %s exists with %d partitions, not %d", src.Topic, info.Partitions, partitions)
		}
		if err := catalog.CheckPartitions(src.Topic, info.Partitions, e.opts.MaxPartitions); err != nil {
			return topicPlan{}, err
		}
		src.Partitions = info.Partitions
		return topicPlan{}, nil
	}
	if !errors.Is(err, log.ErrUnknownTopic) {
		return topicPlan{}, fmt.Errorf("look up topic %s: %w", src.Topic, err)
	}
	if partitions == 0 {
		partitions = src.Partitions
	}
	if partitions < 1 {
		return topicPlan{}, errUnknownSource.Errorf("topic %s does not exist: give PARTITIONS in WITH to create it", src.Topic)
	}
	if err := catalog.CheckPartitions(src.Topic, partitions, e.opts.MaxPartitions); err != nil {
		return topicPlan{}, err
	}
	src.Partitions = partitions
	return topicPlan{create: true, cfg: log.TopicConfig{Partitions: partitions, Replicas: replicas, Compacted: src.Kind == catalog.KindTable}}, nil
}

// createTopic creates src's topic when tp says to, and reports whether it
// did. A topic that appeared since planTopic (another node's DDL, in Kafka
// mode) is used as it is.
func (e *Engine) createTopic(ctx context.Context, src *catalog.Source, tp topicPlan) (created bool, err error) {
	if !tp.create {
		return false, nil
	}
	err = e.log.CreateTopic(ctx, src.Topic, tp.cfg)
	switch {
	case errors.Is(err, log.ErrTopicExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create topic %s: %w", src.Topic, err)
	}
	return true, nil
}

// undoTopic deletes a topic this statement created when a later write of
// the statement failed, so that it leaves nothing behind.
func (e *Engine) undoTopic(topic string, created bool, cause error) {
	// After a concurrent change, the topic is the other node's too.
	if !created || errors.Is(cause, catalog.ErrConcurrentChange) {
		return
	}
	// The statement's context may be what failed; the undo gets its own.
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.ShutdownTimeout)
	defer cancel()
	if err := e.log.DeleteTopic(ctx, topic); err != nil && !errors.Is(err, log.ErrUnknownTopic) {
		e.logger.Warn("delete the topic of a failed statement", "topic", topic, "error", err)
	}
}

// prepareCreateAs describes CREATE STREAM ... AS SELECT.
func (s *session) prepareCreateAs(st *sql.CreateSource) (*statement, error) {
	return s.preparePersistent(st.Query, planner.SinkSpec{
		Name: st.Name, Kind: st.Kind, With: st.With, Statement: st.Text(),
	}, st, "CREATE "+st.Kind.String())
}

// prepareInsertSelect describes INSERT INTO ... SELECT.
func (s *session) prepareInsertSelect(st *sql.Insert) (*statement, error) {
	if len(st.Columns) > 0 {
		return nil, errUnsupported.Errorf("INSERT INTO ... (columns) SELECT is not supported: the query's columns must match the target's")
	}
	return s.preparePersistent(st.Query, planner.SinkSpec{Name: st.Target, Insert: true, Statement: st.Text()}, st, "INSERT 0 0")
}

// preparePersistent plans once to describe, and again at execution, when
// the catalog may have changed.
func (s *session) preparePersistent(q *sql.Query, sink planner.SinkSpec, st sql.Statement, tag string) (*statement, error) {
	b := &binding{}
	if _, err := s.e.planner(b).PlanPersistent(q, sink); err != nil {
		return nil, err
	}
	return &statement{params: b.paramTypes(), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		id, err := s.e.createPersistent(ctx, q, sink, st, args, s.fromEarliest(), s.prop(propWrapSingleValues), s.queryProps())
		if err != nil {
			return server.Result{}, err
		}
		if id == "" { // IF NOT EXISTS, and it did
			return server.Result{Tag: tag}, nil
		}
		return server.Result{Tag: tag, Notices: []string{"Created query with ID " + id}}, nil
	}}, nil
}

// queryProps are the session's properties that a persistent query it
// starts keeps, stored with the query in the catalog (catalog.Query's
// Props) so that every node runs it alike, and after a restart as it was
// created: num.standby.replicas, cache.max.bytes.buffering.
//
// A query without cache.max.bytes.buffering among them has ksqlDB's
// default (queryCacheMaxBytes), so it is kept only when it differs.
func (s *session) queryProps() map[string]string {
	var props map[string]string
	if v := s.prop(propStandbyReplicas); v != "" {
		props = map[string]string{propStandbyReplicas: v}
	}
	if n := s.cacheMaxBytes(); n != planner.DefaultCacheMaxBytes {
		if props == nil {
			props = map[string]string{}
		}
		props[propCacheMaxBytes] = strconv.FormatInt(n, 10)
	}
	return props
}

// cacheMaxBytes is the session's cache.max.bytes.buffering in bytes: what
// it SET, else the server's (Options.CacheMaxBytesBuffering).
func (s *session) cacheMaxBytes() int64 {
	if n, err := strconv.ParseInt(s.prop(propCacheMaxBytes), 10, 64); err == nil {
		return n // set checked it
	}
	return max(s.e.opts.CacheMaxBytesBuffering, 0)
}

// createPersistent plans and records a persistent query, creates its sink,
// and starts it. The query's input offsets are committed before it starts
// — at the end of its input, or the start for 'earliest' — so that a restart
// resumes exactly where it began.
//
// Every check comes before the first change: the replaced query keeps
// running, and no topic, catalog command or offset is written, until the
// statement is known to be possible.
//
// props are the session's properties the query keeps (queryProps).
func (e *Engine) createPersistent(ctx context.Context, q *sql.Query, sink planner.SinkSpec, st sql.Statement, args []types.Value, earliest bool, wrap string, props map[string]string) (string, error) {
	e.lockDDL(ctx)
	defer e.ddl.Unlock()
	var replaced *catalog.Query
	var old *catalog.Source
	if !sink.Insert {
		old, _ = e.cat.Source(sink.Name)
		if old != nil {
			cs, _ := st.(*sql.CreateSource)
			switch {
			case cs != nil && cs.IfNotExists:
				return "", nil
			case cs == nil || !cs.OrReplace:
				return "", errSourceExists.Errorf("%s %s already exists", strings.ToLower(string(old.Kind)), sink.Name)
			case old.ReadOnly:
				return "", errUnsupported.Errorf("Cannot add %s '%s': CREATE OR REPLACE is not supported on source %ss.",
					strings.ToLower(string(old.Kind)), sink.Name, strings.ToLower(string(old.Kind)))
			case old.Query == "":
				return "", errWrongObject.Errorf("%s was not created by a query and cannot be replaced by one", sink.Name)
			}
			// The query that made the sink may have been terminated since;
			// then the replacement is simply a new query.
			replaced, _ = e.cat.Query(old.Query)
		}
	}
	p := e.planner(&binding{values: args})
	p.WrapSingleValues = wrap
	plan, err := p.PlanPersistent(q, sink)
	if err != nil {
		return "", err
	}
	out := plan.Sink().Target
	if sink.Insert && out.System {
		return "", errWrongObject.Errorf("%s is maintained by Runnel and cannot be written", sink.Name)
	}
	if len(args) > 0 {
		return "", errUnsupported.Errorf("bind parameters are not supported in persistent queries: the query is re-planned from its text at restart")
	}
	sources := plan.Sources()
	for _, src := range sources {
		if err := e.sourceFailure(src); err != nil {
			return "", err
		}
	}
	if sink.Insert {
		if err := e.sourceFailure(out); err != nil {
			return "", err
		}
	}
	// What the builder will run — aggregate functions, windows, the
	// sink's encoder — is built once now and dropped, so that a query
	// that cannot run is refused before anything is written.
	if err := build.Check(plan); err != nil {
		return "", err
	}
	kind := catalog.KindStream
	if !sink.Insert && sink.Kind == sql.Table {
		kind = catalog.KindTable
	}
	var id string
	if replaced == nil {
		seq, err := e.querySequence(ctx)
		if err != nil {
			return "", err
		}
		id = catalog.QueryIDPrefix(kind, sink.Insert) + fmt.Sprint(seq)
		if !sink.Insert {
			id = catalog.QueryIDPrefix(kind, false) + sink.Name + "_" + fmt.Sprint(seq)
		}
	} else {
		if err := planner.CheckUpgrade(old, out); err != nil {
			return "", err
		}
		// CREATE OR REPLACE keeps the query id, and so its committed
		// offsets: the new plan continues where the old one stopped.
		id = replaced.ID
	}
	create := plan.Sink().Create
	var topic topicPlan
	if create {
		out.Query = id
		if topic, err = e.planTopic(ctx, out, sink.With); err != nil {
			return "", err
		}
	}

	cq := &catalog.Query{ID: id, Statement: sql.StoredText(st), Sink: out.Name, Props: withCombine(props, replaced)}
	for _, src := range sources {
		cq.Sources = append(cq.Sources, src.Name)
	}

	// Checked: now the changes. A new query's start offsets are committed
	// before the catalog command that records it, as before: once it is
	// in the catalog, other nodes may start it. The query and its sink
	// are one catalog command (PutSinkQuery): written as two, a DROP of
	// the query's source on another node could land between them, and
	// every node would then keep a sink whose query was never recorded.
	if replaced != nil {
		e.stopQuery(id)
	}
	var created bool
	if create {
		if created, err = e.createTopic(ctx, out, topic); err != nil {
			return "", err
		}
	}
	if replaced == nil {
		for _, src := range sources {
			// A join's table is read whole: the stream meets every row.
			if err := e.commitStartOffsets(ctx, id, src.Topic, earliest || plan.FromStart(src)); err != nil {
				e.undoTopic(out.Topic, created, err)
				return "", err
			}
		}
	}
	deps := catalog.Deps{Types: e.typesUsed(st.Text())}
	if create {
		err = e.cat.PutSinkQuery(ctx, out, cq, deps)
	} else {
		err = e.cat.PutQueryDeps(ctx, cq, deps)
	}
	if err != nil {
		if create {
			e.undoTopic(out.Topic, created, err)
		}
		e.afterRefusedWrite(ctx)
		return "", err
	}
	if create {
		e.forgetFailure(out.Name)
		if old != nil && old.Kind == catalog.KindTable {
			e.stopMaterializer(ctx, old)
		}
	}
	startErr := e.startPlan(cq, plan)
	if startErr != nil {
		e.markFailed(cq, startErr)
	}
	// After the query started: a table that its aggregation serves needs
	// no materializer (pull_agg.go), and a replaced query may change that.
	if out.Kind == catalog.KindTable {
		if err := e.syncMaterializer(ctx, out); err != nil && startErr == nil {
			return "", err
		}
	}
	if startErr != nil {
		return "", startErr
	}
	return id, nil
}

// afterRefusedWrite brings what runs on this node in line with the
// catalog after a catalog command of this node was refused. In a
// cluster, the refusal means other nodes' commands were read on the way
// (a query created, a source dropped), and a query this statement
// stopped to replace must run again. The caller holds e.ddl.
func (e *Engine) afterRefusedWrite(ctx context.Context) {
	if e.clustered() {
		e.reconcileLocked(ctx)
	}
}

// typesUsed returns the custom types statement text names, found by
// parsing it again with a resolver that notes what it resolves: the
// statement's catalog command depends on them, so that it is refused
// everywhere if another node drops one of them first. A text that no
// longer parses (a type dropped on this node since the statement was
// prepared) gives what was resolved before the error.
func (e *Engine) typesUsed(text string) []string {
	var mu sync.Mutex
	used := map[string]bool{}
	opts := e.parseOptions()
	resolve := opts.Types
	opts.Types = func(name string) (types.Type, bool) {
		t, ok := resolve(name)
		if ok {
			mu.Lock()
			used[name] = true
			mu.Unlock()
		}
		return t, ok
	}
	opts.Substituted = true
	_, _ = sql.ParseWith(text, opts)
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(used))
	for name := range used {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// commitStartOffsets commits a new query's starting offsets for its group.
func (e *Engine) commitStartOffsets(ctx context.Context, group, topic string, earliest bool) error {
	var offs []int64
	var err error
	if earliest {
		offs, err = e.log.StartOffsets(ctx, topic)
	} else {
		offs, err = e.log.EndOffsets(ctx, topic)
	}
	if err != nil {
		return fmt.Errorf("offsets of %s: %w", topic, err)
	}
	m := make(map[log.TopicPartition]int64, len(offs))
	for p, o := range offs {
		m[log.TopicPartition{Topic: topic, Partition: int32(p)}] = o
	}
	if err := e.log.CommitOffsets(ctx, group, m); err != nil {
		return fmt.Errorf("commit start offsets of %s: %w", group, err)
	}
	return nil
}

// dropSource runs DROP STREAM|TABLE [DELETE TOPIC]. A failed source (see
// failed.go) drops like any other: that is how it goes away.
func (e *Engine) dropSource(ctx context.Context, st *sql.Drop) error {
	e.lockDDL(ctx)
	defer e.ddl.Unlock()
	src, err := e.cat.Source(st.Name)
	if err != nil {
		if st.IfExists {
			return nil
		}
		return errUnknownSource.Errorf("%s %s does not exist", strings.ToLower(st.Kind.String()), st.Name)
	}
	if string(src.Kind) != st.Kind.String() {
		return errWrongObject.Errorf("%s is a %s, not a %s", st.Name, strings.ToLower(string(src.Kind)), strings.ToLower(st.Kind.String()))
	}
	if src.System {
		return errWrongObject.Errorf("%s is maintained by Runnel and cannot be dropped", st.Name)
	}
	if st.DeleteTopic && src.ReadOnly {
		return errWrongObject.Errorf("Cannot delete topic for read-only source: %s", src.Name)
	}
	if ids := e.cat.QueriesUsing(st.Name); len(ids) > 0 {
		return errInUse.Errorf("cannot drop %s: it is used by the queries %s; terminate them first", st.Name, strings.Join(ids, ", "))
	}
	if st.DeleteTopic {
		// As in ksqlDB: the topic goes only with the last source over it.
		var others []string
		for _, o := range e.cat.Sources() {
			if o.Name != src.Name && o.Topic == src.Topic {
				others = append(others, o.Name)
			}
		}
		if len(others) > 0 {
			return errInUse.Errorf("Refusing to delete topic. Found other data sources (%s) using topic %s", strings.Join(others, ", "), src.Topic)
		}
	}
	// The drop is conditional: a query using the source that another
	// node created since this node's check makes it fail everywhere,
	// with the error above (catalog.ErrSourceInUse).
	if err := e.cat.DropSource(ctx, st.Name); err != nil {
		e.afterRefusedWrite(ctx)
		return err
	}
	e.forgetFailure(st.Name)
	if src.Kind == catalog.KindTable {
		e.stopMaterializer(ctx, src)
	}
	if st.DeleteTopic {
		if err := e.log.DeleteTopic(ctx, src.Topic); err != nil && !errors.Is(err, log.ErrUnknownTopic) {
			return fmt.Errorf("delete topic %s: %w", src.Topic, err)
		}
	}
	return nil
}

// queriesNamed is the queries a TERMINATE, PAUSE or RESUME names: every
// one for ALL, else the one of that id, or ksqlDB's error (its
// ValidatedCommandFactory's words) when there is none.
func (e *Engine) queriesNamed(all bool, id string) ([]*catalog.Query, error) {
	if all {
		return e.cat.Queries(), nil
	}
	q, err := e.cat.Query(strings.ToUpper(id))
	if err != nil {
		return nil, errUnknownObject.Errorf("Unknown queryId: %s", strings.ToUpper(id))
	}
	return []*catalog.Query{q}, nil
}

// terminate runs TERMINATE id | ALL. Each query is dropped from the
// catalog before it is stopped: if the catalog write fails, the query is
// still recorded and still running, as if the statement had not run.
func (e *Engine) terminate(ctx context.Context, st *sql.Terminate) error {
	e.lockDDL(ctx)
	defer e.ddl.Unlock()
	qs, err := e.queriesNamed(st.All, st.QueryID)
	if err != nil {
		return err
	}
	for _, q := range qs {
		rq, _ := e.runningQuery(q.ID)
		if err := e.cat.DropQuery(ctx, q.ID); err != nil {
			e.afterRefusedWrite(ctx)
			return err
		}
		e.stopQuery(q.ID)
		if rq != nil {
			e.dropQueryState(ctx, rq)
		}
	}
	return nil
}
