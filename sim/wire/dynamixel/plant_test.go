package dxlsim

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// lagPlant is an ideal plant: each joint with torque on follows its goal with a
// first-order lag of time constant tau; a limp joint stays where it is.
type lagPlant struct {
	mu        sync.Mutex
	tau       time.Duration
	pos, goal []float64
	on        []bool
	last      time.Time
	commands  int
}

func newLagPlant(start []float64, tau time.Duration) *lagPlant {
	n := len(start)
	p := &lagPlant{tau: tau, pos: append([]float64(nil), start...), goal: append([]float64(nil), start...), on: make([]bool, n), last: time.Now()}
	for i := range p.on {
		p.on[i] = true
	}
	return p
}

func (p *lagPlant) advance() {
	now := time.Now()
	k := 1 - math.Exp(-float64(now.Sub(p.last))/float64(p.tau))
	p.last = now
	for i := range p.pos {
		if p.on[i] {
			p.pos[i] += (p.goal[i] - p.pos[i]) * k
		}
	}
}

func (p *lagPlant) Read(_ context.Context, s *joint.State) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance()
	s.Resize(len(p.pos))
	copy(s.Pos, p.pos)
	for i := range p.pos {
		s.Vel[i] = 0
		if p.on[i] {
			s.Vel[i] = (p.goal[i] - p.pos[i]) / p.tau.Seconds()
		}
	}
	return nil
}

func (p *lagPlant) Command(_ context.Context, c joint.Command) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance()
	copy(p.goal, c.Pos)
	p.commands++
	return nil
}

func (p *lagPlant) SetJointTorque(i int, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance()
	p.on[i] = on
	return nil
}

func (p *lagPlant) snapshot() (pos, goal []float64, on []bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance()
	return append([]float64(nil), p.pos...), append([]float64(nil), p.goal...), append([]bool(nil), p.on...)
}
