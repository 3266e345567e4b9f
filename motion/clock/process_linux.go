//go:build linux

package clock

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ThreadsFIFO switches every thread of this process to SCHED_FIFO at priority (1..99);
// threads the Go runtime starts later inherit it from the thread that makes them. It is
// for a process that does nothing but real-time work (a control loop's own process):
// there, the runtime's helper threads (which hand a P back to a locked thread after a
// preemption) must not wait behind other processes' threads. It returns the first error
// (usually EPERM without CAP_SYS_NICE) after trying every thread.
func ThreadsFIFO(priority int) error {
	if priority < 1 || priority > 99 {
		return fmt.Errorf("clock: SCHED_FIFO priority %d: want 1..99", priority)
	}
	d, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("clock: list threads: %w", err)
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(priority)}
	var first error
	for _, e := range d {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil && first == nil && err != unix.ESRCH {
			first = fmt.Errorf("clock: SCHED_FIFO priority %d on thread %d: %w", priority, tid, err)
		}
	}
	return first
}
