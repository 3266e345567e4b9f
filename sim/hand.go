package sim

import (
	"fmt"
	"math"
	"sort"
)

// Hand is a scripted operator: it drags the arm along a joint trajectory through a stiff
// spring-damper per joint, as a person does during kinesthetic teaching with torque off.
// Between samples the hand moves linearly; after the last sample it stays there.
type Hand struct {
	times []float64
	pos   [][]float64
	// Stiffness (N·m/rad or N/m) and Damping (N·m·s/rad or N·s/m) per joint; nil takes the
	// default: stiffness effort/0.005 rad, critically damped on the joint's inertia.
	Stiffness, Damping []float64
}

// NewHand returns a hand following pos[k] (one value per joint, rad or m) at times[k]
// (s, relative to when Guide starts it, strictly increasing, first ≥ 0). It copies its
// inputs and fails on empty, ragged or non-finite data.
func NewHand(times []float64, pos [][]float64) (*Hand, error) {
	if len(times) == 0 || len(times) != len(pos) {
		return nil, fmt.Errorf("sim: hand: %d times for %d samples", len(times), len(pos))
	}
	h := &Hand{times: append([]float64(nil), times...), pos: make([][]float64, len(pos))}
	n := len(pos[0])
	for k := range pos {
		if len(pos[k]) != n || n == 0 {
			return nil, fmt.Errorf("sim: hand: sample %d has %d joints, want %d", k, len(pos[k]), n)
		}
		if math.IsNaN(times[k]) || math.IsInf(times[k], 0) || times[k] < 0 || (k > 0 && times[k] <= times[k-1]) {
			return nil, fmt.Errorf("sim: hand: time %d (%g s) must be finite, ≥ 0 and increasing", k, times[k])
		}
		for j, v := range pos[k] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("sim: hand: sample %d joint %d is not finite", k, j)
			}
		}
		h.pos[k] = append([]float64(nil), pos[k]...)
	}
	return h, nil
}

// DOF returns the number of joints the hand drives.
func (h *Hand) DOF() int { return len(h.pos[0]) }

// Duration returns the time of the last sample, s.
func (h *Hand) Duration() float64 { return h.times[len(h.times)-1] }

// sample writes the hand's position and velocity at t seconds into q and qd.
func (h *Hand) sample(t float64, q, qd []float64) {
	k := sort.SearchFloat64s(h.times, t) // first index with times[k] >= t
	if k == 0 {
		copy(q, h.pos[0])
		clear(qd)
		return
	}
	if k >= len(h.times) {
		copy(q, h.pos[len(h.pos)-1])
		clear(qd)
		return
	}
	t0, t1 := h.times[k-1], h.times[k]
	a := (t - t0) / (t1 - t0)
	for j := range q {
		p0, p1 := h.pos[k-1][j], h.pos[k][j]
		q[j] = p0 + a*(p1-p0)
		qd[j] = (p1 - p0) / (t1 - t0)
	}
}
