//go:build unix

package cputime

import "testing"

// TestProcessGrows: burning CPU shows in Process.
func TestProcessGrows(t *testing.T) {
	before := Process()
	x := 0
	for i := range 50_000_000 {
		x ^= i * 7
	}
	if after := Process(); after <= before {
		t.Fatalf("Process went from %v to %v over a busy loop (%d)", before, after, x)
	}
}

// TestMinorFaultsGrow: touching fresh memory faults pages in.
func TestMinorFaultsGrow(t *testing.T) {
	before := MinorFaults()
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	if after := MinorFaults(); after <= before {
		t.Fatalf("MinorFaults went from %d to %d over 64 MiB of fresh memory", before, after)
	}
}
