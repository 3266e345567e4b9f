package daemon

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	fwarm "github.com/praxis-robotics/praxis/firmware-bridge/driver"
	fwlink "github.com/praxis-robotics/praxis/firmware-bridge/link"
)

// FirmwareConfig configures arm.driver firmware: a firmware-bridge board (hobby servos by
// pulse width, a potentiometer per joint; firmware-bridge/PROTOCOL.md) on arm.port at
// arm.baud.
type FirmwareConfig struct {
	Joints    []FirmwareJoint `yaml:"joints"`     // one per servo channel, in channel order; required
	Timeout   time.Duration   `yaml:"timeout"`    // board stops the servos after this much host silence; default 250ms, at most 65s
	OnTimeout string          `yaml:"on_timeout"` // detach (default: servos limp) or hold (keep the last pulse)
	Slew      bool            `yaml:"slew"`       // board limits each servo to its max_vel; default false
	// ReplyTimeout is how long the host waits for the board's answer; default 100ms, or
	// two thirds of timeout − 2 × heartbeat when that is less. ReplyTimeout + 2 × heartbeat
	// must be shorter than Timeout, so that one lost frame never trips the board.
	ReplyTimeout time.Duration `yaml:"reply_timeout"`
}

// FirmwareJoint calibrates one servo channel: the pulse width and pot reading at the two
// joint limits (reversed servos or pots: give the larger value at min).
type FirmwareJoint struct {
	Name     string  `yaml:"name"`      // joint name; required
	Min      float64 `yaml:"min"`       // lower limit, rad; required (min < max)
	Max      float64 `yaml:"max"`       // upper limit, rad
	PulseMin float64 `yaml:"pulse_min"` // pulse width at min, µs; default 500
	PulseMax float64 `yaml:"pulse_max"` // pulse width at max, µs; default 2500
	AdcMin   float64 `yaml:"adc_min"`   // pot reading at min, counts; default 0
	AdcMax   float64 `yaml:"adc_max"`   // pot reading at max, counts; default 1023
	MaxVel   float64 `yaml:"max_vel"`   // rad/s; default 3
}

// defaults fills the firmware defaults (called from Config.defaults).
func (f *FirmwareConfig) defaults() {
	if f.Timeout == 0 {
		f.Timeout = 250 * time.Millisecond
	}
	if f.ReplyTimeout == 0 {
		f.ReplyTimeout = fwlink.DefaultReplyTimeout(f.Timeout, f.heartbeat())
	}
	if f.OnTimeout == "" {
		f.OnTimeout = "detach"
	}
	for i := range f.Joints {
		j := &f.Joints[i]
		if j.PulseMin == 0 && j.PulseMax == 0 {
			j.PulseMin, j.PulseMax = 500, 2500
		}
		if j.AdcMin == 0 && j.AdcMax == 0 {
			j.AdcMax = 1023
		}
		if j.MaxVel == 0 {
			j.MaxVel = 3
		}
	}
}

// validate checks arm.firmware for driver firmware.
func (f *FirmwareConfig) validate(bad func(field, format string, args ...any) error) error {
	if f.OnTimeout != "detach" && f.OnTimeout != "hold" {
		return bad("arm.firmware.on_timeout", "%q is not one of detach, hold", f.OnTimeout)
	}
	if f.ReplyTimeout < 0 || f.ReplyTimeout > 10*time.Second {
		return bad("arm.firmware.reply_timeout", "%v is outside (0, 10s]", f.ReplyTimeout)
	}
	if f.Timeout < 0 || f.Timeout > 65*time.Second {
		return bad("arm.firmware.timeout", "%v is outside [0, 65s]", f.Timeout)
	}
	if hb := f.heartbeat(); f.Timeout > 0 && f.ReplyTimeout+2*hb >= f.Timeout {
		return bad("arm.firmware.reply_timeout", "%v plus two host heartbeats (2 × %v) must be shorter than arm.firmware.timeout %v: one lost frame would leave the board silent that long and stop the servos",
			f.ReplyTimeout, hb, f.Timeout)
	}
	if len(f.Joints) == 0 || len(f.Joints) > 8 {
		return bad("arm.firmware.joints", "%d joints; want 1..8 (required for driver firmware)", len(f.Joints))
	}
	seen := map[string]bool{}
	for i, j := range f.Joints {
		p := fmt.Sprintf("arm.firmware.joints[%d]", i)
		switch {
		case j.Name == "":
			return bad(p+".name", "required")
		case seen[j.Name]:
			return bad(p+".name", "%q is used twice", j.Name)
		case math.IsNaN(j.Min) || math.IsNaN(j.Max) || j.Min >= j.Max:
			return bad(p+".min", "%g must be below max %g", j.Min, j.Max)
		case j.PulseMin == j.PulseMax || j.PulseMin < 1 || j.PulseMax < 1 || j.PulseMin > 65535 || j.PulseMax > 65535:
			return bad(p+".pulse_min", "%g and pulse_max %g must differ and lie in 1..65535 µs", j.PulseMin, j.PulseMax)
		case j.AdcMin == j.AdcMax || j.AdcMin < 0 || j.AdcMax < 0:
			return bad(p+".adc_min", "%g and adc_max %g must differ and be non-negative", j.AdcMin, j.AdcMax)
		case j.MaxVel <= 0:
			return bad(p+".max_vel", "%g must be positive", j.MaxVel)
		}
		seen[j.Name] = true
	}
	return nil
}

// heartbeat is the host's longest idle silence for arm.firmware: 50 ms, or a third of a
// timeout of 50 ms or less.
func (f *FirmwareConfig) heartbeat() time.Duration {
	if f.Timeout > 0 && f.Timeout <= 50*time.Millisecond {
		return f.Timeout / 3
	}
	return 50 * time.Millisecond
}

// fwarmConfig is the driver configuration of arm.firmware.
func (a ArmConfig) fwarmConfig() fwarm.Config {
	f := a.Firmware
	c := fwarm.Config{FirmwareTimeout: f.Timeout, Hold: f.OnTimeout == "hold", Slew: f.Slew, ReplyTimeout: f.ReplyTimeout}
	if f.Timeout == 0 {
		c.FirmwareTimeout = -1 // off
	}
	c.Heartbeat = f.heartbeat()
	for _, j := range f.Joints {
		c.Joints = append(c.Joints, fwarm.Joint{Name: j.Name, Min: j.Min, Max: j.Max, PulseMin: j.PulseMin,
			PulseMax: j.PulseMax, AdcMin: j.AdcMin, AdcMax: j.AdcMax, MaxVel: j.MaxVel})
	}
	return c
}

// openFirmwareArm opens and sets up the firmware-bridge arm of d.cfg.Arm.
func (d *Daemon) openFirmwareArm(ctx context.Context) (drivers.Arm, error) {
	ac := d.cfg.Arm
	fc := ac.fwarmConfig()
	fc.Clock = d.opt.Clock // the executor's clock when it paces on a simulated board's
	a, err := fwarm.Open(ac.Port, ac.Baud, fc)
	if err != nil {
		return nil, fmt.Errorf("daemon: arm.port: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, SetupTimeout)
	defer cancel()
	if err := a.Setup(sctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("daemon: arm: firmware board on %s at %d bit/s did not set up (check the port, arm.baud and that the board runs the firmware-bridge firmware): %w",
			ac.Port, ac.Baud, err)
	}
	d.log.Info("firmware arm ready", "port", ac.Port, "baud", ac.Baud, "joints", len(ac.Firmware.Joints))
	return a, nil
}
