package clock

import (
	"errors"
	"time"
)

// ErrUnsupported is returned by real-time facilities this platform or process lacks.
var ErrUnsupported = errors.New("clock: unsupported")

// Sleeper is a Clock that can block until a deadline on its own time line.
type Sleeper interface {
	Clock
	// SleepUntil returns once Now() >= deadline, or at once when that already holds.
	SleepUntil(deadline time.Duration)
}

// SleepUntil moves the fake time to deadline (if later) and returns at once, so loops
// paced by a Fake run faster than real time.
func (f *Fake) SleepUntil(deadline time.Duration) { f.Set(deadline) }

// RealSleeper sleeps on the real monotonic clock: on Linux with absolute-deadline
// clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), elsewhere with time.Sleep. Spin, if
// positive, wakes that much early and busy-waits the rest for a tighter wake-up.
type RealSleeper struct {
	*Real
	Spin time.Duration // busy-wait before each deadline; 0: none (saves a core)
}

// NewRealSleeper returns a RealSleeper on a new Real clock whose epoch is now.
func NewRealSleeper(spin time.Duration) *RealSleeper {
	return &RealSleeper{Real: NewReal(), Spin: spin}
}

// SleepUntil blocks until Now() >= deadline (deadline on the Real clock's time line).
func (s *RealSleeper) SleepUntil(deadline time.Duration) {
	wake := deadline - s.Spin
	if s.Now() < wake {
		sleepUntil(s.Real, wake)
	}
	for s.Spin > 0 && s.Now() < deadline {
	}
}
