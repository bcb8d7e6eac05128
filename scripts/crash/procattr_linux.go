package main

import "syscall"

// childProcAttr makes a child of the harness die with it: a harness that
// is itself killed leaves no child running.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
