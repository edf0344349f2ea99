//go:build !linux

package torture

import "syscall"

// sysProcAttr is the default elsewhere: only Linux has Pdeathsig.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
