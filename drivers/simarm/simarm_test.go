package simarm

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
)

func newArm(t *testing.T, model string) (*Arm, *clock.Fake) {
	t.Helper()
	clk := &clock.Fake{}
	a, err := New(Config{Model: model, Clock: clk, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return a, clk
}

func TestStepConvergesAndLimits(t *testing.T) {
	a, clk := newArm(t, "")
	ctx := context.Background()
	js := a.Joints()
	if len(js) != 6 || js[5].Name != "gripper" || js[1].Limits.MaxVel != sim.STS3215MaxSpeed || js[1].Limits.MaxAcc <= 0 {
		t.Fatalf("joints %+v", js)
	}
	cmd := joint.NewCommand(6)
	cmd.Pos[0] = 0.5
	if err := a.Command(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	st := joint.NewState(6)
	clk.Advance(50 * time.Millisecond)
	a.Read(ctx, &st)
	mid := st.Pos[0]
	clk.Advance(2 * time.Second)
	a.Read(ctx, &st)
	if !(mid > 0.01 && mid < 0.45) || math.Abs(st.Pos[0]-0.5) > 0.01 {
		t.Errorf("pan at 50 ms %g, at 2 s %g; want in motion then at 0.5", mid, st.Pos[0])
	}
	if st.Time != 2050*time.Millisecond {
		t.Errorf("state time %v", st.Time)
	}
	cmd.Pos[0] = 10
	a.Command(ctx, cmd)
	clk.Advance(2 * time.Second)
	s := a.Stats()
	if s.Truth[0] > js[0].Limits.Max || s.OutOfLimits != 1 {
		t.Errorf("limit: pan %g, out-of-limits %d", s.Truth[0], s.OutOfLimits)
	}
	cmd.Pos[3] = math.NaN()
	if err := a.Command(ctx, cmd); err == nil {
		t.Error("NaN accepted")
	}
	if err := a.Command(ctx, joint.Command{Pos: []float64{1}}); err == nil {
		t.Error("short command accepted")
	}
	if a.Close() != nil || !errors.Is(a.Read(ctx, &st), drivers.ErrClosed) || !errors.Is(a.Command(ctx, cmd), drivers.ErrClosed) {
		t.Error("closed arm still works")
	}
}

func TestTorqueOffFallsAndHandGuides(t *testing.T) {
	a, clk := newArm(t, "so101")
	ctx := context.Background()
	if err := drivers.SetTorque(ctx, a, false); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if q := a.Stats().Truth; math.Abs(q[1]) < 0.3 {
		t.Errorf("limp arm did not fall: %v", q)
	}

	a, clk = newArm(t, "so101")
	a.SetTorque(ctx, false)
	target := []float64{0.4, -0.3, 0.5, 0.2, -0.4, 0.3}
	h, _ := sim.NewHand([]float64{0, 1}, [][]float64{make([]float64, 6), target})
	if err := a.Guide(h); err != nil {
		t.Fatal(err)
	}
	clk.Advance(1500 * time.Millisecond)
	q := a.Stats().Truth
	for i := range q {
		if math.Abs(q[i]-target[i]) > 3e-3 {
			t.Errorf("joint %d at %g, hand at %g", i, q[i], target[i])
		}
	}
	// Per-joint torque back on holds where the hand left it.
	if err := a.SetJointTorque(1, true); err != nil || a.SetJointTorque(9, true) == nil {
		t.Fatal("SetJointTorque")
	}
}

func TestHoldPerturbation(t *testing.T) {
	a, clk := newArm(t, "so101")
	ctx := context.Background()
	p, err := sim.ParsePerturbation("hold:joint=elbow_flex,at=0.4,for=0.5")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Perturb(p.Resolve(time.Second, a.Now())); err != nil {
		t.Fatal(err)
	}
	clk.Advance(400 * time.Millisecond)
	q0 := a.Stats().Truth
	cmd := joint.NewCommand(6)
	cmd.Pos[2], cmd.Pos[0] = 0.8, 0.3
	a.Command(ctx, cmd)
	clk.Advance(400 * time.Millisecond)
	q := a.Stats().Truth
	if math.Abs(q[2]-q0[2]) > 1e-9 || math.Abs(q[0]-0.3) > 0.02 {
		t.Errorf("elbow %g -> %g during hold; pan %g", q0[2], q[2], q[0])
	}
	clk.Advance(time.Second)
	if q := a.Stats().Truth; math.Abs(q[2]-0.8) > 0.05 {
		t.Errorf("elbow after hold %g", q[2])
	}
	if err := a.Perturb(sim.Perturbation{Kind: sim.Hold, Joint: "nope", For: time.Second}); err == nil {
		t.Error("unknown joint accepted")
	}
}

func TestReadAllocatesNothingAndConcurrent(t *testing.T) {
	a, clk := newArm(t, "ur5")
	ctx := context.Background()
	st := joint.NewState(6)
	cmd := joint.NewCommand(6)
	if n := testing.AllocsPerRun(100, func() { clk.Advance(time.Millisecond); a.Read(ctx, &st) }); n != 0 {
		t.Errorf("Read allocates %v", n)
	}
	if n := testing.AllocsPerRun(100, func() { a.Command(ctx, cmd) }); n != 0 {
		t.Errorf("Command allocates %v", n)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := joint.NewState(6)
			for k := 0; k < 200; k++ {
				clk.Advance(time.Millisecond)
				a.Read(ctx, &st)
				a.Command(ctx, cmd)
			}
		}()
	}
	wg.Wait()
	if err := a.SetWatchdog(ctx, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	clk.Advance(100 * time.Millisecond)
	if a.Stats().WatchdogTrips != 1 {
		t.Error("watchdog did not trip")
	}
	if _, err := New(Config{Model: "nope"}); err == nil {
		t.Error("unknown model accepted")
	}
	if p, err := a.EndEffector(); err != nil || math.Abs(p.Pos[0]-0.81725) > 0.01 {
		t.Errorf("end effector %v %v", p, err)
	}
}
