//go:build unix

// Package cputime reads the CPU time the process has used, which
// benchmarks report beside wall-clock rates: on a shared machine the
// wall clock measures the neighbours as much as the code.
package cputime

import (
	"syscall"
	"time"
)

// Process is the user and system CPU time this process has used; 0 if
// the system does not say.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
