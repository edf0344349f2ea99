package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// Topic is the compacted topic holding the catalog's commands.
const Topic = "_runnel_catalog"

var (
	// ErrUnknownSource: no stream or table of that name.
	ErrUnknownSource = sqlstate.New(sqlstate.UndefinedTable, "catalog: unknown stream or table")
	// ErrSourceExists: a stream or table of that name exists.
	ErrSourceExists = sqlstate.New(sqlstate.DuplicateTable, "catalog: stream or table already exists")
	// ErrUnknownQuery: no persistent query of that id.
	ErrUnknownQuery = sqlstate.New(sqlstate.UndefinedObject, "catalog: unknown query")
	// ErrSourceInUse: the source is read or written by a running query.
	ErrSourceInUse = sqlstate.New(sqlstate.DependentObjects, "catalog: stream or table is in use")
	// ErrConcurrentChange: another node changed the same stream, table
	// or query between this node's checks and its write, and the catalog
	// topic ordered that change first, so this one was not applied.
	ErrConcurrentChange = sqlstate.New(sqlstate.DuplicateTable, "catalog: changed by another node at the same time")
	// ErrUnknownType: no custom type of that name.
	ErrUnknownType = sqlstate.New(sqlstate.UndefinedObject, "catalog: unknown type")
)

// markerKey is the key of the record Open appends to know where replay ends.
const markerKey = "marker/open"

// command is one record of the catalog topic: one of Source, Query, Type
// or Drop. A CREATE ... AS SELECT writes its query and its sink as one
// command under the query's key (Query and Source both set), so that no
// node ever applies one without the other, and then its sink again under
// the sink's own key (see PutSinkQuery). A drop is a tombstone, as
// compaction wants it: its Base travels in a header (baseHeader), and a
// tombstone without one (written before drops were conditional) deletes
// its key unconditionally.
//
// Base makes a command conditional (see applyRecord): it is the offset up
// to which its writer had applied the topic when it checked the command.
// The command applies only if, at or after Base, no command was applied
// that wrote a key it writes (its own, and its sink's when it carries
// one) or a key it Reads; and, for a drop of a stream or table, none that
// read the dropped key while a query still uses it. Every node, in every
// replay, reads the one topic in one order and so decides alike. Commands
// written before Base existed have none (0) and always apply; those
// written before Reads existed replay as they always did.
type command struct {
	Source *Source    `json:"source,omitempty"`
	Query  *Query     `json:"query,omitempty"`
	Type   *TypeAlias `json:"type,omitempty"`
	// Drop removes the key's object; it is written as a tombstone.
	Drop bool `json:"-"`
	// Reads are the keys of the objects the command was checked against
	// and depends on: a query's sources (and, for INSERT INTO, its
	// target), the custom types a statement used.
	Reads []string `json:"reads,omitempty"`
	Base  int64    `json:"base,omitempty"`
}

// baseHeader carries a drop's Base on its tombstone.
const baseHeader = "runnel-base"

// record encodes cmd as the catalog record of key.
func (cmd *command) record(key string) (log.Record, error) {
	rec := log.Record{Key: []byte(key), Partition: 0, Timestamp: log.NoTimestamp}
	if cmd.Drop {
		rec.Headers = []log.Header{{Key: baseHeader, Value: []byte(strconv.FormatInt(cmd.Base, 10))}}
		return rec, nil
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return rec, fmt.Errorf("encode command %q: %w", key, err)
	}
	rec.Value = b
	return rec, nil
}

// writes lists the keys a command under key writes: for a query that
// carries its sink, the sink's first, so that a conflict on both (two
// nodes creating one sink) is reported by the name the user gave.
func (cmd *command) writes(key string) []string {
	if cmd.Source != nil && cmd.Query != nil {
		return []string{sourceKey(cmd.Source.Name), key}
	}
	return []string{key}
}

// Deps names what a statement was checked against in the catalog, beyond
// the object it writes: if another node drops or replaces one of them
// before the statement's command reaches the topic, the command is not
// applied anywhere. The zero value depends on nothing.
type Deps struct {
	// Sources are streams and tables the statement reads (canonical
	// names). A query's own sources and target are added by the catalog.
	Sources []string
	// Types are the custom types the statement used.
	Types []string
}

// reads returns d's catalog keys, sorted and without repeats.
func (d Deps) reads(q *Query) []string {
	set := map[string]bool{}
	for _, s := range d.Sources {
		set[sourceKey(s)] = true
	}
	for _, t := range d.Types {
		set[typeKey(t)] = true
	}
	if q != nil {
		for _, s := range q.Sources {
			set[sourceKey(s)] = true
		}
		if q.Sink != "" {
			set[sourceKey(q.Sink)] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Catalog is the replayed state of the catalog topic.
//
// Readers may call any method from any goroutine. Writers (Put*, Drop*)
// must be serialized by the caller — the engine holds one DDL lock — so
// that validation and the write it guards are not interleaved with another
// writer's.
type Catalog struct {
	log log.Log

	mu struct {
		sync.RWMutex
		// sources, queries and types are guarded by mu.
		sources map[string]*Source
		queries map[string]*Query
		types   map[string]*TypeAlias
		// next is the catalog topic's end offset after the last command
		// applied: the number the next command will carry.
		next int64
		// last is the offset of the last command applied that wrote each
		// key: what a conditional command's Base is checked against. It
		// holds one entry per key of the topic.
		last map[string]int64
		// lastRead is the offset of the last command applied that read
		// each key (listed it in Reads): a drop of a stream or table is
		// refused if one came at or after its Base. Reads are kept apart
		// from writes so that two queries reading one stream do not
		// conflict. One entry per key read, at most one per key of the
		// topic.
		lastRead map[string]int64
	}
	// catchUp serializes reading the topic forward (CatchUp and append),
	// so that every command is applied once and in the topic's order. It
	// is taken before mu and never while holding it.
	catchUp sync.Mutex
}

// Progress is called while Open replays the catalog with the number of
// commands read and the total to read.
type Progress func(done, total int64)

// Open creates the catalog topic if it is missing and replays it.
func Open(ctx context.Context, l log.Log, progress Progress) (*Catalog, error) {
	c := &Catalog{log: l}
	c.mu.sources = map[string]*Source{}
	c.mu.queries = map[string]*Query{}
	c.mu.last = map[string]int64{}
	c.mu.lastRead = map[string]int64{}
	c.mu.types = map[string]*TypeAlias{}
	err := l.CreateTopic(ctx, Topic, log.TopicConfig{Partitions: 1, Compacted: true})
	if err != nil && !errors.Is(err, log.ErrTopicExists) {
		return nil, fmt.Errorf("create catalog topic: %w", err)
	}
	if err := c.replay(ctx, progress); err != nil {
		return nil, fmt.Errorf("replay catalog: %w", err)
	}
	return c, nil
}

// replay reads the catalog topic up to a marker record that it appends
// first. Replaying to the end offset alone is not enough: compaction may
// remove the topic's last record (a tombstone), and a reader would then wait
// for an offset that never comes. The latest record of a key always
// survives compaction, so the marker is always there to stop at.
func (c *Catalog) replay(ctx context.Context, progress Progress) error {
	starts, err := c.log.StartOffsets(ctx, Topic)
	if err != nil {
		return err
	}
	marks, err := c.log.Append(ctx, Topic, []log.Record{{Key: []byte(markerKey), Value: []byte("{}"), Partition: 0, Timestamp: log.NoTimestamp}})
	if err != nil {
		return fmt.Errorf("append replay marker: %w", err)
	}
	start, mark := starts[0], marks[0].Offset
	c.mu.next = mark + 1
	r, err := c.log.NewReader(ctx, log.TopicPartition{Topic: Topic}, start)
	if err != nil {
		return err
	}
	defer r.Close()
	var done int64
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if rec.Offset >= mark {
				if progress != nil {
					progress(done, done)
				}
				return nil
			}
			if _, err := c.applyRecord(rec); err != nil {
				return fmt.Errorf("command at offset %d: %w", rec.Offset, err)
			}
			done++
		}
		if progress != nil {
			progress(done, mark-start)
		}
	}
}

// applyRecord applies one catalog record to the in-memory state. A
// conditional command that finds one of its keys changed (see command) is
// skipped, on every node and in every replay alike, and skip says why, as
// the error its writer's statement fails with; err is for a record that
// cannot be read at all.
func (c *Catalog) applyRecord(rec log.Record) (skip, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := string(rec.Key)
	if key == markerKey {
		return nil, nil
	}
	var cmd command
	if rec.Value == nil {
		base, ok := baseOf(rec)
		if !ok {
			// A tombstone from before drops were conditional.
			c.deleteLocked(key)
			c.mu.last[key] = rec.Offset
			return nil, nil
		}
		cmd = command{Drop: true, Base: base}
	} else if err := json.Unmarshal(rec.Value, &cmd); err != nil {
		return nil, fmt.Errorf("decode command %q: %w", key, err)
	}
	if cmd.Source == nil && cmd.Query == nil && cmd.Type == nil && !cmd.Drop {
		return nil, fmt.Errorf("empty command %q", key)
	}
	if cmd.Base > 0 {
		if skip := c.conflictLocked(key, &cmd); skip != nil {
			return skip, nil
		}
	}
	switch {
	case cmd.Drop:
		c.deleteLocked(key)
	case cmd.Query != nil:
		c.mu.queries[cmd.Query.ID] = cmd.Query
		if cmd.Source != nil {
			c.mu.sources[cmd.Source.Name] = cmd.Source
		}
	case cmd.Source != nil:
		c.mu.sources[cmd.Source.Name] = cmd.Source
	case cmd.Type != nil:
		c.mu.types[cmd.Type.Name] = cmd.Type
	}
	for _, k := range cmd.writes(key) {
		c.mu.last[k] = rec.Offset
	}
	for _, k := range cmd.Reads {
		c.mu.lastRead[k] = rec.Offset
	}
	return nil, nil
}

// baseOf returns the Base a drop's tombstone carries.
func baseOf(rec log.Record) (int64, bool) {
	for _, h := range rec.Headers {
		if h.Key == baseHeader {
			n, err := strconv.ParseInt(string(h.Value), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// conflictLocked checks a conditional command against what was applied
// since its Base, and returns the error its statement fails with, or nil
// if it applies. The caller holds c.mu.
func (c *Catalog) conflictLocked(key string, cmd *command) error {
	changed := func(m map[string]int64, k string) bool {
		last, ok := m[k]
		return ok && last >= cmd.Base
	}
	for _, k := range cmd.writes(key) {
		if changed(c.mu.last, k) {
			return ErrConcurrentChange.Errorf("%s was created or changed by another node at the same time, and that change came first", keyName(k))
		}
	}
	for _, k := range cmd.Reads {
		if !changed(c.mu.last, k) {
			continue
		}
		// What the statement read was dropped or replaced first. Had
		// the statement come after, it would have been checked against
		// the new state: a missing source or type fails as it would
		// have, a replaced one as a concurrent change.
		name := keyName(k)
		switch {
		case strings.HasPrefix(k, "source/") && c.mu.sources[name] == nil:
			return ErrUnknownSource.Errorf("stream or table %s does not exist", name)
		case strings.HasPrefix(k, "type/") && c.mu.types[name] == nil:
			return ErrUnknownType.Errorf("Type %s does not exist.", name)
		}
		return ErrConcurrentChange.Errorf("%s was changed by another node at the same time, and that change came first", name)
	}
	if cmd.Drop && strings.HasPrefix(key, "source/") && changed(c.mu.lastRead, key) {
		// A query reading or writing the source came first. If it still
		// runs, the drop fails as it does when it comes after such a
		// query; if it was terminated since, the drop applies, as it
		// would after the terminate.
		if ids := c.queriesUsingLocked(keyName(key)); len(ids) > 0 {
			return ErrSourceInUse.Errorf("cannot drop %s: it is used by the queries %s; terminate them first", keyName(key), strings.Join(ids, ", "))
		}
	}
	return nil
}

// deleteLocked removes the object of key. The caller holds c.mu.
func (c *Catalog) deleteLocked(key string) {
	name := keyName(key)
	switch {
	case strings.HasPrefix(key, "source/"):
		delete(c.mu.sources, name)
	case strings.HasPrefix(key, "query/"):
		delete(c.mu.queries, name)
	case strings.HasPrefix(key, "type/"):
		delete(c.mu.types, name)
	}
}

// keyName is the object name in a catalog key.
func keyName(key string) string {
	if i := strings.IndexByte(key, '/'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// append writes one command, conditional on the state this node has
// applied, and applies it after every command other nodes wrote before
// it. If one of those made it not apply (see command), it fails with the
// reason: ErrConcurrentChange, ErrUnknownSource or ErrUnknownType for
// what it read, ErrSourceInUse for a drop of a source a new query uses.
func (c *Catalog) append(ctx context.Context, key string, cmd *command) error {
	c.catchUp.Lock()
	defer c.catchUp.Unlock()
	_, err := c.appendLocked(ctx, key, cmd)
	return err
}

// appendLocked is append, returning the command's offset. The caller
// holds c.catchUp.
func (c *Catalog) appendLocked(ctx context.Context, key string, cmd *command) (int64, error) {
	cmd.Base = c.NextSequence()
	rec, err := cmd.record(key)
	if err != nil {
		return 0, err
	}
	out, err := c.log.Append(ctx, Topic, []log.Record{rec})
	if err != nil {
		return 0, fmt.Errorf("append catalog command %q: %w", key, err)
	}
	skip := c.readThroughLocked(ctx, out[0])
	if skip != nil && isSkip(skip) {
		c.settleLocked(ctx, cmd.writes(key))
	}
	return out[0].Offset, skip
}

// drop removes key's object with a conditional drop (a tombstone that
// carries its Base), which compaction removes with everything before it,
// so that dropped names do not pile up in the topic.
func (c *Catalog) drop(ctx context.Context, key string) error {
	return c.append(ctx, key, &command{Drop: true})
}

// isSkip reports whether err is a command's refusal (see conflictLocked)
// rather than a failure to write or read the topic.
func isSkip(err error) bool {
	for _, s := range []error{ErrConcurrentChange, ErrUnknownSource, ErrUnknownType, ErrSourceInUse} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// settleAttempts bounds how often settleLocked writes a key again when
// yet another node changed it meanwhile.
const settleAttempts = 3

// settleLocked writes again, after a command of this node was skipped,
// the state every node holds for each of keys. Compaction keeps only a
// key's latest record, and the skipped command is that record until
// another comes: were it alone to remain, with what made it fail
// compacted away (a source dropped and made again later), a replay from
// scratch would apply it where every node skipped it. The restatement
// changes nothing where it applies, and shadows the skipped command. It
// is best effort: a failure leaves the hazard it closes, and a node that
// dies before it leaves it too. The caller holds c.catchUp.
func (c *Catalog) settleLocked(ctx context.Context, keys []string) {
	for _, key := range keys {
		for range settleAttempts {
			cmd := c.restatement(key)
			cmd.Base = c.NextSequence()
			rec, err := cmd.record(key)
			if err != nil {
				return
			}
			out, err := c.log.Append(ctx, Topic, []log.Record{rec})
			if err != nil {
				return
			}
			if skip := c.readThroughLocked(ctx, out[0]); skip == nil || !isSkip(skip) {
				break
			}
		}
	}
}

// restatement is a command that sets key to what it holds now: its
// object, or a drop if it has none.
func (c *Catalog) restatement(key string) *command {
	c.mu.RLock()
	defer c.mu.RUnlock()
	name := keyName(key)
	switch {
	case strings.HasPrefix(key, "source/"):
		if s := c.mu.sources[name]; s != nil {
			return &command{Source: s}
		}
	case strings.HasPrefix(key, "query/"):
		if q := c.mu.queries[name]; q != nil {
			return &command{Query: q}
		}
	case strings.HasPrefix(key, "type/"):
		if t := c.mu.types[name]; t != nil {
			return &command{Type: t}
		}
	}
	return &command{Drop: true}
}

// CatchUp applies the commands other nodes appended since this node last
// read the topic, and reports whether there were any. A node in a cluster
// calls it while it runs (every node tails the catalog) and before it
// checks a statement against the catalog.
func (c *Catalog) CatchUp(ctx context.Context) (bool, error) {
	c.catchUp.Lock()
	defer c.catchUp.Unlock()
	ends, err := c.log.EndOffsets(ctx, Topic)
	if err != nil {
		return false, fmt.Errorf("catalog end offset: %w", err)
	}
	if len(ends) == 0 || ends[0] <= c.NextSequence() {
		return false, nil
	}
	r, err := c.log.NewReader(ctx, log.TopicPartition{Topic: Topic}, c.NextSequence())
	if err != nil {
		return false, fmt.Errorf("read catalog: %w", err)
	}
	defer r.Close()
	last := ends[0] - 1
	for c.NextSequence() <= last {
		recs, err := r.Next(ctx)
		if err != nil {
			return false, fmt.Errorf("read catalog: %w", err)
		}
		for _, rec := range recs {
			if err := c.applyNextLocked(rec); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// readThroughLocked applies the topic up to and including own, a command
// this node just appended, and returns why own did not apply, if it did
// not. Commands from other nodes between what this node had read and own
// come first, as the topic orders them. The caller holds c.catchUp.
func (c *Catalog) readThroughLocked(ctx context.Context, own log.Record) error {
	if own.Offset == c.NextSequence() {
		// The common case, and always so on one node: nothing came
		// between, and own is applied as written, without a read.
		skip, err := c.applyRecord(own)
		if err != nil {
			return err
		}
		c.setNext(own.Offset + 1)
		return skip
	}
	r, err := c.log.NewReader(ctx, log.TopicPartition{Topic: Topic}, c.NextSequence())
	if err != nil {
		return fmt.Errorf("read catalog: %w", err)
	}
	defer r.Close()
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			return fmt.Errorf("read catalog: %w", err)
		}
		for _, rec := range recs {
			if rec.Offset == own.Offset {
				skip, err := c.applyRecord(rec)
				if err != nil {
					return err
				}
				c.setNext(rec.Offset + 1)
				return skip
			}
			if err := c.applyNextLocked(rec); err != nil {
				return err
			}
		}
	}
}

// applyNextLocked applies a record read forward, unless it was applied
// already. The caller holds c.catchUp.
func (c *Catalog) applyNextLocked(rec log.Record) error {
	if rec.Offset < c.NextSequence() {
		return nil
	}
	if _, err := c.applyRecord(rec); err != nil {
		return fmt.Errorf("command at offset %d: %w", rec.Offset, err)
	}
	c.setNext(rec.Offset + 1)
	return nil
}

func (c *Catalog) setNext(n int64) {
	c.mu.Lock()
	c.mu.next = n
	c.mu.Unlock()
}

// NextSequence is the number the next command will carry; query ids use it.
func (c *Catalog) NextSequence() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mu.next
}

// PutSource records a new or replaced source, setting its Seq.
func (c *Catalog) PutSource(ctx context.Context, s *Source) error {
	return c.PutSourceDeps(ctx, s, Deps{})
}

// PutSourceDeps records a new or replaced source that depends on deps,
// setting its Seq.
func (c *Catalog) PutSourceDeps(ctx context.Context, s *Source, deps Deps) error {
	s.Seq = c.NextSequence()
	return c.append(ctx, sourceKey(s.Name), &command{Source: s, Reads: deps.reads(nil)})
}

// PutSinkQuery records a CREATE ... AS SELECT: its query and its sink
// (setting its Seq) in one command under the query's key, so that every
// node applies both or neither; it depends on the query's sources and on
// deps. Once that applied, the sink is written again under its own key,
// so that a TERMINATE (the query key's tombstone, which compaction
// removes with the command) leaves the sink: from the statement's point
// of view that second write cannot fail, and if another node changes the
// sink first, that change is the sink's latest record. (Should this
// node fail to write it, the sink lives in the query's command alone
// until something writes it again, and a TERMINATE followed by
// compaction would then forget it.)
func (c *Catalog) PutSinkQuery(ctx context.Context, sink *Source, q *Query, deps Deps) error {
	if q.Sink != sink.Name {
		return fmt.Errorf("catalog: query %s writes %s, not %s", q.ID, q.Sink, sink.Name)
	}
	c.catchUp.Lock()
	defer c.catchUp.Unlock()
	sink.Seq = c.NextSequence()
	reads := deps.reads(&Query{Sources: q.Sources})
	if _, err := c.appendLocked(ctx, queryKey(q.ID), &command{Source: sink, Query: q, Reads: reads}); err != nil {
		return err
	}
	// The statement succeeded with the first command; see above.
	_, _ = c.appendLocked(ctx, sourceKey(sink.Name), &command{Source: sink})
	return nil
}

// DropSource removes a source, unless a query reads or writes it, or one
// that does or another change of the source reached the topic between
// this node's checks and the drop (ErrSourceInUse, ErrConcurrentChange).
func (c *Catalog) DropSource(ctx context.Context, name string) error {
	if _, err := c.Source(name); err != nil {
		return err
	}
	if ids := c.QueriesUsing(name); len(ids) > 0 {
		return ErrSourceInUse.Errorf("cannot drop %s: it is used by the queries %s; terminate them first", name, strings.Join(ids, ", "))
	}
	return c.drop(ctx, sourceKey(name))
}

// PutQuery records a persistent query that writes an existing source
// (INSERT INTO ... SELECT, or a replaced query whose sink stays). It
// depends on the query's sources, its target and deps.
func (c *Catalog) PutQuery(ctx context.Context, q *Query) error {
	return c.PutQueryDeps(ctx, q, Deps{})
}

// PutQueryDeps is PutQuery with more dependencies.
func (c *Catalog) PutQueryDeps(ctx context.Context, q *Query, deps Deps) error {
	return c.append(ctx, queryKey(q.ID), &command{Query: q, Reads: deps.reads(q)})
}

// DropQuery removes a persistent query.
func (c *Catalog) DropQuery(ctx context.Context, id string) error {
	if _, err := c.Query(id); err != nil {
		return err
	}
	return c.drop(ctx, queryKey(id))
}

// PutType records a custom type, replacing one of the same name.
func (c *Catalog) PutType(ctx context.Context, t *TypeAlias) error {
	return c.append(ctx, typeKey(t.Name), &command{Type: t})
}

// DropType removes a custom type. Sources and queries keep the types they
// were made with, so a drop does not wait for them; but a statement that
// used the type and reaches the topic after the drop is not applied.
func (c *Catalog) DropType(ctx context.Context, name string) error {
	if _, ok := c.Type(name); !ok {
		return ErrUnknownType.Errorf("Type %s does not exist.", name)
	}
	return c.drop(ctx, typeKey(name))
}

// Type returns the custom type called name.
func (c *Catalog) Type(name string) (types.Type, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.mu.types[name]
	if !ok {
		return types.Type{}, false
	}
	return t.Type, true
}

// Types returns every custom type, sorted by name.
func (c *Catalog) Types() []*TypeAlias {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*TypeAlias, 0, len(c.mu.types))
	for _, t := range c.mu.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Source returns the source called name.
func (c *Catalog) Source(name string) (*Source, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.mu.sources[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownSource, name)
	}
	return s, nil
}

// Sources returns all sources sorted by name.
func (c *Catalog) Sources() []*Source {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Source, 0, len(c.mu.sources))
	for _, s := range c.mu.sources {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Query returns the persistent query with id.
func (c *Catalog) Query(id string) (*Query, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	q, ok := c.mu.queries[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownQuery, id)
	}
	return q, nil
}

// Queries returns all persistent queries in creation order.
func (c *Catalog) Queries() []*Query {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Query, 0, len(c.mu.queries))
	for _, q := range c.mu.queries {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return querySeq(out[i].ID) < querySeq(out[j].ID) })
	return out
}

// QueriesUsing returns the ids of queries that read or write source, in
// creation order.
func (c *Catalog) QueriesUsing(source string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.queriesUsingLocked(source)
}

// queriesUsingLocked is QueriesUsing; the caller holds c.mu.
func (c *Catalog) queriesUsingLocked(source string) []string {
	var ids []string
	for _, q := range c.mu.queries {
		use := q.Sink == source
		for _, s := range q.Sources {
			use = use || s == source
		}
		if use {
			ids = append(ids, q.ID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return querySeq(ids[i]) < querySeq(ids[j]) })
	return ids
}

// querySeq extracts the trailing number of a query id for ordering.
func querySeq(id string) int64 {
	var n, mul int64 = 0, 1
	for i := len(id) - 1; i >= 0 && id[i] >= '0' && id[i] <= '9'; i-- {
		n += int64(id[i]-'0') * mul
		mul *= 10
	}
	return n
}
