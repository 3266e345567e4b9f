package busarm

import (
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/motion/clock"
)

// TestSimClockBoundsAnAdvance: a reading after a long pause advances by the bound only,
// and the clock never goes backwards nor ahead of real time.
func TestSimClockBoundsAnAdvance(t *testing.T) {
	c := NewSimClock(5 * time.Millisecond)
	t0 := time.Now()
	a := c.Now()
	for time.Since(t0) < 30*time.Millisecond {
		// a pause of 30 ms of real time with no reading (busy wait: no sleep to synchronise)
	}
	b := c.Now()
	if d := b - a; d <= 0 || d > 5*time.Millisecond {
		t.Fatalf("advance over a 30 ms pause: %v, want in (0, 5ms]", d)
	}
	if p := c.Paused(); p < 20*time.Millisecond {
		t.Fatalf("paused %v, want ≥ 25 ms less the bound's slack", p)
	}
	if b > time.Since(t0)+time.Millisecond {
		t.Fatalf("simulated %v ahead of real %v", b, time.Since(t0))
	}
	for range 1000 {
		if n := c.Now(); n < b {
			t.Fatalf("clock went back: %v after %v", n, b)
		} else {
			b = n
		}
	}
}

// TestSimClockSleepUntil: SleepUntil returns at or after the simulated deadline, and
// SimClock is a clock.Sleeper (an executor can be paced by it).
func TestSimClockSleepUntil(t *testing.T) {
	var c clock.Sleeper = NewSimClock(0)
	for _, d := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond} {
		dl := c.Now() + d
		c.SleepUntil(dl)
		if now := c.Now(); now < dl {
			t.Fatalf("SleepUntil(%v) returned at %v", dl, now)
		}
	}
	past := c.Now() - time.Second
	c.SleepUntil(past) // at once
}
