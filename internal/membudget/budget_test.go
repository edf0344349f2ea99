package membudget

import (
	"sync"
	"testing"
)

// headroom is what Bytes gives of a fair part of the budget.
func headroom(fair int) int { return fair - fair/16 }

// TestSharesSplitTheBudget: shares split the total by weight as they are
// drawn and released, and together never exceed it.
func TestSharesSplitTheBudget(t *testing.T) {
	b := New(16000)
	q1, q2 := b.Account(), b.Account()
	s1 := q1.Share(100)
	if got := s1.Bytes(); got != headroom(16000) {
		t.Fatalf("one share of the budget: %d bytes, want %d", got, headroom(16000))
	}
	s2 := q1.Share(300)
	s3 := q2.Share(100)
	for _, c := range []struct {
		s    *Share
		want int
	}{{s1, headroom(3200)}, {s2, headroom(9600)}, {s3, headroom(3200)}} {
		if got := c.s.Bytes(); got != c.want {
			t.Errorf("share of weight %d: %d bytes, want %d", c.s.weight, got, c.want)
		}
	}
	q1.Release()
	q1.Release()
	if got := s3.Bytes(); got != headroom(16000) {
		t.Errorf("after the other account's release: %d bytes, want %d", got, headroom(16000))
	}
	if got := b.Shares(); got != 1 {
		t.Errorf("%d shares held, want 1", got)
	}
	if s := q1.Share(50); s.Bytes() != 50 || b.Shares() != 1 {
		t.Errorf("a share of a released account: %d bytes and %d shares held, want a fixed 50 and 1", s.Bytes(), b.Shares())
	}
}

// TestFixedShares: a nil budget's accounts give shares of their weight.
func TestFixedShares(t *testing.T) {
	var b *Budget
	a := b.Account()
	if s := a.Share(4096); s.Bytes() != 4096 {
		t.Fatalf("fixed share: %d bytes, want 4096", s.Bytes())
	}
	a.Release()
	if New(0).Total() != DefaultBytes {
		t.Fatalf("New(0) is not the default")
	}
}

// TestOthersExcess: a share whose cache holds more than its part (its
// task idle since more tasks started) leaves the others only what is
// left of the budget, so that all of them together stay within it.
func TestOthersExcess(t *testing.T) {
	b := New(16000)
	a := b.Account()
	idle := a.Share(1)
	idle.Use(12000) // held while it was alone
	busy := a.Share(1)
	if got, want := busy.Bytes(), 4000-8000/16; got != want {
		t.Fatalf("beside a share holding 12000 of 16000: %d bytes, want %d", got, want)
	}
	idle.Use(8000)
	if got := busy.Bytes(); got != headroom(8000) {
		t.Fatalf("beside a share at its part: %d bytes, want %d", got, headroom(8000))
	}
	idle.Use(0)
	a.Release()
	if b.used.Load() != 0 {
		t.Fatalf("%d bytes left published", b.used.Load())
	}
}

// TestUsed sums what the shares report, and forgets released ones.
func TestUsed(t *testing.T) {
	b := New(1 << 20)
	a := b.Account()
	a.Share(10).Use(300)
	a.Share(10).Use(200)
	if got := b.Used(); got != 500 {
		t.Fatalf("used %d, want 500", got)
	}
	a.Release()
	if got := b.Used(); got != 0 {
		t.Fatalf("used %d after release, want 0", got)
	}
}

// TestConcurrentShares: tasks drawing and reading shares at once (run
// with -race); the shares of any moment sum to at most the total.
func TestConcurrentShares(t *testing.T) {
	b := New(1 << 20)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				a := b.Account()
				s := a.Share(1 << 10)
				if n := s.Bytes(); n <= 0 || n > 1<<20 {
					t.Errorf("share of %d bytes", n)
				}
				s.Use(1)
				a.Release()
			}
		}()
	}
	wg.Wait()
	if b.Shares() != 0 || b.weights.Load() != 0 {
		t.Fatalf("%d shares (weight %d) left", b.Shares(), b.weights.Load())
	}
}
