// Package servo holds what every servo-bus driver and simulator share: the one
// calibration between a servo's position ticks and a joint's radians. It imports only
// the standard library, so codecs, drivers and simulators can all use it.
package servo

import (
	"fmt"
	"math"
)

// Calibration maps servo position ticks to joint radians:
//
//	rad = Direction · (ticks − Zero()) · 2π / Resolution,  Zero() = Resolution/2 + Offset
//
// The zero value is usable: the centre tick (2048 of 4096) at 0 rad, direction +1.
// Homing offsets that a servo applies itself (Dynamixel Homing Offset, Feetech
// Homing_Offset / Ofs) are already in the ticks the servo reports; Offset is the host's
// own correction on top.
type Calibration struct {
	Offset     int32 // ticks from the centre tick (Resolution/2) to the tick at 0 rad
	Direction  int8  // +1 or −1; 0 means +1
	Resolution int32 // ticks per revolution; 0 means 4096
}

// DefaultResolution is the ticks per revolution of a zero Calibration (12-bit encoders).
const DefaultResolution = 4096

// AtTick returns the calibration with tick zero at 0 rad, direction dir (0 means +1)
// and res ticks per revolution (0 means 4096).
func AtTick(zero int, dir int, res int) Calibration {
	c := Calibration{Direction: int8(dir), Resolution: int32(res)}
	c.Offset = int32(zero) - c.Res()/2
	return c
}

// Validate reports a direction other than ±1 (or 0) or a resolution outside 2..1<<20.
func (c Calibration) Validate() error {
	if c.Direction < -1 || c.Direction > 1 {
		return fmt.Errorf("servo: calibration: direction %d, want +1 or -1", c.Direction)
	}
	if c.Resolution != 0 && (c.Resolution < 2 || c.Resolution > 1<<20) {
		return fmt.Errorf("servo: calibration: resolution %d ticks/rev outside 2..%d", c.Resolution, 1<<20)
	}
	return nil
}

// Res returns the ticks per revolution (4096 when unset).
func (c Calibration) Res() int32 {
	if c.Resolution <= 0 {
		return DefaultResolution
	}
	return c.Resolution
}

// Dir returns +1 or −1.
func (c Calibration) Dir() float64 {
	if c.Direction < 0 {
		return -1
	}
	return 1
}

// Zero returns the tick at 0 rad.
func (c Calibration) Zero() int32 { return c.Res()/2 + c.Offset }

// Radians converts a position in ticks to rad.
func (c Calibration) Radians(ticks int32) float64 {
	return c.Dir() * float64(int64(ticks)-int64(c.Zero())) * 2 * math.Pi / float64(c.Res())
}

// RadiansAt converts a fractional position in ticks (a normalised or interpolated value
// mapped back to ticks) to rad, as Radians does for whole ticks.
func (c Calibration) RadiansAt(ticks float64) float64 {
	return c.Dir() * (ticks - float64(c.Zero())) * 2 * math.Pi / float64(c.Res())
}

// Ticks converts rad to the nearest tick, saturating at the int32 range; NaN gives the
// zero-radian tick.
func (c Calibration) Ticks(rad float64) int32 {
	zero := float64(c.Zero())
	if math.IsNaN(rad) {
		return int32(zero)
	}
	t := math.Round(zero + c.Dir()*rad*float64(c.Res())/(2*math.Pi))
	return int32(max(min(t, math.MaxInt32), math.MinInt32))
}

// TicksWithin converts rad, within [lo, hi] rad, to the nearest tick whose angle is
// also within [lo, hi]: rounding to the nearest tick alone may land up to half a tick
// beyond a limit the caller has just clamped to. A range narrower than a tick (or lo >
// hi) gives Ticks(rad).
func (c Calibration) TicksWithin(rad, lo, hi float64) int32 {
	t := c.Ticks(rad)
	if !(hi-lo >= c.TickRadians()) {
		return t
	}
	step := int32(c.Dir()) // one tick toward larger angles
	if c.Radians(t) > hi {
		t -= step
	} else if c.Radians(t) < lo {
		t += step
	}
	return t
}

// TickRadians is the angle of one tick, rad.
func (c Calibration) TickRadians() float64 { return 2 * math.Pi / float64(c.Res()) }

// Velocity converts a velocity register value to rad/s given the register's unit in
// rad/s per LSB (Dynamixel 0.229 rev/min; Feetech one tick per second: TickRadians).
func (c Calibration) Velocity(raw int32, unit float64) float64 {
	return c.Dir() * float64(raw) * unit
}

// VelocityRaw converts rad/s to the nearest velocity register value given the unit in
// rad/s per LSB, saturating at the int32 range; NaN or a zero unit give 0.
func (c Calibration) VelocityRaw(radps, unit float64) int32 {
	if unit == 0 || math.IsNaN(radps) {
		return 0
	}
	v := math.Round(c.Dir() * radps / unit)
	return int32(max(min(v, math.MaxInt32), math.MinInt32))
}
