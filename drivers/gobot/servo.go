package gobot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Sentinel errors, wrapped with detail.
var (
	// ErrConfig: a configuration field is invalid; the message names it.
	ErrConfig = errors.New("gobot: bad config")
	// ErrPinRange: a Firmata pin or analog channel above 15, which gobot's client cannot address.
	ErrPinRange = errors.New("gobot: firmata pin or analog channel above 15 (gobot's firmata client addresses 0..15 only)")
	// ErrNoFeedback: a joint with a feedback source has not delivered a sample yet.
	ErrNoFeedback = errors.New("gobot: no feedback sample yet")
)

// ServoJoint maps one hobby servo to a joint. The pulse for position q (rad) is
//
//	centre + Direction·(q − Offset)·(MaxPulse − MinPulse)/Range,  centre = (MinPulse+MaxPulse)/2
//
// and must stay within [MinPulse, MaxPulse] over the joint limits.
type ServoJoint struct {
	Name     string  `yaml:"joint"`     // joint name; required, unique
	Channel  int     `yaml:"channel"`   // PCA9685 output 0..15, or the Firmata (digital) pin 0..15
	MinPulse float64 `yaml:"min_pulse"` // µs at one end of the servo's travel; default 500 (PCA9685), 544 (Firmata)
	MaxPulse float64 `yaml:"max_pulse"` // µs at the other end; default 2500 (PCA9685), 2400 (Firmata)
	Range    float64 `yaml:"range"`     // rad of travel between MinPulse and MaxPulse; default π
	// Direction is +1 when the pulse grows with the joint position, -1 when reversed; default +1.
	Direction int     `yaml:"direction"`
	Offset    float64 `yaml:"offset"`  // joint position (rad) at the centre pulse; default 0
	Min       float64 `yaml:"min"`     // lower joint limit, rad; required, Min < Max
	Max       float64 `yaml:"max"`     // upper joint limit, rad
	MaxVel    float64 `yaml:"max_vel"` // rad/s; default 3
	MaxAcc    float64 `yaml:"max_acc"` // rad/s²; default 20
	// Home is the position (rad) commanded when the arm opens if the joint has no
	// feedback (a joint with feedback starts where it is measured). Default 0, clamped
	// into [Min, Max].
	Home float64 `yaml:"home"`
	// Feedback is the joint's position sensor; nil means none (Read echoes the command).
	Feedback *Feedback `yaml:"feedback"`
}

// Feedback is a sensor reading mapped linearly to the joint position through two
// calibration points: Reading0 means Pos0 rad and Reading1 means Pos1 rad.
type Feedback struct {
	// Address is the ADS1115's I2C address 0x48..0x4B (PCA9685 arms only); default 0x48.
	Address int `yaml:"address"`
	// Channel is the ADS1115 single-ended input 0..3 (PCA9685 arms), or the Firmata analog
	// channel 0..15 (A0..A15).
	Channel int `yaml:"channel"`
	// Reading0 and Reading1 are two readings: volts for an ADS1115, counts 0..1023 for a
	// Firmata analog input. They must differ.
	Reading0 float64 `yaml:"reading0"`
	Reading1 float64 `yaml:"reading1"`
	Pos0     float64 `yaml:"pos0"` // the joint position (rad) Reading0 means
	Pos1     float64 `yaml:"pos1"` // the joint position (rad) Reading1 means
}

// pos converts a reading to a joint position, rad.
func (f *Feedback) pos(r float64) float64 {
	return f.Pos0 + (r-f.Reading0)*(f.Pos1-f.Pos0)/(f.Reading1-f.Reading0)
}

// pulseDefaults are the board's default pulse range, µs.
type pulseDefaults struct{ min, max float64 }

// normalize applies the board's defaults d to js in place and validates it: pulses at
// least minPulse µs; firmata refuses pins and analog channels above 15 with ErrPinRange.
func normalize(js []ServoJoint, d pulseDefaults, minPulse float64, firmata bool) error {
	if len(js) == 0 {
		return fmt.Errorf("%w: joints: at least one required", ErrConfig)
	}
	names, chans := map[string]bool{}, map[int]bool{}
	for i := range js {
		j := &js[i]
		f := fmt.Sprintf("joints[%d]", i)
		bad := func(field, format string, a ...any) error {
			return fmt.Errorf("%w: %s.%s: %s", ErrConfig, f, field, fmt.Sprintf(format, a...))
		}
		if j.MinPulse == 0 {
			j.MinPulse = d.min
		}
		if j.MaxPulse == 0 {
			j.MaxPulse = d.max
		}
		if j.Range == 0 {
			j.Range = math.Pi
		}
		if j.Direction == 0 {
			j.Direction = 1
		}
		if j.MaxVel == 0 {
			j.MaxVel = 3
		}
		if j.MaxAcc == 0 {
			j.MaxAcc = 20
		}
		switch {
		case j.Name == "":
			return bad("name", "required")
		case names[j.Name]:
			return bad("name", "%q is used twice", j.Name)
		case firmata && j.Channel > 15:
			return fmt.Errorf("%w: %s.channel: pin %d: %w", ErrConfig, f, j.Channel, ErrPinRange)
		case j.Channel < 0 || j.Channel > 15:
			return bad("channel", "%d is outside 0..15", j.Channel)
		case chans[j.Channel]:
			return bad("channel", "%d is used twice", j.Channel)
		case !(j.MinPulse >= minPulse && j.MinPulse < j.MaxPulse && j.MaxPulse <= 16383):
			return bad("min_pulse", "pulse range %g..%g µs must be increasing within %g..16383", j.MinPulse, j.MaxPulse, minPulse)
		case !(j.Range > 0 && j.Range <= 4*math.Pi):
			return bad("range", "%g rad is outside (0, 4π]", j.Range)
		case j.Direction != 1 && j.Direction != -1:
			return bad("direction", "%d must be 1 or -1", j.Direction)
		case !(j.Min < j.Max) || math.IsInf(j.Min, 0) || math.IsInf(j.Max, 0):
			return bad("min", "limits [%g, %g] rad must be finite with min < max", j.Min, j.Max)
		case !(j.MaxVel > 0 && j.MaxAcc > 0):
			return bad("max_vel", "max_vel and max_acc must be positive")
		case math.IsNaN(j.Offset) || math.IsNaN(j.Home):
			return bad("offset", "offset and home must be numbers")
		}
		lo, hi := j.pulse(j.Min), j.pulse(j.Max)
		if lo > hi {
			lo, hi = hi, lo
		}
		if lo < j.MinPulse-1e-9 || hi > j.MaxPulse+1e-9 {
			return bad("min", "limits [%g, %g] rad need pulses %.1f..%.1f µs, outside the servo's %g..%g µs (check offset, range, min and max)",
				j.Min, j.Max, lo, hi, j.MinPulse, j.MaxPulse)
		}
		if fb := j.Feedback; fb != nil {
			if fb.Address == 0 && !firmata {
				fb.Address = 0x48
			}
			switch {
			case firmata && fb.Channel > 15:
				return fmt.Errorf("%w: %s.feedback.channel: analog channel %d: %w", ErrConfig, f, fb.Channel, ErrPinRange)
			case fb.Channel < 0 || (!firmata && fb.Channel > 3):
				return bad("feedback.channel", "%d is outside 0..%d", fb.Channel, map[bool]int{true: 15, false: 3}[firmata])
			case !firmata && (fb.Address < 0x48 || fb.Address > 0x4B):
				return bad("feedback.address", "0x%x is not an ADS1115 address 0x48..0x4B", fb.Address)
			case !(fb.Reading0 != fb.Reading1) || math.IsNaN(fb.Pos0) || math.IsNaN(fb.Pos1) || fb.Pos0 == fb.Pos1:
				return bad("feedback.reading0", "two distinct calibration points needed (reading0 %g → pos0 %g, reading1 %g → pos1 %g)",
					fb.Reading0, fb.Pos0, fb.Reading1, fb.Pos1)
			}
		}
		names[j.Name], chans[j.Channel] = true, true
	}
	return nil
}

// pulse returns the pulse width (µs) for joint position q (rad).
func (j *ServoJoint) pulse(q float64) float64 {
	c := (j.MinPulse + j.MaxPulse) / 2
	return c + float64(j.Direction)*(q-j.Offset)*(j.MaxPulse-j.MinPulse)/j.Range
}

// servoArm is the state common to both boards: the last command, feedback samples, metadata.
type servoArm struct {
	cfg    []ServoJoint
	joints []joint.Joint
	epoch  time.Time

	mu     sync.Mutex
	closed bool
	cmd    []float64 // last commanded positions, rad
	vel    []float64 // last feed-forward velocities, rad/s
	pulse  []float64 // pulse width to write this tick, µs

	fb    []atomic.Uint64 // latest feedback reading per joint (float64 bits; NaN: none yet)
	fbErr atomic.Pointer[error]
}

func newServoArm(cfg []ServoJoint) *servoArm {
	a := &servoArm{cfg: cfg, epoch: time.Now(), cmd: make([]float64, len(cfg)), vel: make([]float64, len(cfg)),
		pulse: make([]float64, len(cfg)), fb: make([]atomic.Uint64, len(cfg))}
	for i, j := range cfg {
		fb := joint.Commanded
		if j.Feedback != nil {
			fb = joint.Measured
		}
		a.fb[i].Store(math.Float64bits(math.NaN()))
		a.joints = append(a.joints, joint.Joint{Name: j.Name, Type: joint.Revolute, Feedback: fb,
			Limits: joint.Limits{Min: j.Min, Max: j.Max, MaxVel: j.MaxVel, MaxAcc: j.MaxAcc}})
	}
	return a
}

// Joints returns the joints in channel-configuration order; Feedback says whether Read
// measures each one or echoes its command.
func (a *servoArm) Joints() []joint.Joint { return append([]joint.Joint(nil), a.joints...) }

// setSample stores a feedback reading for joint i.
func (a *servoArm) setSample(i int, r float64) { a.fb[i].Store(math.Float64bits(r)) }

// measured returns joint i's measured position, or false when none has arrived.
func (a *servoArm) measured(i int) (float64, bool) {
	r := math.Float64frombits(a.fb[i].Load())
	if math.IsNaN(r) {
		return 0, false
	}
	return a.cfg[i].Feedback.pos(r), true
}

// Read fills s: measured positions where a joint has feedback, else the last command
// (with its feed-forward velocity). Efforts are zero. It fails wrapping ErrNoFeedback
// before the first sample, drivers.ErrFault when the feedback source fails.
func (a *servoArm) Read(_ context.Context, s *joint.State) error {
	s.Resize(len(a.cfg))
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return drivers.ErrClosed
	}
	if e := a.fbErr.Load(); e != nil {
		return fmt.Errorf("gobot: feedback: %w: %w", drivers.ErrFault, *e)
	}
	for i := range a.cfg {
		s.Eff[i] = 0
		if a.cfg[i].Feedback == nil {
			s.Pos[i], s.Vel[i] = a.cmd[i], a.vel[i]
			continue
		}
		q, ok := a.measured(i)
		if !ok {
			return fmt.Errorf("gobot: joint %q: %w", a.cfg[i].Name, ErrNoFeedback)
		}
		s.Pos[i], s.Vel[i] = q, 0
	}
	s.Time = time.Since(a.epoch)
	return nil
}

// plan checks c, clamps it into the limits and stores it with its pulse widths; the
// caller holds a.mu and then writes a.pulse.
func (a *servoArm) plan(c joint.Command) error {
	if a.closed {
		return drivers.ErrClosed
	}
	if len(c.Pos) != len(a.cfg) || (len(c.Vel) != 0 && len(c.Vel) != len(a.cfg)) {
		return fmt.Errorf("gobot: command has %d positions and %d velocities for %d joints", len(c.Pos), len(c.Vel), len(a.cfg))
	}
	for i, q := range c.Pos {
		if math.IsNaN(q) {
			return fmt.Errorf("gobot: joint %q: position is NaN", a.cfg[i].Name)
		}
	}
	for i := range a.cfg {
		j := &a.cfg[i]
		q := a.joints[i].Limits.Clamp(c.Pos[i])
		a.cmd[i] = q
		a.vel[i] = 0
		if len(c.Vel) > 0 && !math.IsNaN(c.Vel[i]) {
			a.vel[i] = c.Vel[i]
		}
		a.pulse[i] = j.pulse(q)
	}
	return nil
}

// home sets the first command: measured positions for joints with feedback, else Home.
func (a *servoArm) home() joint.Command {
	c := joint.Command{Pos: make([]float64, len(a.cfg))}
	for i, j := range a.cfg {
		c.Pos[i] = a.joints[i].Limits.Clamp(j.Home)
		if q, ok := a.measured(i); ok {
			c.Pos[i] = a.joints[i].Limits.Clamp(q)
		}
	}
	return c
}

// ErrNoTorqueOff: SetTorque(false) on an arm with a joint that has no feedback, whose
// position would be unknown once moved by hand. It wraps drivers.ErrUnsupported, so a
// recorder treats the arm as one that cannot go limp.
var ErrNoTorqueOff = fmt.Errorf("gobot: torque off needs feedback on every joint (%w)", drivers.ErrUnsupported)

// checkLimp returns ErrNoTorqueOff naming the first joint without feedback.
func (a *servoArm) checkLimp() error {
	for _, j := range a.cfg {
		if j.Feedback == nil {
			return fmt.Errorf("%w: joint %q has none", ErrNoTorqueOff, j.Name)
		}
	}
	return nil
}

// hold returns a command to the measured positions (for torque on).
func (a *servoArm) hold() (joint.Command, error) {
	c := joint.Command{Pos: make([]float64, len(a.cfg))}
	for i := range a.cfg {
		q, ok := a.measured(i)
		if !ok {
			return c, fmt.Errorf("gobot: joint %q: %w", a.cfg[i].Name, ErrNoFeedback)
		}
		c.Pos[i] = q
	}
	return c, nil
}
