package dmp

import (
	"math"
	"testing"
)

// synth samples fn(t) ([joint] positions) at n uniform times over dur seconds.
func synth(n int, dur float64, fn func(t float64) []float64) Demo {
	d := Demo{T: make([]float64, n), Y: make([][]float64, n)}
	for i := range d.T {
		d.T[i] = dur * float64(i) / float64(n-1)
		d.Y[i] = fn(d.T[i])
	}
	return d
}

func mj(s float64) float64 {
	s = min(max(s, 0), 1)
	return 10*s*s*s - 15*s*s*s*s + 6*s*s*s*s*s
}

func mustFit(t testing.TB, d Demo, o Options) (*DMP, Report) {
	t.Helper()
	dm, rep, err := Fit(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return dm, rep
}

// col extracts joint j of a trajectory's positions.
func col(p [][]float64, j int) []float64 {
	out := make([]float64, len(p))
	for i, r := range p {
		out[i] = r[j]
	}
	return out
}

func minmax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

var forms = []Formulation{Pastor2009, Ijspeert2013}
