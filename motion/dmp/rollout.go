package dmp

import (
	"fmt"
	"math"
)

// maxRolloutSamples bounds the memory a Rollout may allocate.
const maxRolloutSamples = 10_000_000

// Rollout integrates the DMP offline from start to goal over duration seconds with
// step dt (nil start/goal: the demonstrated ones; duration 0: Tau). A nil start also
// starts with the demonstrated velocity (scaled by Tau/duration), so Rollout(nil, nil, 0,
// dt) reproduces the demo; a given start starts at rest (see RolloutFrom). It returns
// round(duration/dt)+1 samples from t=0; errors wrap ErrInvalidDMP or ErrInvalidArgument.
func (d *DMP) Rollout(start, goal []float64, duration, dt float64) (*Trajectory, error) {
	var startVel []float64
	if start == nil && d != nil {
		start = d.Start
		if len(d.StartVel) > 0 {
			dur := duration
			if dur == 0 {
				dur = d.Tau
			}
			if finite(dur) && dur > 0 {
				startVel = make([]float64, len(d.StartVel))
				for j, v := range d.StartVel {
					startVel[j] = v * d.Tau / dur
				}
			}
		}
	}
	return d.RolloutFrom(start, startVel, goal, duration, dt)
}

// RolloutFrom is Rollout with an explicit start (required) and start velocity (rad/s;
// nil means zero), as NewStepper takes them.
func (d *DMP) RolloutFrom(start, startVel, goal []float64, duration, dt float64) (*Trajectory, error) {
	if !finite(dt) || dt <= 0 {
		return nil, fmt.Errorf("%w: dt %v s, want > 0", ErrInvalidArgument, dt)
	}
	s, err := d.NewStepper(start, startVel, goal, duration)
	if err != nil {
		return nil, err
	}
	steps := math.Round(s.duration / dt)
	if steps+1 > maxRolloutSamples {
		return nil, fmt.Errorf("%w: %v samples (duration %v s / dt %v s), max %d",
			ErrInvalidArgument, steps+1, s.duration, dt, maxRolloutSamples)
	}
	n, nj := int(steps)+1, s.nj
	tr := &Trajectory{T: make([]float64, n), Pos: make([][]float64, n),
		Vel: make([][]float64, n), Acc: make([][]float64, n)}
	flat := make([]float64, 3*n*nj)
	for i := 0; i < n; i++ {
		if i > 0 {
			s.Step(dt, nil, 1)
		}
		tr.T[i] = float64(i) * dt
		p, v, a := flat[3*i*nj:(3*i+1)*nj], flat[(3*i+1)*nj:(3*i+2)*nj], flat[(3*i+2)*nj:(3*i+3)*nj]
		copy(p, s.Pos())
		copy(v, s.Vel())
		copy(a, s.Acc())
		tr.Pos[i], tr.Vel[i], tr.Acc[i] = p, v, a
	}
	return tr, nil
}
