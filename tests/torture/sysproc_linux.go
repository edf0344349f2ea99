package torture

import "syscall"

// sysProcAttr has the kernel kill the server if the test process dies, so
// no server outlives a crashed or timed-out test binary.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
