package dmp

import "math"

// basisCut is the exponent beyond which a basis function is treated as zero
// (exp(-30) ≈ 1e-13 of its peak).
const basisCut = 30

// makeBasis returns n centres spaced evenly in time over the phase decay exp(-alphaX t/τ),
// t ∈ [0, τ], and widths 1/Δc² from the spacing to the next centre.
func makeBasis(n int, alphaX float64) (centers, widths []float64) {
	centers = make([]float64, n)
	widths = make([]float64, n)
	for i := range centers {
		centers[i] = math.Exp(-alphaX * float64(i) / float64(n-1))
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
