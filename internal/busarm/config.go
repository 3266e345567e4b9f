// Package busarm is the one definition of how an arm's joints sit on a servo bus: which
// servo ID drives which joint and how its ticks map to radians. The drivers
// (drivers/dynamixel, drivers/feetech) and the bus impersonators (sim/wire/dynamixel,
// sim/wire/feetech) are both configured from a Config, so a simulated bus and the driver
// reading it always agree on the calibration.
//
// Calibration: rad = Direction · (ticks − Offset) · 2π / Ticks, where Offset is the tick at
// 0 rad. The YAML shape of Config is the daemon's `arm:` section (driver, port, baud,
// servos), so a calibration file written by `praxis bus calibrate` is a valid daemon config.
package busarm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/dynamixel"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/drivers/feetech"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	stssim "github.com/praxis-robotics/praxis/sim/wire/feetech"
)

// Bus kinds.
const (
	Dynamixel = "dynamixel" // ROBOTIS Dynamixel X series, Protocol 2.0
	Feetech   = "feetech"   // Feetech STS/SMS (STS3215)
)

// Defaults of the SO-101 arm on its bus.
const (
	DefaultTicks = 4096      // ticks per revolution
	DefaultBaud  = 1_000_000 // bits/s
)

// SO101Joints are the SO-101's joints in bus order: servo IDs 1..6.
var SO101Joints = []string{"shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"}

// Servo maps one bus servo to a joint with its calibration; the fields and YAML keys are
// those of the daemon's arm.servos entries.
type Servo struct {
	ID        int     `yaml:"id"`                // bus ID, 0..252
	Joint     string  `yaml:"joint"`             // joint name, unique
	Offset    float64 `yaml:"offset"`            // ticks at 0 rad (rounded to a whole tick); 0 means Ticks/2
	Direction int     `yaml:"direction"`         // +1 or -1; 0 means +1
	Ticks     int     `yaml:"ticks"`             // ticks per revolution; 0 means 4096
	Min       float64 `yaml:"min"`               // lower position limit, rad; Min = Max = 0: none
	Max       float64 `yaml:"max"`               // upper position limit, rad
	MaxVel    float64 `yaml:"max_vel,omitempty"` // rad/s; 0: unset
	MaxAcc    float64 `yaml:"max_acc,omitempty"` // rad/s²; 0: unset
}

// Config is an arm on one servo bus, in the shape of the daemon's `arm:` section.
type Config struct {
	Driver string  `yaml:"driver"`         // Dynamixel or Feetech; required
	Port   string  `yaml:"port,omitempty"` // serial device, e.g. /dev/ttyUSB0
	Baud   int     `yaml:"baud"`           // bits/s; 0 means 1 000 000
	Servos []Servo `yaml:"servos"`         // one per joint, in joint order; required
	// ReplyTimeout bounds the wait for each reply; 0 takes the driver's default.
	ReplyTimeout time.Duration `yaml:"-"`

	// Driver options; zero values take the driver's defaults.

	// Series is the control table: dynamixel "x" (default), "xl430", "xm430"; feetech
	// "sts" (default) or "scs".
	Series string `yaml:"series,omitempty"`
	// Retries is the extra attempts per tick for a servo whose reply was lost or
	// corrupted: 0 the driver's default (dynamixel 2, feetech 1), -1 none.
	Retries int `yaml:"-"`
	// FastSyncRead (dynamixel) reads all servos with one fast sync read (firmware ≥ 45).
	FastSyncRead bool `yaml:"fast_sync_read,omitempty"`
	// PositionOnly (dynamixel) reads present position alone; velocity is then a finite
	// difference of successive reads.
	PositionOnly bool `yaml:"position_only,omitempty"`
	// ExplicitOffsets takes every Servo.Offset as given, 0 included (tick 0 at 0 rad),
	// instead of reading 0 as Ticks/2: for callers (the daemon's config) that have
	// already applied their own defaults.
	ExplicitOffsets bool `yaml:"-"`
	// Clock timestamps the driver's State.Time; nil: the real clock. A simulated arm's
	// SimClock here keeps the driver on the simulation's time line.
	Clock clock.Clock `yaml:"-"`
}

// ForJoints returns a Config with servo ids[i] driving joints[i], centred (tick 2048 of
// 4096 at 0 rad), direction +1, and the joints' limits. ids nil means 1..len(joints).
func ForJoints(driver string, joints []joint.Joint, ids []int) (Config, error) {
	if ids == nil {
		for i := range joints {
			ids = append(ids, i+1)
		}
	}
	if len(ids) != len(joints) {
		return Config{}, fmt.Errorf("busarm: %d servo IDs for %d joints", len(ids), len(joints))
	}
	c := Config{Driver: driver, Baud: DefaultBaud}
	for i, j := range joints {
		c.Servos = append(c.Servos, Servo{
			ID: ids[i], Joint: j.Name, Offset: DefaultTicks / 2, Direction: 1, Ticks: DefaultTicks,
			Min: j.Limits.Min, Max: j.Limits.Max, MaxVel: j.Limits.MaxVel, MaxAcc: j.Limits.MaxAcc,
		})
	}
	return c, c.Validate()
}

// Normalize applies the defaults of zero fields (Baud, Offset, Direction, Ticks) and
// validates; errors name the bad field.
func (c *Config) Normalize() error {
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	for i := range c.Servos {
		s := &c.Servos[i]
		if s.Ticks == 0 {
			s.Ticks = DefaultTicks
		}
		if s.Offset == 0 && !c.ExplicitOffsets {
			s.Offset = float64(s.Ticks / 2)
		}
		if s.Direction == 0 {
			s.Direction = 1
		}
	}
	return c.Validate()
}

// Validate checks c without changing it; zero fields with defaults pass.
func (c *Config) Validate() error {
	maxID := 252
	switch c.Driver {
	case Dynamixel:
		if _, ok := dxlproto.LookupModel(c.Series); !ok {
			return fmt.Errorf("busarm: series %q: want x, xl430 or xm430 for %s", c.Series, Dynamixel)
		}
	case Feetech:
		if _, err := feetechSeries(c.Series); err != nil {
			return err
		}
		if c.FastSyncRead || c.PositionOnly {
			return fmt.Errorf("busarm: fast_sync_read and position_only are %s options", Dynamixel)
		}
		if c.Baud != 0 {
			if _, ok := ftproto.BaudCode(c.Baud); !ok {
				return fmt.Errorf("busarm: baud %d has no Feetech baud code (want one of 1000000, 500000, 250000, 128000, 115200, 76800, 57600, 38400)", c.Baud)
			}
		}
	default:
		return fmt.Errorf("busarm: driver %q: want %s or %s", c.Driver, Dynamixel, Feetech)
	}
	if c.Baud < 0 {
		return fmt.Errorf("busarm: baud %d is negative", c.Baud)
	}
	if c.ReplyTimeout < 0 {
		return fmt.Errorf("busarm: reply timeout %v is negative", c.ReplyTimeout)
	}
	if c.Retries < -1 {
		return fmt.Errorf("busarm: retries %d: want -1 (none), 0 (driver default) or more", c.Retries)
	}
	if len(c.Servos) == 0 {
		return errors.New("busarm: servos: none")
	}
	ids, names := map[int]bool{}, map[string]bool{}
	for i, s := range c.Servos {
		f := fmt.Sprintf("busarm: servos[%d]", i)
		switch {
		case s.ID < 0 || s.ID > maxID:
			return fmt.Errorf("%s.id: %d outside 0..%d", f, s.ID, maxID)
		case ids[s.ID]:
			return fmt.Errorf("%s.id: %d used twice", f, s.ID)
		case s.Joint == "":
			return fmt.Errorf("%s.joint: empty", f)
		case names[s.Joint]:
			return fmt.Errorf("%s.joint: %q used twice", f, s.Joint)
		case s.Direction != 0 && s.Direction != 1 && s.Direction != -1:
			return fmt.Errorf("%s.direction: %d, want 1 or -1", f, s.Direction)
		case s.Ticks < 0 || s.Ticks == 1 || s.Ticks > 32768:
			return fmt.Errorf("%s.ticks: %d outside 2..32768", f, s.Ticks)
		case math.IsNaN(s.Offset) || math.IsInf(s.Offset, 0) || s.Offset < 0 || s.Offset > 65535:
			return fmt.Errorf("%s.offset: %v outside 0..65535 ticks", f, s.Offset)
		case math.IsNaN(s.Min) || math.IsNaN(s.Max) || s.Min > s.Max:
			return fmt.Errorf("%s.min: %v above max %v", f, s.Min, s.Max)
		case !(s.MaxVel >= 0) || !(s.MaxAcc >= 0):
			return fmt.Errorf("%s.max_vel: max_vel %v and max_acc %v must not be negative", f, s.MaxVel, s.MaxAcc)
		}
		ids[s.ID], names[s.Joint] = true, true
	}
	return nil
}

// normalized returns a copy with defaults applied.
func (c Config) normalized() (Config, error) {
	c.Servos = append([]Servo(nil), c.Servos...)
	return c, c.Normalize()
}

func (s Servo) limits() joint.Limits {
	return joint.Limits{Min: s.Min, Max: s.Max, MaxVel: s.MaxVel, MaxAcc: s.MaxAcc}
}

// Cal is s's calibration (the one servo.Calibration of every driver and simulator);
// s must be normalized.
func (s Servo) Cal() servo.Calibration {
	return servo.AtTick(int(math.Round(s.Offset)), s.Direction, s.Ticks)
}

// DxlCalibration is s's calibration in drivers/dynamixel terms (s normalized).
func (s Servo) DxlCalibration() dxlproto.Calibration { return s.Cal() }

// Radians converts ticks to rad with s's calibration (s normalized).
func (s Servo) Radians(ticks int) float64 { return s.Cal().Radians(int32(ticks)) }

// TicksAt converts rad to the nearest tick with s's calibration (s normalized).
func (s Servo) TicksAt(rad float64) int { return int(s.Cal().Ticks(rad)) }

// DynamixelConfig returns the drivers/dynamixel configuration of c (defaults applied).
func (c Config) DynamixelConfig() (dynamixel.Config, error) {
	n, err := c.normalized()
	if err != nil {
		return dynamixel.Config{}, err
	}
	if n.Driver != Dynamixel {
		return dynamixel.Config{}, fmt.Errorf("busarm: driver is %q, not %s", n.Driver, Dynamixel)
	}
	dc := dynamixel.Config{Baud: n.Baud, ReplyTimeout: n.ReplyTimeout, Model: n.Series, Retries: n.Retries,
		FastSyncRead: n.FastSyncRead, PositionOnly: n.PositionOnly, Clock: n.Clock}
	for _, s := range n.Servos {
		dc.Servos = append(dc.Servos, dynamixel.Servo{ID: byte(s.ID), Joint: s.Joint, Cal: s.DxlCalibration(), Limits: s.limits()})
	}
	return dc, nil
}

// FeetechConfig returns the drivers/feetech configuration of c (defaults applied).
func (c Config) FeetechConfig() (feetech.Config, error) {
	n, err := c.normalized()
	if err != nil {
		return feetech.Config{}, err
	}
	if n.Driver != Feetech {
		return feetech.Config{}, fmt.Errorf("busarm: driver is %q, not %s", n.Driver, Feetech)
	}
	series, err := feetechSeries(n.Series)
	if err != nil {
		return feetech.Config{}, err
	}
	fc := feetech.Config{Series: series, Baud: n.Baud, ReplyTimeout: n.ReplyTimeout, Retries: n.Retries, Clock: n.Clock}
	for _, s := range n.Servos {
		fc.Joints = append(fc.Joints, feetech.JointConfig{
			Name: s.Joint, ID: byte(s.ID), Offset: int(math.Round(s.Offset)), Direction: s.Direction,
			Resolution: s.Ticks, Limits: s.limits(),
		})
	}
	return fc, nil
}

// feetechSeries maps a Config.Series name to the feetech series ("" is STS).
func feetechSeries(name string) (ftproto.Series, error) {
	switch name {
	case "", "sts":
		return ftproto.STS, nil
	case "scs":
		return ftproto.SCS, nil
	}
	return 0, fmt.Errorf("busarm: series %q: want sts or scs for %s", name, Feetech)
}

// stsServos returns the impersonator's view of the same calibration.
func (c Config) stsServos() []stssim.Servo {
	var out []stssim.Servo
	for _, s := range c.Servos {
		out = append(out, stssim.Servo{ID: byte(s.ID), Offset: int(math.Round(s.Offset)), Direction: s.Direction, Resolution: s.Ticks})
	}
	return out
}

// Arm is a servo-bus arm as both drivers provide it.
type Arm interface {
	drivers.Arm
	drivers.Compliant
	// Setup pings the servos, sets return delay 0 and switches torque on holding the pose.
	Setup(ctx context.Context) error
}

// Open opens the arm c describes on the serial port (c.Port when port is ""). It does
// not touch the servos: call Setup.
func Open(port string, c Config) (Arm, error) {
	if port == "" {
		port = c.Port
	}
	if port == "" {
		return nil, errors.New("busarm: no port")
	}
	switch c.Driver {
	case Dynamixel:
		dc, err := c.DynamixelConfig()
		if err != nil {
			return nil, err
		}
		a, err := dynamixel.Open(port, dc)
		if err != nil {
			return nil, err
		}
		return a, nil
	case Feetech:
		fc, err := c.FeetechConfig()
		if err != nil {
			return nil, err
		}
		d, err := feetech.Open(port, fc)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("busarm: driver %q: want %s or %s", c.Driver, Dynamixel, Feetech)
}
