package server_test

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/server"
)

// runPsql runs the real psql against ts with extra arguments and returns
// its standard output.
func runPsql(t *testing.T, ts *testServer, args ...string) string {
	t.Helper()
	return runPsqlSSL(t, ts, "prefer", args...)
}

// runPsqlSSL is runPsql with the given sslmode.
func runPsqlSSL(t *testing.T, ts *testServer, sslmode string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := []string{"-X", "-h", host, "-p", port, "-U", "x", "-d", "db", "-v", "ON_ERROR_STOP=1"}
	cmd := exec.CommandContext(ctx, "psql", append(base, args...)...)
	cmd.Env = []string{"PGCONNECT_TIMEOUT=5", "PGSSLMODE=" + sslmode, "PAGER=", "PSQL_PAGER=", "LANG=C.UTF-8"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("psql %v: %v\nstderr: %s\nstdout: %s", args, err, stderr.String(), out)
	}
	return string(out)
}

func TestPsql(t *testing.T) {
	ts := startServer(t, server.Options{})
	got := runPsql(t, ts, "-c", "count 3")
	want := " n \n---\n 0\n 1\n 2\n(3 rows)\n\n"
	if got != want {
		t.Errorf("aligned:\n%q\nwant\n%q", got, want)
	}
	got = runPsql(t, ts, "-A", "-t", "-c", "count 3")
	if want := "0\n1\n2\n"; got != want {
		t.Errorf("-A -t: %q, want %q", got, want)
	}
	got = runPsql(t, ts, "-A", "-t", "-c", "types")
	want = strings.Join(allText, "|") + "|\n" + strings.Repeat("|", len(allColumns)-1) + "\n"
	if got != want {
		t.Errorf("types:\n%q\nwant\n%q", got, want)
	}
	got = runPsql(t, ts, "-c", "ddl")
	if got != "CREATE STREAM\n" {
		t.Errorf("ddl: %q", got)
	}
	// Several -c, one query each, on one connection.
	got = runPsql(t, ts, "-A", "-t", "-c", "count 1", "-c", "count 2")
	if got != "0\n0\n1\n" {
		t.Errorf("two commands: %q", got)
	}
}

func TestPsqlError(t *testing.T) {
	ts := startServer(t, server.Options{})
	host, port, _ := net.SplitHostPort(ts.addr)
	cmd := exec.Command("psql", "-X", "-h", host, "-p", port, "-U", "x", "-d", "db", "-c", "syntax x")
	cmd.Env = []string{"PGCONNECT_TIMEOUT=5", "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("psql succeeded: %s", out)
	}
	// psql shows the position with a caret under the third character.
	want := "ERROR:  syntax error at or near \"x\"\nLINE 1: syntax x\n          ^\n"
	if string(out) != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
}

// TestPsqlTypes checks psql's aligned rendering of every type.
func TestPsqlTypes(t *testing.T) {
	ts := startServer(t, server.Options{})
	got := runPsql(t, ts, "-c", "types")
	t.Logf("\n%s", got)
	for _, want := range allText {
		if !strings.Contains(got, want) {
			t.Errorf("%q missing from\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "(2 rows)\n\n") {
		t.Errorf("no row count:\n%s", got)
	}
}
