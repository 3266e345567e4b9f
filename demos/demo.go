// Package demos captures, cleans and stores demonstrations: joint trajectories sampled
// from an arm, as CSV files with header `t,<joint names...>` (t in seconds, positions in
// rad or m) and a small JSON sidecar.
package demos

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

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

// SamplePeriod returns the median time between consecutive samples, s (0 with fewer
// than two samples). The median shrugs off the odd dropped or doubled sample.
func (d *Demo) SamplePeriod() float64 {
	if len(d.T) < 2 {
		return 0
	}
	dts := make([]float64, len(d.T)-1)
	for i := range dts {
		dts[i] = d.T[i+1] - d.T[i]
	}
	sort.Float64s(dts)
	n := len(dts)
	if n%2 == 1 {
		return dts[n/2]
	}
	return (dts[n/2-1] + dts[n/2]) / 2
}

// Validate checks the shape and values: at least one joint, unique non-empty names,
// MinSamples or more samples, rows as wide as Joints, finite values, strictly increasing
// time. The error (prefix "demos: ") names the first problem.
func (d *Demo) Validate() error {
	if len(d.Joints) == 0 {
		return errors.New("demos: no joints")
	}
	seen := make(map[string]bool, len(d.Joints))
	for _, j := range d.Joints {
		if j == "" || j == "t" || seen[j] {
			return fmt.Errorf("demos: bad or duplicate joint name %q", j)
		}
		seen[j] = true
	}
	if len(d.T) < MinSamples {
		return fmt.Errorf("demos: %d samples, want at least %d", len(d.T), MinSamples)
	}
	if len(d.Y) != len(d.T) {
		return fmt.Errorf("demos: %d times but %d rows", len(d.T), len(d.Y))
	}
	for i, t := range d.T {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return fmt.Errorf("demos: sample %d: time %v is not finite", i, t)
		}
		if i > 0 && !(t > d.T[i-1]) {
			return fmt.Errorf("demos: sample %d: time %v s is not after %v s", i, t, d.T[i-1])
		}
		if len(d.Y[i]) != len(d.Joints) {
			return fmt.Errorf("demos: sample %d has %d values, want %d", i, len(d.Y[i]), len(d.Joints))
		}
		for j, v := range d.Y[i] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("demos: sample %d, joint %s: %v is not finite", i, d.Joints[j], v)
			}
		}
	}
	return nil
}
