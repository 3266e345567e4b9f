// Package clock makes time a dependency: a Clock reads monotonic time, Real is the
// system's, Fake moves only when told. Simulators integrate up to Now(); the executor
// paces itself with a Clock so that tests run faster than real time and deterministically.
package clock

import (
	"sync"
	"time"
)

// Clock reads monotonic time since an arbitrary epoch fixed when the clock was made.
type Clock interface {
	Now() time.Duration
}

// Real is the system's monotonic clock.
type Real struct{ epoch time.Time }

// NewReal returns a real clock whose epoch is now.
func NewReal() *Real { return &Real{epoch: time.Now()} }

// Now returns the time since the epoch.
func (r *Real) Now() time.Duration { return time.Since(r.epoch) }

// Fake is a clock that moves only when Set or Advance is called. Safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Duration
}

// Now returns the fake time.
func (f *Fake) Now() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake time forward by d (negative d is ignored).
func (f *Fake) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	f.mu.Lock()
	f.now += d
	f.mu.Unlock()
}

// Set moves the fake time to t if t is later than now.
func (f *Fake) Set(t time.Duration) {
	f.mu.Lock()
	if t > f.now {
		f.now = t
	}
	f.mu.Unlock()
}
