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

// Topic is the topic holding the catalog's commands. It is created
// compacted, as it always was, but compaction removes none of the
// commands written now: each is a record under a key of its own (see
// command), so the topic keeps every command, as ksqlDB's command topic
// does (its policy is delete, with infinite retention).
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

// claimKey is the key of the record ClaimSequence appends.
const claimKey = "marker/claim"

// markerPrefix starts the keys of records that carry no command: replay
// skips them, and compaction keeps only the latest of each key.
const markerPrefix = "marker/"

// commandPrefix starts the key of a command written by this version:
// commandPrefix, the writer's id (see Catalog.recordKey), "/", and the
// key of the object the command is about ("source/NAME", "query/ID",
// "type/NAME"), which older versions used as the whole key.
const commandPrefix = "cmd/"

// command is one record of the catalog topic: one of Source, Query, Type
// or Drop, about one object (its key: sourceKey, queryKey, typeKey). A
// CREATE ... AS SELECT writes its query and its sink as one command about
// the query, so that no node ever applies one without the other, and
// then its sink again as a command of its own (see PutSinkQuery).
//
// Base makes a command conditional (see applyRecord): it is the offset up
// to which its writer had applied the topic when it checked the command.
// The command applies only if, at or after Base, no command was applied
// that wrote a key it writes (its own, and its sink's when it carries
// one) or a key it Reads; and, for a drop of a stream or table, none that
// read the dropped key while a query still uses it. Every node, in every
// replay, reads the one topic in one order and so decides alike.
//
// That holds only while every record a decision read is still there, so
// each command is written under a record key of its own (recordKey), not
// under its object's key, and a drop is a value (Drop), not a tombstone:
// compaction removes a record only when a later one has its key, or a
// tombstone, so it removes no command at all. Under the object's key, a
// command that lost would be that key's latest record, and compaction
// would remove the command that won; a replay would then find nothing
// against the loser and apply it. (A node used to write the winner's
// state again after losing, which a crash in between left undone.) What
// decides whether a command won is now always in the topic, and every
// replay decides as the running nodes did. The cost is ksqlDB's: the
// topic, and a replay, grow with every command ever written.
//
// Records written by older versions are read as they were written:
// under the object's key, a drop as a tombstone (its Base in a header,
// baseHeader, or none before drops were conditional); commands without
// Base (0) always apply, and those without Reads replay as they always
// did. No new command shares a key with them, so compaction removes no
// old record that it would not have removed before either.
type command struct {
	Source *Source    `json:"source,omitempty"`
	Query  *Query     `json:"query,omitempty"`
	Type   *TypeAlias `json:"type,omitempty"`
	// Drop removes the key's object. Older versions wrote it as a
	// tombstone under the object's key.
	Drop bool `json:"drop,omitempty"`
	// Reads are the keys of the objects the command was checked against
	// and depends on: a query's sources (and, for INSERT INTO, its
	// target), the custom types a statement used.
	Reads []string `json:"reads,omitempty"`
	Base  int64    `json:"base,omitempty"`
}

// baseHeader carried a drop's Base on its tombstone, in the records of
// older versions.
const baseHeader = "runnel-base"

// record encodes cmd as the catalog record of key recKey (recordKey).
func (cmd *command) record(recKey string) (log.Record, error) {
	rec := log.Record{Key: []byte(recKey), Partition: 0, Timestamp: log.NoTimestamp}
	b, err := json.Marshal(cmd)
	if err != nil {
		return rec, fmt.Errorf("encode command %q: %w", recKey, err)
	}
	rec.Value = b
	return rec, nil
}

// objectKey returns the key of the object a record's command is about:
// the part after a new record's prefix and writer id, or an old record's
// whole key.
func objectKey(recKey string) string {
	rest, ok := strings.CutPrefix(recKey, commandPrefix)
	if !ok {
		return recKey
	}
	if _, key, ok := strings.Cut(rest, "/"); ok {
		return key
	}
	return recKey
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
		// object key: what a conditional command's Base is checked
		// against. It holds one entry per object the topic's commands
		// name, dropped ones included: as the topic keeps every
		// command, at most one per command.
		last map[string]int64
		// lastRead is the offset of the last command applied that read
		// each key (listed it in Reads): a drop of a stream or table is
		// refused if one came at or after its Base. Reads are kept apart
		// from writes so that two queries reading one stream do not
		// conflict. One entry per object key read.
		lastRead map[string]int64
	}
	// catchUp serializes reading the topic forward (CatchUp and append),
	// so that every command is applied once and in the topic's order. It
	// is taken before mu and never while holding it. It also guards
	// written.
	catchUp sync.Mutex
	// instance is the offset of the replay marker this catalog appended
	// when it opened: no other catalog opened on the topic has it, so it
	// names this one's commands (recordKey). Set by Open, then read-only.
	instance int64
	// written counts the commands this catalog appended: with instance,
	// it makes each one's record key unique. Guarded by catchUp.
	written int64
}

// recordKey returns the record key of this catalog's next command about
// the object of key: commandPrefix, "instance.n", "/", key. No record of
// the topic, from any catalog, ever had it, so compaction removes no
// command (see command). The caller holds c.catchUp.
func (c *Catalog) recordKey(key string) string {
	c.written++
	return commandPrefix + strconv.FormatInt(c.instance, 10) + "." + strconv.FormatInt(c.written, 10) + "/" + key
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
	c.instance = mark
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
	if strings.HasPrefix(string(rec.Key), markerPrefix) {
		return nil, nil
	}
	key := objectKey(string(rec.Key))
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
	rec, err := cmd.record(c.recordKey(key))
	if err != nil {
		return 0, err
	}
	out, err := c.log.Append(ctx, Topic, []log.Record{rec})
	if err != nil {
		return 0, fmt.Errorf("append catalog command %q: %w", key, err)
	}
	// A command that lost stays in the topic, skipped by every replay:
	// nothing needs writing after it (see command).
	return out[0].Offset, c.readThroughLocked(ctx, out[0])
}

// drop removes key's object with a conditional drop.
func (c *Catalog) drop(ctx context.Context, key string) error {
	return c.append(ctx, key, &command{Drop: true})
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

// ClaimSequence appends a record that carries no command and returns its
// offset: a number that no other call, on this catalog or on any other
// opened on the topic, ever returns. Two nodes that name a new query by
// NextSequence at the same catalog position give it the same id, and
// the one whose command then loses has already written under that id
// (its consumer group's start offsets); a node of a cluster names its
// queries by a claimed number instead. The record changes nothing a
// replay applies (markerPrefix), and compaction keeps only the latest
// claim. NextSequence does not move: commands that other nodes wrote
// before the claim are still to be read.
func (c *Catalog) ClaimSequence(ctx context.Context) (int64, error) {
	out, err := c.log.Append(ctx, Topic, []log.Record{{Key: []byte(claimKey), Value: []byte("{}"), Partition: 0, Timestamp: log.NoTimestamp}})
	if err != nil {
		return 0, fmt.Errorf("claim a catalog sequence: %w", err)
	}
	return out[0].Offset, nil
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
// (setting its Seq) in one command about the query, so that every node
// applies both or neither; it depends on the query's sources and on
// deps. Once that applied, the sink is written again as a command about
// itself. Older versions needed that second command: their TERMINATE was
// a tombstone under the query's key, which compaction removed together
// with the command that carried the sink. A TERMINATE now removes no
// record, but the second command stays, so that statements write as many
// commands as before and query ids (numbered by NextSequence) are
// numbered as before. From the statement's point of view it cannot fail:
// if another node changed the sink first, that change stands.
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
