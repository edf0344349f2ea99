//go:build !race

package torture

// RaceEnabled reports whether this binary has the race detector, so the
// server under test can be built the same way.
const RaceEnabled = false
