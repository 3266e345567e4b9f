package motion

import (
	"math"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// sag02 makes the shoulder and the elbow settle 0.02 rad short of their commands (one
// up, one down), like position servos without gravity compensation.
var sag02 = []float64{0.02, -0.02, 0, 0}

func TestSagCompensatedReachesGoal(t *testing.T) {
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r := newSagRig(t, armAt, 0.02, sag02, nil)
	var over float64 // worst overshoot past the goal, in the direction of travel
	r.ex.trace = func(x *runner) {
		for j := range 2 { // the wrist has a bump
			dir := math.Copysign(1, sGoal[j]-sStart[j])
			over = max(over, dir*(x.meas[j]-sGoal[j]))
		}
	}
	res := r.run(Request{ID: "sag", Skill: skill, Joints: skillJoints})
	t.Logf("compensated: %s %q final %.4f max offset %.4f final offset %.4f overshoot %.4f ratio %.3f duration %.3f",
		res.Outcome, res.Reason, res.FinalError, res.MaxOffset, res.FinalOffset, over, res.MaxSpeedRatio, res.Duration)
	if res.Outcome != Succeeded || !(res.FinalError < 0.01) {
		t.Fatalf("%s %q, final error %v; want success within 0.01 rad", res.Outcome, res.Reason, res.FinalError)
	}
	if math.Abs(res.MaxOffset-0.02) > 0.005 || math.Abs(res.FinalOffset-0.02) > 0.005 {
		t.Fatalf("offset max %v, final %v; want ≈ 0.02", res.MaxOffset, res.FinalOffset)
	}
	if over > 0.005 {
		t.Fatalf("overshoot %v rad past the goal", over)
	}
	if res.MaxSpeedRatio > 1.2 || res.Duration > 2.5 || res.LimitViolations != 0 {
		t.Fatalf("speed ratio %v, duration %v, %d violations", res.MaxSpeedRatio, res.Duration, res.LimitViolations)
	}
	checkCommands(t, r.arm.Commands())
	// The halt carries the offset: the arm stays at the goal after the run.
	r.clk.Advance(time.Second)
	pos := r.arm.Pos()
	for j, g := range sGoal {
		if d := math.Abs(pos[j] - g); d > 0.01 {
			t.Fatalf("joint %d at %v 1 s after the run, goal %v", j, pos[j], g)
		}
	}

	// Without compensation the same run misses the goal by the sag.
	off := newSagRig(t, armAt, 0.02, sag02, func(c *Config) { c.OffsetGain = -1 })
	ro := off.run(Request{ID: "nosag", Skill: skill, Joints: skillJoints})
	t.Logf("uncompensated: %s %q final %.4f", ro.Outcome, ro.Reason, ro.FinalError)
	if ro.Outcome != Failed || ro.FinalError < 0.015 || ro.MaxOffset != 0 {
		t.Fatalf("uncompensated: %s, final error %v, offset %v; want a failure ≈ 0.02 off", ro.Outcome, ro.FinalError, ro.MaxOffset)
	}
}

// TestOffsetIdealPlant: on a plant without sag the compensation stays negligible and the
// run is as before.
func TestOffsetIdealPlant(t *testing.T) {
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	for _, tau := range []float64{0, 0.02, 0.05} {
		r := newRig(t, armAt, tau, nil)
		res := r.run(Request{ID: "ideal", Skill: skill, Joints: skillJoints})
		t.Logf("tau %v: %s final %.5f max offset %.5f ratio %.3f", tau, res.Outcome, res.FinalError, res.MaxOffset, res.MaxSpeedRatio)
		if res.Outcome != Succeeded || res.MaxOffset > 2e-3 || res.MaxSpeedRatio > 1.2 {
			t.Fatalf("tau %v: %+v", tau, res)
		}
	}
}

// TestSagHoldKeepsNeighbours: with sagging joints, holding one joint leashes only that
// joint; the others stay on their frozen plan instead of creeping with gravity, and the
// run completes smoothly after the release.
func TestSagHoldKeepsNeighbours(t *testing.T) {
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	for _, held := range []int{0, 1, 2} {
		r := newSagRig(t, armAt, 0.02, sag02, nil)
		r.arm.OnCommand(func(n int, _ joint.Command) {
			switch n {
			case 250:
				r.arm.Hold(held)
			case 500:
				r.arm.Release(held)
			}
		})
		var ticks int
		var drift float64
		var leashedOther bool
		r.ex.trace = func(x *runner) {
			if !x.fb.disturbed {
				return
			}
			ticks++
			for j, a := range x.idx {
				if j == held {
					continue
				}
				drift = max(drift, math.Abs(x.meas[a]-x.plan[a]))
				leashedOther = leashedOther || x.fb.leashed[j]
			}
		}
		res := r.run(Request{ID: "hold", Skill: skill, Joints: skillJoints})
		t.Logf("hold %d: %s %q final %.4f ratio %.3f reanchors %d disturbed ticks %d neighbour drift %.4f",
			held, res.Outcome, res.Reason, res.FinalError, res.MaxSpeedRatio, res.Reanchors, ticks, drift)
		if ticks < 150 {
			t.Fatalf("hold %d: disturbed for %d ticks only", held, ticks)
		}
		if drift > 0.02 || leashedOther {
			t.Fatalf("hold %d: neighbours %.4f rad off their frozen plan (leashed: %v)", held, drift, leashedOther)
		}
		if res.Outcome != Succeeded || !(res.FinalError < 0.01) || res.MaxSpeedRatio > 1.2 || res.Reanchors < 1 {
			t.Fatalf("hold %d: %s %q final %v ratio %v reanchors %d", held, res.Outcome, res.Reason, res.FinalError, res.MaxSpeedRatio, res.Reanchors)
		}
		checkCommands(t, r.arm.Commands())
	}
}

// TestSagStepDuringRun: a sag appearing mid-run (a payload) is absorbed. (A step
// taking the error norm past ReanchorThreshold is a disturbance instead.)
func TestSagStepDuringRun(t *testing.T) {
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r := newRig(t, armAt, 0.02, nil)
	r.arm.OnCommand(func(n int, _ joint.Command) {
		if n == 300 {
			r.arm.SetSag(0, 0.02)
			r.arm.SetSag(2, -0.02)
		}
	})
	res := r.run(Request{ID: "step", Skill: skill, Joints: skillJoints})
	t.Logf("%s %q final %.4f max offset %.4f ratio %.3f reanchors %d", res.Outcome, res.Reason, res.FinalError, res.MaxOffset, res.MaxSpeedRatio, res.Reanchors)
	if res.Outcome != Succeeded || !(res.FinalError < 0.01) || math.Abs(res.FinalOffset-0.02) > 0.005 {
		t.Fatalf("%+v", res)
	}
	checkCommands(t, r.arm.Commands())
}

// TestOffsetBounded: an offset larger than OffsetMax is compensated only up to it, and
// never pushes a command past a limit.
func TestOffsetBounded(t *testing.T) {
	skill := fitSkill(t, sStart, []float64{0.7, -0.4, 1.5}, 1.5, 0) // wrist ends at its max
	r := newSagRig(t, armAt, 0.02, []float64{0.03, 0, 0.02, 0}, func(c *Config) { c.OffsetMax = 0.015 })
	var maxB float64
	r.ex.trace = func(x *runner) {
		maxB = max(maxB, math.Abs(x.fb.off[0]))
		if b := x.fb.off[2]; x.plan[2]+b > 1.5+1e-12 {
			t.Errorf("wrist plan %v + offset %v beyond its limit", x.plan[2], b)
		}
	}
	res := r.run(Request{ID: "bound", Skill: skill, Joints: skillJoints})
	t.Logf("%s %q final %.4f max offset %.4f", res.Outcome, res.Reason, res.FinalError, res.MaxOffset)
	if math.Abs(maxB-0.015) > 1e-9 || res.MaxOffset > 0.015+1e-9 || res.LimitViolations != 0 || r.arm.Invalid() != 0 {
		t.Fatalf("shoulder offset %v, max %v, %d violations", maxB, res.MaxOffset, res.LimitViolations)
	}
	if res.Outcome != Failed { // 0.015 rad short on the shoulder, and the wrist cannot go past its limit
		t.Fatalf("%+v", res)
	}
	checkCommands(t, r.arm.Commands())
}
