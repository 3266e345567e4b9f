// Package armtest is a scriptable fake arm for unit tests. It records every command,
// can fail reads and commands on demand, and optionally moves like a first-order plant
// so that closed-loop code can be tested: joints can be held (frozen against the
// command), pushed or placed, and made to sag like a position servo without gravity
// compensation (Config.Sag, SetSag). Read and Command allocate nothing once recording storage
// is reserved (Config.RecordCap).
package armtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// ErrScripted is the error returned by reads and commands failed with FailReads or
// FailCommands when no other error is given.
var ErrScripted = errors.New("armtest: scripted failure")

// Config configures a fake arm. Joints is required; other fields are optional.
type Config struct {
	Joints []joint.Joint // the arm's joints and limits, in order
	Start  []float64     // initial positions, rad or m; default each joint's mid-range (0 if unbounded)
	// Clock timestamps reads and drives the plant; default a new clock.Fake. If it has an
	// Advance(time.Duration) method, ReadDelay advances it on every Read.
	Clock clock.Clock
	// PlantTau is the first-order plant time constant in s: x' = ff + (cmd - x)/tau, with
	// ff the command's velocity feed-forward. Zero: an ideal arm that is wherever it was
	// last commanded.
	PlantTau float64
	// PlantMaxVel caps the plant's speed per joint, rad/s; 0 means each joint's
	// Limits.MaxVel scaled by 3 (or unlimited when that is 0). Negative: unlimited.
	PlantMaxVel float64
	// RecordCap reserves room for this many recorded commands so Command does not
	// allocate until it is exceeded; default 1024. Recording grows past it.
	RecordCap int
	// ReadDelay advances a fake clock by this much on every Read (simulated latency).
	ReadDelay time.Duration
	// Sag is a steady offset per joint (rad or m; nil: none), like a position servo
	// without gravity compensation: the plant settles at command − Sag[i] instead of the
	// command. Change it during a run with SetSag.
	Sag []float64
}

// Record is one recorded command.
type Record struct {
	T   time.Duration // clock time when the command arrived
	Pos []float64     // commanded positions, rad or m
	Vel []float64     // feed-forward velocities, rad/s (nil when none was given)
}

// Arm is a fake drivers.Arm. Safe for concurrent use.
type Arm struct {
	mu     sync.Mutex
	joints []joint.Joint
	clk    clock.Clock
	tau    float64
	vmax   []float64

	pos, vel, cmd, ff []float64
	sag               []float64
	held              []bool
	last              time.Duration
	commanded         bool

	readDelay      time.Duration
	failReads      int
	readErr        error
	failCmds       int
	cmdErr         error
	reads, nCmds   int
	invalid        int
	closed         bool
	recT           []time.Duration
	recPos, recVel []float64
	recHasVel      []bool
	onCommand      func(n int, c joint.Command)
	onRead         func(n int, s *joint.State) error
}

var _ drivers.Arm = (*Arm)(nil)

// New returns a fake arm; it fails when Joints is empty or Start has the wrong length.
func New(cfg Config) (*Arm, error) {
	n := len(cfg.Joints)
	if n == 0 {
		return nil, errors.New("armtest: Config.Joints is empty")
	}
	if cfg.Start != nil && len(cfg.Start) != n {
		return nil, fmt.Errorf("armtest: Config.Start has %d entries, want %d", len(cfg.Start), n)
	}
	if cfg.Sag != nil && len(cfg.Sag) != n {
		return nil, fmt.Errorf("armtest: Config.Sag has %d entries, want %d", len(cfg.Sag), n)
	}
	if cfg.PlantTau < 0 {
		return nil, fmt.Errorf("armtest: Config.PlantTau %g s is negative", cfg.PlantTau)
	}
	a := &Arm{
		joints: append([]joint.Joint(nil), cfg.Joints...),
		clk:    cfg.Clock,
		tau:    cfg.PlantTau,
		vmax:   make([]float64, n),
		pos:    make([]float64, n),
		vel:    make([]float64, n),
		cmd:    make([]float64, n),
		ff:     make([]float64, n),
		held:   make([]bool, n),
		sag:    make([]float64, n),

		readDelay: cfg.ReadDelay,
	}
	if a.clk == nil {
		a.clk = new(clock.Fake)
	}
	copy(a.sag, cfg.Sag)
	for i, j := range cfg.Joints {
		switch {
		case cfg.Start != nil:
			a.pos[i] = cfg.Start[i]
		case j.Type != joint.Continuous && j.Limits.Max > j.Limits.Min:
			a.pos[i] = (j.Limits.Min + j.Limits.Max) / 2
		}
		a.cmd[i] = a.pos[i]
		switch {
		case cfg.PlantMaxVel > 0:
			a.vmax[i] = cfg.PlantMaxVel
		case cfg.PlantMaxVel == 0 && j.Limits.MaxVel > 0:
			a.vmax[i] = 3 * j.Limits.MaxVel
		default:
			a.vmax[i] = math.Inf(1)
		}
	}
	rc := cfg.RecordCap
	if rc <= 0 {
		rc = 1024
	}
	a.recT = make([]time.Duration, 0, rc)
	a.recPos = make([]float64, 0, rc*n)
	a.recVel = make([]float64, 0, rc*n)
	a.recHasVel = make([]bool, 0, rc)
	a.last = a.clk.Now()
	return a, nil
}

// Continuous returns n unbounded joints named j1..jn, for Config.Joints when limits do
// not matter.
func Continuous(n int) []joint.Joint {
	js := make([]joint.Joint, n)
	for i := range js {
		js[i] = joint.Joint{Name: fmt.Sprintf("j%d", i+1), Type: joint.Continuous}
	}
	return js
}

// Joints returns the configured joints.
func (a *Arm) Joints() []joint.Joint { return append([]joint.Joint(nil), a.joints...) }

// Read advances the plant to the clock's time and fills s; it returns a scripted error
// when one is pending, or drivers.ErrClosed after Close. It allocates nothing when s
// already has one slot per joint.
func (a *Arm) Read(ctx context.Context, s *joint.State) error {
	if a.readDelay > 0 {
		if adv, ok := a.clk.(interface{ Advance(time.Duration) }); ok {
			adv.Advance(a.readDelay)
		}
	}
	a.mu.Lock()
	a.reads++
	n := a.reads
	if a.closed {
		a.mu.Unlock()
		return drivers.ErrClosed
	}
	if a.readErr != nil {
		err := a.readErr
		a.mu.Unlock()
		return err
	}
	if a.failReads > 0 {
		a.failReads--
		a.mu.Unlock()
		return fmt.Errorf("armtest: read %d: %w", n, ErrScripted)
	}
	a.advanceLocked()
	s.Resize(len(a.pos))
	s.Time = a.last
	copy(s.Pos, a.pos)
	copy(s.Vel, a.vel)
	for i := range s.Eff {
		s.Eff[i] = 0
	}
	hook := a.onRead
	a.mu.Unlock()
	if hook != nil {
		return hook(n, s)
	}
	return ctx.Err()
}

// Command records c and makes it the plant's target. A command with the wrong length
// is refused; NaN or out-of-limit positions are recorded and counted (Invalid) but not
// refused, so tests can assert that none were sent.
func (a *Arm) Command(ctx context.Context, c joint.Command) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return drivers.ErrClosed
	}
	n := len(a.pos)
	if len(c.Pos) != n || (len(c.Vel) != 0 && len(c.Vel) != n) {
		a.mu.Unlock()
		return fmt.Errorf("armtest: command has %d positions and %d velocities, want %d", len(c.Pos), len(c.Vel), n)
	}
	a.nCmds++
	k := a.nCmds
	if a.failCmds > 0 || a.cmdErr != nil {
		err := a.cmdErr
		if a.failCmds > 0 {
			a.failCmds--
			err = fmt.Errorf("armtest: command %d: %w", k, ErrScripted)
		}
		a.mu.Unlock()
		return err
	}
	a.advanceLocked()
	bad := false
	for i, q := range c.Pos {
		j := a.joints[i]
		if math.IsNaN(q) || math.IsInf(q, 0) || (j.Type != joint.Continuous && !j.Limits.Contains(q)) {
			bad = true
		}
	}
	if bad {
		a.invalid++
	}
	a.recT = append(a.recT, a.last)
	a.recPos = append(a.recPos, c.Pos...)
	if len(c.Vel) == n {
		a.recVel = append(a.recVel, c.Vel...)
		a.recHasVel = append(a.recHasVel, true)
	} else {
		for range n {
			a.recVel = append(a.recVel, 0)
		}
		a.recHasVel = append(a.recHasVel, false)
	}
	if !bad {
		copy(a.cmd, c.Pos)
		if len(c.Vel) == n {
			copy(a.ff, c.Vel)
		} else {
			clear(a.ff)
		}
		a.commanded = true
	}
	hook := a.onCommand
	a.mu.Unlock()
	if hook != nil {
		hook(k, c)
	}
	return ctx.Err()
}

// Close makes later reads and commands fail with drivers.ErrClosed.
func (a *Arm) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	return nil
}

// advanceLocked moves the plant from a.last to the clock's now.
func (a *Arm) advanceLocked() {
	now := a.clk.Now()
	dt := (now - a.last).Seconds()
	a.last = now
	if dt <= 0 {
		if a.tau == 0 && a.commanded {
			for i := range a.pos {
				if !a.held[i] {
					a.pos[i] = a.cmd[i] - a.sag[i]
				}
			}
		}
		return
	}
	for i := range a.pos {
		if a.held[i] {
			a.vel[i] = 0
			continue
		}
		x0 := a.pos[i]
		var x float64
		if a.tau == 0 {
			if !a.commanded {
				continue
			}
			x = a.cmd[i] - a.sag[i]
		} else {
			u := a.cmd[i] - a.sag[i] + a.ff[i]*a.tau
			x = u + (x0-u)*math.Exp(-dt/a.tau)
		}
		v := (x - x0) / dt
		if vm := a.vmax[i]; math.Abs(v) > vm {
			v = math.Copysign(vm, v)
			x = x0 + v*dt
		}
		a.pos[i], a.vel[i] = x, v
	}
}

// Hold freezes joint i where it is, whatever is commanded, until Release.
func (a *Arm) Hold(i int) {
	a.mu.Lock()
	a.advanceLocked()
	a.held[i] = true
	a.mu.Unlock()
}

// Release lets joint i follow commands again.
func (a *Arm) Release(i int) {
	a.mu.Lock()
	a.advanceLocked()
	a.held[i] = false
	a.mu.Unlock()
}

// SetJointTorque makes joint i limp (on=false: held where it is, as Hold) or lets it follow
// commands again (on=true, as Release), as a wire-level simulator's torque switch expects.
func (a *Arm) SetJointTorque(i int, on bool) error {
	if on {
		a.Release(i)
	} else {
		a.Hold(i)
	}
	return nil
}

// Held reports whether joint i is held (by Hold or SetJointTorque(i, false)).
func (a *Arm) Held(i int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held[i]
}

// SetSag sets joint i's steady offset (see Config.Sag) from now on.
func (a *Arm) SetSag(i int, sag float64) {
	a.mu.Lock()
	a.advanceLocked()
	a.sag[i] = sag
	a.mu.Unlock()
}

// Push displaces joint i by delta (rad or m) at once, as a knock would.
func (a *Arm) Push(i int, delta float64) {
	a.mu.Lock()
	a.advanceLocked()
	a.pos[i] += delta
	a.mu.Unlock()
}

// SetPos places joint i at q (rad or m) at once.
func (a *Arm) SetPos(i int, q float64) {
	a.mu.Lock()
	a.advanceLocked()
	a.pos[i] = q
	a.mu.Unlock()
}

// Pos returns a copy of the plant's positions at the clock's time.
func (a *Arm) Pos() []float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.advanceLocked()
	return append([]float64(nil), a.pos...)
}

// FailReads makes the next k reads fail with an error wrapping ErrScripted.
func (a *Arm) FailReads(k int) {
	a.mu.Lock()
	a.failReads = k
	a.mu.Unlock()
}

// SetReadError makes every read fail with err until it is called with nil.
func (a *Arm) SetReadError(err error) {
	a.mu.Lock()
	a.readErr = err
	a.mu.Unlock()
}

// FailCommands makes the next k commands fail with an error wrapping ErrScripted; the
// failed commands are counted but neither recorded nor applied.
func (a *Arm) FailCommands(k int) {
	a.mu.Lock()
	a.failCmds = k
	a.mu.Unlock()
}

// SetCommandError makes every command fail with err until it is called with nil.
func (a *Arm) SetCommandError(err error) {
	a.mu.Lock()
	a.cmdErr = err
	a.mu.Unlock()
}

// SetReadDelay sets Config.ReadDelay.
func (a *Arm) SetReadDelay(d time.Duration) {
	a.mu.Lock()
	a.readDelay = d
	a.mu.Unlock()
}

// OnCommand installs f, called after each recorded command with its 1-based number,
// outside the arm's lock, on the commanding goroutine. c is only valid during the call.
func (a *Arm) OnCommand(f func(n int, c joint.Command)) {
	a.mu.Lock()
	a.onCommand = f
	a.mu.Unlock()
}

// OnRead installs f, called after each successful read with its 1-based number; it may
// alter s, and its error is returned by Read.
func (a *Arm) OnRead(f func(n int, s *joint.State) error) {
	a.mu.Lock()
	a.onRead = f
	a.mu.Unlock()
}

// Commands returns a copy of the recorded commands.
func (a *Arm) Commands() []Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := len(a.pos)
	out := make([]Record, len(a.recT))
	for k := range out {
		out[k] = Record{T: a.recT[k], Pos: append([]float64(nil), a.recPos[k*n:(k+1)*n]...)}
		if a.recHasVel[k] {
			out[k].Vel = append([]float64(nil), a.recVel[k*n:(k+1)*n]...)
		}
	}
	return out
}

// NumCommands returns how many commands arrived (failed ones included).
func (a *Arm) NumCommands() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nCmds
}

// NumReads returns how many reads were attempted.
func (a *Arm) NumReads() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reads
}

// Invalid returns how many recorded commands held a NaN, an infinity or a position
// outside its joint's limits.
func (a *Arm) Invalid() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.invalid
}
