package dmp

import (
	"math"
	"testing"
)

// minJerk returns a 7-joint minimum-jerk demo of n samples over dur seconds.
func minJerk(n, nj int, dur float64) Demo {
	d := Demo{T: make([]float64, n), Y: make([][]float64, n)}
	for i := range d.T {
		t := dur * float64(i) / float64(n-1)
		s := t / dur
		mj := 10*s*s*s - 15*s*s*s*s + 6*s*s*s*s*s
		d.T[i] = t
		d.Y[i] = make([]float64, nj)
		for j := range d.Y[i] {
			d.Y[i][j] = 0.1*float64(j) + (0.5+0.1*float64(j))*mj + 0.05*math.Sin(2*math.Pi*s*float64(j%3))
		}
	}
	return d
}

// BenchmarkStep7x100 steps the default system (SystemMinJerk) of a 7-joint, 100-basis
// skill; BenchmarkStep7x100Phase the v1 system.
func BenchmarkStep7x100(b *testing.B) { benchStep(b, SystemMinJerk) }

func BenchmarkStep7x100Phase(b *testing.B) { benchStep(b, SystemPhase) }

// BenchmarkStepWiggle7x100 steps a skill fitted to the real demo that ends fastest (the
// MasterArm's d02208, 74% of its peak speed at its end), whose centres crowd at the
// brake: the local substeps keep the cost there, not on every step.
func BenchmarkStepWiggle7x100(b *testing.B) {
	benchStepDemo(b, SystemMinJerk, loadCSV(b, "../../testdata/masterarm_wiggling/d02208.csv"))
}

func benchStep(b *testing.B, sys System) { benchStepDemo(b, sys, minJerk(2000, 7, 2)) }

func benchStepDemo(b *testing.B, sys System, demo Demo) {
	d, _, err := Fit(demo, Options{Basis: 100, System: sys})
	if err != nil {
		b.Fatal(err)
	}
	s, err := d.NewStepper(d.Start, nil, d.Goal, 0)
	if err != nil {
		b.Fatal(err)
	}
	coupling := make([]float64, 7)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s.Time() >= d.Tau { // stay within the motion, where basis windows are busiest
			s.Reanchor(d.Start, nil)
			s.restart()
		}
		s.Step(0.002, coupling, 1)
	}
}

func BenchmarkFit7x10000(b *testing.B) {
	demo := minJerk(10000, 7, 10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Fit(demo, Options{Basis: 50}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitRealDemos fits every demo of testdata/ (56 demos, 50 basis functions) with
// the default system: most end moving, so Fit tries its three brake weights.
func BenchmarkFitRealDemos(b *testing.B) {
	var demos []Demo
	for _, p := range demoFiles(b) {
		demos = append(demos, loadCSV(b, p))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, d := range demos {
			if _, _, err := Fit(d, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
