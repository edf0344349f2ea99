package nexmark

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// StartQuery starts q's stages as persistent queries over conn, each
// reading its inputs from the earliest offset, and returns their ids
// (which are also their consumer groups), in stage order; a declared
// stage runs no query and has the id "". The stages all run at once: each
// reads its inputs as the stages before it write them.
func StartQuery(ctx context.Context, conn *pgx.Conn, q Query) ([]string, error) {
	if !q.Supported() {
		return nil, fmt.Errorf("nexmark: %s is not supported: %s", q.Name, q.NotSupported)
	}
	if _, err := conn.Exec(ctx, `SET 'auto.offset.reset'='earliest'`); err != nil {
		return nil, fmt.Errorf("nexmark: %s: %w", q.Name, err)
	}
	var ids []string
	for _, st := range q.Stages {
		if _, err := conn.Exec(ctx, st.SQL); err != nil {
			return ids, fmt.Errorf("nexmark: %s: %s: %w", q.Name, st.Sink, err)
		}
		if st.Declared {
			ids = append(ids, "")
			continue
		}
		// An insert writes an earlier stage's sink: its query is the one
		// writing that sink that is not the earlier stage's.
		id, _, err := findQuery(ctx, conn, func(qid, sink string) bool {
			return strings.EqualFold(sink, st.Sink) && !slices.Contains(ids, qid)
		})
		if err != nil {
			return ids, fmt.Errorf("nexmark: %s: the query writing %s: %w", q.Name, st.Sink, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// findQuery finds, in SHOW QUERIES, the query for which match(id, sink)
// holds (the last, if several do), with its status.
func findQuery(ctx context.Context, conn *pgx.Conn, match func(id, sink string) bool) (id, status string, err error) {
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
		if match(string(vals[0]), string(vals[2])) {
			id, status = string(vals[0]), string(vals[1])
		}
	}
	if err := rows.Err(); err != nil {
		return "", "", err
	}
	if id == "" {
		return "", "", errors.New("no such query in SHOW QUERIES")
	}
	return id, status, nil
}

// Progress is what AwaitQuery reports as it waits.
type Progress struct {
	// Done and Total are event records: committed by the stages that read
	// the events, and in their topics when the wait began.
	Done, Total int64
	// Phase is "input" while the stages that read the events read them,
	// and "table" once they are done while later stages, repartition
	// topics and a table's materialization catch up.
	Phase string
}

// AwaitQuery waits until the stages of q (started by StartQuery, ids in
// stage order) have done all their work on the records the event topics
// hold now.
//
// A stage is done when its committed offsets reach the end offsets of its
// inputs, and then of the internal topics it writes between its own
// steps (a join's or a GROUP BY's repartition topics): it commits its
// output, its state and its offsets together, so its output is then
// complete. The stages are awaited in order, so that each one's inputs,
// the sinks of the stages before it, are complete when its wait begins. A
// stage writing a table is done when, in addition, a pull query on its
// table answers: a pull query waits until every step of the query and the
// table's materialization have caught up with the writes made before it
// (README's "pull queries read their writes").
//
// In Kafka mode a commit's offsets may show a moment before the
// transaction markers that make its output readable; a pull query waits
// on the tasks themselves and has no such gap.
//
// progress, when set, is called on every poll; it should throttle itself.
func AwaitQuery(ctx context.Context, conn *pgx.Conn, lg log.Log, q Query, ids []string, progress func(Progress)) error {
	if len(ids) != len(q.Stages) {
		return fmt.Errorf("nexmark: %s: %d query ids for %d stages", q.Name, len(ids), len(q.Stages))
	}
	// The events' totals, for progress.
	var total int64
	for _, k := range q.Inputs {
		n, err := sumEnds(ctx, lg, Topics[k])
		if err != nil {
			return fmt.Errorf("nexmark: %s: end offsets of %s: %w", q.Name, Topics[k], err)
		}
		total += n
	}
	doneEvents := map[string]int64{}
	report := func(phase string) {
		if progress == nil {
			return
		}
		var done int64
		for _, n := range doneEvents {
			done += n
		}
		progress(Progress{Done: min(done, total), Total: total, Phase: phase})
	}
	for i, st := range q.Stages {
		if st.Declared {
			continue // no query: what it declares is written by an earlier stage
		}
		phase := "table"
		if st.readsEvents() {
			phase = "input"
		}
		onTopic := func(topic string, done int64) {
			if kindOfTopic(topic) >= 0 {
				doneEvents[ids[i]+"\x00"+topic] = done
			}
			report(phase)
		}
		if err := awaitTopics(ctx, conn, lg, q, st, ids[i], st.Inputs, onTopic); err != nil {
			return err
		}
		if progress != nil && phase == "input" && i == len(q.Stages)-1 {
			progress(Progress{Done: total, Total: total, Phase: "table"})
		}
		if err := awaitInternal(ctx, conn, lg, q, st, ids[i], func(string, int64) { report("table") }); err != nil {
			return err
		}
		if !st.Table {
			continue
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf(`SET 'runnel.pull.timeout.ms'='%d'`, pullTimeoutMs)); err != nil {
			return fmt.Errorf("nexmark: %s: %w", q.Name, err)
		}
		rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT * FROM %s LIMIT 1`, st.Sink), pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			return fmt.Errorf("nexmark: %s: waiting with a pull query on %s: %w", q.Name, st.Sink, err)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("nexmark: %s: waiting with a pull query on %s: %w", q.Name, st.Sink, err)
		}
	}
	return nil
}

// awaitTopics waits until query id's committed offsets reach the end
// offsets, as they are when the wait begins, of every partition of
// topics. onTopic gets each topic's committed records on every poll.
func awaitTopics(ctx context.Context, conn *pgx.Conn, lg log.Log, q Query, st Stage, id string, topics []string, onTopic func(topic string, done int64)) error {
	ends := make([][]int64, len(topics))
	for i, topic := range topics {
		var err error
		if ends[i], err = lg.EndOffsets(ctx, topic); err != nil {
			return fmt.Errorf("nexmark: %s: end offsets of %s: %w", q.Name, topic, err)
		}
	}
	lastStatus := time.Now()
	for {
		caught := true
		for i, topic := range topics {
			committed, err := lg.CommittedOffsets(ctx, id, topic)
			if err != nil {
				return fmt.Errorf("nexmark: %s: committed offsets of %s: %w", q.Name, topic, err)
			}
			var done int64
			for p, end := range ends[i] {
				c := committed[int32(p)]
				if c < end {
					caught = false
				}
				done += min(c, end)
			}
			onTopic(topic, done)
		}
		if caught {
			return nil
		}
		// A query that fails would never catch up: look at its status
		// now and then rather than wait forever.
		if time.Since(lastStatus) > time.Second {
			lastStatus = time.Now()
			if _, status, err := findQuery(ctx, conn, func(qid, _ string) bool { return qid == id }); err != nil {
				return fmt.Errorf("nexmark: %s: query %s: %w", q.Name, id, err)
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
}

// awaitInternal waits until query id has consumed its internal topics
// (named _runnel_<id>_...) to their ends, once its inputs are consumed. A
// step's writes into the next step's topic are committed with its input
// offsets, so once the inputs are consumed each internal topic's end is
// final when every topic before it has been consumed; passes repeat until
// one finds every internal topic consumed and no end moved.
func awaitInternal(ctx context.Context, conn *pgx.Conn, lg log.Log, q Query, st Stage, id string, onTopic func(string, int64)) error {
	infos, err := lg.Topics(ctx)
	if err != nil {
		return fmt.Errorf("nexmark: %s: topics: %w", q.Name, err)
	}
	internal := internalTopics(infos, id)
	if len(internal) == 0 {
		return nil
	}
	var last []int64
	for {
		if err := awaitTopics(ctx, conn, lg, q, st, id, internal, onTopic); err != nil {
			return err
		}
		var now []int64
		for _, topic := range internal {
			n, err := sumEnds(ctx, lg, topic)
			if err != nil {
				return fmt.Errorf("nexmark: %s: end offsets of %s: %w", q.Name, topic, err)
			}
			now = append(now, n)
		}
		if slices.Equal(now, last) {
			return nil
		}
		last = now
	}
}

// internalTopics lists the internal topics of query id among infos: those
// named _runnel_<id>_...
func internalTopics(infos []log.TopicInfo, id string) []string {
	prefix := "_runnel_" + id + "_"
	var internal []string
	for _, info := range infos {
		if strings.HasPrefix(info.Name, prefix) {
			internal = append(internal, info.Name)
		}
	}
	return internal
}

// StopQuery terminates q's stages (ids, as StartQuery returned them), the
// last first, and drops their sinks with their topics, so that the next
// query runs alone and the disk does not fill up. A declared stage is
// dropped without its topic, which the stage that writes it deletes; an
// insert is only terminated, before the stage whose sink it writes.
func StopQuery(ctx context.Context, conn *pgx.Conn, q Query, ids []string) error {
	for i := len(ids) - 1; i >= 0; i-- {
		st := q.Stages[i]
		kind := "STREAM"
		if st.Table {
			kind = "TABLE"
		}
		if st.Declared {
			if _, err := conn.Exec(ctx, fmt.Sprintf("DROP %s %s", kind, st.Sink)); err != nil {
				return fmt.Errorf("nexmark: %s: drop %s: %w", q.Name, st.Sink, err)
			}
			continue
		}
		if _, err := conn.Exec(ctx, "TERMINATE "+ids[i]); err != nil {
			return fmt.Errorf("nexmark: %s: terminate %s: %w", q.Name, ids[i], err)
		}
		if st.Insert {
			continue // its sink is the earlier stage's to drop
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP %s %s DELETE TOPIC", kind, st.Sink)); err != nil {
			return fmt.Errorf("nexmark: %s: drop %s: %w", q.Name, st.Sink, err)
		}
	}
	return nil
}
