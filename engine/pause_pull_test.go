package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/internal/sqlstate"
)

// TestPullWaitingOnPausedQuery: a pull query waits on the entry of the
// query it found when it began. PAUSE replaces that entry and stops its
// tasks, so the wait could only end at runnel.pull.timeout.ms (57014);
// it fails at once instead, with 55000 and a message that names the
// query and RESUME. After RESUME, a wait that began on the stopped tasks
// follows the new ones and ends once they have caught up.
func TestPullWaitingOnPausedQuery(t *testing.T) {
	e := openQuiet(t, t.TempDir())
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM src (id INT KEY, a INT) WITH (kafka_topic='src', partitions=2)`)
	run(t, s, `CREATE TABLE sums AS SELECT id, COUNT(*) AS n, SUM(a) AS total FROM src GROUP BY id`)
	run(t, s, `INSERT INTO src (id, a) VALUES (1, 10), (2, 20)`)
	waitRows(t, e, `SELECT * FROM sums ORDER BY id`, "1 | 1 | 10,2 | 1 | 20")

	id := queryIDFor(t, e, "SUMS")
	before, ok := e.runningQuery(id)
	if !ok {
		t.Fatalf("query %s is not running", id)
	}
	// The state a waiting pull query is in once PAUSE has returned: it
	// holds the entry of the stopped tasks, which are behind the writes
	// acknowledged after them.
	run(t, s, `PAUSE `+id)
	run(t, s, `INSERT INTO src (id, a) VALUES (1, 5), (3, 30)`)

	// A context far longer than any test run: the wait must end on the
	// pause, not on the context.
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	err := e.awaitQuery(ctx, before)
	if err == nil {
		t.Fatal("wait on a paused query's stopped tasks returned nil")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait ended on its context, not on the pause: %v", err)
	}
	if got := sqlstate.Of(err); got != sqlstate.ObjectNotInState {
		t.Errorf("code %q, want %q (%v)", got, sqlstate.ObjectNotInState, err)
	}
	for _, want := range []string{id, "paused", "RESUME"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}

	run(t, s, `RESUME `+id)
	if err := e.awaitQuery(ctx, before); err != nil {
		t.Fatalf("wait after RESUME: %v", err)
	}
	// The wait followed the resumed tasks: they have processed the
	// inserts made while paused.
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM sums ORDER BY id`), ","); got != "1 | 2 | 15,2 | 1 | 20,3 | 1 | 30" {
		t.Errorf("after RESUME: %q", got)
	}
}

// queryIDFor is the id of the persistent query that writes sink.
func queryIDFor(t *testing.T, e *Engine, sink string) string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, rq := range e.mu.running {
		if rq.q != nil && strings.EqualFold(rq.q.Sink, sink) {
			return id
		}
	}
	t.Fatalf("no running query writes %s", sink)
	return ""
}
