package state

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testCtx bounds one test.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openEmbedded opens an embedded log in dir; the caller closes it.
func openEmbedded(t testing.TB, dir string) *embedded.Log {
	t.Helper()
	l, err := embedded.Open(embedded.Options{Dir: dir, Logger: quiet()})
	if err != nil {
		t.Fatalf("embedded.Open: %v", err)
	}
	return l
}

// newManager returns a manager over l with its default database.
func newManager(t testing.TB, l log.Log) *Manager {
	t.Helper()
	m, err := NewManager(Options{Log: l, Logger: quiet()})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m
}

// open opens a store or fails the test.
func open(t testing.TB, m *Manager, spec Spec) *TaskStore {
	t.Helper()
	s, err := m.Open(testCtx(t), spec)
	if err != nil {
		t.Fatalf("Open(%q): %v", spec.Name, err)
	}
	return s
}

func put(t testing.TB, s Store, k, v string) {
	t.Helper()
	if err := s.Put([]byte(k), []byte(v)); err != nil {
		t.Fatalf("Put(%q): %v", k, err)
	}
}

func del(t testing.TB, s Store, k string) {
	t.Helper()
	if err := s.Delete([]byte(k)); err != nil {
		t.Fatalf("Delete(%q): %v", k, err)
	}
}

// reader is a Store or a Reader, for assertions on either.
type reader interface {
	Get(key []byte) ([]byte, bool, error)
	Scan(start, end []byte, fn func(key, value []byte) bool) error
}

// wantGet asserts the value of k; want "" with absent means missing.
func wantGet(t testing.TB, s reader, k string, want string, present bool) {
	t.Helper()
	v, ok, err := s.Get([]byte(k))
	if err != nil {
		t.Fatalf("Get(%q): %v", k, err)
	}
	if ok != present || string(v) != want {
		t.Fatalf("Get(%q) = %q, %v; want %q, %v", k, v, ok, want, present)
	}
}

// dump scans [start, end) into "k=v" strings.
func dump(t testing.TB, s reader, start, end []byte) []string {
	t.Helper()
	var out []string
	err := s.Scan(start, end, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}
