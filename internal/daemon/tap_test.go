package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

func TestTapArmKeepsLastReadAndPassesTorque(t *testing.T) {
	ctx := context.Background()
	arm, err := simarm.New(simarm.Config{Clock: &clock.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	defer arm.Close()
	tap := newTapArm(arm)
	var snap joint.State
	if tap.snapshot(&snap, time.Hour) {
		t.Fatal("a snapshot before any read")
	}
	s := joint.NewState(len(arm.Joints()))
	if err := tap.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if !tap.snapshot(&snap, time.Hour) || len(snap.Pos) != len(s.Pos) {
		t.Fatalf("snapshot after a read: %+v", snap)
	}
	for i := range s.Pos {
		if snap.Pos[i] != s.Pos[i] {
			t.Fatalf("snapshot joint %d = %v, read %v", i, snap.Pos[i], s.Pos[i])
		}
	}
	if tap.snapshot(&snap, -time.Second) {
		t.Fatal("a snapshot older than maxAge was used")
	}
	if n := testing.AllocsPerRun(200, func() { _ = tap.Read(ctx, &s) }); n != 0 {
		t.Fatalf("Read through the tap allocates %v times", n)
	}
	if err := tap.SetTorque(ctx, false); err != nil {
		t.Fatalf("torque off through the tap: %v", err)
	}
	// An arm without the ability: the recorder must see ErrUnsupported, as on the bare arm.
	plain, err := armtest.New(armtest.Config{Joints: arm.Joints()})
	if err != nil {
		t.Fatal(err)
	}
	if err := newTapArm(plain).SetTorque(ctx, false); !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("torque on a plain arm through the tap: %v", err)
	}
}
