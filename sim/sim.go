package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// ringCap bounds the commands in flight through the latency line; older ones are dropped.
const ringCap = 256

// Config configures a Sim. Zero fields take the stated defaults.
type Config struct {
	Step    time.Duration // physics step; default 1 ms
	Preset  string        // model name for DefaultServo ("so101", "ur5", "panda", or "")
	Servo   ServoParams   // default DefaultServo(model, Preset)
	Noise   Noise         // default none
	Seed    int64         // seeds the noise; same seed, same commands: same run
	Start   time.Duration // simulator time at creation
	Initial []float64     // initial positions, rad or m; default 0 clamped into the limits
}

// Stats counts what happened in a Sim, for tests.
type Stats struct {
	Steps         uint64 // physics steps taken
	Commands      uint64 // commands accepted
	OutOfLimits   uint64 // commands with a position outside the joint limits (clamped)
	LimitHits     uint64 // steps in which some joint hit a hard stop
	WatchdogTrips uint64 // times the watchdog stopped the arm
	Dropped       uint64 // commands lost because the latency line was full
}

type activePert struct {
	p     Perturbation
	joint int
	begun bool
	hold  []float64
}

// Sim is a simulated arm: rigid-body dynamics, servos, friction, hard stops, latency,
// noise, perturbations and a scripted hand, integrated by semi-implicit Euler at a fixed
// step. It moves only when stepped (Step, StepTo, Advance). Not safe for concurrent use;
// drivers/simarm wraps it with a mutex and a clock.
type Sim struct {
	m     *Model
	sol   *Solver
	n     int
	step  time.Duration
	dt    float64
	now   time.Duration
	servo ServoParams
	noise Noise
	rng   *rand.Rand

	q, qd, qdd      []float64
	tauAct, u, rhs  []float64
	bias, grav      []float64
	ref, refVel     []float64
	torque          []bool
	arm             []float64
	anyGFF          bool
	ringAt          [ringCap]time.Duration
	ringPos, ringV  []float64
	ringHasV        [ringCap]bool
	ringHead, ringN int

	hand         *Hand
	handStart    time.Duration
	handQ, handV []float64
	handK, handD []float64

	perts    []activePert
	held     []bool
	heldQ    []float64
	ext      []float64
	payload  float64
	watchdog time.Duration
	lastCmd  time.Duration
	tripped  bool
	stats    Stats
}

// New returns a simulator of m at rest at cfg.Initial with torque on, holding that pose.
// It fails naming the bad field of cfg.
func New(m *Model, cfg Config) (*Sim, error) {
	n := m.DOF()
	if n == 0 {
		return nil, fmt.Errorf("sim: model %q has no actuated joints", m.name)
	}
	if cfg.Step < 0 {
		return nil, fmt.Errorf("sim: Step %v is negative", cfg.Step)
	}
	if cfg.Step == 0 {
		cfg.Step = time.Millisecond
	}
	if cfg.Servo.Joints == nil {
		cfg.Servo = DefaultServo(m, cfg.Preset)
	}
	if err := cfg.Servo.validate(n); err != nil {
		return nil, err
	}
	if err := cfg.Noise.validate(); err != nil {
		return nil, err
	}
	f := func() []float64 { return make([]float64, n) }
	s := &Sim{
		m: m, sol: NewSolver(m), n: n, step: cfg.Step, dt: cfg.Step.Seconds(), now: cfg.Start,
		servo: cfg.Servo, noise: cfg.Noise,
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		q:   f(), qd: f(), qdd: f(), tauAct: f(), u: f(), rhs: f(), bias: f(), grav: f(),
		ref: f(), refVel: f(), torque: make([]bool, n), arm: f(),
		ringPos: make([]float64, ringCap*n), ringV: make([]float64, ringCap*n),
		handQ: f(), handV: f(), handK: f(), handD: f(),
		held: make([]bool, n), heldQ: f(), ext: f(), lastCmd: cfg.Start,
		perts: make([]activePert, 0, 16),
	}
	s.servo.Joints = append([]JointServo(nil), cfg.Servo.Joints...)
	for i, j := range m.joints {
		s.arm[i] = s.servo.Joints[i].Armature
		s.torque[i] = true
		s.q[i] = clampFinite(0, j.Min, j.Max)
		if s.servo.Joints[i].GravityFF != 0 {
			s.anyGFF = true
		}
	}
	if cfg.Initial != nil {
		if len(cfg.Initial) != n {
			return nil, fmt.Errorf("sim: Initial has %d positions, model has %d joints", len(cfg.Initial), n)
		}
		for i, v := range cfg.Initial {
			j := m.joints[i]
			if math.IsNaN(v) || v < j.Min || v > j.Max {
				return nil, fmt.Errorf("sim: Initial[%d] = %g outside [%g, %g] of joint %q", i, v, j.Min, j.Max, j.Name)
			}
			s.q[i] = v
		}
	}
	copy(s.ref, s.q)
	// Start in equilibrium: the actuators already carry gravity.
	s.sol.kin(s.q)
	s.sol.rnea(s.sol.zero, s.sol.zero, 1, s.tauAct)
	for i := range s.tauAct {
		s.tauAct[i] = clampFinite(s.tauAct[i], -s.servo.Joints[i].MaxTorque, s.servo.Joints[i].MaxTorque)
	}
	return s, nil
}

// Model returns the simulated model.
func (s *Sim) Model() *Model { return s.m }

// Servo returns a copy of the servo parameters in use.
func (s *Sim) Servo() ServoParams {
	p := s.servo
	p.Joints = append([]JointServo(nil), p.Joints...)
	return p
}

// Now returns the simulator time (the time of the last step).
func (s *Sim) Now() time.Duration { return s.now }

// StepSize returns the physics step.
func (s *Sim) StepSize() time.Duration { return s.step }

// StepTo integrates whole physics steps while the next one ends at or before t; earlier t
// does nothing.
func (s *Sim) StepTo(t time.Duration) {
	for s.now+s.step <= t {
		s.Step()
	}
}

// Advance integrates for d (rounded down to whole steps).
func (s *Sim) Advance(d time.Duration) { s.StepTo(s.now + d) }

// Command sets a new target: pos (rad or m) per joint, vel (rad/s or m/s) optional
// feed-forward (nil or empty: none). It reaches the servos after the latency. Positions
// outside the limits are clamped and counted in Stats.OutOfLimits. Wrong lengths or
// non-finite values are an error and change nothing.
func (s *Sim) Command(pos, vel []float64) error {
	if len(pos) != s.n {
		return fmt.Errorf("sim: command has %d positions, arm has %d joints", len(pos), s.n)
	}
	if len(vel) != 0 && len(vel) != s.n {
		return fmt.Errorf("sim: command has %d velocities, arm has %d joints", len(vel), s.n)
	}
	for i, v := range pos {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sim: command position %d (%s) is %g", i, s.m.joints[i].Name, v)
		}
	}
	for i, v := range vel {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sim: command velocity %d (%s) is %g", i, s.m.joints[i].Name, v)
		}
	}
	if s.ringN == ringCap {
		s.ringHead = (s.ringHead + 1) % ringCap
		s.ringN--
		s.stats.Dropped++
	}
	k := (s.ringHead + s.ringN) % ringCap
	s.ringN++
	s.ringAt[k] = s.now + s.servo.Latency
	out := false
	for i, v := range pos {
		j := &s.m.joints[i]
		if v < j.Min || v > j.Max {
			out = true
			v = clampFinite(v, j.Min, j.Max)
		}
		s.ringPos[k*s.n+i] = v
	}
	s.ringHasV[k] = len(vel) != 0
	copy(s.ringV[k*s.n:(k+1)*s.n], vel)
	if out {
		s.stats.OutOfLimits++
	}
	s.stats.Commands++
	s.lastCmd, s.tripped = s.now, false
	return nil
}

// Read fills st with the measured state: noisy positions (rad or m), velocities and
// actuator efforts (N·m or N), and the simulator time. It resizes st's slices if needed
// and allocates nothing when they already fit.
func (s *Sim) Read(st *joint.State) {
	if len(st.Pos) != s.n || len(st.Vel) != s.n || len(st.Eff) != s.n {
		st.Resize(s.n)
	}
	st.Time = s.now
	nz := &s.noise
	for i := 0; i < s.n; i++ {
		p, v, e := s.q[i], s.qd[i], s.tauAct[i]
		if nz.Pos > 0 {
			p += nz.Pos * s.rng.NormFloat64()
		}
		if nz.Quantum > 0 {
			p = math.Round(p/nz.Quantum) * nz.Quantum
		}
		if nz.Vel > 0 {
			v += nz.Vel * s.rng.NormFloat64()
		}
		if nz.Eff > 0 {
			e += nz.Eff * s.rng.NormFloat64()
		}
		st.Pos[i], st.Vel[i], st.Eff[i] = p, v, e
	}
}

// Truth copies the true, noiseless positions and velocities into q and qd (either may
// be nil); slices shorter than DOF are filled as far as they go.
func (s *Sim) Truth(q, qd []float64) {
	copy(q, s.q)
	copy(qd, s.qd)
}

// EndEffector returns the true end-effector pose.
func (s *Sim) EndEffector() Pose {
	p, _ := s.sol.EndEffector(s.q)
	return p
}

// SetTorque switches every servo on (holding the current position) or off (limp).
func (s *Sim) SetTorque(on bool) {
	for i := range s.torque {
		_ = s.SetJointTorque(i, on)
	}
}

// SetJointTorque switches servo i on (holding its current position) or off (limp).
// An index out of range is an error.
func (s *Sim) SetJointTorque(i int, on bool) error {
	if i < 0 || i >= s.n {
		return fmt.Errorf("sim: joint index %d out of range [0,%d)", i, s.n)
	}
	if on && !s.torque[i] {
		s.ref[i], s.refVel[i] = s.q[i], 0
		for k := 0; k < s.ringN; k++ { // commands in flight would yank the joint away
			s.ringPos[((s.ringHead+k)%ringCap)*s.n+i] = s.q[i]
		}
	}
	s.torque[i] = on
	return nil
}

// Torque reports whether servo i is on (false for a bad index).
func (s *Sim) Torque(i int) bool { return i >= 0 && i < s.n && s.torque[i] }

// SetWatchdog makes the servos hold their current position when no Command arrives for
// timeout (0 disables). The timer restarts now.
func (s *Sim) SetWatchdog(timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("sim: watchdog timeout %v is negative", timeout)
	}
	s.watchdog, s.lastCmd, s.tripped = timeout, s.now, false
	return nil
}

// Perturb schedules p (its Start is on the simulator clock, see Resolve). It fails on an
// unknown joint or bad values; at most 64 perturbations may be pending.
func (s *Sim) Perturb(p Perturbation) error {
	j, err := p.validate(s.m)
	if err != nil {
		return err
	}
	if len(s.perts) >= 64 {
		return fmt.Errorf("sim: too many pending perturbations")
	}
	s.perts = append(s.perts, activePert{p: p, joint: j, hold: make([]float64, s.n)})
	return nil
}

// ClearPerturbations removes every perturbation, including payloads.
func (s *Sim) ClearPerturbations() {
	s.perts = s.perts[:0]
	s.payload = 0
	_ = s.sol.SetPayload(0)
}

// Guide starts h now, or stops the hand if h is nil. The hand must drive DOF joints.
func (s *Sim) Guide(h *Hand) error {
	if h == nil {
		s.hand = nil
		return nil
	}
	if h.DOF() != s.n {
		return fmt.Errorf("sim: hand drives %d joints, arm has %d", h.DOF(), s.n)
	}
	if (h.Stiffness != nil && len(h.Stiffness) != s.n) || (h.Damping != nil && len(h.Damping) != s.n) {
		return fmt.Errorf("sim: hand stiffness/damping need %d entries", s.n)
	}
	s.sol.kin(s.q)
	s.sol.crba()
	for i, j := range s.m.joints {
		k := j.Effort / 0.005 // full effort at 5 mrad (5 mm) behind the hand
		if h.Stiffness != nil {
			k = h.Stiffness[i]
		}
		d := 2 * math.Sqrt(k*(s.sol.mass[i*s.n+i]+s.arm[i]))
		if h.Damping != nil {
			d = h.Damping[i]
		}
		s.handK[i], s.handD[i] = k, d
	}
	s.hand, s.handStart = h, s.now
	return nil
}

// Guiding reports whether a hand is attached and has not reached its last sample.
func (s *Sim) Guiding() bool {
	return s.hand != nil && (s.now-s.handStart).Seconds() < s.hand.Duration()
}

// Stats returns the counters.
func (s *Sim) Stats() Stats { return s.stats }

// Step integrates one physics step. It allocates nothing.
func (s *Sim) Step() {
	s.now += s.step
	s.stats.Steps++
	n, dt := s.n, s.dt
	for s.ringN > 0 && s.ringAt[s.ringHead] <= s.now {
		k := s.ringHead
		for i := 0; i < n; i++ {
			if !s.torque[i] {
				continue
			}
			s.ref[i] = s.ringPos[k*n+i]
			if s.ringHasV[k] {
				s.refVel[i] = s.ringV[k*n+i]
			} else {
				s.refVel[i] = 0
			}
		}
		s.ringHead = (s.ringHead + 1) % ringCap
		s.ringN--
	}
	if s.watchdog > 0 && !s.tripped && s.now-s.lastCmd > s.watchdog {
		s.tripped = true
		s.stats.WatchdogTrips++
		s.ringN = 0
		copy(s.ref, s.q)
		clear(s.refVel)
	}
	s.updatePerts()

	sol := s.sol
	sol.kin(s.q)
	if s.anyGFF {
		sol.rnea(sol.zero, sol.zero, 1, s.grav)
	}
	sol.rnea(s.qd, sol.zero, 1, s.bias)
	sol.crba()
	if s.hand != nil {
		s.hand.sample((s.now - s.handStart).Seconds(), s.handQ, s.handV)
	}
	for i := 0; i < n; i++ {
		sp := &s.servo.Joints[i]
		u := 0.0
		if s.torque[i] {
			u = sp.Kp*(s.ref[i]-s.q[i]) + sp.Kd*(sp.VelFF*s.refVel[i]-s.qd[i]) + sp.GravityFF*s.grav[i]
			u = clampFinite(u, -sp.MaxTorque, sp.MaxTorque)
			if u*s.qd[i] > 0 { // motoring: the torque–speed line of a DC motor
				lim := sp.MaxTorque * math.Max(0, 1-math.Abs(s.qd[i])/sp.MaxVel)
				u = clampFinite(u, -lim, lim)
			}
		}
		if sp.Lag > 0 {
			a := dt / sp.Lag.Seconds()
			if a > 1 {
				a = 1
			}
			s.tauAct[i] += a * (u - s.tauAct[i])
		} else {
			s.tauAct[i] = u
		}
		r := s.tauAct[i] + s.ext[i] - s.bias[i]
		if s.hand != nil {
			r += s.handK[i]*(s.handQ[i]-s.q[i]) + s.handD[i]*(s.handV[i]-s.qd[i])
		}
		s.rhs[i] = r
	}
	// Held joints are constraints: the free joints move with them at rest, whatever
	// effort that takes, so a held servo's torque does not leak into its neighbours.
	if sol.solveHeld(s.arm, s.held, s.rhs) != nil {
		clear(s.rhs) // a degenerate model stays put rather than blowing up
	}
	hit := false
	for i := 0; i < n; i++ {
		if s.held[i] {
			s.qdd[i] = -s.qd[i] / dt
			s.q[i], s.qd[i] = s.heldQ[i], 0
			continue
		}
		sp := &s.servo.Joints[i]
		meff := sol.mass[i*n+i] + s.arm[i]
		v := s.qd[i] + dt*s.rhs[i]
		if meff > 0 {
			v /= 1 + dt*sp.Viscous/meff
			c := sp.Coulomb * dt / meff
			switch {
			case v > c:
				v -= c
			case v < -c:
				v += c
			default:
				v = 0
			}
		}
		s.qdd[i] = (v - s.qd[i]) / dt
		q := s.q[i] + dt*v
		j := &s.m.joints[i]
		if q < j.Min {
			q, hit = j.Min, true
			if v < 0 {
				v = 0
			}
		} else if q > j.Max {
			q, hit = j.Max, true
			if v > 0 {
				v = 0
			}
		}
		s.q[i], s.qd[i] = q, v
	}
	if hit {
		s.stats.LimitHits++
	}
}

// updatePerts refreshes held joints, external efforts and payload for s.now.
func (s *Sim) updatePerts() {
	clear(s.held)
	clear(s.ext)
	mass := 0.0
	keep := s.perts[:0]
	for k := range s.perts {
		ap := s.perts[k]
		p := &ap.p
		if p.For > 0 && s.now >= p.Start+p.For {
			continue // expired
		}
		keep = append(keep, ap)
		if s.now < p.Start {
			continue
		}
		a := &keep[len(keep)-1]
		if !a.begun {
			a.begun = true
			copy(a.hold, s.q)
		}
		switch p.Kind {
		case Hold:
			s.held[a.joint], s.heldQ[a.joint] = true, a.hold[a.joint]
		case Freeze:
			for i := range s.held {
				s.held[i], s.heldQ[i] = true, a.hold[i]
			}
		case Push:
			s.ext[a.joint] += p.Torque
		case Payload:
			mass += p.Mass
		}
	}
	for k := len(keep); k < len(s.perts); k++ {
		s.perts[k] = activePert{}
	}
	s.perts = keep
	if mass != s.payload {
		s.payload = mass
		_ = s.sol.SetPayload(mass)
	}
}
