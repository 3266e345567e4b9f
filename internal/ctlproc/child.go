package ctlproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/internal/shmchan"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Opener opens the arm from the configuration the parent passed (InitArgs.Arm).
type Opener func(ctx context.Context, cfg []byte) (drivers.Arm, error)

// MemoryLimit is the child's memory limit: with its collector off, a collection runs only
// when the heap reaches it. The child allocates only per call (≈ 15 kB/s idle, ≈ 50 kB/s
// while running skills, measured on the simulated arm), so that is one collection every
// quarter of an hour or more, and the child stays small enough for a Raspberry Pi.
const MemoryLimit = 64 << 20

// Serve is the child's main: it maps the shared memory (fd 3), serves the parent's calls
// on the socket (fd 4) until the parent closes it or calls Close, then halts and closes
// the executor and the arm. open is called once, by the parent's Init.
func Serve(open Opener) error {
	shm, err := shmchan.Open(os.NewFile(3, "ctlproc-shm"))
	if err != nil {
		return fmt.Errorf("ctlproc: child: %w", err)
	}
	conn, err := net.FileConn(os.NewFile(4, "ctlproc-sock"))
	if err != nil {
		return fmt.Errorf("ctlproc: child: socket: %w", err)
	}
	c := &Ctl{open: open, shm: shm, events: make(chan Msg, 1024), quit: make(chan struct{})}
	srv := rpc.NewServer()
	if err := srv.RegisterName("Ctl", c); err != nil {
		return err
	}
	srv.ServeConn(conn) // returns when the parent closes its end, or dies
	c.shutdown()
	return nil
}

// Ctl is the child's RPC service. Its methods are net/rpc's; only the parent calls them.
type Ctl struct {
	open Opener
	shm  *shmchan.Chan

	mu       sync.Mutex
	arm      drivers.Arm
	tap      *tap
	ex       *motion.Executor
	counters *motion.Counters
	flight   *motion.FlightRecorder
	clk      clock.Clock

	events chan Msg // run events and ends, drained by Next
	quit   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// Init opens the arm and starts the executor.
func (c *Ctl) Init(a InitArgs, r *InitReply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ex != nil {
		return errors.New("ctlproc: already initialised")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	arm, err := c.open(ctx, a.Arm)
	if err != nil {
		return err
	}
	c.arm, c.tap = arm, &tap{Arm: arm}
	c.clk = clock.NewRealSleeper(0)
	c.counters = motion.NewCounters()
	if a.Exec.FlightSeconds > 0 {
		if c.flight, err = motion.NewFlightRecorder(joint.Names(arm.Joints()), a.Exec.Rate, a.Exec.FlightSeconds); err != nil {
			arm.Close()
			return err
		}
	}
	evs := make(chan motion.Event, 1024)
	ex, err := motion.New(c.tap, motion.Config{Rate: a.Exec.Rate, Events: evs, ClipGoal: a.Exec.ClipGoal,
		GoalTolerance: a.Exec.GoalTolerance, Clock: c.clk.(clock.Sleeper), RealTimePriority: a.Exec.RealTimePriority,
		WatchdogOverruns: a.Exec.WatchdogOverruns, Lead: a.Exec.Lead, LagTolerance: a.Exec.LagTolerance,
		Counters: c.counters, Flight: c.flight, Latch: c.shm.EStopWord()})
	if err != nil {
		arm.Close()
		return encodeErr(err)
	}
	c.ex = ex
	c.wg.Add(1)
	go c.forward(evs)
	// From here on the child allocates only per call: no collections (the limit is the
	// backstop), and every thread on SCHED_FIFO below the control thread, so the runtime's
	// helpers that hand the control thread its P back never wait behind other processes.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(MemoryLimit)
	r.Joints = arm.Joints()
	_, r.Compliant = arm.(drivers.Compliant)
	_, r.Setupper = arm.(setupper)
	rt, rtErr := ex.RealTime()
	r.RealTime = rt
	if rtErr != nil {
		r.RTErr = rtErr.Error()
	}
	if p := a.Exec.RealTimePriority; p > 0 && rt {
		if err := clock.ThreadsFIFO(max(p-1, 1)); err != nil {
			r.FIFOErr = err.Error()
		}
	}
	return nil
}

// forward moves the executor's events to the stream Next drains, dropping the oldest
// when the parent falls behind (as the executor does).
func (c *Ctl) forward(evs <-chan motion.Event) {
	defer c.wg.Done()
	for {
		select {
		case ev := <-evs:
			if ev.Result != nil {
				res := *ev.Result
				res.Err = nil // errors do not cross; Reason carries the text
				ev.Result = &res
			}
			c.push(Msg{Event: &ev})
		case <-c.quit:
			return
		}
	}
}

func (c *Ctl) push(m Msg) {
	for {
		select {
		case c.events <- m:
			return
		default:
			select {
			case <-c.events:
			default:
			}
		}
	}
}

// Next waits (up to a second) for events and returns those queued.
func (c *Ctl) Next(_ Nothing, out *[]Msg) error {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case m := <-c.events:
		*out = append(*out, m)
	case <-t.C:
		return nil
	case <-c.quit:
		return nil
	}
	for len(*out) < 256 {
		select {
		case m := <-c.events:
			*out = append(*out, m)
		default:
			return nil
		}
	}
	return nil
}

func (c *Ctl) ready() error {
	if c.ex == nil {
		return errors.New("ctlproc: not initialised")
	}
	return nil
}

// Read returns the arm's state.
func (c *Ctl) Read(a ReadArgs, s *joint.State) error {
	if err := c.ready(); err != nil {
		return err
	}
	if c.tap.snapshot(s, time.Duration(a.MaxAgeNs)) {
		return nil
	}
	if a.SnapshotOnly {
		return errStale
	}
	s.Resize(len(c.arm.Joints()))
	return c.tap.Read(context.Background(), s)
}

// Command sends one command to the arm.
func (c *Ctl) Command(cmd joint.Command, _ *Nothing) error {
	if err := c.ready(); err != nil {
		return err
	}
	return c.arm.Command(context.Background(), cmd)
}

// SetTorque switches the arm's torque.
func (c *Ctl) SetTorque(on bool, _ *Nothing) error {
	if err := c.ready(); err != nil {
		return err
	}
	return drivers.SetTorque(context.Background(), c.arm, on)
}

// setupper is an arm whose connect-time setup can run again (as the daemon's).
type setupper interface {
	Setup(ctx context.Context) error
}

// Setup runs the arm's setup again, bounded by timeoutNs.
func (c *Ctl) Setup(timeoutNs int64, _ *Nothing) error {
	if err := c.ready(); err != nil {
		return err
	}
	su, ok := c.arm.(setupper)
	if !ok {
		return drivers.ErrUnsupported
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeoutNs))
	defer cancel()
	return su.Setup(ctx)
}

// Start starts a run; its end arrives in the stream as a Done.
func (c *Ctl) Start(req motion.Request, _ *Nothing) error {
	if err := c.ready(); err != nil {
		return err
	}
	job, err := c.ex.Start(req)
	if err != nil {
		return encodeErr(err)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-job.Done():
		case <-c.quit:
			<-job.Done() // Close aborts it
		}
		res, _ := job.Result()
		d := &Done{RunID: job.ID(), Result: res, ErrIs: sentinelOf(res.Err)}
		d.Result.Err = nil
		c.push(Msg{Done: d})
	}()
	return nil
}

// Cancel cancels the running skill.
func (c *Ctl) Cancel(_ Nothing, _ *Nothing) error {
	if err := c.ready(); err != nil {
		return err
	}
	return encodeErr(c.ex.Cancel())
}

// Counters copies the loop's counters.
func (c *Ctl) Counters(_ Nothing, out *motion.CountersCopy) error {
	if err := c.ready(); err != nil {
		return err
	}
	*out = c.counters.Copy()
	return nil
}

// ServoStats copies the bus arm's per-servo counters (none for other arms).
func (c *Ctl) ServoStats(_ Nothing, out *[]servo.Stats) error {
	if err := c.ready(); err != nil {
		return err
	}
	if r, ok := c.arm.(servo.StatsReporter); ok {
		*out = r.ServoStats()
	}
	return nil
}

// FlightArgs asks for the flight recorder's counts, and unless CountOnly its samples.
type FlightArgs struct{ CountOnly bool }

// FlightReply is the flight recorder's state: samples written, the clock's time now, and
// the samples (none for CountOnly).
type FlightReply struct {
	Written uint64
	NowNs   int64
	Snap    motion.FlightSnapshot
}

// Flight copies the flight recorder, all of it, or only its counts.
func (c *Ctl) Flight(a FlightArgs, out *FlightReply) error {
	if err := c.ready(); err != nil {
		return err
	}
	if c.flight == nil {
		return errors.New("ctlproc: no flight recorder")
	}
	out.Written = c.flight.Written()
	out.NowNs = int64(c.clk.Now())
	if !a.CountOnly {
		out.Snap = c.flight.Snapshot(-1)
	}
	return nil
}

var errStale = errors.New("ctlproc: no state read recently")

// Close halts and closes the executor and the arm; the child exits when the parent then
// closes the socket.
func (c *Ctl) Close(_ Nothing, _ *Nothing) error {
	return c.shutdown()
}

func (c *Ctl) shutdown() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ex != nil {
			c.ex.Close()
		}
		close(c.quit)
		c.wg.Wait()
		if c.arm != nil {
			err = c.arm.Close()
		}
	})
	return err
}

// tap keeps a copy of the last state the executor read, as the daemon's tap does.
type tap struct {
	drivers.Arm
	mu   sync.Mutex
	last joint.State
	at   time.Time
}

func (t *tap) Read(ctx context.Context, s *joint.State) error {
	err := t.Arm.Read(ctx, s)
	if err == nil {
		t.mu.Lock()
		t.last.CopyFrom(s)
		t.at = time.Now()
		t.mu.Unlock()
	}
	return err
}

func (t *tap) snapshot(dst *joint.State, maxAge time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at.IsZero() || time.Since(t.at) > maxAge {
		return false
	}
	dst.CopyFrom(&t.last)
	return true
}
