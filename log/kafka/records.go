package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/log"
)

// toKgo converts a record bound for topic/partition. A nil Value stays nil,
// which Kafka stores as a null value: a tombstone. ts is the timestamp to
// use (already defaulted to now by the caller).
func toKgo(topic string, partition int32, r *log.Record, ts int64) *kgo.Record {
	kr := &kgo.Record{
		Topic:     topic,
		Partition: partition,
		Key:       r.Key,
		Value:     r.Value,
		Timestamp: time.UnixMilli(ts),
	}
	if len(r.Headers) > 0 {
		kr.Headers = make([]kgo.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			kr.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	return kr
}

// fromKgo converts a fetched record. franz-go allocates every fetched
// record's slices afresh, so the result may be retained as the contract
// promises.
func fromKgo(kr *kgo.Record) log.Record {
	r := log.Record{
		Key:       kr.Key,
		Value:     kr.Value,
		Timestamp: kr.Timestamp.UnixMilli(),
		Partition: kr.Partition,
		Offset:    kr.Offset,
	}
	if len(kr.Headers) > 0 {
		r.Headers = make([]log.Header, len(kr.Headers))
		for i, h := range kr.Headers {
			r.Headers[i] = log.Header{Key: h.Key, Value: h.Value}
		}
	}
	return r
}
