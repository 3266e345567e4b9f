// Package simrun runs one skill on the in-process simulated arm, faster than real time:
// a clock.Fake drives both the executor and the simulator, so a run is deterministic
// and takes milliseconds of CPU per second of motion. It is the logic behind
// `praxis sim run` and the feedback-correction acceptance tests.
//
// The skill's joints are matched by name to the arm's; arm joints the skill lacks hold
// still. The arm starts at the skill's start unless Options.From says otherwise.
// Perturbations are resolved against the plan: `at` is a fraction of the run's duration,
// counted from the start of the DMP (after the approach, if the arm starts away from the
// skill's start).
package simrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/skilllib"
)

// ErrBadInput is wrapped by every error caused by the caller's options (unknown arm or
// joint, goal outside the limits, bad perturbation, bad rate or duration), as opposed to
// a failure of the run itself.
var ErrBadInput = errors.New("simrun: bad input")

// Options configures Run. Zero fields take the stated defaults.
type Options struct {
	Skill *skilllib.Skill // required
	Arm   string          // "so101" (default), "ur5", "panda" or a .urdf path
	// Goal is one value per skill joint, rad or m; nil: the skill's goal. A goal outside
	// the joint limits is refused (ErrBadInput wrapping motion.ErrGoalOutsideLimits).
	Goal []float64
	// Duration of the DMP run, s; 0: the skill's Tau.
	Duration float64
	// From is the arm's initial position, one value per ARM joint (rad or m); nil: the
	// skill's start for the skill's joints and 0 (clamped into the limits) for the rest.
	From []float64
	// Perturbations to apply, as parsed by sim.ParsePerturbation (At set, Start unset).
	Perturbations []sim.Perturbation
	// OpenLoop disables the executor's feedback correction (for comparison).
	OpenLoop bool
	// Rate is the control rate, Hz, in (0, 1000]; default 500, or BusRate over a bus.
	Rate float64
	// Bus, when set (busarm.Dynamixel or busarm.Feetech), puts the arm behind that
	// simulated servo bus on a real pseudo-terminal and runs the executor on the real
	// driver (busarm.StartRig): wire protocol, 4096-tick quantisation and bus timing. The
	// executor leads its commands by BusLead (the servos get no velocity feed-forward),
	// tolerates BusLagTolerance of following lag in phase stopping and integrates the
	// offset term at BusOffsetGain. The
	// run then takes real time: the arm, the driver and the executor share one
	// busarm.SimClock bounded at busarm.RigMaxSimStep (real time that pauses with the
	// machine) instead of a fake clock, so it is not deterministic.
	Bus string
	// Seed seeds the simulator's noise (none by default, so the seed rarely matters).
	Seed int64
	// GoalTolerance is the executor's (motion.Config.GoalTolerance), rad; 0: its default,
	// 0.01.
	GoalTolerance float64
	// Trace records one row per command sent to the arm (see Trace).
	Trace bool
}

// BusRate is the default control rate over a simulated bus, Hz: the daemon's over a
// servo bus. One tick (a sync read of six servos and a sync write) occupies about 1 ms of
// a 1 Mbit/s bus, so 500 Hz would leave the loop no slack for a busy machine.
const BusRate = 100

// BusLead is the executor's Lead (motion.Config.Lead) over a simulated bus, s. The
// simulated SO-101 servos, given goal positions alone, follow 25-55 ms late by joint
// (traces of the seed skills over the feetech bus: lag over planned speed mid-motion),
// but leading by that much overshoots; a sweep (seed skills + 3 random goals, feetech,
// final error p95 and overtime p50/p95): 0 s 0.0100 rad, 2.09/2.78 s; 0.015 s 0.0047,
// 0.53/0.88 s; 0.02 s 0.0047, 0.29/0.47 s; 0.025 s 0.0047, 0.29/0.46 s; 0.03 s 0.0047,
// 0.50/0.80 s; 0.04 s 1.43/1.72 s (13 runs); 0.055 s 0.0050, 2.86/3.26 s.
const BusLead = 0.025

// BusLagTolerance is the executor's LagTolerance (motion.Config.LagTolerance) over a
// simulated bus, s: the servos' following delay left after BusLead, which phase stopping
// then no longer reads as the arm being held back. Seed skills + 3 random goals, both
// buses, overtime max (p95 = max): none 0.43-0.45 s, 0.03 s 0.33-0.35 s, 0.05 s
// 0.33-0.36 s; the plans then end as on the direct arm (0.12 s past their nominal end),
// and what is left is the final settling (see BusOffsetGain).
const BusLagTolerance = 0.03

// BusOffsetGain is the executor's OffsetGain over a simulated bus, 1/s: twice the
// default, so the offset term closes the last ticks of sag after the plan ends within
// SettleTime (the servos' tick quantisation and lag make the default's 0.25 s time
// constant too slow there). With BusLagTolerance, seed skills + 3 random goals: gain 4
// overtime max 0.33-0.35 s, final error max 0.0041 rad; gain 8 0.28-0.31 s, 0.0026 rad.
const BusOffsetGain = 8

// BusSettleTime is the executor's SettleTime (motion.Config.SettleTime) over a simulated
// bus, s: the default 0.29 less two 100 Hz ticks. The settle rule counts simulated time,
// and a run's wall time adds up to a tick more (the run's start and its result, and what
// the rig's SimClock drops: 0.06 % of a run at the median on a quiet machine), so with the
// default one Feetech run of 106 ended 0.303 s of real time past plan + approach (the
// target is 0.3 s); the final errors stay far inside the 0.006 rad target (p95 0.0024).
const BusSettleTime = 0.27

// Report is the outcome of a simulated run. The JSON key names are a contract: new keys
// may be added, none renamed.
type Report struct {
	Skill    string   `json:"skill"`
	Arm      string   `json:"arm"`
	Bus      string   `json:"bus,omitempty"` // the simulated servo bus, if any (Options.Bus)
	Joints   []string `json:"joints"`        // the skill's joints
	OpenLoop bool     `json:"open_loop"`
	Outcome  string   `json:"outcome"` // succeeded, aborted or failed
	Reason   string   `json:"reason,omitempty"`
	// FinalError is the max over skill joints of |measured − goal| at the end, rad.
	FinalError float64 `json:"final_error"`
	// TrueFinalError is the max over skill joints of |true position − goal| at the end,
	// rad: FinalError without the measurement's error (over a bus, the tick quantisation).
	TrueFinalError float64 `json:"true_final_error"`
	// Span is the motion's span: the max over skill joints of the range (max − min) of
	// a rollout of the plan from the skill's start to the goal, rad.
	Span float64 `json:"span"`
	// MaxTrackingError is the max over ticks and skill joints of |measured − commanded|, rad.
	MaxTrackingError float64 `json:"max_tracking_error"`
	// MaxSpeedRatio is the max over skill joints of the highest measured speed divided by
	// the plan's peak speed for that joint (as the executor measures it).
	MaxSpeedRatio float64 `json:"max_speed_ratio"`
	// LimitViolations counts commands the arm received outside its position limits: the
	// larger of the simulator's own count and the executor's. Must be 0.
	LimitViolations int `json:"limit_violations"`
	// SimOutOfLimits and ExecutorLimitViolations are the two counts behind LimitViolations.
	SimOutOfLimits          uint64 `json:"sim_out_of_limits"`
	ExecutorLimitViolations int    `json:"executor_limit_violations"`
	LimitHits               uint64 `json:"limit_hits"` // physics steps in which a joint hit a hard stop
	PositionClamps          int    `json:"position_clamps"`
	VelocityClamps          int    `json:"velocity_clamps"`
	AccelClamps             int    `json:"accel_clamps"`
	Reanchors               int    `json:"reanchors"`
	// MaxOffset is the largest steady-state offset compensation the executor applied
	// (motion.Result.MaxOffset), rad: about the servos' sag under gravity.
	MaxOffset float64 `json:"max_offset"`
	// Duration is the simulated time from start to halt, s; PlanDuration the DMP's
	// duration parameter, s; Approach the easing-in before it, s (0: none).
	Duration      float64   `json:"duration"`
	PlanDuration  float64   `json:"plan_duration"`
	Approach      float64   `json:"approach"`
	Goal          []float64 `json:"goal"`           // per skill joint, rad or m
	FinalPosition []float64 `json:"final_position"` // true position per skill joint at the end, rad or m
	// Perturbations lists those applied, in the CLI syntax, each with its start on the
	// run's time line.
	Perturbations []AppliedPerturbation `json:"perturbations"`
	Timing        Timing                `json:"timing"` // loop timing (simulated: jitter 0) and wall time
	Rate          float64               `json:"rate"`   // control rate, Hz
}

// Timing is the executor's loop timing (its keys, unchanged) and the run's real elapsed
// time.
type Timing struct {
	motion.Stats
	// Wall is the real (wall-clock) time the executor's run took, s: from the request to
	// the result, the arm's and the bus's set-up excluded. On the in-process arm it is
	// only CPU time (the fake clock runs faster than real time); over a simulated bus it
	// is what a real run would take, against Duration (simulated), PlanDuration and
	// Approach.
	Wall float64 `json:"wall"`
}

// AppliedPerturbation is one perturbation as applied.
type AppliedPerturbation struct {
	Spec  string  `json:"spec"`  // CLI syntax
	Start float64 `json:"start"` // s after the run started
	End   float64 `json:"end"`   // s after the run started; 0: permanent
}

// Trace is one row per command sent to the arm, halt included.
type Trace struct {
	Joints []string    // arm joint names
	T      []float64   // s since the run started
	Cmd    [][]float64 // commanded position per arm joint, rad or m
	Pos    [][]float64 // measured position per arm joint at that tick, rad or m
}

// WriteCSV writes the trace with header `t,cmd_<joint>...,pos_<joint>...` (arm joints
// in the arm's order), one row per command.
func (tr *Trace) WriteCSV(w io.Writer) error {
	var b strings.Builder
	b.WriteString("t")
	for _, p := range []string{"cmd_", "pos_"} {
		for _, n := range tr.Joints {
			b.WriteString("," + p + n)
		}
	}
	b.WriteString("\n")
	f := func(v float64) { b.WriteString(","); b.WriteString(strconv.FormatFloat(v, 'f', 6, 64)) }
	for i, t := range tr.T {
		b.WriteString(strconv.FormatFloat(t, 'f', 4, 64))
		for _, v := range tr.Cmd[i] {
			f(v)
		}
		for _, v := range tr.Pos[i] {
			f(v)
		}
		b.WriteString("\n")
		if b.Len() > 1<<16 {
			if _, err := io.WriteString(w, b.String()); err != nil {
				return err
			}
			b.Reset()
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tracer wraps the arm to record what the executor reads and commands.
type tracer struct {
	motion.Arm
	clk  clock.Clock
	t0   time.Duration
	last joint.State
	tr   *Trace
}

func (a *tracer) Read(ctx context.Context, s *joint.State) error {
	err := a.Arm.Read(ctx, s)
	if err == nil && a.tr != nil {
		a.last.CopyFrom(s)
	}
	return err
}

func (a *tracer) Command(ctx context.Context, c joint.Command) error {
	err := a.Arm.Command(ctx, c)
	if err == nil && a.tr != nil {
		a.tr.T = append(a.tr.T, (a.clk.Now() - a.t0).Seconds())
		a.tr.Cmd = append(a.tr.Cmd, append([]float64(nil), c.Pos...))
		a.tr.Pos = append(a.tr.Pos, append([]float64(nil), a.last.Pos...))
	}
	return err
}

// Run runs the skill once on a fresh simulated arm and returns the report, and the
// trace when Options.Trace is set. Errors from bad options wrap ErrBadInput and name
// what was wrong; a run that fails or is aborted is not an error (see Report.Outcome).
func Run(ctx context.Context, o Options) (*Report, *Trace, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadInput, fmt.Sprintf(format, a...))
	}
	s := o.Skill
	if s == nil {
		return nil, nil, bad("no skill")
	}
	if err := s.Validate(); err != nil {
		return nil, nil, bad("%v", err)
	}
	if o.Arm == "" {
		o.Arm = "so101"
	}
	if o.Bus != "" && o.Bus != busarm.Dynamixel && o.Bus != busarm.Feetech {
		return nil, nil, bad("bus %q: want %s or %s", o.Bus, busarm.Dynamixel, busarm.Feetech)
	}
	if o.Rate == 0 {
		o.Rate = 500
		if o.Bus != "" {
			o.Rate = BusRate
		}
	}
	if !(o.Rate > 0 && o.Rate <= 1000) {
		return nil, nil, bad("rate %v Hz, want (0, 1000]", o.Rate)
	}
	if !(o.Duration >= 0) || math.IsInf(o.Duration, 0) {
		return nil, nil, bad("duration %v s, want a finite number > 0", o.Duration)
	}
	dur := o.Duration
	if dur == 0 {
		dur = s.DMP.Tau
	}
	// A first arm only to learn the joints and limits (construction is cheap).
	probe, err := simarm.New(simarm.Config{Model: o.Arm, Clock: &clock.Fake{}})
	if err != nil {
		return nil, nil, bad("arm %s: %v", o.Arm, err)
	}
	js := probe.Joints()
	names := joint.Names(js)
	idx := make([]int, len(s.Joints))
	for j, n := range s.Joints {
		idx[j] = indexOf(names, n)
		if idx[j] < 0 {
			return nil, nil, bad("skill joint %q is not a joint of arm %s (%s)", n, o.Arm, strings.Join(names, ","))
		}
	}
	var goalByName map[string]float64
	if o.Goal != nil {
		if len(o.Goal) != len(s.Joints) {
			return nil, nil, bad("goal has %d values for %d skill joints", len(o.Goal), len(s.Joints))
		}
		goalByName = make(map[string]float64, len(o.Goal))
		for j, g := range o.Goal {
			goalByName[s.Joints[j]] = g
		}
	}
	initial := make([]float64, len(js))
	if o.From != nil {
		if len(o.From) != len(js) {
			return nil, nil, bad("from has %d values for the %d joints of arm %s", len(o.From), len(js), o.Arm)
		}
		copy(initial, o.From)
	} else {
		for i, jt := range js {
			initial[i] = jt.Limits.Clamp(0)
		}
		for j, a := range idx {
			initial[a] = s.DMP.Start[j]
		}
	}
	for i, q := range initial {
		l := js[i].Limits
		if math.IsNaN(q) || math.IsInf(q, 0) || (js[i].Type != joint.Continuous && !l.Contains(q)) {
			return nil, nil, bad("start of joint %q at %.4g is outside [%.4g, %.4g]", names[i], q, l.Min, l.Max)
		}
	}
	// The same plan as the daemon's and the executor's: goal, duration, approach.
	plan, err := motion.Config{}.MakePlan(js, &s.DMP, s.Joints, goalByName, o.Duration, initial)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	goal, app := plan.Goal, plan.Approach
	var clk clock.Sleeper = &clock.Fake{}
	if o.Bus != "" {
		clk = busarm.NewSimClock(busarm.RigMaxSimStep)
	}
	arm, err := simarm.New(simarm.Config{Model: o.Arm, Clock: clk, Seed: o.Seed, Initial: initial})
	if err != nil {
		return nil, nil, bad("arm %s: %v", o.Arm, err)
	}
	defer arm.Close()
	ta := &tracer{Arm: arm, clk: clk}
	if o.Bus != "" {
		rig, err := busarm.StartRig(ctx, busarm.RigConfig{Driver: o.Bus, Arm: arm, Clock: clk.(*busarm.SimClock)})
		if err != nil {
			return nil, nil, fmt.Errorf("simrun: %w", err)
		}
		defer rig.Close()
		ta.Arm = rig.Arm()
	}
	var tr *Trace
	if o.Trace {
		tr = &Trace{Joints: names}
		ta.tr = tr
		ta.last = joint.NewState(len(js))
	}
	mc := motion.Config{Rate: o.Rate, Clock: clk, GoalTolerance: o.GoalTolerance}
	if o.Bus != "" {
		mc.Lead, mc.LagTolerance, mc.OffsetGain, mc.SettleTime = BusLead, BusLagTolerance, BusOffsetGain, BusSettleTime
	}
	ex, err := motion.New(ta, mc)
	if err != nil {
		return nil, nil, fmt.Errorf("simrun: %w", err)
	}
	defer ex.Close()

	t0 := clk.Now()
	ta.t0 = t0
	rep := &Report{Skill: s.Name, Arm: o.Arm, Bus: o.Bus, Joints: append([]string(nil), s.Joints...), OpenLoop: o.OpenLoop,
		Goal: append([]float64(nil), goal...), Rate: o.Rate, Perturbations: []AppliedPerturbation{}}
	if tr, err := s.DMP.Rollout(nil, goal, dur, 0.01); err == nil {
		for j := range goal {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, p := range tr.Pos {
				lo, hi = min(lo, p[j]), max(hi, p[j])
			}
			rep.Span = max(rep.Span, hi-lo)
		}
	}
	for _, p := range o.Perturbations {
		p = p.Resolve(time.Duration(dur*float64(time.Second)), t0+time.Duration(app*float64(time.Second)))
		if err := arm.Perturb(p); err != nil {
			return nil, nil, bad("perturbation %s: %v", p, err)
		}
		ap := AppliedPerturbation{Spec: p.String(), Start: (p.Start - t0).Seconds()}
		if p.For > 0 {
			ap.End = ap.Start + p.For.Seconds()
		}
		rep.Perturbations = append(rep.Perturbations, ap)
	}
	req := motion.Request{ID: s.Name, Skill: &s.DMP, Joints: s.Joints, Goal: o.Goal, Duration: o.Duration, OpenLoop: o.OpenLoop}
	began := time.Now()
	res, err := ex.Run(ctx, req)
	wall := time.Since(began).Seconds()
	if err != nil && !errors.Is(err, motion.ErrAborted) && !errors.Is(err, motion.ErrFailed) {
		if errors.Is(err, motion.ErrInvalidRequest) || errors.Is(err, motion.ErrGoalOutsideLimits) {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		return nil, nil, fmt.Errorf("simrun: %w", err)
	}
	st := arm.Stats()
	rep.Outcome = string(res.Outcome)
	rep.Reason = res.Reason
	rep.FinalError = res.FinalError
	rep.MaxTrackingError = res.MaxTrackingError
	rep.MaxSpeedRatio = res.MaxSpeedRatio
	rep.SimOutOfLimits = st.OutOfLimits
	rep.ExecutorLimitViolations = res.LimitViolations
	rep.LimitViolations = max(int(st.OutOfLimits), res.LimitViolations)
	rep.LimitHits = st.LimitHits
	rep.PositionClamps, rep.VelocityClamps, rep.AccelClamps = res.PositionClamps, res.VelocityClamps, res.AccelClamps
	rep.Reanchors = res.Reanchors
	rep.MaxOffset = res.MaxOffset
	rep.Duration = res.Duration
	rep.PlanDuration = res.PlanDuration
	rep.Approach = res.Approach
	rep.Timing = Timing{Stats: res.Timing, Wall: wall}
	rep.FinalPosition = make([]float64, len(idx))
	for j, a := range idx {
		rep.FinalPosition[j] = st.Truth[a]
		rep.TrueFinalError = max(rep.TrueFinalError, math.Abs(st.Truth[a]-goal[j]))
	}
	return rep, tr, nil
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// Summary returns the report as a few human-readable lines.
func (r *Report) Summary() string {
	var b strings.Builder
	loop := "closed loop"
	if r.OpenLoop {
		loop = "open loop"
	}
	on := r.Arm
	if r.Bus != "" {
		on += " over a simulated " + r.Bus + " bus"
	}
	fmt.Fprintf(&b, "%s on %s (%s, %.0f Hz): %s", r.Skill, on, loop, r.Rate, r.Outcome)
	if r.Reason != "" {
		fmt.Fprintf(&b, " (%s)", r.Reason)
	}
	fmt.Fprintf(&b, " after %.3f s simulated\n", r.Duration)
	pct := 0.0
	if r.Span > 0 {
		pct = 100 * r.FinalError / r.Span
	}
	fmt.Fprintf(&b, "final error        %.4f rad (%.2f%% of the %.3f rad span)\n", r.FinalError, pct, r.Span)
	fmt.Fprintf(&b, "max tracking error %.4f rad\n", r.MaxTrackingError)
	fmt.Fprintf(&b, "max speed ratio    %.3f (measured / planned peak)\n", r.MaxSpeedRatio)
	fmt.Fprintf(&b, "limit violations   %d (sim %d, executor %d); clamps: position %d, velocity %d, accel %d\n",
		r.LimitViolations, r.SimOutOfLimits, r.ExecutorLimitViolations, r.PositionClamps, r.VelocityClamps, r.AccelClamps)
	fmt.Fprintf(&b, "reanchors          %d; max offset compensation %.4f rad\n", r.Reanchors, r.MaxOffset)
	for _, p := range r.Perturbations {
		if p.End > 0 {
			fmt.Fprintf(&b, "perturbation       %s: %.3f–%.3f s\n", p.Spec, p.Start, p.End)
		} else {
			fmt.Fprintf(&b, "perturbation       %s: from %.3f s\n", p.Spec, p.Start)
		}
	}
	fmt.Fprintf(&b, "timing             %d ticks, %d overruns, %.3f s wall time\n", r.Timing.Ticks, r.Timing.Overruns, r.Timing.Wall)
	return b.String()
}
