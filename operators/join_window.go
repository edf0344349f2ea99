package operators

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Stream-stream joins. Both inputs are streams; a record of either side
// meets the records of the other side, of the same join key, whose times
// fall in its window, and stays in the join state until its own window has
// closed. The semantics are the specification's (tests/suites/joins,
// README "Stream ⋈ stream"):
//
//   - Left record l and right record r match iff
//     l.ROWTIME - Before <= r.ROWTIME <= l.ROWTIME + After, both bounds
//     inclusive, for every join type (a RIGHT join does not mirror the
//     window).
//   - The stream time is the largest ROWTIME the task has taken from
//     either input. A left record's window closes when the stream time
//     passes ROWTIME + After + Grace, a right record's when it passes
//     ROWTIME + Before + Grace (strictly: at equality it is still open).
//   - A record whose own window has closed when it arrives is late: it is
//     dropped (not joined, stored or emitted) and counted.
//   - When a record advances the stream time, the records whose windows
//     that closes leave the state first, in ROWTIME order (left before
//     right on ties): an outer side's record that never matched is emitted
//     then, once, with NULLs for the other side and its own ROWTIME. Then
//     the record's own pairs are emitted, in the other side's ROWTIME
//     order, each at the larger ROWTIME of the two.
//   - A record never joins a record that has left the state, so no pair
//     follows an unmatched row of the same record.
//   - A record whose join key is NULL can never match: an outer side
//     emits it at once as unmatched (KIP-962), an inner side drops it. A
//     record with a null value is ignored and does not move stream time.
//
// The state lives in the task's store: a record is found by scanning its
// key's records in its window's time range. An outer side's closed
// windows are found by scanning a time index, in ROWTIME order, since
// their unmatched records come out then; an inner side's records have no
// time index entry, and leave with a sweep of the side's records
// (sweepSteps), while a scan skips those whose windows have closed. A
// bounded index of the most recent records (windowIndex,
// join_window_store.go) mirrors the store in memory and answers the
// scans whose whole range it holds. Keys:
//
//	'r' side | uvarint(len(k)) | k | time | partition | offset -> record
//	'e' side | time | partition | offset                     -> k (outer sides)
//	's'                                                       -> stream time
//
// where side is 0 (left) or 1 (right), k is the join key serialized by the
// spec's Key format, time is the record's ROWTIME (8 bytes big-endian, its
// sign bit flipped so that byte order is time order), partition (4) and
// offset (8) its place in its input, which make the entry unique and order
// records of equal ROWTIME by arrival. A record's value is a flags byte
// (bit 0: it has matched; bit 7: the row format) and its row: the
// columns of the decoded row that the query reads (StreamSide.Stored),
// in join_row.go's binary form, so that meeting a record decodes no JSON
// and the store holds no column nothing reads.
//
// A value without bit 7 is the format before it, which stores written by
// earlier versions hold: the record's timestamp (8), its key
// (uvarint(len+1), 0 for none) and its value bytes, decoded again each
// time it meets a record. Both are read, so a query restarted over an old
// store (or restoring an old changelog) goes on; the old records leave as
// their windows close, and every record stored from then on is a row.
// Likewise an inner side's records stored with a time index entry, as
// every record was before the sweeps, leave through it.

// StreamSide describes one input of a stream-stream join.
type StreamSide struct {
	// Restore gives back a record as its stream wrote it — a repartitioned
	// record's own key, from its header (RestoreKey) — before it is
	// decoded or stored; nil when the side reads its stream's own topic.
	Restore func(*log.Record) log.Record
	// KeyBytes says that a record's key as it comes, before Restore, is
	// its join key serialized by the spec's Key, when it has one: a
	// repartition topic's record, keyed by KeyRepartition over the same
	// expressions in the same format. The join then takes those bytes
	// instead of serializing the key it computes again (2% of Nexmark
	// q8's CPU, whose two-column key is JSON). Only for keys that are a
	// function of the row (no RANDOM), so that both computations agree.
	KeyBytes bool
	// Decoder decodes the side's records into its rows: a source's
	// Decoder, or (the later joins of an n-way chain) the reader of the
	// rows the join before wrote.
	Decoder RowDecoder
	// Time is ROWTIME's index in the side's row.
	Time int
	// Keys compute the join key over the side's row: one expression per
	// key equality, in the order the ON condition writes them.
	Keys []expr.Expr
	// Stored lists, in ascending order, the columns of the side's row
	// that the state keeps of a record: those the query reads of the
	// joined row (its output, its WHERE, the rest of the ON condition),
	// the columns Keys read and Time. The others come back NULL when a
	// stored record meets another. nil (the default) keeps every column.
	Stored []int
	// Filter is a condition over the joined row that reads only this
	// side's columns and that every row the join's query keeps must pass
	// (an inner join's WHERE, evaluated again above the join). A record
	// for which it is false or NULL can make no row the query keeps: it
	// moves the stream time and closes windows as any record does, but
	// meets nothing and is not stored. A record for which it fails to
	// evaluate is kept, so that the WHERE above reports the failure on
	// each of its pairs as it did. In Nexmark's q20 (WHERE A.category =
	// 10) four auctions in five are not stored, and the bids of their
	// auctions meet nothing. Only an inner join's sides have one (an
	// outer side's record comes out unmatched whatever the WHERE says of
	// it); and only a join without Extra, whose failures a record that
	// meets nothing would no longer report. Default: nil, none.
	Filter expr.Expr
}

// RowDecoder decodes records into rows of a fixed width; *Decoder is one.
type RowDecoder interface {
	// Decode decodes rec into a new row; ok is false for a record the
	// join ignores (no value).
	Decode(rec *log.Record) (row types.Row, ok bool, err error)
	// Width is the number of values in a decoded row.
	Width() int
}

var _ RowDecoder = (*Decoder)(nil)

// StreamStreamSpec describes a stream-stream join. It is immutable and
// shared by the query's tasks.
type StreamStreamSpec struct {
	// Sides are the left (FROM) stream, then the right one.
	Sides [2]StreamSide
	// Before and After bound the window, in milliseconds, relative to the
	// left record (WITHIN n: both n).
	Before, After int64
	// Grace is how long, in milliseconds of stream time, a window stays
	// open after its end.
	Grace int64
	// Outer says which sides keep their unmatched records: the left for
	// LEFT and FULL joins, the right for RIGHT and FULL.
	Outer [2]bool
	// Key serializes a join key's values, in the order of the Keys, for
	// the state: two records match only if their keys serialize to the
	// same bytes.
	Key serde.KeyFormat
	// Extra is the rest of the ON condition, over the joined row; nil
	// when there is none. A pair that fails it does not match.
	Extra expr.Expr
}

// lookAhead is how far past a record's ROWTIME the other side's records
// can match it: After for a left record, Before for a right one.
func (s *StreamStreamSpec) lookAhead(side int) int64 {
	if side == 0 {
		return s.After
	}
	return s.Before
}

// StreamStreamJoin is the processor of a stream-stream join stage: its
// task reads partition p of the left input (Inputs[0]) and of the right
// one (Inputs[1]), merged in event-time order (ties to the left), and
// emits the joined rows, laid out as the planner's Join node lays them
// out, to Output. It is owned by its task's goroutine (or a push query's).
type StreamStreamJoin struct {
	Spec  *StreamStreamSpec
	Store state.Store
	// Output receives each joined or unmatched row.
	Output JoinOutput
	// Metrics count late records; nil counts nothing.
	Metrics *Metrics
	// IndexBytes bounds the memory of the index of the most recent
	// records that the join keeps beside its store, so that meeting the
	// other side reads memory instead of seeking the store
	// (join_window_store.go's windowIndex). 0 (the default) is
	// DefaultJoinIndexBytes, 32 MiB; negative keeps no index, for a
	// store that is in memory already (OrderedMemStore). With Memory,
	// it is the index's weight in the engine's budget.
	IndexBytes int
	// Memory is the account the index draws its share of the engine's
	// cache budget from (internal/membudget). Default: nil, a fixed
	// IndexBytes.
	Memory *membudget.Account
	// Sink, when set, is the sink whose Output is Output (the stage's
	// query writes the joined rows to a stream). The join then tells it
	// its commits, so that it reuses the bytes of its records from
	// commit to commit; and it decodes its records' strings as views of
	// their bytes, not copies, since the sink encodes every row it is
	// given at once and keeps none of its values (in Nexmark's q20 the
	// copies were 0.55 s of the stage's 5.4 CPU seconds). Default: nil,
	// an Output that may keep values (an aggregation's group key).
	Sink *JoinSink

	// loaded is set once the stream time has been read from the store;
	// now is the stream time (math.MinInt64 before any record), dirty
	// set when it moved since it was last written.
	loaded bool
	now    int64
	dirty  bool
	// index is the store's most recent records (nil: none kept, or not
	// built yet); indexed is set while it matches the store.
	index   *windowIndex
	indexed bool
	// ahead holds, per side, the first entries of the side's time index,
	// read ahead, so that a record that closes nothing — or one record —
	// costs no scan.
	ahead [2]lookahead
	// sweep is, per side, the pass that deletes the side's closed
	// records when they keep no time index entry (sweepStep).
	sweep [2]sweepPass
	// cursor is, per side, the first index key that may still exist:
	// every entry before it has been expired. Scans start there rather
	// than step over the deleted entries again. nil: the side's start.
	cursor [2][]byte
	// unsettled is set while a record is processed, and stays set when
	// its processing stops halfway (a store's error, a panic): what was
	// read ahead may then not match the store, and is read again.
	unsettled bool
	// rowErr is the first error of a row the current record produced (a
	// stored record that does not decode, a pair whose ON condition or
	// output fails): it does not stop the record's work, which would
	// leave windows half closed, and is reported for the record at its
	// end.
	rowErr error
	// restored is the record being processed as its side's Restore gives
	// it back, while it is processed.
	restored log.Record
	// Buffers reused between records.
	keyBuf      []byte
	valBuf      []byte
	recKeyBuf   []byte
	indexKeyBuf []byte
	scanBuf     [3][]byte // a match's scan: prefix, start, end
	rowBuf      types.Row
	// stored holds, per side, the last stored row decoded: a stored row
	// lives until it has been joined (joinedRow copies its values).
	stored [2]types.Row
	// rows holds, per side, the stored rows that matches decoded lately
	// (fillSlot).
	rows [2]storedRows
	// in holds, per side, the row of the record being processed (decode).
	in [2]types.Row
	// keys holds, per side, the join key of the record being processed.
	keys    [2]types.Row
	expired [2][]expiring
	// meet is the match under way; visit and visitIndex are its method
	// values (match), for the store's scan and the index's.
	meet       meeting
	visit      func(key, value []byte) bool
	visitIndex func(ts int64, place, value []byte) bool
	marks      []stateEntry
}

var (
	_ InputProcessor = (*StreamStreamJoin)(nil)
	_ Recoverable    = (*StreamStreamJoin)(nil)
)

// sweepPass walks a side's records deleting those whose windows have
// closed, for a side whose records have no time index entry.
type sweepPass struct {
	// active is set while a pass is under way; it deletes the records
	// with ROWTIME < below, and goes on from cursor (nil: the start).
	active bool
	below  int64
	cursor []byte
	// swept is the below of the last pass that finished: the side holds
	// no record under it that it did not take since (math.MinInt64: no
	// pass since the join started or recovered).
	swept int64
	// keys is reused for the keys a step deletes.
	keys [][]byte
}

// lookahead is the start of a side's time index, read ahead of the
// stream time: at most expireBatch entries.
type lookahead struct {
	// valid is set when entries are the index's first entries, in order
	// (those before them closed, if not yet deleted).
	valid   bool
	entries []expiring
	// complete is set when entries are the whole rest of the index;
	// otherwise next is where the index goes on.
	complete bool
	next     []byte
}

// invalidate forgets what was read ahead.
func (a *lookahead) invalidate() {
	a.valid, a.complete = false, false
	a.entries = a.entries[:0]
}

// expiring is an index entry whose window has closed.
type expiring struct {
	ts       int64
	indexKey []byte
	// recKey is the entry's record key.
	recKey []byte
}

// stateEntry is a pending write.
type stateEntry struct{ key, value []byte }

// expireBatch bounds how many closed index entries of a side are read at
// once: a stream time that jumps ahead closes windows in scans of this
// many, never all of them in memory.
const expireBatch = 256

// matchedFlag marks a stored record that has matched; rowFormatFlag one
// stored as a row (join_row.go) rather than as its record's bytes.
const (
	matchedFlag   = 1
	rowFormatFlag = 0x80
)

var streamStreamTimeKey = []byte{'s'}

// Process implements Processor; a join's records always come with their
// input (ProcessInput).
func (j *StreamStreamJoin) Process(*log.Record, Emit) error {
	return errors.New("operators: a join's records need their input")
}

// Flush implements Processor: it writes the stream time when it moved.
func (j *StreamStreamJoin) Flush(Emit) error {
	if j.Sink != nil {
		j.Sink.flushedBatch()
	}
	if !j.dirty {
		return nil
	}
	if err := j.Store.Put(streamStreamTimeKey, appendBE64(nil, uint64(j.now))); err != nil {
		return fmt.Errorf("store stream time: %w", err)
	}
	j.dirty = false
	return nil
}

// Recover implements Recoverable: what the processor knows of its store
// is read again, from its last commit.
func (j *StreamStreamJoin) Recover() {
	j.loaded, j.dirty, j.indexed = false, false, false
	if j.Sink != nil {
		j.Sink.forget()
	}
	for side := range 2 {
		j.ahead[side].invalidate()
		j.cursor[side] = nil
	}
}

// init reads the stream time on first use.
func (j *StreamStreamJoin) init() error {
	if j.loaded {
		return nil
	}
	j.now = math.MinInt64
	if j.Sink != nil {
		j.Sink.attach()
	}
	for side := range 2 {
		j.sweep[side] = sweepPass{swept: math.MinInt64, keys: j.sweep[side].keys}
	}
	v, ok, err := j.Store.Get(streamStreamTimeKey)
	if err != nil {
		return fmt.Errorf("load stream time: %w", err)
	}
	if ok && len(v) == 8 {
		j.now = int64(be64(v))
	}
	j.loaded = true
	return nil
}

// indexInit builds the index of recent records from the store, when the
// join keeps one and it is not up to date.
func (j *StreamStreamJoin) indexInit() error {
	if j.indexed || j.IndexBytes < 0 {
		return nil
	}
	if j.index == nil {
		budget := j.IndexBytes
		if budget == 0 {
			budget = DefaultJoinIndexBytes
		}
		j.index = newWindowIndex(budget)
		if j.Memory != nil {
			j.index.share = j.Memory.Share(budget)
		}
		j.index.drops = true
		for side := range 2 {
			j.index.reach[side] = j.Spec.lookAhead(side)
		}
	}
	j.index.now = j.now
	if err := j.index.load(j.Store); err != nil {
		return err
	}
	j.indexed = true
	return nil
}

// ProcessInput implements InputProcessor: input 0 is the left stream, 1
// the right one. An error of the store stops the record where it is; an
// error of one of the rows it produces does not (see rowErr): either is
// the record's error.
func (j *StreamStreamJoin) ProcessInput(input int, rec *log.Record, emit Emit) error {
	if input != 0 && input != 1 {
		return fmt.Errorf("operators: stream-stream join has no input %d", input)
	}
	if j.unsettled {
		// What the index holds may not match the store either.
		j.ahead[0].invalidate()
		j.ahead[1].invalidate()
		j.indexed = false
	}
	j.unsettled, j.rowErr = true, nil
	err := j.process(input, rec, emit)
	// The restored copy shares the record's bytes, which the join must
	// not keep alive past it.
	j.restored = log.Record{}
	if err != nil {
		return err
	}
	j.unsettled = false
	return j.rowErr
}

// rowFailed notes the first error of a row.
func (j *StreamStreamJoin) rowFailed(err error) {
	if j.rowErr == nil {
		j.rowErr = err
	}
}

// process is ProcessInput's work.
func (j *StreamStreamJoin) process(input int, rec *log.Record, emit Emit) error {
	if err := j.init(); err != nil {
		return err
	}
	if err := j.indexInit(); err != nil {
		return err
	}
	s := j.Spec
	side := &s.Sides[input]
	// A copy only for a side that restores its records, and that in j
	// (cleared by ProcessInput once the record is done): a copy of every
	// record, which the decoder's interface makes escape, was a heap
	// allocation per record, 112 bytes (0.26 s of Nexmark q4's 9 s of
	// samples, both of whose sides are repartitioned).
	r := rec
	// The join key as the repartition wrote it (KeyBytes): the record's,
	// valid while it is processed, which is as long as k is used.
	var written []byte
	if side.KeyBytes {
		written = rec.Key
	}
	if side.Restore != nil {
		j.restored = side.Restore(rec)
		r = &j.restored
	}
	row, ok, err := j.decode(input, r)
	if err != nil || !ok {
		// A null value is ignored, and moves nothing.
		return err
	}
	// The key row is reused from record to record: what it is passed to
	// copies its values (joinedRow) or encodes them (encodeJoinKey).
	keys, null, err := evalKeysInto(j.keys[input][:0], side.Keys, row)
	if err != nil {
		return err
	}
	j.keys[input] = keys
	ts := row[side.Time].Int()
	if ts > j.now {
		j.now, j.dirty = ts, true
		if j.index != nil {
			j.index.now = ts
		}
		if err := j.expire(emit); err != nil {
			return err
		}
	}
	if err := j.sweepSteps(); err != nil {
		return err
	}
	if satAdd(satAdd(ts, s.lookAhead(input)), s.Grace) < j.now {
		// Its own window closed before it arrived.
		if j.Metrics != nil {
			j.Metrics.Late.Add(1)
		}
		return nil
	}
	if null {
		if s.Outer[input] {
			j.unmatched(input, row, keys, ts, emit)
		}
		return nil
	}
	if side.Filter != nil && j.filtered(input, side.Filter, row, keys, ts) {
		return nil
	}
	k := written
	if k == nil {
		if j.keyBuf, err = encodeJoinKey(s.Key, keys, j.keyBuf[:0]); err != nil {
			return err
		}
		k = j.keyBuf
	}
	matched, err := j.match(input, row, keys, ts, k, emit)
	if err != nil {
		return err
	}
	return j.store(input, r, row, ts, k, matched)
}

// filtered reports whether a record of side input fails its side's
// Filter: false or NULL over the joined row with NULLs for the other side,
// which the filter does not read. An error keeps the record.
func (j *StreamStreamJoin) filtered(input int, f expr.Expr, row, keys types.Row, ts int64) bool {
	var joined types.Row
	if input == 0 {
		joined = j.joinedRow(row, nil, keys, ts)
	} else {
		joined = j.joinedRow(nil, row, keys, ts)
	}
	v, err := f.Eval(joined)
	return err == nil && (v.IsNull() || !v.Bool())
}

// decode decodes a record of side input into j.in[input], a row reused
// from record to record when the side's decoder is a *Decoder: nothing
// keeps the row itself (the state keeps its encoding, a joined row copies
// its values), and a new row per record was a fifth of the decoding of
// Nexmark's q4 and q20 (CPU profiles of 300,000 events). Its strings are
// copies all the same when a joined row's values go on to operators that
// may keep them (an aggregation's group key), past the record's bytes;
// views of them when they go to a Sink, which keeps none.
func (j *StreamStreamJoin) decode(input int, rec *log.Record) (types.Row, bool, error) {
	dec, ok := j.Spec.Sides[input].Decoder.(*Decoder)
	if !ok {
		return j.Spec.Sides[input].Decoder.Decode(rec)
	}
	if rec.Value == nil {
		return nil, false, nil
	}
	row := j.in[input]
	if len(row) != dec.Width() {
		row = make(types.Row, dec.Width())
		j.in[input] = row
	}
	clear(row) // a column the record lacks is NULL, not the last record's
	vp := &dec.valProj
	if j.Sink != nil {
		// Views of the record's bytes: the sink keeps no value (Sink).
		vp = &dec.valAlias
	}
	if err := dec.decodeInto(rec, row, vp); err != nil {
		return nil, false, err
	}
	return row, true, nil
}

// evalKeys computes a row's join key; null reports a NULL among it.
func evalKeys(exprs []expr.Expr, row types.Row) (keys types.Row, null bool, err error) {
	return evalKeysInto(make(types.Row, 0, len(exprs)), exprs, row)
}

// evalKeysInto is evalKeys appending the key's values to dst.
func evalKeysInto(dst types.Row, exprs []expr.Expr, row types.Row) (keys types.Row, null bool, err error) {
	for _, e := range exprs {
		v, err := e.Eval(row)
		if err != nil {
			return nil, false, err
		}
		dst = append(dst, v)
		null = null || v.IsNull()
	}
	return dst, null, nil
}

// encodeJoinKey appends the serialized join key to dst.
func encodeJoinKey(kf serde.KeyFormat, keys types.Row, dst []byte) ([]byte, error) {
	kb, err := kf.Encode(keys)
	if err != nil {
		return dst, fmt.Errorf("encode join key: %w", err)
	}
	return append(dst, kb...), nil
}

// match joins a record of side input with the other side's records of
// its key in its window, emitting each pair that passes Extra, and marks
// the outer side's partners as matched. It reports whether the record
// matched any.
func (j *StreamStreamJoin) match(input int, row, keys types.Row, ts int64, k []byte, emit Emit) (bool, error) {
	s := j.Spec
	other := 1 - input
	// l.ts - Before <= r.ts <= l.ts + After, seen from either side.
	lo, hi := satSub(ts, s.Before), satAdd(ts, s.After)
	if input == 1 {
		lo, hi = satSub(ts, s.After), satAdd(ts, s.Before)
	}
	// The scan's bounds live in buffers reused from record to record: a
	// scan keeps neither.
	j.scanBuf[0] = recordPrefix(j.scanBuf[0][:0], other, k)
	prefix := j.scanBuf[0]
	j.marks = j.marks[:0]
	// A record of the other side whose window has closed may still be
	// stored: an inner side's records leave when a sweep comes by.
	m := &j.meet
	*m = meeting{j: j, input: input, row: row, keys: keys, ts: ts, emit: emit, prefix: prefix,
		closedBelow: satSub(j.now, satAdd(s.lookAhead(other), s.Grace)), cols: m.cols[:0]}
	if j.visit == nil {
		// Method values made once: a closure per record, which the
		// scan's interface makes escape, was a heap allocation per
		// record, with the variables it shared.
		j.visit, j.visitIndex = m.visit, m.meet
	}
	visit := j.visit
	if ix := j.index; ix != nil && ix.covers(other, lo) {
		ix.scan(other, prefix, lo, hi, j.visitIndex)
	} else {
		j.scanBuf[1] = appendTime(append(j.scanBuf[1][:0], prefix...), lo)
		start := j.scanBuf[1]
		var end []byte
		if hi == math.MaxInt64 {
			end = state.PrefixEnd(prefix)
		} else {
			j.scanBuf[2] = appendTime(append(j.scanBuf[2][:0], prefix...), hi+1)
			end = j.scanBuf[2]
		}
		if err := j.Store.Scan(start, end, visit); err != nil {
			return false, err
		}
	}
	matched := m.matched
	*m = meeting{cols: m.cols[:0]} // keeps no rows past the record
	// Written after the scan: a store's Scan does not promise to see, or
	// to survive, writes made during it; nor does the index's.
	for _, mk := range j.marks {
		if err := j.Store.Put(mk.key, mk.value); err != nil {
			return false, err
		}
		if j.index != nil {
			j.index.put(other, mk.key, mk.value)
		}
	}
	return matched, nil
}

// meeting is a match's scan under way: a record of side input, row with
// join key keys at ROWTIME ts, meeting the other side's stored records.
type meeting struct {
	j           *StreamStreamJoin
	input       int
	row, keys   types.Row
	ts          int64
	emit        Emit
	closedBelow int64 // the other side's records before it are closed
	matched     bool  // set once a pair has passed
	// prefix is the stored records' keys' prefix (recordPrefix): a
	// record key is prefix, time, place.
	prefix []byte
	// joined is the pairs' row (pairRow), the record's columns and join
	// key written once, at the first stored record it meets (most meet
	// none: a bid that comes before its auction); slot is the other
	// side's columns in it, which each stored record is decoded into.
	joined, slot types.Row
	// cols lists the columns of slot that the last stored record wrote
	// (fillSlot), the others being NULL; all says that it wrote every
	// one (a record stored before rows).
	cols []int32
	all  bool
}

// visit is the store's scan's function: it joins the record with one
// stored record of the other side, key and value.
func (m *meeting) visit(key, value []byte) bool {
	at := len(key) - placeLen
	return m.meet(readTime(key[at:]), key[at+8:], value)
}

// meet joins the record with one stored record of the other side, at
// ROWTIME rts and place (its key's last bytes), and value: the index's
// scan's function.
func (m *meeting) meet(rts int64, place, value []byte) bool {
	j, s := m.j, m.j.Spec
	other, ts := 1-m.input, m.ts
	if rts < m.closedBelow {
		return true
	}
	if m.joined == nil {
		m.joined, m.slot = j.pairRow(m.input, m.row, m.keys)
	}
	flags, err := j.fillSlot(other, place, value, m)
	if err != nil {
		j.rowFailed(fmt.Errorf("decode a stored record of the join: %w", err))
		return true
	}
	ots := m.slot[s.Sides[other].Time].Int()
	joined := m.joined
	joined[len(joined)-1] = types.NewBigint(max(ts, ots))
	if s.Extra != nil {
		v, err := s.Extra.Eval(joined)
		if err != nil {
			// A pair whose condition fails to evaluate does not match.
			j.rowFailed(err)
			return true
		}
		if v.IsNull() || !v.Bool() {
			return true
		}
	}
	m.matched = true
	if s.Outer[other] && flags&matchedFlag == 0 {
		nv := append([]byte(nil), value...)
		nv[0] |= matchedFlag
		key := append(appendTime(append(make([]byte, 0, len(m.prefix)+placeLen), m.prefix...), rts), place...)
		j.marks = append(j.marks, stateEntry{key: key, value: nv})
	}
	// A pair whose output fails has matched all the same: neither record
	// comes out unmatched later.
	if err := j.Output(joined, max(ts, ots), m.emit); err != nil {
		j.rowFailed(err)
	}
	return true
}

// joinedRow lays a pair out as the Join node does: left, right, the join
// key, ROWTIME. A missing side is NULLs.
//
// The row is j's, reused for the next one (JoinOutput's contract): a
// joined row is some 25 values, and allocating one per pair was the
// largest allocation of Nexmark's q20.
func (j *StreamStreamJoin) joinedRow(left, right, keys types.Row, ts int64) types.Row {
	s := j.Spec
	lw, rw := s.Sides[0].Decoder.Width(), s.Sides[1].Decoder.Width()
	row := j.rowBuf[:0]
	if left == nil {
		for range lw {
			row = append(row, types.NullValue)
		}
	} else {
		row = append(row, left...)
	}
	if right == nil {
		for range rw {
			row = append(row, types.NullValue)
		}
	} else {
		row = append(row, right...)
	}
	row = append(row, keys...)
	j.rowBuf = append(row, types.NewBigint(ts))
	return j.rowBuf
}

// pairRow lays out the row of the pairs a record of side input makes
// (joinedRow's layout), its own columns and key in place, and returns it
// with slot, the other side's columns, for each stored record it meets to
// be decoded into (decodeSlot); its ROWTIME is written for each pair. A
// record meets a few to thousands of stored ones (a late auction of
// Nexmark's q4, its bids): building the row anew for each pair copied
// its own side, the key and, from the stored row decoded apart, the
// other side, some 25 values a pair. The row is j's, as joinedRow's is,
// and JoinOutput neither keeps nor changes it.
func (j *StreamStreamJoin) pairRow(input int, row, keys types.Row) (joined, slot types.Row) {
	s := j.Spec
	lw, rw := s.Sides[0].Decoder.Width(), s.Sides[1].Decoder.Width()
	if input == 0 {
		joined = j.joinedRow(row, nil, keys, 0)
		return joined, joined[lw : lw+rw : lw+rw]
	}
	joined = j.joinedRow(nil, row, keys, 0)
	return joined, joined[:lw:lw]
}

// decodeSlot decodes a record entry of side into slot, the side's
// columns of a pair's row (pairRow), and returns its flags. On an error
// the slot holds part of the row, which the next record overwrites.
func (j *StreamStreamJoin) decodeSlot(side int, key, value []byte, slot types.Row) (byte, error) {
	if len(value) > 0 && value[0]&rowFormatFlag != 0 {
		// decodeJoinRowInto clears slot and fills it in place: its
		// capacity is the side's width.
		_, err := decodeJoinRowInto(slot, value[1:], len(slot))
		return value[0], err
	}
	row, flags, err := j.decodeRecord(side, key, value)
	if err != nil {
		return 0, err
	}
	copy(slot, row)
	return flags, nil
}

// fillSlot writes a stored record of side, at place (its key's last
// bytes) with value, into m.slot, the side's columns of the pairs' row,
// and returns its flags. A stored row comes from side's storedRows,
// decoded there when it is not held yet: a record meets the same stored
// ones again and again (half of Nexmark's bids are on the hot auction of
// the moment, and each decoded it again, 0.24 s of q4's 5.2 s of
// samples; 78% of q4's meetings find their row held). Only the columns
// the row holds are written, and those the last one held but it does not
// are set NULL again. On an error the slot is left as it was.
func (j *StreamStreamJoin) fillSlot(side int, place, value []byte, m *meeting) (byte, error) {
	slot := m.slot
	if len(value) == 0 || value[0]&rowFormatFlag == 0 {
		// A record stored before rows (decodeRecord) reads its place
		// from its key's last bytes.
		flags, err := j.decodeSlot(side, place, value, slot)
		// decodeSlot wrote every column, or some on an error.
		m.all, m.cols = true, m.cols[:0]
		return flags, err
	}
	e, err := j.rows[side].row(place, value[1:], len(slot))
	if err != nil {
		return 0, err
	}
	switch {
	case m.all:
		clear(slot)
		m.all = false
		m.cols = append(m.cols[:0], e.cols...)
	case !slices.Equal(m.cols, e.cols):
		// Rows stored under one plan hold the same columns: this is a
		// row stored under another.
		for _, c := range m.cols {
			slot[c] = types.NullValue
		}
		m.cols = append(m.cols[:0], e.cols...)
	}
	for i, c := range e.cols {
		slot[c] = e.vals[i]
	}
	return value[0], nil
}

// storedRows holds a few stored rows of a side decoded (decodeJoinColumns),
// by the place of their records: a direct-mapped cache, an entry checked
// against the row's bytes, so that a record it holds is one whose bytes
// are the same, whatever else changed (a record deleted, one at the same
// place stored again after a recovery).
type storedRows struct {
	entries [storedRowsSize]decodedRow
}

// storedRowsSize is the entries of a side's storedRows: a power of two.
// Each holds a row's bytes and values (some 400 bytes for q4's auctions).
const storedRowsSize = 128

// decodedRow is an entry of storedRows: a stored row's bytes (after its
// flags byte) and its columns, decoded for a row of width columns;
// valid when ok.
type decodedRow struct {
	ok    bool
	width int
	bytes []byte
	cols  []int32
	vals  []types.Value
}

// row returns the decoded row of body, a stored row (its value after its
// flags byte) of width columns whose record is at place; the entry is the
// cache's, valid until its next call.
func (c *storedRows) row(place, body []byte, width int) (*decodedRow, error) {
	// Places are partition (4 bytes) then offset (8): a partition's
	// recent records fall on distinct entries.
	h := binary.BigEndian.Uint64(place[len(place)-8:]) + uint64(binary.BigEndian.Uint32(place[len(place)-12:]))*0x9e3779b1
	e := &c.entries[h&(storedRowsSize-1)]
	if e.ok && e.width == width && bytes.Equal(e.bytes, body) {
		return e, nil
	}
	e.ok = false
	clear(e.vals) // keeps no strings of the row it held alive
	var err error
	e.cols, e.vals, err = decodeJoinColumns(e.cols[:0], e.vals[:0], body, width)
	if err != nil {
		return nil, err
	}
	e.bytes, e.width = append(e.bytes[:0], body...), width
	// The values go to every pair the row makes. Kept only when they are
	// plain values: a DECIMAL's digits or an ARRAY's, MAP's or STRUCT's
	// elements are shared by reference, and each pair gets its own.
	e.ok = true
	for _, v := range e.vals {
		if k := v.Kind(); k == types.KindDecimal || k >= types.KindArray {
			e.ok = false
		}
	}
	return e, nil
}

// unmatched emits a record of side input that found no partner, with
// NULLs for the other side, at its own ROWTIME.
func (j *StreamStreamJoin) unmatched(input int, row, keys types.Row, ts int64, emit Emit) {
	var joined types.Row
	if input == 0 {
		joined = j.joinedRow(row, nil, keys, ts)
	} else {
		joined = j.joinedRow(nil, row, keys, ts)
	}
	if err := j.Output(joined, ts, emit); err != nil {
		j.rowFailed(err)
	}
}

// store keeps a record of side input, joined key k, until its window
// closes: its record entry and its time index entry.
func (j *StreamStreamJoin) store(input int, rec *log.Record, row types.Row, ts int64, k []byte, matched bool) error {
	// The keys live in buffers reused from record to record (Put and the
	// index copy them); what is read ahead keeps copies.
	j.recKeyBuf = appendPlace(appendTime(recordPrefix(j.recKeyBuf[:0], input, k), ts), rec)
	key := j.recKeyBuf
	var flags byte = rowFormatFlag
	if matched {
		flags |= matchedFlag
	}
	// The value buffer is reused: Put copies it.
	j.valBuf = appendJoinRow(append(j.valBuf[:0], flags), row, j.Spec.Sides[input].Stored)
	if err := j.Store.Put(key, j.valBuf); err != nil {
		return err
	}
	if j.index != nil {
		j.index.put(input, key, j.valBuf)
	}
	if !j.Spec.Outer[input] {
		// No time index entry: the sweep finds the record.
		return nil
	}
	j.indexKeyBuf = appendIndexKey(j.indexKeyBuf[:0], input, ts, rec)
	ik := j.indexKeyBuf
	if err := j.Store.Put(ik, k); err != nil {
		return err
	}
	// Keep what was read ahead the index's start: an entry after it
	// leaves it so (it joins it when the index was read to its end and
	// there is room); one before it, a record out of order, spoils it.
	a := &j.ahead[input]
	switch {
	case !a.valid:
	case len(a.entries) == 0 && !a.complete:
		a.invalidate()
	case len(a.entries) == 0 || ts > a.entries[len(a.entries)-1].ts:
		if !a.complete {
			break
		}
		if len(a.entries) < expireBatch {
			a.entries = append(a.entries, expiring{ts: ts, indexKey: bytes.Clone(ik), recKey: bytes.Clone(key)})
		} else {
			a.complete = false
			a.next = append(append(a.next[:0], a.entries[len(a.entries)-1].indexKey...), 0)
		}
	default:
		a.invalidate()
	}
	return nil
}

// decodeStored decodes a record entry of side into its row, and returns
// its flags.
func (j *StreamStreamJoin) decodeStored(side int, key, value []byte) (types.Row, byte, error) {
	if len(value) > 0 && value[0]&rowFormatFlag != 0 {
		row, err := decodeJoinRowInto(j.stored[side], value[1:], j.Spec.Sides[side].Decoder.Width())
		if err == nil {
			j.stored[side] = row
		}
		return row, value[0], err
	}
	return j.decodeRecord(side, key, value)
}

// decodeRecord decodes a record entry of the format before rows
// (rowFormatFlag unset): the record's bytes, decoded again.
func (j *StreamStreamJoin) decodeRecord(side int, key, value []byte) (types.Row, byte, error) {
	if len(value) < 10 || len(key) < 12 {
		return nil, 0, errors.New("corrupt join state")
	}
	place := key[len(key)-12:]
	rec := log.Record{
		Timestamp: int64(be64(value[1:9])),
		Partition: int32(binary.BigEndian.Uint32(place)),
		Offset:    int64(be64(place[4:])),
	}
	rest := value[9:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || uint64(len(rest)-w) < max(n, 1)-1 {
		return nil, 0, errors.New("corrupt join state")
	}
	rest = rest[w:]
	// The slices are the store's, valid during its scan only: the row
	// must not keep them.
	if n > 0 {
		rec.Key = append([]byte(nil), rest[:n-1]...)
		rest = rest[n-1:]
	}
	rec.Value = append([]byte{}, rest...)
	row, ok, err := j.Spec.Sides[side].Decoder.Decode(&rec)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, errors.New("corrupt join state: a stored record without a value")
	}
	return row, value[0], nil
}

// expire removes the records whose windows the stream time has closed,
// in ROWTIME order across both sides (left first on ties), emitting the
// outer sides' unmatched ones.
func (j *StreamStreamJoin) expire(emit Emit) error {
	s := j.Spec
	var limit [2]int64 // a side's records with ROWTIME < limit are closed
	var due, more [2]bool
	for side := range 2 {
		limit[side] = satSub(j.now, satAdd(s.lookAhead(side), s.Grace))
		a := &j.ahead[side]
		due[side] = !a.valid || (len(a.entries) > 0 && a.entries[0].ts < limit[side]) || (len(a.entries) == 0 && !a.complete)
	}
	for side := range 2 {
		j.expired[side] = j.expired[side][:0]
		if due[side] {
			var err error
			if more[side], err = j.closed(side, limit[side]); err != nil {
				return err
			}
		}
	}
	for {
		side := -1
		for c := range 2 {
			if len(j.expired[c]) == 0 {
				continue
			}
			if side < 0 || j.expired[c][0].ts < j.expired[side][0].ts {
				side = c
			}
		}
		if side < 0 {
			return nil
		}
		e := j.expired[side][0]
		j.expired[side] = j.expired[side][1:]
		if err := j.close(side, e, emit); err != nil {
			return err
		}
		if len(j.expired[side]) == 0 && more[side] {
			var err error
			if more[side], err = j.closed(side, limit[side]); err != nil {
				return err
			}
		}
	}
}

// closed moves into j.expired[side] the next entries of side's time
// index whose ROWTIME is below limit, at most expireBatch of them, from
// what was read ahead (reading on when it runs out); more reports that
// the batch was cut there.
func (j *StreamStreamJoin) closed(side int, limit int64) (more bool, err error) {
	a := &j.ahead[side]
	buf := j.expired[side][:0]
	for len(buf) < expireBatch {
		if !a.valid || (len(a.entries) == 0 && !a.complete) {
			if err := j.readAhead(side); err != nil {
				return false, err
			}
		}
		if len(a.entries) == 0 || a.entries[0].ts >= limit {
			break
		}
		buf = append(buf, a.entries[0])
		a.entries = a.entries[1:]
	}
	j.expired[side] = buf
	return len(buf) == expireBatch, nil
}

// readAhead appends to what was read ahead of side's time index the next
// expireBatch entries: from where it stopped, or from the cursor when it
// holds nothing valid.
func (j *StreamStreamJoin) readAhead(side int) error {
	a := &j.ahead[side]
	start := a.next
	if !a.valid {
		a.entries = a.entries[:0]
		if start = j.cursor[side]; start == nil {
			start = []byte{'e', byte(side)}
		}
	}
	end := state.PrefixEnd([]byte{'e', byte(side)})
	n := 0
	var last []byte
	var ferr error
	err := j.Store.Scan(start, end, func(key, value []byte) bool {
		if len(key) != 2+8+12 {
			ferr = errors.New("corrupt join state: an index key")
			return false
		}
		ik := append([]byte(nil), key...)
		rk := recordPrefix(make([]byte, 0, 2+binary.MaxVarintLen64+len(value)+8+12), side, value)
		rk = append(rk, key[2:]...)
		a.entries = append(a.entries, expiring{ts: readTime(key[2:]), indexKey: ik, recKey: rk})
		last = ik
		n++
		return n < expireBatch
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		a.invalidate()
		return fmt.Errorf("scan closed windows: %w", err)
	}
	a.valid, a.complete = true, n < expireBatch
	if last != nil {
		a.next = append(append(a.next[:0], last...), 0)
	}
	return nil
}

// close removes one record whose window has closed, emitting it when it
// is an outer side's and never matched.
func (j *StreamStreamJoin) close(side int, e expiring, emit Emit) error {
	s := j.Spec
	if s.Outer[side] {
		v, ok := []byte(nil), false
		if ix := j.index; ix != nil && ix.covers(side, e.ts) {
			v, ok = ix.get(side, e.recKey)
		} else {
			var err error
			if v, ok, err = j.Store.Get(e.recKey); err != nil {
				return err
			}
		}
		if ok && len(v) > 0 && v[0]&matchedFlag == 0 {
			// A row that fails here is reported; the record leaves the
			// state all the same.
			if row, _, err := j.decodeStored(side, e.recKey, v); err != nil {
				j.rowFailed(fmt.Errorf("decode a stored record of the join: %w", err))
			} else if keys, _, err := evalKeys(s.Sides[side].Keys, row); err != nil {
				j.rowFailed(err)
			} else {
				j.unmatched(side, row, keys, e.ts, emit)
			}
		}
	}
	if err := j.Store.Delete(e.recKey); err != nil {
		return err
	}
	if j.index != nil {
		j.index.delete(side, e.recKey)
	}
	if err := j.Store.Delete(e.indexKey); err != nil {
		return err
	}
	j.cursor[side] = append(append(j.cursor[side][:0], e.indexKey...), 0)
	return nil
}

// sweepBatch is how many of a side's records a sweep step reads: a pass
// goes on by this many at each record the join takes while it lasts.
const sweepBatch = 1024

// sweepSteps deletes the closed records of the sides whose records keep
// no time index entry (an inner side: nothing comes out when its window
// closes, so nothing needs them in time order). Those records are
// closed all the same once the stream time passes their window (match
// skips them), and a pass over the side's records deletes those closed
// when it began; a pass begins when the stream time has closed a whole
// retention (lookAhead + Grace) past where the last one began, and goes
// on by sweepBatch records at each record the join takes. So a side keeps
// its records about two retentions at most, where its time index kept
// them one, and writes one entry a record instead of two and no time
// index delete: in Nexmark's q4 and q20, whose records all stay (a day's
// window over 100 s of events), the time index entries were a third of
// the state's bytes, which Pebble flushes and compacts. The first pass
// after the join starts or recovers reads the side's records through;
// the records stored with a time index entry by earlier versions leave
// through it as before (expire), or earlier with a pass.
func (j *StreamStreamJoin) sweepSteps() error {
	s := j.Spec
	for side := range 2 {
		if s.Outer[side] {
			continue
		}
		p := &j.sweep[side]
		if !p.active {
			retention := max(satAdd(s.lookAhead(side), s.Grace), 1)
			limit := satSub(j.now, retention)
			if limit == math.MinInt64 || (p.swept != math.MinInt64 && limit < satAdd(p.swept, retention)) {
				continue
			}
			p.active, p.below, p.cursor = true, limit, p.cursor[:0]
		}
		if err := j.sweepStep(side, p); err != nil {
			return err
		}
	}
	return nil
}

// sweepStep reads the next sweepBatch records of side's pass and deletes
// those under its bound.
func (j *StreamStreamJoin) sweepStep(side int, p *sweepPass) error {
	prefix := []byte{'r', byte(side)}
	start := prefix
	if len(p.cursor) > 0 {
		start = p.cursor
	}
	n := 0
	p.keys = p.keys[:0]
	var ferr error
	err := j.Store.Scan(start, state.PrefixEnd(prefix), func(k, _ []byte) bool {
		if len(k) < 3+placeLen {
			ferr = errors.New("corrupt join state: a record key")
			return false
		}
		n++
		if readTime(k[len(k)-placeLen:]) < p.below {
			p.keys = append(p.keys, bytes.Clone(k))
		}
		if n == sweepBatch {
			p.cursor = append(append(p.cursor[:0], k...), 0)
			return false
		}
		return true
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("sweep closed windows: %w", err)
	}
	// Deleted after the scan: a store's Scan does not promise to survive
	// writes made during it.
	for _, k := range p.keys {
		if err := j.Store.Delete(k); err != nil {
			return err
		}
		if j.index != nil {
			j.index.delete(side, k)
		}
	}
	if n < sweepBatch {
		p.active, p.swept, p.cursor = false, p.below, p.cursor[:0]
	}
	return nil
}

// recordPrefix appends 'r', the side and the length-prefixed join key:
// the prefix of every record entry of that key.
func recordPrefix(dst []byte, side int, k []byte) []byte {
	dst = append(dst, 'r', byte(side))
	dst = binary.AppendUvarint(dst, uint64(len(k)))
	return append(dst, k...)
}

// appendIndexKey appends a record's time index entry.
func appendIndexKey(dst []byte, side int, ts int64, rec *log.Record) []byte {
	dst = append(dst, 'e', byte(side))
	return appendPlace(appendTime(dst, ts), rec)
}

// appendTime appends ts so that byte order is numeric order.
func appendTime(dst []byte, ts int64) []byte { return appendBE64(dst, uint64(ts)^(1<<63)) }

// readTime reads what appendTime wrote.
func readTime(b []byte) int64 { return int64(be64(b) ^ (1 << 63)) }

// appendPlace appends a record's partition and offset.
func appendPlace(dst []byte, rec *log.Record) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(rec.Partition))
	return appendBE64(dst, uint64(rec.Offset))
}

// satAdd and satSub are a + b and a - b for b >= 0, held at the int64
// bounds instead of wrapping around.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satSub(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}
