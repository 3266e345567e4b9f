// Package fwarm is a Praxis arm (drivers.Arm, drivers.Compliant, drivers.Watchdog) on a
// firmware-bridge board: hobby servos driven by pulse width, one potentiometer per joint.
// Positions are radians, mapped linearly through each joint's calibration (pulse widths
// and pot readings at the two joint limits). New never touches the port; Setup shakes
// hands and enables the servos.
package fwarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/praxis-robotics/praxis/drivers"
	fwlink "github.com/praxis-robotics/praxis/firmware-bridge/link"
	fwwire "github.com/praxis-robotics/praxis/firmware-bridge/wire"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Joint calibrates one servo channel; the board's channel is its index in Config.Joints.
type Joint struct {
	Name     string  // joint name; required
	Min, Max float64 // joint limits, rad; Min < Max
	PulseMin float64 // pulse width at Min, µs (may exceed PulseMax for a reversed servo)
	PulseMax float64 // pulse width at Max, µs
	AdcMin   float64 // pot reading at Min, counts (may exceed AdcMax for a reversed pot)
	AdcMax   float64 // pot reading at Max, counts
	MaxVel   float64 // speed limit, rad/s; default 3
}

// Config configures New. Zero fields take the stated defaults.
type Config struct {
	Joints          []Joint
	ReplyTimeout    time.Duration // wait for the board's answer; default fwlink.DefaultReplyTimeout (100 ms); ReplyTimeout + 2 × Heartbeat must be below FirmwareTimeout
	Heartbeat       time.Duration // longest idle silence (the link polls); default 50 ms; negative: never
	FirmwareTimeout time.Duration // board-side host-silence timeout; default 250 ms
	Hold            bool          // on timeout hold the last pulse instead of detaching (default detach)
	Slew            bool          // ask the board to limit each servo to MaxVel (COMMAND slew rates)
	// Clock stamps each Read (joint.State.Time); default the system clock. A simulated
	// board gives its simulated time, so a loop paced by the same clock sees the arm
	// move at the simulation's pace.
	Clock clock.Clock
}

func (c *Config) validate() error {
	if len(c.Joints) == 0 || len(c.Joints) > fwwire.MaxJoints {
		return fmt.Errorf("fwarm: Joints: %d joints, want 1..%d", len(c.Joints), fwwire.MaxJoints)
	}
	for i := range c.Joints {
		j := &c.Joints[i]
		bad := func(f string, args ...any) error {
			return fmt.Errorf("fwarm: Joints[%d] (%s): "+f, append([]any{i, j.Name}, args...)...)
		}
		fin := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
		switch {
		case j.Name == "":
			return bad("Name required")
		case !fin(j.Min) || !fin(j.Max) || j.Min >= j.Max:
			return bad("Min %g must be below Max %g", j.Min, j.Max)
		case !fin(j.PulseMin) || !fin(j.PulseMax) || j.PulseMin == j.PulseMax || j.PulseMin < 1 || j.PulseMax < 1 || j.PulseMin > 65535 || j.PulseMax > 65535:
			return bad("PulseMin %g and PulseMax %g must differ and lie in 1..65535 µs", j.PulseMin, j.PulseMax)
		case !fin(j.AdcMin) || !fin(j.AdcMax) || j.AdcMin == j.AdcMax || j.AdcMin < 0 || j.AdcMax < 0:
			return bad("AdcMin %g and AdcMax %g must differ and be non-negative", j.AdcMin, j.AdcMax)
		case j.MaxVel < 0 || !fin(j.MaxVel):
			return bad("MaxVel %g must be positive", j.MaxVel)
		}
		if j.MaxVel == 0 {
			j.MaxVel = 3
		}
	}
	return nil
}

// Arm is a firmware-bridge arm. Safe for concurrent use.
type Arm struct {
	cfg    Config
	link   *fwlink.Link
	joints []joint.Joint
	n      int // board channels

	mu          sync.Mutex // guards the hot-path buffers below across Read and Command callers
	pulse, slew []uint16
	st          fwwire.Frame
	last        []float64 // last commanded positions, rad (for joints without a pot)
	mask        uint8
}

// Open opens the serial port at baud (8N1) and returns an arm on it (not yet set up).
func Open(port string, baud int, cfg Config) (*Arm, error) {
	if baud <= 0 {
		return nil, fmt.Errorf("fwarm: baud %d must be positive", baud)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p, err := serial.Open(port, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("fwarm: open %s: %w", port, err)
	}
	_ = p.ResetInputBuffer() // stale frames from before we opened
	a, err := New(p, cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	return a, nil
}

// New returns an arm talking over rw; it sends nothing until Setup.
func New(rw io.ReadWriteCloser, cfg Config) (*Arm, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	action := fwwire.Detach
	if cfg.Hold {
		action = fwwire.Hold
	}
	l, err := fwlink.New(rw, fwlink.Config{ReplyTimeout: cfg.ReplyTimeout, Heartbeat: cfg.Heartbeat,
		FirmwareTimeout: cfg.FirmwareTimeout, TimeoutAction: action})
	if err != nil {
		return nil, fmt.Errorf("fwarm: %w", err)
	}
	a := &Arm{cfg: cfg, link: l, last: make([]float64, len(cfg.Joints))}
	for i, j := range cfg.Joints {
		a.joints = append(a.joints, joint.Joint{Name: j.Name, Type: joint.Revolute,
			Limits: joint.Limits{Min: j.Min, Max: j.Max, MaxVel: j.MaxVel, MaxAcc: 10 * j.MaxVel}})
		a.last[i] = (j.Min + j.Max) / 2
		a.mask |= 1 << i
	}
	return a, nil
}

// Setup shakes hands, checks that the board has enough channels, reads the pots (the
// first command then starts from where the arm is) and enables the servos.
func (a *Arm) Setup(ctx context.Context) error {
	caps, err := a.link.Handshake(ctx)
	if err != nil {
		return fmt.Errorf("fwarm: handshake: %w", err)
	}
	if int(caps.Joints) < len(a.cfg.Joints) {
		return fmt.Errorf("fwarm: board has %d channels, config names %d joints", caps.Joints, len(a.cfg.Joints))
	}
	a.n = int(caps.Joints)
	a.pulse = make([]uint16, a.n)
	a.slew = make([]uint16, a.n)
	for i, j := range a.cfg.Joints {
		mid := (j.PulseMin + j.PulseMax) / 2
		a.pulse[i] = uint16(math.Round(mid))
		a.slew[i] = uint16(min(65535, math.Round(j.MaxVel*math.Abs(j.PulseMax-j.PulseMin)/(j.Max-j.Min))))
	}
	for i := len(a.cfg.Joints); i < a.n; i++ {
		a.pulse[i] = uint16((caps.PulseMin + caps.PulseMax) / 2)
	}
	s := joint.NewState(len(a.joints))
	if err := a.Read(ctx, &s); err != nil {
		return err
	}
	return a.SetTorque(ctx, true)
}

// Link returns the session, for counters and diagnostics.
func (a *Arm) Link() *fwlink.Link { return a.link }

// Joints returns the joints with their limits.
func (a *Arm) Joints() []joint.Joint { return a.joints }

// Read polls the board and fills s with the joint angles, rad (from the pots; a joint
// without one reports its last command). Vel and Eff are zero. It allocates nothing when
// s has one slot per joint.
func (a *Arm) Read(ctx context.Context, s *joint.State) error {
	if a.pulse == nil {
		return errors.New("fwarm: Read before Setup")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.link.Poll(ctx, &a.st); err != nil {
		return a.wrap(err)
	}
	a.fill(s)
	return nil
}

func (a *Arm) fill(s *joint.State) {
	n := len(a.joints)
	if len(s.Pos) != n || len(s.Vel) != n || len(s.Eff) != n {
		*s = joint.NewState(n)
	}
	caps := a.link.Caps()
	for i, j := range a.cfg.Joints {
		raw := a.st.Pos[i]
		if i >= int(a.st.N) || raw == fwwire.NoFeedback || caps.FeedbackMask&(1<<i) == 0 {
			s.Pos[i] = a.last[i]
		} else {
			s.Pos[i] = j.Min + (float64(raw)-j.AdcMin)/(j.AdcMax-j.AdcMin)*(j.Max-j.Min)
		}
		s.Vel[i], s.Eff[i] = 0, 0
	}
	if a.cfg.Clock != nil {
		s.Time = a.cfg.Clock.Now()
	} else {
		s.Time = time.Duration(time.Now().UnixNano())
	}
}

// Command sends target positions, rad, clamped into the joint limits (the velocity
// feed-forward is ignored: hobby servos take positions only). It fails on a wrong length
// or a non-finite value without sending anything.
func (a *Arm) Command(ctx context.Context, c joint.Command) error {
	if a.pulse == nil {
		return errors.New("fwarm: Command before Setup")
	}
	if len(c.Pos) != len(a.joints) {
		return fmt.Errorf("fwarm: command has %d positions, arm has %d joints", len(c.Pos), len(a.joints))
	}
	for i, q := range c.Pos {
		if math.IsNaN(q) || math.IsInf(q, 0) {
			return fmt.Errorf("fwarm: command position %d (%s) is %g", i, a.joints[i].Name, q)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, j := range a.cfg.Joints {
		q := min(max(c.Pos[i], j.Min), j.Max)
		a.last[i] = q
		a.pulse[i] = uint16(math.Round(j.PulseMin + (q-j.Min)/(j.Max-j.Min)*(j.PulseMax-j.PulseMin)))
	}
	var slew []uint16
	if a.cfg.Slew {
		slew = a.slew
	}
	if err := a.link.Command(ctx, a.pulse, slew, &a.st); err != nil {
		return a.wrap(err)
	}
	return nil
}

// SetTorque drives the servos (on: holding the measured position) or stops their pulses
// (off: limp, so the arm can be moved by hand and read through the pots). On is the
// explicit re-enable after a board heartbeat timeout (drivers.ErrFault from Read or
// Command), as is Setup.
func (a *Arm) SetTorque(ctx context.Context, on bool) error {
	if a.pulse == nil {
		return errors.New("fwarm: SetTorque before Setup")
	}
	if !on {
		return a.wrap(a.link.Enable(ctx, 0))
	}
	a.link.Resume()
	s := joint.NewState(len(a.joints))
	if err := a.Read(ctx, &s); err != nil {
		return err
	}
	if err := a.Command(ctx, joint.Command{Pos: s.Pos}); err != nil {
		return err
	}
	return a.wrap(a.link.Enable(ctx, a.mask))
}

// SetWatchdog sets the board's host-silence timeout (0 disables it). The link's own
// heartbeat keeps the board fed while the arm is open.
func (a *Arm) SetWatchdog(ctx context.Context, timeout time.Duration) error {
	action := fwwire.Detach
	if a.cfg.Hold {
		action = fwwire.Hold
	}
	return a.wrap(a.link.Configure(ctx, timeout, action))
}

// Close ends the session without touching the servos: the board's heartbeat timeout
// detaches (or holds) them. Later calls return drivers.ErrClosed.
func (a *Arm) Close() error { return a.link.Close() }

func (a *Arm) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fwlink.ErrClosed):
		return fmt.Errorf("fwarm: %w", drivers.ErrClosed)
	case errors.Is(err, fwlink.ErrTimeout):
		return fmt.Errorf("fwarm: %w: %w", drivers.ErrTimeout, err)
	case errors.Is(err, fwlink.ErrRejected), errors.Is(err, fwlink.ErrBoardTimeout):
		return fmt.Errorf("fwarm: %w: %w", drivers.ErrFault, err)
	}
	return fmt.Errorf("fwarm: %w", err)
}

// Calibration returns the calibration of a hobby servo that sweeps [min, max] rad over
// 500..2500 µs with a pot reading 0..1023 counts over the same range.
func Calibration(name string, min, max float64) Joint {
	return Joint{Name: name, Min: min, Max: max, PulseMin: 500, PulseMax: 2500, AdcMin: 0, AdcMax: 1023}
}
