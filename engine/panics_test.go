package engine

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// lockedBuffer collects log output written from any goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type panickyCompactor struct{}

func (panickyCompactor) Compact(context.Context, string) error { panic("compactor exploded") }

// TestEngineGoroutinesRecoverPanics: the compaction loop and push query
// readers, goroutines of the engine's own, turn a panic into a log line
// (with its stack) and go on; a push query's record becomes a skipped one.
func TestEngineGoroutinesRecoverPanics(t *testing.T) {
	var out lockedBuffer
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	e.compactTopic(panickyCompactor{}, "t")
	if s := out.String(); !strings.Contains(s, `msg="compaction panicked"`) || !strings.Contains(s, "compactor exploded") || !strings.Contains(s, "stack=") {
		t.Errorf("compaction panic was not logged with its stack:\n%s", s)
	}

	conv := e.safeConvert("t", func(rec *log.Record) (types.Row, bool, error) {
		if string(rec.Value) == "bad" {
			var s []int
			_ = s[len(rec.Value)] // an index out of range, as a bug would
		}
		return types.Row{types.NewString(string(rec.Value))}, true, nil
	})
	for i := 0; i < 3; i++ {
		if _, ok, err := conv(&log.Record{Value: []byte("bad")}); ok || err == nil || !strings.HasPrefix(err.Error(), "panic: ") {
			t.Errorf("a panicking record: ok %v, err %v", ok, err)
		}
	}
	if row, ok, err := conv(&log.Record{Value: []byte("good")}); !ok || err != nil || row[0].Str() != "good" {
		t.Errorf("a good record after the panics: %v %v %v", row, ok, err)
	}
	if n := strings.Count(out.String(), `msg="push query panicked"`); n != 1 {
		t.Errorf("push query panics logged %d times, want once per query", n)
	}
}
