// Package demos captures, cleans and stores demonstrations: joint trajectories sampled
// from an arm, as CSV files with header `t,<joint names...>` (t in seconds, positions in
// rad or m) and a small JSON sidecar.
package demos

// Demo is one demonstration: T[i] in seconds (strictly increasing), Y[i][j] the position
// of joint Joints[j] at sample i (rad or m).
type Demo struct {
	Joints []string
	T      []float64
	Y      [][]float64
}

// Len returns the number of samples.
func (d *Demo) Len() int { return len(d.T) }

// Duration returns the time from the first to the last sample, s (0 when empty).
func (d *Demo) Duration() float64 {
	if len(d.T) == 0 {
		return 0
	}
	return d.T[len(d.T)-1] - d.T[0]
}
