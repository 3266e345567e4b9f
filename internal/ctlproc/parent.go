package ctlproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/internal/shmchan"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/joint"
	"golang.org/x/sys/unix"
)

// Options start a control process.
type Options struct {
	// Path and Args are the child's command (Args without the program name): a program
	// whose main calls Serve. Env is added to this process's environment.
	Path string
	Args []string
	Env  []string
	// Stderr receives the child's standard error (default this process's).
	Stderr io.Writer
	// Arm is handed to the child's Opener; Exec configures its executor.
	Arm  []byte
	Exec ExecConfig
	// Events receives the executor's events as motion.Config.Events does (buffered; the
	// oldest is dropped when it is full). Nil discards them.
	Events chan motion.Event
}

// ErrExited: the control process is gone.
var ErrExited = errors.New("ctlproc: control process exited")

// Proc is the parent's side of a control process: an executor (the methods of
// motion.Executor the daemon uses) and, through Arm, the arm the child owns.
type Proc struct {
	cmd    *exec.Cmd
	shm    *shmchan.Chan
	cli    *rpc.Client
	conn   net.Conn
	init   InitReply
	events chan motion.Event

	mu   sync.Mutex
	jobs []*Job // started, not done: matched to Done messages in order of RunID

	exited  chan struct{} // closed when the child has exited
	exitErr error
	dead    atomic.Bool
	closing atomic.Bool
	pump    sync.WaitGroup
	once    sync.Once
}

// Start starts the child, maps the shared e-stop word and initialises the child's arm and
// executor. On error nothing is left running.
func Start(ctx context.Context, o Options) (*Proc, error) {
	shm, err := shmchan.Create(1)
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		shm.Close()
		return nil, fmt.Errorf("ctlproc: socketpair: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "ctlproc-parent"), os.NewFile(uintptr(fds[1]), "ctlproc-child")
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		shm.Close()
		return nil, fmt.Errorf("ctlproc: socket: %w", err)
	}
	cmd := exec.Command(o.Path, o.Args...)
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, o.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	cmd.ExtraFiles = []*os.File{shm.File(), theirs} // fd 3, fd 4
	// The child dies with this process: Linux sends Pdeathsig when the *thread* that forked
	// it exits, so the fork is made on a locked thread that then waits for the child and
	// lives as long as it does (the runtime never retires a thread whose goroutine runs).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &Proc{cmd: cmd, shm: shm, conn: conn, cli: rpc.NewClient(conn), events: o.Events, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.exitErr = cmd.Wait()
		p.dead.Store(true)
		close(p.exited)
		p.conn.Close()
		p.failJobs()
	}()
	err = <-started
	theirs.Close()
	if err != nil {
		p.cli.Close()
		shm.Close()
		return nil, fmt.Errorf("ctlproc: start %s: %w", o.Path, err)
	}
	if err := p.call(ctx, "Ctl.Init", InitArgs{Arm: o.Arm, Exec: o.Exec}, &p.init); err != nil {
		p.kill()
		return nil, err
	}
	p.pump.Add(1)
	go p.pumpEvents()
	return p, nil
}

// call makes one call, abandoning it (not the child's work) when ctx ends first.
func (p *Proc) call(ctx context.Context, method string, args, reply any) error {
	if p.dead.Load() {
		return p.deadErr()
	}
	c := p.cli.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-c.Done:
		if errors.Is(c.Error, rpc.ErrShutdown) || errors.Is(c.Error, io.ErrUnexpectedEOF) {
			return p.deadErr()
		}
		return decodeErr(c.Error)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Proc) deadErr() error {
	select {
	case <-p.exited:
		if p.exitErr != nil {
			return fmt.Errorf("%w: %v", ErrExited, p.exitErr)
		}
	default:
	}
	return ErrExited
}

// pumpEvents drains the child's event stream into Options.Events and the jobs.
func (p *Proc) pumpEvents() {
	defer p.pump.Done()
	for {
		var msgs []Msg
		if err := p.cli.Call("Ctl.Next", Nothing{}, &msgs); err != nil {
			return
		}
		for _, m := range msgs {
			if m.Event != nil && p.events != nil {
				ev := *m.Event
				if ev.Result != nil {
					r := *ev.Result
					r.Err = resultErr(&r, "")
					ev.Result = &r
				}
				deliver(p.events, ev)
			}
			if d := m.Done; d != nil {
				d.Result.Err = resultErr(&d.Result, d.ErrIs)
				p.finish(d.RunID, d.Result)
			}
		}
	}
}

// resultErr rebuilds a failed run's Result.Err from its reason.
func resultErr(r *motion.Result, kind string) error {
	if r.Outcome != motion.Failed {
		return nil
	}
	return errFrom(kind, r.Reason)
}

func deliver(ch chan motion.Event, ev motion.Event) {
	for {
		select {
		case ch <- ev:
			return
		default:
			select {
			case <-ch:
			default:
			}
		}
	}
}

func (p *Proc) finish(id string, res motion.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, j := range p.jobs {
		if j.id == id {
			p.jobs = append(p.jobs[:i], p.jobs[i+1:]...)
			j.res = res
			close(j.done)
			return
		}
	}
}

// failJobs ends every job still waiting, once the child has gone.
func (p *Proc) failJobs() {
	p.mu.Lock()
	jobs := p.jobs
	p.jobs = nil
	p.mu.Unlock()
	reason := p.deadErr().Error()
	for _, j := range jobs {
		j.res = motion.Result{RunID: j.id, Outcome: motion.Failed, Reason: reason, Err: fmt.Errorf("%w: %w", motion.ErrFault, p.deadErr())}
		if p.closing.Load() {
			j.res = motion.Result{RunID: j.id, Outcome: motion.Aborted, Reason: motion.ReasonClosed}
		}
		close(j.done)
	}
}

// Job is a started run, as motion.Job.
type Job struct {
	id   string
	done chan struct{}
	res  motion.Result
}

// ID returns the run id.
func (j *Job) ID() string { return j.id }

// Done is closed once the run has ended and the arm has been halted.
func (j *Job) Done() <-chan struct{} { return j.done }

// Result returns the run's result; ok is false while the run is still going.
func (j *Job) Result() (motion.Result, bool) {
	select {
	case <-j.done:
		return j.res, true
	default:
		return motion.Result{}, false
	}
}

// Start starts a run in the child (see motion.Executor.Start).
func (p *Proc) Start(req motion.Request) (*Job, error) {
	j := &Job{id: req.ID, done: make(chan struct{})}
	p.mu.Lock()
	p.jobs = append(p.jobs, j)
	p.mu.Unlock()
	if err := p.call(context.Background(), "Ctl.Start", req, &Nothing{}); err != nil {
		p.mu.Lock()
		for i, o := range p.jobs {
			if o == j {
				p.jobs = append(p.jobs[:i], p.jobs[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
		return nil, err
	}
	return j, nil
}

// Cancel cancels the running skill.
func (p *Proc) Cancel() error {
	return p.call(context.Background(), "Ctl.Cancel", Nothing{}, &Nothing{})
}

// EStop latches the e-stop: one store into the shared word, which the child's control
// thread reads at its next tick. It never blocks and works even while every call waits.
func (p *Proc) EStop() { p.shm.SetEStop(true) }

// Reset clears the e-stop latch.
func (p *Proc) Reset() { p.shm.SetEStop(false) }

// EStopped reports whether the e-stop is latched.
func (p *Proc) EStopped() bool { return p.shm.EStop() }

// RealTime reports whether SCHED_FIFO took effect on the child's control thread.
func (p *Proc) RealTime() (bool, error) {
	if p.init.RTErr != "" {
		return p.init.RealTime, errors.New(p.init.RTErr)
	}
	return p.init.RealTime, nil
}

// ThreadsFIFOError says why the child's other threads did not go SCHED_FIFO ("" if they
// did or were not asked to).
func (p *Proc) ThreadsFIFOError() string { return p.init.FIFOErr }

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Err is ErrExited, with the child's exit status, once the child has exited; nil before.
func (p *Proc) Err() error {
	if !p.dead.Load() {
		return nil
	}
	return p.deadErr()
}

// Exited is closed when the child has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Counters copies the child's loop counters.
func (p *Proc) Counters(ctx context.Context) (motion.CountersCopy, error) {
	var c motion.CountersCopy
	err := p.call(ctx, "Ctl.Counters", Nothing{}, &c)
	return c, err
}

// FlightWritten returns the samples the child's flight recorder has written.
func (p *Proc) FlightWritten(ctx context.Context) (uint64, error) {
	var r FlightReply
	err := p.call(ctx, "Ctl.Flight", FlightArgs{CountOnly: true}, &r)
	return r.Written, err
}

// FlightSnapshot copies the child's flight recorder (all of it) and returns it with the
// executor clock's time when it was taken.
func (p *Proc) FlightSnapshot(ctx context.Context) (motion.FlightSnapshot, time.Duration, error) {
	var r FlightReply
	err := p.call(ctx, "Ctl.Flight", FlightArgs{}, &r)
	return r.Snap, time.Duration(r.NowNs), err
}

// Close halts and closes the child's executor and arm and waits (up to 5 s) for the child
// to exit, killing it after that.
func (p *Proc) Close() error {
	var err error
	p.once.Do(func() {
		p.closing.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if e := p.call(ctx, "Ctl.Close", Nothing{}, &Nothing{}); e != nil && !errors.Is(e, ErrExited) {
			err = e
		}
		p.cli.Close()
		select {
		case <-p.exited:
		case <-ctx.Done():
			p.cmd.Process.Kill()
			<-p.exited
			err = errors.Join(err, errors.New("ctlproc: control process killed after 5 s"))
		}
		p.pump.Wait()
		p.shm.Close()
	})
	return err
}

func (p *Proc) kill() {
	p.closing.Store(true)
	p.cli.Close()
	p.cmd.Process.Kill()
	<-p.exited
	p.shm.Close()
}

// Arm returns the child's arm as this process sees it: every call is a call to the child.
// It is a drivers.Compliant when the child's arm is, and has Setup when the child's arm
// can be set up again. Close does nothing (Proc.Close closes the arm).
func (p *Proc) Arm() drivers.Arm {
	a := &Arm{p: p}
	switch {
	case p.init.Compliant && p.init.Setupper:
		return &compliantSetupArm{a}
	case p.init.Compliant:
		return &compliantArm{a}
	case p.init.Setupper:
		return &setupArm{a}
	}
	return a
}

// Arm is the child's arm seen from the parent.
type Arm struct{ p *Proc }

// Joints returns the arm's joints, as the child opened it.
func (a *Arm) Joints() []joint.Joint { return a.p.init.Joints }

// Read reads the arm in the child.
func (a *Arm) Read(ctx context.Context, s *joint.State) error {
	return a.p.call(ctx, "Ctl.Read", ReadArgs{}, s)
}

// Snapshot copies the state the child last read (by its control loop or any Read) into
// dst when it is younger than maxAge.
func (a *Arm) Snapshot(dst *joint.State, maxAge time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var s joint.State
	if err := a.p.call(ctx, "Ctl.Read", ReadArgs{MaxAgeNs: int64(maxAge), SnapshotOnly: true}, &s); err != nil {
		return false
	}
	dst.CopyFrom(&s)
	return true
}

// Command sends a command to the arm in the child.
func (a *Arm) Command(ctx context.Context, c joint.Command) error {
	return a.p.call(ctx, "Ctl.Command", c, &Nothing{})
}

// ServoStats returns the per-servo bus counters of the child's arm (servo.StatsReporter):
// none when it is not a bus arm or the child does not answer within a second.
func (a *Arm) ServoStats() []servo.Stats {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var st []servo.Stats
	if err := a.p.call(ctx, "Ctl.ServoStats", Nothing{}, &st); err != nil {
		return nil
	}
	return st
}

// Close does nothing: the arm is closed with the Proc.
func (a *Arm) Close() error { return nil }

type compliantArm struct{ *Arm }

func (a *compliantArm) SetTorque(ctx context.Context, on bool) error {
	return a.p.call(ctx, "Ctl.SetTorque", on, &Nothing{})
}

type setupArm struct{ *Arm }

func (a *setupArm) Setup(ctx context.Context) error { return a.setup(ctx) }

func (a *Arm) setup(ctx context.Context) error {
	timeout := time.Minute
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	return a.p.call(ctx, "Ctl.Setup", int64(timeout), &Nothing{})
}

type compliantSetupArm struct{ *Arm }

func (a *compliantSetupArm) SetTorque(ctx context.Context, on bool) error {
	return a.p.call(ctx, "Ctl.SetTorque", on, &Nothing{})
}

func (a *compliantSetupArm) Setup(ctx context.Context) error { return a.setup(ctx) }
