package operators

import (
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/window"
)

// TableSink writes an aggregation's changes to its result table's topic:
// an upsert per change, a tombstone per deleted group. A windowed table's
// keys carry the window as ksqlDB encodes them, and records are
// partitioned by the key without the window (as Kafka Streams' windowed
// partitioner does), so a key's windows share a partition.
type TableSink struct {
	// Encoder encodes rows laid out as the table's columns.
	Encoder    *Encoder
	Topic      string
	Partitions int32
	// Window is the table's window spec; nil for an unwindowed table.
	Window *window.Spec
}

// Emit is an Aggregator's Output.
func (s *TableSink) Emit(out AggOutput, emit Emit) error {
	key, err := s.Encoder.EncodeKey(out.Key)
	if err != nil {
		return err
	}
	rec := log.Record{Key: key, Timestamp: out.Time, Partition: -1}
	if out.Window != nil {
		rec.Partition = log.PartitionFor(key, s.Partitions)
		if s.Window.Kind == window.Session {
			rec.Key = window.AppendSessionWindowedKey(nil, key, *out.Window)
		} else {
			rec.Key = window.AppendTimeWindowedKey(nil, key, out.Window.Start)
		}
	}
	if out.Row != nil {
		if rec.Value, err = s.Encoder.EncodeValue(out.Row); err != nil {
			return err
		}
	}
	emit(log.ProduceRecord{Topic: s.Topic, Record: rec})
	return nil
}
