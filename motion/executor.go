package motion

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/praxis-robotics/praxis/motion/clock"
)

// Executor runs one skill at a time on one arm (see the package doc). Its methods are
// safe for concurrent use; one goroutine, started by New, owns the run state.
type Executor struct {
	arm    Arm
	cfg    Config
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	reqs      chan request
	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	estop    *atomic.Uint64 // Config.Latch, or own
	realtime atomic.Bool
	rtErr    atomic.Value // error from clock.LockThread, if any

	quiet time.Duration // a period after the last halt: a preempting run's first command waits until then; control goroutine only

	trace func(*runner) // tests: installed on every new run
}

type reqKind uint8

const (
	reqStart reqKind = iota
	reqCancel
	reqPause
	reqResume
	reqGoal
)

type request struct {
	kind   reqKind
	run    *runner // reqStart: the new run; reqCancel: the run to cancel (nil: any)
	reason string  // reqCancel
	goal   []float64
	reply  chan error
}

// Job is a started run: its id, completion and result.
type Job struct {
	id   string
	done chan struct{}
	res  Result
}

// ID returns the run id given in the Request.
func (j *Job) ID() string { return j.id }

// Done is closed once the run has ended and the arm has been halted.
func (j *Job) Done() <-chan struct{} { return j.done }

// Result returns the run's result; ok is false while the run is still going.
func (j *Job) Result() (r Result, ok bool) {
	select {
	case <-j.done:
		return j.res, true
	default:
		return Result{}, false
	}
}

// Wait blocks until the run ends or ctx is done (the run then goes on; ctx's error is
// returned). A run that did not succeed returns an error wrapping ErrAborted or
// ErrFailed along with its Result.
func (j *Job) Wait(ctx context.Context) (Result, error) {
	select {
	case <-j.done:
		return j.res, j.res.err()
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func (r Result) err() error {
	switch r.Outcome {
	case Succeeded:
		return nil
	case Aborted:
		return fmt.Errorf("%w: run %q: %s", ErrAborted, r.RunID, r.Reason)
	default:
		if r.Err != nil {
			return fmt.Errorf("%w: run %q: %w", ErrFailed, r.RunID, r.Err)
		}
		return fmt.Errorf("%w: run %q: %s", ErrFailed, r.RunID, r.Reason)
	}
}

// New validates cfg and starts the executor's control goroutine; it does not touch the
// arm. Errors wrap ErrInvalidConfig. Call Close to stop it.
func New(arm Arm, cfg Config) (*Executor, error) {
	if arm == nil {
		return nil, fmt.Errorf("%w: nil arm", ErrInvalidConfig)
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if f := c.Flight; f != nil && len(f.Joints()) != len(arm.Joints()) {
		return nil, fmt.Errorf("%w: Flight recorder made for %d joints, the arm has %d", ErrInvalidConfig, len(f.Joints()), len(arm.Joints()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Executor{
		arm: arm, cfg: c, ctx: ctx, cancel: cancel,
		reqs:    make(chan request, 1), // one slot: tests can see a request waiting
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		estop:   c.Latch,
	}
	if e.estop == nil {
		e.estop = new(atomic.Uint64)
	}
	ready := make(chan struct{})
	go e.loop(ready)
	<-ready
	return e, nil
}

// RealTime reports whether SCHED_FIFO took effect on the control thread, and if it was
// asked for and did not, why.
func (e *Executor) RealTime() (bool, error) {
	err, _ := e.rtErr.Load().(error)
	return e.realtime.Load(), err
}

// Start validates req and starts it, preempting any running skill: the old run is
// aborted with reason "preempted" and halted before the new one begins. It returns once
// the control goroutine has taken the run; errors wrap ErrInvalidRequest,
// ErrGoalOutsideLimits, ErrEStopped or ErrClosed.
func (e *Executor) Start(req Request) (*Job, error) {
	if e.estop.Load() != 0 {
		return nil, ErrEStopped
	}
	r, err := newRunner(e, req)
	if err != nil {
		return nil, err
	}
	r.trace = e.trace
	if err := e.send(request{kind: reqStart, run: r}); err != nil {
		return nil, err
	}
	return r.job, nil
}

// Run starts req and waits for it to end; cancelling ctx cancels the run (reason
// "cancelled: context canceled"). It returns nil only when the run succeeded; otherwise
// the error wraps ErrAborted, ErrFailed or one of Start's errors.
func (e *Executor) Run(ctx context.Context, req Request) (Result, error) {
	j, err := e.Start(req)
	if err != nil {
		return Result{}, err
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		_ = e.cancelRun(j, ReasonCancelled+": "+ctx.Err().Error())
		<-j.done
	}
	return j.res, j.res.err()
}

// Cancel aborts the running skill with reason "cancelled" and returns once the
// request is taken (the halt follows within a tick); ErrNotRunning when idle.
func (e *Executor) Cancel() error { return e.cancelRun(nil, ReasonCancelled) }

func (e *Executor) cancelRun(j *Job, reason string) error {
	var r *runner
	if j != nil {
		r = &runner{job: j}
	}
	return e.send(request{kind: reqCancel, run: r, reason: reason})
}

// Pause ramps the phase rate down to zero over Config.PauseRamp and holds the plan;
// ErrNotRunning when idle.
func (e *Executor) Pause() error { return e.send(request{kind: reqPause}) }

// Resume ramps the phase rate back up after Pause; ErrNotRunning when idle.
func (e *Executor) Resume() error { return e.send(request{kind: reqResume}) }

// SetGoal moves the running skill's goal (one value per skill joint, rad or m); the
// plan follows through the DMP's goal filter, so it takes effect smoothly. Errors wrap
// ErrInvalidRequest, ErrGoalOutsideLimits (unless Config.ClipGoal) or ErrNotRunning.
func (e *Executor) SetGoal(goal []float64) error {
	return e.send(request{kind: reqGoal, goal: append([]float64(nil), goal...)})
}

// EStop latches the emergency stop: within one tick the running skill is aborted with
// reason "e-stop" and the arm is sent a halt holding its last measured position (plus
// the offset compensation). Later Starts fail with ErrEStopped until Reset. Safe to
// call from any goroutine, never blocks.
func (e *Executor) EStop() { e.estop.Store(1) }

// Reset clears a latched e-stop.
func (e *Executor) Reset() { e.estop.Store(0) }

// EStopped reports whether the e-stop is latched.
func (e *Executor) EStopped() bool { return e.estop.Load() != 0 }

// Close aborts the running skill (reason "closed"), halts the arm, stops the control
// goroutine and waits for it. It does not close the arm. Later calls return nil; other
// methods then fail with ErrClosed.
func (e *Executor) Close() error {
	e.closeOnce.Do(func() { close(e.closing) })
	<-e.done
	e.cancel()
	return nil
}

// send hands a request to the control goroutine and waits for its answer.
func (e *Executor) send(q request) error {
	q.reply = make(chan error, 1)
	select {
	case e.reqs <- q:
	case <-e.closing:
		return ErrClosed
	}
	select {
	case err := <-q.reply:
		return err
	case <-e.done:
		// An answer given before the loop ended wins (both may be ready: a Start taken,
		// then the executor closed, must return the job that ran, not ErrClosed).
		select {
		case err := <-q.reply:
			return err
		default:
			return ErrClosed
		}
	}
}

// loop is the control goroutine: it owns every run.
func (e *Executor) loop(ready chan<- struct{}) {
	defer close(e.done)
	rt, err := clock.LockThread(e.cfg.RealTimePriority)
	// Not unlocked: a thread that may run SCHED_FIFO is retired when this goroutine ends.
	e.realtime.Store(rt)
	if err != nil {
		e.rtErr.Store(err)
	}
	close(ready)
	var next *runner
	for {
		preempting := next != nil
		if next == nil {
			select {
			case q := <-e.reqs:
				switch q.kind {
				case reqStart:
					next = q.run
				case reqCancel, reqPause, reqResume, reqGoal:
					q.reply <- ErrNotRunning
					continue
				}
				if e.estop.Load() != 0 {
					q.reply <- ErrEStopped
					next.finishUnstarted(ReasonEStop)
					next = nil
					continue
				}
				q.reply <- nil
			case <-e.closing:
				return
			}
		}
		r := next
		next = nil
		next = e.execute(r, preempting)
		if next != nil {
			if next.startReply != nil {
				next.startReply <- nil
			}
		}
		select {
		case <-e.closing:
			if next != nil {
				next.finishUnstarted(ReasonClosed)
			}
			return
		default:
		}
	}
}

// handle applies one request to the running r during a tick. It returns a run that
// preempts r, if any.
func (e *Executor) handle(r *runner, q request) *runner {
	switch q.kind {
	case reqStart:
		r.abort(ReasonPreempted)
		// The reply goes out once r has halted (see loop).
		q.run.startReply = q.reply
		return q.run
	case reqCancel:
		if q.run == nil || q.run.job == r.job {
			r.abort(q.reason)
		}
		q.reply <- nil
	case reqPause:
		r.paused = true
		q.reply <- nil
	case reqResume:
		r.paused = false
		q.reply <- nil
	case reqGoal:
		q.reply <- r.setGoal(q.goal)
	}
	return nil
}

var errPanic = errors.New("motion: panic in control loop")
