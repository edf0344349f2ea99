package pgtest

import (
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
