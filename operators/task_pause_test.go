package operators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/log/embedded/quotafs"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// lines is a slog.Handler that keeps the messages it is given.
type lines struct {
	mu   *sync.Mutex
	msgs *[]string
}

func newLines() lines { return lines{mu: &sync.Mutex{}, msgs: new([]string)} }

func (h lines) Enabled(context.Context, slog.Level) bool { return true }
func (h lines) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.msgs = append(*h.msgs, r.Message)
	return nil
}
func (h lines) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h lines) WithGroup(string) slog.Handler      { return h }

// count returns how many messages start with prefix.
func (h lines) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range *h.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// TestTaskPausesOnFullDisk: a task whose commits are refused for lack of
// space pauses (Failing wraps log.ErrDiskFull) and says so once, however
// often it retries, then resumes by itself once space returns, with every
// input record in its output exactly once and counted once.
func TestTaskPausesOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	fs, err := quotafs.New(vfs.Default, dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	out := newLines()
	logger := slog.New(out)
	// "in" is a system topic, so that records can still be appended to it
	// between the two reserves, where the task's (data) commits are
	// refused.
	l, err := embedded.Open(embedded.Options{Dir: dir, Logger: slog.New(newLines()), FS: fs, SystemTopics: []string{"in"},
		Disk: embedded.DiskOptions{ReserveBytes: 2 << 20, SystemReserveBytes: 512 << 10, BallastBytes: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"in", "out"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	cols := []types.Column{{Name: "V", Type: types.Bigint}}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(cols, "NONE", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	metrics := &Metrics{}
	task := &Task{Log: l, Group: "g", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "in"}}, Metrics: metrics, Logger: logger,
		Processor: &Stateless{Decoder: dec, Encoder: enc, Sink: "out",
			Pipeline: &Pipeline{Project: []expr.Expr{&expr.Column{Index: 0, T: types.Bigint}}, TimeIndex: 1}}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := task.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	defer func() { cancel(); <-done }()

	fs.Fill(1 << 20)
	var recs []log.Record
	for i := range 10 {
		recs = append(recs, log.Record{Value: fmt.Appendf(nil, `{"V":%d}`, i), Partition: 0})
	}
	if _, err := l.Append(ctx, "in", recs); err != nil {
		t.Fatal(err)
	}
	for !errors.Is(task.Failing(), log.ErrDiskFull) {
		if ctx.Err() != nil {
			t.Fatalf("task never paused; failing: %v", task.Failing())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Stay full over at least two more tries.
	time.Sleep(2*pausedRetry + pausedRetry/2)
	if n := out.count("task paused"); n != 1 {
		t.Errorf("%d lines say the task is paused over several tries, want 1", n)
	}
	if n := out.count("task failed"); n != 0 {
		t.Errorf("%d lines call a full disk a failure", n)
	}
	if n := metrics.Consumed.Load(); n != 0 {
		t.Errorf("Consumed = %d while nothing was committed", n)
	}

	fs.SetQuota(64 << 20)
	for task.Failing() != nil {
		if ctx.Err() != nil {
			t.Fatalf("task never resumed: %v", task.Failing())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The task clears its failure and then logs that it resumed: on a
	// loaded machine the line may come a moment after Failing says nil.
	for out.count("task resumed") == 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if n := out.count("task resumed"); n != 1 {
		t.Errorf("%d lines say the task resumed, want 1", n)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "out"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for len(got) < 10 {
		batch, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("read output (%d so far): %v", len(got), err)
		}
		for _, rec := range batch {
			got = append(got, string(rec.Value))
		}
	}
	if ends, _ := l.EndOffsets(ctx, "out"); ends[0] != 10 {
		t.Errorf("output holds %d records, want 10", ends[0])
	}
	sort.Strings(got)
	for i, v := range got {
		if want := fmt.Sprintf(`{"V":%d}`, i); v != want {
			t.Fatalf("output %d = %s, want %s (all: %v)", i, v, want, got)
		}
	}
	if n := metrics.Consumed.Load(); n != 10 {
		t.Errorf("Consumed = %d, want 10", n)
	}
}
