package motion

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
)

// Arm is what the executor needs of an arm: its joints, reading and commanding.
type Arm interface {
	drivers.Describer
	drivers.Reader
	drivers.Commander
}

// Sentinel errors; returned errors wrap one of them.
var (
	// ErrClosed: the executor was closed.
	ErrClosed = errors.New("motion: executor closed")
	// ErrEStopped: the e-stop is latched; call Reset first.
	ErrEStopped = errors.New("motion: e-stop latched")
	// ErrNotRunning: no skill is running.
	ErrNotRunning = errors.New("motion: no skill running")
	// ErrInvalidConfig: a Config field is out of range.
	ErrInvalidConfig = errors.New("motion: invalid config")
	// ErrInvalidRequest: a Request is unusable (nil or invalid skill, joint mismatch,
	// bad goal or duration, arm joints without a position range).
	ErrInvalidRequest = errors.New("motion: invalid request")
	// ErrDuration: a run's duration is not 0 (the skill's) up to dmp.MaxDuration s, or
	// not a number. It wraps ErrInvalidRequest.
	ErrDuration = fmt.Errorf("%w: duration", ErrInvalidRequest)
	// ErrGoalOutsideLimits: the goal lies outside the joint limits and Config.ClipGoal
	// is false.
	ErrGoalOutsideLimits = errors.New("motion: goal outside joint limits")
	// ErrAborted: the run was aborted (cancel, preemption, e-stop, close); Run wraps it.
	ErrAborted = errors.New("motion: run aborted")
	// ErrFailed: the run failed (fault, watchdog, goal not reached); Run wraps it.
	ErrFailed = errors.New("motion: run failed")
)

// Config configures an Executor. Zero fields take the stated defaults; New validates it.
type Config struct {
	// Rate is the control rate in Hz, in (0, 1000]; default 500.
	Rate float64
	// Clock paces the loop and timestamps it; default clock.NewRealSleeper(Spin). Tests
	// pass a *clock.Fake to run faster than real time.
	Clock clock.Sleeper
	// Spin is the busy-wait before each deadline of the default clock; default 0.
	Spin time.Duration
	// RealTimePriority, in 1..99, asks for SCHED_FIFO on the control thread; 0 (default)
	// does not. Failure is not an error: Stats.RealTime reports whether it took effect.
	RealTimePriority int
	// Events receives events without ever blocking the loop: when the channel is full the
	// oldest queued event is dropped to make room (the executor receives it), so a slow
	// reader loses old events, never the newest. Must be buffered; nil discards events.
	Events chan Event
	// ProgressEvery is the interval between progress events; default and minimum 100 ms.
	ProgressEvery time.Duration

	// MaxDt clamps the measured tick interval used for integration; default 4 periods.
	MaxDt time.Duration
	// WatchdogReads consecutive failed reads fail the run; default 3.
	WatchdogReads int
	// WatchdogCommands consecutive failed commands fail the run; default 3.
	WatchdogCommands int
	// WatchdogOverruns consecutive overrunning ticks fail the run; default 0.1 s worth of
	// ticks (50 at 500 Hz), at least 5.
	WatchdogOverruns int

	// DefaultMaxVel (rad/s) and DefaultMaxAcc (rad/s²) stand in for joints whose
	// limits give none; defaults 1 and 5.
	DefaultMaxVel, DefaultMaxAcc float64
	// StartTolerance (rad): when every skill joint is this close to the skill's start the
	// DMP starts from the measured position, otherwise a minimum-jerk approach eases
	// the arm to the start first; default 0.05.
	StartTolerance float64
	// ApproachScale is the fraction of each joint's velocity and acceleration limits the
	// approach may use, in (0,1]; default 0.3.
	ApproachScale float64
	// ClipGoal clips a goal outside the position limits into them; by default such a
	// goal is refused with ErrGoalOutsideLimits.
	ClipGoal bool

	// PhaseStopTolerance (rad) is the tracking-error norm below which the phase runs at
	// full rate; default 0.01.
	PhaseStopTolerance float64
	// PhaseStopGain (1/rad): the phase rate is 1/(1+(gain·(e−tol))²) for a filtered
	// error norm e above the tolerance; default 60.
	PhaseStopGain float64
	// ReanchorThreshold (rad): an error norm above it is a disturbance (plan frozen,
	// disturbed joints leashed, re-anchoring when the arm gives way); default 0.04.
	ReanchorThreshold float64
	// Leash (rad) bounds a disturbed joint's command during a disturbance to within Leash
	// of its measured position plus its offset compensation (see OffsetGain), so the arm
	// pushes gently against what holds it and a sagging joint does not creep with
	// gravity; default 0.01. Only the disturbed joints are leashed: those off their own
	// plan by more than ReanchorThreshold (and Leash, and half the largest joint error).
	// The others keep their frozen plan, so a held joint's neighbours stay put.
	Leash float64
	// SlowRise is the shortest time (s) in which the phase rate may rise from 0 to 1;
	// default 0.25.
	SlowRise float64
	// PauseRamp is the time (s) Pause and Resume take to ramp the phase rate; default 0.3.
	PauseRamp float64
	// SpeedMargin caps each joint's planned speed at this multiple of the peak speed of a
	// rollout made at the start (by slowing the phase); default 1.1; negative disables.
	SpeedMargin float64

	// OffsetGain (1/s) is the gain of the steady-state offset compensation: each skill
	// joint is commanded at plan + b, b integrating (plan − measured) at this gain, so a
	// position servo that sags under gravity (settles short of its command, like a hobby
	// servo without gravity compensation) still reaches the plan and the goal. The
	// integration is weighted by 1/(1+(v/0.2 rad/s)²) while the joint's plan moves at v
	// (so tracking lag does not wind it up into an overshoot), and frozen during a
	// disturbance, while the joint is off its plan by more than ReanchorThreshold, and in
	// open loop (Request.OpenLoop). b carries over re-anchoring and into the final halt
	// (so a sagging joint stays where it stopped). Phase stopping uses the error against
	// the plan (not the command), so a compensated sag does not slow the phase. Default
	// 4 (a 0.25 s time constant); negative disables.
	OffsetGain float64
	// OffsetMax (rad) bounds |b| per joint, further capped at 10% of the joint's range;
	// plan + b is also kept within the position limits (no windup against a limit).
	// Default 0.1.
	OffsetMax float64

	// Lead (s) adds Lead times the plan's velocity to each skill joint's command. A
	// position servo given only a goal (a servo bus: no velocity feed-forward) follows a
	// moving goal late by its following delay (the simulated SO-101 servos over a bus:
	// 25-55 ms by joint); phase stopping reads that lag as the arm being held back and
	// stretches the plan, and the offset term integrates part of it as sag. Set Lead to
	// about half the servos' following delay (more overshoots: the simulated bus runs best
	// at 0.02-0.025 s, see simrun.BusLead); default 0 (none: arms that take the velocity
	// feed-forward); at most 0.2.
	Lead float64
	// LagTolerance (s) is the following delay phase stopping allows each skill joint:
	// before the error norm that slows the phase is taken, each joint's |measured − plan|
	// is reduced by |plan velocity|·LagTolerance (down to 0). A position servo given only
	// goals lags a moving goal (over the simulated SO-101's buses by 25-55 ms by joint,
	// less what Lead takes back), and phase stopping would read that lag as the arm being
	// held back and stretch the plan. Disturbance detection, the leash and the offset
	// compensation still use the whole error, so a held arm is still caught (by the
	// ReanchorThreshold). Default 0 (none); at most 0.2. See simrun.BusLagTolerance.
	LagTolerance float64

	// GoalTolerance (rad, max over joints) and VelTolerance (rad/s) define arrival;
	// defaults 0.01 and 0.05. Once the plan has ended and the arm is within them, the run
	// succeeds when it is within a quarter of GoalTolerance, or SettleTime (s, default
	// 0.29) past its nominal end (approach + duration): so runs end well inside the
	// tolerance when the arm gets there, and little past their nominal end when not.
	GoalTolerance, VelTolerance float64
	SettleTime                  float64
	// TimeoutFactor and TimeoutExtra (s) bound a run to factor·duration + extra (+ the
	// approach), not counting paused time, before it fails with "goal not reached";
	// defaults 2 and 1.
	TimeoutFactor, TimeoutExtra float64

	// Observability (observe.go), both optional: the control thread writes them without
	// allocating or locking. Counters receives the loop figures (period error, overruns,
	// tracking error); Flight records every tick's sample and must be made for the arm's
	// joints.
	Counters *Counters
	Flight   *FlightRecorder

	// Latch, when set, is the e-stop latch the executor reads every tick and EStop, Reset
	// and EStopped use, instead of one of its own: any non-zero value is latched. It lets
	// another process that maps the same word (a daemon driving the executor in a child
	// process, internal/ctlproc) latch the e-stop with one store that the control thread
	// sees at its next tick, with no message and no goroutine in between.
	Latch *atomic.Uint64
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Rate, 500)
	if !(c.Rate > 0 && c.Rate <= 1000) {
		return c, fmt.Errorf("%w: Rate %v Hz, want (0, 1000]", ErrInvalidConfig, c.Rate)
	}
	if c.Spin < 0 {
		return c, fmt.Errorf("%w: Spin %v is negative", ErrInvalidConfig, c.Spin)
	}
	if c.RealTimePriority < 0 || c.RealTimePriority > 99 {
		return c, fmt.Errorf("%w: RealTimePriority %d, want 0..99", ErrInvalidConfig, c.RealTimePriority)
	}
	if c.Events != nil && cap(c.Events) == 0 {
		return c, fmt.Errorf("%w: Events must be a buffered channel", ErrInvalidConfig)
	}
	if c.ProgressEvery < 100*time.Millisecond {
		c.ProgressEvery = 100 * time.Millisecond
	}
	period := time.Duration(float64(time.Second) / c.Rate)
	if c.MaxDt == 0 {
		c.MaxDt = 4 * period
	}
	if c.MaxDt < period {
		return c, fmt.Errorf("%w: MaxDt %v below the period %v", ErrInvalidConfig, c.MaxDt, period)
	}
	// Overruns: ticks late for 0.1 s in a row (at least 5): a loop that cannot keep its
	// rate that long is failing; a busy machine's shorter stalls are integrated with the
	// measured dt, and every command still passes the safety filter.
	overruns := max(5, int(math.Ceil(0.1*c.Rate)))
	for _, w := range []struct {
		v    *int
		d    int
		name string
	}{{&c.WatchdogReads, 3, "WatchdogReads"}, {&c.WatchdogCommands, 3, "WatchdogCommands"}, {&c.WatchdogOverruns, overruns, "WatchdogOverruns"}} {
		if *w.v == 0 {
			*w.v = w.d
		}
		if *w.v < 0 {
			return c, fmt.Errorf("%w: %s %d is negative", ErrInvalidConfig, w.name, *w.v)
		}
	}
	def(&c.DefaultMaxVel, 1)
	def(&c.DefaultMaxAcc, 5)
	def(&c.StartTolerance, 0.05)
	def(&c.ApproachScale, 0.3)
	def(&c.PhaseStopTolerance, 0.01)
	def(&c.PhaseStopGain, 60)
	def(&c.ReanchorThreshold, 0.04)
	def(&c.Leash, 0.01)
	def(&c.SlowRise, 0.25)
	def(&c.PauseRamp, 0.3)
	def(&c.SpeedMargin, 1.1)
	def(&c.OffsetGain, 4)
	def(&c.OffsetMax, 0.1)
	def(&c.GoalTolerance, 0.01)
	def(&c.VelTolerance, 0.05)
	def(&c.SettleTime, 0.29)
	def(&c.TimeoutFactor, 2)
	def(&c.TimeoutExtra, 1)
	for _, f := range []struct {
		v    float64
		name string
	}{
		{c.DefaultMaxVel, "DefaultMaxVel"}, {c.DefaultMaxAcc, "DefaultMaxAcc"},
		{c.StartTolerance, "StartTolerance"}, {c.PhaseStopTolerance, "PhaseStopTolerance"},
		{c.PhaseStopGain, "PhaseStopGain"}, {c.ReanchorThreshold, "ReanchorThreshold"},
		{c.Leash, "Leash"}, {c.SlowRise, "SlowRise"}, {c.PauseRamp, "PauseRamp"},
		{c.OffsetMax, "OffsetMax"}, {c.GoalTolerance, "GoalTolerance"}, {c.VelTolerance, "VelTolerance"},
		{c.SettleTime, "SettleTime"},
		{c.TimeoutFactor, "TimeoutFactor"}, {c.TimeoutExtra, "TimeoutExtra"},
	} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return c, fmt.Errorf("%w: %s %v, want a positive finite number", ErrInvalidConfig, f.name, f.v)
		}
	}
	if !(c.ApproachScale > 0 && c.ApproachScale <= 1) {
		return c, fmt.Errorf("%w: ApproachScale %v, want (0, 1]", ErrInvalidConfig, c.ApproachScale)
	}
	if math.IsNaN(c.OffsetGain) || math.IsInf(c.OffsetGain, 0) {
		return c, fmt.Errorf("%w: OffsetGain %v", ErrInvalidConfig, c.OffsetGain)
	}
	if !(c.Lead >= 0 && c.Lead <= 0.2) {
		return c, fmt.Errorf("%w: Lead %v s, want [0, 0.2]", ErrInvalidConfig, c.Lead)
	}
	if !(c.LagTolerance >= 0 && c.LagTolerance <= 0.2) {
		return c, fmt.Errorf("%w: LagTolerance %v s, want [0, 0.2]", ErrInvalidConfig, c.LagTolerance)
	}
	if math.IsNaN(c.SpeedMargin) || math.IsInf(c.SpeedMargin, 0) {
		return c, fmt.Errorf("%w: SpeedMargin %v", ErrInvalidConfig, c.SpeedMargin)
	}
	if c.Clock == nil {
		c.Clock = clock.NewRealSleeper(c.Spin)
	}
	return c, nil
}

// period returns the control period.
func (c *Config) period() time.Duration { return time.Duration(float64(time.Second) / c.Rate) }
