package dmp

import "math"

// basisCut is the exponent beyond which a basis function is treated as zero
// (exp(-30) ≈ 1e-13 of its peak).
const basisCut = 30

// Centre placement (see the package doc): the density of centres in normalised time is
// placeFloor·mean(ρ) + (1−placeFloor)·ρ, with ρ the local RMS, over a window one
// uniform spacing wide, of the demos' accelerations (all joints, in units of the widest
// joint span), raised to placePower.
const (
	placePower = 0.5
	placeFloor = 0.15
	placeGrid  = 2000 // samples of the density over normalised time
)

// For systems that stop at τ (System.endConstrained): the braking from the demo's end
// speed is counted over the last brakeWindow of τ (measured on the real demos from
// 1.4e-4 to 2e-2: 0.005 gave the lowest RMSE over the four data sets, see the package
// doc), with a weight Fit chooses (brakeWeights).
const brakeWindow = 0.005

// placeTimes returns n normalised times s_0 = 0 < ... < s_n−1 = 1 at which to put the
// centres: evenly spaced without demos, denser where the demos accelerate harder (and,
// with brake > 0, where a demo that ends moving must brake before τ, weighted brake).
func placeTimes(n int, preps []prepared, brake float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i) / float64(n-1)
	}
	if n < 3 || len(preps) == 0 {
		return s
	}
	const m = placeGrid
	e := make([]float64, m) // Σ over demos and joints of (τ² acc / span)²
	for _, p := range preps {
		np := len(p.u.y)
		var scale float64
		for _, sp := range p.span {
			scale = max(scale, sp)
		}
		if !(scale > 0) {
			continue
		}
		c := p.tau * p.tau / scale
		for k := range e {
			i := int(math.Round(float64(k) / float64(m-1) * float64(np-1)))
			for _, a := range p.acc[i] {
				e[k] += a * c * a * c
			}
		}
	}
	if brake > 0 {
		// A plan that must stop at τ brakes from the demo's end speed v within the last
		// brakeWindow of τ: count that deceleration, v/(brakeWindow·τ), as demo
		// acceleration there, weighted brake, so centres crowd where it happens.
		for _, p := range preps {
			var scale float64
			for _, sp := range p.span {
				scale = max(scale, sp)
			}
			if !(scale > 0) {
				continue
			}
			var a2 float64
			for _, v := range p.vel[len(p.vel)-1] {
				a := p.tau * v / (brakeWindow * scale)
				a2 += a * a
			}
			for k := range e {
				if float64(k) > (1-brakeWindow)*m {
					e[k] += brake * a2
				}
			}
		}
	}
	w := max(m/(n-1), 1)
	cs := make([]float64, m+1)
	for k, v := range e {
		cs[k+1] = cs[k] + v
	}
	rho := make([]float64, m)
	var mean float64
	for k := range rho {
		a, b := max(k-w/2, 0), min(k+w/2+1, m)
		rho[k] = math.Pow((cs[b]-cs[a])/float64(b-a), placePower/2)
		mean += rho[k] / m
	}
	if !(mean > 0) || math.IsInf(mean, 0) {
		return s
	}
	cum := make([]float64, m)
	for k := 1; k < m; k++ {
		cum[k] = cum[k-1] + placeFloor*mean + (1-placeFloor)*(rho[k]+rho[k-1])/2
	}
	tot, k := cum[m-1], 0
	for i := 1; i < n-1; i++ {
		target := tot * float64(i) / float64(n-1)
		for k < m-2 && cum[k+1] < target {
			k++
		}
		f := (target - cum[k]) / (cum[k+1] - cum[k])
		s[i] = (float64(k) + f) / float64(m-1)
	}
	return s
}

// makeBasis returns centres at normalised times s (increasing from 0 to 1) over the
// phase decay exp(−alphaX t/τ), and widths 1/Δc² from the spacing to the next centre.
func makeBasis(s []float64, alphaX float64) (centers, widths []float64) {
	n := len(s)
	centers = make([]float64, n)
	widths = make([]float64, n)
	for i := range centers {
		centers[i] = math.Exp(-alphaX * s[i])
	}
	for i := range widths {
		var dc float64
		if i < n-1 {
			dc = centers[i] - centers[i+1]
		} else {
			dc = centers[i-1] - centers[i]
		}
		widths[i] = 1 / (dc * dc)
	}
	return centers, widths
}

// minSpacing is the shortest time between consecutive centres, as a fraction of τ (1
// for a single centre).
func minSpacing(centers []float64, alphaX float64) float64 {
	m := 1.0
	for i := 1; i < len(centers); i++ {
		m = min(m, math.Log(centers[i-1]/centers[i])/alphaX)
	}
	return m
}

// activations writes the normalised activations ψ_i(x)/Σψ of the centres that matter at
// x into psi[lo:hi] and returns lo, hi. centers must be decreasing; psi has len(centers).
func activations(x float64, centers, widths, psi []float64) (lo, hi int) {
	n := len(centers)
	// First index with centers[i] <= x (centres decrease).
	a, b := 0, n
	for a < b {
		m := int(uint(a+b) >> 1)
		if centers[m] > x {
			a = m + 1
		} else {
			b = m
		}
	}
	near := a
	if near == n || (near > 0 && centers[near-1]-x < x-centers[near]) {
		near--
	}
	lo, hi = near, near+1
	for lo > 0 {
		d := x - centers[lo-1]
		if widths[lo-1]*d*d > basisCut {
			break
		}
		lo--
	}
	for hi < n {
		d := x - centers[hi]
		if widths[hi]*d*d > basisCut {
			break
		}
		hi++
	}
	var sum float64
	for i := lo; i < hi; i++ {
		d := x - centers[i]
		p := math.Exp(-widths[i] * d * d)
		psi[i] = p
		sum += p
	}
	if !(sum > 1e-300) { // far from every centre (or NaN x): the nearest one alone
		for i := lo; i < hi; i++ {
			psi[i] = 0
		}
		psi[near] = 1
		return near, near + 1
	}
	inv := 1 / sum
	for i := lo; i < hi; i++ {
		psi[i] *= inv
	}
	return lo, hi
}
