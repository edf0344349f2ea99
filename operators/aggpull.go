package operators

import (
	"encoding/binary"
	"fmt"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/window"
)

// StoreReader reads a committed state store: state.Reader, for a pull
// query, or a task's own store in a test.
type StoreReader interface {
	Get(key []byte) ([]byte, bool, error)
	Scan(start, end []byte, fn func(key, value []byte) bool) error
}

// AggregateRows reads one partition of an aggregation's state store as the
// rows of the table the aggregation writes, so that a pull query needs no
// copy of the table (ksqlDB's pull queries read the aggregate's store
// likewise, through KsMaterialization). Each stored group becomes the
// record the aggregation's emit would write for it now: its aggregates'
// final values, HAVING (a group that fails it is no row), the projection,
// and the table's key and value encoding. The record is then decoded as
// a materializer's stored record would be, so both paths share one
// decoder and one filter.
//
// A group's store entry is what the task committed last: the task writes
// its cached groups back before each commit (Aggregator.Flush), and a
// reader sees only committed state.
//
// An AggregateRows is used by one goroutine at a time; it keeps buffers
// from group to group.
type AggregateRows struct {
	a    Aggregator
	sink TableSink
	// rec is the record of the group in hand, set by capture.
	rec     log.Record
	emitted bool
	val     []byte
}

// NewAggregateRows reads the store r of one partition of an aggregation
// of spec whose table is encoded by enc into a topic of sinkPartitions
// partitions. It reads the store's layout of DISTINCT sets
// (aggdistinct.go), as the task's own Aggregator does when it starts.
func NewAggregateRows(spec *AggregateSpec, enc *Encoder, sinkPartitions int32, r StoreReader) (*AggregateRows, error) {
	ar := &AggregateRows{sink: TableSink{Encoder: enc, Partitions: sinkPartitions, Window: spec.Window}}
	a := &ar.a
	a.Spec = spec
	var err error
	if a.count, err = agg.Resolve("COUNT", nil, nil, false); err != nil {
		return nil, err
	}
	a.distinct = make([]agg.Func, len(spec.Funcs))
	if spec.Window == nil || spec.Window.Kind != window.Session {
		// A store marked with the layout keeps the sets a key per value:
		// its accumulators are the inner functions' (chooseLayout).
		v, ok, err := r.Get(layoutKey)
		if err != nil {
			return nil, fmt.Errorf("load state layout: %w", err)
		}
		if ok && string(v) == string(layoutDistinct) {
			for i, f := range spec.Funcs {
				if inner, ok := agg.DistinctOf(f); ok {
					a.distinct[i] = inner
				}
			}
		}
	}
	a.Output = ar.capture
	// capture encodes each row before it returns.
	a.ReuseRows = true
	return ar, nil
}

// capture is the Aggregator's Output: it keeps the record TableSink makes.
func (ar *AggregateRows) capture(out AggOutput, _ Emit) error {
	return ar.sink.Emit(out, func(r log.ProduceRecord) {
		ar.rec, ar.emitted = r.Record, true
	})
}

// GroupRange is the range of an aggregation's state keys that holds its
// groups.
func GroupRange() (start, end []byte) { return []byte{'a'}, []byte{'b'} }

// GroupKeyRange is the range of state keys that holds the group of key
// (the group codec's encoding of the key's values) in an aggregation
// windowed or not: for a windowed one, the key's windows.
func GroupKeyRange(key []byte, windowed bool) (start, end []byte) {
	if !windowed {
		start = appendStateKey(nil, key, nil)
		return start, append(append([]byte(nil), start...), 0)
	}
	return window.AppendStoreKeyPrefix([]byte{'a'}, key), window.AppendStoreKeyPrefixEnd([]byte{'a'}, key)
}

// Scan calls fn, in state-key order, with the state key of each group in
// [start, end) of r that is a row of the table, and its record as
// AggregateRecord reads it back, until fn returns false. start and end
// must lie within GroupRange. value is valid only during the call.
//
// A group whose HAVING or projection fails to evaluate is no row: the
// task counted that change as a failed record and emitted nothing.
func (ar *AggregateRows) Scan(r StoreReader, start, end []byte, fn func(key, value []byte) bool) error {
	var rowErr error
	err := r.Scan(start, end, func(k, v []byte) bool {
		var ok bool
		if ok, rowErr = ar.row(k, v); rowErr != nil {
			return false
		}
		if !ok {
			return true
		}
		return fn(k, ar.val)
	})
	if err != nil {
		return err
	}
	return rowErr
}

// row turns one stored group into its record in ar.val; ok is false when
// the group is no row of the table.
func (ar *AggregateRows) row(k, v []byte) (ok bool, err error) {
	a := &ar.a
	accs, end, ts, _, err := a.decodeAccs(v)
	if err != nil {
		return false, fmt.Errorf("group %x: %w", k, err)
	}
	var w *window.Window
	keyBytes := k[1:]
	if a.Spec.Window != nil {
		var start int64
		if keyBytes, start, err = parseStateKey(k); err != nil {
			return false, err
		}
		w = &window.Window{Start: start, End: end}
	}
	key, err := a.Spec.Codec.DecodeKey(keyBytes)
	if err != nil {
		return false, fmt.Errorf("decode group key: %w", err)
	}
	if ts == noTime {
		// A state written before the group's timestamp was kept: a
		// window is stamped with its end, as emitStored stamps it.
		ts = 0
		if w != nil {
			ts = w.End
		}
	}
	ar.emitted = false
	// Not shown before: a group that fails HAVING emits nothing.
	if err := a.emit(key, w, accs, ts, false, nil); err != nil || !ar.emitted {
		return false, nil
	}
	rec := &ar.rec
	part := rec.Partition
	if part < 0 {
		// As the task's producer places an unwindowed table's record.
		part = log.PartitionFor(rec.Key, ar.sink.Partitions)
	}
	ar.val = binary.BigEndian.AppendUint32(ar.val[:0], uint32(part))
	ar.val = appendPrev(ar.val, rec.Key, rec.Value, rec.Timestamp)
	return true, nil
}

// AggregateRecord rebuilds the record of a value AggregateRows.Scan
// passed: the table's record with its topic partition.
func AggregateRecord(v []byte) log.Record {
	return MaterializedRecord(v[4:], int32(be32(v[:4])))
}
