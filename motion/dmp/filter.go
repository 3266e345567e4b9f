package dmp

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/interp"
	"gonum.org/v1/gonum/mat"
)

// uniform is a demo on a uniform time grid: t_i = i·dt, Y[i][j].
type uniform struct {
	dt float64
	y  [][]float64
}

// toUniform returns d's positions on a uniform grid of the same sample count. Timestamps
// within 0.1% of uniform are taken as uniform; others are resampled with Akima splines.
func toUniform(d Demo) (uniform, error) {
	n := len(d.T)
	dt := (d.T[n-1] - d.T[0]) / float64(n-1)
	regular := true
	for i := 1; i < n; i++ {
		if math.Abs(d.T[i]-d.T[i-1]-dt) > 1e-3*dt {
			regular = false
			break
		}
	}
	if regular {
		return uniform{dt: dt, y: d.Y}, nil
	}
	nj := len(d.Y[0])
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, nj)
	}
	col := make([]float64, n)
	for j := 0; j < nj; j++ {
		for i := range col {
			col[i] = d.Y[i][j]
		}
		var s interp.AkimaSpline
		if err := s.Fit(d.T, col); err != nil {
			return uniform{}, fmt.Errorf("%w: joint %d: resampling: %v", ErrInvalidDemo, j, err)
		}
		for i := range out {
			t := d.T[0] + float64(i)*dt
			if i == n-1 {
				t = d.T[n-1]
			}
			out[i][j] = s.Predict(t)
		}
	}
	return uniform{dt: dt, y: out}, nil
}

// savgol holds Savitzky–Golay coefficients for a window of w samples and polynomial
// order p: coef[d][k][m] weighs sample m of the window for derivative d (0..2) at
// window position k, in sample units.
type savgol struct {
	w    int
	coef [3][][]float64
}

func newSavgol(w, p int) (*savgol, error) {
	sg := &savgol{w: w}
	half := float64(w-1) / 2
	v := mat.NewDense(w, p+1, nil)
	for k := 0; k < w; k++ {
		for m := 0; m < w; m++ {
			u := (float64(m) - float64(k)) / half
			e := 1.0
			for q := 0; q <= p; q++ {
				v.Set(m, q, e)
				e *= u
			}
		}
		var g mat.Dense // (p+1) x w = (VᵀV)⁻¹Vᵀ
		if err := g.Solve(v, eye(w)); err != nil {
			return nil, fmt.Errorf("dmp: savitzky-golay window %d order %d: %w", w, p, err)
		}
		for d := 0; d < 3; d++ {
			row := make([]float64, w)
			if d <= p {
				fact := []float64{1, 1, 2}[d]
				scale := fact / math.Pow(half, float64(d))
				for m := range row {
					row[m] = g.At(d, m) * scale
				}
			}
			sg.coef[d] = append(sg.coef[d], row)
		}
	}
	return sg, nil
}

func eye(n int) *mat.Dense {
	e := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		e.Set(i, i, 1)
	}
	return e
}

// derivatives estimates velocity and acceleration of every joint of u ([sample][joint]).
func (sg *savgol) derivatives(u uniform) (vel, acc [][]float64) {
	n, nj := len(u.y), len(u.y[0])
	vel = make([][]float64, n)
	acc = make([][]float64, n)
	flat := make([]float64, 2*n*nj)
	for i := range vel {
		vel[i], acc[i] = flat[2*i*nj:(2*i+1)*nj], flat[(2*i+1)*nj:(2*i+2)*nj]
	}
	col := make([]float64, n)
	half := sg.w / 2
	iv, ia := 1/u.dt, 1/(u.dt*u.dt)
	for j := 0; j < nj; j++ {
		for i, row := range u.y {
			col[i] = row[j]
		}
		for i := 0; i < n; i++ {
			a := min(max(i-half, 0), n-sg.w)
			c1, c2 := sg.coef[1][i-a], sg.coef[2][i-a]
			win := col[a : a+sg.w]
			var v, ac float64
			for m, y := range win {
				v += c1[m] * y
				ac += c2[m] * y
			}
			vel[i][j], acc[i][j] = v*iv, ac*ia
		}
	}
	return vel, acc
}
