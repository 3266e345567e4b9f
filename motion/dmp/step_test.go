package dmp

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func waveDMP(t testing.TB, f Formulation) *DMP {
	d := synth(1000, 2, func(t float64) []float64 {
		s := t / 2
		return []float64{mj(s) + 0.5*math.Sin(3*math.Pi*s), 0.4 * math.Pow(math.Sin(math.Pi*s), 2), -1 + 0.5*mj(s)}
	})
	dm, _ := mustFit(t, d, Options{Formulation: f})
	return dm
}

// hermite interpolates a rollout (pos, vel) at time tt.
func hermite(tr *Trajectory, j int, tt float64) float64 {
	h := tr.T[1] - tr.T[0]
	i := min(int(tt/h), len(tr.T)-2)
	s := (tt - tr.T[i]) / h
	p0, p1, m0, m1 := tr.Pos[i][j], tr.Pos[i+1][j], tr.Vel[i][j]*h, tr.Vel[i+1][j]*h
	s2, s3 := s*s, s*s*s
	return (2*s3-3*s2+1)*p0 + (s3-2*s2+s)*m0 + (-2*s3+3*s2)*p1 + (s3-s2)*m1
}

// Stepping at a jittery ~500 Hz matches a fine offline rollout.
func TestStepMatchesRollout(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range forms {
		dm := waveDMP(t, f)
		ref, err := dm.Rollout(nil, []float64{1.5, 0.2, -0.3}, 2.5, 0.0005)
		if err != nil {
			t.Fatal(err)
		}
		s, err := dm.NewStepper(ref.Pos[0], ref.Vel[0], []float64{1.5, 0.2, -0.3}, 2.5)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for s.Time() < 2.4 {
			s.Step(0.001+0.002*rng.Float64(), nil, 1)
			for j, p := range s.Pos() {
				worst = max(worst, math.Abs(p-hermite(ref, j, s.Time())))
			}
		}
		t.Logf("%s: max |step − rollout| %.2e", f, worst)
		if worst > 1e-6 {
			t.Errorf("%s: stepper departs from rollout by %.2e", f, worst)
		}
	}
}

func TestPhaseEndsNearZero(t *testing.T) {
	dm := waveDMP(t, Pastor2009)
	s, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	for s.Time() < dm.Tau-1e-9 {
		s.Step(0.002, nil, 1)
	}
	if x := s.Phase(); math.Abs(x-0.01) > 1e-3 {
		t.Errorf("phase at τ = %.4f, want 0.01", x)
	}
	if !s.Done() {
		t.Error("not Done at τ")
	}
}

// slow scales the rate of time: 0 freezes, 0.5 replays the same path at half speed.
func TestSlow(t *testing.T) {
	dm := waveDMP(t, Pastor2009)
	s, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	for range 200 {
		s.Step(0.002, nil, 1)
	}
	pos := append([]float64(nil), s.Pos()...)
	x, tt := s.Phase(), s.Time()
	for range 100 {
		s.Step(0.002, nil, 0)
	}
	for j := range pos {
		if s.Pos()[j] != pos[j] || s.Vel()[j] != 0 || s.Acc()[j] != 0 {
			t.Fatalf("frozen joint %d moved: pos %v vel %v acc %v", j, s.Pos()[j], s.Vel()[j], s.Acc()[j])
		}
	}
	if s.Phase() != x || s.Time() != tt {
		t.Fatalf("frozen phase/time moved")
	}
	full, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	half, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	for range 400 {
		full.Step(0.002, nil, 1)
		half.Step(0.002, nil, 0.5)
		half.Step(0.002, nil, 0.5)
	}
	for j := range full.Pos() {
		if e := math.Abs(full.Pos()[j] - half.Pos()[j]); e > 1e-9 {
			t.Errorf("joint %d: half speed at same plan time differs by %.2e", j, e)
		}
		if e := math.Abs(full.Vel()[j]/2 - half.Vel()[j]); e > 1e-9 {
			t.Errorf("joint %d: half-speed velocity %v, want %v", j, half.Vel()[j], full.Vel()[j]/2)
		}
	}
}

// A goal changed mid-run is filtered: no acceleration jump, convergence to the new goal.
func TestSetGoalNoAccelerationJump(t *testing.T) {
	for _, f := range forms {
		dm := waveDMP(t, f)
		s, _ := dm.NewStepper(dm.Start, dm.StartVel, nil, 0)
		const dt = 0.002
		prev := append([]float64(nil), s.Acc()...)
		var before, at float64
		newGoal := []float64{dm.Goal[0] + 0.5, dm.Goal[1] - 0.5, dm.Goal[2] + 0.3}
		for i := 0; s.Time() < 3*dm.Tau; i++ {
			if i == 250 {
				s.SetGoal(newGoal)
			}
			s.Step(dt, nil, 1)
			for j, a := range s.Acc() {
				jump := math.Abs(a - prev[j])
				switch {
				case i < 250:
					before = max(before, jump)
				case i == 250:
					at = max(at, jump)
				}
				prev[j] = a
			}
		}
		k := dm.AlphaZ * dm.BetaZ
		unfiltered := k * 0.5 / (dm.Tau * dm.Tau)
		t.Logf("%s: max per-tick |Δacc| before %.3f, at the change %.3f rad/s², unfiltered jump %.1f", f, before, at, unfiltered)
		if at > 0.02*unfiltered {
			t.Errorf("%s: acceleration jumps by %.3f at the goal change", f, at)
		}
		for j, p := range s.Pos() {
			if math.Abs(p-newGoal[j]) > 1e-3 || math.Abs(s.Goal()[j]-newGoal[j]) > 1e-6 {
				t.Errorf("%s joint %d: ends at %.4f, want %.4f", f, j, p, newGoal[j])
			}
		}
	}
}

func TestReanchor(t *testing.T) {
	dm := waveDMP(t, Pastor2009)
	s, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	for range 300 {
		s.Step(0.002, nil, 1)
	}
	x, tt := s.Phase(), s.Time()
	s.Reanchor([]float64{0.1, 0.2, 0.3}, []float64{1, 0, -1})
	if s.Phase() != x || s.Time() != tt {
		t.Error("reanchor moved the phase")
	}
	if p, v := s.Pos(), s.Vel(); p[0] != 0.1 || p[2] != 0.3 || v[0] != 1 || v[2] != -1 {
		t.Errorf("after reanchor pos %v vel %v", p, v)
	}
	s.Reanchor([]float64{math.NaN(), 0, 0}, nil) // ignored
	s.Reanchor([]float64{1}, nil)                // ignored
	if s.Pos()[0] != 0.1 {
		t.Errorf("bad reanchor applied: %v", s.Pos())
	}
	for s.Time() < 3*dm.Tau {
		s.Step(0.002, nil, 1)
	}
	for j, p := range s.Pos() {
		if math.Abs(p-dm.Goal[j]) > 1e-3 {
			t.Errorf("joint %d ends at %.4f, want %.4f", j, p, dm.Goal[j])
		}
	}
}

func TestCoupling(t *testing.T) {
	dm := waveDMP(t, Pastor2009)
	a, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	b, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	c := []float64{1, 0, -1}
	a.Step(0.002, nil, 1)
	b.Step(0.002, c, 1)
	if d := b.Acc()[0] - a.Acc()[0]; math.Abs(d-1) > 0.05 {
		t.Errorf("coupling adds %.4f to the acceleration, want about 1", d)
	}
	if b.Pos()[0] <= a.Pos()[0] || b.Pos()[2] >= a.Pos()[2] || b.Pos()[1] != a.Pos()[1] {
		t.Errorf("coupling pushed the wrong way: %v vs %v", b.Pos(), a.Pos())
	}
}

// Bad input to the hot path never panics nor poisons the state.
func TestStepBadInput(t *testing.T) {
	dm := waveDMP(t, Ijspeert2013)
	s, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	s.Step(math.NaN(), nil, 1)
	s.Step(-1, nil, 1)
	s.Step(math.Inf(1), nil, 1)
	s.Step(0.002, []float64{math.NaN(), math.Inf(1), 0}, math.NaN())
	s.Step(0.002, []float64{1}, 1) // wrong length: ignored
	s.Step(0.002, nil, 7)          // clamped to 1
	s.Step(1e9, nil, 1)            // truncated to 1000 substeps
	s.SetGoal([]float64{math.NaN(), 0, 0})
	s.SetGoal(nil)
	for j, p := range s.Pos() {
		if !finite(p) || !finite(s.Vel()[j]) || !finite(s.Acc()[j]) {
			t.Fatalf("joint %d not finite: %v %v %v", j, p, s.Vel()[j], s.Acc()[j])
		}
		if s.Goal()[j] != dm.Goal[j] {
			t.Fatalf("bad SetGoal applied: %v", s.Goal())
		}
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	dm := waveDMP(t, Ijspeert2013)
	s, _ := dm.NewStepper(dm.Start, nil, nil, 0)
	c := []float64{0.1, 0, 0}
	g := []float64{1, 1, 1}
	n := testing.AllocsPerRun(1000, func() {
		s.Step(0.002, c, 0.9)
		s.SetGoal(g)
		_, _, _ = s.Pos(), s.Vel(), s.Acc()
		_, _ = s.Phase(), s.Time()
		if s.Time() > 1 {
			s.Reanchor(s.Pos(), s.Vel())
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per step", n)
	}
}

// NewStepper: start is required; nil startVel = rest, nil goal = demo goal, 0 duration = Tau.
func TestNilArguments(t *testing.T) {
	dm := waveDMP(t, Pastor2009)
	if _, err := dm.NewStepper(nil, nil, nil, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil start: %v", err)
	}
	for _, c := range []struct {
		start, vel, goal []float64
		dur              float64
	}{
		{[]float64{0}, nil, nil, 0},
		{dm.Start, []float64{0}, nil, 0},
		{dm.Start, nil, []float64{1, 2}, 0},
		{dm.Start, nil, []float64{1, math.NaN(), 2}, 0},
		{dm.Start, nil, nil, -1},
		{dm.Start, nil, nil, math.NaN()},
	} {
		if _, err := dm.NewStepper(c.start, c.vel, c.goal, c.dur); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: err %v, want ErrInvalidArgument", c, err)
		}
	}
	s, err := dm.NewStepper(dm.Start, nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration() != dm.Tau || s.Phase() != 1 || s.Time() != 0 {
		t.Errorf("duration %v phase %v time %v", s.Duration(), s.Phase(), s.Time())
	}
	for j := range dm.Goal {
		if s.Goal()[j] != dm.Goal[j] || s.Vel()[j] != 0 || s.Pos()[j] != dm.Start[j] {
			t.Errorf("joint %d: goal %v vel %v pos %v", j, s.Goal()[j], s.Vel()[j], s.Pos()[j])
		}
	}
	// Rollout(nil, nil, 0, dt): the demo's start, start velocity, goal and duration.
	tr, err := dm.Rollout(nil, nil, 0, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.T) != int(math.Round(dm.Tau/0.01))+1 || tr.Vel[0][0] != dm.StartVel[0] {
		t.Errorf("%d samples, start vel %v", len(tr.T), tr.Vel[0][0])
	}
	for _, dt := range []float64{0, -1, math.NaN(), 1e-9} {
		if _, err := dm.Rollout(nil, nil, 0, dt); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("dt %v: err %v", dt, err)
		}
	}
	var nilDMP *DMP
	if _, err := nilDMP.Rollout(nil, nil, 0, 0.01); !errors.Is(err, ErrInvalidDMP) {
		t.Errorf("nil dmp: %v", err)
	}
}
