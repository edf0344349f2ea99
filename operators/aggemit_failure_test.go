package operators

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// havingFailsAt is a HAVING over the harness's row whose evaluation fails
// when COUNT(*), at index col of the row, is n, and holds otherwise.
type havingFailsAt struct{ col, n int }

func (h havingFailsAt) Type() types.Type { return types.Boolean }
func (h havingFailsAt) String() string   { return "FAILS_AT(COUNT(*))" }
func (h havingFailsAt) Eval(row types.Row) (types.Value, error) {
	if row[h.col].Int() == int64(h.n) {
		return types.Value{}, errors.New("having exploded")
	}
	return types.NewBoolean(true), nil
}

// TestAggregatorEmitCacheFailures: a merged change whose HAVING fails at
// the flush is skipped, counted, and kept for the task's processing log
// (takeFlushFailures) with a message naming its group and window; the
// other changes are emitted.
func TestAggregatorEmitCacheFailures(t *testing.T) {
	tumbling := &window.Spec{Kind: window.Tumbling, Size: time.Minute, Grace: time.Hour, HasGrace: true}
	session := &window.Spec{Kind: window.Session, Gap: 5 * time.Second, Grace: time.Hour, HasGrace: true}
	tests := []struct {
		name   string
		window *window.Spec
		want   string // the failure's message
		out    string // what the flush emitted
	}{
		{"unwindowed", nil, "the batch's merged change of group (a) (no one record made it): having exploded", "b 1 1"},
		{"tumbling", tumbling, "the batch's merged change of group (a), window [0, 60000] (no one record made it): having exploded", "b 0 60000 1 1"},
		{"session", session, "the batch's merged change of group (a), window [1000, 2000] (no one record made it): having exploded", "b 1000 1000 1 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newAggHarness(t, tt.window, false, state.NewMemStore())
			if tt.window != nil {
				// A windowed row's COUNT(*) is after WINDOWSTART and
				// WINDOWEND.
				h.a.Spec.Having = havingFailsAt{col: 3, n: 2}
			} else {
				h.a.Spec.Having = havingFailsAt{col: 1, n: 2}
			}
			h.a.EmitCacheBytes = 10_000_000
			h.apply("a", 1, 1_000)
			h.apply("b", 1, 1_000)
			h.apply("a", 1, 2_000)
			h.flush()
			h.expect(tt.out)
			errs := h.a.takeFlushFailures()
			if len(errs) != 1 || errs[0].Error() != tt.want {
				t.Fatalf("failures = %q, want [%q]", errs, tt.want)
			}
			if n := h.a.Metrics.Failed.Load(); n != 1 {
				t.Fatalf("failed = %d, want 1", n)
			}
			if errs := h.a.takeFlushFailures(); len(errs) != 0 {
				t.Fatalf("failures taken twice: %q", errs)
			}
		})
	}
}

// TestTaskDescribesFlushFailures: a task whose aggregation fails to
// evaluate a merged change at its flush describes it in the processing
// log, committed with the batch, and goes on.
func TestTaskDescribesFlushFailures(t *testing.T) {
	h := newAggHarness(t, nil, false, state.NewMemStore())
	h.a.Spec.Having = havingFailsAt{col: 1, n: 2}
	h.a.EmitCacheBytes = 10_000_000
	h.a.Input = func(rec *log.Record) (GroupInput, bool, error) {
		key := types.Row{types.NewString(string(rec.Value))}
		kb, err := h.codec.EncodeKey(key)
		if err != nil {
			return GroupInput{}, false, err
		}
		return GroupInput{Key: key, KeyBytes: kb, Time: rec.Timestamp, Args: [][]types.Value{nil, {types.NewBigint(1)}}}, true, nil
	}
	h.a.Output = func(out AggOutput, emit Emit) error {
		v := fmt.Sprintf("%s %d", out.Row[0].Str(), out.Row[1].Int())
		emit(log.ProduceRecord{Topic: "out", Record: log.Record{Value: []byte(v), Partition: 0}})
		return nil
	}
	f := startPanicTask(t, h.a)
	f.append(t, "a", "a", "b")
	f.waitCommitted(t, 3)
	// However the records were batched, a's count reached 2 once, in
	// one flush: that change failed; b's did not.
	plog := f.records("plog")
	if len(plog) != 1 || !strings.Contains(plog[0], "merged change of group (a)") || !strings.Contains(plog[0], "having exploded") {
		t.Fatalf("processing log = %q, want the failure of group (a)", plog)
	}
	if out := strings.Join(f.records("out"), ","); !strings.Contains(out, "b 1") || strings.Contains(out, "a 2") {
		t.Fatalf("sink = %q, want b 1 and no a 2", out)
	}
	if n := f.task.Metrics.Failed.Load(); n != 0 {
		// The aggregator counts its own failures (its Metrics), not
		// the task's.
		t.Fatalf("task failed count = %d", n)
	}
	if n := h.a.Metrics.Failed.Load(); n != 1 {
		t.Fatalf("aggregator failed count = %d, want 1", n)
	}
	// And it goes on.
	f.append(t, "c")
	f.waitCommitted(t, 4)
	if out := f.records("out"); out[len(out)-1] != "c 1" {
		t.Fatalf("sink after more input = %q", out)
	}
	if plog := f.records("plog"); len(plog) != 1 {
		t.Fatalf("processing log after more input = %q", plog)
	}
}
