package motion

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

func TestTickAllocatesNothing(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 20, 0.3) // long: the run lasts the whole test
	run, err := newRunner(r.ex, Request{ID: "alloc", Skill: skill, Joints: skillJoints})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.setup(); err != nil {
		t.Fatal(err)
	}
	rate, _ := clock.NewRate(r.clk, r.ex.cfg.period())
	prev := r.clk.Now()
	for range 100 { // warm up, including progress events
		r.ex.iterate(run, rate, &prev)
	}
	n := testing.AllocsPerRun(2000, func() { r.ex.iterate(run, rate, &prev) })
	if n != 0 {
		t.Fatalf("one tick allocates %v times", n)
	}
	// AllocsPerRun rounds the average down, so one allocating tick in ten would read as 0:
	// measure batches of 60 ticks, each holding at least one progress event (every 50
	// ticks at 500 Hz), so that any allocation on those ticks shows.
	if n := testing.AllocsPerRun(20, func() {
		for range 60 {
			r.ex.iterate(run, rate, &prev)
		}
	}); n != 0 {
		t.Fatalf("60 ticks with progress events allocate %v times", n)
	}
	if run.ended {
		t.Fatalf("run ended: %s", run.res.Reason)
	}
	if run.stepper.Time() < 4 {
		t.Fatalf("plan time %v after 2100 ticks", run.stepper.Time())
	}
}

// TestSafetyProperty: for random skills, goals, holds and pushes, no command leaves the
// position limits or moves a joint faster than its velocity limit.
func TestSafetyProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	trials := 40
	if testing.Short() {
		trials = 10
	}
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	for trial := range trials {
		start := []float64{u(-1.9, 1.9), u(-1.9, 1.9), u(-1.4, 1.4)}
		goal := []float64{u(-1.9, 1.9), u(-1.9, 1.9), u(-1.4, 1.4)}
		dur := u(0.3, 2)
		skill := fitSkill(t, start, goal, dur, u(-1.5, 1.5)) // big bumps overshoot the limits
		armStart := []float64{start[0] + u(-0.3, 0.3), start[1] + u(-0.3, 0.3), start[2], 0.04}
		for j := range 3 {
			armStart[j] = testJoints[j].Limits.Clamp(armStart[j])
		}
		// Some trials sag like servos without gravity compensation (no extra draws, so the
		// random sequence is unchanged).
		sag := []float64{0.02 * float64(trial%3-1), -0.015 * float64(trial%2), 0.01 * float64(trial%5/4), 0}
		r := newSagRig(t, armStart, u(0.005, 0.05), sag, func(c *Config) { c.ClipGoal = true })
		newGoal := []float64{u(-2.5, 2.5), u(-2.5, 2.5), u(-2, 2)} // clipped
		holdAt, holdFor := 1+rng.IntN(400), rng.IntN(400)
		pushAt, pushJ, push := 1+rng.IntN(800), rng.IntN(3), u(-0.5, 0.5)
		goalAt := 1 + rng.IntN(600)
		r.arm.OnCommand(func(n int, _ joint.Command) {
			switch n {
			case holdAt:
				r.arm.Hold(trial % 3)
			case holdAt + holdFor:
				r.arm.Release(trial % 3)
			}
			if n == pushAt {
				r.arm.Push(pushJ, push)
			}
			if n == goalAt {
				started := make(chan struct{})
				go func() {
					close(started)
					_ = r.ex.SetGoal(newGoal)
				}()
				<-started
			}
		})
		if os.Getenv("PROP_DEBUG") == strconv.Itoa(trial) {
			k := 0
			r.ex.trace = func(x *runner) {
				if k++; k%50 == 0 {
					t.Logf("%4d stage %d slow %.3f phase %.3f t %.2f ef %.3f dist %v plan %.3f meas %.3f goal %.3f lim %.3f", k, x.stage, x.slow, x.stepper.Phase(), x.stepper.Time(), x.fb.ef, x.fb.disturbed, x.plan[:3], x.meas[:3], x.goal, x.fb.limitSlow(x.peak, x.vpt, x.apt))
				}
			}
		}
		j, err := r.ex.Start(Request{ID: "p", Skill: skill, Joints: skillJoints, Goal: goal, OpenLoop: trial%4 == 3})
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		res, _ := j.Wait(context.Background())
		recs := r.arm.Commands()
		checkCommands(t, recs)
		if r.arm.Invalid() != 0 || res.LimitViolations != 0 {
			t.Fatalf("trial %d: %d invalid commands, %d violations", trial, r.arm.Invalid(), res.LimitViolations)
		}
		if os.Getenv("PROP_DEBUG") == strconv.Itoa(trial) {
			t.Logf("start %v goal %v arm %v newGoal %v holdAt %d pushAt %d goalAt %d", start, goal, armStart, newGoal, holdAt, pushAt, goalAt)
			for k := 0; k < len(recs); k += 50 {
				t.Logf("%4d %.3f cmd %.3f", k, recs[k].T.Seconds(), recs[k].Pos[:3])
			}
			t.Logf("end pos %.3f", r.arm.Pos())
		}
		t.Logf("trial %d: dur %.2f hold %d push %.2f sag %v: %s %q err %.3g ratio %.2f clamps p%d v%d a%d reanchors %d offset %.3g",
			trial, dur, holdFor, push, sag, res.Outcome, res.Reason, res.FinalError, res.MaxSpeedRatio, res.PositionClamps, res.VelocityClamps, res.AccelClamps, res.Reanchors, res.MaxOffset)
	}
}

func TestPauseResume(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	paused := make(chan error, 1)
	r.at(200, func() { paused <- r.ex.Pause() })
	j, err := r.ex.Start(Request{ID: "pz", Skill: skill, Joints: skillJoints})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	// Once the ramp is over, the phase stays put.
	var phases []float64
	for len(phases) < 7 {
		e := r.waitEvent(func(e Event) bool { return e.Kind == EventProgress })
		if e.Paused {
			phases = append(phases, e.Phase)
		}
	}
	for _, p := range phases[5:] {
		if math.Abs(p-phases[4]) > 1e-9 {
			t.Fatalf("phase moved while paused: %v", phases)
		}
	}
	if err := r.ex.Resume(); err != nil {
		t.Fatal(err)
	}
	res, err := j.Wait(t.Context())
	if err != nil || res.Outcome != Succeeded {
		t.Fatalf("%v %+v", err, res)
	}
	if res.AccelClamps != 0 || res.VelocityClamps != 0 {
		t.Fatalf("pause ramps needed clamps: %+v", res)
	}
	checkCommands(t, r.arm.Commands())
	if err := r.ex.Pause(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("pause while idle: %v", err)
	}
}

func TestSetGoalDuringRun(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	ng := []float64{0.2, -0.8, 0.5}
	var errSet error
	set := make(chan struct{})
	r.at(250, func() { errSet = r.ex.SetGoal(ng); close(set) })
	j, err := r.ex.Start(Request{ID: "g", Skill: skill, Joints: skillJoints})
	if err != nil {
		t.Fatal(err)
	}
	res, err := j.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	<-set
	if errSet != nil {
		t.Fatalf("set goal: %v", errSet)
	}
	pos := r.arm.Pos()
	for i, g := range ng {
		if math.Abs(pos[i]-g) > 0.01 {
			t.Fatalf("joint %d at %v, new goal %v", i, pos[i], g)
		}
	}
	if res.VelocityClamps != 0 {
		t.Fatalf("goal change needed velocity clamps: %+v", res)
	}
	checkCommands(t, r.arm.Commands())
}

// TestSetGoalRejectsBadGoals asks while the run is paused: paused time does not count
// towards the run's timeout, so the run is certain to be there to answer.
func TestSetGoalRejectsBadGoals(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	paused := make(chan error, 1)
	r.at(100, func() { paused <- r.ex.Pause() })
	j, err := r.ex.Start(Request{ID: "bad-goal", Skill: skill, Joints: skillJoints})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	if err := r.ex.SetGoal([]float64{0, 0, 3}); !errors.Is(err, ErrGoalOutsideLimits) {
		t.Fatalf("goal outside limits: %v", err)
	}
	if err := r.ex.SetGoal([]float64{0, 0}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("goal of the wrong length: %v", err)
	}
	if err := r.ex.Cancel(); err != nil {
		t.Fatal(err)
	}
	if res, _ := j.Wait(t.Context()); res.Outcome != Aborted || res.Reason != ReasonCancelled {
		t.Fatalf("after cancel: %s %q", res.Outcome, res.Reason)
	}
}

func TestGoalOutsideLimits(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, []float64{0.7, -0.4, 1.6}, 1.5, 0) // wrist max is 1.5
	_, err := r.ex.Start(Request{ID: "x", Skill: skill, Joints: skillJoints})
	if !errors.Is(err, ErrGoalOutsideLimits) {
		t.Fatalf("got %v", err)
	}
	clip := newRig(t, armAt, 0.02, func(c *Config) { c.ClipGoal = true })
	res := clip.run(Request{ID: "clip", Skill: skill, Joints: skillJoints})
	if res.Outcome != Succeeded || math.Abs(clip.arm.Pos()[2]-1.5) > 0.01 {
		t.Fatalf("clipped goal: %+v at %v", res, clip.arm.Pos())
	}
	checkCommands(t, clip.arm.Commands())
}

func TestInvalidRequests(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0)
	for name, req := range map[string]Request{
		"nil skill":     {Joints: skillJoints},
		"unknown joint": {Skill: skill, Joints: []string{"shoulder", "elbow", "ankle"}},
		"short joints":  {Skill: skill, Joints: skillJoints[:2]},
		"nan goal":      {Skill: skill, Joints: skillJoints, Goal: []float64{0, math.NaN(), 0}},
		"neg duration":  {Skill: skill, Joints: skillJoints, Duration: -1},
	} {
		if _, err := r.ex.Start(req); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(r.arm, Config{Rate: 2000}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("rate 2 kHz: %v", err)
	}
	if _, err := New(r.arm, Config{Events: make(chan Event)}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("unbuffered events: %v", err)
	}
	for _, lead := range []float64{-0.01, 0.3, math.NaN()} {
		if _, err := New(r.arm, Config{Lead: lead}); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "Lead") {
			t.Errorf("lead %v: %v", lead, err)
		}
		if _, err := New(r.arm, Config{LagTolerance: lead}); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "LagTolerance") {
			t.Errorf("lag tolerance %v: %v", lead, err)
		}
	}
}

func TestApproachFromAfar(t *testing.T) {
	far := []float64{1.2, -1.0, 0.8, 0.04}
	r := newRig(t, far, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	res := r.run(Request{ID: "far", Skill: skill, Joints: skillJoints})
	t.Logf("%+v", res)
	if res.Outcome != Succeeded || res.Approach < 0.5 {
		t.Fatalf("%+v", res)
	}
	if res.VelocityClamps != 0 || res.AccelClamps != 0 {
		t.Fatalf("the approach needed clamps: %+v", res)
	}
	recs := r.arm.Commands()
	checkCommands(t, recs)
	// No full-speed first step: the first commands barely move.
	for i := range 3 {
		if d := math.Abs(recs[0].Pos[i] - far[i]); d > 1e-3 {
			t.Fatalf("first command moves joint %d by %v", i, d)
		}
	}
	// The approach keeps within ApproachScale of the velocity limit (plus plant lag).
	for k := 1; k < len(recs); k++ {
		dt := (recs[k].T - recs[k-1].T).Seconds()
		if recs[k].T.Seconds() > res.Approach {
			break
		}
		for i := range 3 {
			if v := math.Abs(recs[k].Pos[i]-recs[k-1].Pos[i]) / dt; v > 0.31*testJoints[i].Limits.MaxVel {
				t.Fatalf("approach command %d joint %d at %v rad/s", k, i, v)
			}
		}
	}
}

func TestWatchdogOnOverruns(t *testing.T) {
	r := newRig(t, armAt, 0.02, func(c *Config) { c.WatchdogOverruns = 5 })
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == 50 {
			r.arm.SetReadDelay(5 * time.Millisecond) // every tick now misses 2 deadlines
		}
	})
	res := r.run(Request{ID: "ov", Skill: skill, Joints: skillJoints})
	if res.Outcome != Failed || !errors.Is(res.Err, ErrWatchdog) || !strings.Contains(res.Reason, "overruns") {
		t.Fatalf("%s %q", res.Outcome, res.Reason)
	}
	if res.Timing.Overruns != 5 || res.Timing.Missed < 5 {
		t.Fatalf("timing %+v", res.Timing)
	}
	if res.Timing.JitterMax < 0.002 {
		t.Fatalf("jitter max %v", res.Timing.JitterMax)
	}
}

func TestCancelCloseAndContext(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	if err := r.ex.Cancel(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("cancel idle: %v", err)
	}
	// Cancel while the run is under way: the first command queues the request and waits
	// until the control loop can see it (on a fake clock the run would otherwise end first).
	cancelled := make(chan error, 1)
	first := r.arm.NumCommands() + 1
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == first {
			go func() { cancelled <- r.ex.Cancel() }()
			for len(r.ex.reqs) == 0 {
				runtime.Gosched()
			}
		}
	})
	j, err := r.ex.Start(Request{ID: "c", Skill: skill, Joints: skillJoints, Duration: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-cancelled; err != nil {
		t.Fatal(err)
	}
	r.arm.OnCommand(nil)
	if res, err := j.Wait(t.Context()); !errors.Is(err, ErrAborted) || res.Reason != ReasonCancelled {
		t.Fatalf("%v %+v", err, res)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n0 := r.arm.NumCommands()
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == n0+300 {
			cancel()
			for len(r.ex.reqs) == 0 { // Run's cancel request is on its way: let it land
				runtime.Gosched()
			}
		}
	})
	res, err := r.ex.Run(ctx, Request{ID: "ctx", Skill: skill, Joints: skillJoints, Duration: 5})
	if !errors.Is(err, ErrAborted) || !strings.HasPrefix(res.Reason, ReasonCancelled) {
		t.Fatalf("%v %+v", err, res)
	}
	r.arm.OnCommand(nil)

	closed := make(chan struct{})
	first = r.arm.NumCommands() + 1
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == first { // close while the run is under way
			go func() { r.ex.Close(); close(closed) }()
			<-r.ex.closing
		}
	})
	j, _ = r.ex.Start(Request{ID: "cl", Skill: skill, Joints: skillJoints, Duration: 5})
	<-closed
	if res, _ := j.Result(); res.Reason != ReasonClosed {
		t.Fatalf("after close: %+v", res)
	}
	recs := r.arm.Commands()
	if !isHalt(recs[len(recs)-1], r.arm.Pos(), 0.05) {
		t.Fatal("no halt after close")
	}
	if _, err := r.ex.Start(Request{ID: "late", Skill: skill, Joints: skillJoints}); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
	if err := r.ex.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPanicHalts(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r.arm.OnRead(func(n int, _ *joint.State) error {
		if n == 100 {
			panic("driver bug")
		}
		return nil
	})
	res := r.run(Request{ID: "panic", Skill: skill, Joints: skillJoints})
	if res.Outcome != Failed || !errors.Is(res.Err, ErrFault) || !strings.Contains(res.Reason, "driver bug") {
		t.Fatalf("%+v", res)
	}
	recs := r.arm.Commands()
	// Setup's read serves the first tick: reads 2..99 give 98 more commands, then the halt.
	if len(recs) != 100 || !isHalt(recs[99], r.arm.Pos(), 0.02) {
		t.Fatalf("%d commands, last %+v", len(recs), recs[len(recs)-1])
	}
	// The executor survives: the next run works.
	r.arm.OnRead(nil)
	if res := r.run(Request{ID: "next", Skill: skill, Joints: skillJoints}); res.Outcome != Succeeded {
		t.Fatalf("%+v", res)
	}
}

func TestEventsDropOldest(t *testing.T) {
	ev := make(chan Event, 2)
	e := &Executor{cfg: Config{Events: ev}}
	for i := range 5 {
		e.emit(Event{Kind: EventProgress, Time: float64(i)})
	}
	if a, b := <-ev, <-ev; a.Time != 3 || b.Time != 4 {
		t.Fatalf("kept %v and %v, want the newest 3 and 4", a.Time, b.Time)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	h.add(-20 * time.Millisecond)
	if p := h.quantile(0.5); p < 499*time.Microsecond || p > 503*time.Microsecond {
		t.Fatalf("p50 %v", p)
	}
	if p := h.quantile(0.99); p < 989*time.Microsecond || p > 993*time.Microsecond {
		t.Fatalf("p99 %v", p)
	}
	if h.max != 20*time.Millisecond {
		t.Fatalf("max %v", h.max)
	}
}

func TestRealClockRun(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	clk := clock.NewRealSleeper(0)
	arm, err := armtest.New(armtest.Config{Joints: testJoints, Start: armAt, Clock: clk, PlantTau: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	// The real pacer drives a run to its end. How punctual it is depends on the machine
	// (this suite runs beside CPU hogs): that is measured by `praxis bench loop`, not here;
	// the overrun watchdog is tested on the fake clock.
	ex, err := New(arm, Config{Clock: clk, Rate: 1000, RealTimePriority: 50, WatchdogOverruns: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	skill := fitSkill(t, sStart, sGoal, 0.5, 0.1)
	res, err := ex.Run(t.Context(), Request{ID: "real", Skill: skill, Joints: skillJoints})
	t.Logf("real clock at 1 kHz: %+v", res.Timing)
	if err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	// At least one tick per 5 ms of the run's wall time, and a wall time no shorter than
	// the plan: the pacer neither spins through the run nor stalls in it.
	if res.Timing.Ticks < uint64(res.Duration/0.005) || res.Duration < res.PlanDuration {
		t.Fatalf("%d ticks in %.3f s (plan %.3f s): %+v", res.Timing.Ticks, res.Duration, res.PlanDuration, res.Timing)
	}
}

func TestWatchdogOnCommandErrors(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == 100 {
			r.arm.SetCommandError(errors.New("bus unplugged"))
		}
	})
	res := r.run(Request{ID: "cmd", Skill: skill, Joints: skillJoints})
	if res.Outcome != Failed || !errors.Is(res.Err, ErrWatchdog) || !strings.Contains(res.Reason, "3 consecutive command errors: bus unplugged") {
		t.Fatalf("%s %q", res.Outcome, res.Reason)
	}
	// 100 good commands, 3 failed ones, then the (failing) halt attempt.
	if n := r.arm.NumCommands(); n != 104 {
		t.Fatalf("%d commands", n)
	}
}
