package motion

import (
	"math"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// feedback is a run's feedback correction, the terms the tick adds to the open-loop plan:
// the tracking error against the plan and its filtered norm (phase stopping), disturbance
// detection with the leash on the disturbed joints, the steady-state offset compensation
// b, and the phase rate the speed and acceleration limits allow. It owns no plan and sends
// nothing: the runner asks it, then re-anchors the plan when it reports that the arm gave
// way. All slices are allocated by newFeedback; no method allocates.
type feedback struct {
	cfg *Config
	idx []int          // skill joint j -> arm joint idx[j]
	lim []joint.Limits // per arm joint

	ej        []float64 // per skill joint: measured − plan, rad
	ef        float64   // the error norm, low-passed over 20 ms, rad
	disturbed bool
	leashed   []bool    // per skill joint: disturbed, commanded within Leash of the measurement
	eMax      float64   // peak of the disturbance's error measure (over the leashed joints, or all while none is)
	eLeashed  bool      // eMax is over the leashed joints
	off       []float64 // per arm joint: offset compensation b added to the plan, rad
	offMax    []float64 // per arm joint: bound of |b| (0: none, outside the skill or disabled)
	pvel      []float64 // per skill joint: the plan's velocity (the runner's), rad/s; nil: none
}

// newFeedback returns the feedback of a run driving skill joints idx of an arm with
// limits lim (defaults filled). openLoop disables the offset compensation (as does
// cfg.OffsetGain ≤ 0).
func newFeedback(cfg *Config, idx []int, lim []joint.Limits, openLoop bool) *feedback {
	n, m := len(lim), len(idx)
	f := &feedback{cfg: cfg, idx: idx, lim: lim, ej: make([]float64, m), leashed: make([]bool, m),
		off: make([]float64, n), offMax: make([]float64, n)}
	if cfg.OffsetGain > 0 && !openLoop {
		for _, a := range idx {
			l := lim[a]
			f.offMax[a] = min(cfg.OffsetMax, 0.1*(l.Max-l.Min)) // +Inf range: OffsetMax
		}
	}
	return f
}

// track takes this tick's measurement meas against last tick's plan and the last command
// sent (per arm joint) over dt s: it sets the per-joint error, updates the filtered norm
// (of the errors less |plan velocity|·LagTolerance each, when pvel is set), and returns
// the norm against the plan (en) and the max against the command (emax), rad.
func (f *feedback) track(meas, plan, prevCmd []float64, dt float64) (en, emax float64) {
	var e2, p2 float64
	for j, a := range f.idx {
		d := meas[a] - plan[a]
		f.ej[j] = d
		e2 += d * d
		emax = max(emax, math.Abs(meas[a]-prevCmd[a]))
		if f.pvel != nil && f.cfg.LagTolerance > 0 {
			// The lag a servo following the plan late by LagTolerance shows is no sign of
			// the arm being held back.
			d = max(math.Abs(d)-math.Abs(f.pvel[j])*f.cfg.LagTolerance, 0)
		}
		p2 += d * d
	}
	en = math.Sqrt(e2)
	f.ef += dt / (dt + 0.02) * (math.Sqrt(p2) - f.ef)
	return en, emax
}

// phaseTarget returns the phase rate tracking allows: 0 while disturbed, else
// 1/(1+(gain·(ef−tol))²) above PhaseStopTolerance, else 1.
func (f *feedback) phaseTarget() float64 {
	if f.disturbed {
		return 0
	}
	if x := f.ef - f.cfg.PhaseStopTolerance; x > 0 {
		k := f.cfg.PhaseStopGain * x
		return 1 / (1 + k*k)
	}
	return 1
}

// disturbance updates the disturbed state from the error norm en (from track). It
// reports released when a disturbance ends because the arm moves again: the filtered
// error is then reset and the caller re-anchors the plan (see release). The disturbed
// joints (off their own plan by more than ReanchorThreshold, Leash and half the largest
// joint error) are leashed; the others keep the (freezing) plan plus their offset.
func (f *feedback) disturbance(en float64) (released bool) {
	if !f.disturbed {
		if en <= f.cfg.ReanchorThreshold {
			return false
		}
		f.disturbed = true
		clear(f.leashed)
		f.eMax = 0
		f.eLeashed = false
	}
	var dmax float64
	for _, d := range f.ej {
		dmax = max(dmax, math.Abs(d))
	}
	// A joint is disturbed when its own error is large, not merely when the arm is: a
	// neighbour's lag or a coupling jolt must not leash it (a leashed joint yields to
	// whatever pushes it).
	thr := max(f.cfg.Leash, f.cfg.ReanchorThreshold, dmax/2)
	var e2 float64
	some := false
	for j, d := range f.ej {
		if math.Abs(d) > thr {
			f.leashed[j] = true
		}
		if f.leashed[j] {
			e2 += d * d
			some = true
		}
	}
	el := math.Sqrt(e2)
	if !some {
		el = en // no joint stands out yet: watch the whole arm
	}
	if some != f.eLeashed { // the measure changed: restart its peak
		f.eLeashed = some
		f.eMax = 0
	}
	f.eMax = max(f.eMax, el)
	if el > f.eMax-f.cfg.Leash/2 && el > f.cfg.ReanchorThreshold/2 {
		return false
	}
	// The arm moves again.
	f.disturbed = false
	clear(f.leashed)
	f.ef = 0
	return true
}

// release writes into q (per arm joint, or per skill joint when skill is true) where a
// released plan resumes: the last command less the offset compensation, which carries on.
func (f *feedback) release(prevCmd, q []float64, skill bool) {
	if skill {
		for j, a := range f.idx {
			q[j] = prevCmd[a] - f.off[a]
		}
		return
	}
	for i := range q {
		q[i] = prevCmd[i] - f.off[i]
	}
}

// compensate updates the offset compensation b of each skill joint from the error
// measured this tick against last tick's plan (see Config.OffsetGain), given this tick's
// plan (per arm joint, clamped into the limits) and the plan's velocity pvel (per skill
// joint, rad/s), and returns the largest |b|, rad.
func (f *feedback) compensate(dt float64, plan, pvel []float64) (bmax float64) {
	const vGate = 0.2 // rad/s: plan speed at which the integration runs at half rate
	for j, a := range f.idx {
		b, bm := f.off[a], f.offMax[a]
		if bm == 0 {
			continue
		}
		if d := f.ej[j]; !f.disturbed && math.Abs(d) <= f.cfg.ReanchorThreshold {
			// Weighted down while the plan moves fast: tracking lag is no offset.
			v := pvel[j] / vGate
			b -= f.cfg.OffsetGain * dt * d / (1 + v*v)
		}
		b = min(max(b, -bm), bm)
		// No windup against a limit: plan + b stays within it.
		b = f.lim[a].Clamp(plan[a]+b) - plan[a]
		f.off[a] = b
		bmax = max(bmax, math.Abs(b))
	}
	return bmax
}

// apply adds the offset compensation and the lead (Config.Lead times the plan's velocity
// pvel, per skill joint) to des (per arm joint) and, during a disturbance, keeps each
// leashed joint within Leash of its measurement plus its offset: it pushes gently
// against whatever holds the arm, and a sagging joint is not walked down by gravity.
func (f *feedback) apply(des, meas, pvel []float64) {
	for j, a := range f.idx {
		des[a] += f.off[a]
		if f.cfg.Lead != 0 {
			des[a] += f.cfg.Lead * pvel[j]
		}
		if l := f.cfg.Leash; f.disturbed && f.leashed[j] {
			c := meas[a] + f.off[a]
			des[a] = min(max(des[a], c-l), c+l)
		}
	}
}

// limitSlow returns the phase rate that keeps each skill joint's planned speed within
// its limit (and SpeedMargin times its planned peak) and its acceleration within limit,
// given the plan-time velocity vpt, acceleration apt and peak speed of each skill joint.
func (f *feedback) limitSlow(peak, vpt, apt []float64) float64 {
	s := 1.0
	for j, a := range f.idx {
		l := f.lim[a]
		vcap := 0.95 * l.MaxVel
		if f.cfg.SpeedMargin > 0 {
			vcap = min(vcap, max(f.cfg.SpeedMargin*peak[j], 0.1*l.MaxVel))
		}
		if v := math.Abs(vpt[j]); v*s > vcap {
			s = vcap / v
		}
		if ac := math.Abs(apt[j]); ac*s*s > 0.9*l.MaxAcc {
			s = math.Sqrt(0.9 * l.MaxAcc / ac)
		}
	}
	return s
}
