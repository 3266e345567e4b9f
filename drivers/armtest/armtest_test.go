package armtest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

var js = []joint.Joint{
	{Name: "a", Limits: joint.Limits{Min: -1, Max: 1, MaxVel: 1}},
	{Name: "b", Limits: joint.Limits{Min: 0, Max: 2}},
}

func TestPlantFollowsCommands(t *testing.T) {
	clk := new(clock.Fake)
	a, err := New(Config{Joints: js, Clock: clk, PlantTau: 0.05, PlantMaxVel: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := joint.NewState(2)
	if err := a.Read(ctx, &s); err != nil || s.Pos[0] != 0 || s.Pos[1] != 1 {
		t.Fatalf("initial mid-range state %v, %v", s.Pos, err)
	}
	if err := a.Command(ctx, joint.Command{Pos: []float64{0.5, 1.5}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(50 * time.Millisecond) // one time constant
	a.Read(ctx, &s)
	if want := 0.5 * (1 - math.Exp(-1)); math.Abs(s.Pos[0]-want) > 1e-9 {
		t.Fatalf("after one tau: %v, want %v", s.Pos[0], want)
	}
	if s.Time != 50*time.Millisecond || s.Vel[0] <= 0 {
		t.Fatalf("time %v vel %v", s.Time, s.Vel)
	}
	a.Hold(1)
	clk.Advance(time.Second)
	a.Read(ctx, &s)
	if math.Abs(s.Pos[0]-0.5) > 1e-6 || s.Pos[1] > 1.4 || s.Vel[1] != 0 {
		t.Fatalf("held joint moved or free one did not: %v %v", s.Pos, s.Vel)
	}
	a.Release(1)
	a.Push(0, 0.2)
	clk.Advance(time.Second)
	a.Read(ctx, &s)
	if math.Abs(s.Pos[1]-1.5) > 1e-6 || math.Abs(s.Pos[0]-0.5) > 1e-6 {
		t.Fatalf("after release and push: %v", s.Pos)
	}
}

func TestSpeedCap(t *testing.T) {
	clk := new(clock.Fake)
	a, _ := New(Config{Joints: js, Clock: clk, PlantTau: 0.001}) // cap 3·MaxVel = 3 rad/s
	a.Command(context.Background(), joint.Command{Pos: []float64{1, 1}})
	clk.Advance(100 * time.Millisecond)
	if p := a.Pos(); math.Abs(p[0]-0.3) > 1e-9 {
		t.Fatalf("capped plant at %v, want 0.3", p[0])
	}
}

func TestScriptedFailuresAndRecording(t *testing.T) {
	clk := new(clock.Fake)
	a, _ := New(Config{Joints: js, Clock: clk})
	ctx := context.Background()
	s := joint.NewState(2)
	a.FailReads(2)
	for k := range 3 {
		err := a.Read(ctx, &s)
		if (k < 2) != errors.Is(err, ErrScripted) {
			t.Fatalf("read %d: %v", k, err)
		}
	}
	a.FailCommands(1)
	if err := a.Command(ctx, joint.Command{Pos: []float64{0, 1}}); !errors.Is(err, ErrScripted) {
		t.Fatalf("command: %v", err)
	}
	a.Command(ctx, joint.Command{Pos: []float64{math.NaN(), 1}})
	a.Command(ctx, joint.Command{Pos: []float64{0, 3}})
	a.Command(ctx, joint.Command{Pos: []float64{0.1, 1}, Vel: []float64{1, 0}})
	if err := a.Command(ctx, joint.Command{Pos: []float64{0}}); err == nil {
		t.Fatal("short command accepted")
	}
	recs := a.Commands()
	if len(recs) != 3 || a.Invalid() != 2 || a.NumCommands() != 4 || recs[2].Vel[0] != 1 || recs[0].Vel != nil {
		t.Fatalf("records %+v invalid %d n %d", recs, a.Invalid(), a.NumCommands())
	}
	if p := a.Pos(); p[0] != 0.1 {
		t.Fatalf("ideal arm at %v after the valid command", p)
	}
	a.Close()
	if err := a.Read(ctx, &s); !errors.Is(err, drivers.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestReadAndCommandAllocateNothing(t *testing.T) {
	clk := new(clock.Fake)
	a, _ := New(Config{Joints: js, Clock: clk, PlantTau: 0.02, RecordCap: 5000})
	ctx := context.Background()
	s := joint.NewState(2)
	c := joint.NewCommand(2)
	n := testing.AllocsPerRun(1000, func() {
		clk.Advance(time.Millisecond)
		a.Read(ctx, &s)
		a.Command(ctx, c)
	})
	if n != 0 {
		t.Fatalf("%v allocations per read+command", n)
	}
}

func TestSag(t *testing.T) {
	clk := new(clock.Fake)
	a, err := New(Config{Joints: js, Clock: clk, PlantMaxVel: -1, Start: []float64{0, 1}, Sag: []float64{0.02, -0.01}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Joints: js, Sag: []float64{0.02}}); err == nil {
		t.Fatal("short Sag accepted")
	}
	ctx := context.Background()
	if err := a.Command(ctx, joint.Command{Pos: []float64{0.5, 1.5}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	if p := a.Pos(); math.Abs(p[0]-0.48) > 1e-12 || math.Abs(p[1]-1.51) > 1e-12 {
		t.Fatalf("ideal plant with sag at %v, want [0.48 1.51]", p)
	}
	a.SetSag(0, 0)
	clk.Advance(time.Millisecond)
	if p := a.Pos(); p[0] != 0.5 {
		t.Fatalf("after SetSag(0, 0): %v", p)
	}
	// A first-order plant settles at command − sag.
	b, _ := New(Config{Joints: js, Clock: clk, PlantTau: 0.01, PlantMaxVel: -1, Start: []float64{0, 1}, Sag: []float64{0.03, 0}})
	if err := b.Command(ctx, joint.Command{Pos: []float64{0.2, 1}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if p := b.Pos(); math.Abs(p[0]-0.17) > 1e-9 || math.Abs(p[1]-1) > 1e-9 {
		t.Fatalf("first-order plant with sag at %v, want [0.17 1]", p)
	}
}
