// Package suites runs the .slt suites in testdata/, each against a fresh
// in-process Runnel over pgwire. `go test ./tests/suites -slt.rewrite`
// regenerates expected results; `go run ./tests/cmd/slt -addr host:port
// tests/suites/testdata/*.slt` runs them against a running server.
package suites

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
	"github.com/runnel/runnel/tests/slt"
)

func TestSuites(t *testing.T) {
	files, err := filepath.Glob("testdata/*.slt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no .slt files in testdata")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".slt"), func(t *testing.T) {
			t.Parallel()
			// The suites spell out every change of an aggregation, as
			// ksqlDB's query-validation tests do, so they run with its
			// record cache off, as those do; a file that tests the
			// cache SETs it back on.
			s := harness.Start(t, harness.Options{Engine: func(o *engine.Options) { o.CacheMaxBytesBuffering = -1 }})
			slt.RunFiles(t, func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, s.DSN()) }, f)
		})
	}
}
