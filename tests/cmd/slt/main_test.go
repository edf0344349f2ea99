package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runnel/runnel/tests/slt/pgtest"
)

func TestCLI(t *testing.T) {
	srv := pgtest.Start(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.slt", "statement ok\nCREATE TABLE cli (a INT)\n\nstatement ok\nINSERT INTO cli VALUES (1), (2)\n\n"+
		"query I rowsort\nSELECT a FROM cli\n----\n1\n2\n\nskipif runnel\nstatement ok\nbroken\n")
	bad := write("bad.slt", "query I\nSELECT 1\n----\n2\n\nstatement ok\nSELECT 1\n")
	// -addr takes host:port; a host starting with '/' is a socket directory.
	addr := fmt.Sprintf("%s:%d", srv.SocketDir, srv.Port)
	base := []string{"-addr", addr, "-user", srv.User, "-db", srv.Database}

	var out, errOut bytes.Buffer
	if code := run(append(base, good), &out, &errOut); code != 0 {
		t.Fatalf("good.slt: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if got := out.String(); got != "3 passed, 0 failed, 1 skipped\n" {
		t.Errorf("good.slt output = %q", got)
	}

	out.Reset()
	if code := run(append(base, bad), &out, &errOut); code != 1 {
		t.Errorf("bad.slt: exit %d, want 1", code)
	}
	if got := out.String(); !strings.HasPrefix(got, bad+":1: results differ") || !strings.HasSuffix(got, "\n1 passed, 1 failed\n") {
		t.Errorf("bad.slt output = %q", got)
	}

	out.Reset()
	if code := run(append(base, "-rewrite", bad), &out, &errOut); code != 0 {
		t.Errorf("bad.slt -rewrite: exit %d, want 0\n%s", code, out.String())
	}
	if got, _ := os.ReadFile(bad); string(got) != "query I\nSELECT 1\n----\n1\n\nstatement ok\nSELECT 1\n" {
		t.Errorf("bad.slt after -rewrite = %q", got)
	}
	if got := out.String(); got != "2 passed, 0 failed, 1 rewritten\n" {
		t.Errorf("-rewrite output = %q", got)
	}

	if code := run(nil, &out, &errOut); code != 2 {
		t.Errorf("no files: exit %d, want 2", code)
	}
}
