package dmp

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMinJerkAccuracy(t *testing.T) {
	d := synth(1000, 2, func(t float64) []float64 {
		s := mj(t / 2)
		return []float64{0.2 + 1.3*s, -0.5 - 0.4*s, 1 + 2*s}
	})
	for _, f := range forms {
		_, rep := mustFit(t, d, Options{Formulation: f})
		sp := spans(d)
		for j, e := range rep.Joints {
			t.Logf("%s joint %d: RMSE/span %.2e max/span %.2e end %.2e", f, j, e.RMSE/sp[j], e.Max/sp[j], e.End)
			if !(e.RMSE/sp[j] < 1e-3) || !(e.Max/sp[j] < 3e-3) {
				t.Errorf("%s joint %d: RMSE/span %.2e max/span %.2e", f, j, e.RMSE/sp[j], e.Max/sp[j])
			}
		}
	}
}

// A joint whose start equals its goal (a wave) reproduces in both formulations.
func TestLoopReproduces(t *testing.T) {
	d := synth(800, 2, func(t float64) []float64 {
		s := t / 2
		return []float64{0.3 + 0.8*math.Pow(math.Sin(math.Pi*s), 2), 0.3 * math.Sin(2*math.Pi*s) * mj(s) * (1 - s) * 4, 1.2 * mj(s)}
	})
	for _, f := range forms {
		dm, rep := mustFit(t, d, Options{Formulation: f})
		sp := spans(d)
		for j, e := range rep.Joints {
			if !(e.RMSE/sp[j] < 1e-3) {
				t.Errorf("%s joint %d: RMSE/span %.2e", f, j, e.RMSE/sp[j])
			}
		}
		if f == Ijspeert2013 && (dm.Amplitude[0] != 0 || dm.Amplitude[1] != 0 || dm.Amplitude[2] == 0) {
			t.Errorf("amplitudes %v: want loop joints unscaled", dm.Amplitude)
		}
	}
}

// Moving the goal towards, onto and past the start keeps the demonstrated shape adapted
// to the goal: never mirrored, never a large overshoot, in both formulations.
// Pastor2009: y_new − y_demo is a shift between 0 and Δg (the bump survives).
// Ijspeert2013: y_new = s·y_demo with s = max(g/g_demo, 0), a plain approach when s = 0.
func TestMovedGoalNeverMirrors(t *testing.T) {
	// 0 -> 1 passing over a bump at 1.4 (a reach over an obstacle).
	d := synth(800, 2, func(t float64) []float64 {
		s := t / 2
		return []float64{mj(s) + 0.8*math.Pow(math.Sin(math.Pi*s), 2)}
	})
	for _, f := range forms {
		dm, _ := mustFit(t, d, Options{Formulation: f})
		ref, _ := dm.Rollout(nil, nil, 0, 0.0025)
		for _, g := range []float64{2, 1, 0.5, 0.1, 0, -0.2, -1} {
			tr, err := dm.Rollout(nil, []float64{g}, 0, 0.0025)
			if err != nil {
				t.Fatal(err)
			}
			dg := g - 1
			y := col(tr.Pos, 0)
			lo, hi := minmax(y)
			t.Logf("%s goal %+.1f: range [%.3f, %.3f], end %.4f", f, g, lo, hi, y[len(y)-1])
			for i, p := range y {
				yd := ref.Pos[i][0]
				switch {
				case f == Pastor2009:
					if r := (p - yd) / dg; dg != 0 && (r < -0.01 || r > 1.05) {
						t.Fatalf("%s goal %v t=%.3f: shift %.3f of Δg, want in [0, 1]", f, g, tr.T[i], r)
					}
				case g >= 0:
					if e := math.Abs(p - g*yd); e > 1e-3 {
						t.Fatalf("%s goal %v t=%.3f: %.4f, want the demo scaled: %.4f", f, g, tr.T[i], p, g*yd)
					}
				default:
					if p > 1e-9 || p < g-1e-3 {
						t.Fatalf("%s goal %v t=%.3f: %.4f outside [goal, start] (mirrored or overshoot)", f, g, tr.T[i], p)
					}
				}
			}
			s, _ := dm.NewStepper([]float64{0}, nil, []float64{g}, 0)
			for s.Time() < 3*dm.Tau {
				s.Step(0.002, nil, 1)
			}
			if e := math.Abs(s.Pos()[0] - g); e > 1e-3 {
				t.Errorf("%s goal %v: at 3τ still %.4f away", f, g, e)
			}
		}
	}
}

// With the goal moved, a looping joint keeps its loop, shifted towards the new goal.
func TestLoopWithMovedGoal(t *testing.T) {
	d := synth(800, 2, func(t float64) []float64 {
		return []float64{0.8 * math.Pow(math.Sin(math.Pi*t/2), 2)}
	})
	for _, f := range forms {
		dm, _ := mustFit(t, d, Options{Formulation: f})
		ref, _ := dm.Rollout(nil, nil, 0, 0.0025)
		for _, g := range []float64{-0.3, 0.3, 1} {
			tr, _ := dm.Rollout(nil, []float64{g}, 0, 0.0025)
			for i, p := range tr.Pos {
				if r := (p[0] - ref.Pos[i][0]) / g; r < -0.01 || r > 1.05 {
					t.Fatalf("%s goal %v t=%.3f: shift %.3f of Δg, want in [0, 1]", f, g, tr.T[i], r)
				}
			}
		}
	}
}

// A demo that starts mid-motion is reproduced when started with StartVel.
func TestStartVelocity(t *testing.T) {
	d := synth(600, 1.5, func(t float64) []float64 {
		return []float64{math.Sin(2*t + 0.3), 0.5 * math.Cos(3*t)}
	})
	for _, f := range forms {
		dm, rep := mustFit(t, d, Options{Formulation: f})
		if math.Abs(dm.StartVel[0]-2*math.Cos(0.3)) > 1e-3 {
			t.Errorf("%s: StartVel %v, want %.4f", f, dm.StartVel[0], 2*math.Cos(0.3))
		}
		sp := spans(d)
		for j, e := range rep.Joints {
			if !(e.RMSE/sp[j] < 1e-3) {
				t.Errorf("%s joint %d: RMSE/span %.2e", f, j, e.RMSE/sp[j])
			}
		}
		tr, _ := dm.Rollout(nil, nil, 0, 1.5/599)
		if e := math.Abs(tr.Vel[0][0] - dm.StartVel[0]); e > 1e-9 {
			t.Errorf("rollout starts at velocity %v, want %v", tr.Vel[0][0], dm.StartVel[0])
		}
		still, _ := dm.RolloutFrom(dm.Start, nil, nil, 0, 1.5/599)
		if math.Abs(still.Pos[30][0]-d.Y[30][0]) < 10*rep.Joints[0].Max {
			t.Errorf("starting at rest should differ from the demo early on")
		}
	}
}

// Doubling the duration replays the same path at half speed.
func TestTemporalScaling(t *testing.T) {
	d := synth(500, 1, func(t float64) []float64 { return []float64{mj(t) + 0.3*math.Sin(3*t)} })
	dm, _ := mustFit(t, d, Options{})
	a, _ := dm.RolloutFrom(dm.Start, dm.StartVel, nil, 1, 0.001)
	sv := []float64{dm.StartVel[0] / 2}
	b, _ := dm.RolloutFrom(dm.Start, sv, nil, 2, 0.001)
	if len(a.T) != 1001 || len(b.T) != 2001 {
		t.Fatalf("%d and %d samples", len(a.T), len(b.T))
	}
	for i := range a.T {
		if e := math.Abs(a.Pos[i][0] - b.Pos[2*i][0]); e > 1e-6 {
			t.Fatalf("sample %d: slow %.6f vs normal %.6f", i, b.Pos[2*i][0], a.Pos[i][0])
		}
		if e := math.Abs(a.Vel[i][0] - 2*b.Vel[2*i][0]); e > 1e-5 {
			t.Fatalf("sample %d: velocity %.6f, want half of %.6f", i, b.Vel[2*i][0], a.Vel[i][0])
		}
	}
}

// A new start and goal: starts exactly there, ends at the goal.
func TestNewStartGoal(t *testing.T) {
	d := synth(500, 1, func(t float64) []float64 { return []float64{mj(t), 1 - mj(t)} })
	for _, f := range forms {
		dm, _ := mustFit(t, d, Options{Formulation: f})
		tr, _ := dm.Rollout([]float64{0.5, 0.2}, []float64{2, -1}, 1.5, 0.01)
		if tr.Pos[0][0] != 0.5 || tr.Pos[0][1] != 0.2 {
			t.Errorf("%s: starts at %v", f, tr.Pos[0])
		}
		end := tr.Pos[len(tr.Pos)-1]
		if math.Abs(end[0]-2) > 0.02 || math.Abs(end[1]+1) > 0.02 {
			t.Errorf("%s: ends at %v, want [2 -1]", f, end)
		}
		lo, hi := minmax(col(tr.Pos, 0))
		if lo < 0.5-0.02 || hi > 2+0.02 {
			t.Errorf("%s: joint 0 range [%.3f, %.3f] leaves [0.5, 2]", f, lo, hi)
		}
	}
}

func TestIrregularAndNoisy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	clean := func(t float64) float64 { return mj(t/1.5) + 0.2*math.Sin(4*t) }
	d := Demo{}
	tt := 0.0
	for tt <= 1.5 {
		d.T = append(d.T, tt)
		d.Y = append(d.Y, []float64{clean(tt) + 2e-4*rng.NormFloat64()})
		tt += 0.002 + 0.002*rng.Float64()
	}
	dm, rep := mustFit(t, d, Options{})
	tr, _ := dm.Rollout(nil, nil, 0, dm.Tau/500)
	var ss float64
	for i, p := range tr.Pos {
		e := p[0] - clean(tr.T[i])
		ss += e * e
	}
	rmse := math.Sqrt(ss / float64(len(tr.Pos)))
	sp := spans(d)[0]
	t.Logf("irregular+noisy: RMSE vs clean %.2e of span, report RMSE %.2e", rmse/sp, rep.Joints[0].RMSE/sp)
	if rmse/sp > 1e-3 {
		t.Errorf("RMSE vs clean motion %.2e of span", rmse/sp)
	}
}

func TestFitMulti(t *testing.T) {
	a := synth(400, 1, func(t float64) []float64 { return []float64{mj(t)} })
	b := synth(600, 1.2, func(t float64) []float64 { return []float64{1.1 * mj(t/1.2)} })
	dm, rep, err := FitMulti([]Demo{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(dm.Tau-1.1) > 1e-9 || math.Abs(dm.Goal[0]-1.05) > 1e-9 {
		t.Errorf("tau %v goal %v, want the means 1.1, 1.05", dm.Tau, dm.Goal)
	}
	// One shape for two demos of different amplitude and duration: a compromise.
	if rep.Joints[0].RMSE > 0.02 {
		t.Errorf("RMSE %v", rep.Joints[0].RMSE)
	}
	if _, _, err := FitMulti([]Demo{a, {T: a.T, Y: make([][]float64, len(a.T))}}, Options{}); !errors.Is(err, ErrInvalidDemo) || !strings.Contains(err.Error(), "demo 1") {
		t.Errorf("bad second demo: %v", err)
	}
}

func TestFitRejects(t *testing.T) {
	good := func() Demo {
		return synth(20, 1, func(t float64) []float64 { return []float64{t, 2 * t} })
	}
	cases := []struct {
		name string
		mut  func(d *Demo)
		want string
	}{
		{"short", func(d *Demo) { d.T, d.Y = d.T[:9], d.Y[:9] }, "9 samples"},
		{"empty", func(d *Demo) { d.T, d.Y = nil, nil }, "0 samples"},
		{"rows", func(d *Demo) { d.Y = d.Y[:15] }, "15 position rows"},
		{"nan time", func(d *Demo) { d.T[4] = math.NaN() }, "sample 4: time NaN"},
		{"time back", func(d *Demo) { d.T[6] = d.T[5] }, "sample 6: time"},
		{"nan pos", func(d *Demo) { d.Y[7][1] = math.NaN() }, "sample 7 joint 1 (b)"},
		{"inf pos", func(d *Demo) { d.Y[3][0] = math.Inf(1) }, "sample 3 joint 0 (a)"},
		{"ragged", func(d *Demo) { d.Y[8] = []float64{1} }, "sample 8 has 1 joints"},
		{"no joints", func(d *Demo) {
			for i := range d.Y {
				d.Y[i] = nil
			}
			d.Joints = nil
		}, "no joints"},
		{"names", func(d *Demo) { d.Joints = []string{"a"} }, "1 joint names"},
	}
	for _, c := range cases {
		d := good()
		d.Joints = []string{"a", "b"}
		c.mut(&d)
		_, _, err := Fit(d, Options{})
		if !errors.Is(err, ErrInvalidDemo) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want ErrInvalidDemo with %q", c.name, err, c.want)
		}
	}
	for _, o := range []Options{{Basis: 1}, {Basis: -3}, {Formulation: "x"}, {Ridge: -1}, {AlphaZ: math.NaN()},
		{AlphaX: -1}, {AlphaG: math.Inf(1)}, {Smooth: -0.1}, {BetaZ: -2}} {
		if _, _, err := Fit(good(), o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%+v: err %v, want ErrInvalidOptions", o, err)
		}
	}
}

func TestValidate(t *testing.T) {
	d := synth(100, 1, func(t float64) []float64 { return []float64{t, -t} })
	for _, f := range forms {
		dm, _ := mustFit(t, d, Options{Formulation: f, Basis: 10})
		raw, err := json.Marshal(dm)
		if err != nil {
			t.Fatal(err)
		}
		var back DMP
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("%s round trip: %v", f, err)
		}
		if !strings.Contains(string(raw), `"start_vel"`) || !strings.Contains(string(raw), `"alpha_z"`) {
			t.Errorf("json keys: %s", raw)
		}
	}
	cases := []struct {
		name string
		mut  func(d *DMP)
		want string
	}{
		{"formulation", func(d *DMP) { d.Formulation = "" }, "unknown formulation"},
		{"tau", func(d *DMP) { d.Tau = 0 }, "tau"},
		{"tau nan", func(d *DMP) { d.Tau = math.NaN() }, "tau"},
		{"alpha_x", func(d *DMP) { d.AlphaX = -1 }, "alpha_x"},
		{"widths", func(d *DMP) { d.Widths = d.Widths[1:] }, "widths"},
		{"centre order", func(d *DMP) { d.Centers[3], d.Centers[4] = d.Centers[4], d.Centers[3] }, "centre 4"},
		{"centre range", func(d *DMP) { d.Centers[0] = 1.5 }, "centre 0"},
		{"width", func(d *DMP) { d.Widths[2] = 0 }, "width 2"},
		{"weights len", func(d *DMP) { d.Weights[1] = d.Weights[1][:3] }, "joint 1: 3 weights"},
		{"weight nan", func(d *DMP) { d.Weights[0][5] = math.NaN() }, "weight 5"},
		{"start", func(d *DMP) { d.Start = d.Start[:1] }, "start has 1"},
		{"goal inf", func(d *DMP) { d.Goal[1] = math.Inf(-1) }, "goal: joint 1"},
		{"no joints", func(d *DMP) { d.Weights = nil }, "no joints"},
		{"amplitude", func(d *DMP) { d.Formulation = Ijspeert2013; d.Amplitude = nil }, "amplitude"},
	}
	for _, c := range cases {
		dm, _ := mustFit(t, d, Options{Basis: 10})
		c.mut(dm)
		err := dm.Validate()
		if !errors.Is(err, ErrInvalidDMP) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want ErrInvalidDMP with %q", c.name, err, c.want)
		}
		if _, err := dm.NewStepper(d.Y[0], nil, nil, 0); !errors.Is(err, ErrInvalidDMP) {
			t.Errorf("%s: NewStepper accepted an invalid dmp: %v", c.name, err)
		}
	}
	var nilDMP *DMP
	if err := nilDMP.Validate(); !errors.Is(err, ErrInvalidDMP) {
		t.Errorf("nil: %v", err)
	}
}
