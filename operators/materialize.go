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
}

var _ Processor = (*Materialize)(nil)

// Process implements Processor.
func (m *Materialize) Process(rec *log.Record, _ Emit) error {
	sk, err := MaterializedKey(rec.Key, m.Window)
	if err != nil {
		return err
	}
	if rec.Value == nil {
		return m.Store.Delete(sk)
	}
	return m.Store.Put(sk, joinPrev(rec.Key, rec.Value, rec.Timestamp))
}

// Flush implements Processor.
func (m *Materialize) Flush(Emit) error { return nil }

// MaterializedKey is the store key of a table record's key.
func MaterializedKey(key []byte, w *WindowedKey) ([]byte, error) {
	if w == nil {
		if key == nil {
			return nil, errors.New("operators: table record without a key")
		}
		return append([]byte{'k'}, key...), nil
	}
	if w.Session {
		k, win, err := window.ParseSessionWindowedKey(key)
		if err != nil {
			return nil, err
		}
		return window.AppendSessionStoreKey([]byte{'k'}, k, win), nil
	}
	k, start, err := window.ParseTimeWindowedKey(key)
	if err != nil {
		return nil, err
	}
	return window.AppendStoreKey([]byte{'k'}, k, start), nil
}

// MaterializedRecord rebuilds the record a materialized value holds.
func MaterializedRecord(v []byte, partition int32) log.Record {
	k, val, ts := splitPrev(v)
	return log.Record{Key: k, Value: val, Timestamp: ts, Partition: partition, Offset: -1}
}
