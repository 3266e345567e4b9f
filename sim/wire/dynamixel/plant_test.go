package dxlsim

import (
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/motion/clock"
)

// newLagPlant returns an ideal plant on the wall clock: each of n continuous joints with
// torque on follows its goal with a first-order lag of time constant tau, from 0 rad; a
// limp joint stays where it is.
func newLagPlant(t testing.TB, n int, tau time.Duration) *armtest.Arm {
	t.Helper()
	p, err := armtest.New(armtest.Config{Joints: armtest.Continuous(n), Clock: clock.NewReal(), PlantTau: tau.Seconds(), PlantMaxVel: -1})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
