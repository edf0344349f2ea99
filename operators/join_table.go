package operators

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Table-table joins. Both inputs are tables: every change on either side
// (an upsert or a tombstone) recomputes the result rows it affects, and
// each result row is upserted while the join yields it and deleted once
// it does not. The joined row is laid out as for every join (join.go):
//
//	left row, right row (NULLs for an absent side), the join key, ROWTIME
//
// The operators compute result rows; a TableJoinOutput decides what a
// change means downstream: a sink's upsert or tombstone (TableJoinSink),
// or an aggregation's retraction and addition (TableJoinGroups).
//
// A task's store holds, under one-byte prefixes:
//
//	'l' key          the left table's latest row of each key
//	'r' key          the right table's latest row of each key
//	'i' fk key       (foreign-key joins) the left keys whose foreign key is fk
//	'o' key          (TableJoinSink) the sink key of each result row written
//	'g' key          (TableJoinGroups) the group input each result row added
//
// A row is stored as its ROWTIME (8 bytes), the byte tableRowFlag and the
// decoded row in join_row.go's binary form, every column of it: joining
// it again decodes no JSON. Stores written by earlier versions hold the
// record it came from instead: its ROWTIME, offset (8), partition (4) and
// value bytes, decoded again when it is joined. Both are read (a record's
// offset is never negative, so the old format's ninth byte is below
// 0x80), and a row written again is written in the new one.

// State key prefixes of table joins.
const (
	leftRowPrefix  = 'l'
	rightRowPrefix = 'r'
	fkIndexPrefix  = 'i'
	sinkKeyPrefix  = 'o'
	groupPrefix    = 'g'
)

// TableJoinOutput receives a change of a table join's result. key names
// the result row: bytes that are the same for every change of that row
// and differ between rows (the left table's record key). row is the
// joined row, or nil when the join yields no row for key any more (or
// yields none yet: the output tells whether one was written). ts is the
// change's time, also the joined row's ROWTIME. row is valid during the
// call only: the join writes the next joined row into its memory (its
// values may be kept; Pipeline.Apply's output row is a new one).
type TableJoinOutput func(key []byte, row types.Row, ts int64, emit Emit) error

// TableSide describes one table input of a table join. It is immutable
// and shared by the query's tasks.
type TableSide struct {
	// Decoder decodes the table's records into its rows: a source's
	// Decoder, or, for the left side of a later join of a chain of tables,
	// the rows of the join below as its internal topic holds them.
	Decoder RowDecoder
	// Width is the number of values in a decoded row.
	Width int
	// TimeIndex is ROWTIME's index in a decoded row.
	TimeIndex int
	// Keys are the join key over the table's row, one per key equality in
	// the order the ON condition writes them: for a primary-key join the
	// table's key columns, for the left side of a foreign-key join the
	// foreign key.
	Keys []expr.Expr
	// Filter is a condition over the joined row that reads only this
	// side's columns and that every row the query keeps must pass: the
	// AND of the terms of the WHERE above the join that read this side
	// alone, evaluated again above. A row for which it is FALSE or NULL
	// can make no row the query keeps, so for the join it is a delete
	// of its key: it is not stored, and a row of that key that passed
	// before retracts the results it made, as the WHERE would have. A
	// row for which it fails to evaluate is kept, for the WHERE above to
	// report. In Nexmark's q3 four auctions in five and half the people
	// are neither stored nor joined. Only a side whose rows appear in
	// every result row they make has one (build/join_filter.go).
	// Default: nil, none.
	Filter expr.Expr
	// Stored lists, in ascending order, the columns of the table's rows
	// the join's state keeps: those the query over the join reads, the
	// rest of the ON condition, the join key and ROWTIME
	// (build/join_table.go, storeOnly). The others are NULL when a
	// stored row is read again; a stored row names its columns, so rows
	// stored with every column (before, or under another plan) read the
	// same. In Nexmark's q7 a bid's wide extra column was most of each
	// left row's entry, written once and rewritten by every compaction
	// that moved it. Default: nil, every column.
	Stored []int
}

// tablePair is what both table joins share: how two rows (either may be
// absent) make a joined row.
type tablePair struct {
	left, right *TableSide
	// keepLeft keeps a left row that has no match (LEFT, FULL); keepRight
	// a right row (RIGHT, FULL).
	keepLeft, keepRight bool
	// extra is the rest of the ON condition over the left row followed by
	// the right row; nil when there is none.
	extra expr.Expr
	// buf is the memory of the joined row join returns: a foreign-key
	// join's right change joins many left rows, one after the other,
	// each handed to the output and dropped before the next.
	buf types.Row
	// filterBuf is the memory of the row a right row's Filter is
	// evaluated over.
	filterBuf types.Row
}

// filtered reports whether row, a row of the right side if right is set
// (else of the left), fails its side's Filter: FALSE or NULL over the
// joined row's layout, the other side's columns NULL (the filter reads
// none of them). An error keeps the row, for the WHERE above to report.
func (p *tablePair) filtered(right bool, row types.Row) bool {
	side := p.left
	if right {
		side = p.right
	}
	if side.Filter == nil || row == nil {
		return false
	}
	if right {
		p.filterBuf = append(appendNulls(p.filterBuf[:0], p.left.Width), row...)
		row = p.filterBuf
	}
	v, err := side.Filter.Eval(row)
	return err == nil && (v.IsNull() || !v.Bool())
}

// join returns the joined row of l and r at time ts, or nil when the join
// yields none. A pair matches when both rows exist and pass the rest of
// the ON condition; otherwise a kept side stands alone with NULLs for the
// other. The key columns hold the join key of the left row when it is in
// the result, else the right row's. The row is valid until the next call
// (p.buf).
func (p *tablePair) join(l, r types.Row, ts int64) (types.Row, error) {
	lw, rw := p.left.Width, p.right.Width
	width := lw + rw + max(len(p.left.Keys), len(p.right.Keys)) + 1
	if cap(p.buf) < width {
		p.buf = make(types.Row, 0, width)
	}
	row := p.buf[:0]
	matched := l != nil && r != nil
	if matched {
		row = append(append(row, l...), r...)
		if p.extra != nil {
			v, err := p.extra.Eval(row)
			if err != nil {
				return nil, err
			}
			matched = !v.IsNull() && v.Bool()
		}
	}
	switch {
	case matched:
	case l != nil && p.keepLeft:
		row, r = appendNulls(append(row[:0], l...), rw), nil
	case r != nil && p.keepRight:
		row, l = append(appendNulls(row[:0], lw), r...), nil
	default:
		return nil, nil
	}
	keys, src := p.left.Keys, l
	if l == nil {
		keys, src = p.right.Keys, r
	}
	for _, e := range keys {
		v, err := e.Eval(src)
		if err != nil {
			return nil, err
		}
		row = append(row, v)
	}
	row = append(row, types.NewBigint(ts))
	p.buf = row[:0]
	return row, nil
}

func appendNulls(row types.Row, n int) types.Row {
	for range n {
		row = append(row, types.NullValue)
	}
	return row
}

// tableRowFlag is the ninth byte of a stored row in the binary format;
// in the format before it, that byte starts the record's offset, which is
// never negative.
const tableRowFlag = 0x80

// storedRow is a table row, of ROWTIME ts, as a join's state keeps it:
// the columns keep (ascending; nil: every one).
func storedRow(row types.Row, ts int64, keep []int) []byte {
	return appendStoredRow(make([]byte, 0, 9+16*len(row)), row, ts, keep)
}

// appendStoredRow appends storedRow(row, ts, keep) to dst.
func appendStoredRow(dst []byte, row types.Row, ts int64, keep []int) []byte {
	return appendStoredRowAt(dst, row, ts, keep, -1)
}

// appendStoredRowAt is appendStoredRow of a table join's side whose
// ROWTIME is column time: a narrowed row (keep) leaves that column out
// when it is the BIGINT ts, which the entry's first 8 bytes hold, and
// decodeStoredInto given time puts it back. Nexmark's q5 and q7 wrote
// the same 8 bytes twice in every row's entry, a twentieth of q7's
// bids' entries (their extra is most of the rest) and a sixth of q5's
// counts', each written once and rewritten by compactions.
func appendStoredRowAt(dst []byte, row types.Row, ts int64, keep []int, time int) []byte {
	dst = appendBE64(dst, uint64(ts))
	if keep == nil || time < 0 || time >= len(row) || row[time].Kind() != types.KindBigint || row[time].Int() != ts {
		time = -1
	}
	return appendJoinRowExcept(append(dst, tableRowFlag), row, keep, time)
}

// storedTableRow is storedRow of a row of side (appendStoredRowAt).
func storedTableRow(side *TableSide, row types.Row, ts int64) []byte {
	return appendStoredRowAt(make([]byte, 0, 9+16*len(row)), row, ts, side.Stored, side.TimeIndex)
}

// errCorruptState is a stored value too short to be what the join wrote.
var errCorruptState = errors.New("operators: corrupt table join state")

// decodeStored decodes a stored row of a table whose record key is key,
// of width columns.
func decodeStored(dec RowDecoder, width int, key, v []byte) (types.Row, error) {
	return decodeStoredInto(nil, dec, width, -1, key, v)
}

// decodeStoredInto is decodeStored into dst's memory when it has room
// (a row of the binary format), of a side whose ROWTIME is column time
// (-1: unknown), which a row of the binary format may leave out
// (appendStoredRowAt).
func decodeStoredInto(dst types.Row, dec RowDecoder, width, time int, key, v []byte) (types.Row, error) {
	if len(v) > 8 && v[8] == tableRowFlag {
		return decodeJoinRowTime(dst, v[9:], width, time, int64(be64(v)))
	}
	return decodeStoredRecord(dec, key, v)
}

// decodeStoredRecord decodes a row stored by an earlier version: the
// record it came from. The record's timestamp is the row's ROWTIME, so
// that a row whose event time is a column decodes to the same ROWTIME it
// was stored with.
func decodeStoredRecord(dec RowDecoder, key, v []byte) (types.Row, error) {
	if len(v) < 20 {
		return nil, errCorruptState
	}
	rec := log.Record{Key: key, Value: v[20:], Timestamp: int64(be64(v)), Offset: int64(be64(v[8:])), Partition: int32(be32(v[16:]))}
	row, ok, err := dec.Decode(&rec)
	if err != nil {
		return nil, fmt.Errorf("decode a stored row: %w", err)
	}
	if !ok {
		return nil, errCorruptState
	}
	return row, nil
}

// lookupRow reads the stored row under sk, whose record key is key; nil
// when there is none.
func lookupRow(st state.Store, side *TableSide, sk, key []byte) (types.Row, error) {
	return lookupRowInto(nil, st, side, sk, key)
}

// lookupRowInto is lookupRow into dst's memory when it has room
// (decodeStoredInto).
func lookupRowInto(dst types.Row, st state.Store, side *TableSide, sk, key []byte) (types.Row, error) {
	v, ok, err := storeView(st, sk)
	if err != nil || !ok {
		return nil, err
	}
	return decodeStoredInto(dst, side.Decoder, side.Width, side.TimeIndex, key, v)
}

// decodeChange decodes a table record: its row (nil for a tombstone) and
// its time (ROWTIME for a row; a tombstone has only its record's).
func decodeChange(side *TableSide, rec *log.Record) (types.Row, int64, error) {
	if rec.Value == nil {
		return nil, rec.Timestamp, nil
	}
	row, ok, err := side.Decoder.Decode(rec)
	if err != nil || !ok {
		return nil, 0, err
	}
	return row, row[side.TimeIndex].Int(), nil
}

func prefixed(p byte, key []byte) []byte {
	return append(append(make([]byte, 0, 1+len(key)), p), key...)
}

// TableTableSpec describes a table-table join on the primary key. It is
// immutable and shared by the query's tasks.
//
// The two tables serialize their keys alike (the builder refuses them
// otherwise: tables are partitioned by their key bytes and are never
// repartitioned), so a key's rows have the same record key on both sides
// and are found by it.
type TableTableSpec struct {
	Left, Right TableSide
	// KeepLeft keeps left rows without a match (LEFT, FULL OUTER);
	// KeepRight keeps right rows (RIGHT, FULL OUTER).
	KeepLeft, KeepRight bool
	// Extra is the rest of the ON condition, over the left row followed by
	// the right row; nil when there is none. A pair that fails it does
	// not match.
	Extra expr.Expr
}

// TableTableJoin is the processor of a primary-key table-table join:
// partition p of both tables, merged in event-time order (left first on
// ties), or in a transient query every partition of both. Each record
// replaces (or deletes) its side's row of its key, then the key's result
// is recomputed from the two rows as they stand and handed to Output:
//
//	INNER  both rows, matching
//	LEFT   the left row, with the right one if it matches, else NULLs
//	RIGHT  the right row, with the left one if it matches, else NULLs
//	FULL   either, with the other if they match
//
// and nil when the join yields no row. The change's ROWTIME is the larger
// of the record's (a tombstone's own timestamp) and the other side's
// current row's.
type TableTableJoin struct {
	Spec  *TableTableSpec
	Store state.Store
	// RightFrom splits the task's inputs: those below it are the left
	// table's partitions, the others the right table's.
	RightFrom int
	Output    TableJoinOutput
	pair      *tablePair
}

var (
	_ InputProcessor = (*TableTableJoin)(nil)
	_ Recoverable    = (*TableTableJoin)(nil)
)

// Recover implements Recoverable: a store that remembers what it read
// (TableJoinStore) forgets it.
func (j *TableTableJoin) Recover() { recoverStore(j.Store) }

// recoverStore recovers st when it keeps anything in memory.
func recoverStore(st state.Store) {
	if r, ok := st.(Recoverable); ok {
		r.Recover()
	}
}

// Process implements Processor; a join's records always come with their
// input (ProcessInput).
func (j *TableTableJoin) Process(*log.Record, Emit) error {
	return errors.New("operators: a join's records need their input")
}

// Flush implements Processor: the store's changes are written back,
// for the task's commit.
func (j *TableTableJoin) Flush(Emit) error { return flushStore(j.Store) }

// ProcessInput implements InputProcessor.
func (j *TableTableJoin) ProcessInput(input int, rec *log.Record, emit Emit) error {
	if len(rec.Key) == 0 {
		// A row without a key cannot be joined, nor can its result be
		// keyed.
		return nil
	}
	s := j.Spec
	if j.pair == nil {
		j.pair = &tablePair{left: &s.Left, right: &s.Right, keepLeft: s.KeepLeft, keepRight: s.KeepRight, extra: s.Extra}
	}
	own, other := &s.Left, &s.Right
	ownPrefix, otherPrefix := byte(leftRowPrefix), byte(rightRowPrefix)
	if input >= j.RightFrom {
		own, other = other, own
		ownPrefix, otherPrefix = otherPrefix, ownPrefix
	}
	row, ts, err := decodeChange(own, rec)
	if err != nil {
		// A row that cannot be read is refused (and reported), leaving
		// the key's previous row.
		return err
	}
	if j.pair.filtered(input >= j.RightFrom, row) {
		// A delete of the key for the join, at the row's time: a result
		// it ends needed the other side's row, which is stored, so the
		// change's time is the one the WHERE would have ended it at.
		row = nil
	}
	sk := prefixed(ownPrefix, rec.Key)
	if row == nil {
		err = j.Store.Delete(sk)
	} else {
		err = storePutOwned(j.Store, sk, storedTableRow(own, row, ts))
	}
	if err != nil {
		return err
	}
	sk[0] = otherPrefix
	orow, err := lookupRow(j.Store, other, sk, rec.Key)
	if err != nil {
		return err
	}
	if orow != nil {
		ts = max(ts, orow[other.TimeIndex].Int())
	}
	l, r := row, orow
	if input >= j.RightFrom {
		l, r = r, l
	}
	joined, err := j.pair.join(l, r, ts)
	if err != nil {
		return err
	}
	return j.Output(rec.Key, joined, ts, emit)
}

// TableJoinSink writes a table join's changes to its sink table: an
// upsert for each row the join yields and passes the query's WHERE, a
// tombstone when a row written before is no longer yielded (or stops
// passing WHERE). It remembers, in the task's store, the sink key of each
// row it wrote, so that it deletes only rows that exist (a tombstone for a
// key never written is not sent) and knows the key of a row to delete
// without recomputing it.
type TableJoinSink struct {
	// Pipeline filters (WHERE) and projects joined rows into the sink's
	// columns.
	Pipeline *Pipeline
	// Encoder encodes the sink's rows; each task has its own.
	Encoder *Encoder
	Topic   string
	// Store is the join task's store.
	Store state.Store
	// mk is the memory of the sink key's state key, built for each
	// change: the store copies the keys it keeps.
	mk []byte
}

// Emit is a table join's Output.
func (s *TableJoinSink) Emit(key []byte, row types.Row, ts int64, emit Emit) error {
	s.mk = append(append(s.mk[:0], sinkKeyPrefix), key...)
	mk := s.mk
	if row != nil {
		out, _, ok, err := s.Pipeline.Apply(row)
		if err != nil {
			return err
		}
		if ok {
			rec, err := s.Encoder.Encode(out, ts)
			if err != nil {
				return err
			}
			// The sink key is the result row's own (the planner keys a
			// table join's result by plain references to its key
			// columns), so it is remembered once.
			_, had, err := storeView(s.Store, mk)
			if err != nil {
				return err
			}
			if !had {
				if err := s.Store.Put(mk, rec.Key); err != nil {
					return err
				}
			}
			emit(log.ProduceRecord{Topic: s.Topic, Record: rec})
			return nil
		}
	}
	prev, had, err := storeView(s.Store, mk)
	if err != nil || !had {
		return err
	}
	if err := s.Store.Delete(mk); err != nil {
		return err
	}
	emit(log.ProduceRecord{Topic: s.Topic, Record: log.Record{Key: prev, Timestamp: ts, Partition: -1}})
	return nil
}

// TableJoinGroups feeds a table join's changes to an aggregation: each
// result row's group input is sent to the aggregation's repartition
// topic, keyed by its group, and the one sent before for that row is
// retracted first (in the same record when the group is the same), as an
// aggregation over a table retracts each replaced or deleted row
// (Repartition over a table, GroupCodec.TableChange). The input each row last
// added is kept in the task's store.
type TableJoinGroups struct {
	// Grouper computes a joined row's group input (WHERE, GROUP BY, the
	// aggregate calls' arguments).
	Grouper *Grouper
	Topic   string
	// Store is the join task's store.
	Store state.Store
}

// Emit is a table join's Output.
func (g *TableJoinGroups) Emit(key []byte, row types.Row, ts int64, emit Emit) error {
	var next *GroupInput
	if row != nil {
		in, ok, err := g.Grouper.Group(row)
		if err != nil {
			return err
		}
		if ok {
			next = &in
		}
	}
	gk := prefixed(groupPrefix, key)
	prev, had, err := g.Store.Get(gk)
	if err != nil {
		return err
	}
	var out *log.Record
	if next != nil {
		rec, err := g.Grouper.Codec.Encode(next)
		if err != nil {
			return err
		}
		out = &rec
	}
	if err := g.Grouper.Codec.TableChange(prev, had, out, ts, func(rec log.Record) {
		emit(log.ProduceRecord{Topic: g.Topic, Record: rec})
	}); err != nil {
		return fmt.Errorf("the previous group input: %w", err)
	}
	if out == nil {
		if had {
			return g.Store.Delete(gk)
		}
		return nil
	}
	return g.Store.Put(gk, joinPrev(out.Key, out.Value, out.Timestamp))
}

// TableJoinLink hands a table join's changes on to the next join of a
// chain of tables, as the changelog of the table so far: an upsert of each
// row the join yields, keyed by the next join's key, and a tombstone for a
// row it wrote before and yields no longer. Like TableJoinSink it
// remembers, in the join task's store, the key it wrote each row under,
// so that it deletes only rows the next join has (a row that never
// matched sends no tombstone) and knows the key of a row to delete.
type TableJoinLink struct {
	// Key encodes a joined row's key for the next join; nil (with no
	// error) for a NULL key, a row the next join cannot meet.
	Key func(row types.Row) ([]byte, error)
	// Value encodes a joined row as the next join reads it.
	Value func(row types.Row) ([]byte, error)
	// Store is the join task's store.
	Store state.Store
	// Send delivers a record (its Value nil for a tombstone): to the
	// internal topic, or straight to the next join in a transient query.
	Send func(rec log.Record, emit Emit) error
}

// Emit is a table join's Output.
func (l *TableJoinLink) Emit(key []byte, row types.Row, ts int64, emit Emit) error {
	mk := prefixed(sinkKeyPrefix, key)
	prev, had, err := l.Store.Get(mk)
	if err != nil {
		return err
	}
	var next []byte
	if row != nil {
		if next, err = l.Key(row); err != nil {
			return err
		}
	}
	if had && !bytes.Equal(prev, next) {
		// The row is gone, or (which a chain's keys do not do: the key
		// of the table so far is its join key) moved to another key.
		prev = bytes.Clone(prev)
		if err := l.Store.Delete(mk); err != nil {
			return err
		}
		if err := l.Send(log.Record{Key: prev, Timestamp: ts}, emit); err != nil {
			return err
		}
		had = false
	}
	if next == nil {
		return nil
	}
	v, err := l.Value(row)
	if err != nil {
		return err
	}
	if !had {
		if err := l.Store.Put(mk, next); err != nil {
			return err
		}
	}
	return l.Send(log.Record{Key: next, Value: v, Timestamp: ts}, emit)
}
