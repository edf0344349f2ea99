package nexmark

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/log"
)

// pullTimeoutMs is the pull-query timeout AwaitQuery sets on its
// connection: a table may take minutes to catch up on a large run.
const pullTimeoutMs = 24 * 60 * 60 * 1000

// pollEvery is how often AwaitQuery reads the query's committed offsets.
const pollEvery = 5 * time.Millisecond

// StartQuery starts q as a persistent query over conn, reading its input
// from the earliest offset, and returns the query's id (which is also its
// consumer group).
func StartQuery(ctx context.Context, conn *pgx.Conn, q Query) (string, error) {
	if !q.Supported() {
		return "", fmt.Errorf("nexmark: %s is not supported: %s", q.Name, q.NotSupported)
	}
	if _, err := conn.Exec(ctx, `SET 'auto.offset.reset'='earliest'`); err != nil {
		return "", fmt.Errorf("nexmark: %s: %w", q.Name, err)
	}
	if _, err := conn.Exec(ctx, q.SQL); err != nil {
		return "", fmt.Errorf("nexmark: %s: %w", q.Name, err)
	}
	id, _, err := queryStatus(ctx, conn, q.Sink)
	if err != nil {
		return "", fmt.Errorf("nexmark: %s: %w", q.Name, err)
	}
	return id, nil
}

// queryStatus finds the query writing sink in SHOW QUERIES.
func queryStatus(ctx context.Context, conn *pgx.Conn, sink string) (id, status string, err error) {
	rows, err := conn.Query(ctx, `SHOW QUERIES`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return "", "", err
	}
	defer rows.Close()
	for rows.Next() {
		vals := rows.RawValues()
		if len(vals) < 3 {
			return "", "", fmt.Errorf("SHOW QUERIES returned %d columns", len(vals))
		}
		if strings.EqualFold(string(vals[2]), sink) {
			id, status = string(vals[0]), string(vals[1])
		}
	}
	if err := rows.Err(); err != nil {
		return "", "", err
	}
	if id == "" {
		return "", "", fmt.Errorf("no query writes %s", sink)
	}
	return id, status, nil
}

// Progress is what AwaitQuery reports as it waits.
type Progress struct {
	// Done and Total are input records: committed by the query, and in the
	// input topic when the wait began.
	Done, Total int64
	// Phase is "input" while the query reads its input topic and "table"
	// while a table's later stages (its repartition topic, its
	// materialization) catch up.
	Phase string
}

// AwaitQuery waits until query id (started by StartQuery for q) has done
// all its work on the records its input topic holds now.
//
// A stream query is done when its committed offsets (group id) reach the
// input topic's end offsets: it commits its output, its state and its
// offsets together, so the output is complete then. A table query is done
// when, in addition, a pull query on its table answers: a pull query
// waits until every stage of the query (the repartition topic too) and the
// table's materialization have caught up with the writes made before it
// (README's "pull queries read their writes").
//
// In Kafka mode a commit's offsets may show a moment before the
// transaction markers that make its output readable; a pull query waits
// on the tasks themselves and has no such gap.
//
// progress, when set, is called on every poll; it should throttle itself.
func AwaitQuery(ctx context.Context, conn *pgx.Conn, lg log.Log, q Query, id string, progress func(Progress)) error {
	topic := Topics[q.Input]
	ends, err := lg.EndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("nexmark: %s: end offsets of %s: %w", q.Name, topic, err)
	}
	var total int64
	for _, e := range ends {
		total += e
	}
	lastStatus := time.Now()
	for {
		committed, err := lg.CommittedOffsets(ctx, id, topic)
		if err != nil {
			return fmt.Errorf("nexmark: %s: committed offsets: %w", q.Name, err)
		}
		var done int64
		caught := true
		for p, end := range ends {
			c := committed[int32(p)]
			if c < end {
				caught = false
			}
			done += min(c, end)
		}
		if progress != nil {
			progress(Progress{Done: done, Total: total, Phase: "input"})
		}
		if caught {
			break
		}
		// A query that fails would never catch up: look at its status
		// now and then rather than wait forever.
		if time.Since(lastStatus) > time.Second {
			lastStatus = time.Now()
			if _, status, err := queryStatus(ctx, conn, q.Sink); err != nil {
				return fmt.Errorf("nexmark: %s: %w", q.Name, err)
			} else if !strings.EqualFold(status, "RUNNING") {
				return fmt.Errorf("nexmark: %s: query %s is %s", q.Name, id, status)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
	if !q.Table {
		return nil
	}
	if progress != nil {
		progress(Progress{Done: total, Total: total, Phase: "table"})
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`SET 'runnel.pull.timeout.ms'='%d'`, pullTimeoutMs)); err != nil {
		return fmt.Errorf("nexmark: %s: %w", q.Name, err)
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT * FROM %s LIMIT 1`, q.Sink), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return fmt.Errorf("nexmark: %s: waiting with a pull query: %w", q.Name, err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("nexmark: %s: waiting with a pull query: %w", q.Name, err)
	}
	return nil
}

// StopQuery terminates query id and drops its sink with its topic, so that
// the next query runs alone and the disk does not fill up.
func StopQuery(ctx context.Context, conn *pgx.Conn, q Query, id string) error {
	if _, err := conn.Exec(ctx, "TERMINATE "+id); err != nil {
		return fmt.Errorf("nexmark: %s: terminate %s: %w", q.Name, id, err)
	}
	kind := "STREAM"
	if q.Table {
		kind = "TABLE"
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("DROP %s %s DELETE TOPIC", kind, q.Sink)); err != nil {
		return fmt.Errorf("nexmark: %s: drop %s: %w", q.Name, q.Sink, err)
	}
	return nil
}
