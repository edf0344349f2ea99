package serde

// haveRun16 reports whether plainRun16 is a vector scan: on amd64, SSE2.
const haveRun16 = true

// plainRun16 scans b from i sixteen bytes at a time (plain_amd64.s): it
// returns the index of the first byte that is not plain, as plainRun
// does, or the first index from which fewer than sixteen bytes are left,
// for plainRun to finish. i must be within b (0 <= i <= len(b)).
//
//go:noescape
func plainRun16(b []byte, i int) int
