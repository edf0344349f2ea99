package operators

import (
	"fmt"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/types"
)

// Encoder turns an output row into a record for a sink topic.
type Encoder struct {
	key            serde.KeyFormat
	value          serde.ValueFormat
	keyIdx, valIdx []int
	keyBuf, valBuf types.Row
}

// NewEncoder builds an encoder for rows laid out as cols.
func NewEncoder(cols []types.Column, keyFormat, valueFormat string, props serde.Props) (*Encoder, error) {
	e := &Encoder{}
	var keyCols, valCols []types.Column
	for i, c := range cols {
		if c.Key {
			keyCols = append(keyCols, c)
			e.keyIdx = append(e.keyIdx, i)
		} else {
			valCols = append(valCols, c)
			e.valIdx = append(e.valIdx, i)
		}
	}
	var err error
	if e.key, err = serde.NewKeyFormat(keyFormat, keyCols, props); err != nil {
		return nil, fmt.Errorf("key format: %w", err)
	}
	if e.value, err = serde.NewValueFormat(valueFormat, valCols, props); err != nil {
		return nil, fmt.Errorf("value format: %w", err)
	}
	e.keyBuf = make(types.Row, len(keyCols))
	e.valBuf = make(types.Row, len(valCols))
	return e, nil
}

// Encode encodes row with timestamp ts. The record's partition is left for
// the log to choose from the key (murmur2), as Kafka's producer does. An
// Encoder is not safe for concurrent use: each task has its own.
func (e *Encoder) Encode(row types.Row, ts int64) (log.Record, error) {
	rec, err := e.start(row, ts)
	if err != nil {
		return rec, err
	}
	v, err := e.value.Encode(e.valBuf)
	if err != nil {
		return rec, fmt.Errorf("encode value: %w", err)
	}
	rec.Value = v
	return rec, nil
}

// start begins the record of row: its timestamp, its key encoded, and the
// value columns gathered into valBuf for the value's encoder.
func (e *Encoder) start(row types.Row, ts int64) (log.Record, error) {
	return e.startRaw(row, ts, nil)
}

// startRaw is start, leaving out of valBuf the value columns that raw
// gives as text (raw may be nil): the raw encoder ignores their values,
// which the projection did not compute (Pipeline.projectSkip).
func (e *Encoder) startRaw(row types.Row, ts int64, raw [][]byte) (log.Record, error) {
	rec := log.Record{Timestamp: ts, Partition: -1}
	if len(e.keyIdx) > 0 {
		for i, idx := range e.keyIdx {
			e.keyBuf[i] = row[idx]
		}
		k, err := e.key.Encode(e.keyBuf)
		if err != nil {
			return rec, fmt.Errorf("encode key: %w", err)
		}
		rec.Key = k
	}
	for i, idx := range e.valIdx {
		if raw != nil && raw[i] != nil {
			continue
		}
		e.valBuf[i] = row[idx]
	}
	return rec, nil
}

// outChunk is the size of the chunks an outBuf hands out: big enough
// that a batch's output records take a few allocations, not one each;
// small enough that a chunk pinned by one record's bytes wastes little.
const outChunk = 64 << 10

// outBuf hands out the bytes of output records from large chunks, so that
// encoding a record allocates nothing of its own. A slice it returned is
// never written again until recycle (a full chunk is left, not grown in
// place), so the records of a batch may alias it for as long as they
// live: until their batch is committed, when the task recycles the
// chunks for the next batch. Owned by one task.
type outBuf struct {
	b []byte
	// used are the full chunks handed out since the last recycle; free
	// the chunks recycle gave back, at most outFreeChunks of them.
	used, free [][]byte
}

// outFreeChunks bounds the chunks an outBuf keeps for reuse: 1 MiB, about
// a batch of Nexmark's q0 (4,096 records of about 230 bytes). A task that
// writes more per batch allocates the rest, as before.
const outFreeChunks = 16

// room returns the chunk to append the next encoding to, with at least a
// few hundred bytes free (append grows it if a record needs more).
func (o *outBuf) room() []byte {
	if cap(o.b)-len(o.b) < 512 {
		if o.b != nil && cap(o.b) == outChunk && len(o.used) < outFreeChunks {
			o.used = append(o.used, o.b)
		}
		if n := len(o.free); n > 0 {
			o.b, o.free[n-1] = o.free[n-1][:0], nil
			o.free = o.free[:n-1]
		} else {
			o.b = make([]byte, 0, outChunk)
		}
	}
	return o.b
}

// recycle makes every chunk handed out reusable: the caller no longer
// uses any slice taken from them (their batch is committed).
func (o *outBuf) recycle() {
	o.free = append(o.free, o.used...)
	clear(o.used)
	o.used = o.used[:0]
	if len(o.free) > outFreeChunks {
		clear(o.free[outFreeChunks:])
		o.free = o.free[:outFreeChunks]
	}
	o.b = o.b[:0]
}

// forget drops the chunks handed out since the last recycle, which may
// still be in use, and the current one; the free ones stay.
func (o *outBuf) forget() {
	clear(o.used)
	o.used = o.used[:0]
	o.b = nil
}

// take records that the chunk now ends at out (what an append to room()
// returned) and returns the bytes appended since start, capped so that
// nothing appends into them.
func (o *outBuf) take(out []byte, start int) []byte {
	if start > len(out) {
		// Not possible: out extends room(); kept as a guard for the
		// three-index slice below.
		return nil
	}
	o.b = out
	v := out[start:len(out):len(out)]
	if v == nil {
		v = []byte{}
	}
	return v
}

// passesRaw reports whether the value format writes column text given
// to it (serde.PassesRaw).
func (e *Encoder) passesRaw() bool {
	_, ok := e.value.(serde.RawEncoder)
	return ok && serde.PassesRaw(e.value)
}

// valueCount is the number of value columns.
func (e *Encoder) valueCount() int { return len(e.valIdx) }

// valueColumn returns the place among the value columns, and the type, of
// output column i; ok is false for a key column.
func (e *Encoder) valueColumn(i int) (pos int, t types.Type, ok bool) {
	for pos, idx := range e.valIdx {
		if idx == i {
			return pos, e.value.Columns()[pos].Type, true
		}
	}
	return 0, types.Type{}, false
}

// encodeBuf is Encode with the value's bytes taken from buf rather than
// allocated: what a stateless task does for each of its output records.
// raw, when not nil, gives text to write for value columns, by their
// place (serde.RawEncoder; only when passesRaw).
func (e *Encoder) encodeBuf(row types.Row, ts int64, buf *outBuf, raw [][]byte) (log.Record, error) {
	ae, ok := e.value.(serde.AppendEncoder)
	if !ok {
		return e.Encode(row, ts)
	}
	rec, err := e.startRaw(row, ts, raw)
	if err != nil {
		return rec, err
	}
	dst := buf.room()
	start := len(dst)
	var (
		out  []byte
		null bool
	)
	if raw != nil {
		out, null, err = e.value.(serde.RawEncoder).AppendEncodeRaw(dst, e.valBuf, raw)
	} else {
		out, null, err = ae.AppendEncode(dst, e.valBuf)
	}
	if err != nil {
		return rec, fmt.Errorf("encode value: %w", err)
	}
	if !null {
		rec.Value = buf.take(out, start)
	}
	return rec, nil
}

// EncodeKey encodes key values given in key-column order (a delete needs
// no value row).
func (e *Encoder) EncodeKey(keyVals types.Row) ([]byte, error) {
	if len(e.keyIdx) == 0 {
		return nil, nil
	}
	k, err := e.key.Encode(keyVals)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return k, nil
}

// EncodeValue encodes the value columns of a full output row.
func (e *Encoder) EncodeValue(row types.Row) ([]byte, error) {
	for i, idx := range e.valIdx {
		e.valBuf[i] = row[idx]
	}
	v, err := e.value.Encode(e.valBuf)
	if err != nil {
		return nil, fmt.Errorf("encode value: %w", err)
	}
	return v, nil
}
