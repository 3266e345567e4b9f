package busarm

import (
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/motion/clock"
)

// DefaultMaxSimStep is SimClock's default bound on one advance: at most 50 physics steps
// of 1 ms to integrate when a bus request reads the arm.
const DefaultMaxSimStep = 50 * time.Millisecond

// SimClock is the clock of a simulated arm behind a simulated bus (simarm.Config.Clock):
// real time, except that it never advances more than a bound between two readings. The
// arm integrates up to its clock whenever the impersonator reads it to answer a request,
// so on the real clock a long pause (a busy machine not scheduling the simulator, a
// daemon starting up while nothing reads the arm) becomes a catch-up of hundreds of
// physics steps paid inside one reply, which then misses the driver's reply timeout: a
// servo that is never late became late. With SimClock the simulated world pauses with the
// simulator instead (time dilates), and the cost of one reply stays bounded. Safe for
// concurrent use.
type SimClock struct {
	mu     sync.Mutex
	epoch  time.Time
	wall   time.Duration // wall time at the last reading
	now    time.Duration // simulated time
	max    time.Duration
	paused time.Duration
	real   *clock.RealSleeper // paces SleepUntil
}

// NewSimClock returns a clock at 0 that advances with real time, at most maxStep per
// reading (DefaultMaxSimStep when maxStep ≤ 0).
func NewSimClock(maxStep time.Duration) *SimClock {
	if maxStep <= 0 {
		maxStep = DefaultMaxSimStep
	}
	return &SimClock{epoch: time.Now(), max: maxStep, real: clock.NewRealSleeper(0)}
}

// Now returns the simulated time: the previous reading plus the real time since it,
// capped at the bound.
func (c *SimClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := time.Since(c.epoch)
	d := w - c.wall
	c.wall = w
	if d > c.max {
		c.paused += d - c.max
		d = c.max
	}
	c.now += d
	return c.now
}

// Paused returns how much real time the clock has dropped so far (real minus simulated).
func (c *SimClock) Paused() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// SleepUntil returns once Now() ≥ deadline (simulated time), sleeping on the real clock
// with absolute deadlines (clock.RealSleeper), at most half the bound at a time, meanwhile. It makes SimClock a
// clock.Sleeper, so an executor paced by it shares the simulated arm's time line: a
// stall of the machine longer than the bound dilates the executor's time as it does the
// arm's, instead of reading as a jump of the arm.
func (c *SimClock) SleepUntil(deadline time.Duration) {
	for {
		d := deadline - c.Now()
		if d <= 0 {
			return
		}
		// At most half the bound at a time: a longer sleep would read as a pause, and a
		// sleep of the whole bound does whenever the wake-up is late (a 2 ms bound lost
		// 2.8 % of every run's time to wake-ups 50–150 µs late).
		c.real.SleepUntil(c.real.Now() + min(d, c.max/2))
	}
}
