package operators

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/runnel/runnel/log"
)

// Failure describes an input record a query had to skip.
type Failure struct {
	QueryID string
	Record  log.Record
	Topic   string
	Err     error
}

// FailureSink turns a failure into a record for the processing log, or
// returns ok == false to record nothing.
type FailureSink func(f Failure) (rec log.ProduceRecord, ok bool)

// Task runs one input partition of a persistent query: it reads from the
// group's committed offset, runs every record through the decoder and the
// pipeline, and commits each batch's output records, processing-log records
// and next input offset in one log transaction. A crash between two commits
// replays the uncommitted batch, whose output was never made visible, so
// nothing is lost or repeated.
type Task struct {
	Log      log.Log
	QueryID  string
	Input    log.TopicPartition
	Decoder  *Decoder
	Pipeline *Pipeline
	// Encoder encodes for SinkTopic; each task has its own.
	Encoder   *Encoder
	SinkTopic string
	// OnFailure reports skipped records; nil only counts them.
	OnFailure FailureSink
	Metrics   *Metrics
	Logger    *slog.Logger
}

// Run processes records until ctx is done. It returns nil when ctx ends
// and an error only for a failure of the log itself.
func (t *Task) Run(ctx context.Context) error {
	committed, err := t.Log.CommittedOffsets(ctx, t.QueryID, t.Input.Topic)
	if err != nil {
		return fmt.Errorf("task %s/%d: committed offsets: %w", t.QueryID, t.Input.Partition, err)
	}
	offset := committed[t.Input.Partition]
	r, err := t.Log.NewReader(ctx, t.Input, offset)
	if err != nil {
		return fmt.Errorf("task %s/%d: open reader: %w", t.QueryID, t.Input.Partition, err)
	}
	defer r.Close()
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("task %s/%d: read: %w", t.QueryID, t.Input.Partition, err)
		}
		txn := log.Txn{Group: t.QueryID, Offsets: map[log.TopicPartition]int64{}}
		for i := range recs {
			rec := &recs[i]
			out, ok, err := t.process(rec)
			switch {
			case err != nil:
				t.Metrics.fail(err)
				t.Logger.Debug("skipped record", "query", t.QueryID, "partition", rec.Partition, "offset", rec.Offset, "error", err)
				if t.OnFailure != nil {
					if pl, ok := t.OnFailure(Failure{QueryID: t.QueryID, Record: *rec, Topic: t.Input.Topic, Err: err}); ok {
						txn.Records = append(txn.Records, pl)
					}
				}
			case ok:
				txn.Records = append(txn.Records, log.ProduceRecord{Topic: t.SinkTopic, Record: out})
			}
		}
		t.Metrics.Consumed.Add(int64(len(recs)))
		txn.Offsets[t.Input] = recs[len(recs)-1].Offset + 1
		if err := t.Log.Commit(ctx, txn); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("task %s/%d: commit: %w", t.QueryID, t.Input.Partition, err)
		}
		t.Metrics.Produced.Add(int64(countTopic(txn.Records, t.SinkTopic)))
	}
}

// process turns one input record into at most one output record.
func (t *Task) process(rec *log.Record) (log.Record, bool, error) {
	row, ok, err := t.Decoder.Decode(rec)
	if err != nil || !ok {
		return log.Record{}, false, err
	}
	out, ts, ok, err := t.Pipeline.Apply(row)
	if err != nil || !ok {
		return log.Record{}, false, err
	}
	enc, err := t.Encoder.Encode(out, ts)
	if err != nil {
		return log.Record{}, false, err
	}
	return enc, true, nil
}

func countTopic(recs []log.ProduceRecord, topic string) int {
	n := 0
	for _, r := range recs {
		if r.Topic == topic {
			n++
		}
	}
	return n
}
