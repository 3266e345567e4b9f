package fwarm

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/firmware-bridge/fwpeer"
	"github.com/praxis-robotics/praxis/motion/joint"
)

var (
	_ drivers.Arm       = (*Arm)(nil)
	_ drivers.Compliant = (*Arm)(nil)
	_ drivers.Watchdog  = (*Arm)(nil)
)

func TestConfigErrors(t *testing.T) {
	good := Calibration("a", -1, 1)
	cases := map[string]Config{
		"no joints":   {},
		"no name":     {Joints: []Joint{{Min: -1, Max: 1, PulseMin: 500, PulseMax: 2500, AdcMax: 1023}}},
		"min>=max":    {Joints: []Joint{{Name: "a", Min: 1, Max: 1, PulseMin: 500, PulseMax: 2500, AdcMax: 1023}}},
		"same pulse":  {Joints: []Joint{{Name: "a", Min: -1, Max: 1, PulseMin: 500, PulseMax: 500, AdcMax: 1023}}},
		"same adc":    {Joints: []Joint{{Name: "a", Min: -1, Max: 1, PulseMin: 500, PulseMax: 2500}}},
		"nan":         {Joints: []Joint{{Name: "a", Min: math.NaN(), Max: 1, PulseMin: 500, PulseMax: 2500, AdcMax: 1023}}},
		"neg vel":     {Joints: []Joint{{Name: "a", Min: -1, Max: 1, PulseMin: 500, PulseMax: 2500, AdcMax: 1023, MaxVel: -1}}},
		"nine joints": {Joints: []Joint{good, good, good, good, good, good, good, good, good}},
	}
	p := startPeer(t)
	for name, c := range cases {
		f, err := p.OpenHost()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(f, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
		f.Close()
	}
	if _, err := Open("/nonexistent/tty", 115200, Config{Joints: []Joint{good}}); err == nil {
		t.Error("Open of a missing port succeeded")
	}
}

func startPeer(t *testing.T) *fwpeer.Peer {
	t.Helper()
	p, err := fwpeer.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func peerArm(t *testing.T, cfg Config) (*fwpeer.Peer, *Arm) {
	t.Helper()
	p := startPeer(t)
	f, err := p.OpenHost()
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return p, a
}

func TestCalibrationAndLimits(t *testing.T) {
	cfg := Config{Heartbeat: -1, Joints: []Joint{
		Calibration("a", -1, 1),
		{Name: "reversed", Min: 0, Max: 2, PulseMin: 2400, PulseMax: 600, AdcMin: 1000, AdcMax: 100},
	}}
	p, a := peerArm(t, cfg)
	ctx := context.Background()
	p.SetADC(0, 1023)
	p.SetADC(1, 550) // mid-way on the reversed pot: 1 rad
	s := joint.NewState(2)
	if err := a.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Pos[0]-1) > 1e-9 || math.Abs(s.Pos[1]-1) > 1e-9 {
		t.Fatalf("positions %v, want [1 1]", s.Pos)
	}
	if err := a.Command(ctx, joint.Command{Pos: []float64{0.5, 5}}); err != nil {
		t.Fatal(err)
	}
	// 0.5 rad on [-1,1] over 500..2500 µs is 2000 µs; 5 rad is clamped to 2 rad = 600 µs.
	if p.Pulse(0) != 2000 || p.Pulse(1) != 600 {
		t.Fatalf("pulses %d %d, want 2000 600", p.Pulse(0), p.Pulse(1))
	}
	if err := a.Command(ctx, joint.Command{Pos: []float64{0}}); err == nil {
		t.Error("short command accepted")
	}
	if err := a.Command(ctx, joint.Command{Pos: []float64{math.NaN(), 0}}); err == nil {
		t.Error("NaN accepted")
	}
	if p.Pulse(0) != 2000 {
		t.Error("a rejected command reached the board")
	}
	a.Close()
	if err := a.Read(ctx, &s); !errors.Is(err, drivers.ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
}

func TestZeroAllocs(t *testing.T) {
	cfg := so101Config(t)
	cfg.Heartbeat = -1
	_, a := peerArm(t, cfg)
	ctx := context.Background()
	s := joint.NewState(6)
	c := joint.Command{Pos: make([]float64, 6)}
	allocs := testing.AllocsPerRun(200, func() {
		if err := a.Read(ctx, &s); err != nil {
			t.Fatal(err)
		}
		if err := a.Command(ctx, c); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Read+Command allocated %.1f times per tick, want 0", allocs)
	}
}
