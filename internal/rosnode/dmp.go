package rosnode

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/interp"
	"gonum.org/v1/gonum/mat"

	"github.com/praxis-robotics/praxis/motion/dmp"
)

// ErrBadRequest marks a dmp service request that is unusable; the error names the field.
var ErrBadRequest = errors.New("rosnode: bad request")

// Limits of the dmp services.
const (
	// MaxPlanTime is the longest plan get_dmp_plan makes, s (the dmp package's
	// MAX_PLAN_LENGTH).
	MaxPlanTime = 1000.0
	// MaxPlanPoints bounds a plan's size.
	MaxPlanPoints = 1_000_000
	// minDemoSamples is the sample count short demos are resampled to before fitting.
	minDemoSamples = 200
	// forcingSamples is how many samples of the forcing function go in f_domain/f_targets.
	forcingSamples = 201
	// cacheSize bounds the learned DMPs kept for set_active_dmp.
	cacheSize = 256
)

func badf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadRequest}, a...)...)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// DMPServer implements the dmp package's three services with Praxis's DMP
// (motion/dmp, Pastor 2009 form, which is the dmp package's transformation system):
// each DOF is a one-joint DMP with the requested K and D gains, and every DOF shares the
// phase (same decay, same τ). Safe for concurrent use.
type DMPServer struct {
	mu     sync.Mutex
	active []*dmp.DMP
	cache  map[[32]byte]*dmp.DMP
	order  [][32]byte
}

// NewDMPServer returns a server with no active DMP.
func NewDMPServer() *DMPServer {
	return &DMPServer{cache: map[[32]byte]*dmp.DMP{}}
}

// Learn fits one DMP per DOF of req.Demo (learn_dmp_from_demo). Each DMPData carries
// the gains, Praxis's basis weights, and the fitted forcing function sampled at scaled
// time (f_domain, f_targets), as the dmp package's own planner reads it. num_bases is
// the fewest basis functions used (Praxis uses at least dmp.DefaultBasis). A demo of
// fewer than 200 samples is first resampled with a monotone cubic (Fritsch–Butland)
// through its points. tau is the demo's duration.
func (s *DMPServer) Learn(req *LearnDMPFromDemoReq) (*LearnDMPFromDemoRes, error) {
	d := &req.Demo
	n := len(d.Points)
	if n < 2 {
		return nil, badf("demo has %d points, want at least 2", n)
	}
	if len(d.Times) != n {
		return nil, badf("demo has %d points but %d times", n, len(d.Times))
	}
	dims := len(d.Points[0].Positions)
	if dims == 0 {
		return nil, badf("demo.points[0] has no positions")
	}
	for i, p := range d.Points {
		if len(p.Positions) != dims {
			return nil, badf("demo.points[%d] has %d positions, points[0] has %d", i, len(p.Positions), dims)
		}
		for j, v := range p.Positions {
			if !finite(v) {
				return nil, badf("demo.points[%d].positions[%d] = %v", i, j, v)
			}
		}
		if !finite(d.Times[i]) || (i > 0 && !(d.Times[i] > d.Times[i-1])) {
			return nil, badf("demo.times[%d] = %v: times must be finite and increasing", i, d.Times[i])
		}
	}
	if len(req.KGains) != dims || len(req.DGains) != dims {
		return nil, badf("%d k_gains and %d d_gains for %d DOFs", len(req.KGains), len(req.DGains), dims)
	}
	for j := range dims {
		if !(req.KGains[j] > 0) || !finite(req.KGains[j]) || !(req.DGains[j] > 0) || !finite(req.DGains[j]) {
			return nil, badf("k_gains[%d] = %v, d_gains[%d] = %v: want finite > 0", j, req.KGains[j], j, req.DGains[j])
		}
	}
	basis := max(int(req.NumBases), dmp.DefaultBasis)
	if basis > 1000 {
		return nil, badf("num_bases %d, at most 1000", req.NumBases)
	}
	t0 := d.Times[0]
	tau := d.Times[n-1] - t0
	ts, ys := resample(d, dims)
	res := &LearnDMPFromDemoRes{Tau: tau}
	for j := range dims {
		demo := dmp.Demo{Joints: []string{fmt.Sprintf("dof%d", j)}, T: ts, Y: ys[j]}
		// The dmp package's planner semantics (a decaying phase): its clients expect them.
		m, _, err := dmp.Fit(demo, dmp.Options{Basis: basis, AlphaZ: req.DGains[j], BetaZ: req.KGains[j] / req.DGains[j],
			System: dmp.SystemPhase})
		if err != nil {
			return nil, fmt.Errorf("rosnode: learn_dmp_from_demo: DOF %d: %w", j, err)
		}
		data := encodeDMP(m, req.KGains[j], req.DGains[j])
		s.remember(&data, m)
		res.DmpList = append(res.DmpList, data)
	}
	return res, nil
}

// resample returns the demo's times (from 0) and, per DOF, rows of one position; demos
// of fewer than minDemoSamples samples are interpolated onto a uniform grid.
func resample(d *DMPTraj, dims int) ([]float64, [][][]float64) {
	n := len(d.Times)
	t0, tau := d.Times[0], d.Times[n-1]-d.Times[0]
	ts := make([]float64, 0, max(n, minDemoSamples))
	ys := make([][][]float64, dims)
	if n >= minDemoSamples {
		for i := range n {
			ts = append(ts, d.Times[i]-t0)
		}
		for j := range dims {
			for i := range n {
				ys[j] = append(ys[j], []float64{d.Points[i].Positions[j]})
			}
		}
		return ts, ys
	}
	xs := make([]float64, n)
	for i := range n {
		xs[i] = d.Times[i] - t0
	}
	for k := range minDemoSamples {
		ts = append(ts, tau*float64(k)/float64(minDemoSamples-1))
	}
	col := make([]float64, n)
	for j := range dims {
		for i := range n {
			col[i] = d.Points[i].Positions[j]
		}
		var fb interp.FritschButland
		var pl interp.PiecewiseLinear
		var p interp.Predictor = &fb
		if n < 3 {
			_ = pl.Fit(xs, col)
			p = &pl
		} else if err := fb.Fit(xs, col); err != nil {
			_ = pl.Fit(xs, col)
			p = &pl
		}
		for _, t := range ts {
			ys[j] = append(ys[j], []float64{p.Predict(min(t, xs[n-1]))})
		}
	}
	return ts, ys
}

// encodeDMP describes a one-joint DMP as a DMPData: its weights and its forcing
// function F(t/τ) = Σψw/Σψ at phase exp(−αx·t/τ), sampled at forcingSamples scaled
// times in [0, 1].
func encodeDMP(m *dmp.DMP, k, d float64) DMPData {
	out := DMPData{KGain: k, DGain: d, Weights: slices.Clone(m.Weights[0])}
	for i := range forcingSamples {
		u := float64(i) / float64(forcingSamples-1)
		out.FDomain = append(out.FDomain, u)
		out.FTargets = append(out.FTargets, forcingAt(m, math.Exp(-m.AlphaX*u)))
	}
	return out
}

// forcingAt returns Σψ(x)w/Σψ(x) for the DMP's only joint.
func forcingAt(m *dmp.DMP, x float64) float64 {
	var num, den float64
	for i, c := range m.Centers {
		p := math.Exp(-m.Widths[i] * (x - c) * (x - c))
		num += p * m.Weights[0][i]
		den += p
	}
	if den < 1e-300 {
		return 0
	}
	return num / den
}

// key hashes everything a DMPData holds.
func key(d *DMPData) [32]byte {
	h := sha256.New()
	var b [8]byte
	put := func(v float64) {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	put(d.KGain)
	put(d.DGain)
	for _, vs := range [][]float64{d.Weights, d.FDomain, d.FTargets} {
		put(float64(len(vs)))
		for _, v := range vs {
			put(v)
		}
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// remember keeps m for set_active_dmp under d's content (the last cacheSize).
func (s *DMPServer) remember(d *DMPData, m *dmp.DMP) {
	k := key(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache[k]; ok {
		return
	}
	if len(s.order) >= cacheSize {
		delete(s.cache, s.order[0])
		s.order = s.order[1:]
	}
	s.cache[k] = m
	s.order = append(s.order, k)
}

// SetActive makes list the DMP that Plan uses (set_active_dmp). A DOF this server
// learned is used exactly; any other (from the dmp package itself, or from before a
// restart) is rebuilt from its sampled forcing function (f_domain, f_targets) with the
// given gains. It fails naming the bad entry, and then leaves the active DMP unchanged.
func (s *DMPServer) SetActive(list []DMPData) error {
	if len(list) == 0 {
		return badf("dmp_list is empty")
	}
	out := make([]*dmp.DMP, len(list))
	for i := range list {
		d := &list[i]
		s.mu.Lock()
		m := s.cache[key(d)]
		s.mu.Unlock()
		if m == nil {
			var err error
			if m, err = rebuild(d); err != nil {
				return fmt.Errorf("dmp_list[%d]: %w", i, err)
			}
		}
		out[i] = m
	}
	s.mu.Lock()
	s.active = out
	s.mu.Unlock()
	return nil
}

// rebuild fits a one-joint DMP whose forcing function matches d's samples.
func rebuild(d *DMPData) (*dmp.DMP, error) {
	if !(d.KGain > 0) || !finite(d.KGain) || !(d.DGain > 0) || !finite(d.DGain) {
		return nil, badf("k_gain %v, d_gain %v: want finite > 0", d.KGain, d.DGain)
	}
	n := len(d.FDomain)
	if n < 2 || len(d.FTargets) != n {
		return nil, badf("%d f_domain and %d f_targets samples: need the sampled forcing function (at least 2 samples)", n, len(d.FTargets))
	}
	for i := range n {
		if !finite(d.FDomain[i]) || !finite(d.FTargets[i]) {
			return nil, badf("f_domain[%d] = %v, f_targets[%d] = %v", i, d.FDomain[i], i, d.FTargets[i])
		}
	}
	ax := dmp.DefaultAlphaX
	nb := min(max(len(d.Weights), n/2, 10), 100, n)
	nb = max(nb, 2)
	m := &dmp.DMP{Formulation: dmp.Pastor2009, AlphaZ: d.DGain, BetaZ: d.KGain / d.DGain, AlphaX: ax,
		AlphaG: dmp.DefaultAlphaG, Tau: 1, Start: []float64{0}, Goal: []float64{0}}
	// Centres evenly in scaled time over [0, 1.5]: past t = τ the dmp package's planner
	// has no forcing, so the fit pulls F to 0 there (tail samples below).
	for i := range nb {
		m.Centers = append(m.Centers, math.Exp(-ax*1.5*float64(i)/float64(nb-1)))
	}
	m.Centers[0] = 1
	for i := range nb {
		j := min(i+1, nb-1)
		if j == i {
			j = i - 1
		}
		dc := m.Centers[i] - m.Centers[j]
		m.Widths = append(m.Widths, 1/(dc*dc))
	}
	// Least squares on the samples within [0, 1]: Σψw/Σψ(x_k) ≈ F_k, with a small ridge.
	const tail = 50
	a := mat.NewDense(n+tail, nb, nil)
	b := mat.NewVecDense(n+tail, nil)
	rows := 0
	for k := range n + tail {
		var u, target float64
		if k < n {
			u, target = d.FDomain[k], d.FTargets[k]
			if u < 0 || u > 1 {
				continue
			}
		} else {
			u = 1 + 0.5*float64(k-n+1)/tail // target 0
		}
		x := math.Exp(-ax * u)
		var den float64
		for i, c := range m.Centers {
			p := math.Exp(-m.Widths[i] * (x - c) * (x - c))
			a.Set(rows, i, p)
			den += p
		}
		if den < 1e-300 {
			continue
		}
		for i := range nb {
			a.Set(rows, i, a.At(rows, i)/den)
		}
		b.SetVec(rows, target)
		rows++
	}
	if rows < tail+2 {
		return nil, badf("fewer than 2 f_domain samples within [0, 1]")
	}
	av := a.Slice(0, rows, 0, nb)
	bv := b.SliceVec(0, rows)
	var ata mat.SymDense
	ata.SymOuterK(1, av.T())
	tr := 0.0
	for i := range nb {
		tr += ata.At(i, i)
	}
	for i := range nb {
		ata.SetSym(i, i, ata.At(i, i)+1e-9*tr/float64(nb))
	}
	var atb mat.VecDense
	atb.MulVec(av.T(), bv)
	var ch mat.Cholesky
	if !ch.Factorize(&ata) {
		return nil, badf("the forcing samples give a singular fit")
	}
	var w mat.VecDense
	if err := ch.SolveVecTo(&w, &atb); err != nil {
		return nil, badf("forcing fit: %v", err)
	}
	m.Weights = [][]float64{slices.Clone(w.RawVector().Data)}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return m, nil
}

// Plan rolls the active DMP out (get_dmp_plan) exactly as the dmp package shapes its
// plans: points at t = dt, 2dt, ... (times from the segment start), at least until
// t_0 + t ≥ tau, then until every DOF with goal_thresh > 0 is within it of the goal
// (at_goal = 1), or MaxPlanTime s; with seg_length > 0, until t exceeds seg_length.
// With t_0 > 0 the plan starts at x_0, x_dot_0 with the phase at t_0. integrate_iter is
// accepted but the stepper integrates with RK4 in substeps of its own.
func (s *DMPServer) Plan(req *GetDMPPlanReq) (*GetDMPPlanRes, error) {
	s.mu.Lock()
	active := s.active
	s.mu.Unlock()
	if active == nil {
		return nil, badf("no active DMP: call set_active_dmp first")
	}
	dims := len(active)
	for _, v := range []struct {
		name string
		v    []float64
	}{{"x_0", req.X0}, {"x_dot_0", req.XDot0}, {"goal", req.Goal}, {"goal_thresh", req.GoalThresh}} {
		if len(v.v) != dims {
			return nil, badf("%s has %d values for the active DMP's %d DOFs", v.name, len(v.v), dims)
		}
		for i, x := range v.v {
			if !finite(x) {
				return nil, badf("%s[%d] = %v", v.name, i, x)
			}
		}
	}
	if !finite(req.Tau) || req.Tau <= 0 {
		return nil, badf("tau = %v s, want > 0", req.Tau)
	}
	if !finite(req.Dt) || req.Dt <= 0 {
		return nil, badf("dt = %v s, want > 0", req.Dt)
	}
	if !finite(req.T0) || req.T0 < 0 {
		return nil, badf("t_0 = %v s, want ≥ 0", req.T0)
	}
	if !finite(req.SegLength) {
		return nil, badf("seg_length = %v", req.SegLength)
	}
	if req.IntegrateIter < 1 {
		return nil, badf("integrate_iter = %d, want ≥ 1", req.IntegrateIter)
	}
	if est := (max(req.Tau-req.T0, 0) + 1) / req.Dt; est > MaxPlanPoints {
		return nil, badf("tau %v s at dt %v s is over %d points", req.Tau, req.Dt, MaxPlanPoints)
	}
	steppers := make([]*dmp.Stepper, dims)
	for i, m := range active {
		st, err := m.NewStepper([]float64{req.X0[i]}, []float64{req.XDot0[i]}, []float64{req.Goal[i]}, req.Tau)
		if err != nil {
			return nil, fmt.Errorf("%w: DOF %d: %v", ErrBadRequest, i, err)
		}
		if req.T0 > 0 { // move the phase to t_0, then put the state back at x_0, x_dot_0
			step(st, req.T0, req.Tau)
			st.Reanchor([]float64{req.X0[i]}, []float64{req.XDot0[i]})
		}
		steppers[i] = st
	}
	res := &GetDMPPlanRes{}
	t, atGoal, segEnd := 0.0, false, false
	for ((t+req.T0) < req.Tau || (!atGoal && t < MaxPlanTime)) && !segEnd {
		if req.SegLength > 0 && t > req.SegLength {
			segEnd = true
		}
		if len(res.Plan.Times) >= MaxPlanPoints {
			return nil, badf("the plan exceeds %d points (dt %v s too small for the time to the goal)", MaxPlanPoints, req.Dt)
		}
		p := DMPPoint{Positions: make([]float64, dims), Velocities: make([]float64, dims)}
		for i, st := range steppers {
			step(st, req.Dt, req.Tau)
			p.Positions[i] = st.Pos()[0]
			p.Velocities[i] = st.Vel()[0]
		}
		t += req.Dt
		res.Plan.Points = append(res.Plan.Points, p)
		res.Plan.Times = append(res.Plan.Times, t)
		if t+req.T0 >= req.Tau {
			atGoal = true
			for i, th := range req.GoalThresh {
				if th > 0 && math.Abs(p.Positions[i]-req.Goal[i]) > th {
					atGoal = false
				}
			}
		}
	}
	if atGoal {
		res.AtGoal = 1
	}
	return res, nil
}

// step advances st by dt in pieces of at most tau/20, so that a long dt is never
// truncated by the stepper's substep bound.
func step(st *dmp.Stepper, dt, tau float64) {
	for dt > 0 {
		h := min(dt, tau/20)
		st.Step(h, nil, 1)
		dt -= h
	}
}
