package fwarm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/firmware-bridge/fwsim"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
)

// startBoard runs the firmware under simavr, tied to a simulated SO-101, or skips when
// the AVR toolchain is absent (scripts/deps.sh installs it).
func startBoard(t *testing.T, cfg fwsim.Config) *fwsim.Board {
	t.Helper()
	b, err := fwsim.Start(cfg)
	if errors.Is(err, fwsim.ErrToolchain) {
		t.Skipf("cannot run the firmware: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func so101Config(t *testing.T) Config {
	m, err := sim.LoadBuiltin("so101")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	for _, j := range m.Joints() {
		c.Joints = append(c.Joints, Calibration(j.Name, j.Min, j.Max))
	}
	return c
}

func openArm(t *testing.T, b *fwsim.Board, baud int, cfg Config) *Arm {
	t.Helper()
	a, err := Open(b.Port, baud, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestSmoke(t *testing.T) {
	b := startBoard(t, fwsim.Config{})
	cfg := so101Config(t)
	a := openArm(t, b, 115200, cfg)
	ctx := ctxT(t, 20*time.Second)
	s := joint.NewState(6)
	if err := a.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	t.Logf("read %v truth %v", s.Pos, b.Truth())
	target := []float64{0.5, -0.3, 0.2, 0, 0, 0.5}
	if err := a.Command(ctx, joint.Command{Pos: target}); err != nil {
		t.Fatal(err)
	}
	snap, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool {
		w := s.Last[0].Us()
		return w > 1750 && w < 1800
	})
	t.Logf("pulses %+v err %v", snap.Last, err)
	for range 100 {
		a.Command(ctx, joint.Command{Pos: target})
	}
	a.Read(ctx, &s)
	t.Logf("read %v truth %v counters %+v", s.Pos, b.Truth(), a.Link().Counters())
}
