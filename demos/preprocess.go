package demos

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/interp"
)

// Preprocessing defaults (see CleanOptions).
const (
	DefaultCutoffHz = 5.0  // low-pass cutoff, Hz: human demonstrations carry little above 2 Hz
	DefaultStillVel = 0.02 // speed below which the arm counts as still, rad/s (or m/s); keep it above sensor noise (≈ 2 encoder counts per 0.1 s)
	DefaultKeep     = 0.1  // still time kept before and after the motion, s
	DefaultDT       = 0.01 // output sample period, s (100 Hz)
	// TrimWindow is the half-width, s, of the central difference TrimStill uses for speed.
	TrimWindow = 0.05
)

// ErrNoMotion: TrimStill found no sample faster than the threshold.
var ErrNoMotion = errors.New("demos: no motion above the still threshold")

// CleanOptions configures Clean. Zero fields take the defaults above; a negative
// CutoffHz or StillVel skips that step.
type CleanOptions struct {
	CutoffHz float64 // zero-phase low-pass cutoff, Hz; default 5
	StillVel float64 // still threshold for trimming, rad/s or m/s; default 0.02
	Keep     float64 // still time kept at each end, s; default 0.1
	DT       float64 // output sample period, s; default 0.01
	Cubic    bool    // resample with monotone cubics (Fritsch–Butland) instead of linearly
}

// Clean turns a raw recording into a learning-ready demo: resample onto a uniform grid at
// the recording's own median period, low-pass (LowPass), trim the still ends
// (TrimStill), resample to DT, and shift time to start at 0. d is not modified.
//
// Raw recordings are what is stored (`<name>.csv`); cleaning happens when a skill is
// learned, so better defaults later apply to old demos without re-recording.
func Clean(d *Demo, opts CleanOptions) (*Demo, error) {
	if opts.CutoffHz == 0 {
		opts.CutoffHz = DefaultCutoffHz
	}
	if opts.StillVel == 0 {
		opts.StillVel = DefaultStillVel
	}
	if opts.Keep == 0 {
		opts.Keep = DefaultKeep
	}
	if opts.DT == 0 {
		opts.DT = DefaultDT
	}
	if opts.Keep < 0 || math.IsNaN(opts.Keep) {
		return nil, fmt.Errorf("demos: clean: Keep %v s, want >= 0", opts.Keep)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("demos: clean: %w", err)
	}
	resample := Resample
	if opts.Cubic {
		resample = ResampleCubic
	}
	out, err := resample(d, d.SamplePeriod())
	if err != nil {
		return nil, fmt.Errorf("demos: clean: %w", err)
	}
	if opts.CutoffHz > 0 {
		if out, err = LowPass(out, opts.CutoffHz); err != nil {
			return nil, fmt.Errorf("demos: clean: %w", err)
		}
	}
	if opts.StillVel > 0 {
		if out, err = TrimStill(out, opts.StillVel, opts.Keep); err != nil {
			return nil, fmt.Errorf("demos: clean: %w", err)
		}
	}
	if out, err = resample(out, opts.DT); err != nil {
		return nil, fmt.Errorf("demos: clean: %w", err)
	}
	for k := range out.T { // the grid was T[0]+k·dt: rebase exactly
		out.T[k] = float64(k) * opts.DT
	}
	return out, nil
}

// TrimStill returns the part of d from velThreshold-exceeding motion's first to last
// sample, widened by keep seconds at each end. Speed is the largest over joints of a
// central difference over ±TrimWindow s (robust to noise and irregular timestamps).
// Times are kept as they are. Fails with ErrNoMotion, or ErrTooShort when fewer than
// MinSamples samples remain.
func TrimStill(d *Demo, velThreshold, keep float64) (*Demo, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("demos: trim: %w", err)
	}
	if !(velThreshold > 0) || !(keep >= 0) {
		return nil, fmt.Errorf("demos: trim: threshold %v and keep %v, want > 0 and >= 0", velThreshold, keep)
	}
	speed := Speed(d, TrimWindow)
	first, last := -1, -1
	for i, v := range speed {
		if v > velThreshold {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil, fmt.Errorf("%w (%v rad/s)", ErrNoMotion, velThreshold)
	}
	lo, hi := d.T[first]-keep, d.T[last]+keep
	a, b := first, last
	for a > 0 && d.T[a-1] >= lo {
		a--
	}
	for b < d.Len()-1 && d.T[b+1] <= hi {
		b++
	}
	if b-a+1 < MinSamples {
		return nil, fmt.Errorf("%w: %d samples of motion, want at least %d", ErrTooShort, b-a+1, MinSamples)
	}
	out := &Demo{Joints: append([]string(nil), d.Joints...), T: append([]float64(nil), d.T[a:b+1]...)}
	out.Y = copyRows(d.Y[a : b+1])
	return out, nil
}

// Speed returns, per sample, the largest joint speed (rad/s or m/s) from a central
// difference over the samples within ±halfWindow s (one-sided at the ends).
func Speed(d *Demo, halfWindow float64) []float64 {
	n := d.Len()
	out := make([]float64, n)
	lo, hi := 0, 0
	for i := 0; i < n; i++ {
		for d.T[lo] < d.T[i]-halfWindow {
			lo++
		}
		if hi < i {
			hi = i
		}
		for hi+1 < n && d.T[hi+1] <= d.T[i]+halfWindow {
			hi++
		}
		a, b := lo, hi
		if a == b { // window narrower than the sampling: use the neighbours
			a, b = max(i-1, 0), min(i+1, n-1)
		}
		if a == b {
			continue
		}
		dt := d.T[b] - d.T[a]
		m := 0.0
		for j := range d.Joints {
			m = max(m, math.Abs(d.Y[b][j]-d.Y[a][j])/dt)
		}
		out[i] = m
	}
	return out
}

// LowPass returns d filtered forward and backward by a second-order Butterworth low-pass
// at cutoffHz: zero phase, −6 dB at the cutoff, 4th-order roll-off. The sampling rate is
// taken from the median period, so resample irregular recordings first (Clean does). The
// ends are padded by odd reflection to avoid start-up transients. Fails when cutoffHz is
// not below the Nyquist frequency.
func LowPass(d *Demo, cutoffHz float64) (*Demo, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("demos: low-pass: %w", err)
	}
	fs := 1 / d.SamplePeriod()
	if !(cutoffHz > 0) || cutoffHz >= fs/2 {
		return nil, fmt.Errorf("demos: low-pass: cutoff %v Hz, want in (0, %v) (half the %v Hz sampling rate)", cutoffHz, fs/2, fs)
	}
	k := math.Tan(math.Pi * cutoffHz / fs)
	norm := 1 / (1 + math.Sqrt2*k + k*k)
	bq := biquad{b0: k * k * norm, b1: 2 * k * k * norm, b2: k * k * norm, a1: 2 * (k*k - 1) * norm, a2: (1 - math.Sqrt2*k + k*k) * norm}

	n := d.Len()
	pad := min(n-1, max(9, int(math.Ceil(3*fs/cutoffHz))))
	ext := make([]float64, n+2*pad)
	out := &Demo{Joints: append([]string(nil), d.Joints...), T: append([]float64(nil), d.T...), Y: copyRows(d.Y)}
	for j := range d.Joints {
		// Odd reflection about each end keeps value and slope continuous.
		for i := 0; i < n; i++ {
			ext[pad+i] = d.Y[i][j]
		}
		for i := 1; i <= pad; i++ {
			ext[pad-i] = 2*d.Y[0][j] - d.Y[i][j]
			ext[pad+n-1+i] = 2*d.Y[n-1][j] - d.Y[n-1-i][j]
		}
		bq.run(ext, false)
		bq.run(ext, true)
		for i := 0; i < n; i++ {
			out.Y[i][j] = ext[pad+i]
		}
	}
	return out, nil
}

// biquad is a second-order IIR section (a0 = 1) in transposed direct form II.
type biquad struct{ b0, b1, b2, a1, a2 float64 }

// run filters x in place, backwards when rev, starting from the steady state for the
// first input so that a constant passes unchanged.
func (q biquad) run(x []float64, rev bool) {
	n := len(x)
	at := func(i int) int {
		if rev {
			return n - 1 - i
		}
		return i
	}
	x0 := x[at(0)]
	z2 := (q.b2 - q.a2) * x0
	z1 := (q.b1-q.a1)*x0 + z2
	for i := 0; i < n; i++ {
		k := at(i)
		in := x[k]
		y := q.b0*in + z1
		z1 = q.b1*in - q.a1*y + z2
		z2 = q.b2*in - q.a2*y
		x[k] = y
	}
}

// Resample returns d linearly interpolated at T[0], T[0]+dt, ... up to the last sample
// (times computed as T[0]+k·dt, not accumulated). Exact on piecewise-linear motion; never
// overshoots. Fails on a bad dt or when fewer than MinSamples samples would result.
func Resample(d *Demo, dt float64) (*Demo, error) {
	return resample(d, dt, func(t, y []float64) (func(float64) float64, error) {
		var pl interp.PiecewiseLinear
		if err := pl.Fit(t, y); err != nil {
			return nil, err
		}
		return pl.Predict, nil
	})
}

// ResampleCubic is Resample with monotone piecewise cubics (Fritsch–Butland): smooth
// velocities, no overshoot between samples, exact on linear motion.
func ResampleCubic(d *Demo, dt float64) (*Demo, error) {
	return resample(d, dt, func(t, y []float64) (func(float64) float64, error) {
		var fb interp.FritschButland
		if err := fb.Fit(t, y); err != nil {
			return nil, err
		}
		return fb.Predict, nil
	})
}

func resample(d *Demo, dt float64, fit func(t, y []float64) (func(float64) float64, error)) (*Demo, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("demos: resample: %w", err)
	}
	if !(dt > 0) || math.IsInf(dt, 0) {
		return nil, fmt.Errorf("demos: resample: dt %v s, want > 0", dt)
	}
	t0 := d.T[0]
	steps := math.Floor(d.Duration()/dt + 1e-9)
	if steps+1 < MinSamples {
		return nil, fmt.Errorf("%w: %v s at dt %v s gives %v samples, want at least %d", ErrTooShort, d.Duration(), dt, steps+1, MinSamples)
	}
	if steps > 1e8 {
		return nil, fmt.Errorf("demos: resample: dt %v s gives too many samples", dt)
	}
	m := int(steps) + 1
	out := &Demo{Joints: append([]string(nil), d.Joints...), T: make([]float64, m), Y: make([][]float64, m)}
	flat := make([]float64, m*len(d.Joints))
	for k := range out.T {
		out.T[k] = t0 + float64(k)*dt
		out.Y[k] = flat[k*len(d.Joints) : (k+1)*len(d.Joints)]
	}
	if last := d.T[d.Len()-1]; out.T[m-1] > last { // rounding at the very end
		out.T[m-1] = last
	}
	col := make([]float64, d.Len())
	for j := range d.Joints {
		for i := range col {
			col[i] = d.Y[i][j]
		}
		f, err := fit(d.T, col)
		if err != nil {
			return nil, fmt.Errorf("demos: resample joint %s: %w", d.Joints[j], err)
		}
		for k, t := range out.T {
			out.Y[k][j] = f(t)
		}
	}
	return out, nil
}

// copyRows deep-copies rows into one backing array.
func copyRows(rows [][]float64) [][]float64 {
	if len(rows) == 0 {
		return nil
	}
	w := len(rows[0])
	flat := make([]float64, len(rows)*w)
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = flat[i*w : (i+1)*w : (i+1)*w]
		copy(out[i], r)
	}
	return out
}
