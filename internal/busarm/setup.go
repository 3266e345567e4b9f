package busarm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/drivers/servo"
)

// Registers are the control-table facts that arm set-up needs from a protocol.
type Registers struct {
	ID, Baud, ReturnDelay, TorqueEnable uint16
	HomingOffset                        uint16
	MinLimit, MaxLimit                  uint16 // position limits
	LimitSize                           int    // bytes of each position limit
	PresentPosition                     uint16
	PositionSize                        int // bytes of Present_Position
	Lock                                int // EEPROM lock register (Feetech 55); -1: none
	// DriveMode is the Drive_Mode register whose bit 0 reverses the servo in firmware
	// (Dynamixel 10, e-manual Drive Mode(10)); -1: none, the direction is applied in
	// software (Feetech, as LeRobot's FeetechMotorsBus does with apply_drive_mode).
	DriveMode int
	// HomingSign says how the servo applies Homing_Offset H to its reported position:
	// +1 Present = Actual + H (Dynamixel, e-manual Homing Offset(20)); −1 Present =
	// Actual − H (Feetech STS, as LeRobot documents it).
	HomingSign int
	Resolution int // ticks per revolution
}

// RegistersFor returns the set-up registers of a bus kind (Dynamixel X series or Feetech STS).
func RegistersFor(driver string) (Registers, error) {
	switch driver {
	case Dynamixel:
		return Registers{ID: dxlproto.AddrID, Baud: dxlproto.AddrBaudRate, ReturnDelay: 9, TorqueEnable: 64,
			HomingOffset: 20, MinLimit: 52, MaxLimit: 48, LimitSize: 4, PresentPosition: 132, PositionSize: 4,
			Lock: -1, DriveMode: 10, HomingSign: 1, Resolution: 4096}, nil
	case Feetech:
		return Registers{ID: ftproto.RegID, Baud: ftproto.RegBaud, ReturnDelay: ftproto.RegReturnDelay,
			TorqueEnable: ftproto.RegTorqueEnable, HomingOffset: ftproto.RegHomingOffset,
			MinLimit: ftproto.RegMinAngle, MaxLimit: ftproto.RegMaxAngle, LimitSize: 2,
			PresentPosition: ftproto.RegPresentPosition, PositionSize: 2, Lock: ftproto.RegLockSTS,
			DriveMode: -1, HomingSign: -1, Resolution: 4096}, nil
	}
	return Registers{}, fmt.Errorf("busarm: driver %q: want %s or %s", driver, Dynamixel, Feetech)
}

// dxlBauds are the X series' Baud Rate (8) codes, bits/s.
var dxlBauds = []int{9600, 57600, 115200, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 4_500_000}

// BaudCode returns the baud register value of rate on a bus kind.
func BaudCode(driver string, rate int) (byte, error) {
	switch driver {
	case Dynamixel:
		for i, r := range dxlBauds {
			if r == rate {
				return byte(i), nil
			}
		}
		return 0, fmt.Errorf("busarm: %d bit/s is not a Dynamixel X rate (%v)", rate, dxlBauds)
	case Feetech:
		if c, ok := ftproto.BaudCode(rate); ok {
			return c, nil
		}
		return 0, fmt.Errorf("busarm: %d bit/s has no Feetech baud code", rate)
	}
	return 0, fmt.Errorf("busarm: driver %q: want %s or %s", driver, Dynamixel, Feetech)
}

// ErrNoServo: a broadcast ping found nobody.
var ErrNoServo = errors.New("busarm: no servo answered")

// ErrManyServos: set-up found more than one servo where it needs exactly one.
var ErrManyServos = errors.New("busarm: more than one servo answered")

// FindSingle broadcast-pings b and returns the one servo on it: ErrNoServo or
// ErrManyServos (naming the IDs) otherwise.
func FindSingle(ctx context.Context, b servo.Bus) (servo.Found, error) {
	fs, err := b.BroadcastPing(ctx)
	if err != nil {
		return servo.Found{}, err
	}
	switch len(fs) {
	case 0:
		return servo.Found{}, ErrNoServo
	case 1:
		return fs[0], nil
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, fmt.Sprint(f.ID))
	}
	return servo.Found{}, fmt.Errorf("%w (IDs %s): connect only the one to set up", ErrManyServos, strings.Join(ids, ", "))
}

// unlock switches torque off and, on Feetech, clears the EEPROM lock, so that EEPROM
// writes take effect and persist (as LeRobot's disable_torque does).
func unlock(ctx context.Context, b servo.Bus, r Registers, id byte) error {
	if err := b.WriteRegister(ctx, id, r.TorqueEnable, []byte{0}); err != nil {
		return fmt.Errorf("torque off: %w", err)
	}
	if r.Lock >= 0 {
		if err := b.WriteRegister(ctx, id, uint16(r.Lock), []byte{0}); err != nil {
			return fmt.Errorf("unlock EEPROM: %w", err)
		}
	}
	return nil
}

// AssignID sets up the single servo now on b as LeRobot's setup_motors does: torque off
// (and EEPROM unlocked), ID target (the servo answers this write from its old ID),
// return delay 0, then baud code. After a baud change the servo talks only at the new
// rate: reopen the port. It returns the servo as found.
func AssignID(ctx context.Context, b servo.Bus, driver string, target byte, baudCode byte) (servo.Found, error) {
	r, err := RegistersFor(driver)
	if err != nil {
		return servo.Found{}, err
	}
	f, err := FindSingle(ctx, b)
	if err != nil {
		return f, err
	}
	id := f.ID
	if err := unlock(ctx, b, r, id); err != nil {
		return f, fmt.Errorf("busarm: servo %d: %w", id, err)
	}
	if id != target {
		if err := b.WriteRegister(ctx, id, r.ID, []byte{target}); err != nil {
			return f, fmt.Errorf("busarm: servo %d: write ID %d: %w", id, target, err)
		}
		id = target
	}
	if err := b.WriteRegister(ctx, id, r.ReturnDelay, []byte{0}); err != nil {
		return f, fmt.Errorf("busarm: servo %d: return delay 0: %w", id, err)
	}
	var cur [1]byte
	if err := b.ReadRegister(ctx, id, r.Baud, cur[:]); err != nil {
		return f, fmt.Errorf("busarm: servo %d: read baud: %w", id, err)
	}
	if cur[0] != baudCode {
		// Acknowledged at the old rate, then the servo switches.
		if err := b.WriteRegister(ctx, id, r.Baud, []byte{baudCode}); err != nil {
			return f, fmt.Errorf("busarm: servo %d: write baud code %d: %w", id, baudCode, err)
		}
	}
	return f, nil
}

// EncodeHoming returns Homing_Offset h as the register bytes of the bus kind: Dynamixel
// a 4-byte two's complement, Feetech a 2-byte sign-magnitude word with the sign at bit 11.
func (r Registers) EncodeHoming(h int) []byte {
	if r.HomingSign < 0 {
		b := make([]byte, 2)
		ftproto.STS.PutWord(b, ftproto.EncodeSignMag(h, ftproto.SignBitHoming))
		return b
	}
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(int32(h)))
	return b
}

// DecodeHoming is the inverse of EncodeHoming.
func (r Registers) DecodeHoming(b []byte) int {
	if r.HomingSign < 0 {
		return ftproto.DecodeSignMag(ftproto.STS.Word(b), ftproto.SignBitHoming)
	}
	return int(int32(binary.LittleEndian.Uint32(b)))
}

func (r Registers) getUint(b []byte) int {
	if len(b) == 2 {
		return int(binary.LittleEndian.Uint16(b))
	}
	return int(int32(binary.LittleEndian.Uint32(b)))
}

func (r Registers) putUint(v, n int) []byte {
	b := make([]byte, n)
	if n == 2 {
		binary.LittleEndian.PutUint16(b, uint16(v))
	} else {
		binary.LittleEndian.PutUint32(b, uint32(int32(v)))
	}
	return b
}

// ReadPosition reads servo id's Present_Position, ticks (Feetech sign-magnitude decoded).
func ReadPosition(ctx context.Context, b servo.Bus, r Registers, id byte) (int, error) {
	buf := make([]byte, r.PositionSize)
	if err := b.ReadRegister(ctx, id, r.PresentPosition, buf); err != nil {
		return 0, err
	}
	if r.HomingSign < 0 {
		return ftproto.DecodeSignMag(ftproto.STS.Word(buf), ftproto.SignBitPos), nil
	}
	return r.getUint(buf), nil
}

// HalfTurnHoming writes each servo's Homing_Offset so that where it stands now reads as
// the middle tick (Resolution−1)/2 = 2047, as LeRobot's set_half_turn_homings does: the
// operator has put every joint in the middle of its range, and the calibrated middle then
// reads as the joint's zero (offset 2047 in the arm config). Torque goes off and Feetech
// EEPROM stays unlocked. It returns the offsets written, by ID.
func HalfTurnHoming(ctx context.Context, b servo.Bus, driver string, ids []byte) (map[byte]int, error) {
	r, err := RegistersFor(driver)
	if err != nil {
		return nil, err
	}
	out := map[byte]int{}
	mid := (r.Resolution - 1) / 2
	for _, id := range ids {
		if err := unlock(ctx, b, r, id); err != nil {
			return out, fmt.Errorf("busarm: servo %d: %w", id, err)
		}
		if err := b.WriteRegister(ctx, id, r.HomingOffset, r.EncodeHoming(0)); err != nil {
			return out, fmt.Errorf("busarm: servo %d: reset homing offset: %w", id, err)
		}
		actual, err := ReadPosition(ctx, b, r, id)
		if err != nil {
			return out, fmt.Errorf("busarm: servo %d: read position: %w", id, err)
		}
		// Dynamixel: Present = Actual + H → H = mid − Actual; Feetech: H = Actual − mid.
		h := r.HomingSign * (mid - actual)
		if err := b.WriteRegister(ctx, id, r.HomingOffset, r.EncodeHoming(h)); err != nil {
			return out, fmt.Errorf("busarm: servo %d: write homing offset %d: %w", id, h, err)
		}
		out[id] = h
	}
	return out, nil
}
