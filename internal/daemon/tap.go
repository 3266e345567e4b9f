package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// tapArm is the arm as the executor and the recorder see it: it passes everything
// through and keeps a copy of the last state either of them read, so that telemetry
// need not read the arm while they do (on a servo bus every read is a bus transaction
// that would delay the control loop's next one). Torque switching passes through too, so
// kinesthetic recording works as on the bare arm.
type tapArm struct {
	drivers.Arm
	// remote, when set, is the arm of a control process (executor.isolate), whose own
	// loop's reads are the fresh ones: snapshot asks it.
	remote snapshotter
	mu     sync.Mutex
	last   joint.State
	at     time.Time // when last was read; zero before the first read
}

func newTapArm(a drivers.Arm) *tapArm {
	return &tapArm{Arm: a, last: joint.NewState(len(a.Joints()))}
}

// Read reads the arm and keeps a copy of a good state. It allocates nothing.
func (t *tapArm) Read(ctx context.Context, s *joint.State) error {
	err := t.Arm.Read(ctx, s)
	if err == nil {
		t.mu.Lock()
		t.last.CopyFrom(s)
		t.at = time.Now()
		t.mu.Unlock()
	}
	return err
}

// SetTorque switches the arm's torque, or returns drivers.ErrUnsupported.
func (t *tapArm) SetTorque(ctx context.Context, on bool) error {
	return drivers.SetTorque(ctx, t.Arm, on)
}

// snapshotter keeps the last state read.
type snapshotter interface {
	Snapshot(dst *joint.State, maxAge time.Duration) bool
}

// snapshot copies the last state read into dst when it is younger than maxAge.
func (t *tapArm) snapshot(dst *joint.State, maxAge time.Duration) bool {
	if t.remote != nil {
		return t.remote.Snapshot(dst, maxAge)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at.IsZero() || time.Since(t.at) > maxAge {
		return false
	}
	dst.CopyFrom(&t.last)
	return true
}
