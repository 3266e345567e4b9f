// Package simarm is an in-process simulated arm implementing drivers.Arm on top of the
// sim package. The simulation integrates lazily up to the injected clock's Now whenever
// the arm is read or commanded: with clock.Fake it is deterministic and faster than real
// time, with the real clock it stands in for hardware.
package simarm

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
)

// Config configures New. Zero fields take the stated defaults.
type Config struct {
	Model       string          // "so101" (default), "ur5", "panda", or a path to a .urdf file
	Clock       clock.Clock     // default the real clock
	Seed        int64           // noise seed
	PhysicsStep time.Duration   // default 1 ms
	Servo       sim.ServoParams // default sim.DefaultServo for the model
	Noise       sim.Noise       // default none
	Initial     []float64       // initial positions (rad or m); default 0 clamped into the limits
}

// Stats are the simulator's counters plus the true state, for tests.
type Stats struct {
	sim.Stats
	Truth []float64 // true, noiseless positions, rad or m
}

// Arm is a simulated arm. Safe for concurrent use.
type Arm struct {
	mu     sync.Mutex
	s      *sim.Sim
	clk    clock.Clock
	joints []joint.Joint
	closed bool
}

// New builds a simulated arm; it fails naming the bad field or the URDF problem.
func New(cfg Config) (*Arm, error) {
	name := cfg.Model
	if name == "" {
		name = "so101"
	}
	var m *sim.Model
	var err error
	switch {
	case name == "so101" || name == "ur5" || name == "panda":
		m, err = sim.LoadBuiltin(name)
	case strings.HasSuffix(strings.ToLower(name), ".urdf"):
		m, err = sim.LoadURDF(name)
	default:
		return nil, fmt.Errorf("simarm: Model %q: want so101, ur5, panda or a .urdf path", name)
	}
	if err != nil {
		return nil, fmt.Errorf("simarm: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewReal()
	}
	s, err := sim.New(m, sim.Config{Step: cfg.PhysicsStep, Preset: name, Servo: cfg.Servo, Noise: cfg.Noise,
		Seed: cfg.Seed, Start: cfg.Clock.Now(), Initial: cfg.Initial})
	if err != nil {
		return nil, fmt.Errorf("simarm: %w", err)
	}
	a := &Arm{s: s, clk: cfg.Clock}
	// MaxAcc: the servo's effort over the zero-configuration inertia plus armature.
	sol := sim.NewSolver(m)
	n := m.DOF()
	q := make([]float64, n)
	for i, j := range m.Joints() {
		q[i] = min(max(0, j.Min), j.Max)
	}
	mm := make([]float64, n*n)
	_ = sol.MassMatrix(q, mm)
	sp := s.Servo()
	for i, j := range m.Joints() {
		a.joints = append(a.joints, joint.Joint{Name: j.Name, Type: j.Type, Limits: joint.Limits{
			Min: j.Min, Max: j.Max, MaxVel: sp.Joints[i].MaxVel,
			MaxAcc: sp.Joints[i].MaxTorque / (mm[i*n+i] + sp.Joints[i].Armature),
		}})
	}
	return a, nil
}

// lock takes the mutex, fails with drivers.ErrClosed after Close, and brings the
// simulation up to the clock.
func (a *Arm) lock() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return drivers.ErrClosed
	}
	a.s.StepTo(a.clk.Now())
	return nil
}

// Joints returns the joints with limits; MaxAcc is an estimate (effort over the
// zero-configuration inertia).
func (a *Arm) Joints() []joint.Joint { return append([]joint.Joint(nil), a.joints...) }

// Read fills s with the measured (noisy) state; it allocates nothing when s already has
// one slot per joint. After Close it returns drivers.ErrClosed.
func (a *Arm) Read(ctx context.Context, s *joint.State) error {
	if err := a.lock(); err != nil {
		return err
	}
	a.s.Read(s)
	a.mu.Unlock()
	return nil
}

// Command sends a target (positions, optional velocity feed-forward); it fails on wrong
// lengths or non-finite values. Positions outside the limits are clamped (and counted).
func (a *Arm) Command(ctx context.Context, c joint.Command) error {
	if err := a.lock(); err != nil {
		return err
	}
	err := a.s.Command(c.Pos, c.Vel)
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("simarm: %w", err)
	}
	return nil
}

// Close stops the arm; later calls return drivers.ErrClosed. Closing twice is fine.
func (a *Arm) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	return nil
}

// SetTorque switches all servos on (holding the current position) or off (limp).
func (a *Arm) SetTorque(ctx context.Context, on bool) error {
	if err := a.lock(); err != nil {
		return err
	}
	a.s.SetTorque(on)
	a.mu.Unlock()
	return nil
}

// SetJointTorque switches servo i on or off; a bad index is an error.
func (a *Arm) SetJointTorque(i int, on bool) error {
	if err := a.lock(); err != nil {
		return err
	}
	defer a.mu.Unlock()
	if err := a.s.SetJointTorque(i, on); err != nil {
		return fmt.Errorf("simarm: %w", err)
	}
	return nil
}

// SetWatchdog makes the servos hold their position when no command arrives within
// timeout (0 disables).
func (a *Arm) SetWatchdog(ctx context.Context, timeout time.Duration) error {
	if err := a.lock(); err != nil {
		return err
	}
	defer a.mu.Unlock()
	if err := a.s.SetWatchdog(timeout); err != nil {
		return fmt.Errorf("simarm: %w", err)
	}
	return nil
}

// Perturb schedules p; p.Start is on the arm's clock (use p.Resolve(duration, a.Now())).
func (a *Arm) Perturb(p sim.Perturbation) error {
	if err := a.lock(); err != nil {
		return err
	}
	defer a.mu.Unlock()
	if err := a.s.Perturb(p); err != nil {
		return fmt.Errorf("simarm: %w", err)
	}
	return nil
}

// Guide starts the scripted hand h now (nil removes it).
func (a *Arm) Guide(h *sim.Hand) error {
	if err := a.lock(); err != nil {
		return err
	}
	defer a.mu.Unlock()
	if err := a.s.Guide(h); err != nil {
		return fmt.Errorf("simarm: %w", err)
	}
	return nil
}

// Now returns the arm's clock time.
func (a *Arm) Now() time.Duration { return a.clk.Now() }

// EndEffector returns the true end-effector pose (position m, rotation) in the base frame.
func (a *Arm) EndEffector() (sim.Pose, error) {
	if err := a.lock(); err != nil {
		return sim.Pose{}, err
	}
	defer a.mu.Unlock()
	return a.s.EndEffector(), nil
}

// Stats returns the simulator counters and the true positions.
func (a *Arm) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.s.StepTo(a.clk.Now())
	}
	st := Stats{Stats: a.s.Stats(), Truth: make([]float64, len(a.joints))}
	a.s.Truth(st.Truth, nil)
	return st
}

var (
	_ drivers.Arm       = (*Arm)(nil)
	_ drivers.Compliant = (*Arm)(nil)
	_ drivers.Watchdog  = (*Arm)(nil)
)
