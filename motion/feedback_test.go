package motion

import (
	"math"
	"testing"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// newTestFeedback: a 3-joint arm (limits ±1 rad, 2 rad/s, 10 rad/s²) whose skill drives
// arm joints 0 and 2, with the default config.
func newTestFeedback(t *testing.T, openLoop bool) (*feedback, *Config) {
	t.Helper()
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	lim := make([]joint.Limits, 3)
	for i := range lim {
		lim[i] = joint.Limits{Min: -1, Max: 1, MaxVel: 2, MaxAcc: 10}
	}
	return newFeedback(&c, []int{0, 2}, lim, openLoop), &c
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %.15g, want %.15g", what, got, want)
	}
}

func TestFeedbackTrack(t *testing.T) {
	f, _ := newTestFeedback(t, false)
	meas := []float64{0.03, 5, -0.04} // joint 1 is not the skill's: ignored
	plan := []float64{0, 0, 0}
	cmd := []float64{0.01, 0, -0.01}
	en, emax := f.track(meas, plan, cmd, 0.002)
	near(t, "en", en, 0.05)
	near(t, "emax", emax, 0.03)
	near(t, "ej[0]", f.ej[0], 0.03)
	near(t, "ej[1]", f.ej[1], -0.04)
	near(t, "ef", f.ef, 0.002/0.022*0.05) // 20 ms low-pass from 0
}

// TestFeedbackLagTolerance: with LagTolerance, phase stopping's filtered norm discounts
// |plan velocity|·LagTolerance from each joint's error (down to 0); the error norm for
// disturbances and the per-joint errors keep the whole error.
func TestFeedbackLagTolerance(t *testing.T) {
	f, c := newTestFeedback(t, false)
	c.LagTolerance = 0.03
	f.pvel = []float64{1, -0.5} // per skill joint, rad/s
	meas := []float64{-0.05, 0, 0.01}
	plan := []float64{0, 0, 0}
	en, _ := f.track(meas, plan, plan, 0.002)
	near(t, "en", en, math.Hypot(0.05, 0.01))
	near(t, "ej[0]", f.ej[0], -0.05)
	// Joint 0: 0.05 − 1·0.03 = 0.02; joint 2: 0.01 − 0.5·0.03 < 0: 0.
	near(t, "ef", f.ef, 0.002/0.022*0.02)
	f.pvel = nil // no plan velocity: the whole error
	f.ef = 0
	f.track(meas, plan, plan, 0.002)
	near(t, "ef without pvel", f.ef, 0.002/0.022*math.Hypot(0.05, 0.01))
}

func TestFeedbackPhaseTarget(t *testing.T) {
	f, c := newTestFeedback(t, false)
	f.ef = c.PhaseStopTolerance / 2
	near(t, "below the tolerance", f.phaseTarget(), 1)
	f.ef = c.PhaseStopTolerance + 0.01 // 60/rad · 0.01 rad = 0.6
	near(t, "0.01 rad above", f.phaseTarget(), 1/(1+0.36))
	f.disturbed = true
	near(t, "disturbed", f.phaseTarget(), 0)
}

// TestFeedbackDisturbance: an error norm above ReanchorThreshold is a disturbance that
// leashes only the joint that is off its plan; it is released once that joint's error
// falls back (the arm gives way), resetting the filtered error.
func TestFeedbackDisturbance(t *testing.T) {
	f, c := newTestFeedback(t, false)
	plan := []float64{0, 0, 0}
	step := func(q0, q2 float64) bool {
		en, _ := f.track([]float64{q0, 0, q2}, plan, plan, 0.002)
		return f.disturbance(en)
	}
	if step(0.02, 0.005) || f.disturbed {
		t.Fatalf("0.02 rad (threshold %v): disturbed %v", c.ReanchorThreshold, f.disturbed)
	}
	if step(0.08, 0.005) || !f.disturbed {
		t.Fatal("0.08 rad: not disturbed")
	}
	if !f.leashed[0] || f.leashed[1] {
		t.Fatalf("leashed %v, want only joint 0", f.leashed)
	}
	if step(0.1, 0.005) || !f.disturbed {
		t.Fatal("the error grows: released")
	}
	if f.ef == 0 {
		t.Fatal("filtered error is 0 during the disturbance")
	}
	// Within Leash/2 of its peak: still held.
	if step(0.1-c.Leash/4, 0.005) {
		t.Fatal("released within Leash/2 of the peak")
	}
	if !step(0.1-c.Leash, 0.005) {
		t.Fatal("the arm gave way by Leash: not released")
	}
	if f.disturbed || f.leashed[0] || f.ef != 0 {
		t.Fatalf("after release: disturbed %v leashed %v ef %v", f.disturbed, f.leashed, f.ef)
	}
	// Release: the last command less the offset.
	f.off[0], f.off[2] = 0.01, -0.02
	q := make([]float64, 2)
	f.release([]float64{0.5, 9, 0.3}, q, true)
	near(t, "release skill joint 0", q[0], 0.49)
	near(t, "release skill joint 1", q[1], 0.32)
	qa := make([]float64, 3)
	f.release([]float64{0.5, 9, 0.3}, qa, false)
	near(t, "release arm joint 1 (no offset)", qa[1], 9)
}

// TestFeedbackCompensate: b integrates −gain·dt·error, weighted by 1/(1+(v/0.2)²) while
// the plan moves at v, is bounded by OffsetMax (and 10% of the range), stays inside the
// limits with the plan, freezes during a disturbance and is off in open loop.
func TestFeedbackCompensate(t *testing.T) {
	f, c := newTestFeedback(t, false)
	plan := []float64{0, 0, 0.5}
	f.ej[0], f.ej[1] = 0.01, -0.01
	b := f.compensate(0.002, plan, []float64{0, 0.2})
	near(t, "b[0] (still)", f.off[0], -c.OffsetGain*0.002*0.01)
	near(t, "b[2] (0.2 rad/s: half rate)", f.off[2], c.OffsetGain*0.002*0.01/2)
	near(t, "bmax", b, c.OffsetGain*0.002*0.01)
	if f.off[1] != 0 {
		t.Fatalf("arm joint 1 (not the skill's) has offset %v", f.off[1])
	}
	// Bounded: 10% of the 2 rad range is 0.2 > OffsetMax 0.1.
	for range 100000 {
		f.compensate(0.002, plan, []float64{0, 0})
	}
	near(t, "b[0] bound", f.off[0], -c.OffsetMax)
	// Against the upper limit: plan 0.5 + b ≤ 1 holds anyway; at plan 0.95, b ≤ 0.05.
	near(t, "b[2] bound", f.off[2], c.OffsetMax)
	plan[2] = 0.95
	f.compensate(0.002, plan, []float64{0, 0})
	near(t, "b[2] at the limit", f.off[2], 0.05)
	// Frozen during a disturbance (the bound still applies).
	f.disturbed = true
	was := f.off[0]
	f.compensate(0.002, plan, []float64{0, 0})
	near(t, "b[0] disturbed", f.off[0], was)
	// Apply: des + b, and a leashed joint within Leash of measured + b.
	des := []float64{0.3, 0.3, 0.3}
	f.leashed[0] = true
	f.apply(des, []float64{0.5, 0, 0.3}, []float64{0, 0})
	near(t, "des[0] leashed", des[0], 0.5+was-c.Leash)
	near(t, "des[1] untouched", des[1], 0.3)
	near(t, "des[2] + b", des[2], 0.3+0.05)

	// Lead: plus Lead times the plan's velocity, per skill joint.
	c.Lead = 0.04
	des = []float64{0.3, 0.3, 0.3}
	f.apply(des, []float64{0.3, 0, 0.3}, []float64{0, 0.5})
	near(t, "des[2] + b + lead·v", des[2], 0.3+0.05+0.04*0.5)
	near(t, "des[1] untouched with lead", des[1], 0.3)
	c.Lead = 0

	o, _ := newTestFeedback(t, true)
	o.ej[0] = 0.01
	if b := o.compensate(0.002, plan, []float64{0, 0}); b != 0 || o.off[0] != 0 {
		t.Fatalf("open loop: b %v", o.off)
	}
}

func TestFeedbackLimitSlow(t *testing.T) {
	f, c := newTestFeedback(t, false)
	peak := []float64{1, 1}
	near(t, "within", f.limitSlow(peak, []float64{0.5, -1}, []float64{1, 1}), 1)
	// SpeedMargin · peak = 1.1 rad/s caps a plan at 2.2 rad/s to half speed.
	near(t, "speed", f.limitSlow(peak, []float64{0, -2.2}, []float64{0, 0}), c.SpeedMargin*1/2.2)
	// 0.9 · MaxAcc = 9 rad/s² caps 36 rad/s² to rate 0.5.
	near(t, "acceleration", f.limitSlow(peak, []float64{0, 0}, []float64{36, 0}), 0.5)
}

func TestFeedbackAllocatesNothing(t *testing.T) {
	f, _ := newTestFeedback(t, false)
	meas, plan, cmd, des := []float64{0.1, 0, 0}, []float64{0, 0, 0}, []float64{0, 0, 0}, []float64{0, 0, 0}
	pvel, q := []float64{0, 0}, []float64{0, 0}
	if n := testing.AllocsPerRun(100, func() {
		en, _ := f.track(meas, plan, cmd, 0.002)
		if f.disturbance(en) {
			f.release(cmd, q, true)
		}
		f.phaseTarget()
		f.compensate(0.002, plan, pvel)
		f.apply(des, meas, pvel)
		f.limitSlow(pvel, pvel, pvel)
	}); n != 0 {
		t.Fatalf("%v allocations per tick", n)
	}
}
