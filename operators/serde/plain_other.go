//go:build !amd64

package serde

// haveRun16 reports whether plainRun16 is a vector scan; here it is not.
const haveRun16 = false

// plainRun16 is plainRun's vector scan where there is none: the words'
// scan, which keeps its contract (it stops at the first byte not plain).
func plainRun16(b []byte, i int) int { return plainRunWords(b, i) }
