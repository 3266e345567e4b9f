package dmp

import (
	"fmt"
	"math"
	"sort"
)

// maxSubsteps bounds the work of one Step: a longer dt is truncated (the executor's
// watchdog has long tripped by then).
const maxSubsteps = 1000

// Stepper advances a DMP one dt at a time without allocating. Not safe for concurrent
// use; it keeps its own copy of the DMP's parameters.
type Stepper struct {
	nj, nb      int
	k, dmp, tau float64 // stiffness K, damping D, duration τ (s)
	ax, ag      float64
	pastor      bool
	classic     bool      // SystemPhase: the v1 equations, stepped exactly as before
	sys         System    // the other systems
	u           float64   // plan time / τ (other systems)
	xEnd        float64   // phase at τ, exp(−AlphaX)
	cur         point     // reference at the current state (other systems)
	ci          int       // first centre at or below the phase (other systems)
	gapH        []float64 // longest substep, s, between centres i and i+1 (other systems)
	hMax        float64   // longest RK4 substep, s
	centers     []float64
	widths      []float64
	w           []float64 // [j*nb+i]
	amp         []float64 // Ijspeert reference amplitude per joint, 0 = unscaled
	y0, y, v, a []float64
	g, gT       []float64
	fcur, fmid  []float64
	fend, psi   []float64
	vOut, aOut  []float64
	coup        []float64
	x, t, slow  float64
	tau2        float64 // τ², s²
	// The exponentials of the last substep length and of the last step length in
	// localHMax (other systems): a run steps at one dt, so they are computed once.
	sub           substepExp
	hHMax, exHMax float64
	duration      float64
}

// NewStepper starts a run from start (required: nil or a wrong length is an error), with
// velocity startVel (nil means zero; rad/s) towards goal (nil means the demonstrated
// goal) over duration seconds (0 means Tau). Errors wrap ErrInvalidDMP or
// ErrInvalidArgument.
func (d *DMP) NewStepper(start, startVel, goal []float64, duration float64) (*Stepper, error) {
	if err := d.validate(true); err != nil {
		return nil, err
	}
	nj, nb := len(d.Weights), len(d.Centers)
	if start == nil {
		return nil, fmt.Errorf("%w: nil start (pass the measured position)", ErrInvalidArgument)
	}
	if goal == nil {
		goal = d.Goal
	}
	if err := checkVec("start", start, nj); err != nil {
		return nil, err
	}
	if err := checkVec("goal", goal, nj); err != nil {
		return nil, err
	}
	if startVel != nil {
		if err := checkVec("start velocity", startVel, nj); err != nil {
			return nil, err
		}
	}
	if duration == 0 {
		duration = d.Tau
	}
	if !finite(duration) || duration <= 0 || duration > MaxDuration {
		return nil, fmt.Errorf("%w: duration %v s, want > 0 and at most %v", ErrInvalidArgument, duration, MaxDuration)
	}
	buf := make([]float64, 13*nj+nj*nb+3*nb)
	take := func(n int) []float64 { s := buf[:n:n]; buf = buf[n:]; return s }
	s := &Stepper{
		nj: nj, nb: nb, k: d.AlphaZ * d.BetaZ, dmp: d.AlphaZ, tau: duration,
		ax: d.AlphaX, ag: d.AlphaG, pastor: d.Formulation == Pastor2009,
		classic: d.System.classic(), sys: d.System, xEnd: math.Exp(-d.AlphaX),
		centers: take(nb), widths: take(nb), w: take(nj * nb), psi: take(nb),
		amp: take(nj), y0: take(nj), y: take(nj), v: take(nj), a: take(nj),
		g: take(nj), gT: take(nj), fcur: take(nj), fmid: take(nj), fend: take(nj),
		vOut: take(nj), aOut: take(nj), coup: take(nj),
		x: 1, slow: 1, duration: duration, tau2: duration * duration,
	}
	s.hMax = duration * minSpacing(d.Centers, d.AlphaX) / 4
	if !s.classic {
		s.gapH = substepLimits(d, duration)
	}
	copy(s.centers, d.Centers)
	copy(s.widths, d.Widths)
	for j, wj := range d.Weights {
		copy(s.w[j*nb:], wj)
	}
	if !s.pastor {
		copy(s.amp, d.Amplitude)
	}
	copy(s.y0, start)
	copy(s.y, start)
	copy(s.v, startVel)
	copy(s.g, goal)
	copy(s.gT, goal)
	s.restart()
	return s, nil
}

// restart puts the phase and plan time back to the start (position and velocity stay).
func (s *Stepper) restart() {
	s.x, s.t, s.u, s.ci = 1, 0, 0, 0
	if s.classic {
		s.forcing(s.x, s.fcur)
	} else {
		s.cur = s.at(0, 1, s.fcur)
	}
	s.updateAcc()
}

// substepLimits returns, for each gap between consecutive centres, the longest substep
// over it, s: a quarter of the time between the two centres (so the centres crowded
// where a demo that ends moving brakes cost substeps only there), shortened by the
// fourth root of how much larger the weights of the two centres are than the median
// (RK4's error grows with the forcing's amplitude and the fourth power of the step: the
// brake's weights are tens of times the others').
func substepLimits(d *DMP, duration float64) []float64 {
	nb := len(d.Centers)
	gap := make([]float64, max(nb-1, 1))
	gap[0] = duration / 4
	amp := make([]float64, len(gap))
	for i := 1; i < nb; i++ {
		gap[i-1] = duration * math.Log(d.Centers[i-1]/d.Centers[i]) / d.AlphaX / 4
		for _, w := range d.Weights {
			amp[i-1] = max(amp[i-1], math.Abs(w[i-1]), math.Abs(w[i]))
		}
	}
	ref := append([]float64(nil), amp...)
	sort.Float64s(ref)
	med := ref[len(ref)/2]
	for i, a := range amp {
		if a > med && med > 0 {
			gap[i] *= math.Pow(med/a, 0.25)
		}
	}
	return gap
}

// localHMax is the longest substep, s, for a step of h seconds from the current phase:
// a quarter of the shortest time between consecutive centres over the phases the step
// covers (τ/4 where the step covers no centre; past τ, for SystemMinJerk, τ/100).
func (s *Stepper) localHMax(h float64) float64 {
	if s.sys == SystemMinJerk && s.u >= 1 {
		return s.tau / 100
	}
	if h != s.hHMax {
		s.hHMax, s.exHMax = h, math.Exp(-s.ax*h/s.tau)
	}
	x1 := s.x * s.exHMax
	c := s.centers
	// i0: last centre above x (or 0); i1: first centre at or below x1 (or the last).
	// The phase only decreases: s.ci (first centre at or below x) only moves forward.
	for s.ci < len(c) && c[s.ci] > s.x {
		s.ci++
	}
	i0 := max(s.ci-1, 0)
	i1 := s.ci
	for i1 < len(c) && c[i1] > x1 {
		i1++
	}
	i1 = min(i1, len(c)-1)
	m := s.tau / 4
	for i := i0; i < i1 && i < len(s.gapH); i++ {
		m = min(m, s.gapH[i])
	}
	if i0 >= i1 && i0 < len(s.gapH) {
		m = min(m, s.gapH[i0])
	}
	return m
}

// substepExp holds, for a substep of h seconds, the factors by which the phase (ex,
// exh for half the substep) and the goal filter's distance to its target (eg, egh) decay.
type substepExp struct{ h, ex, exh, eg, egh float64 }

// point is the time-dependent part of the dynamics at one instant (systems other than
// SystemPhase): the reference is y0 + (g−y0)·p, its velocity (g−y0)·p1/τ and its
// acceleration (g−y0)·p2/τ² (p1 = p2 = 0 for systems without feed-forward).
type point struct{ p, p1, p2 float64 }

// Goal system and gating of dmpbbo's KULVICIUS_2012_JOINING defaults: τ ẏg = 15 (g − yg),
// and a logistic gate falling from 1 with rate 15/τ, at ½ at 0.85 τ.
const (
	dmpbboGoalRate = 15.0
	dmpbboGateRate = 15.0
	dmpbboGateAt   = 0.85
)

// refAt returns, for system sys at normalised plan time u and phase x (xEnd the phase
// at τ), the phase the basis functions see, the gate of the forcing term and the reference.
func refAt(sys System, u, x, xEnd float64) (xb, gate float64, pt point) {
	xb, gate = x, 1
	switch sys {
	case SystemMinJerk:
		if u >= 1 {
			return xb, 0, point{p: 1}
		}
		return xb, gate, point{p: u * u * u * (10 + u*(-15+6*u)), p1: 30 * u * u * (1 - u) * (1 - u), p2: 60 * u * (1 - u) * (1 - 2*u)}
	case systemDmpbbo:
		b := math.Exp(-dmpbboGateRate * dmpbboGateAt)
		gate = (1 + b) / (1 + b*math.Exp(dmpbboGateRate*u))
	default: // count-down phase
		gate = max(1-u, 0)
	}
	return max(x, xEnd), gate, point{p: -math.Expm1(-dmpbboGoalRate * u)}
}

// at returns the reference at normalised plan time u (phase x) and writes the forcing
// term of every joint (gated, without the Ijspeert scaling) into f.
func (s *Stepper) at(u, x float64, f []float64) point {
	xb, gate, pt := refAt(s.sys, u, x, s.xEnd)
	if gate == 0 {
		for j := range f {
			f[j] = 0
		}
		return pt
	}
	lo, hi := activations(xb, s.centers, s.widths, s.psi)
	psi := s.psi[lo:hi]
	if gate == 1 { // SystemMinJerk before τ: v·1 is v
		for j := range f {
			w := s.w[j*s.nb+lo : j*s.nb+hi]
			var v float64
			for i, p := range psi {
				v += p * w[i]
			}
			f[j] = v
		}
		return pt
	}
	for j := range f {
		w := s.w[j*s.nb+lo : j*s.nb+hi]
		var v float64
		for i, p := range psi {
			v += p * w[i]
		}
		f[j] = v * gate
	}
	return pt
}

// accelRef is accel for the systems other than SystemPhase.
func (s *Stepper) accelRef(j int, y, v, g float64, pt point, f float64) float64 {
	return s.accelStage(s.stageTerms(j, g, pt, f), y, v)
}

// stage holds the terms of one joint's plan-time acceleration that its position and
// velocity do not change (systems other than SystemPhase), at one instant:
// τ² a = K(r − y) + D(d1 − τv) + d2 + kf, r the reference (rad or m).
type stage struct{ r, d1, d2, kf float64 }

// stageTerms returns the stage of joint j for filtered goal g, reference point pt and
// forcing f. The RK4 stages 2 and 3 of a substep share theirs.
func (s *Stepper) stageTerms(j int, g float64, pt point, f float64) stage {
	y0 := s.y0[j]
	dl := g - y0
	sc := 1.0
	if !s.pastor {
		if a := s.amp[j]; a != 0 {
			sc = max(dl/a, 0) // never mirror the shape
		}
	}
	return stage{r: y0 + dl*pt.p, d1: dl * pt.p1, d2: dl * pt.p2, kf: s.k * sc * f}
}

// accelStage is the plan-time acceleration at position y and velocity v, without
// coupling; the operations are those of the equation, in its order, so the result is
// the same to the bit whichever way the terms were gathered.
func (s *Stepper) accelStage(st stage, y, v float64) float64 {
	acc := s.k*(st.r-y) + s.dmp*(st.d1-s.tau*v) + st.d2
	return (acc + st.kf) / s.tau2
}

func checkVec(name string, v []float64, n int) error {
	if len(v) != n {
		return fmt.Errorf("%w: %s has %d values for %d joints", ErrInvalidArgument, name, len(v), n)
	}
	for j, q := range v {
		if !finite(q) {
			return fmt.Errorf("%w: %s: joint %d = %v", ErrInvalidArgument, name, j, q)
		}
	}
	return nil
}

// forcing writes f_j(x) = x·Σψw/Σψ for every joint into out.
func (s *Stepper) forcing(x float64, out []float64) {
	lo, hi := activations(x, s.centers, s.widths, s.psi)
	psi := s.psi[lo:hi]
	for j := range out {
		w := s.w[j*s.nb+lo : j*s.nb+hi]
		var f float64
		for i, p := range psi {
			f += p * w[i]
		}
		out[j] = f * x
	}
}

// accel is the plan-time acceleration of joint j at position y, velocity v, filtered
// goal g, phase x and forcing f, without coupling.
func (s *Stepper) accel(j int, y, v, g, x, f float64) float64 {
	k := s.k
	acc := k*(g-y) - s.dmp*s.tau*v
	if s.pastor {
		acc += k * (f - (g-s.y0[j])*x)
	} else {
		sc := 1.0
		if a := s.amp[j]; a != 0 {
			sc = max((g-s.y0[j])/a, 0) // never mirror the shape
		}
		acc += k * sc * f
	}
	return acc / (s.tau * s.tau)
}

func (s *Stepper) updateAcc() {
	if !s.classic {
		for j := range s.a {
			s.a[j] = s.accelRef(j, s.y[j], s.v[j], s.g[j], s.cur, s.fcur[j]) + s.coup[j]
		}
		return
	}
	for j := range s.a {
		s.a[j] = s.accel(j, s.y[j], s.v[j], s.g[j], s.x, s.fcur[j]) + s.coup[j]
	}
}

// Step advances by dt seconds. coupling (nil or one entry per joint, rad/s²) is added to
// the acceleration; slow in [0,1] scales the rate of time of the whole system (1 normal,
// 0 frozen) for phase stopping. Bad input never panics: dt ≤ 0 or NaN does nothing, slow
// is clamped to [0,1] (NaN means 0), a coupling of the wrong length or non-finite
// entries counts as zero, and dt is truncated to 1000 substeps. Allocates nothing.
func (s *Stepper) Step(dt float64, coupling []float64, slow float64) {
	if !(slow > 0) {
		slow = 0
	} else if slow > 1 {
		slow = 1
	}
	s.slow = slow
	for j := range s.coup {
		c := 0.0
		if len(coupling) == s.nj && finite(coupling[j]) {
			c = coupling[j]
		}
		s.coup[j] = c
	}
	h := dt * slow
	if !(h > 0) || math.IsInf(h, 1) {
		s.updateAcc()
		return
	}
	if !s.classic {
		// A step that crosses τ is split there: the forcing term stops at τ, and RK4
		// integrates each side smoothly (across the kink it would lose its order).
		if s.sys == SystemMinJerk && s.u < 1 {
			if h1 := (1 - s.u) * s.tau; h1 < h {
				s.advance(h1)
				s.u = 1
				h -= h1
			}
		}
		s.advance(h)
		s.updateAcc()
		return
	}
	n := int(math.Ceil(h / s.hMax))
	if n > maxSubsteps {
		n = maxSubsteps
		h = maxSubsteps * s.hMax
	}
	h /= float64(n)
	ex := math.Exp(-s.ax * h / s.tau)
	exh := math.Exp(-s.ax * h / (2 * s.tau))
	eg := math.Exp(-s.ag * h / s.tau)
	egh := math.Exp(-s.ag * h / (2 * s.tau))
	for range n {
		s.substep(h, ex, exh, eg, egh)
	}
	s.t += h * float64(n)
	s.updateAcc()
}

// advance integrates h seconds of plan time (systems other than SystemPhase) in
// substeps no longer than localHMax, at most maxSubsteps of them.
func (s *Stepper) advance(h float64) {
	if !(h > 0) {
		return
	}
	hMax := s.localHMax(h)
	n := int(math.Ceil(h / hMax))
	if n > maxSubsteps {
		n = maxSubsteps
		h = maxSubsteps * hMax
	}
	h /= float64(n)
	if h != s.sub.h {
		s.sub = substepExp{
			h:   h,
			ex:  math.Exp(-s.ax * h / s.tau),
			exh: math.Exp(-s.ax * h / (2 * s.tau)),
			eg:  math.Exp(-s.ag * h / s.tau),
			egh: math.Exp(-s.ag * h / (2 * s.tau)),
		}
	}
	e := s.sub
	for range n {
		s.substepRef(h, e.ex, e.exh, e.eg, e.egh)
	}
	s.t += h * float64(n)
}

func (s *Stepper) substep(h, ex, exh, eg, egh float64) {
	x1, x2, x3 := s.x, s.x*exh, s.x*ex
	s.forcing(x2, s.fmid)
	s.forcing(x3, s.fend)
	h2 := h / 2
	for j := 0; j < s.nj; j++ {
		gT, g1 := s.gT[j], s.g[j]
		g2 := gT + (g1-gT)*egh
		g3 := gT + (g1-gT)*eg
		c := s.coup[j]
		y, v := s.y[j], s.v[j]
		f1, f2, f3 := s.fcur[j], s.fmid[j], s.fend[j]
		k1y, k1v := v, s.accel(j, y, v, g1, x1, f1)+c
		k2y := v + h2*k1v
		k2v := s.accel(j, y+h2*k1y, k2y, g2, x2, f2) + c
		k3y := v + h2*k2v
		k3v := s.accel(j, y+h2*k2y, k3y, g2, x2, f2) + c
		k4y := v + h*k3v
		k4v := s.accel(j, y+h*k3y, k4y, g3, x3, f3) + c
		s.y[j] = y + h/6*(k1y+2*k2y+2*k3y+k4y)
		s.v[j] = v + h/6*(k1v+2*k2v+2*k3v+k4v)
		s.g[j] = g3
	}
	s.x = x3
	s.fcur, s.fend = s.fend, s.fcur
}

// substepRef is substep for the systems other than SystemPhase.
func (s *Stepper) substepRef(h, ex, exh, eg, egh float64) {
	x2, x3 := s.x*exh, s.x*ex
	u1 := s.u
	u2, u3 := u1+h/(2*s.tau), u1+h/s.tau
	if math.Abs(u3-1) < 1e-12 {
		u3 = 1 // a step that ends at τ ends exactly there (the forcing is off from τ)
	}
	p1 := s.cur
	p2 := s.at(u2, x2, s.fmid)
	p3 := s.at(u3, x3, s.fend)
	h2 := h / 2
	for j := 0; j < s.nj; j++ {
		gT, g1 := s.gT[j], s.g[j]
		g2 := gT + (g1-gT)*egh
		g3 := gT + (g1-gT)*eg
		c := s.coup[j]
		y, v := s.y[j], s.v[j]
		f1, f2, f3 := s.fcur[j], s.fmid[j], s.fend[j]
		st1, st2, st3 := s.stageTerms(j, g1, p1, f1), s.stageTerms(j, g2, p2, f2), s.stageTerms(j, g3, p3, f3)
		k1y, k1v := v, s.accelStage(st1, y, v)+c
		k2y := v + h2*k1v
		k2v := s.accelStage(st2, y+h2*k1y, k2y) + c
		k3y := v + h2*k2v
		k3v := s.accelStage(st2, y+h2*k2y, k3y) + c
		k4y := v + h*k3v
		k4v := s.accelStage(st3, y+h*k3y, k4y) + c
		s.y[j] = y + h/6*(k1y+2*k2y+2*k3y+k4y)
		s.v[j] = v + h/6*(k1v+2*k2v+2*k3v+k4v)
		s.g[j] = g3
	}
	s.x, s.u, s.cur = x3, u3, p3
	s.fcur, s.fend = s.fend, s.fcur
}

// SetGoal moves the goal (rad or m); the applied goal follows it through the first-order
// filter τ ġ = AlphaG (goal − g), so the acceleration does not jump. A goal of the wrong
// length or with non-finite values is ignored.
func (s *Stepper) SetGoal(goal []float64) {
	if checkVec("goal", goal, s.nj) != nil {
		return
	}
	copy(s.gT, goal)
}

// Reanchor sets the planned position (rad or m) and velocity (rad/s at the normal rate of
// time; nil means zero) to a measured state without changing the phase or the goal.
// Vectors of the wrong length or with non-finite values are ignored.
func (s *Stepper) Reanchor(pos, vel []float64) {
	if checkVec("pos", pos, s.nj) != nil {
		return
	}
	if vel != nil && checkVec("vel", vel, s.nj) != nil {
		return
	}
	copy(s.y, pos)
	for j := range s.v {
		s.v[j] = 0
	}
	copy(s.v, vel)
	s.updateAcc()
}

// Pos returns the planned position, rad or m (owned by the stepper; do not modify).
func (s *Stepper) Pos() []float64 { return s.y }

// Vel returns the planned velocity in real time, rad/s: the plan's velocity times the
// last slow factor, so a frozen plan reports zero (owned by the stepper).
func (s *Stepper) Vel() []float64 {
	for j, v := range s.v {
		s.vOut[j] = v * s.slow
	}
	return s.vOut
}

// Acc returns the planned acceleration in real time, rad/s² (plan acceleration, coupling
// included, times slow²; owned by the stepper).
func (s *Stepper) Acc() []float64 {
	sl2 := s.slow * s.slow
	for j, a := range s.a {
		s.aOut[j] = a * sl2
	}
	return s.aOut
}

// Goal returns the filtered goal currently applied, rad or m (owned by the stepper).
func (s *Stepper) Goal() []float64 { return s.g }

// Phase returns the phase x, 1 at the start and ≈0 at the end.
func (s *Stepper) Phase() float64 { return s.x }

// Time returns the elapsed plan time in s (advanced by dt·slow).
func (s *Stepper) Time() float64 { return s.t }

// Duration returns the run's duration τ in s.
func (s *Stepper) Duration() float64 { return s.duration }

// Done reports whether the plan time has reached the run's duration.
func (s *Stepper) Done() bool { return s.t >= s.duration }
