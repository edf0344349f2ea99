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
	ru := rusage()
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MinorFaults is the page faults the process has taken that needed no
// I/O: memory touched for the first time (or again after it was given
// back to the system). On a paravirtualized machine each costs tens of
// microseconds, so a benchmark reports them beside its CPU time.
func MinorFaults() int64 { return rusage().Minflt }

// rusage is the process's resource usage, all zero if the system does
// not say.
func rusage() syscall.Rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return syscall.Rusage{}
	}
	return ru
}
