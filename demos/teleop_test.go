package demos

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/motion/joint"
)

func teleopArms(t *testing.T) (leader, follower *armtest.Arm) {
	t.Helper()
	lj := []joint.Joint{{Name: "wrist", Type: joint.Continuous}, {Name: "elbow", Type: joint.Continuous}, {Name: "spare", Type: joint.Continuous}} // order differs
	fj := []joint.Joint{
		{Name: "elbow", Limits: joint.Limits{Min: -1, Max: 1, MaxVel: 2}},
		{Name: "wrist", Limits: joint.Limits{Min: -0.5, Max: 0.5}},
	}
	var err error
	if leader, err = armtest.New(armtest.Config{Joints: lj, Start: []float64{0, 0, 0}}); err != nil {
		t.Fatal(err)
	}
	if follower, err = armtest.New(armtest.Config{Joints: fj, Start: []float64{0, 0}}); err != nil {
		t.Fatal(err)
	}
	return leader, follower
}

func TestTeleopClampsAndRecordsFollower(t *testing.T) {
	leader, follower := teleopArms(t)
	tel, err := NewTeleop(TeleopConfig{Leader: leader, Follower: follower, Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tel.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	// The operator jumps the leader: elbow to 3 rad (beyond the follower's 1), wrist to
	// −2 (beyond −0.5). The follower's elbow may move 2 rad/s / 100 Hz = 0.02 rad a tick.
	if err := leader.Command(ctx, joint.Command{Pos: []float64{-2, 3, 9}}); err != nil {
		t.Fatal(err)
	}
	s := joint.NewState(2)
	for k := 1; k <= 60; k++ {
		if err := tel.Read(ctx, &s); err != nil {
			t.Fatal(err)
		}
		cs := follower.Commands()
		c := cs[len(cs)-1].Pos
		wantElbow := math.Min(0.02*float64(k), 1)
		if math.Abs(c[0]-wantElbow) > 1e-9 || c[1] != -0.5 {
			t.Fatalf("tick %d: command %v, want elbow %v (rate-limited, clamped at 1) and wrist −0.5", k, c, wantElbow)
		}
		// The recorded state is the follower's measurement (the ideal plant is at the command).
		if s.Pos[0] != c[0] || s.Pos[1] != c[1] {
			t.Fatalf("tick %d: state %v, follower at %v", k, s.Pos, c)
		}
	}
	if p50, p99, n := tel.Latency(); n != 60 || p50 < 0 || p99 < p50 {
		t.Fatalf("latency p50 %v p99 %v over %d ticks", p50, p99, n)
	}
	// A failed leader read sends nothing.
	before := len(follower.Commands())
	leader.FailReads(1)
	if err := tel.Read(ctx, &s); !errors.Is(err, armtest.ErrScripted) {
		t.Fatalf("leader read failure: %v", err)
	}
	if len(follower.Commands()) != before {
		t.Fatal("follower commanded after a failed leader read")
	}
}

func TestTeleopRecordsWithRecorder(t *testing.T) {
	leader, follower := teleopArms(t)
	tel, err := NewTeleop(TeleopConfig{Leader: leader, Follower: follower})
	if err != nil {
		t.Fatal(err)
	}
	s := joint.NewState(2)
	if a := testing.AllocsPerRun(100, func() { _ = tel.Read(context.Background(), &s) }); a != 0 {
		t.Fatalf("Read allocates %v times per tick", a)
	}
	if _, err := NewTeleop(TeleopConfig{Leader: follower, Follower: leader}); !errors.Is(err, ErrJointMap) {
		t.Fatalf("leader without the follower's joints: %v", err)
	}
	if _, err := NewTeleop(TeleopConfig{Leader: leader, Follower: follower, Rate: -1}); err == nil {
		t.Fatal("negative rate accepted")
	}
}
