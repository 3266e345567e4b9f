package dmp

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Issue 13's contract for the end of a plan, per joint of span S (rad or m):
const (
	endPosRel  = 2e-4  // |y(τ) − g| ≤ max(0.02% of S, endPosAbs)
	endPosAbs  = 1e-4  // rad
	endVelRel  = 5e-3  // |v(τ)| ≤ 0.5% of the plan's peak speed
	overshootL = 0.02  // no overshoot beyond 2% of S
	goalMoves  = 0.5   // goals moved by up to ±50% of S
	heldMove   = 0.1   // held-out demos are also run with the goal moved by 10% of S
	execDT     = 0.002 // s: runs are stepped at the executor's default rate
	afterTau   = 3.0   // runs are stepped to 3τ to see that the plan stays at its goal
	velFloor   = 1e-12 // rad/s: peak speeds below this count as "not moving"
)

// rmsePooledBefore is the median RMSE/span over every joint of every demo, before.
const rmsePooledBefore = 1.50e-4

// rmseBefore is the median reproduction RMSE/span per data set with 50 basis functions
// before SystemMinJerk existed (SystemPhase, both formulations gave the same medians;
// rounded up in the fourth digit); no system may be chosen that does worse.
var rmseBefore = map[string]float64{
	"masterarm_wiggling":     1.058e-3,
	"panda_comanip_symbol17": 8.271e-4,
	"approach_forward":       1.429e-4,
	"move_obj_table":         1.117e-4,
}

// endRun is one plan stepped from start (at startVel) to goal over dur and on to 3·dur.
type endRun struct {
	endErr, endVel, peakVel []float64 // |y(τ)−g|, |v(τ)|, max |v| over [0, τ]
	overshoot, stay         []float64 // past g, arriving side at 0.9τ, over [0.9τ, 3τ]; max |y−g| over [τ, 3τ]
}

func stepRun(t testing.TB, d *DMP, start, startVel, goal []float64, dur float64) endRun {
	t.Helper()
	s, err := d.NewStepper(start, startVel, goal, dur)
	if err != nil {
		t.Fatal(err)
	}
	nj := len(start)
	mk := func() []float64 { return make([]float64, nj) }
	r := endRun{mk(), mk(), mk(), mk(), mk()}
	dir := mk()
	// Stepped as the executor does, at about 500 Hz (a whole number of steps per τ).
	steps := max(int(math.Round(dur/execDT)), 10)
	dt := dur / float64(steps)
	for i := 1; i <= int(afterTau*float64(steps)); i++ {
		s.Step(dt, nil, 1)
		for j, y := range s.Pos() {
			e := y - goal[j]
			v := math.Abs(s.Vel()[j])
			if i <= steps {
				r.peakVel[j] = max(r.peakVel[j], v)
			}
			if i == steps*9/10 {
				dir[j] = math.Copysign(1, -e) // arriving from this side
			}
			if i >= steps*9/10 {
				r.overshoot[j] = max(r.overshoot[j], dir[j]*e)
			}
			if i == steps {
				r.endErr[j], r.endVel[j] = math.Abs(e), v
			}
			if i >= steps {
				r.stay[j] = max(r.stay[j], math.Abs(e))
			}
		}
	}
	return r
}

// endRow is one system's line of the comparison.
type endRow struct {
	sys                   System
	rmse                  map[string][]float64 // RMSE/span per data set
	own, held, held10     []float64            // end error / span
	worstPos, worstPosAbs float64              // worst end error / allowance, over every run
	worstVel              float64              // worst |v(τ)| / (0.5% of peak)
	worstOver, worstStay  float64              // worst overshoot, stay excursion / (2% of span)
}

// demoExcursion is, per joint, how far a demo itself goes past its goal over the last
// 10% of its duration, in the direction it arrives from at 0.9τ (0 if it never does):
// the wiggling demos cross their goal there, and a plan that reproduces them does too.
func demoExcursion(d Demo) []float64 {
	n := len(d.Y)
	g := d.Y[n-1]
	out := make([]float64, len(g))
	i0 := n * 9 / 10
	for j := range g {
		dir := math.Copysign(1, g[j]-d.Y[i0][j])
		for i := i0; i < n; i++ {
			out[j] = max(out[j], dir*(d.Y[i][j]-g[j]))
		}
	}
	return out
}

func (row *endRow) add(r endRun, span, excursion []float64, rel *[]float64) {
	for j, sp := range span {
		if rel != nil {
			*rel = append(*rel, r.endErr[j]/sp)
		}
		row.worstPos = max(row.worstPos, r.endErr[j]/max(endPosRel*sp, endPosAbs))
		if r.peakVel[j] > velFloor {
			row.worstVel = max(row.worstVel, r.endVel[j]/(endVelRel*r.peakVel[j]))
		}
		row.worstOver = max(row.worstOver, (r.overshoot[j]-excursion[j])/(overshootL*sp))

		row.worstStay = max(row.worstStay, r.stay[j]/(overshootL*sp))
	}
}

func shifted(g, span []float64, k float64) []float64 {
	out := make([]float64, len(g))
	for j := range g {
		out[j] = g[j] + k*span[j]
	}
	return out
}

// measureSystem fits every demo of the real data sets with sys and runs it: the demo
// itself (start, start velocity, goal, duration), its goal moved by ±10% and ±50% of each
// joint's span, and held out: the next demo of the same set's start, goal and duration
// (at rest, as the executor starts), and that with its goal moved by 10%.
func measureSystem(t testing.TB, sys System, files []string) endRow {
	row := endRow{sys: sys, rmse: map[string][]float64{}}
	type fitted struct {
		d    *DMP
		demo Demo
		span []float64
	}
	bySet := map[string][]fitted{}
	var sets []string
	for _, path := range files {
		demo := loadCSV(t, path)
		d, rep, err := Fit(demo, Options{System: sys, internal: true})
		if err != nil {
			t.Fatalf("%s %s: %v", sys, path, err)
		}
		set := filepath.Base(filepath.Dir(path))
		sp := spans(demo)
		for j, s := range sp {
			row.rmse[set] = append(row.rmse[set], rep.Joints[j].RMSE/s)
		}
		if _, ok := bySet[set]; !ok {
			sets = append(sets, set)
		}
		bySet[set] = append(bySet[set], fitted{d, demo, sp})
		exc := demoExcursion(demo)
		row.add(stepRun(t, d, d.Start, d.StartVel, d.Goal, d.Tau), sp, exc, &row.own)
		for _, k := range []float64{-goalMoves, -heldMove, heldMove, goalMoves} {
			row.add(stepRun(t, d, d.Start, nil, shifted(d.Goal, sp, k), d.Tau), sp, exc, nil)
		}
	}
	for _, set := range sets {
		fs := bySet[set]
		for i, f := range fs {
			h := fs[(i+1)%len(fs)]
			y := h.demo.Y
			start, goal := y[0], y[len(y)-1]
			dur := h.demo.T[len(y)-1] - h.demo.T[0]
			exc := demoExcursion(f.demo)
			for j, e := range demoExcursion(h.demo) {
				exc[j] = max(exc[j], e)
			}
			row.add(stepRun(t, f.d, start, nil, goal, dur), h.span, exc, &row.held)
			row.add(stepRun(t, f.d, start, nil, shifted(goal, h.span, heldMove), dur), h.span, exc, &row.held10)
		}
	}
	return row
}

// TestEndSystems measures the candidate systems side by side on the real demos of
// testdata/ (50 basis functions, Pastor2009) and asserts that the chosen one, the
// default SystemMinJerk, meets issue 13's contract: at t = τ within max(0.02% of the
// span, 1e-4) of the goal and below 0.5% of the peak speed, for the demonstrated goal,
// goals moved by up to ±50% of the span and held-out demos; no overshoot beyond 2% of the
// span (past what the demo itself does: the wiggling demos cross their goal near the end); staying there after τ; and no data set's median RMSE worse than before. The
// table is in the package doc.
func TestEndSystems(t *testing.T) {
	if testing.Short() {
		t.Skip("fits every demo five times")
	}
	files := demoFiles(t)
	systems := []System{SystemPhase, systemDmpbbo, systemCountdown, systemCountdownEnd, SystemMinJerk}
	var sets []string
	for s := range rmseBefore {
		sets = append(sets, s)
	}
	sort.Strings(sets)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-14s", "system")
	for _, s := range sets {
		fmt.Fprintf(&b, " %9.9s", s)
	}
	fmt.Fprintf(&b, " | %8s %8s %8s | %7s %7s %7s %7s\n", "own end", "held", "held+10", "pos", "vel", "over", "stay")
	b.WriteString(strings.Repeat("-", 14+10*len(sets)) + "-+-" + strings.Repeat("-", 26) + "-+-" + strings.Repeat("-", 31) + "\n")
	rows := map[System]endRow{}
	for _, sys := range systems {
		row := measureSystem(t, sys, files)
		rows[sys] = row
		fmt.Fprintf(&b, "%-14s", sys)
		for _, s := range sets {
			fmt.Fprintf(&b, " %9.2e", median(row.rmse[s]))
		}
		fmt.Fprintf(&b, " | %8.1e %8.1e %8.1e | %7.2f %7.2f %7.2f %7.2f\n",
			median(row.own), median(row.held), median(row.held10),
			row.worstPos, row.worstVel, row.worstOver, row.worstStay)
	}
	b.WriteString("first columns: median RMSE/span per data set; then median |y(τ)−g|/span (own demo; held out; held out, goal +10%);\n" +
		"worst ratios to the contract over all runs (≤ 1 meets it): pos |y(τ)−g| / max(0.02% span, 1e-4), vel |v(τ)| / 0.5% peak,\n" +
		"over: overshoot beyond the demo's own (over [0.9τ, 3τ]) / 2% span, stay: max |y−g| over [τ, 3τ] / 2% span\n")
	t.Log(b.String())

	chosen := rows[SystemMinJerk]
	var pooled []float64
	for _, s := range sets {
		pooled = append(pooled, chosen.rmse[s]...)
		m := median(chosen.rmse[s])
		if m > rmseBefore[s] {
			t.Errorf("%s: median RMSE/span %.4e, before %.3e", s, m, rmseBefore[s])
		}
		if ph := median(rows[SystemPhase].rmse[s]); m > ph {
			t.Errorf("%s: median RMSE/span %.4e, SystemPhase %.4e", s, m, ph)
		}
	}
	if m := median(pooled); m > rmsePooledBefore {
		t.Errorf("all demos: median RMSE/span %.3e, before %.3e", m, rmsePooledBefore)
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"end position", chosen.worstPos}, {"end velocity", chosen.worstVel},
		{"overshoot", chosen.worstOver}, {"after τ", chosen.worstStay}} {
		if !(c.v <= 1) {
			t.Errorf("minjerk: worst %s is %.3g × the contract's bound", c.name, c.v)
		}
	}
}

// TestMinJerkEndsAtGoal: the chosen system meets the end contract (overshoot included) for both formulations,
// for goals moved by ±50% of the span, other durations and a start moved off the demo's,
// on synthetic motions (one ends moving) and the real demos that end fastest; and
// stepping it allocates nothing, as for the v1 system.
func TestMinJerkEndsAtGoal(t *testing.T) {
	demos := []Demo{
		minJerk(1000, 3, 2),
		synth(600, 1.5, func(t float64) []float64 { return []float64{math.Sin(2*t + 0.3), 0.5 * math.Cos(3*t)} }),
		loadCSV(t, "../../testdata/masterarm_wiggling/d02208.csv"),
		loadCSV(t, "../../testdata/dfki_pick_place_mocap/approach_forward/subject1_run9.csv"),
	}
	for k, demo := range demos {
		sp := spans(demo)
		exc := demoExcursion(demo)
		for _, form := range forms {
			d := mustFitDMP(t, demo, Options{Formulation: form})
			if d.System != SystemMinJerk {
				t.Fatalf("Fit's default system is %q", d.System)
			}
			for _, c := range []struct {
				move, dur, startOff float64
			}{{0, 0, 0}, {-goalMoves, 0, 0}, {goalMoves, 0, 0}, {0.2, 2 * d.Tau, 0}, {-0.1, 0.6 * d.Tau, 0.05}} {
				dur := c.dur
				if dur == 0 {
					dur = d.Tau
				}
				start := shifted(d.Start, sp, c.startOff)
				goal := shifted(d.Goal, sp, c.move)
				r := stepRun(t, d, start, nil, goal, dur)
				for j := range sp {
					if b := max(endPosRel*sp[j], endPosAbs); !(r.endErr[j] <= b) {
						t.Errorf("demo %d %s %+v joint %d: %.2e from the goal at τ, want ≤ %.1e", k, form, c, j, r.endErr[j], b)
					}
					if r.peakVel[j] > velFloor && !(r.endVel[j] <= endVelRel*r.peakVel[j]) {
						t.Errorf("demo %d %s %+v joint %d: %.2e rad/s at τ, peak %.3f", k, form, c, j, r.endVel[j], r.peakVel[j])
					}
					if !(r.stay[j] <= overshootL*sp[j]) {
						t.Errorf("demo %d %s %+v joint %d: leaves the goal by %.2e after τ", k, form, c, j, r.stay[j])
					}
					// No overshoot beyond 2% of the span, past what the demo itself does
					// over its last 10% (as TestEndSystems counts it), that crossing
					// stretched as ijspeert2013 stretches the whole shape, by
					// s = (g − y0)/A (d02208's wrist crosses its goal by 0.012 rad;
					// with the goal moved by −50%, s = 1.53 and the plan by 0.018).
					own := exc[j]
					if form == Ijspeert2013 && d.Amplitude[j] != 0 {
						own *= max((goal[j]-start[j])/d.Amplitude[j], 0)
					}
					if !(r.overshoot[j]-own <= overshootL*sp[j]) {
						t.Errorf("demo %d %s %+v joint %d: overshoots the goal by %.2e (the demo, scaled, by %.2e), want ≤ %.2e past it",
							k, form, c, j, r.overshoot[j], own, overshootL*sp[j])
					}
				}
			}
		}
	}
	for _, sys := range []System{SystemPhase, SystemMinJerk} {
		d := mustFitDMP(t, demos[2], Options{System: sys})
		s, _ := d.NewStepper(d.Start, nil, nil, 0)
		c := make([]float64, len(d.Start))
		n := testing.AllocsPerRun(3000, func() {
			s.Step(0.002, c, 0.9)
			_, _, _ = s.Pos(), s.Vel(), s.Acc()
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per step", sys, n)
		}
	}
}

func mustFitDMP(t *testing.T, d Demo, o Options) *DMP {
	t.Helper()
	dm, _, err := Fit(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return dm
}
