//go:build linux

package clock

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// sleepUntil blocks until r.Now() >= deadline with absolute clock_nanosleep; the Real
// epoch is mapped onto CLOCK_MONOTONIC, which Go's monotonic clock also reads.
func sleepUntil(r *Real, deadline time.Duration) {
	var mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		time.Sleep(deadline - r.Now())
		return
	}
	abs := time.Duration(mono.Nano()) + deadline - r.Now()
	ts := unix.NsecToTimespec(int64(abs))
	for {
		err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil)
		if err != unix.EINTR {
			if err != nil {
				time.Sleep(deadline - r.Now())
			}
			return
		}
	}
}

// LockThread locks the calling goroutine to its OS thread, sets its timer slack to 1 ns
// and, when priority is in
// 1..99, tries to switch that thread to SCHED_FIFO at that priority. It reports whether
// SCHED_FIFO took effect; the error says why not (usually EPERM without CAP_SYS_NICE),
// and the thread stays locked either way. A goroutine that got SCHED_FIFO should exit
// without unlocking, so the runtime retires the thread instead of reusing it.
func LockThread(priority int) (realtime bool, err error) {
	runtime.LockOSThread()
	// The default 50 µs timer slack would delay every clock_nanosleep wake-up.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	if priority <= 0 {
		return false, nil
	}
	if priority > 99 {
		priority = 99
	}
	attr := unix.SchedAttr{
		Size:     unix.SizeofSchedAttr,
		Policy:   unix.SCHED_FIFO,
		Priority: uint32(priority),
	}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return false, fmt.Errorf("clock: SCHED_FIFO priority %d: %w", priority, err)
	}
	return true, nil
}
