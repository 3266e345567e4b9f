package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/shmchan"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// msgGoal is the kind of message the flood forwards to an isolated executor.
const msgGoal = 1

// isolateStats describes the channel between this process and an isolated executor.
type isolateStats struct {
	Forwarded int64 `json:"forwarded"` // decoded commands pushed into the shared-memory ring once the child ran
	Dropped   int64 `json:"dropped"`   // not pushed: the ring was full
	// Received by the control thread (drained at the start of each tick), and how long
	// after the push, µs (CLOCK_MONOTONIC in both processes).
	Received int64   `json:"received"`
	LatP50us float64 `json:"latency_p50_us"`
	LatP99us float64 `json:"latency_p99_us"`
	LatMaxUs float64 `json:"latency_max_us"`
	// The child's own process: GCs during its run, and whether its runtime threads
	// took SCHED_FIFO (the control thread's is in realtime / realtime_error).
	ChildGCs         uint32 `json:"child_gcs"`
	ThreadsFIFOError string `json:"threads_fifo_error,omitempty"`
}

// forwarder returns the flood handler that pushes each decoded cmd/run into ch, as a
// daemon would hand commands to its isolated control loop.
// paho calls it from many goroutines at once; the ring takes one producer, so pushes are
// serialised here (the consumer, the control thread, never waits on this lock).
type forwarder struct {
	ch               *shmchan.Chan
	mu               sync.Mutex // serialises producers
	seq              uint64     // guarded by mu
	forwarded, drops atomic.Int64
}

func (f *forwarder) push(r mqttapi.RunRequest) {
	if n, _ := f.ch.Heartbeat(); n == 0 {
		return // the child is not consuming yet: nothing to measure
	}
	m := shmchan.Msg{Kind: msgGoal, N: 1}
	m.Val[0] = r.Goal["shoulder_pan"]
	f.mu.Lock()
	f.seq++
	m.Seq = f.seq
	m.SentNs = shmchan.MonoNs()
	ok := f.ch.Push(&m)
	f.mu.Unlock()
	if ok {
		f.forwarded.Add(1)
	} else {
		f.drops.Add(1)
	}
}

// childReport is what the hidden `bench loop-child` prints, as JSON, on stdout.
type childReport struct {
	Executor         loopStats      `json:"executor"`
	Run              executorResult `json:"run"`
	Received         int64          `json:"received"`
	LatP50us         float64        `json:"latency_p50_us"`
	LatP99us         float64        `json:"latency_p99_us"`
	LatMaxUs         float64        `json:"latency_max_us"`
	GCs              uint32         `json:"gcs"`
	ThreadsFIFOError string         `json:"threads_fifo_error,omitempty"`
}

// benchIsolated runs the executor part of the bench in a child process (this binary,
// `bench loop-child`) that shares only ch with this one, and fills rep from its report.
func benchIsolated(ctx context.Context, rep *benchReport, o loopOpts, fw *forwarder) error {
	cmd, err := childCommand(ctx, "bench", "loop-child",
		"--rate", strconv.FormatFloat(o.rate, 'g', -1, 64),
		"--seconds", strconv.FormatFloat(o.seconds, 'g', -1, 64),
		"--priority", strconv.Itoa(o.priority), "--spin", o.spin.String())
	if err != nil {
		return fmt.Errorf("bench loop: isolate: %w", err)
	}
	cmd.ExtraFiles = []*os.File{fw.ch.File()} // fd 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bench loop: isolated executor: %w", err)
	}
	var cr childReport
	if err := json.Unmarshal(out.Bytes(), &cr); err != nil {
		return fmt.Errorf("bench loop: isolated executor's report: %w", err)
	}
	rep.Executor = cr.Executor
	rep.RealTime, rep.RealTimeError, rep.ExecutorStats = cr.Run.RealTime, cr.Run.RealTimeError, cr.Run.Stats
	rep.Isolated = &isolateStats{Forwarded: fw.forwarded.Load(), Dropped: fw.drops.Load(),
		Received: cr.Received, LatP50us: cr.LatP50us, LatP99us: cr.LatP99us, LatMaxUs: cr.LatMaxUs,
		ChildGCs: cr.GCs, ThreadsFIFOError: cr.ThreadsFIFOError}
	return nil
}

// childCommand makes the command that runs this binary with args (tests replace it).
var childCommand = func(ctx context.Context, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.CommandContext(ctx, exe, args...), nil
}

// newBenchChildCmd is the hidden child of `bench loop --isolate`.
func newBenchChildCmd() *cobra.Command {
	var o loopOpts
	cmd := &cobra.Command{
		Use:    "loop-child",
		Short:  "The isolated executor of bench loop --isolate (fd 3: the shared-memory channel)",
		Hidden: true,
		Args:   argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			cr, err := benchChild(cmd.Context(), o)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(cr)
		},
	}
	o.flags(cmd.Flags())
	return cmd
}

// drainingArm is the child's arm: it stamps each Read like markingArm and, at the start
// of each tick, drains the command ring without allocating, noting each command's
// delivery latency.
type drainingArm struct {
	*simarm.Arm
	rec  *periodRecorder
	ch   *shmchan.Chan
	lat  []int64 // ns, preallocated
	n    int64
	last float64
}

func (a *drainingArm) Read(ctx context.Context, s *joint.State) error {
	a.rec.mark()
	if a.ch.Len() > 0 {
		now := shmchan.MonoNs()
		var m shmchan.Msg
		for k := 0; k < 256 && a.ch.Pop(&m); k++ {
			a.n++
			a.last = m.Val[0]
			if len(a.lat) < cap(a.lat) {
				a.lat = append(a.lat, now-m.SentNs)
			}
		}
	}
	return a.Arm.Read(ctx, s)
}

// benchChild is the isolated executor: a process with no garbage of its own (the
// collector is off, with a memory limit as a backstop) whose threads all run SCHED_FIFO,
// so nothing in it waits for the daemon's collector or scheduler.
func benchChild(ctx context.Context, o loopOpts) (*childReport, error) {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(256 << 20)
	cr := &childReport{}
	if o.priority > 0 {
		// The runtime's helper threads just below the control thread.
		if err := clock.ThreadsFIFO(max(o.priority-1, 1)); err != nil {
			cr.ThreadsFIFOError = err.Error()
		}
	}
	ch, err := shmchan.Open(os.NewFile(3, "shmchan"))
	if err != nil {
		return nil, fmt.Errorf("bench loop-child: %w", err)
	}
	defer ch.Close()
	s, err := benchSkill()
	if err != nil {
		return nil, err
	}
	arm, _, err := benchArm(s)
	if err != nil {
		return nil, err
	}
	defer arm.Close()
	period := time.Duration(float64(time.Second) / o.rate)
	n := int(o.seconds*o.rate) + 100
	rec := &periodRecorder{clk: clock.NewReal(), nominal: period, errs: make([]time.Duration, 0, n)}
	da := &drainingArm{Arm: arm, rec: rec, ch: ch, lat: make([]int64, 0, 1<<20)}
	gc0 := numGC()
	ch.Beat(1, shmchan.MonoNs()) // ready: the parent starts forwarding
	if cr.Run, err = runExecutor(ctx, s, da, rec, o); err != nil {
		return nil, err
	}
	ch.Beat(0, shmchan.MonoNs()) // no longer consuming: the parent stops forwarding
	cr.GCs = numGC() - gc0
	cr.Executor = rec.stats()
	cr.Received = da.n
	slices.Sort(da.lat)
	if k := len(da.lat); k > 0 {
		cr.LatP50us = float64(da.lat[(k-1)/2]) / 1e3
		cr.LatP99us = float64(da.lat[min(k*99/100, k-1)]) / 1e3
		cr.LatMaxUs = float64(da.lat[k-1]) / 1e3
	}
	return cr, nil
}
