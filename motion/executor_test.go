package motion

import (
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/praxis-robotics/praxis/motion/joint"
)

var (
	sStart = []float64{-0.5, 0.4, 0}
	sGoal  = []float64{0.7, -0.4, 0.3}
	armAt  = []float64{-0.5, 0.4, 0, 0.04}
)

func TestRunSucceeds(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	res := r.run(Request{ID: "r1", Skill: skill, Joints: skillJoints})
	t.Logf("result: %+v", res)
	if res.Outcome != Succeeded || res.RunID != "r1" {
		t.Fatalf("outcome %s %q", res.Outcome, res.Reason)
	}
	if res.FinalError > 0.01 || res.LimitViolations != 0 || res.Approach != 0 {
		t.Fatalf("final error %v, violations %d, approach %v", res.FinalError, res.LimitViolations, res.Approach)
	}
	if res.MaxSpeedRatio < 0.8 || res.MaxSpeedRatio > 1.2 {
		t.Fatalf("speed ratio %v", res.MaxSpeedRatio)
	}
	if res.Duration < 1.5 || res.Duration > 4 || res.Timing.Ticks < 700 || res.Timing.Overruns != 0 {
		t.Fatalf("duration %v, timing %+v", res.Duration, res.Timing)
	}
	pos := r.arm.Pos()
	for j, g := range sGoal {
		if math.Abs(pos[j]-g) > 0.01 {
			t.Fatalf("joint %d ends at %v, goal %v", j, pos[j], g)
		}
	}
	if math.Abs(pos[3]-0.04) > 1e-9 {
		t.Fatalf("gripper (not in the skill) moved to %v", pos[3])
	}
	recs := r.arm.Commands()
	checkCommands(t, recs)
	if !isHalt(recs[len(recs)-1], pos, 0.01) {
		t.Fatalf("last command is not a halt: %+v", recs[len(recs)-1])
	}
	evs := r.events()
	if evs[0].Kind != EventStarted || evs[len(evs)-1].Kind != EventSucceeded || evs[len(evs)-1].Result.FinalError != res.FinalError {
		t.Fatalf("events: first %+v last %+v", evs[0], evs[len(evs)-1])
	}
	progress, lastT := 0, -1.0
	for _, e := range evs {
		if e.RunID != "r1" {
			t.Fatalf("event with run id %q", e.RunID)
		}
		if e.Kind == EventProgress {
			progress++
			if e.Time-lastT < 0.099 {
				t.Fatalf("progress events %v s apart", e.Time-lastT)
			}
			lastT = e.Time
		}
	}
	if progress < 10 {
		t.Fatalf("%d progress events", progress)
	}
}

// holdRun holds the shoulder for 0.5 s from 0.5 s into the run and returns the result
// and the progress events; mod, if not nil, changes the config.
func holdRun(t *testing.T, open bool, mod func(*Config)) (Result, []Event) {
	r := newRig(t, armAt, 0.02, mod)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r.arm.OnCommand(func(n int, _ joint.Command) {
		switch n {
		case 250:
			r.arm.Hold(0)
		case 500:
			r.arm.Release(0)
		}
	})
	res := r.run(Request{ID: "hold", Skill: skill, Joints: skillJoints, OpenLoop: open})
	t.Logf("open=%v: %+v", open, res)
	checkCommands(t, r.arm.Commands())
	return res, r.events()
}

func TestHoldClosedLoopWaitsAndResumes(t *testing.T) {
	t.Run("default", func(t *testing.T) { testHoldWaits(t, nil, 1.2) })
	// As over a servo bus (simrun.BusLagTolerance): the lag tolerated does not hide a
	// held joint. The catch-up after the release is a little faster (measured 1.23 times
	// the planned peak): phase stopping no longer slows for the first 0.03 s of lag.
	t.Run("lag tolerance", func(t *testing.T) {
		testHoldWaits(t, func(c *Config) { c.LagTolerance = 0.03 }, 1.3)
	})
}

func testHoldWaits(t *testing.T, mod func(*Config), maxRatio float64) {
	res, evs := holdRun(t, false, mod)
	if res.Outcome != Succeeded {
		t.Fatalf("outcome %s %q", res.Outcome, res.Reason)
	}
	if res.MaxSpeedRatio > maxRatio {
		t.Fatalf("speed ratio %v after the hold", res.MaxSpeedRatio)
	}
	if res.Reanchors < 1 {
		t.Fatal("no re-anchoring after the hold")
	}
	// The plan waits: the phase hardly moves while the joint is held (0.6 s .. 1.0 s).
	lo, hi := 2.0, -1.0
	for _, e := range evs {
		if e.Kind == EventProgress && e.Time > 0.6 && e.Time < 1.0 {
			lo, hi = min(lo, e.Phase), max(hi, e.Phase)
		}
	}
	if hi < lo || hi-lo > 0.03 {
		t.Fatalf("phase moved from %v to %v during the hold", hi, lo)
	}
}

func TestHoldOpenLoopSpikes(t *testing.T) {
	res, _ := holdRun(t, true, nil)
	if res.MaxSpeedRatio < 1.5 {
		t.Fatalf("open loop speed ratio %v: expected a catch-up spike", res.MaxSpeedRatio)
	}
	if res.Reanchors != 0 {
		t.Fatalf("open loop re-anchored %d times", res.Reanchors)
	}
}

func TestEStopWithinOneTick(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	var held []float64
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == 200 {
			held = r.arm.Pos()
			r.ex.EStop()
		}
	})
	res := r.run(Request{ID: "es", Skill: skill, Joints: skillJoints})
	if res.Outcome != Aborted || res.Reason != ReasonEStop {
		t.Fatalf("outcome %s %q", res.Outcome, res.Reason)
	}
	recs := r.arm.Commands()
	if len(recs) != 201 {
		t.Fatalf("%d commands, want 200 and one halt", len(recs))
	}
	if !isHalt(recs[200], held, 0.02) {
		t.Fatalf("command after e-stop is not a halt at %v: %+v", held, recs[200])
	}
	if _, err := r.ex.Start(Request{ID: "x", Skill: skill, Joints: skillJoints}); !errors.Is(err, ErrEStopped) {
		t.Fatalf("start while e-stopped: %v", err)
	}
	r.ex.Reset()
	r.arm.OnCommand(nil)
	if res := r.run(Request{ID: "after", Skill: skill, Joints: skillJoints, Goal: sStart}); res.Outcome != Succeeded {
		t.Fatalf("after reset: %s %q", res.Outcome, res.Reason)
	}
}

func TestPreemption(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	type started struct {
		j   *Job
		err error
	}
	bc := make(chan started, 1)
	r.at(250, func() {
		j, err := r.ex.Start(Request{ID: "b", Skill: skill, Joints: skillJoints})
		bc <- started{j, err}
	})
	a, err := r.ex.Start(Request{ID: "a", Skill: skill, Joints: skillJoints, Duration: 3})
	if err != nil {
		t.Fatal(err)
	}
	sb := <-bc
	b, err := sb.j, sb.err
	if err != nil {
		t.Fatal(err)
	}
	ra, ok := a.Result()
	if !ok || ra.Outcome != Aborted || ra.Reason != ReasonPreempted {
		t.Fatalf("a: %v %+v", ok, ra)
	}
	e := r.waitEvent(func(e Event) bool { return e.RunID == "a" && e.Kind == EventAborted })
	if e.Reason != ReasonPreempted {
		t.Fatalf("aborted event reason %q", e.Reason)
	}
	if ev := r.waitEvent(func(e Event) bool { return e.RunID == "b" }); ev.Kind != EventStarted {
		t.Fatalf("first event of b: %+v", ev)
	}
	rb, err := b.Wait(t.Context())
	if err != nil || rb.Outcome != Succeeded {
		t.Fatalf("b: %v %+v", err, rb)
	}
	checkCommands(t, r.arm.Commands())
}

func TestWatchdogOnReadErrors(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	// Two failures in a row are tolerated (WatchdogReads 3)...
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == 100 {
			r.arm.FailReads(2)
		}
	})
	if res := r.run(Request{ID: "ok", Skill: skill, Joints: skillJoints}); res.Outcome != Succeeded {
		t.Fatalf("two read errors: %s %q", res.Outcome, res.Reason)
	}
	// ...a third is not.
	n0 := r.arm.NumCommands()
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == n0+100 {
			r.arm.FailReads(3)
		}
	})
	before := r.arm.Pos()
	res := r.run(Request{ID: "wd", Skill: skill, Joints: skillJoints, Goal: sStart})
	if res.Outcome != Failed || !errors.Is(res.Err, ErrWatchdog) || errors.Is(res.Err, ErrFault) {
		t.Fatalf("outcome %s %q", res.Outcome, res.Reason)
	}
	recs := r.arm.Commands()
	if got := r.arm.NumCommands() - n0; got != 101 {
		t.Fatalf("%d commands, want 100 and a halt", got)
	}
	if last := recs[len(recs)-1]; !isHalt(last, r.arm.Pos(), 0.05) {
		t.Fatalf("last command not a halt: %+v (started at %v)", last, before)
	}
}

func TestNaNNeverSent(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r.arm.OnRead(func(n int, s *joint.State) error {
		if n == 150 {
			s.Pos[1] = math.NaN()
		}
		return nil
	})
	res := r.run(Request{ID: "nan", Skill: skill, Joints: skillJoints})
	if res.Outcome != Failed || !errors.Is(res.Err, ErrFault) || !strings.Contains(res.Reason, "NaN") {
		t.Fatalf("outcome %s %q", res.Outcome, res.Reason)
	}
	if r.arm.Invalid() != 0 {
		t.Fatalf("%d invalid commands sent", r.arm.Invalid())
	}
	checkCommands(t, r.arm.Commands())
	if err := r.ex.SetGoal([]float64{math.NaN(), 0, 0}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("set goal while idle: %v", err)
	}
}

// TestEStopThroughExternalLatch: with Config.Latch the e-stop is a store into a word the
// executor does not own (another process's, in internal/ctlproc): the store alone, with
// no call on the executor, halts the run at the next tick, EStopped and Start see it,
// and Reset clears the word.
func TestEStopThroughExternalLatch(t *testing.T) {
	var latch atomic.Uint64
	r := newRig(t, armAt, 0.02, func(c *Config) { c.Latch = &latch })
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == 100 {
			latch.Store(1)
		}
	})
	res := r.run(Request{ID: "es", Skill: skill, Joints: skillJoints})
	if res.Outcome != Aborted || res.Reason != ReasonEStop {
		t.Fatalf("outcome %s %q, want aborted by the e-stop", res.Outcome, res.Reason)
	}
	if n := len(r.arm.Commands()); n != 101 {
		t.Fatalf("%d commands, want 100 and one halt", n)
	}
	if !r.ex.EStopped() {
		t.Fatal("EStopped false with the latch word set")
	}
	if _, err := r.ex.Start(Request{ID: "x", Skill: skill, Joints: skillJoints}); !errors.Is(err, ErrEStopped) {
		t.Fatalf("start with the latch set: %v, want ErrEStopped", err)
	}
	r.ex.Reset()
	if latch.Load() != 0 {
		t.Fatal("Reset left the shared word set")
	}
	r.ex.EStop()
	if latch.Load() == 0 {
		t.Fatal("EStop did not set the shared word")
	}
}
