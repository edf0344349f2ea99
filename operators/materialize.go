package operators

import (
	"errors"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
)

// Materialize keeps a table's current rows — the latest record of each
// key, a tombstone deleting it — in a state store that pull queries read.
//
// The store key is the record key, or for a windowed table the key and
// window in window's store-key order, so that a key's windows are adjacent
// and sorted by start. The value packs the record's timestamp and its key
// and value bytes, so that a pull query decodes it with the table's own
// Decoder.
type Materialize struct {
	Store  state.Store
	Window *WindowedKey
	// sk and val are the store key and value of the record in hand,
	// reused from record to record: the stores copy what Put and Delete
	// are given (TaskStore into its batch, MemStore into its map; as
	// Repartition's tkey relies on), where q5's tables allocated both,
	// the key twice, for every change.
	sk, val []byte
}

var _ Processor = (*Materialize)(nil)

// Process implements Processor.
func (m *Materialize) Process(rec *log.Record, _ Emit) error {
	sk, err := appendMaterializedKey(m.sk[:0], rec.Key, m.Window)
	if err != nil {
		return err
	}
	m.sk = sk
	if rec.Value == nil {
		return m.Store.Delete(sk)
	}
	m.val = appendPrev(m.val[:0], rec.Key, rec.Value, rec.Timestamp)
	return m.Store.Put(sk, m.val)
}

// Flush implements Processor.
func (m *Materialize) Flush(Emit) error { return nil }

// MaterializedKey is the store key of a table record's key.
func MaterializedKey(key []byte, w *WindowedKey) ([]byte, error) {
	return appendMaterializedKey(make([]byte, 0, 1+len(key)), key, w)
}

// appendMaterializedKey appends the store key of a table record's key
// to dst.
func appendMaterializedKey(dst, key []byte, w *WindowedKey) ([]byte, error) {
	if w == nil {
		if key == nil {
			return nil, errors.New("operators: table record without a key")
		}
		return append(append(dst, 'k'), key...), nil
	}
	if w.Session {
		k, win, err := window.ParseSessionWindowedKey(key)
		if err != nil {
			return nil, err
		}
		return window.AppendSessionStoreKey(append(dst, 'k'), k, win), nil
	}
	k, start, err := window.ParseTimeWindowedKey(key)
	if err != nil {
		return nil, err
	}
	return window.AppendStoreKey(append(dst, 'k'), k, start), nil
}

// MaterializedRecord rebuilds the record a materialized value holds.
func MaterializedRecord(v []byte, partition int32) log.Record {
	k, val, ts := splitPrev(v)
	return log.Record{Key: k, Value: val, Timestamp: ts, Partition: partition, Offset: -1}
}
