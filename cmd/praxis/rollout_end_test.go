package main

import (
	"fmt"
	"math"
	"testing"

	"github.com/praxis-robotics/praxis/demos"
)

// TestRolloutReadmeExampleEndsAtGoal: the README's example, `praxis learn
// testdata/masterarm_wiggling/d02209.csv --name wiggle -o wiggle.json; praxis rollout
// wiggle.json --goal R_EB=1.5 --duration 3 --dt 0.01` (and without --dt, and 4, 6), ends at R_EB = 1.5 within issue
// 13's bound, max(0.02% of the joint's span, 1e-4 rad), at rest (last step's speed ≤ 0.5%
// of the peak); the other joints at their demonstrated goals within the same bound.
// Skill files of format v1 ended at 1.48498 (1% of the goal shift short).
func TestRolloutReadmeExampleEndsAtGoal(t *testing.T) {
	demo, err := demos.ReadCSV(wiggleDemo)
	if err != nil {
		t.Fatal(err)
	}
	skill := learnWiggle(t, t.TempDir())
	want := append([]float64(nil), demo.Y[demo.Len()-1]...)
	want[3] = 1.5
	if demo.Joints[3] != "R_EB" {
		t.Fatalf("joint 3 is %s, want R_EB", demo.Joints[3])
	}
	for _, c := range []struct {
		d  float64
		dt []string
	}{{3, []string{"--dt", "0.01"}}, {3, nil}, {4, nil}, {6, nil}} {
		d := c.d
		dur := fmt.Sprint(d)
		r := rolloutCSV(t, append([]string{skill, "--goal", "R_EB=1.5", "--duration", dur}, c.dt...)...)
		n := r.Len()
		if math.Abs(r.T[n-1]-d) > 1e-3 {
			t.Fatalf("--duration %s: ends at t = %v s", dur, r.T[n-1])
		}
		for j, name := range r.Joints {
			lo, hi, peak := math.Inf(1), math.Inf(-1), 0.0
			for i := range demo.T {
				lo, hi = min(lo, demo.Y[i][j]), max(hi, demo.Y[i][j])
			}
			for i := 1; i < n; i++ {
				peak = max(peak, math.Abs(r.Y[i][j]-r.Y[i-1][j])/(r.T[i]-r.T[i-1]))
			}
			bound := max(2e-4*(hi-lo), 1e-4)
			if e := math.Abs(r.Y[n-1][j] - want[j]); !(e <= bound) {
				t.Errorf("--duration %s: %s ends at %.6f, want %.6f ± %.1e", dur, name, r.Y[n-1][j], want[j], bound)
			}
			v := math.Abs(r.Y[n-1][j]-r.Y[n-2][j]) / (r.T[n-1] - r.T[n-2])
			if !(v <= 5e-3*peak) {
				t.Errorf("--duration %s: %s ends at %.2e rad/s, want ≤ 0.5%% of its peak %.3f", dur, name, v, peak)
			}
		}
	}
}
