package rosnode

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// tutorial is the request of the dmp package's tutorial: a 2-D demo of 4 points 1 s
// apart, K = 100, D = 2√K, 4 basis functions.
func tutorial() *LearnDMPFromDemoReq {
	req := &LearnDMPFromDemoReq{KGains: []float64{100, 100}, DGains: []float64{20, 20}, NumBases: 4}
	for i, p := range [][]float64{{1, 1}, {2, 2}, {3, 4}, {6, 8}} {
		req.Demo.Points = append(req.Demo.Points, DMPPoint{Positions: p})
		req.Demo.Times = append(req.Demo.Times, float64(i))
	}
	return req
}

func tutorialPlan(tau float64) *GetDMPPlanReq {
	return &GetDMPPlanReq{X0: []float64{0, 0}, XDot0: []float64{0, 0}, Goal: []float64{8, 7},
		GoalThresh: []float64{0.2, 0.2}, SegLength: -1, Tau: tau, Dt: 1, IntegrateIter: 5}
}

func TestTutorialPlanEndsAtGoal(t *testing.T) {
	s := NewDMPServer()
	if _, err := s.Plan(tutorialPlan(6)); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "set_active_dmp") {
		t.Fatalf("plan with no active DMP: %v", err)
	}
	res, err := s.Learn(tutorial())
	if err != nil {
		t.Fatal(err)
	}
	if res.Tau != 3 || len(res.DmpList) != 2 {
		t.Fatalf("tau %v, %d DMPs", res.Tau, len(res.DmpList))
	}
	for _, d := range res.DmpList {
		if d.KGain != 100 || d.DGain != 20 || len(d.Weights) < 4 || len(d.FDomain) != len(d.FTargets) || d.FDomain[0] != 0 || d.FDomain[len(d.FDomain)-1] != 1 {
			t.Fatalf("dmp data %+v", d)
		}
	}
	if err := s.SetActive(res.DmpList); err != nil {
		t.Fatal(err)
	}
	plan, err := s.Plan(tutorialPlan(2 * res.Tau))
	if err != nil {
		t.Fatal(err)
	}
	n := len(plan.Plan.Points)
	if plan.AtGoal != 1 || n < 6 || len(plan.Plan.Times) != n {
		t.Fatalf("at_goal %d, %d points", plan.AtGoal, n)
	}
	for k, tm := range plan.Plan.Times {
		if math.Abs(tm-float64(k+1)) > 1e-9 {
			t.Fatalf("time %d = %v, want %d (the first point is after one dt)", k, tm, k+1)
		}
	}
	last := plan.Plan.Points[n-1].Positions
	if math.Abs(last[0]-8) > 0.2 || math.Abs(last[1]-7) > 0.2 {
		t.Errorf("plan ends at %v, goal [8 7]", last)
	}
	// Reproduction: from the demo's start to its goal over its duration, a fine plan
	// passes through the demo's points.
	fine := &GetDMPPlanReq{X0: []float64{1, 1}, XDot0: []float64{0, 0}, Goal: []float64{6, 8},
		GoalThresh: []float64{0, 0}, SegLength: -1, Tau: 3, Dt: 0.01, IntegrateIter: 1}
	p2, err := s.Plan(fine)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range [][]float64{{2, 2}, {3, 4}, {6, 8}} {
		i := 100*(k+1) - 1 // t = k+1 s
		got := p2.Plan.Points[i].Positions
		if math.Abs(got[0]-want[0]) > 0.15 || math.Abs(got[1]-want[1]) > 0.15 {
			t.Errorf("at t=%v s: %v, demo %v", p2.Plan.Times[i], got, want)
		}
	}
}

// referencePlan is the dmp package's own planner (generatePlan, LinearApprox over
// f_domain/f_targets, Euler in integrate_iter substeps): the peer our DMPData must work with.
func referencePlan(list []DMPData, req *GetDMPPlanReq) [][]float64 {
	alpha := -math.Log(0.01)
	dims := len(list)
	x := append([]float64(nil), req.X0...)
	v := make([]float64, dims)
	for i := range v {
		v[i] = req.XDot0[i] * req.Tau
	}
	var out [][]float64
	dt := req.Dt / float64(req.IntegrateIter)
	for t := 0.0; t+req.T0 < req.Tau; t += req.Dt {
		for i := range dims {
			for it := range int(req.IntegrateIter) {
				s := math.Exp(-(alpha / req.Tau) * ((t + req.T0) + dt*float64(it)))
				u := (t + req.T0) / req.Tau
				f := 0.0
				if u < 1 {
					f = linear(list[i].FDomain, list[i].FTargets, u) * s
				}
				vd := (list[i].KGain*((req.Goal[i]-x[i])-(req.Goal[i]-req.X0[i])*s+f) - list[i].DGain*v[i]) / req.Tau
				xd := v[i] / req.Tau
				v[i] += vd * dt
				x[i] += xd * dt
			}
		}
		out = append(out, append([]float64(nil), x...))
	}
	return out
}

func linear(xs, ys []float64, u float64) float64 {
	for k := 1; k < len(xs); k++ {
		if u <= xs[k] {
			f := (u - xs[k-1]) / (xs[k] - xs[k-1])
			return ys[k-1] + f*(ys[k]-ys[k-1])
		}
	}
	return ys[len(ys)-1]
}

func TestPlanAgreesWithTheDMPPackagePlanner(t *testing.T) {
	s := NewDMPServer()
	res, err := s.Learn(tutorial())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetActive(res.DmpList); err != nil {
		t.Fatal(err)
	}
	req := tutorialPlan(6)
	req.Dt, req.IntegrateIter = 0.01, 1
	ours, err := s.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	ref := referencePlan(res.DmpList, req)
	worst := 0.0
	for k := range ref {
		for i := range ref[k] {
			worst = max(worst, math.Abs(ref[k][i]-ours.Plan.Points[k].Positions[i]))
		}
	}
	// Euler at 10 ms and linear interpolation of the forcing samples against RK4: within
	// 1% of the 8-unit span.
	if worst > 0.08 {
		t.Errorf("plans differ by up to %.3f", worst)
	}
	// A DMPData the server did not learn (a restart) is rebuilt from its samples.
	fresh := NewDMPServer()
	if err := fresh.SetActive(res.DmpList); err != nil {
		t.Fatal(err)
	}
	if len(fresh.cache) != 0 {
		t.Fatal("fresh server has a cache")
	}
	again, err := fresh.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	worst = 0
	for k := range ours.Plan.Points {
		for i, q := range ours.Plan.Points[k].Positions {
			worst = max(worst, math.Abs(q-again.Plan.Points[k].Positions[i]))
		}
	}
	// The rebuilt forcing (RBFs evenly spaced in time, fitted to the 201 samples) misses
	// some of the detail of the learned one: within 1% of the span too.
	if worst > 0.08 {
		t.Errorf("rebuilt DMP plans differ by up to %.4f", worst)
	}
}

func TestSegmentsAndStartTime(t *testing.T) {
	s := NewDMPServer()
	res, _ := s.Learn(tutorial())
	_ = s.SetActive(res.DmpList)
	req := tutorialPlan(6)
	req.Dt, req.SegLength = 0.1, 1
	seg, err := s.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	// As in the dmp package: the point after t exceeds seg_length is the last.
	if n := len(seg.Plan.Times); n != 12 || seg.AtGoal != 0 {
		t.Errorf("segment: %d points (last t %v), at_goal %d", n, seg.Plan.Times[n-1], seg.AtGoal)
	}
	// Continue from the segment's end with t_0: the plan goes on to the goal.
	end := seg.Plan.Points[len(seg.Plan.Points)-1]
	req2 := tutorialPlan(6)
	req2.X0, req2.XDot0, req2.T0, req2.Dt = end.Positions, end.Velocities, seg.Plan.Times[len(seg.Plan.Times)-1], 0.1
	rest, err := s.Plan(req2)
	if err != nil {
		t.Fatal(err)
	}
	last := rest.Plan.Points[len(rest.Plan.Points)-1].Positions
	if rest.AtGoal != 1 || math.Abs(last[0]-8) > 0.2 || math.Abs(last[1]-7) > 0.2 {
		t.Errorf("continued plan ends at %v, at_goal %d", last, rest.AtGoal)
	}
	if rest.Plan.Times[0] < 0.099 || rest.Plan.Times[0] > 0.101 {
		t.Errorf("continued plan's first time %v, want dt from the segment start", rest.Plan.Times[0])
	}
}

func TestBadRequestsNameTheField(t *testing.T) {
	s := NewDMPServer()
	mod := func(f func(*LearnDMPFromDemoReq)) *LearnDMPFromDemoReq { r := tutorial(); f(r); return r }
	for _, tc := range []struct {
		req  *LearnDMPFromDemoReq
		want string
	}{
		{mod(func(r *LearnDMPFromDemoReq) { r.Demo.Points = r.Demo.Points[:1]; r.Demo.Times = r.Demo.Times[:1] }), "2"},
		{mod(func(r *LearnDMPFromDemoReq) { r.Demo.Times = r.Demo.Times[:3] }), "times"},
		{mod(func(r *LearnDMPFromDemoReq) { r.Demo.Times[2] = 1 }), "demo.times[2]"},
		{mod(func(r *LearnDMPFromDemoReq) { r.Demo.Points[2].Positions = []float64{1} }), "demo.points[2]"},
		{mod(func(r *LearnDMPFromDemoReq) { r.Demo.Points[1].Positions[0] = math.NaN() }), "demo.points[1].positions[0]"},
		{mod(func(r *LearnDMPFromDemoReq) { r.KGains = r.KGains[:1] }), "k_gains"},
		{mod(func(r *LearnDMPFromDemoReq) { r.DGains[1] = 0 }), "d_gains[1]"},
	} {
		if _, err := s.Learn(tc.req); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("learn error %v, want it to name %q", err, tc.want)
		}
	}
	if err := s.SetActive(nil); err == nil {
		t.Error("empty dmp_list accepted")
	}
	if err := s.SetActive([]DMPData{{KGain: 1, DGain: 1, Weights: []float64{1}}}); err == nil || !strings.Contains(err.Error(), "dmp_list[0]") {
		t.Errorf("unknown DMP without samples: %v", err)
	}
	res, _ := s.Learn(tutorial())
	_ = s.SetActive(res.DmpList)
	for _, tc := range []struct {
		f    func(*GetDMPPlanReq)
		want string
	}{
		{func(r *GetDMPPlanReq) { r.X0 = []float64{0} }, "x_0"},
		{func(r *GetDMPPlanReq) { r.GoalThresh = nil }, "goal_thresh"},
		{func(r *GetDMPPlanReq) { r.Goal[1] = math.Inf(1) }, "goal[1]"},
		{func(r *GetDMPPlanReq) { r.Tau = 0 }, "tau"},
		{func(r *GetDMPPlanReq) { r.Dt = -1 }, "dt"},
		{func(r *GetDMPPlanReq) { r.IntegrateIter = 0 }, "integrate_iter"},
		{func(r *GetDMPPlanReq) { r.Dt = 1e-9 }, "points"},
	} {
		r := tutorialPlan(6)
		tc.f(r)
		if _, err := s.Plan(r); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("plan error %v, want it to name %q", err, tc.want)
		}
	}
}

func TestConstantDOF(t *testing.T) {
	s := NewDMPServer()
	req := tutorial()
	for i := range req.Demo.Points {
		req.Demo.Points[i].Positions[1] = 0.5 // the second DOF never moves
	}
	res, err := s.Learn(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetActive(res.DmpList)
	p, err := s.Plan(&GetDMPPlanReq{X0: []float64{1, 0.5}, XDot0: []float64{0, 0}, Goal: []float64{6, 0.5},
		GoalThresh: []float64{0.01, 0.01}, SegLength: -1, Tau: 3, Dt: 0.05, IntegrateIter: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range p.Plan.Points {
		if math.Abs(pt.Positions[1]-0.5) > 1e-6 {
			t.Fatalf("constant DOF moved to %v", pt.Positions[1])
		}
	}
}
