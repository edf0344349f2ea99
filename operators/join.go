package operators

import (
	"errors"
	"fmt"
	"slices"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Joins. A join stage's task reads both inputs' partition p, merged in
// event-time order (merge.go); its processor keeps what it must remember
// of each side in the task's store and emits joined rows, laid out as the
// planner's Join node lays them out:
//
//	left row, right row (NULLs when absent), the join key's values, ROWTIME
//
// to an Output that filters, projects and encodes them for the next
// stage or the sink.

// JoinOutput receives a joined row and its time. The row is valid only
// during the call (a stream-stream join fills the same one for every
// pair): an output that keeps it, rather than values computed from it,
// copies it.
type JoinOutput func(row types.Row, ts int64, emit Emit) error

// StreamTableSpec describes a stream-table join. It is immutable and
// shared by the query's tasks.
type StreamTableSpec struct {
	// Stream decodes a record of the stream input into the stream's row
	// (ok is false for a record the join ignores: a null value).
	Stream func(rec *log.Record) (row types.Row, ok bool, err error)
	// StreamTime is ROWTIME's index in the stream row.
	StreamTime int
	// Table decodes a record of the table's topic into its row.
	Table *Decoder
	// TableWidth is the number of values in a table row.
	TableWidth int
	// TableStored lists, in ascending order, the columns of the table's
	// rows that the state keeps: those the query reads of the joined row
	// (its output, its WHERE, the rest of the ON condition) and the
	// table's ROWTIME. The others come back NULL. nil (the default) keeps
	// every column.
	TableStored []int
	// Keys are the join key over the stream row, one per key equality in
	// the order the ON condition writes them: the values of the result's
	// key columns.
	Keys []expr.Expr
	// KeyOrder lists, for each of the table's key columns in order, the
	// index in Keys of the expression it equals: the order the table's
	// key format serializes them in.
	KeyOrder []int
	// TableKey is the table's key format over its key columns: a stream
	// row's key is serialized with it to find the table's row.
	TableKey serde.KeyFormat
	// Left keeps stream rows that find no table row, with NULLs for it
	// (LEFT JOIN); an inner join drops them.
	Left bool
	// Extra is the rest of the ON condition, over the stream row followed
	// by the table row; nil when there is none. A pair that fails it does
	// not match.
	Extra expr.Expr
	// StreamFilter and TableFilter are conditions over the joined row
	// that read only the stream's, or only the table's, columns and that
	// every row the query keeps must pass: the AND of the terms of the
	// WHERE above the join that read that side alone, evaluated again
	// above (build/join_filter.go). A stream record for which its filter
	// is FALSE or NULL meets nothing; a table row for which it is, is for
	// the join a delete of its key (it is not stored). A row a filter
	// fails to evaluate is kept, for the WHERE above to report. The
	// stream's filter is an inner or a left join's, the table's an inner
	// join's only (a LEFT join's table row it dropped would leave the
	// stream record NULL-extended instead). Default: nil, none.
	StreamFilter, TableFilter expr.Expr
	// StreamWidth is the number of values in a stream row, where the
	// table's columns start in the joined row; needed with TableFilter.
	StreamWidth int
}

// failsFilter reports whether f is FALSE or NULL over row; an error keeps
// the row, for the WHERE above to report.
func failsFilter(f expr.Expr, row types.Row) bool {
	v, err := f.Eval(row)
	return err == nil && (v.IsNull() || !v.Bool())
}

// StreamTableJoin is the processor of a stream-table join stage. Its
// inputs are the table's topic and the stream's (Inputs[TableInput] and
// Inputs[StreamInput] of its task); the table input is listed first so
// that a table update at the same ROWTIME as a stream record is visible
// to it.
//
// The table side lives in the task's store, one entry per key: the
// latest row of that key (a tombstone deletes it). A table record emits
// nothing. Each stream record looks up the row for its join key as the
// table stands at that point of the merge, and emits the joined row
// (INNER: only when there is one; LEFT: always, with NULLs for a missing
// row). A record whose join key is NULL never matches: LEFT emits it with
// NULLs (KIP-962), INNER drops it. The joined row's ROWTIME is the larger
// of the stream record's and the table row's.
//
// State keys: 'r' followed by the table record's serialized key. Values:
// the row as table joins store theirs (join_table.go, storedRow): binary,
// so that a stream record meeting it decodes no JSON; rows stored by
// earlier versions, the table record's bytes, are read too.
type StreamTableJoin struct {
	Spec        *StreamTableSpec
	Store       state.Store
	TableInput  int
	StreamInput int
	Output      JoinOutput
	// keyBuf holds the table-ordered key values; owned by the task.
	keyBuf types.Row
	// filterBuf is the memory of the row a table row's TableFilter is
	// evaluated over.
	filterBuf types.Row
}

var _ InputProcessor = (*StreamTableJoin)(nil)

// Process implements Processor; a join's records always come with their
// input (ProcessInput).
func (j *StreamTableJoin) Process(*log.Record, Emit) error {
	return errors.New("operators: a join's records need their input")
}

// Flush implements Processor.
func (j *StreamTableJoin) Flush(Emit) error { return nil }

// ProcessInput implements InputProcessor.
func (j *StreamTableJoin) ProcessInput(input int, rec *log.Record, emit Emit) error {
	switch input {
	case j.TableInput:
		return j.table(rec)
	case j.StreamInput:
		return j.stream(rec, emit)
	}
	return fmt.Errorf("operators: stream-table join has no input %d", input)
}

// table applies one record of the table's changelog to the state.
func (j *StreamTableJoin) table(rec *log.Record) error {
	if len(rec.Key) == 0 {
		// A table row without a key cannot be joined to.
		return nil
	}
	sk := tableStateKey(rec.Key)
	if rec.Value == nil {
		return j.Store.Delete(sk)
	}
	// Decoded now so that a row that cannot be read is refused (and
	// reported) as it arrives, leaving the key's previous row, as a
	// table's materialization does; its ROWTIME may be a column.
	row, ok, err := j.Spec.Table.Decode(rec)
	if err != nil || !ok {
		return err
	}
	if f := j.Spec.TableFilter; f != nil {
		// Over the joined row's layout: the stream's columns, NULL here,
		// then the table's.
		j.filterBuf = append(appendNulls(j.filterBuf[:0], j.Spec.StreamWidth), row...)
		if failsFilter(f, j.filterBuf) {
			return j.Store.Delete(sk)
		}
	}
	ts := row[j.Spec.TableWidth-j.Spec.Table.extra()].Int()
	return j.Store.Put(sk, storedRow(row, ts, j.Spec.TableStored))
}

// tableStateKey is the state key of a table row.
func tableStateKey(key []byte) []byte { return append([]byte{'r'}, key...) }

// stream joins one stream record with the table's row for its key.
func (j *StreamTableJoin) stream(rec *log.Record, emit Emit) error {
	s := j.Spec
	srow, ok, err := s.Stream(rec)
	if err != nil || !ok {
		return err
	}
	if s.StreamFilter != nil && failsFilter(s.StreamFilter, srow) {
		return nil
	}
	return j.StreamRow(srow, emit)
}

// StreamRow joins one stream row, as a stream record decodes to, with the
// table's row for its key. A push n-way join feeds the rows of the join
// before it here, which never become records.
func (j *StreamTableJoin) StreamRow(srow types.Row, emit Emit) error {
	s := j.Spec
	var err error
	keys := make(types.Row, len(s.Keys))
	null := false
	for i, e := range s.Keys {
		if keys[i], err = e.Eval(srow); err != nil {
			return err
		}
		null = null || keys[i].IsNull()
	}
	ts := srow[s.StreamTime].Int()
	var trow types.Row
	if !null {
		if trow, err = j.lookup(keys); err != nil {
			return err
		}
	}
	row := make(types.Row, 0, len(srow)+s.TableWidth+len(keys)+1)
	row = append(row, srow...)
	if trow != nil {
		row = append(row, trow...)
		if s.Extra != nil {
			v, err := s.Extra.Eval(row)
			if err != nil {
				return err
			}
			if v.IsNull() || !v.Bool() {
				trow, row = nil, row[:len(srow)]
			}
		}
	}
	if trow == nil {
		if !s.Left {
			return nil
		}
		for range s.TableWidth {
			row = append(row, types.NullValue)
		}
	} else {
		ts = max(ts, trow[s.TableWidth-s.Table.extra()].Int())
	}
	row = append(row, keys...)
	row = append(row, types.NewBigint(ts))
	return j.Output(row, ts, emit)
}

// lookup finds the table's row for a join key, or nil.
func (j *StreamTableJoin) lookup(keys types.Row) (types.Row, error) {
	s := j.Spec
	if j.keyBuf == nil {
		j.keyBuf = make(types.Row, len(s.KeyOrder))
	}
	for i, k := range s.KeyOrder {
		j.keyBuf[i] = keys[k]
	}
	kb, err := s.TableKey.Encode(j.keyBuf)
	if err != nil {
		return nil, fmt.Errorf("encode join key: %w", err)
	}
	v, ok, err := j.Store.Get(tableStateKey(kb))
	if err != nil || !ok {
		return nil, err
	}
	row, err := decodeStored(s.Table, s.TableWidth, kb, v)
	if err != nil {
		return nil, fmt.Errorf("the table's row: %w", err)
	}
	return row, nil
}

// extra is the number of pseudo columns after a decoded row's declared
// columns, ROWTIME first: ROWTIME, ROWPARTITION, ROWOFFSET (and a
// windowed key's bounds).
func (d *Decoder) extra() int {
	if d.window != nil {
		return 5
	}
	return 3
}

// RepartitionedKey is the header in which a join's repartition keeps a
// record's own key, while the record's key is its join key: the join
// stage gives it back before decoding, so the stream's row is decoded
// from the record as it was (RestoreKey).
const RepartitionedKey = "runnel.key"

// KeyRepartition is the first stage of a join whose stream side is not
// partitioned by its join key (or not in the join's partition count): it
// writes each stream record to an internal topic keyed by its join key,
// serialized as the table's key format serializes it, in the partition
// that key has among Partitions — where the join's task for that key
// reads the table. The value, timestamp (the record's event time) and
// headers are kept, and the record's own key goes in a header. A record
// whose join key is NULL keeps no key and goes to its source partition's
// place, so that a LEFT join still emits it.
type KeyRepartition struct {
	Decoder *Decoder
	// TimeIndex is ROWTIME's index in the decoded row.
	TimeIndex int
	// Keys compute the join key in the order Key serializes it.
	Keys []expr.Expr
	Key  serde.KeyFormat
	// Topic is the internal topic, of Partitions partitions.
	Topic      string
	Partitions int32
	// Prune narrows each record's value to the columns the join reads
	// (RepartitionPruner); nil passes values on whole.
	Prune *serde.Pruner
	// plan decodes, for Prune, the kept columns' texts beside the row.
	plan *rawPlan

	// arena holds the narrowed values of the records emitted: a batch's
	// records stay in its transaction until it commits, so a value's
	// bytes are never reused, only cut from a block shared by many
	// records (a block of its own per record would be an allocation
	// each).
	arena []byte
	// row and vals are reused from record to record. The row's strings
	// share the record's value bytes (Decoder.decodeReuse): nothing of
	// it outlives the record, whose value the output record carries
	// anyway, and the join key is serialized before the next one. A new
	// row per record, its strings copied, was a third of the decoding
	// of Nexmark's q20 (CPU profile of 300,000 events).
	row, vals types.Row
}

var _ Processor = (*KeyRepartition)(nil)

// Process implements Processor.
func (r *KeyRepartition) Process(rec *log.Record, emit Emit) error {
	if len(r.row) != r.Decoder.Width() || len(r.vals) != len(r.Keys) {
		r.row = make(types.Row, r.Decoder.Width())
		r.vals = make(types.Row, len(r.Keys))
	}
	row, vals := r.row, r.vals
	var ok bool
	var err error
	if r.Prune != nil {
		if r.plan == nil {
			d := r.Decoder
			r.plan = &rawPlan{proj: d.valAlias, want: r.Prune.Keep(), raw: make([][]byte, len(d.valIdx))}
		}
		ok, err = r.Decoder.decodeReuseRaw(rec, row, r.plan)
	} else {
		ok, err = r.Decoder.decodeReuse(rec, row)
	}
	if err != nil || !ok {
		// A null value is ignored by the join: there is nothing to send.
		return err
	}
	null := false
	for i, e := range r.Keys {
		if vals[i], err = e.Eval(row); err != nil {
			return err
		}
		null = null || vals[i].IsNull()
	}
	value := rec.Value
	if r.Prune != nil {
		if value, err = r.pruned(row); err != nil {
			return err
		}
	}
	out := log.Record{Value: value, Timestamp: row[r.TimeIndex].Int(), Partition: rec.Partition % r.Partitions}
	if !null {
		if out.Key, err = r.Key.Encode(vals); err != nil {
			return fmt.Errorf("encode join key: %w", err)
		}
		out.Partition = log.PartitionFor(out.Key, r.Partitions)
	}
	out.Headers = append(out.Headers, rec.Headers...)
	if rec.Key != nil {
		out.Headers = append(out.Headers, log.Header{Key: RepartitionedKey, Value: rec.Key})
	}
	emit(log.ProduceRecord{Topic: r.Topic, Record: out})
	return nil
}

// Flush implements Processor.
func (r *KeyRepartition) Flush(Emit) error { return nil }

var _ batchRecycler = (*KeyRepartition)(nil)

// recycleBatch implements batchRecycler: what the stage keeps of a
// record past its commit is nothing. Its output records alias their
// input's value, key and headers, but the log holds none of a Txn's
// bytes once the commit is done; the narrowed values are cut from blocks
// never reused; and the reused row and join key values, views of the
// last record, are each written whole by the next record's decode and
// evaluation before anything reads them.
func (r *KeyRepartition) recycleBatch() bool { return true }

// pruneBlock is the size of the blocks KeyRepartition cuts narrowed
// values from.
const pruneBlock = 64 << 10

// pruned writes the value of the record just decoded into row, through
// plan, again with the columns Prune keeps.
func (r *KeyRepartition) pruned(row types.Row) ([]byte, error) {
	size := 2
	for _, t := range r.plan.raw {
		size += len(t) + 1
	}
	if cap(r.arena)-len(r.arena) < 2*size {
		// The old block stays with the records cut from it. A value
		// the decoder built from text (a BIGINT written 1.0) may be
		// written longer: twice the texts' room, or a block of its
		// own once append outgrows this one.
		r.arena = make([]byte, 0, max(pruneBlock, 2*size))
	}
	start := len(r.arena)
	out, err := r.Prune.Append(r.arena, row, r.Decoder.valIdx, r.plan.raw)
	if err != nil {
		return nil, fmt.Errorf("narrow the value: %w", err)
	}
	r.arena = out
	return out[start:len(out):len(out)], nil
}

// RepartitionPruner returns the Pruner a join's key repartition narrows
// the values of dec's records with, so that they carry the value columns
// of stored (the row's columns the join keeps, StreamSide.Stored) and
// the event-time column, the only ones the join's decoder reads of them;
// nil when it would keep them all or the format has no way to narrow.
func RepartitionPruner(dec *Decoder, stored []int) *serde.Pruner {
	if stored == nil {
		return nil
	}
	keep := make([]bool, len(dec.valIdx))
	for i, at := range dec.valIdx {
		keep[i] = at == dec.timeIdx || slices.Contains(stored, at)
	}
	return serde.NewPruner(dec.value, keep)
}

// RestoreKey returns a repartitioned record as it was before KeyRepartition
// wrote it: its own key back from the header, the header removed.
func RestoreKey(rec *log.Record) log.Record {
	out := *rec
	out.Key = nil
	out.Headers = nil
	for _, h := range rec.Headers {
		if h.Key == RepartitionedKey {
			out.Key = h.Value
			continue
		}
		out.Headers = append(out.Headers, h)
	}
	return out
}

// JoinSink is a join's output to a stream sink: each joined row is
// filtered, projected and encoded into a record of Topic (its Output is
// the JoinOutput). It is owned by its task's goroutine, as its join is.
//
// Its output row is one, reused for every pair: Pipeline.Apply made one
// per pair, which in Nexmark's q20 (16 columns a row) was the stage's
// largest allocation after the encoded values. A join that reports its
// commits to it (StreamStreamJoin.Sink) has the values
// encoded into chunks reused from commit to commit (outBuf), as a
// stateless task's are, rather than each allocated apart.
type JoinSink struct {
	Pipeline *Pipeline
	// Encoder is the task's own.
	Encoder *Encoder
	Topic   string

	// out is the projected row, reused from pair to pair: nothing keeps
	// it once its record is encoded.
	out types.Row
	// reuse is set once a join reports its commits; buf then holds the
	// encoded values, each chunk until the commit of its records.
	reuse bool
	buf   outBuf
	// most is the longest value encoded so far, up to an eighth of a
	// chunk: a value is encoded where that much is free (outBuf.ensure).
	most int
	// flushed is set when the join has flushed a batch (its commit
	// follows): the next row belongs to the batch after it, whose join
	// only goes on once that commit is done, or after forget.
	flushed bool
}

// Output is the sink's JoinOutput.
func (s *JoinSink) Output(row types.Row, _ int64, emit Emit) error {
	if s.flushed {
		// The batch whose values the chunks hold is committed: the log
		// keeps no record's bytes once Commit returns (batchRecycler).
		s.buf.recycle()
		s.flushed = false
	}
	p := s.Pipeline
	if ok, err := p.keep(row); err != nil || !ok {
		return err
	}
	if len(s.out) != len(p.Project) {
		s.out = make(types.Row, len(p.Project))
	}
	ts, err := p.projectSkip(row, s.out, nil)
	if err != nil {
		return err
	}
	var rec log.Record
	if s.reuse {
		s.buf.ensure(s.most)
		rec, err = s.Encoder.encodeBuf(s.out, ts, &s.buf, nil)
		if n := len(rec.Value); n > s.most {
			s.most = min(n, outChunk/8)
		}
	} else {
		rec, err = s.Encoder.Encode(s.out, ts)
	}
	if err != nil {
		return err
	}
	emit(log.ProduceRecord{Topic: s.Topic, Record: rec})
	return nil
}

// attach is called by the join that reports its commits to the sink
// (flushedBatch, forget), before its first row.
func (s *JoinSink) attach() { s.reuse = true }

// flushedBatch notes that the join flushed its batch, whose commit
// follows before the join takes another record; or, when the commit
// fails, forget.
func (s *JoinSink) flushedBatch() { s.flushed = s.reuse }

// forget forgets the chunks handed out since the last commit, which a
// failed commit may have left in use.
func (s *JoinSink) forget() {
	s.buf.forget()
	s.flushed = false
}

// ensure makes the next room start a new chunk unless the current one has
// n bytes free. room leaves a few hundred, enough for a stateless task's
// records; a join's (Nexmark q20's, 16 columns with long strings)
// outgrew them often, and the append that encoded it then copied the whole
// chunk into one twice its size (growslice, 0.47 s of q20's join stage).
// The bytes left at the end of the chunk are no record's.
func (o *outBuf) ensure(n int) {
	if o.b != nil && cap(o.b)-len(o.b) < n {
		o.b = o.b[:cap(o.b)]
	}
}
