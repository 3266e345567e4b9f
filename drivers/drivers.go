// Package drivers declares the joint-space interfaces every arm implements and the
// sentinel errors callers branch on. Implementations live in subpackages (simarm,
// dynamixel, feetech, ros, gobot); this package has none.
package drivers

import (
	"context"
	"errors"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// Sentinel errors. Drivers wrap them with %w and add detail (which servo, which joint).
var (
	// ErrUnsupported: the arm lacks an optional ability.
	ErrUnsupported = errors.New("drivers: unsupported")
	// ErrClosed: the arm was closed.
	ErrClosed = errors.New("drivers: closed")
	// ErrTimeout: the hardware did not answer in time.
	ErrTimeout = errors.New("drivers: timeout")
	// ErrFault: the hardware reported a fault (overload, overheating, stalled servo).
	ErrFault = errors.New("drivers: hardware fault")
)

// Describer reports the joints of an arm in the order used by every State and Command.
type Describer interface {
	Joints() []joint.Joint
}

// Reader fills a caller-owned state with the latest measurement. It must not allocate
// when s already has one slot per joint.
type Reader interface {
	Read(ctx context.Context, s *joint.State) error
}

// Commander sends one joint-space target. Pos has one entry per joint; Vel may be nil.
type Commander interface {
	Command(ctx context.Context, c joint.Command) error
}

// Arm is a whole arm: metadata, reading, commanding, and release of its resources.
type Arm interface {
	Describer
	Reader
	Commander
	Close() error
}

// Compliant is an arm whose motors can be switched off so a person can move it
// (kinesthetic teaching). SetTorque(ctx, false) makes the arm limp; true holds the
// current position.
type Compliant interface {
	SetTorque(ctx context.Context, on bool) error
}

// Watchdog is an arm with a hardware watchdog that stops the motors when no command
// arrives within timeout. A zero timeout disables it.
type Watchdog interface {
	SetWatchdog(ctx context.Context, timeout time.Duration) error
}

// SetTorque switches torque if a supports it, else returns ErrUnsupported.
func SetTorque(ctx context.Context, a any, on bool) error {
	c, ok := a.(Compliant)
	if !ok {
		return ErrUnsupported
	}
	return c.SetTorque(ctx, on)
}

// SetWatchdog arms a's hardware watchdog if it has one, else returns ErrUnsupported.
func SetWatchdog(ctx context.Context, a any, timeout time.Duration) error {
	w, ok := a.(Watchdog)
	if !ok {
		return ErrUnsupported
	}
	return w.SetWatchdog(ctx, timeout)
}
