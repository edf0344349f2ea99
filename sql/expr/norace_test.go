//go:build !race

package expr

// raceEnabled: see race_test.go.
const raceEnabled = false
