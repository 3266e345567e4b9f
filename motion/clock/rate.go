package clock

import (
	"errors"
	"time"
)

// Rate paces a loop at a fixed period without drift: each deadline is the previous
// deadline plus the period, never "now" plus the period. A wake-up at or past the
// following deadline is an overrun; the missed deadlines are skipped, not burst through.
// A Rate belongs to one goroutine.
type Rate struct {
	s        Sleeper
	period   time.Duration
	next     time.Duration
	ticks    uint64
	overruns uint64
	missed   uint64
}

// Tick describes one wake-up of a Rate.
type Tick struct {
	Deadline time.Duration // the deadline slept to, on the Sleeper's time line
	Woke     time.Duration // Now() on waking
	Late     time.Duration // Woke - Deadline (≥ 0)
	Missed   int           // deadlines skipped because the wake-up was a period or more late
}

// Overrun reports whether this wake-up came at or past the following deadline.
func (t Tick) Overrun() bool { return t.Missed > 0 }

// NewRate returns a Rate whose first deadline is one period from now; it fails on a
// nil sleeper or a non-positive period.
func NewRate(s Sleeper, period time.Duration) (*Rate, error) {
	if s == nil {
		return nil, errors.New("clock: nil Sleeper")
	}
	if period <= 0 {
		return nil, errors.New("clock: period must be positive")
	}
	r := &Rate{s: s, period: period}
	r.Reset()
	return r, nil
}

// Period returns the period.
func (r *Rate) Period() time.Duration { return r.period }

// Reset schedules the next deadline one period from now and clears the counters.
func (r *Rate) Reset() {
	r.next = r.s.Now() + r.period
	r.ticks, r.overruns, r.missed = 0, 0, 0
}

// Wait sleeps until the next deadline and schedules the one after it. It allocates
// nothing.
func (r *Rate) Wait() Tick {
	d := r.next
	r.s.SleepUntil(d)
	now := r.s.Now()
	t := Tick{Deadline: d, Woke: now}
	if now > d {
		t.Late = now - d
	}
	r.next = d + r.period
	if now >= r.next {
		m := (now - d) / r.period
		t.Missed = int(m)
		r.next = d + (m+1)*r.period
		r.overruns++
		r.missed += uint64(m)
	}
	r.ticks++
	return t
}

// Ticks counts wake-ups since the last Reset.
func (r *Rate) Ticks() uint64 { return r.ticks }

// Overruns counts wake-ups at or past the following deadline since the last Reset.
func (r *Rate) Overruns() uint64 { return r.overruns }

// Missed counts deadlines skipped since the last Reset.
func (r *Rate) Missed() uint64 { return r.missed }
