//go:build race

package expr

// raceEnabled: the race detector makes sync.Pool drop what is put in it,
// so regexp allocates a matcher per match, and allocation bounds that hold
// in a normal build do not hold in this one.
const raceEnabled = true
