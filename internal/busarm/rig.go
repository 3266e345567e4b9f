//go:build linux

package busarm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// DefaultRigReplyTimeout is a Rig driver's reply timeout: above the scheduling stalls
// measured on this project's loaded 2-core machine (a 1 ms sleeper off the CPU for up to
// 214 ms), as in the daemon's bus tests. A pty moves bytes on the real clock, so this is
// the one figure no simulation clock can take over.
const DefaultRigReplyTimeout = 500 * time.Millisecond

// RigMaxSimStep is the bound to give a Rig's SimClock: five physics steps. Every part of
// a rig reads the clock more often than that while the machine runs it (the executor
// sleeps in steps of half the bound, the bus reads the arm on every request, the driver
// stamps every reply), so a stall of the process longer than that pauses the simulated
// world instead of passing as physics time. It must exceed the longest exchange on the
// wire: a Dynamixel sync read of six servos (position and velocity) takes 3.5–4 ms from
// the impersonator's reading of the arm to the driver's stamp, and with a 2 ms bound
// each of those dropped 1.5–2 ms (a run's wall time 10 % over its simulated time).
// Measured with the seed skills over the feetech bus at a load average of 8.5 on 2 cores:
// with 50 ms (DefaultMaxSimStep) 53 overrun ticks in three runs and final errors up to
// 0.0095 rad; with 2 ms no overrun and 0.0039-0.0047 rad, as on an idle machine.
const RigMaxSimStep = 5 * time.Millisecond

// RigConfig configures StartRig.
type RigConfig struct {
	// Driver is Dynamixel or Feetech; required.
	Driver string
	// Arm is the simulated arm; required. Give it Clock as its clock.
	Arm *simarm.Arm
	// Clock is the simulation clock: the arm's, and the driver's timestamps; required
	// (NewSimClock(RigMaxSimStep)).
	Clock *SimClock
	// ReplyTimeout is the driver's; 0 means DefaultRigReplyTimeout.
	ReplyTimeout time.Duration
}

// Rig is a simulated arm behind a simulated servo bus on a real pseudo-terminal, with
// the real driver open on the other end and set up (torque on, holding the pose): the
// wire protocol, the servos' tick quantisation and the bus timing between an executor
// and the physics. Close it when done.
type Rig struct {
	arm    Arm
	sim    *Sim
	master *os.File
	cancel context.CancelFunc
	errc   chan error
}

// StartRig opens a pty, serves cfg.Arm's servos (ids 1..n, tick 2048 of 4096 at 0 rad,
// the arm's limits) on its master end, opens cfg.Driver's driver on the slave end and
// runs its Setup, bounded by ctx. Errors name the step that failed.
func StartRig(ctx context.Context, cfg RigConfig) (*Rig, error) {
	if cfg.Arm == nil || cfg.Clock == nil {
		return nil, errors.New("busarm: rig: Arm and Clock are required")
	}
	bc, err := ForJoints(cfg.Driver, cfg.Arm.Joints(), nil)
	if err != nil {
		return nil, fmt.Errorf("busarm: rig: %w", err)
	}
	master, path, err := pty.Open("")
	if err != nil {
		return nil, fmt.Errorf("busarm: rig: %w", err)
	}
	// No keepalive to speak of: the executor reads the clock at least every RigMaxSimStep
	// while it sleeps and the bus reads the arm on every request, so the world keeps
	// current; a keepalive would advance it by up to the bound each time while the
	// executor is stalled (a reply 0.5 s late on a loaded machine: ≈ 50 ms of physics at
	// the default 20 ms), which is what the bound is there to prevent.
	s, err := NewSim(master, SimConfig{Bus: bc, Arm: cfg.Arm, Keepalive: time.Hour})
	if err != nil {
		master.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	r := &Rig{sim: s, master: master, cancel: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- s.Serve(sctx) }()
	dc := s.Config()
	dc.ReplyTimeout = cfg.ReplyTimeout
	if dc.ReplyTimeout == 0 {
		dc.ReplyTimeout = DefaultRigReplyTimeout
	}
	dc.Clock = cfg.Clock
	a, err := Open(path, dc)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("busarm: rig: open %s driver: %w", cfg.Driver, err)
	}
	r.arm = a
	if err := a.Setup(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("busarm: rig: setup: %w", err)
	}
	return r, nil
}

// Arm returns the driver, set up.
func (r *Rig) Arm() Arm { return r.arm }

// Sim returns the impersonated bus.
func (r *Rig) Sim() *Sim { return r.sim }

// Close closes the driver, stops the impersonator and closes the pty; it returns the
// impersonator's error, if any. It does not close the simulated arm.
func (r *Rig) Close() error {
	var errs []error
	if r.arm != nil {
		errs = append(errs, r.arm.Close())
	}
	r.cancel()
	errs = append(errs, <-r.errc, r.master.Close())
	return errors.Join(errs...)
}
