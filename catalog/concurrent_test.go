package catalog

import (
	"context"
	"errors"
	"testing"

	"github.com/runnel/runnel/log/embedded"
)

// TestConcurrentCreateOneWins opens two catalogs on one log, as two nodes
// on one Kafka: each checks against what it has read, both write the same
// name, and the topic's order decides. The first write applies everywhere;
// the second fails with ErrConcurrentChange and is skipped by every
// reader, including a later replay.
func TestConcurrentCreateOneWins(t *testing.T) {
	ctx := context.Background()
	l, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n1, err := Open(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := Open(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n1.PutSource(ctx, &Source{Name: "S", Kind: KindStream, Topic: "one"}); err != nil {
		t.Fatalf("first create: %v", err)
	}
	// n2 has not read n1's command: its write is based on older state.
	err = n2.PutSource(ctx, &Source{Name: "S", Kind: KindStream, Topic: "two"})
	if !errors.Is(err, ErrConcurrentChange) {
		t.Fatalf("second create = %v, want ErrConcurrentChange", err)
	}
	// A replace based on the current state applies.
	if err := n2.PutSource(ctx, &Source{Name: "T", Kind: KindStream, Topic: "t"}); err != nil {
		t.Fatalf("unrelated create: %v", err)
	}
	if _, err := n1.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	n3, err := Open(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []*Catalog{n1, n2, n3} {
		s, err := c.Source("S")
		if err != nil || s.Topic != "one" {
			t.Fatalf("node %d: S = %+v, %v; want the first create's (topic one)", i+1, s, err)
		}
		if _, err := c.Source("T"); err != nil {
			t.Fatalf("node %d: T: %v", i+1, err)
		}
	}
}
