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
