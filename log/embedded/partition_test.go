package embedded

import "testing"

// TestPublishInOrder walks the interleaving that the reservation queue
// exists for: B finishes its write before A, which holds earlier offsets.
func TestPublishInOrder(t *testing.T) {
	p := newPartition(5)
	baseA, a := p.reserve(3)
	baseB, b := p.reserve(2)
	if baseA != 5 || baseB != 8 {
		t.Fatalf("reservations start at %d and %d, want 5 and 8", baseA, baseB)
	}
	_, vis, notify := p.state()
	if vis != 5 {
		t.Fatalf("visible = %d before any write finished, want 5", vis)
	}
	b.complete()
	if _, vis, _ := p.state(); vis != 5 {
		t.Fatalf("visible = %d after only the later write finished, want 5", vis)
	}
	select {
	case <-notify:
		t.Fatal("readers woken although nothing became visible")
	default:
	}
	a.complete()
	if _, vis, _ := p.state(); vis != 10 {
		t.Fatalf("visible = %d after both writes finished, want 10", vis)
	}
	select {
	case <-notify:
	default:
		t.Fatal("readers not woken when records became visible")
	}
	if _, c := p.reserve(1); c.end != 11 {
		t.Fatalf("next reservation ends at %d, want 11", c.end)
	}
}
