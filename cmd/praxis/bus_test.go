//go:build linux

package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/daemon"
)

// busRun runs `praxis bus ARGS --port link --bus bus` with a generous reply timeout.
func busRun(t *testing.T, link, bus string, args ...string) (string, string, int) {
	t.Helper()
	return offlineRun(t, append(append([]string{"bus"}, args...), "--port", link, "--bus", bus, "--timeout", "200ms")...)
}

// scanIDs parses `bus scan` output into ID → model.
func scanIDs(t *testing.T, out string) map[int]int {
	t.Helper()
	got := map[int]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		var baud, id, model int
		if _, err := fmt.Sscan(line, &baud, &id, &model); err != nil {
			t.Fatalf("scan line %q: %v", line, err)
		}
		got[id] = model
	}
	return got
}

func TestBusScanReadWrite(t *testing.T) {
	for _, tc := range []struct {
		bus   string
		model int
		name  string
		goal  string // goal position register
		len   string
	}{
		{busarm.Dynamixel, 1060, "XL430-W250", "116", "4"},
		{busarm.Feetech, 777, "STS3215", "42", "2"},
	} {
		t.Run(tc.bus, func(t *testing.T) {
			// A corrupted reply is retried: servo 3 is still found.
			s := startSimServe(t, simServeOpts{bus: tc.bus, faults: []string{"corrupt:id=3,n=1"}})
			out, stderr, status := busRun(t, s.link, tc.bus, "scan", "--baud", "1000000", "--ids", "1-8")
			if status != 0 {
				t.Fatalf("scan: status %d: %s", status, stderr)
			}
			got := scanIDs(t, out)
			if len(got) != 6 {
				t.Errorf("scan found %v, want IDs 1..6:\n%s", got, out)
			}
			for id := 1; id <= 6; id++ {
				if got[id] != tc.model {
					t.Errorf("servo %d: model %d, want %d", id, got[id], tc.model)
				}
			}
			if !strings.Contains(out, tc.name) {
				t.Errorf("scan output lacks the model name %s:\n%s", tc.name, out)
			}
			// Round trip the goal position register (torque is off: it is only stored).
			if _, stderr, status := busRun(t, s.link, tc.bus, "write", "--id", "2", "--addr", tc.goal, "--len", tc.len, "--value", "2100"); status != 0 {
				t.Fatalf("write: status %d: %s", status, stderr)
			}
			out, stderr, status = busRun(t, s.link, tc.bus, "read", "--id", "2", "--addr", tc.goal, "--len", tc.len)
			if status != 0 || strings.TrimSpace(out) != "2100" {
				t.Fatalf("read back: %q, status %d, %s; want 2100", out, status, stderr)
			}
			// Present position of a servo: the arm's pose through the shared calibration.
			addr := map[string]string{busarm.Dynamixel: "132", busarm.Feetech: "56"}[tc.bus]
			out, stderr, status = busRun(t, s.link, tc.bus, "read", "--id", "1", "--addr", addr, "--len", tc.len)
			var ticks int
			if _, err := fmt.Sscan(out, &ticks); status != 0 || err != nil {
				t.Fatalf("read position: %q, status %d, %s", out, status, stderr)
			}
			if q := s.arm.Stats().Truth[0]; math.Abs(float64(ticks-2048)*2*math.Pi/4096-q) > 0.02 {
				t.Errorf("servo 1 at tick %d, sim shoulder_pan at %.4f rad (tick %.0f)", ticks, q, 2048+q*4096/(2*math.Pi))
			}
			// An unanswered servo is a runtime failure naming it.
			_, stderr, status = busRun(t, s.link, tc.bus, "read", "--id", "9", "--addr", "0", "--len", "2")
			if status != exitFailure || !strings.Contains(stderr, "servo 9") {
				t.Errorf("read of absent servo 9: status %d, %q", status, stderr)
			}
		})
	}
}

func TestBusScanSilentServo(t *testing.T) {
	for _, bus := range []string{busarm.Dynamixel, busarm.Feetech} {
		t.Run(bus, func(t *testing.T) {
			s := startSimServe(t, simServeOpts{bus: bus, faults: []string{"silent:id=4"}})
			out, stderr, status := busRun(t, s.link, bus, "scan", "--bauds", "1000000", "--ids", "1-6")
			if status != 0 {
				t.Fatalf("scan: status %d: %s", status, stderr)
			}
			got := scanIDs(t, out)
			if _, ok := got[4]; ok || len(got) != 5 {
				t.Errorf("scan with servo 4 silent found %v, want 1,2,3,5,6", got)
			}
			// Calibration needs every servo: it fails naming servo 4.
			_, stderr, status = busRun(t, s.link, bus, "calibrate", "--non-interactive", "--seconds", "0.1", "-o", filepath.Join(t.TempDir(), "cal.yaml"))
			if status != exitFailure || !strings.Contains(stderr, "servo 4") {
				t.Errorf("calibrate with servo 4 silent: status %d, %q; want 1 naming servo 4", status, stderr)
			}
		})
	}
}

func TestBusCalibrate(t *testing.T) {
	// The hand sweeps every joint from the zero pose to lo, then to hi, then back to zero.
	lo := []float64{-0.6, -0.5, -0.7, -0.8, -1.0, 0.0}
	hi := []float64{0.5, 0.6, 0.4, 0.9, 1.1, 0.8}
	var b strings.Builder
	b.WriteString("t," + strings.Join(busarm.SO101Joints, ",") + "\n")
	row := func(tm float64, q []float64) {
		fmt.Fprintf(&b, "%g", tm)
		for _, v := range q {
			fmt.Fprintf(&b, ",%g", v)
		}
		b.WriteString("\n")
	}
	zero := make([]float64, 6)
	// The hand dwells 0.2 s at each end, so that 20 ms sampling on a busy machine sees it.
	for k, tm := range []float64{0, 0.3, 0.9, 1.1, 1.7, 1.9, 2.4, 2.7, 3.0, 3.3, 3.6} {
		switch {
		case k == 2 || k == 3:
			row(tm, lo)
		case k == 5 || k == 6:
			row(tm, hi)
		default:
			row(tm, zero)
		}
	}
	dir := t.TempDir()
	hand := writeFile(t, dir, "sweep.csv", b.String())
	for _, bus := range []string{busarm.Dynamixel, busarm.Feetech} {
		t.Run(bus, func(t *testing.T) {
			s := startSimServe(t, simServeOpts{bus: bus, hand: hand})
			cal := filepath.Join(t.TempDir(), "cal.yaml")
			lr := filepath.Join(t.TempDir(), "cal.json")
			out, stderr, status := busRun(t, s.link, bus, "calibrate", "--non-interactive", "--seconds", "4", "--margin", "0.05", "-o", cal, "--lerobot-out", lr)
			if status != 0 {
				t.Fatalf("calibrate: status %d: %s\n%s", status, stderr, out)
			}
			if s.sim.HandStarts() != 1 {
				t.Errorf("hand started %d times, want 1", s.sim.HandStarts())
			}
			c, err := daemon.LoadConfig(cal)
			if err != nil {
				t.Fatalf("calibration file is not a daemon config: %v", err)
			}
			if c.Arm.Driver != bus || c.Arm.Port != s.link || len(c.Arm.Servos) != 6 {
				t.Fatalf("arm %+v: want driver %s, port %s, 6 servos", c.Arm, bus, s.link)
			}
			for i, sv := range c.Arm.Servos {
				if sv.ID != i+1 || sv.Joint != busarm.SO101Joints[i] || sv.Direction != 1 || sv.Ticks != 4096 {
					t.Errorf("servo %d: %+v", i, sv)
				}
				if math.Abs(sv.Offset-2048) > 8 {
					t.Errorf("%s: offset %v ticks, want 2048 ± 8 (the hand ends at the zero pose)", sv.Joint, sv.Offset)
				}
				if math.Abs(sv.Min-(lo[i]+0.05)) > 0.04 || math.Abs(sv.Max-(hi[i]-0.05)) > 0.04 {
					t.Errorf("%s: limits [%.3f, %.3f] rad, want about [%.3f, %.3f]", sv.Joint, sv.Min, sv.Max, lo[i]+0.05, hi[i]-0.05)
				}
			}
			// LeRobot's file: the observed range in ticks, homing offsets as stored (0).
			f, err := os.Open(lr)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			lc, err := busarm.ReadLeRobotCalibration(f)
			if err != nil || len(lc) != 6 {
				t.Fatalf("LeRobot file: %v %+v", err, lc)
			}
			for i, m := range lc {
				wlo, whi := 2048+lo[i]*4096/(2*math.Pi), 2048+hi[i]*4096/(2*math.Pi)
				if m.Name != busarm.SO101Joints[i] || m.ID != i+1 || m.HomingOffset != 0 ||
					math.Abs(float64(m.RangeMin)-wlo) > 30 || math.Abs(float64(m.RangeMax)-whi) > 30 {
					t.Errorf("LeRobot motor %+v, want range about [%.0f, %.0f]", m, wlo, whi)
				}
			}
		})
	}
}

func TestBusCalibrateTooLittleMotion(t *testing.T) {
	s := startSimServe(t, simServeOpts{bus: busarm.Feetech})
	cal := filepath.Join(t.TempDir(), "cal.yaml")
	_, stderr, status := busRun(t, s.link, busarm.Feetech, "calibrate", "--non-interactive", "--seconds", "0.2", "-o", cal)
	if status != exitFailure || !strings.Contains(stderr, "move it through its whole range") {
		t.Errorf("calibrate without motion: status %d, %q", status, stderr)
	}
	if _, err := os.Stat(cal); err == nil {
		t.Error("a calibration file was written after a failed calibration")
	}
	// Interactive mode with stdin at EOF fails and says how to run unattended.
	_, stderr, status = busRun(t, s.link, busarm.Feetech, "calibrate", "-o", cal)
	if status != exitFailure || !strings.Contains(stderr, "--non-interactive") {
		t.Errorf("interactive calibrate with no stdin: status %d, %q", status, stderr)
	}
}

func TestBusBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "--port is required"},
		{[]string{"scan", "--port", "/dev/null", "--bus", "can"}, "--bus"},
		{[]string{"scan", "--port", "/dev/null", "--ids", "9-3"}, "--ids"},
		{[]string{"scan", "--port", "/dev/null", "--bauds", "fast"}, "--bauds"},
		{[]string{"scan", "--port", "/dev/null", "--bauds", "57600", "--baud", "57600"}, "not both"},
		{[]string{"scan", "--port", "/dev/null", "--timeout", "0s"}, "--timeout"},
		{[]string{"read", "--port", "/dev/null", "--addr", "3"}, "--id"},
		{[]string{"read", "--port", "/dev/null", "--id", "1"}, "--addr"},
		{[]string{"read", "--port", "/dev/null", "--id", "1", "--addr", "3", "--len", "3"}, "--len"},
		{[]string{"read", "--port", "/dev/null", "--id", "254", "--addr", "3"}, "--id 254"},
		{[]string{"read", "--port", "/dev/null", "--id", "1", "--addr", "300"}, "--addr 300"},
		{[]string{"write", "--port", "/dev/null", "--id", "1", "--addr", "3"}, "--value is required"},
		{[]string{"write", "--port", "/dev/null", "--id", "1", "--addr", "3", "--value", "256"}, "--value"},
		{[]string{"write", "--port", "/dev/null", "--id", "1", "--addr", "3", "--value", "x"}, "--value"},
		{[]string{"calibrate", "--port", "/dev/null"}, "-o CAL.yaml"},
		{[]string{"calibrate", "--port", "/dev/null", "-o", "c.yaml", "--ids", "1-3"}, "3 IDs"},
		{[]string{"calibrate", "--port", "/dev/null", "-o", "c.yaml", "--non-interactive", "--seconds", "0"}, "--seconds"},
		{[]string{"calibrate", "--port", "/dev/null", "-o", "c.yaml", "--joints", "a,a,b,c,d,e"}, "used twice"},
		{[]string{"scan", "--port", "/dev/null", "--nope"}, "unknown flag"},
	} {
		_, stderr, status := offlineRun(t, append([]string{"bus"}, tc.args...)...)
		if status != exitBadInput || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("bus %v: status %d, stderr %q; want 2 and one line with %q", tc.args, status, stderr, tc.want)
		}
	}
	// A port that does not exist is a runtime failure, not bad input.
	_, stderr, status := offlineRun(t, "bus", "read", "--port", filepath.Join(t.TempDir(), "none"), "--id", "1", "--addr", "3")
	if status != exitFailure || !strings.Contains(stderr, "none") {
		t.Errorf("missing port: status %d, %q", status, stderr)
	}
}
