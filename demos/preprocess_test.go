package demos

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// synth builds a demo with joints a, b sampled at times ts.
func synth(ts []float64, f func(t float64, j int) float64) *Demo {
	d := &Demo{Joints: []string{"a", "b"}}
	for _, t := range ts {
		d.T = append(d.T, t)
		d.Y = append(d.Y, []float64{f(t, 0), f(t, 1)})
	}
	return d
}

func uniform(n int, dt float64) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = float64(i) * dt
	}
	return ts
}

func clone(d *Demo) *Demo {
	return &Demo{Joints: append([]string(nil), d.Joints...), T: append([]float64(nil), d.T...), Y: copyRows(d.Y)}
}

func TestTrimStillPanda(t *testing.T) {
	d, err := ReadCSV("../testdata/panda_comanip_symbol17/demo1.csv")
	if err != nil {
		t.Fatal(err)
	}
	raw := clone(d)
	tr, err := TrimStill(d, 0.01, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(raw, d) {
		t.Fatal("TrimStill modified its input")
	}
	// The stroke moves from about 1.5 s to 6.4 s of a 7.88 s recording.
	start, end := tr.T[0], tr.T[tr.Len()-1]
	t.Logf("trimmed %v..%v s (%v s of %v s)", start, end, tr.Duration(), d.Duration())
	if start < 1.2 || start > 1.6 || end < 6.3 || end > 6.8 {
		t.Errorf("kept %v..%v s, want about 1.4..6.5 s", start, end)
	}
	if tr.Duration() < 4.7 || tr.Duration() > 5.5 {
		t.Errorf("trimmed duration %v s, want 4.7..5.5 s", tr.Duration())
	}

	c, err := Clean(d, CleanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(raw, d) {
		t.Fatal("Clean modified its input")
	}
	if c.T[0] != 0 || math.Abs(c.Duration()-tr.Duration()) > 0.3 || math.Abs(c.SamplePeriod()-DefaultDT) > 1e-12 || c.T[7] != 0.07 {
		t.Errorf("clean: t0 %v, duration %v s (trim gave %v), period %v", c.T[0], c.Duration(), tr.Duration(), c.SamplePeriod())
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestTrimStillSynthetic(t *testing.T) {
	// Still for 1 s, a 2 s smooth move of 1 rad, still for 1.5 s, irregular sampling.
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []float64
	for t := 0.0; t < 4.5; t += 0.005 + 0.01*rng.Float64() {
		ts = append(ts, t)
	}
	move := func(t float64, j int) float64 {
		s := math.Min(math.Max((t-1)/2, 0), 1)
		return float64(j+1) * (10*s*s*s - 15*s*s*s*s + 6*s*s*s*s*s)
	}
	d := synth(ts, move)
	tr, err := TrimStill(d, 0.05, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	// Joint b's speed 2·30 s²(1−s)²/2 exceeds 0.05 rad/s once s ≈ 0.03 (t ≈ 1.06 s).
	if tr.T[0] < 0.8 || tr.T[0] > 0.95 || tr.T[tr.Len()-1] < 3.05 || tr.T[tr.Len()-1] > 3.2 {
		t.Errorf("kept %v..%v s, want about 0.86..3.14", tr.T[0], tr.T[tr.Len()-1])
	}
	if _, err := TrimStill(synth(uniform(50, 0.01), func(float64, int) float64 { return 1 }), 0.01, 0); err == nil {
		t.Error("no error on a still demo")
	}
}

func TestLowPassReducesNoiseWithoutLag(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	truth := func(t float64, j int) float64 { return math.Sin(2*math.Pi*0.5*t + float64(j)) }
	ts := uniform(1000, 0.01)
	noisy := synth(ts, func(t float64, j int) float64 { return truth(t, j) + 0.02*rng.NormFloat64() })
	raw := clone(noisy)
	f, err := LowPass(noisy, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(raw, noisy) {
		t.Fatal("LowPass modified its input")
	}
	rms := func(d *Demo) float64 {
		s := 0.0
		for i, t := range d.T {
			for j := range 2 {
				e := d.Y[i][j] - truth(t, j)
				s += e * e
			}
		}
		return math.Sqrt(s / float64(2*d.Len()))
	}
	before, after := rms(noisy), rms(f)
	t.Logf("RMS error %.4f -> %.4f", before, after)
	// White noise keeps about sqrt(2·5/100·0.9) of its power below the cutoff: expect ≥ 3×.
	if after > before/3 {
		t.Errorf("RMS error %v -> %v, want at least 3x smaller", before, after)
	}
	// Zero phase: a filter that lagged by even 10 ms would leave 0.5 Hz·2π·0.01 ≈ 0.03 rad error.
	clean := synth(ts, truth)
	g, _ := LowPass(clean, 5)
	if e := rms(g); e > 2e-3 {
		t.Errorf("clean sine distorted by %v (phase lag or edge transients)", e)
	}
	if _, err := LowPass(noisy, 60); err == nil {
		t.Error("cutoff at Nyquist accepted")
	}
}

func TestResampleExactOnLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var ts []float64
	for t := 0.0; t < 2; t += 0.002 + 0.02*rng.Float64() {
		ts = append(ts, t)
	}
	lin := func(t float64, j int) float64 { return 2*t - float64(j) + 0.5 }
	d := synth(ts, lin)
	for name, fn := range map[string]func(*Demo, float64) (*Demo, error){"linear": Resample, "cubic": ResampleCubic} {
		r, err := fn(d, 0.01)
		if err != nil {
			t.Fatal(name, err)
		}
		if r.T[0] != d.T[0] || r.T[r.Len()-1] > d.T[d.Len()-1] || r.T[r.Len()-1] < d.T[d.Len()-1]-0.01 {
			t.Errorf("%s: grid %v..%v for data %v..%v", name, r.T[0], r.T[r.Len()-1], d.T[0], d.T[d.Len()-1])
		}
		for k, tk := range r.T {
			if tk != d.T[0]+float64(k)*0.01 && k != r.Len()-1 {
				t.Fatalf("%s: t[%d] = %v, not on the grid", name, k, tk)
			}
			for j := range 2 {
				if e := math.Abs(r.Y[k][j] - lin(tk, j)); e > 1e-12 {
					t.Fatalf("%s: y[%d][%d] off by %v", name, k, j, e)
				}
			}
		}
	}
	if _, err := Resample(d, 0); err == nil {
		t.Error("dt 0 accepted")
	}
	if _, err := Resample(d, 1); err == nil {
		t.Error("3 samples accepted")
	}
}

func TestCleanIrregularTimestamps(t *testing.T) {
	// Jittered 100 Hz samples of a move with still ends, plus sensor noise.
	rng := rand.New(rand.NewPCG(7, 8))
	truth := func(t float64, j int) float64 {
		s := math.Min(math.Max((t-0.5)/1.5, 0), 1)
		return float64(j+1) * (1 - math.Cos(math.Pi*s)) / 2
	}
	var ts []float64
	for t := 0.0; t < 3; t += 0.01 * (0.7 + 0.6*rng.Float64()) {
		ts = append(ts, t)
	}
	d := synth(ts, func(t float64, j int) float64 { return truth(t, j) + 0.0003*rng.NormFloat64() })
	c, err := Clean(d, CleanOptions{DT: 0.02, Cubic: true})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.SamplePeriod()-0.02) > 1e-12 || c.T[0] != 0 || c.T[5] != 0.1 {
		t.Errorf("period %v start %v", c.SamplePeriod(), c.T[0])
	}
	// Motion is 0.5..2 s; its slow cosine start and end fall below 0.02 rad/s near the ends.
	if c.Duration() < 1.3 || c.Duration() > 1.8 {
		t.Errorf("cleaned duration %v s, want about 1.5 s", c.Duration())
	}
	if got := c.Y[c.Len()-1][1]; math.Abs(got-2) > 0.01 {
		t.Errorf("final b = %v, want 2", got)
	}
}
