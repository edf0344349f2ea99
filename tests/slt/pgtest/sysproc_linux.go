package pgtest

import "syscall"

// sysProcAttr runs the child as cred (when set) and kills it if the test
// process dies, so no server outlives a crashed test binary.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}
