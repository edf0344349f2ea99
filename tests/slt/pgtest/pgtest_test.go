package pgtest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	began := time.Now()
	s := Start(t)
	t.Logf("started in %s", time.Since(began))
	conn, err := s.Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT 40 + 2").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 42 {
		t.Fatalf("SELECT 40 + 2 = %d", n)
	}
}

func TestFindInMissing(t *testing.T) {
	_, _, err := findIn([]string{t.TempDir(), "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y postgresql") {
		t.Errorf("findIn(empty dirs) = %v, want an error naming the package", err)
	}
	i, p, err := findIn(candidateDirs())
	if err != nil || filepath.Base(i) != "initdb" || filepath.Base(p) != "postgres" {
		t.Errorf("findIn(candidateDirs()) = %q, %q, %v", i, p, err)
	}
}
