package engine

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
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

// TestEngineGoroutinesRecoverPanics: the compaction loop, a goroutine of
// the engine's own, turns a panic into a log line (with its stack) and
// goes on. (Push query readers do the same: operators/build tests them.)
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
}
