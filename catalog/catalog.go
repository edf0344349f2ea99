package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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

// command is one record of the catalog topic. Exactly one field is set; a
// drop is a tombstone and carries no command.
//
// Base makes a command conditional (see applyRecord): it is the offset up
// to which its writer had applied the topic when it checked the command,
// and the command applies only if no command for its key came at or after
// that offset. Commands written before Base existed have none (0) and
// always apply.
type command struct {
	Source *Source    `json:"source,omitempty"`
	Query  *Query     `json:"query,omitempty"`
	Type   *TypeAlias `json:"type,omitempty"`
	Base   int64      `json:"base,omitempty"`
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
		// last is the offset of the last command applied for each key:
		// what a conditional command's Base is checked against. It holds
		// one entry per key of the topic.
		last map[string]int64
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

// applyRecord applies one catalog record to the in-memory state, and
// reports whether it applied: a conditional command (Base set) whose key
// changed at or after its Base is skipped, on every node and in every
// replay alike, since they all read the one topic in one order. That is
// how two nodes creating one name at once get one success: the first
// command in the topic applies, the second finds the first after its Base.
func (c *Catalog) applyRecord(rec log.Record) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := string(rec.Key)
	if key == markerKey {
		return true, nil
	}
	if rec.Value == nil {
		switch {
		case len(key) > 7 && key[:7] == "source/":
			delete(c.mu.sources, key[7:])
		case len(key) > 6 && key[:6] == "query/":
			delete(c.mu.queries, key[6:])
		case len(key) > 5 && key[:5] == "type/":
			delete(c.mu.types, key[5:])
		}
		c.mu.last[key] = rec.Offset
		return true, nil
	}
	var cmd command
	if err := json.Unmarshal(rec.Value, &cmd); err != nil {
		return false, fmt.Errorf("decode command %q: %w", key, err)
	}
	if last, ok := c.mu.last[key]; ok && cmd.Base > 0 && last >= cmd.Base {
		return false, nil
	}
	switch {
	case cmd.Source != nil:
		c.mu.sources[cmd.Source.Name] = cmd.Source
	case cmd.Query != nil:
		c.mu.queries[cmd.Query.ID] = cmd.Query
	case cmd.Type != nil:
		c.mu.types[cmd.Type.Name] = cmd.Type
	default:
		return false, fmt.Errorf("empty command %q", key)
	}
	c.mu.last[key] = rec.Offset
	return true, nil
}

// append writes one command, conditional on the state this node has
// applied, and applies it after every command other nodes wrote before
// it. It fails with ErrConcurrentChange if one of those changed the same
// key first.
func (c *Catalog) append(ctx context.Context, key string, cmd *command) error {
	c.catchUp.Lock()
	defer c.catchUp.Unlock()
	rec := log.Record{Key: []byte(key), Partition: 0, Timestamp: log.NoTimestamp}
	if cmd != nil {
		cmd.Base = c.NextSequence()
		b, err := json.Marshal(cmd)
		if err != nil {
			return fmt.Errorf("encode command %q: %w", key, err)
		}
		rec.Value = b
	}
	out, err := c.log.Append(ctx, Topic, []log.Record{rec})
	if err != nil {
		return fmt.Errorf("append catalog command %q: %w", key, err)
	}
	applied, err := c.readThroughLocked(ctx, out[0])
	if err != nil {
		return err
	}
	if !applied {
		what := strings.TrimPrefix(strings.TrimPrefix(key, "source/"), "query/")
		return ErrConcurrentChange.Errorf("%s was created or changed by another node at the same time, and that change came first", what)
	}
	return nil
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
// this node just appended, and reports whether own applied. Commands from
// other nodes between what this node had read and own come first, as the
// topic orders them. The caller holds c.catchUp.
func (c *Catalog) readThroughLocked(ctx context.Context, own log.Record) (bool, error) {
	if own.Offset == c.NextSequence() {
		// The common case, and always so on one node: nothing came
		// between, and own is applied as written, without a read.
		applied, err := c.applyRecord(own)
		if err == nil {
			c.setNext(own.Offset + 1)
		}
		return applied, err
	}
	r, err := c.log.NewReader(ctx, log.TopicPartition{Topic: Topic}, c.NextSequence())
	if err != nil {
		return false, fmt.Errorf("read catalog: %w", err)
	}
	defer r.Close()
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			return false, fmt.Errorf("read catalog: %w", err)
		}
		for _, rec := range recs {
			if rec.Offset == own.Offset {
				applied, err := c.applyRecord(rec)
				if err == nil {
					c.setNext(rec.Offset + 1)
				}
				return applied, err
			}
			if err := c.applyNextLocked(rec); err != nil {
				return false, err
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
	s.Seq = c.NextSequence()
	return c.append(ctx, sourceKey(s.Name), &command{Source: s})
}

// DropSource removes a source.
func (c *Catalog) DropSource(ctx context.Context, name string) error {
	if _, err := c.Source(name); err != nil {
		return err
	}
	return c.append(ctx, sourceKey(name), nil)
}

// PutQuery records a persistent query.
func (c *Catalog) PutQuery(ctx context.Context, q *Query) error {
	return c.append(ctx, queryKey(q.ID), &command{Query: q})
}

// DropQuery removes a persistent query.
func (c *Catalog) DropQuery(ctx context.Context, id string) error {
	if _, err := c.Query(id); err != nil {
		return err
	}
	return c.append(ctx, queryKey(id), nil)
}

// PutType records a custom type, replacing one of the same name.
func (c *Catalog) PutType(ctx context.Context, t *TypeAlias) error {
	return c.append(ctx, typeKey(t.Name), &command{Type: t})
}

// DropType removes a custom type.
func (c *Catalog) DropType(ctx context.Context, name string) error {
	if _, ok := c.Type(name); !ok {
		return ErrUnknownType.Errorf("Type %s does not exist.", name)
	}
	return c.append(ctx, typeKey(name), nil)
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

// QueriesUsing returns the ids of queries that read or write source.
func (c *Catalog) QueriesUsing(source string) []string {
	var ids []string
	for _, q := range c.Queries() {
		use := q.Sink == source
		for _, s := range q.Sources {
			use = use || s == source
		}
		if use {
			ids = append(ids, q.ID)
		}
	}
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
