//go:build unix

package policy

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used (user and system),
// which unlike wall time leaves out the time other processes had the CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
