package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/internal/ctlproc"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/clock"
)

// executor is what the daemon asks of the control loop: motion.Executor in this process
// (localExec), or the one in a child process (ctlproc.Proc, executor.isolate).
type executor interface {
	Start(motion.Request) (runJob, error)
	Cancel() error
	Reset()
	EStop()
	RealTime() (bool, error)
	Close() error
}

// runJob is a started run: motion.Job or ctlproc.Job.
type runJob interface {
	Done() <-chan struct{}
	Result() (motion.Result, bool)
}

type localExec struct{ *motion.Executor }

func (l localExec) Start(r motion.Request) (runJob, error) {
	j, err := l.Executor.Start(r)
	if err != nil {
		return nil, err
	}
	return j, nil
}

type childExec struct{ *ctlproc.Proc }

func (c childExec) Start(r motion.Request) (runJob, error) {
	j, err := c.Proc.Start(r)
	if err != nil {
		return nil, err
	}
	return j, nil
}

// ControlArg is the hidden first argument that makes the praxis binary the control
// process of executor.isolate (cmd/praxis calls ControlMain for it).
const ControlArg = "__control"

// ControlMain is the control process's main: it serves the daemon that started it (see
// internal/ctlproc) and opens the arm from the daemon's configuration. It returns the
// process's exit code.
func ControlMain() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "control")
	err := ctlproc.Serve(func(ctx context.Context, raw []byte) (drivers.Arm, error) {
		var cfg Config
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return nil, fmt.Errorf("daemon: control process: configuration: %w", err)
		}
		cfg.Executor.Isolate = false // this process opens the arm itself
		var lv slog.Level
		_ = lv.UnmarshalText([]byte(cfg.LogLevel))
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})).With("component", "control")
		d, err := New(cfg, Options{Logger: log})
		if err != nil {
			return nil, err
		}
		arm, _, err := d.openArm(ctx)
		return arm, err
	})
	if err != nil {
		log.Error("control process", "err", err)
		return 1
	}
	return 0
}

// startControl starts the control process (executor.isolate): the arm's driver and the
// executor run there; events arrive on events.
func (d *Daemon) startControl(ctx context.Context, events chan motion.Event) (*ctlproc.Proc, error) {
	if d.opt.ArmOverride != nil {
		return nil, fmt.Errorf("daemon: executor.isolate: the arm is given to this process (tests' ArmOverride)")
	}
	if _, real := d.opt.Clock.(*clock.Real); !real {
		return nil, fmt.Errorf("daemon: executor.isolate: the control process runs on the real clock, not %T", d.opt.Clock)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("daemon: executor.isolate: %w", err)
	}
	raw, err := json.Marshal(d.cfg)
	if err != nil {
		return nil, fmt.Errorf("daemon: executor.isolate: %w", err)
	}
	var flightSeconds float64
	if *d.cfg.Flight.Enabled {
		flightSeconds = d.cfg.Flight.Seconds
	}
	ec := d.cfg.Executor
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // a bus arm's setup is bounded by SetupTimeout
	defer cancel()
	p, err := ctlproc.Start(ctx, ctlproc.Options{Path: exe, Args: []string{ControlArg}, Arm: raw, Events: events,
		Exec: ctlproc.ExecConfig{Rate: ec.RateHz, ClipGoal: ec.ClipGoal, GoalTolerance: ec.GoalTolerance,
			RealTimePriority: *ec.RealtimePriority, WatchdogOverruns: ec.WatchdogOverruns, Lead: ec.Lead,
			LagTolerance: ec.LagTolerance, FlightSeconds: flightSeconds}})
	if err != nil {
		return nil, fmt.Errorf("daemon: control process: %w", err)
	}
	d.log.Info("control loop runs in its own process", "pid", p.Pid())
	if e := p.ThreadsFIFOError(); e != "" {
		d.log.Info("control process threads without SCHED_FIFO", "err", e)
	}
	return p, nil
}

// mirrorCounters keeps the metrics' loop counters in step with the control process's,
// every half second until stop is closed.
func (d *Daemon) mirrorCounters(p *ctlproc.Proc, stop <-chan struct{}) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := p.Counters(ctx)
		cancel()
		if err == nil {
			d.loop.Mirror(c)
		}
	}
}

// childFlight is the flight recorder of the control process.
type childFlight struct{ p *ctlproc.Proc }

func (c childFlight) Written() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	w, _ := c.p.FlightWritten(ctx)
	return w
}

func (c childFlight) SnapshotNow() (motion.FlightSnapshot, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, now, err := c.p.FlightSnapshot(ctx)
	if err != nil {
		return motion.FlightSnapshot{}, 0
	}
	return s, now
}

// localFlight is the flight recorder in this process and the clock its samples are timed by.
type localFlight struct {
	rec *motion.FlightRecorder
	clk clock.Clock
}

func (l localFlight) Written() uint64 { return l.rec.Written() }

func (l localFlight) SnapshotNow() (motion.FlightSnapshot, time.Duration) {
	now := l.clk.Now()
	return l.rec.Snapshot(-1), now
}
