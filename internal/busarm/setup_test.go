package busarm

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/drivers/dynamixel"
	"github.com/praxis-robotics/praxis/drivers/feetech"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/motion/clock"
	dxlsim "github.com/praxis-robotics/praxis/sim/wire/dynamixel"
	stssim "github.com/praxis-robotics/praxis/sim/wire/feetech"
)

// simBus starts a simulated bus of driver with servos at ids (factory settings, start
// pose: joint i at start[i] rad) on a net.Pipe and returns the host's servo.Bus.
func simBus(t *testing.T, driver string, ids []byte, start []float64) servo.Bus {
	t.Helper()
	plant, err := armtest.New(armtest.Config{Joints: armtest.Continuous(len(ids)), Start: start, Clock: clock.NewReal(), PlantMaxVel: -1})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var bus servo.Bus
	switch driver {
	case Dynamixel:
		s, err := dxlsim.New(a, dxlsim.Config{IDs: ids, Plant: plant})
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- s.Serve(ctx) }()
		bus = dynamixel.NewBus(b, 100*time.Millisecond)
	default:
		var sv []stssim.Servo
		for _, id := range ids {
			sv = append(sv, stssim.Servo{ID: id, Offset: 2048})
		}
		s, err := stssim.New(a, plant, stssim.Config{Servos: sv})
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- s.Serve(ctx) }()
		bus = feetech.NewBus(b, ftproto.STS, 100*time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		bus.Close()
		a.Close()
		<-done
	})
	return bus
}

func TestAssignID(t *testing.T) {
	for _, driver := range []string{Dynamixel, Feetech} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			b := simBus(t, driver, []byte{1}, nil)
			// A rate other than the one the servo has (both sims power up at 1 Mbit/s), so
			// the baud register must be written: Dynamixel 57 600 (code 1, e-manual Baud
			// Rate(8)), Feetech 500 000 (code 1, SDK SMS_STS.h).
			rate := map[string]int{Dynamixel: 57600, Feetech: 500_000}[driver]
			code, err := BaudCode(driver, rate)
			if err != nil || code != 1 {
				t.Fatalf("BaudCode(%s, %d) = %d, %v; want 1", driver, rate, code, err)
			}
			f, err := AssignID(ctx, b, driver, 4, code)
			if err != nil || f.ID != 1 {
				t.Fatalf("AssignID: found %+v, %v", f, err)
			}
			r, _ := RegistersFor(driver)
			got, err := b.Identify(ctx, 4)
			if err != nil || got.Model == 0 {
				t.Fatalf("servo at its new ID 4: %+v %v", got, err)
			}
			if _, err := b.Identify(ctx, 1); err == nil {
				t.Fatal("servo still answers at ID 1")
			}
			var rd [1]byte
			if err := b.ReadRegister(ctx, 4, r.ReturnDelay, rd[:]); err != nil || rd[0] != 0 {
				t.Fatalf("return delay %d (%v), want 0", rd[0], err)
			}
			// The bus sims do not change their line rate (a pipe has none), so the register
			// can be read back at the old one.
			var br [1]byte
			if err := b.ReadRegister(ctx, 4, r.Baud, br[:]); err != nil || br[0] != code {
				t.Fatalf("baud register %d (%v), want code %d", br[0], err, code)
			}
		})
	}
}

func TestAssignIDNeedsOneServo(t *testing.T) {
	for _, driver := range []string{Dynamixel, Feetech} {
		b := simBus(t, driver, []byte{1, 2}, nil)
		if _, err := AssignID(context.Background(), b, driver, 3, 0); !errors.Is(err, ErrManyServos) || !strings.Contains(err.Error(), "1, 2") {
			t.Errorf("%s: two servos: %v, want ErrManyServos naming IDs 1, 2", driver, err)
		}
	}
}

func TestHalfTurnHomingAndLeRobotRoundTrip(t *testing.T) {
	for _, driver := range []string{Dynamixel, Feetech} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			b := simBus(t, driver, []byte{1, 2}, []float64{0.7, -1.2})
			h, err := HalfTurnHoming(ctx, b, driver, []byte{1, 2})
			if err != nil {
				t.Fatal(err)
			}
			r, _ := RegistersFor(driver)
			for _, id := range []byte{1, 2} {
				if p, err := ReadPosition(ctx, b, r, id); err != nil || p < 2046 || p > 2048 {
					t.Errorf("servo %d after half-turn homing (offset %d) reads %d (%v), want 2047", id, h[id], p, err)
				}
			}
			cal := LeRobotCalibration{
				{Name: "a", ID: 1, HomingOffset: h[1], RangeMin: 1000, RangeMax: 3000},
				{Name: "b", ID: 2, DriveMode: 1, HomingOffset: h[2], RangeMin: 1500, RangeMax: 2600},
			}
			r2, _ := RegistersFor(driver)
			if driver == Dynamixel {
				// A Koch arm as LeRobot left it: servo 1 reversed (Drive_Mode bit 0) with the
				// time-based profile (bit 2) on; the file says drive_mode 0 for it.
				if err := b.WriteRegister(ctx, 1, uint16(r2.DriveMode), []byte{5}); err != nil {
					t.Fatal(err)
				}
			}
			if err := ApplyLeRobot(ctx, b, driver, cal); err != nil {
				t.Fatal(err)
			}
			cfg, err := cal.ArmConfig(driver)
			if err != nil {
				t.Fatal(err)
			}
			// LeRobot applies drive_mode in software on Feetech (apply_drive_mode), while a
			// Dynamixel servo reverses itself from Drive_Mode bit 0 (apply_drive_mode False).
			wantDir := map[string]int{Feetech: -1, Dynamixel: 1}[driver]
			if cfg.Servos[0].Direction != 1 || cfg.Servos[1].Direction != wantDir {
				t.Errorf("directions %d, %d; want 1, %d", cfg.Servos[0].Direction, cfg.Servos[1].Direction, wantDir)
			}
			if driver == Dynamixel {
				for id, want := range map[byte]byte{1: 4, 2: 1} {
					var dm [1]byte
					if err := b.ReadRegister(ctx, id, uint16(r2.DriveMode), dm[:]); err != nil || dm[0] != want {
						t.Errorf("servo %d Drive_Mode %d (%v), want %d", id, dm[0], err, want)
					}
				}
			}
			back, err := ReadLeRobot(ctx, b, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range cal {
				if back[i] != cal[i] {
					t.Errorf("read back %+v, wrote %+v", back[i], cal[i])
				}
			}
		})
	}
}

// An SO-101 follower calibration as LeRobot writes it (field names and layout of
// MotorCalibration, json.dump indent 4).
const so101LeRobot = `{
    "shoulder_pan": {
        "id": 1,
        "drive_mode": 0,
        "homing_offset": -1470,
        "range_min": 758,
        "range_max": 3292
    },
    "shoulder_lift": {
        "id": 2,
        "drive_mode": 0,
        "homing_offset": 153,
        "range_min": 794,
        "range_max": 3120
    },
    "gripper": {
        "id": 6,
        "drive_mode": 0,
        "homing_offset": 1407,
        "range_min": 2037,
        "range_max": 3474
    }
}`

func TestLeRobotCalibrationFile(t *testing.T) {
	c, err := ReadLeRobotCalibration(strings.NewReader(so101LeRobot))
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 3 || c[0].Name != "shoulder_pan" || c[2].Name != "gripper" || c[0].HomingOffset != -1470 || c[2].RangeMax != 3474 {
		t.Fatalf("decoded %+v", c)
	}
	var b strings.Builder
	if err := c.Write(&b); err != nil {
		t.Fatal(err)
	}
	if b.String() != so101LeRobot {
		t.Fatalf("re-encoded:\n%s\nwant:\n%s", b.String(), so101LeRobot)
	}
	cfg, err := c.ArmConfig(Feetech)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Servos[0]
	if s.Offset != (758+3292)/2 || s.Radians(758) != s.Min || s.Radians(3292) != s.Max {
		t.Fatalf("arm config servo %+v", s)
	}
	back, err := LeRobotFrom(cfg, map[byte]int{1: -1470, 2: 153, 6: 1407})
	if err != nil {
		t.Fatal(err)
	}
	for i := range c {
		if back[i] != c[i] {
			t.Errorf("LeRobotFrom(ArmConfig) %+v, want %+v", back[i], c[i])
		}
	}
	dx, err := c.ArmConfig(Dynamixel)
	if err != nil {
		t.Fatal(err)
	}
	dx.Servos[1].Direction = -1
	if _, err := LeRobotFrom(dx, nil); err == nil || !strings.Contains(err.Error(), "Drive_Mode") {
		t.Errorf("LeRobotFrom of a Dynamixel arm with a software-reversed joint: %v, want an error", err)
	}
	for _, bad := range []string{
		`[]`, `{}`, `{"a": {"id": 1}}`,
		`{"a": {"id": 1, "drive_mode": 2, "homing_offset": 0, "range_min": 0, "range_max": 9}}`,
		`{"a": {"id": 1, "drive_mode": 0, "homing_offset": 0, "range_min": 9, "range_max": 9}}`,
		`{"a": {"id": 1, "drive_mode": 0, "homing_offset": 0, "range_min": 0, "range_max": 9, "x": 1}}`,
		`{"a": {"id": 1, "drive_mode": 0, "homing_offset": 0, "range_min": 0, "range_max": 9}, "b": {"id": 1, "drive_mode": 0, "homing_offset": 0, "range_min": 0, "range_max": 9}}`,
	} {
		if _, err := ReadLeRobotCalibration(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
