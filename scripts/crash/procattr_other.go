//go:build !linux

package main

import "syscall"

// childProcAttr is nil where a child cannot be told to die with its
// parent; the harness kills its children itself.
func childProcAttr() *syscall.SysProcAttr { return nil }
