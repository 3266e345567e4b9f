//go:build !linux

package clock

import (
	"fmt"
	"runtime"
	"time"
)

// sleepUntil falls back on time.Sleep (about 1 ms resolution) off Linux.
func sleepUntil(r *Real, deadline time.Duration) {
	time.Sleep(deadline - r.Now())
}

// LockThread locks the calling goroutine to its OS thread; SCHED_FIFO is Linux-only, so
// a positive priority reports ErrUnsupported.
func LockThread(priority int) (realtime bool, err error) {
	runtime.LockOSThread()
	if priority > 0 {
		return false, fmt.Errorf("clock: SCHED_FIFO on %s: %w", runtime.GOOS, ErrUnsupported)
	}
	return false, nil
}
