//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/sim/pty"
	dxlsim "github.com/praxis-robotics/praxis/sim/wire/dynamixel"
	stssim "github.com/praxis-robotics/praxis/sim/wire/feetech"
)

// benchBus is a simulated bus of factory-fresh servos on a pty, for set-up tests.
type benchBus struct {
	link   string
	silent func(id byte, silent bool)
	reg    func(id byte, addr uint16, n int) []byte
}

func startBench(t *testing.T, driver string, ids []byte, start []float64) *benchBus {
	t.Helper()
	link := filepath.Join(t.TempDir(), "bus")
	master, _, err := pty.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	plant, err := armtest.New(armtest.Config{Joints: armtest.Continuous(len(ids)), Start: start, Clock: clock.NewReal(), PlantMaxVel: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	bb := &benchBus{link: link}
	var mu sync.Mutex
	switch driver {
	case busarm.Dynamixel:
		s, err := dxlsim.New(master, dxlsim.Config{IDs: ids, Plant: plant, Baud: 57600})
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- s.Serve(ctx) }()
		bb.silent = func(id byte, v bool) { s.SetSilent(id, v) }
		bb.reg = func(id byte, addr uint16, n int) []byte { b, _ := s.Register(id, addr, n); return b }
	default:
		var sv []stssim.Servo
		for _, id := range ids {
			sv = append(sv, stssim.Servo{ID: id, Offset: 2048})
		}
		s, err := stssim.New(master, plant, stssim.Config{Servos: sv})
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- s.Serve(ctx) }()
		bb.silent = func(id byte, v bool) { mu.Lock(); defer mu.Unlock(); s.SetSilent(id, v) }
		bb.reg = func(id byte, addr uint16, n int) []byte {
			var out []byte
			for k := range n {
				v, ok := s.Register(id, byte(int(addr)+k))
				if !ok {
					return nil
				}
				out = append(out, v)
			}
			return out
		}
	}
	t.Cleanup(func() {
		cancel()
		master.Close()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, os.ErrClosed) {
			t.Logf("sim: %v", err)
		}
	})
	return bb
}

// connector is the operator's stdin: each line read "connects" the next servo alone.
type connector struct {
	bench *benchBus
	order []byte // servo IDs at power-up, in the order they get connected
	next  int
	moved map[byte]byte // power-up ID → ID after set-up (the test's bookkeeping)
}

func (c *connector) Read(p []byte) (int, error) {
	if c.next >= len(c.order) {
		return 0, errors.New("no more servos")
	}
	if c.next > 0 {
		c.bench.silent(c.moved[c.order[c.next-1]], true)
	}
	c.bench.silent(c.order[c.next], false)
	c.next++
	return copy(p, "\n"), nil
}

func TestBusSetupAssignsIDsOneAtATime(t *testing.T) {
	for _, driver := range []string{busarm.Feetech, busarm.Dynamixel} {
		t.Run(driver, func(t *testing.T) {
			// Two fresh servos (power-up IDs 101, 102 stand for two factory ID 1 servos that
			// are never on the bus together).
			bb := startBench(t, driver, []byte{101, 102}, nil)
			bb.silent(101, true)
			bb.silent(102, true)
			// Set-up goes last joint first: servo 101 becomes "b" (ID 2), then 102 "a" (ID 1).
			c := &connector{bench: bb, order: []byte{101, 102}, moved: map[byte]byte{101: 2, 102: 1}}
			var out, errb bytes.Buffer
			root := newRootCmd()
			// The reply timeout is the bus tests' 500 ms: a busy machine stalls a pty for up to ~200 ms.
			// A rate other than the factory one, so the baud register must be written: the
			// Dynamixel bench starts at 57 600 (→ 1 Mbit/s, code 3), the Feetech one at 1 Mbit/s
			// (→ 500 000, code 1). A pty ignores the rate; the register is read back below.
			target := map[string]string{busarm.Feetech: "500000", busarm.Dynamixel: "1000000"}[driver]
			code := map[string]byte{busarm.Feetech: 1, busarm.Dynamixel: 3}[driver]
			root.SetArgs([]string{"bus", "setup", "--port", bb.link, "--bus", driver, "--ids", "1,2", "--joints", "a,b", "--baud", target, "--timeout", "500ms"})
			root.SetIn(c)
			root.SetOut(&out)
			root.SetErr(&errb)
			if err := root.Execute(); err != nil {
				t.Fatalf("setup: %v\n%s%s", err, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), "'b' servo: ID 101") || !strings.Contains(out.String(), "'a' servo: ID 102") {
				t.Errorf("setup output:\n%s", out.String())
			}
			bb.silent(2, false)
			o, stderr, status := busRun(t, bb.link, driver, "scan", "--baud", target, "--ids", "1-3,101-102")
			if status != 0 {
				t.Fatalf("scan: %s", stderr)
			}
			got := scanIDs(t, o)
			if len(got) != 2 || got[1] == 0 || got[2] == 0 {
				t.Fatalf("after set-up the bus has %v, want IDs 1 and 2", got)
			}
			r, _ := busarm.RegistersFor(driver)
			for _, id := range []byte{1, 2} {
				if rd := bb.reg(id, r.ReturnDelay, 1); len(rd) != 1 || rd[0] != 0 {
					t.Errorf("servo %d return delay %v, want 0", id, rd)
				}
				if br := bb.reg(id, r.Baud, 1); len(br) != 1 || br[0] != code {
					t.Errorf("servo %d baud register %v, want code %d (%s bit/s)", id, br, code, target)
				}
			}
		})
	}
}

func TestBusSetupHomingAndLeRobotFiles(t *testing.T) {
	for _, driver := range []string{busarm.Feetech, busarm.Dynamixel} {
		t.Run(driver, func(t *testing.T) {
			bb := startBench(t, driver, []byte{1, 2}, []float64{0.6, -0.9})
			// The Dynamixel bench runs at its factory 57 600 bit/s (a pty ignores the rate).
			baud := map[string]string{busarm.Feetech: "1000000", busarm.Dynamixel: "57600"}[driver]
			_, stderr, status := busRun(t, bb.link, driver, "setup", "--homing", "--non-interactive", "--ids", "1,2", "--joints", "a,b", "--baud", baud)
			if status != 0 {
				t.Fatalf("homing: %s", stderr)
			}
			r, _ := busarm.RegistersFor(driver)
			for _, id := range []byte{1, 2} {
				p := bb.reg(id, r.PresentPosition, 2)
				if v := int(p[0]) | int(p[1])<<8; v < 2046 || v > 2048 {
					t.Errorf("servo %d reads %d after homing, want 2047", id, v)
				}
			}
			// A LeRobot calibration applied to the servos and converted to the arm config.
			dir := t.TempDir()
			in := writeFile(t, dir, "so101.json", `{
    "a": {"id": 1, "drive_mode": 0, "homing_offset": 300, "range_min": 1000, "range_max": 3000},
    "b": {"id": 2, "drive_mode": 1, "homing_offset": -200, "range_min": 1500, "range_max": 2500}
}`)
			yaml := filepath.Join(dir, "cal.yaml")
			if _, stderr, status := busRun(t, bb.link, driver, "calibrate", "--from-lerobot", in, "--apply", "-o", yaml, "--baud", baud); status != 0 {
				t.Fatalf("calibrate --from-lerobot: %s", stderr)
			}
			if lim := bb.reg(1, r.MinLimit, 2); int(lim[0])|int(lim[1])<<8 != 1000 {
				t.Errorf("servo 1 min position limit %v, want 1000", lim)
			}
			cfgText, err := os.ReadFile(yaml)
			// drive_mode 1: a software direction on Feetech; on Dynamixel the servo's own
			// Drive_Mode bit 0, as LeRobot does it (the config keeps direction +1).
			reversed := strings.Contains(string(cfgText), "direction: -1")
			if err != nil || !strings.Contains(string(cfgText), "offset: 2000") || reversed != (driver == busarm.Feetech) {
				t.Fatalf("arm config from the LeRobot file:\n%s (%v)", cfgText, err)
			}
			if driver == busarm.Dynamixel {
				if dm := bb.reg(2, uint16(r.DriveMode), 1); len(dm) != 1 || dm[0]&1 != 1 {
					t.Errorf("servo 2 Drive_Mode %v, want bit 0 set", dm)
				}
			}
			// Bad file: a clear error naming the field, exit status 2.
			bad := writeFile(t, dir, "bad.json", `{"a": {"id": 1, "drive_mode": 0, "homing_offset": 0, "range_min": 9, "range_max": 3}}`)
			if _, stderr, status := busRun(t, bb.link, driver, "calibrate", "--from-lerobot", bad, "-o", yaml); status != exitBadInput || !strings.Contains(stderr, "range_min") {
				t.Errorf("bad LeRobot file: status %d, %s", status, stderr)
			}
		})
	}
}
