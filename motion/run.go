package motion

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/motion/joint"
)

type stage uint8

const (
	stageApproach stage = iota
	stageDMP
)

// runner is one run's state, allocated up front by Start and then owned by the control
// goroutine. Its tick allocates nothing.
type runner struct {
	e          *Executor
	cfg        *Config
	req        Request
	job        *Job
	startReply chan error

	n, m   int
	idx    []int          // skill joint j -> arm joint idx[j]
	names  []string       // arm joint names
	lim    []joint.Limits // per arm joint, defaults filled, ±Inf when unbounded
	goal   []float64      // per skill joint: target goal
	dur    float64        // the DMP run's duration, s (the plan's)
	startQ []float64      // per skill joint: the skill's start

	st             joint.State
	cmd            joint.Command
	filt           *SafetyFilter // per arm joint: the last command, limits; every command passes it
	prevCmd        []float64     // per arm joint: last command sent (the filter's)
	meas, lastMeas []float64     // per arm joint: current and previous good measurement
	lastMeasT      time.Duration
	haveMeas       bool
	fresh          bool      // meas was read by setup and not yet used by a tick
	speed          []float64 // per arm joint: filtered measured speed, rad/s
	des            []float64 // per arm joint: desired position this tick
	plan           []float64 // per arm joint: the plan's position last tick (before offset, leash and filter)
	fb             *feedback // tracking error, disturbances and leash, offset compensation, limit slow-down
	pvel           []float64 // per skill joint: the plan's velocity this tick
	m1, m2         []float64 // per skill joint scratch
	peak, maxSpeed []float64 // per skill joint
	vpt, apt       []float64 // per skill joint: plan-time velocity and acceleration
	stepper        *dmp.Stepper
	stage          stage
	q0, q1         []float64 // approach: from, to (per arm joint)
	appT, appS     float64   // approach duration and progress, s
	slow, pauseF   float64
	paused         bool
	active         float64 // s of unpaused run time, for the timeout
	doneAt         float64 // active time when the plan ended; -1 before
	timeout        float64
	t0, now        time.Duration
	lastProgress   time.Duration
	wd             watchdogs
	ticks          uint64 // control ticks, the first (unpaced) one included
	hist           histogram
	lateMax        time.Duration
	res            Result
	ended          bool
	endKind        EventKind
	trace          func(*runner) // tests: called after every tick
}

// newRunner plans req on the arm (PlanGoal, as the daemon and `praxis sim run` plan
// theirs) and allocates everything a run needs. The approach is decided in setup, from
// the arm's measured positions.
func newRunner(e *Executor, req Request) (*runner, error) {
	js := e.arm.Joints()
	p, err := e.cfg.PlanGoal(js, req.Skill, req.Joints, req.Goal, req.Duration, nil)
	if err != nil {
		return nil, err
	}
	n, m := len(js), len(p.Idx)
	r := &runner{e: e, cfg: &e.cfg, req: req, n: n, m: m, idx: p.Idx, names: joint.Names(js),
		goal: p.Goal, dur: p.Duration, job: &Job{id: req.ID, done: make(chan struct{})}}
	r.lim = e.cfg.limits(js)
	f := func(k int) []float64 { return make([]float64, k) }
	r.startQ = append(f(0), req.Skill.Start...)
	r.st = joint.NewState(n)
	r.cmd = joint.NewCommand(n)
	r.meas, r.lastMeas, r.speed, r.des, r.q0, r.q1 = f(n), f(n), f(n), f(n), f(n), f(n)
	if r.filt, err = NewSafetyFilter(r.lim, make([]float64, n)); err != nil {
		return nil, err
	}
	r.prevCmd = r.filt.Last()
	r.wd = watchdogs{maxReads: e.cfg.WatchdogReads, maxCommands: e.cfg.WatchdogCommands, maxOverruns: e.cfg.WatchdogOverruns}
	r.plan, r.pvel = f(n), f(m)
	r.fb = newFeedback(r.cfg, r.idx, r.lim, req.OpenLoop)
	r.fb.pvel = r.pvel
	r.m1, r.m2, r.peak, r.maxSpeed, r.vpt, r.apt = f(m), f(m), f(m), f(m), f(m), f(m)
	if err := r.rollPeaks(r.dur); err != nil {
		return nil, err
	}
	return r, nil
}

// setGoal applies a goal change during the run.
func (r *runner) setGoal(goal []float64) error {
	if err := r.cfg.checkGoal(r.lim, r.idx, r.names, goal, r.m2); err != nil {
		return err
	}
	for j := range r.goal {
		// Scale the speed cap with the change of travel, so a farther goal is not held
		// back by the peaks of the original plan.
		old := math.Abs(r.goal[j] - r.startQ[j])
		nw := math.Abs(r.m2[j] - r.startQ[j])
		if old > 1e-9 && nw > old {
			r.peak[j] *= nw / old
		}
	}
	copy(r.goal, r.m2)
	// A new goal gets a fresh time budget.
	r.timeout = r.active + r.cfg.TimeoutFactor*r.res.PlanDuration + r.cfg.TimeoutExtra + r.appT
	if r.stepper != nil {
		r.stepper.SetGoal(r.goal)
	}
	return nil
}

func (r *runner) abort(reason string) {
	if !r.ended {
		r.end(EventAborted, reason)
	}
}

func (r *runner) fail(err error) {
	if !r.ended {
		r.res.Err = err
		r.end(EventFailed, err.Error())
	}
}

func (r *runner) end(kind EventKind, reason string) {
	r.ended = true
	r.endKind = kind
	r.res.Reason = reason
	switch kind {
	case EventSucceeded:
		r.res.Outcome = Succeeded
	case EventAborted:
		r.res.Outcome = Aborted
	default:
		r.res.Outcome = Failed
	}
}

// finishUnstarted ends a run that never reached the arm.
func (r *runner) finishUnstarted(reason string) {
	r.res.RunID = r.req.ID
	r.res.Outcome = Aborted
	r.res.Reason = reason
	r.job.res = r.res
	close(r.job.done)
	r.e.emit(Event{Kind: EventAborted, RunID: r.req.ID, Reason: reason, Result: &r.job.res})
}

// execute runs r to its end, halts the arm and reports. It returns a run that
// preempted r, if any. A preempting run keeps the pace of the run it preempted: its
// first command comes a period after that run's halt; any other starts at once.
func (e *Executor) execute(r *runner, preempting bool) (next *runner) {
	clk := e.cfg.Clock
	r.t0 = clk.Now()
	r.now = r.t0
	defer func() {
		if p := recover(); p != nil {
			r.fail(fmt.Errorf("%w: %w: %v", ErrFault, errPanic, p))
		}
		e.halt(r)
		e.report(r)
	}()
	e.emit(Event{Kind: EventStarted, RunID: r.req.ID, Phase: 1})
	if preempting {
		clk.SleepUntil(e.quiet)
	}
	if err := r.setup(); err != nil {
		r.fail(err)
		return nil
	}
	period := e.cfg.period()
	rate, err := clock.NewRate(clk, period)
	if err != nil {
		r.fail(fmt.Errorf("%w: %w", ErrFault, err))
		return nil
	}
	// The first tick runs at once, as if one period had passed, so the arm moves without
	// waiting out a period; the paced ticks then keep to the deadlines the rate set from
	// now. It counts in Stats.Ticks, not in the jitter.
	prev := clk.Now()
	r.now = prev
	r.ticks++
	r.tick(period.Seconds())
	for !r.ended {
		if nx := e.iterate(r, rate, &prev); nx != nil {
			next = nx
		}
	}
	r.res.Timing.Overruns = rate.Overruns()
	r.res.Timing.Missed = rate.Missed()
	return next
}

// iterate is one tick: wait for the deadline, take requests, then read, plan, filter
// and command. It allocates nothing.
func (e *Executor) iterate(r *runner, rate *clock.Rate, prev *time.Duration) (next *runner) {
	tk := rate.Wait()
	period := rate.Period()
	dtRaw := tk.Woke - *prev
	*prev = tk.Woke
	r.ticks++
	r.hist.add(dtRaw - period)
	if c := e.cfg.Counters; c != nil {
		c.paced(dtRaw-period, tk.Overrun())
	}
	r.lateMax = max(r.lateMax, tk.Late)
	r.now = tk.Woke
	for done := false; !done; {
		select {
		case q := <-e.reqs:
			if nx := e.handle(r, q); nx != nil {
				if next != nil { // a second preemption in the same tick: the first loses
					next.finishUnstarted(ReasonPreempted)
					next.startReply <- nil
				}
				next = nx
			}
		case <-e.closing:
			r.abort(ReasonClosed)
			done = true
		default:
			done = true
		}
	}
	if r.ended {
		return next
	}
	if err := r.wd.tick(tk.Overrun()); err != nil {
		r.fail(err)
		return next
	}
	dt := min(max(dtRaw, 0), e.cfg.MaxDt).Seconds()
	r.tick(dt)
	return next
}

// setup reads the arm, decides between a direct start and an approach, rolls the plan
// out for its peak speeds and makes the stepper. It runs before the paced loop.
func (r *runner) setup() error {
	var err error
	for k := 0; k < max(r.cfg.WatchdogReads, 1); k++ {
		if err = r.e.arm.Read(r.e.ctx, &r.st); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %d initial reads failed: %w", ErrWatchdog, r.cfg.WatchdogReads, err)
	}
	if err := r.takeMeasurement(0); err != nil {
		return err
	}
	for i, q := range r.meas {
		l := r.lim[i]
		if l.Contains(q) {
			continue
		}
		if q >= l.Min-StartSlack && q <= l.Max+StartSlack {
			r.meas[i] = min(max(q, l.Min), l.Max) // resting on its end stop: start from the limit
			continue
		}
		return fmt.Errorf("%w: joint %q starts at %.4g outside [%.4g, %.4g]", ErrLimit, r.names[i], q, l.Min, l.Max)
	}
	r.filt.Reset(r.meas)
	copy(r.des, r.meas)
	copy(r.plan, r.meas)
	copy(r.q0, r.meas)
	copy(r.q1, r.meas)
	for j, a := range r.idx {
		r.q1[a] = r.lim[a].Clamp(r.startQ[j])
	}
	// The approach as MakePlan decides it from the measured positions (0: start here).
	r.appT = r.cfg.approach(r.lim, r.idx, r.meas, r.startQ)
	start := r.m1
	if r.appT > 0 {
		r.stage = stageApproach
		for j, a := range r.idx {
			start[j] = r.q1[a]
		}
	} else {
		r.stage = stageDMP
		for j, a := range r.idx {
			start[j] = r.meas[a]
		}
	}
	r.res.PlanDuration = r.dur
	r.res.Approach = r.appT
	r.timeout = r.cfg.TimeoutFactor*r.dur + r.cfg.TimeoutExtra + r.appT
	r.stepper, err = r.req.Skill.NewStepper(start, nil, r.goal, r.dur)
	if err != nil {
		return fmt.Errorf("%w: stepper: %w", ErrFault, err)
	}
	r.fresh = true
	r.doneAt = -1
	r.slow = 0 // rises over SlowRise from rest
	r.pauseF = 1
	return nil
}

// peakSteps bounds the rollout that finds a plan's peak speeds, so its cost does not
// grow with the run's duration.
const peakSteps = 2000

// rollPeaks rolls the plan out from the skill's start (clamped into the limits) to r.goal
// over dur, as it would run undisturbed, and sets r.peak to each skill joint's peak speed,
// rad/s. It runs in Start, on the caller's goroutine, never on the control thread; its
// cost is bounded by peakSteps steps (at the control period, or coarser for runs longer
// than peakSteps periods).
func (r *runner) rollPeaks(dur float64) error {
	start := r.m1
	for j, a := range r.idx {
		start[j] = r.lim[a].Clamp(r.startQ[j])
	}
	s, err := r.req.Skill.NewStepper(start, nil, r.goal, dur)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	dt := max(r.cfg.period().Seconds(), dur/peakSteps)
	for k := math.Round(dur / dt); k > 0; k-- {
		s.Step(dt, nil, 1)
		for j, v := range s.Vel() {
			r.peak[j] = max(r.peak[j], math.Abs(v))
		}
	}
	return nil
}

// approachDuration returns the minimum-jerk duration from q0 to q1 that keeps every
// joint within ApproachScale of its velocity and acceleration limits, as MakePlan's
// approach: a restarted approach (reanchor) takes it anew. It allocates nothing.
func (r *runner) approachDuration() float64 {
	return approachTime(r.lim, r.q0, r.q1, r.cfg.ApproachScale)
}

// takeMeasurement checks the state just read and updates meas and the speed estimate.
func (r *runner) takeMeasurement(dt float64) error {
	if len(r.st.Pos) != r.n {
		return fmt.Errorf("%w: read %d positions for %d joints", ErrFault, len(r.st.Pos), r.n)
	}
	for i, q := range r.st.Pos {
		if math.IsNaN(q) || math.IsInf(q, 0) {
			return fmt.Errorf("%w: measured position of joint %q is %v", ErrFault, r.names[i], q)
		}
	}
	copy(r.meas, r.st.Pos)
	if r.haveMeas {
		ds := (r.st.Time - r.lastMeasT).Seconds()
		if !(ds > 0) {
			ds = dt
		}
		if ds > 0 {
			a := ds / (ds + 0.01) // 10 ms low-pass on the finite difference
			for i := range r.speed {
				v := (r.meas[i] - r.lastMeas[i]) / ds
				r.speed[i] += a * (v - r.speed[i])
			}
		}
	}
	copy(r.lastMeas, r.meas)
	r.lastMeasT = r.st.Time
	r.haveMeas = true
	return nil
}

// tick is one control step with the measured, clamped dt in s.
func (r *runner) tick(dt float64) {
	e := r.e
	if e.estop.Load() != 0 {
		r.abort(ReasonEStop)
		return
	}
	if r.fresh {
		r.fresh = false // the first tick uses the state setup has just read
	} else {
		if err := e.arm.Read(e.ctx, &r.st); err != nil {
			if werr := r.wd.read(err); werr != nil {
				r.fail(werr)
			}
			return // no command without a fresh state; the plan waits
		}
		r.wd.read(nil)
		if err := r.takeMeasurement(dt); err != nil {
			r.fail(err)
			return
		}
	}
	if !r.paused {
		r.active += dt
	}

	// Tracking error over the skill's joints: its norm against the plan drives phase
	// stopping and disturbances; the max against the last command is reported.
	en, emax := r.fb.track(r.meas, r.plan, r.prevCmd, dt)
	r.res.MaxTrackingError = max(r.res.MaxTrackingError, emax)

	// The phase rate: tracking, disturbance, speed caps, pause, rise limit.
	target := 1.0
	if !r.req.OpenLoop {
		if r.fb.disturbance(en) {
			r.reanchor()
		}
		target = r.fb.phaseTarget()
	}
	if r.stage == stageDMP {
		target = min(target, r.fb.limitSlow(r.peak, r.vpt, r.apt))
	}
	pr := dt / r.cfg.PauseRamp
	if r.paused {
		r.pauseF = max(0, r.pauseF-pr)
	} else {
		r.pauseF = min(1, r.pauseF+pr)
	}
	target *= r.pauseF
	// Rise at most 1/SlowRise per second; fall no faster than the acceleration limits
	// allow, so the plan decelerates within them instead of being clamped.
	fall := math.Inf(1)
	if r.stage == stageDMP {
		for j, a := range r.idx {
			if v := math.Abs(r.vpt[j]); v > 0 {
				fall = min(fall, r.lim[a].MaxAcc*dt/v)
			}
		}
	}
	r.slow = max(min(target, r.slow+dt/r.cfg.SlowRise), r.slow-fall, 0)

	// Plan.
	for i := range r.des {
		r.des[i] = r.q1[i] // joints outside the skill hold where they were (or q1)
	}
	switch r.stage {
	case stageApproach:
		r.appS += dt * r.slow
		u := min(r.appS/r.appT, 1)
		s := u * u * u * (10 - 15*u + 6*u*u)
		for i := range r.des {
			r.des[i] = r.q0[i] + (r.q1[i]-r.q0[i])*s
		}
		if u >= 1 {
			r.stage = stageDMP
		}
	case stageDMP:
		r.stepper.Step(dt, nil, r.slow)
		if r.slow > 1e-6 {
			v, a := r.stepper.Vel(), r.stepper.Acc()
			for j := range r.vpt {
				r.vpt[j] = v[j] / r.slow
				r.apt[j] = a[j] / (r.slow * r.slow)
			}
		}
		p := r.stepper.Pos()
		for j, a := range r.idx {
			r.des[a] = p[j]
		}
		for j, a := range r.idx {
			if s := math.Abs(r.speed[a]); s > r.maxSpeed[j] {
				r.maxSpeed[j] = s
			}
		}
	}
	// The reference for tracking is the plan as far as the limits let the arm follow it,
	// so a plan overshooting a limit does not read as a disturbance.
	for j, a := range r.idx {
		r.pvel[j] = 0
		if dt > 0 {
			r.pvel[j] = (r.lim[a].Clamp(r.des[a]) - r.plan[a]) / dt
		}
	}
	for i, q := range r.des {
		r.plan[i] = r.lim[i].Clamp(q)
	}
	bmax := r.fb.compensate(dt, r.plan, r.pvel)
	r.res.MaxOffset = max(r.res.MaxOffset, bmax)
	r.res.FinalOffset = bmax
	r.fb.apply(r.des, r.meas, r.pvel)

	if e.estop.Load() != 0 { // the e-stop wins even over a command already computed
		r.abort(ReasonEStop)
		return
	}
	if err := r.filt.Filter(r.des, dt, r.cfg.period().Seconds(), &r.cmd, r.names); err != nil {
		r.fail(err)
		return
	}
	r.countLimits()
	if err := e.arm.Command(e.ctx, r.cmd); err != nil {
		if werr := r.wd.command(err); werr != nil {
			r.fail(werr)
		}
	} else {
		r.wd.command(nil)
		r.filt.Accept(r.cmd)
	}
	r.observeTick()
	r.checkDone(emax)
	if r.trace != nil {
		r.trace(r)
	}
}

// reanchor resumes the plan after a disturbance from where the arm was last commanded
// (less the offset compensation, which carries on), within Leash of the measured
// position, at rest; the phase rate then ramps up from 0.
func (r *runner) reanchor() {
	r.slow = 0
	if r.stage == stageDMP {
		r.fb.release(r.prevCmd, r.m1, true)
		r.stepper.Reanchor(r.m1, nil)
		for j, a := range r.idx {
			r.plan[a] = r.m1[j]
		}
		clear(r.vpt)
		clear(r.apt)
		r.res.Reanchors++
	} else {
		// Approach: restart the minimum-jerk move from here.
		r.fb.release(r.prevCmd, r.q0, false)
		copy(r.plan, r.q0)
		r.appS = 0
		r.appT = r.approachDuration()
	}
}

// countLimits copies the filter's clamp counters into the result and counts a command
// outside the limits (never, unless the filter is broken).
func (r *runner) countLimits() {
	r.res.PositionClamps, r.res.VelocityClamps, r.res.AccelClamps = r.filt.PositionClamps, r.filt.VelocityClamps, r.filt.AccelClamps
	for i, q := range r.cmd.Pos {
		if !r.lim[i].Contains(q) {
			r.res.LimitViolations++
			break
		}
	}
}

// checkDone ends the run on arrival or timeout, and sends progress events.
func (r *runner) checkDone(emax float64) {
	var fin float64
	slowest := 0.0
	for j, a := range r.idx {
		fin = max(fin, math.Abs(r.meas[a]-r.goal[j]))
		slowest = max(slowest, math.Abs(r.speed[a]))
	}
	r.res.FinalError = fin
	planDone := r.stage == stageDMP && (r.stepper.Done() || r.stepper.Phase() <= dmp.DefaultPhaseEnd)
	if planDone && r.doneAt < 0 {
		r.doneAt = r.active
	}
	// Arrived: within the tolerance and still; and settled well inside it (a quarter); or
	// SettleTime past the run's nominal end (approach + duration) and within half of it; or
	// SettleTime past the plan's actual end. The offset term closes a servo's sag only once
	// the plan stops moving, and phase stopping may hold the plan back well past its nominal
	// end (over a servo bus the servos lag their goals), so a run that is still far from
	// the goal at its nominal end settles for SettleTime after the plan ends instead.
	nominal := r.appT + r.res.PlanDuration
	if planDone && fin < r.cfg.GoalTolerance && slowest < r.cfg.VelTolerance && !r.fb.disturbed &&
		(fin < r.cfg.GoalTolerance/4 ||
			(fin < r.cfg.GoalTolerance/2 && r.active >= nominal+r.cfg.SettleTime) ||
			r.active >= max(nominal, r.doneAt)+r.cfg.SettleTime) {
		r.end(EventSucceeded, "")
		return
	}
	if r.active > r.timeout {
		r.fail(fmt.Errorf("%w: error %.4g rad after %.3g s", ErrTimeout, fin, r.active))
		return
	}
	if r.now-r.lastProgress >= r.cfg.ProgressEvery {
		r.lastProgress = r.now
		ev := Event{Kind: EventProgress, RunID: r.req.ID, Time: (r.now - r.t0).Seconds(),
			Phase: 1, TrackingError: emax, Approach: r.stage == stageApproach, Paused: r.paused}
		if r.stage == stageDMP {
			ev.Phase = r.stepper.Phase()
			ev.Fraction = min(r.stepper.Time()/r.stepper.Duration(), 1)
		}
		r.e.emit(ev)
	}
}

// halt sends one command holding the last measured position plus the joint's offset
// compensation (clamped into the limits) at zero velocity. It never panics.
func (e *Executor) halt(r *runner) {
	defer func() {
		if p := recover(); p != nil && !r.ended {
			r.fail(fmt.Errorf("%w: panic in halt: %v", ErrFault, p))
		}
	}()
	src := r.meas
	if !r.haveMeas {
		// Never read: try once more; without a measurement there is nothing safe to hold.
		if err := e.arm.Read(e.ctx, &r.st); err != nil || r.takeMeasurement(0) != nil {
			return
		}
	}
	for i := range r.cmd.Pos {
		r.cmd.Pos[i] = r.lim[i].Clamp(src[i] + r.fb.off[i]) // the offset keeps a sagging joint where it is
		r.cmd.Vel[i] = 0
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 100*time.Millisecond)
	defer cancel()
	if err := e.arm.Command(ctx, r.cmd); err != nil && !r.ended {
		r.fail(fmt.Errorf("%w: halt: %w", ErrWatchdog, err))
	}
	e.quiet = e.cfg.Clock.Now() + e.cfg.period()
}

// report fills the Result, ends the job and emits the terminal event.
func (e *Executor) report(r *runner) {
	if !r.ended {
		r.fail(fmt.Errorf("%w: loop ended without an outcome", ErrFault))
	}
	res := &r.res
	res.RunID = r.req.ID
	res.Duration = (e.cfg.Clock.Now() - r.t0).Seconds()
	for j, a := range r.idx {
		if p := r.peak[j]; p > max(0.01*r.lim[a].MaxVel, 1e-3) {
			res.MaxSpeedRatio = max(res.MaxSpeedRatio, r.maxSpeed[j]/p)
		}
	}
	t := &res.Timing
	t.RateHz = e.cfg.Rate
	t.Ticks = r.ticks
	t.JitterP50 = r.hist.quantile(0.5).Seconds()
	t.JitterP99 = r.hist.quantile(0.99).Seconds()
	t.JitterMax = r.hist.max.Seconds()
	t.LateMax = r.lateMax.Seconds()
	t.RealTime = e.realtime.Load()
	if c := e.cfg.Counters; c != nil {
		c.runEnded()
	}
	r.job.res = *res
	out := r.job.res
	// The terminal event is queued before Done closes, so whoever waits on Done finds it.
	e.emit(Event{Kind: r.endKind, RunID: r.req.ID, Time: res.Duration, Reason: res.Reason, Result: &out})
	close(r.job.done)
}

// emit sends ev without blocking, dropping the oldest queued event when full.
func (e *Executor) emit(ev Event) {
	ch := e.cfg.Events
	if ch == nil {
		return
	}
	for range 3 {
		select {
		case ch <- ev:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
