package drivers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/motion/clock"
)

// plain has no optional abilities.
type plain struct{}

func TestOptionalAbilities(t *testing.T) {
	ctx := context.Background()
	if err := drivers.SetTorque(ctx, plain{}, false); !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("torque on a plain arm: %v", err)
	}
	if err := drivers.SetWatchdog(ctx, plain{}, time.Second); !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("watchdog on a plain arm: %v", err)
	}
	arm, err := simarm.New(simarm.Config{Clock: &clock.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	defer arm.Close()
	if err := drivers.SetTorque(ctx, arm, false); err != nil {
		t.Fatalf("torque off on the sim arm: %v", err)
	}
	if err := drivers.SetWatchdog(ctx, arm, 100*time.Millisecond); err != nil {
		t.Fatalf("watchdog on the sim arm: %v", err)
	}
	var _ drivers.Arm = (*armtest.Arm)(nil)
}
