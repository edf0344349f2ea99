package slt

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// RewriteFlagName is the name of the test flag that turns on -rewrite in
// RunFiles: `go test ./tests/... -args -slt.rewrite` (or
// `go test ./pkg -slt.rewrite`). The "slt." prefix keeps it apart from go
// test's own "test." flags and from datadriven's "-rewrite".
const RewriteFlagName = "slt.rewrite"

// RewriteEnv, set to 1 or true, turns on -rewrite in RunFiles too; it
// reaches every package of a `go test ./...` run, which a flag does not.
const RewriteEnv = "RUNNEL_SLT_REWRITE"

// RewriteFlag is the -slt.rewrite flag, registered on flag.CommandLine when
// this package is imported, so that a test binary parses it with its own
// flags (testing parses flags in m.Run, after package initialisation).
// Commands that import this package and parse flag.CommandLine gain the
// flag too; tests/cmd/slt uses its own FlagSet instead.
var RewriteFlag = registerRewriteFlag()

func registerRewriteFlag() *bool {
	return flag.Bool(RewriteFlagName, false, "rewrite the expected results of .slt queries in place")
}

// rewriteRequested reports whether -slt.rewrite or RUNNEL_SLT_REWRITE asks
// for a rewrite.
func rewriteRequested() bool {
	if *RewriteFlag {
		return true
	}
	b, _ := strconv.ParseBool(os.Getenv(RewriteEnv))
	return b
}

// RunFiles runs each file as a subtest named after its base name, on
// connections from connect, and reports every failed record with t.Errorf
// as file:line. With -slt.rewrite (or RUNNEL_SLT_REWRITE=1) it rewrites the
// expected results in place instead of failing on them. Verbose output
// (go test -v) goes to t.Log.
func RunFiles(t *testing.T, connect func(ctx context.Context) (*pgx.Conn, error), files ...string) {
	t.Helper()
	if len(files) == 0 {
		t.Fatal("slt.RunFiles: no files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := New(Options{
				Connect: connect,
				Rewrite: rewriteRequested(),
				Verbose: testing.Verbose(),
				Log:     testLog{t},
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run(t.Context(), f)
			for _, fl := range res.Failures {
				t.Errorf("%s", fl.Error())
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			t.Logf("%s: %d passed, %d failed, %d skipped, %d rewritten", f, res.Passed, res.Failed, res.Skipped, res.Rewritten)
		})
	}
}

// testLog writes to a test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
