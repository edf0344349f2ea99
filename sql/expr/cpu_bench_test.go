package expr

import (
	"testing"

	"github.com/runnel/runnel/internal/cputime"
)

// cpuPerOp starts counting the process's CPU time; the function it
// returns, called after the benchmark's loop, reports it per op as
// cpu-ns/op. On a shared, loaded machine a benchmark's ns/op (wall
// clock) measures the machine as much as the code; its CPU time less so.
func cpuPerOp(b *testing.B) func() {
	start := cputime.Process()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
