package busarm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/praxis-robotics/praxis/drivers/servo"
)

// LeRobotMotor is one motor of a LeRobot calibration file (lerobot/motors/motors_bus.py,
// MotorCalibration): servo ID, drive mode (1 inverts the direction), the Homing_Offset
// written to the servo, and the range of Present_Position (ticks, after the homing
// offset) that the operator moved the joint through.
type LeRobotMotor struct {
	Name         string `json:"-"`
	ID           int    `json:"id"`
	DriveMode    int    `json:"drive_mode"`
	HomingOffset int    `json:"homing_offset"`
	RangeMin     int    `json:"range_min"`
	RangeMax     int    `json:"range_max"`
}

// LeRobotCalibration is a LeRobot calibration file: a JSON object from motor name to
// LeRobotMotor, motors in arm order (e.g. ~/.cache/huggingface/lerobot/calibration/
// robots/so101_follower/<id>.json).
type LeRobotCalibration []LeRobotMotor

// ReadLeRobotCalibration decodes a LeRobot calibration file, keeping the motors' order.
// Errors name the motor and field at fault.
func ReadLeRobotCalibration(r io.Reader) (LeRobotCalibration, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("busarm: lerobot calibration: want a JSON object of motors (%v)", err)
	}
	var out LeRobotCalibration
	seen := map[string]bool{}
	ids := map[int]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("busarm: lerobot calibration: %w", err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("busarm: lerobot calibration: motor %q: %w", name, err)
		}
		var m struct {
			ID           *int `json:"id"`
			DriveMode    *int `json:"drive_mode"`
			HomingOffset *int `json:"homing_offset"`
			RangeMin     *int `json:"range_min"`
			RangeMax     *int `json:"range_max"`
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&m); err != nil {
			return nil, fmt.Errorf("busarm: lerobot calibration: motor %q: %w", name, err)
		}
		switch {
		case name == "" || seen[name]:
			return nil, fmt.Errorf("busarm: lerobot calibration: motor name %q empty or repeated", name)
		case m.ID == nil || m.DriveMode == nil || m.HomingOffset == nil || m.RangeMin == nil || m.RangeMax == nil:
			return nil, fmt.Errorf("busarm: lerobot calibration: motor %q: want id, drive_mode, homing_offset, range_min and range_max", name)
		case *m.ID < 0 || *m.ID > 252:
			return nil, fmt.Errorf("busarm: lerobot calibration: motor %q: id %d outside 0..252", name, *m.ID)
		case ids[*m.ID] != "":
			return nil, fmt.Errorf("busarm: lerobot calibration: motor %q: id %d also used by %q", name, *m.ID, ids[*m.ID])
		case *m.DriveMode != 0 && *m.DriveMode != 1:
			return nil, fmt.Errorf("busarm: lerobot calibration: motor %q: drive_mode %d, want 0 or 1", name, *m.DriveMode)
		case *m.RangeMin >= *m.RangeMax:
			return nil, fmt.Errorf("busarm: lerobot calibration: motor %q: range_min %d not below range_max %d", name, *m.RangeMin, *m.RangeMax)
		}
		seen[name], ids[*m.ID] = true, name
		out = append(out, LeRobotMotor{Name: name, ID: *m.ID, DriveMode: *m.DriveMode, HomingOffset: *m.HomingOffset, RangeMin: *m.RangeMin, RangeMax: *m.RangeMax})
	}
	if len(out) == 0 {
		return nil, errors.New("busarm: lerobot calibration: no motors")
	}
	return out, nil
}

// Write encodes c as LeRobot writes it (json.dump with indent 4), motors in order.
func (c LeRobotCalibration) Write(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, m := range c {
		name, _ := json.Marshal(m.Name)
		fmt.Fprintf(&b, "    %s: {\n        \"id\": %d,\n        \"drive_mode\": %d,\n        \"homing_offset\": %d,\n        \"range_min\": %d,\n        \"range_max\": %d\n    }",
			name, m.ID, m.DriveMode, m.HomingOffset, m.RangeMin, m.RangeMax)
		if i < len(c)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}")
	_, err := w.Write(b.Bytes())
	return err
}

// ArmConfig returns the arm config an arm calibrated by LeRobot gets here: each joint's
// zero at the middle of its range (LeRobot's degrees mode measures from there; with
// LeRobot's half-turn homing that is tick ≈ 2047) and the range as the joint limits, rad.
// drive_mode 1 gives direction −1 on Feetech, where LeRobot applies it in software; on
// Dynamixel the servo reverses itself (Drive_Mode bit 0, which ApplyLeRobot writes;
// LeRobot's DynamixelMotorsBus has apply_drive_mode False), so the direction stays +1.
// The homing offsets live in the servos (see ApplyLeRobot).
func (c LeRobotCalibration) ArmConfig(driver string) (Config, error) {
	r, err := RegistersFor(driver)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Driver: driver, Baud: DefaultBaud}
	for _, m := range c {
		s := Servo{ID: m.ID, Joint: m.Name, Offset: float64(m.RangeMin+m.RangeMax) / 2, Direction: 1, Ticks: DefaultTicks}
		if m.DriveMode == 1 && r.DriveMode < 0 {
			s.Direction = -1
		}
		a, b := s.Radians(m.RangeMin), s.Radians(m.RangeMax)
		s.Min, s.Max = math.Min(a, b), math.Max(a, b)
		cfg.Servos = append(cfg.Servos, s)
	}
	return cfg, cfg.Validate()
}

// LeRobotFrom returns the LeRobot calibration of an arm config: range_min/range_max are
// the ticks of the joint limits, drive_mode 1 for direction −1, and homing offsets as
// read from the servos (homing, by ID; absent IDs get 0). On Dynamixel a direction −1 is
// an error: LeRobot reverses a Dynamixel servo in its Drive_Mode register, never in
// software, so the file would not describe the arm (use ReadLeRobot, which reads it).
func LeRobotFrom(cfg Config, homing map[byte]int) (LeRobotCalibration, error) {
	n, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	var out LeRobotCalibration
	for _, s := range n.Servos {
		a, b := s.TicksAt(s.Min), s.TicksAt(s.Max)
		m := LeRobotMotor{Name: s.Joint, ID: s.ID, HomingOffset: homing[byte(s.ID)], RangeMin: min(a, b), RangeMax: max(a, b)}
		if s.Direction < 0 {
			if n.Driver == Dynamixel {
				return nil, fmt.Errorf("busarm: %s (servo %d): direction -1 on %s: LeRobot reverses these servos in their Drive_Mode register, not in software", s.Joint, s.ID, Dynamixel)
			}
			m.DriveMode = 1
		}
		out = append(out, m)
	}
	return out, nil
}

// ApplyLeRobot writes each motor's Homing_Offset and position limits (range_min,
// range_max) to the servos, as LeRobot's write_calibration does; torque goes off first.
// On Dynamixel it also sets Drive_Mode bit 0 to drive_mode (other bits kept), as LeRobot's
// Koch calibrate does before it measures (write_calibration itself leaves the register
// alone), so that the servo reverses itself and ReadLeRobot reads the file back.
func ApplyLeRobot(ctx context.Context, b servo.Bus, driver string, c LeRobotCalibration) error {
	r, err := RegistersFor(driver)
	if err != nil {
		return err
	}
	for _, m := range c {
		id := byte(m.ID)
		if err := unlock(ctx, b, r, id); err != nil {
			return fmt.Errorf("busarm: %s (servo %d): %w", m.Name, id, err)
		}
		if r.DriveMode >= 0 {
			var dm [1]byte
			if err := b.ReadRegister(ctx, id, uint16(r.DriveMode), dm[:]); err != nil {
				return fmt.Errorf("busarm: %s (servo %d): read drive mode: %w", m.Name, id, err)
			}
			if want := dm[0]&^1 | byte(m.DriveMode); want != dm[0] {
				if err := b.WriteRegister(ctx, id, uint16(r.DriveMode), []byte{want}); err != nil {
					return fmt.Errorf("busarm: %s (servo %d): drive mode: %w", m.Name, id, err)
				}
			}
		}
		for _, w := range []struct {
			addr uint16
			data []byte
			what string
		}{
			{r.HomingOffset, r.EncodeHoming(m.HomingOffset), "homing offset"},
			{r.MinLimit, r.putUint(m.RangeMin, r.LimitSize), "min position limit"},
			{r.MaxLimit, r.putUint(m.RangeMax, r.LimitSize), "max position limit"},
		} {
			if err := b.WriteRegister(ctx, id, w.addr, w.data); err != nil {
				return fmt.Errorf("busarm: %s (servo %d): %s: %w", m.Name, id, w.what, err)
			}
		}
	}
	return nil
}

// ReadLeRobot reads the calibration stored in the servos (Homing_Offset and position
// limits), as LeRobot's read_calibration does, for the servos of cfg. drive_mode is
// Drive_Mode bit 0 on Dynamixel (LeRobot reads the register); on Feetech, where LeRobot
// keeps it in the file only, it comes from the config's directions.
func ReadLeRobot(ctx context.Context, b servo.Bus, cfg Config) (LeRobotCalibration, error) {
	r, err := RegistersFor(cfg.Driver)
	if err != nil {
		return nil, err
	}
	var out LeRobotCalibration
	for _, s := range cfg.Servos {
		id := byte(s.ID)
		h := make([]byte, len(r.EncodeHoming(0)))
		lo, hi := make([]byte, r.LimitSize), make([]byte, r.LimitSize)
		for _, rd := range []struct {
			addr uint16
			buf  []byte
		}{{r.HomingOffset, h}, {r.MinLimit, lo}, {r.MaxLimit, hi}} {
			if err := b.ReadRegister(ctx, id, rd.addr, rd.buf); err != nil {
				return nil, fmt.Errorf("busarm: %s (servo %d): %w", s.Joint, id, err)
			}
		}
		m := LeRobotMotor{Name: s.Joint, ID: s.ID, HomingOffset: r.DecodeHoming(h), RangeMin: r.getUint(lo), RangeMax: r.getUint(hi)}
		switch {
		case r.DriveMode >= 0:
			var dm [1]byte
			if err := b.ReadRegister(ctx, id, uint16(r.DriveMode), dm[:]); err != nil {
				return nil, fmt.Errorf("busarm: %s (servo %d): drive mode: %w", s.Joint, id, err)
			}
			m.DriveMode = int(dm[0] & 1)
		case s.Direction < 0:
			m.DriveMode = 1
		}
		out = append(out, m)
	}
	return out, nil
}
