package demos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Follower is the arm a Teleop drives: its joints (with limits), reads and commands.
type Follower interface {
	drivers.Describer
	drivers.Reader
	drivers.Commander
}

// TeleopConfig configures leader → follower teleoperation (LeRobot's SO-101 leader arm:
// a second arm with torque off, moved by the operator).
type TeleopConfig struct {
	Leader   Arm      // read every tick; torque switched off by Begin when it is drivers.Compliant
	Follower Follower // commanded every tick; its measured state is what a recording keeps
	// Rate is the control rate, Hz, that bounds each tick's step by MaxVel/Rate; default
	// 100, at most MaxRate. Sample the Teleop at this rate.
	Rate  float64
	Clock clock.Clock // times the leader-read → follower-command latency; default clock.NewReal()
}

// latencyRing is how many latency samples a Teleop keeps (the most recent).
const latencyRing = 1 << 14

// Teleop maps a leader arm's joints onto a follower's by name. It is itself a
// demos.Arm: each Read is one teleoperation tick (read the leader, command the
// follower through the follower's position and velocity limits, read the follower), so a
// Recorder sampling it at the control rate records the follower's measured trajectory.
// Read allocates nothing. Safe for one sampling goroutine plus Latency callers.
type Teleop struct {
	cfg    TeleopConfig
	joints []joint.Joint
	lidx   []int // follower joint i ← leader joint lidx[i]
	step   []float64
	lead   joint.State
	cmd    joint.Command
	primed bool // cmd holds the previous command

	mu  sync.Mutex
	lat []time.Duration
	n   int
}

// ErrJointMap: the leader lacks a joint of the follower.
var ErrJointMap = errors.New("demos: teleop: leader and follower joints differ")

// NewTeleop validates cfg and matches the arms' joints by name; it touches neither arm.
func NewTeleop(cfg TeleopConfig) (*Teleop, error) {
	if cfg.Leader == nil || cfg.Follower == nil {
		return nil, errors.New("demos: teleop: Leader and Follower are required")
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if !(cfg.Rate > 0 && cfg.Rate <= MaxRate) {
		return nil, fmt.Errorf("demos: teleop: Rate %v Hz, want (0, %v]", cfg.Rate, MaxRate)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewReal()
	}
	fj, lj := cfg.Follower.Joints(), cfg.Leader.Joints()
	t := &Teleop{cfg: cfg, joints: fj, lidx: make([]int, len(fj)), step: make([]float64, len(fj)),
		lead: joint.NewState(len(lj)), cmd: joint.Command{Pos: make([]float64, len(fj))}, lat: make([]time.Duration, latencyRing)}
	for i, j := range fj {
		k := slices.IndexFunc(lj, func(l joint.Joint) bool { return l.Name == j.Name })
		if k < 0 {
			return nil, fmt.Errorf("%w: follower joint %q is not on the leader", ErrJointMap, j.Name)
		}
		t.lidx[i] = k
		t.step[i] = math.Inf(1)
		if j.Limits.MaxVel > 0 {
			t.step[i] = j.Limits.MaxVel / cfg.Rate
		}
	}
	return t, nil
}

// Joints returns the follower's joints.
func (t *Teleop) Joints() []joint.Joint { return t.joints }

// Begin switches the leader's torque off (when it can) so the operator can move it, and
// forgets the previous command: the next tick starts from the follower's measured pose.
func (t *Teleop) Begin(ctx context.Context) error {
	t.primed = false
	if c, ok := t.cfg.Leader.(drivers.Compliant); ok {
		if err := c.SetTorque(ctx, false); err != nil {
			return fmt.Errorf("demos: teleop: leader torque off: %w", err)
		}
	}
	return nil
}

// Read runs one tick and fills s with the follower's measured state. The command is the
// leader's position clamped to the follower's limits and moved at most MaxVel/Rate from
// the previous command (from the measured pose on the first tick), so a fast leader or a
// jump never leaves the follower's limits. A failed leader read sends no command (the
// follower holds) and is returned; a failed command or follower read is returned.
func (t *Teleop) Read(ctx context.Context, s *joint.State) error {
	if !t.primed {
		if err := t.cfg.Follower.Read(ctx, s); err != nil {
			return fmt.Errorf("demos: teleop: follower: %w", err)
		}
		copy(t.cmd.Pos, s.Pos)
		t.primed = true
	}
	if err := t.cfg.Leader.Read(ctx, &t.lead); err != nil {
		return fmt.Errorf("demos: teleop: leader: %w", err)
	}
	read := t.cfg.Clock.Now()
	for i, j := range t.joints {
		q := t.lead.Pos[t.lidx[i]]
		if math.IsNaN(q) || math.IsInf(q, 0) {
			return fmt.Errorf("demos: teleop: leader joint %s: %v is not finite", j.Name, q)
		}
		if j.Limits.Min < j.Limits.Max {
			q = j.Limits.Clamp(q)
		}
		prev := t.cmd.Pos[i]
		t.cmd.Pos[i] = prev + max(-t.step[i], min(t.step[i], q-prev))
	}
	if err := t.cfg.Follower.Command(ctx, t.cmd); err != nil {
		return fmt.Errorf("demos: teleop: follower command: %w", err)
	}
	sent := t.cfg.Clock.Now()
	t.mu.Lock()
	t.lat[t.n%latencyRing] = sent - read
	t.n++
	t.mu.Unlock()
	if err := t.cfg.Follower.Read(ctx, s); err != nil {
		return fmt.Errorf("demos: teleop: follower: %w", err)
	}
	return nil
}

// Latency returns the median and 99th percentile of the time from the leader's read
// returning to the follower's command being sent, over the last ticks (up to 16 384),
// and how many ticks ran in total.
func (t *Teleop) Latency() (p50, p99 time.Duration, ticks int) {
	t.mu.Lock()
	k := min(t.n, latencyRing)
	d := append([]time.Duration(nil), t.lat[:k]...)
	ticks = t.n
	t.mu.Unlock()
	if k == 0 {
		return 0, 0, ticks
	}
	slices.Sort(d)
	return d[(k-1)/2], d[min(k-1, int(math.Ceil(0.99*float64(k)))-1)], ticks
}
