package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/sql/types"
)

// ProcessingLogStream is the stream where skipped records are described.
const ProcessingLogStream = "RUNNEL_PROCESSING_LOG"

// processingLogColumns is the processing log's schema.
var processingLogColumns = []types.Column{
	{Name: "QUERY_ID", Type: types.String},
	{Name: "MESSAGE", Type: types.String},
	{Name: "TOPIC", Type: types.String},
	{Name: "PARTITION", Type: types.Int},
	{Name: "OFFSET", Type: types.Bigint},
	{Name: "RECORD_KEY", Type: types.String},
	{Name: "RECORD_VALUE", Type: types.String},
}

// ensureProcessingLog creates the processing log stream and its topic on
// first start.
func (e *Engine) ensureProcessingLog(ctx context.Context) error {
	if _, err := e.cat.Source(ProcessingLogStream); err == nil {
		return nil
	}
	topic := e.opts.ProcessingLogTopic
	if err := e.log.CreateTopic(ctx, topic, log.TopicConfig{Partitions: 1}); err != nil && !errors.Is(err, log.ErrTopicExists) {
		return fmt.Errorf("create processing log topic: %w", err)
	}
	err := e.cat.PutSource(ctx, &catalog.Source{
		Name:        ProcessingLogStream,
		Kind:        catalog.KindStream,
		Topic:       topic,
		Columns:     processingLogColumns,
		KeyFormat:   "NONE",
		ValueFormat: "JSON",
		Partitions:  1,
		Statement:   "-- created by Runnel: records that queries could not process",
		System:      true,
	})
	if errors.Is(err, catalog.ErrConcurrentChange) {
		// Another node of a cluster, starting at the same time on a new
		// cluster, created it first: that is the stream every node uses.
		return nil
	}
	return err
}

// processingLogRecord describes a skipped input record. The value is JSON
// in the processing log's schema, with key and value bytes rendered by
// printable.
func (e *Engine) processingLogRecord(f operators.Failure) log.ProduceRecord {
	v, _ := json.Marshal(map[string]any{
		"QUERY_ID":     f.QueryID,
		"MESSAGE":      f.Err.Error(),
		"TOPIC":        f.Topic,
		"PARTITION":    f.Record.Partition,
		"OFFSET":       f.Record.Offset,
		"RECORD_KEY":   printable(f.Record.Key),
		"RECORD_VALUE": printable(f.Record.Value),
	})
	return log.ProduceRecord{Topic: e.opts.ProcessingLogTopic, Record: log.Record{Value: v, Partition: 0, Timestamp: log.NoTimestamp}}
}

func printable(b []byte) any {
	if b == nil {
		return nil
	}
	if utf8.Valid(b) && isText(b) {
		return string(b)
	}
	// Not text: Kafka's big-endian INT and BIGINT serdes (the KAFKA
	// format of INT and BIGINT keys) print as numbers, as ksqlDB's PRINT
	// shows them.
	switch len(b) {
	case 4:
		return strconv.FormatInt(int64(int32(binary.BigEndian.Uint32(b))), 10)
	case 8:
		return strconv.FormatInt(int64(binary.BigEndian.Uint64(b)), 10)
	}
	return fmt.Sprintf("\\x%x", b)
}

// isText reports whether valid UTF-8 is printable text.
func isText(b []byte) bool {
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}
