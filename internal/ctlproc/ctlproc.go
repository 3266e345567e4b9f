// Package ctlproc runs the control loop, the executor and the arm's driver, in a child
// process of its own, out of the daemon's garbage collector and scheduler (see
// docs/realtime.md: in the daemon's process a collection or a command flood can hold the
// loop's thread off its CPU for tens of milliseconds).
//
// The daemon (the parent) starts the child with Start; the child's main calls Serve. They
// share two things:
//   - a word of shared memory (internal/shmchan, fd 3): the e-stop latch. EStop in the
//     parent is one atomic store, which the child's control thread reads at its next tick
//     (motion.Config.Latch): no message, no goroutine and no collector in between;
//   - a Unix socket (fd 4) carrying net/rpc calls (gob): the arm's reads and commands from
//     the daemon's recorder, telemetry and teleoperation, run starts, cancels, goals, the
//     run events and results back, and the loop's counters and flight recording.
//
// The child opens the arm itself (its file descriptors, serial ports and sockets are the
// child's), turns its collector off (a memory limit is the backstop: a run start allocates
// a few kilobytes, the loop nothing), and when asked for SCHED_FIFO puts every thread of
// its own on it, one priority below the control thread. It dies with the parent
// (Pdeathsig) and closes the arm when the socket closes.
package ctlproc

import (
	"errors"
	"strings"

	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// ExecConfig is the executor's configuration, as the child builds its motion.Config.
type ExecConfig struct {
	Rate             float64
	ClipGoal         bool
	GoalTolerance    float64
	RealTimePriority int
	WatchdogOverruns int
	Lead             float64
	LagTolerance     float64
	// FlightSeconds > 0 keeps a flight recorder of that many seconds in the child.
	FlightSeconds float64
}

// InitArgs is the first call: the arm's configuration (opaque to this package, handed to
// the child's opener) and the executor's.
type InitArgs struct {
	Arm  []byte
	Exec ExecConfig
}

// InitReply describes the opened arm and the control thread.
type InitReply struct {
	Joints    []joint.Joint
	Compliant bool // the arm switches torque (drivers.Compliant)
	Setupper  bool // the arm's connect-time setup can run again
	RealTime  bool
	RTErr     string
	FIFOErr   string // from putting the child's other threads on SCHED_FIFO, if asked and failed
}

// ReadArgs asks for the arm's state: the state the control loop last read when it is
// younger than MaxAgeNs (so a read does not delay the loop's next bus transaction),
// otherwise a read of the arm.
// SnapshotOnly fails the call instead of reading the arm.
type ReadArgs struct {
	MaxAgeNs     int64
	SnapshotOnly bool
}

// Msg is one item of the event stream: a run event, or a run's end with its result
// (after the arm was halted: the parent's Job is done then).
type Msg struct {
	Event *motion.Event
	Done  *Done
}

// Done is a run's end.
type Done struct {
	RunID  string
	Result motion.Result
	ErrIs  string // the motion sentinel Result.Err wrapped ("" none), see sentinel
}

// Nothing is the empty argument or reply.
type Nothing struct{}

// sentinels are the errors that cross the process boundary by name, so that errors.Is
// works on the parent's side as on the executor's.
var sentinels = map[string]error{
	"closed": motion.ErrClosed, "estopped": motion.ErrEStopped, "notrunning": motion.ErrNotRunning,
	"invalidconfig": motion.ErrInvalidConfig, "invalidrequest": motion.ErrInvalidRequest,
	"goaloutside": motion.ErrGoalOutsideLimits, "aborted": motion.ErrAborted, "failed": motion.ErrFailed,
	"watchdog": motion.ErrWatchdog, "fault": motion.ErrFault, "timeout": motion.ErrTimeout, "limit": motion.ErrLimit,
}

// sentinelOf names the first sentinel err wraps.
func sentinelOf(err error) string {
	if err == nil {
		return ""
	}
	// Most specific first: a failed run's error wraps ErrFailed and its cause.
	for _, k := range []string{"watchdog", "fault", "timeout", "limit", "estopped", "notrunning", "goaloutside",
		"invalidrequest", "invalidconfig", "closed", "aborted", "failed"} {
		if errors.Is(err, sentinels[k]) {
			return k
		}
	}
	return ""
}

// remoteError is an error from the child: its text, wrapping the sentinel it named.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// encodeErr prefixes err's text with its sentinel's name, "name|text".
func encodeErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(sentinelOf(err) + "|" + err.Error())
}

// decodeErr undoes encodeErr on an error returned by a call.
func decodeErr(err error) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	name, text, ok := strings.Cut(s, "|")
	if !ok {
		return err
	}
	return &remoteError{msg: text, kind: sentinels[name]}
}

// errFrom rebuilds an error from its sentinel's name and text ("" text: nil).
func errFrom(name, text string) error {
	if text == "" && name == "" {
		return nil
	}
	return &remoteError{msg: text, kind: sentinels[name]}
}
