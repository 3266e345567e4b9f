//go:build linux

package busarm

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// startSim serves a real-time SO-101 on a pty and returns the arm, the sim and the slave path.
func startSim(t *testing.T, driver string, hand *sim.Hand, faults ...Fault) (*simarm.Arm, *Sim, string) {
	t.Helper()
	m, path, err := pty.Open("")
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	arm, err := simarm.New(simarm.Config{Model: "so101", Clock: NewSimClock(0)})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ForJoints(driver, arm.Joints(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSim(m, SimConfig{Bus: cfg, Arm: arm, Hand: hand, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("serve: %v", err)
		}
		m.Close()
	})
	return arm, s, path
}

func openDriver(t *testing.T, s *Sim, path string) Arm {
	t.Helper()
	cfg := s.Config()
	cfg.ReplyTimeout = 150 * time.Millisecond // generous: the test machine is loaded
	a, err := Open(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// readUntil reads the arm over the bus until ok holds or the deadline passes; each read
// is a bus round trip, so this paces itself.
func readUntil(t *testing.T, a Arm, within time.Duration, ok func(joint.State) bool) joint.State {
	t.Helper()
	st := joint.NewState(len(a.Joints()))
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		if last = a.Read(context.Background(), &st); last == nil && ok(st) {
			return st
		}
	}
	t.Fatalf("condition not met within %v; last state %v, last error %v", within, st.Pos, last)
	return st
}

func still(st joint.State) bool {
	for _, v := range st.Vel {
		if math.Abs(v) > 0.05 {
			return false
		}
	}
	return true
}

func TestE2EBus(t *testing.T) {
	for _, driver := range []string{Dynamixel, Feetech} {
		t.Run(driver, func(t *testing.T) {
			// The hand holds the zero pose for 0.3 s, then swings shoulder_pan to 0.6 rad
			// and elbow_flex to -0.5 rad by 1.5 s, and stays.
			hand, err := sim.NewHand([]float64{0, 0.3, 1.5}, [][]float64{
				{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}, {0.6, 0, -0.5, 0, 0, 0}})
			if err != nil {
				t.Fatal(err)
			}
			arm, s, path := startSim(t, driver, hand)
			a := openDriver(t, s, path)
			ctx := context.Background()
			if err := a.Setup(ctx); err != nil {
				t.Fatalf("setup: %v", err)
			}
			// Positions match the simulated arm once it holds still.
			st := readUntil(t, a, 10*time.Second, still)
			truth := arm.Stats().Truth
			for i, j := range a.Joints() {
				if d := math.Abs(st.Pos[i] - truth[i]); d > 0.01 {
					t.Errorf("%s: driver reads %.4f rad, sim arm is at %.4f", j.Name, st.Pos[i], truth[i])
				}
			}
			// A commanded move is followed.
			goal := append([]float64(nil), st.Pos...)
			goal[0] = st.Pos[0] + 0.4
			cmd := joint.Command{Pos: goal}
			readUntil(t, a, 10*time.Second, func(st joint.State) bool {
				if err := a.Command(ctx, cmd); err != nil {
					t.Fatalf("command: %v", err)
				}
				return math.Abs(st.Pos[0]-goal[0]) < 0.03
			})
			if tr := arm.Stats().Truth; math.Abs(tr[0]-goal[0]) > 0.05 {
				t.Errorf("shoulder_pan: sim arm at %.3f rad, commanded %.3f", tr[0], goal[0])
			}
			if s.HandStarts() != 0 {
				t.Fatalf("hand started %d times before torque went off", s.HandStarts())
			}
			// Torque off: the hand guides the arm and the driver reads the motion.
			if err := a.SetTorque(ctx, false); err != nil {
				t.Fatalf("torque off: %v", err)
			}
			st = readUntil(t, a, 15*time.Second, func(st joint.State) bool {
				return math.Abs(st.Pos[0]-0.6) < 0.03 && math.Abs(st.Pos[2]+0.5) < 0.03
			})
			if s.HandStarts() != 1 {
				t.Errorf("hand started %d times, want 1", s.HandStarts())
			}
			// Torque back on: the arm holds where the hand left it.
			if err := a.SetTorque(ctx, true); err != nil {
				t.Fatalf("torque on: %v", err)
			}
			st = readUntil(t, a, 10*time.Second, still)
			if math.Abs(st.Pos[0]-0.6) > 0.05 {
				t.Errorf("after torque on shoulder_pan at %.3f rad, want ~0.6", st.Pos[0])
			}
		})
	}
}

func TestE2ESilentServoNamed(t *testing.T) {
	for _, driver := range []string{Dynamixel, Feetech} {
		t.Run(driver, func(t *testing.T) {
			_, s, path := startSim(t, driver, nil, Fault{Kind: FaultSilent, ID: 4})
			a := openDriver(t, s, path)
			err := a.Setup(context.Background())
			if err == nil {
				t.Fatal("setup with servo 4 silent: no error")
			}
			if !strings.Contains(err.Error(), "servo 4") || !strings.Contains(err.Error(), "wrist_flex") {
				t.Errorf("error %q does not name servo 4 (wrist_flex)", err)
			}
			for _, other := range []string{"servo 1", "servo 2", "servo 3", "servo 5", "servo 6"} {
				if strings.Contains(err.Error(), other) {
					t.Errorf("error %q names %s, which answers", err, other)
				}
			}
		})
	}
}

func TestNewSimRejects(t *testing.T) {
	arm, err := simarm.New(simarm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := ForJoints(Dynamixel, arm.Joints(), nil)
	rw := nopRW{}
	if _, err := NewSim(rw, SimConfig{Bus: cfg, Arm: arm, Faults: []Fault{{Kind: FaultSilent, ID: 9}}}); err == nil || !strings.Contains(err.Error(), "no servo 9") {
		t.Errorf("fault on servo 9: error %v", err)
	}
	bad := cfg
	bad.Servos = append([]Servo(nil), cfg.Servos...)
	bad.Servos[1].Joint = "elbow"
	if _, err := NewSim(rw, SimConfig{Bus: bad, Arm: arm}); err == nil || !strings.Contains(err.Error(), "servos[1].joint") {
		t.Errorf("wrong joint name: error %v", err)
	}
	if _, err := NewSim(rw, SimConfig{Bus: cfg}); err == nil {
		t.Error("nil arm: no error")
	}
}

type nopRW struct{}

func (nopRW) Read([]byte) (int, error)    { return 0, errors.New("nop") }
func (nopRW) Write(b []byte) (int, error) { return len(b), nil }
