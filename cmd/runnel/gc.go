package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

// The garbage collector's settings runnel picks when the environment
// leaves them to it (GOGC and GOMEMLIMIT unset).
//
// Go's default (GOGC=100) collects whenever the heap has doubled since the
// last collection. A streaming engine's live heap is mostly its caches, a
// bounded and long-lived set, while nearly all it allocates per record is
// garbage a moment later; collecting that often spends CPU marking the
// same caches again and again (over 300,000 Nexmark events, GOGC=400 took
// q7 from 25.6 and 27.6 CPU seconds to 24.3 and 22.9, and q17 from 3.45
// and 3.52 to 2.97 and 2.79). A heap allowed to grow to five times the
// live one is bounded by a soft memory limit, so that memory stays within
// a known size whatever the live heap: past the limit the collector runs
// as often as it must instead.
const (
	// gcPercent is the GOGC runnel sets.
	gcPercent = 400
	// gcLimitBase is the soft memory limit's part that does not depend on
	// the caches: the rest of the process (sessions, buffers, the log's
	// batches) and room for garbage.
	gcLimitBase = 1 << 30
)

// gcSettings returns the GOGC and soft memory limit to set, 0 for a
// setting the environment already chose, and a line that says what runs.
// The limit is gcLimitBase plus twice the caches' budget (--cache-bytes):
// 1.5 GiB by default.
func gcSettings(cacheBytes int64, lookup func(string) (string, bool)) (percent int, limit int64, desc string) {
	gogc, gogcSet := lookup("GOGC")
	memlimit, limitSet := lookup("GOMEMLIMIT")
	gogcSet = gogcSet && gogc != ""
	limitSet = limitSet && memlimit != ""
	desc = "GOGC=" + gogc + " (from the environment)"
	if !gogcSet {
		percent = gcPercent
		desc = fmt.Sprintf("GOGC=%d", gcPercent)
	}
	if limitSet {
		desc += ", GOMEMLIMIT=" + memlimit + " (from the environment)"
	} else {
		limit = gcLimitBase + 2*cacheBytes
		desc += fmt.Sprintf(", soft memory limit %d MiB", limit>>20)
	}
	return percent, limit, desc
}

// tuneGC applies gcSettings to this process and returns its description.
func tuneGC(cacheBytes int64) string {
	percent, limit, desc := gcSettings(cacheBytes, os.LookupEnv)
	if percent != 0 {
		debug.SetGCPercent(percent)
	}
	if limit != 0 {
		debug.SetMemoryLimit(limit)
	}
	return desc
}
