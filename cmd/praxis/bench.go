package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/trace"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/seed"
	"github.com/praxis-robotics/praxis/internal/shmchan"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/skilllib"
)

// newBenchCmd groups the benchmarks.
func newBenchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure the control loop's timing on this machine",
	}
	c.AddCommand(newBenchLoopCmd(), newBenchChildCmd())
	return c
}

// loopStats are the period errors of one loop, |actual period − nominal period|.
type loopStats struct {
	Ticks    int     `json:"ticks"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
	P999us   float64 `json:"p999_us"`
	MaxUs    float64 `json:"max_us"`
	Overruns int     `json:"overruns"` // periods longer than twice the nominal period
	GCs      uint32  `json:"gcs"`      // garbage collections completed while it ran
	MaxAt    int     `json:"max_at"`   // the max came in this period of its run (1: the first paced one)
}

// benchReport is what `bench loop --json` prints.
type benchReport struct {
	RateHz        float64      `json:"rate_hz"`
	Seconds       float64      `json:"seconds"` // per loop; the loops run one after the other
	GOMAXPROCS    int          `json:"gomaxprocs"`
	GCPercent     int          `json:"gc_percent"` // GOGC in this process
	RealTime      bool         `json:"realtime"`   // SCHED_FIFO took effect on the executor's thread
	RealTimeError string       `json:"realtime_error,omitempty"`
	Executor      loopStats    `json:"executor"`
	Ticker        loopStats    `json:"ticker"`
	P99Ratio      float64      `json:"p99_ratio"`      // ticker p99 / executor p99
	ExecutorStats motion.Stats `json:"executor_stats"` // the executor's own figures for its last run
	AllocatedMB   float64      `json:"allocated_mb"`   // garbage made by the pressure goroutine, MB
	GarbageMBps   float64      `json:"garbage_mbps"`   // its target rate, MB/s
	// With --flood: the MQTT command flood during each loop.
	ExecutorFlood *floodStats `json:"executor_flood,omitempty"`
	TickerFlood   *floodStats `json:"ticker_flood,omitempty"`
	// With --isolate: the executor ran in a child process; its channel's figures.
	Isolated *isolateStats `json:"isolated,omitempty"`
}

func newBenchLoopCmd() *cobra.Command {
	var (
		o      loopOpts
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "loop [--rate HZ] [--seconds S] [--priority P] [--spin D] [--flood] [--isolate] [--json]",
		Short: "Compare the executor's loop against a time.Ticker loop under garbage pressure",
		Long: "loop runs the executor at --rate for --seconds against the real-time simulated SO-101\n" +
			"(the seed skill wave, repeated), on its real pacer: absolute clock_nanosleep on a locked\n" +
			"thread, SCHED_FIFO at --priority when permitted. Then, for as long, a plain time.Ticker\n" +
			"loop does the same work (read the arm, step the DMP, command) on a second simulated arm.\n" +
			"A background goroutine allocates heavily throughout, forcing garbage collections. It\n" +
			"prints the period error |actual − nominal| p50/p99/p99.9/max of both loops.\n" +
			"--flood adds an MQTT command flood in this process; --isolate runs the executor in a\n" +
			"child process that shares only a shared-memory command ring with this one.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			if !(o.garbageMBps > 0 && o.garbageMBps <= 1e5) {
				return inputErrf("bench loop: --garbage %v: want MB/s in (0, 100000]", o.garbageMBps)
			}
			if o.floodClients < 1 || o.floodClients > 64 {
				return inputErrf("bench loop: --flood-clients %d: want 1..64", o.floodClients)
			}
			rep, err := benchLoop(cmd.Context(), o)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			rt := "SCHED_FIFO: in effect (priority " + fmt.Sprint(o.priority) + ")"
			if !rep.RealTime {
				rt = "SCHED_FIFO: not in effect"
				if rep.RealTimeError != "" {
					rt += " (" + rep.RealTimeError + ")"
				}
			}
			fmt.Fprintf(w, "%.0f Hz, %.3g s per loop, GOMAXPROCS %d, GOGC %d, %.0f MB of garbage; %s\n",
				rep.RateHz, rep.Seconds, rep.GOMAXPROCS, rep.GCPercent, rep.AllocatedMB, rt)
			fmt.Fprintf(w, "period error (µs)  %7s %9s %9s %9s %9s %8s %5s %7s\n", "ticks", "p50", "p99", "p99.9", "max", "overruns", "GCs", "max at")
			for _, r := range []struct {
				name string
				s    loopStats
			}{{"executor", rep.Executor}, {"time.Ticker", rep.Ticker}} {
				fmt.Fprintf(w, "%-18s %7d %9.1f %9.1f %9.1f %9.1f %8d %5d %7d\n", r.name, r.s.Ticks,
					r.s.P50us, r.s.P99us, r.s.P999us, r.s.MaxUs, r.s.Overruns, r.s.GCs, r.s.MaxAt)
			}
			fmt.Fprintf(w, "ticker p99 / executor p99 = %.1f×\n", rep.P99Ratio)
			if i := rep.Isolated; i != nil {
				fmt.Fprintf(w, "executor isolated in a child process (%d GCs there): %d commands forwarded, %d dropped (ring full), %d received; latency p50 %.1f µs, p99 %.1f µs, max %.1f µs\n",
					i.ChildGCs, i.Forwarded, i.Dropped, i.Received, i.LatP50us, i.LatP99us, i.LatMaxUs)
				if i.ThreadsFIFOError != "" {
					fmt.Fprintf(w, "child's runtime threads: %s\n", i.ThreadsFIFOError)
				}
			}
			for _, f := range []struct {
				name string
				s    *floodStats
			}{{"executor", rep.ExecutorFlood}, {"time.Ticker", rep.TickerFlood}} {
				if f.s != nil {
					fmt.Fprintf(w, "flood during %s: %d clients, %d cmd/run published, %d decoded (%.0f/s), %d rejected\n",
						f.name, f.s.Clients, f.s.Published, f.s.Decoded, f.s.DecodedPS, f.s.Rejected)
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	o.flags(fl)
	fl.Float64Var(&o.garbageMBps, "garbage", 300, "garbage made by the background goroutine, MB/s")
	fl.BoolVar(&asJSON, "json", false, "print the numbers as JSON")
	fl.BoolVar(&o.flood, "flood", false, "MQTT command flood throughout: an embedded broker and --flood-clients clients\n"+
		"publishing QoS 0 cmd/run as fast as they can to a topic this process subscribes to and decodes")
	fl.IntVar(&o.floodClients, "flood-clients", 4, "publishing clients of --flood, 1..64")
	fl.BoolVar(&o.tune, "tune", true, "tune the Go runtime as the daemon does (clock.TuneRuntime: GOMAXPROCS, GOGC);\n"+
		"--tune=false keeps Go's defaults")
	fl.StringVar(&o.trace, "trace", "", "write a runtime/trace of the (in-process) executor's phase to this file")
	_ = fl.MarkHidden("trace")
	fl.BoolVar(&o.isolate, "isolate", false, "run the executor in a child process (this binary, all threads SCHED_FIFO,\n"+
		"collector off) that shares only a lock-free shared-memory ring with this one; the flood's\n"+
		"decoded commands are forwarded through it")
	return cmd
}

// periodRecorder collects |period − nominal| of successive calls without allocating.
type periodRecorder struct {
	clk     *clock.Real
	nominal time.Duration
	last    time.Duration
	skip    int
	errs    []time.Duration // preallocated
	long    int
	n       int           // periods recorded in this run
	worst   time.Duration // the longest period error, and
	worstAt int           // the period of its run it came in (1: the first paced period)
}

func (p *periodRecorder) restart() { p.last, p.skip, p.n = 0, 2, 0 }

func (p *periodRecorder) mark() {
	now := p.clk.Now()
	if p.last != 0 && p.skip == 0 && len(p.errs) < cap(p.errs) {
		d := now - p.last
		if d > 2*p.nominal {
			p.long++
		}
		e := (d - p.nominal).Abs()
		p.errs = append(p.errs, e)
		p.n++
		if e > p.worst {
			p.worst, p.worstAt = e, p.n
		}
	}
	if p.skip > 0 {
		p.skip--
	}
	p.last = now
}

func (p *periodRecorder) stats() loopStats {
	s := slices.Clone(p.errs)
	slices.Sort(s)
	q := func(f float64) float64 {
		if len(s) == 0 {
			return 0
		}
		i := min(int(math.Ceil(f*float64(len(s))))-1, len(s)-1)
		return float64(s[max(i, 0)]) / 1e3
	}
	return loopStats{Ticks: len(s), P50us: q(0.5), P99us: q(0.99), P999us: q(0.999), MaxUs: q(1), Overruns: p.long, MaxAt: p.worstAt}
}

// markingArm stamps every Read: the executor reads once per tick, right after waking.
type markingArm struct {
	*simarm.Arm
	rec *periodRecorder
}

func (a *markingArm) Read(ctx context.Context, s *joint.State) error {
	a.rec.mark()
	return a.Arm.Read(ctx, s)
}

// benchSkill learns the seed skill wave (SO-101).
func benchSkill() (*skilllib.Skill, error) {
	s, err := seed.Learn("wave", praxisVersion())
	if err != nil {
		return nil, fmt.Errorf("bench loop: learn wave: %w", err)
	}
	return s, nil
}

// benchArm makes a real-time simulated SO-101 at the skill's start.
func benchArm(s *skilllib.Skill) (*simarm.Arm, []int, error) {
	probe, err := simarm.New(simarm.Config{})
	if err != nil {
		return nil, nil, fmt.Errorf("bench loop: %w", err)
	}
	js := probe.Joints()
	_ = probe.Close()
	idx, err := joint.MapByName(joint.Names(js), s.Joints)
	if err != nil {
		return nil, nil, fmt.Errorf("bench loop: %w", err)
	}
	init := make([]float64, len(js))
	for i, j := range js {
		init[i] = j.Limits.Clamp(0)
	}
	for j, a := range idx {
		init[a] = s.DMP.Start[j]
	}
	arm, err := simarm.New(simarm.Config{Clock: clock.NewReal(), Initial: init})
	if err != nil {
		return nil, nil, fmt.Errorf("bench loop: %w", err)
	}
	return arm, idx, nil
}

// garbage allocates about mbps MB/s (in 1 ms bursts of 16 KiB buffers) until ctx is
// done, keeping a ring of 4 MiB alive so the collector has work; it adds the bytes
// allocated to n.
func garbage(ctx context.Context, mbps float64, n *atomic.Int64) {
	var keep [256][]byte
	perMs := int(mbps * 1e3 / (16 << 10))
	t0 := time.Now()
	for i := 0; ctx.Err() == nil; {
		for k := 0; k < max(perMs, 1); k, i = k+1, i+1 {
			b := make([]byte, 16<<10)
			b[i%len(b)] = byte(i)
			keep[i%len(keep)] = b
		}
		n.Add(int64(max(perMs, 1)) * 16 << 10)
		// Pace on the total, so a slow burst is made up by the next.
		if ahead := time.Duration(float64(n.Load())/(mbps*1e6)*float64(time.Second)) - time.Since(t0); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	_ = keep
}

func numGC() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}

// benchLoop runs the executor loop, then the Ticker loop, each for seconds, under
// garbage pressure.
func benchLoop(ctx context.Context, o loopOpts) (*benchReport, error) {
	rate, seconds, garbageMBps := o.rate, o.seconds, o.garbageMBps
	if o.tune {
		clock.TuneRuntime()
	}
	s, err := benchSkill()
	if err != nil {
		return nil, err
	}
	period := time.Duration(float64(time.Second) / rate)
	span := time.Duration(seconds * float64(time.Second))
	n := int(seconds*rate) + 100
	rep := &benchReport{RateHz: rate, Seconds: seconds, GOMAXPROCS: runtime.GOMAXPROCS(0), GarbageMBps: garbageMBps,
		GCPercent: clock.CurrentRuntime().GCPercent}

	gctx, stop := context.WithCancel(ctx)
	var allocated atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); garbage(gctx, garbageMBps, &allocated) }()
	defer func() { stop(); wg.Wait() }()

	var ch *shmchan.Chan
	var fw *forwarder
	var onCmd func(mqttapi.RunRequest)
	if o.isolate {
		if ch, err = shmchan.Create(4096); err != nil {
			return nil, fmt.Errorf("bench loop: %w", err)
		}
		defer ch.Close()
		fw = &forwarder{ch: ch}
		onCmd = fw.push
	}
	var fl *flood
	if o.flood {
		if fl, err = startFlood(o.floodClients, onCmd); err != nil {
			return nil, err
		}
		defer fl.Close()
	}

	// 1. The executor on its real pacer: here, or (--isolate) in a child process.
	if fl != nil {
		fl.stats() // count from here
	}
	gc0 := numGC()
	if o.isolate {
		if err := benchIsolated(ctx, rep, o, fw); err != nil {
			return nil, err
		}
	} else {
		arm, _, err := benchArm(s)
		if err != nil {
			return nil, err
		}
		rec := &periodRecorder{clk: clock.NewReal(), nominal: period, errs: make([]time.Duration, 0, n)}
		if o.trace != "" {
			f, err := os.Create(o.trace)
			if err != nil {
				return nil, fmt.Errorf("bench loop: --trace: %w", err)
			}
			defer f.Close()
			if err := trace.Start(f); err != nil {
				return nil, fmt.Errorf("bench loop: --trace: %w", err)
			}
		}
		er, err := runExecutor(ctx, s, &markingArm{Arm: arm, rec: rec}, rec, o)
		if o.trace != "" {
			trace.Stop()
		}
		_ = arm.Close()
		if err != nil {
			return nil, err
		}
		rep.RealTime, rep.RealTimeError, rep.ExecutorStats = er.RealTime, er.RealTimeError, er.Stats
		rep.Executor = rec.stats()
	}
	rep.Executor.GCs = numGC() - gc0
	if fl != nil {
		s := fl.stats()
		rep.ExecutorFlood = &s
	}

	// 2. A plain time.Ticker loop doing the same work.
	arm2, idx, err := benchArm(s)
	if err != nil {
		return nil, err
	}
	defer arm2.Close()
	trec := &periodRecorder{clk: clock.NewReal(), nominal: period, errs: make([]time.Duration, 0, n)}
	if fl != nil {
		fl.stats()
	}
	gc0 = numGC()
	if err := tickerLoop(ctx, arm2, idx, s, trec, period, span); err != nil {
		return nil, err
	}
	rep.Ticker = trec.stats()
	rep.Ticker.GCs = numGC() - gc0
	if fl != nil {
		s := fl.stats()
		rep.TickerFlood = &s
	}
	if rep.Executor.P99us > 0 {
		rep.P99Ratio = rep.Ticker.P99us / rep.Executor.P99us
	}
	rep.AllocatedMB = float64(allocated.Load()) / 1e6
	return rep, nil
}

// loopOpts are bench loop's options; the isolated child takes the executor's.
type loopOpts struct {
	rate, seconds, garbageMBps float64
	priority, floodClients     int
	flood, isolate, tune       bool
	spin                       time.Duration
	trace                      string // runtime/trace of the in-process executor's phase, to this file
}

// flags declares the executor's options on fl.
func (o *loopOpts) flags(fl *pflag.FlagSet) {
	fl.Float64Var(&o.rate, "rate", 1000, "control rate, Hz, in (0, 1000]")
	fl.Float64Var(&o.seconds, "seconds", 10, "how long each loop runs, s")
	fl.IntVar(&o.priority, "priority", 50, "SCHED_FIFO priority of the executor's thread, 1..99 (0: none)")
	fl.DurationVar(&o.spin, "spin", 0, "the executor's busy-wait before each deadline (motion.Config.Spin), e.g. 200us")
}

// check validates the executor's options.
func (o *loopOpts) check() error {
	if !(o.rate > 0 && o.rate <= 1000) {
		return inputErrf("bench loop: --rate %v: want Hz in (0, 1000]", o.rate)
	}
	if !(o.seconds > 0 && o.seconds <= 3600) {
		return inputErrf("bench loop: --seconds %v: want (0, 3600]", o.seconds)
	}
	if o.priority < 0 || o.priority > 99 {
		return inputErrf("bench loop: --priority %d: want 0..99 (0: no SCHED_FIFO)", o.priority)
	}
	if o.spin < 0 || o.spin >= time.Duration(float64(time.Second)/o.rate) {
		return inputErrf("bench loop: --spin %v: want 0 up to a period", o.spin)
	}
	return nil
}

// executorResult is what runExecutor found.
type executorResult struct {
	RealTime      bool         `json:"realtime"`
	RealTimeError string       `json:"realtime_error,omitempty"`
	Stats         motion.Stats `json:"stats"` // the executor's own figures for its last run
}

// runExecutor runs the skill again and again on an executor over arm for span; rec is
// restarted before each run (arm stamps it on every Read).
func runExecutor(ctx context.Context, s *skilllib.Skill, arm motion.Arm, rec *periodRecorder, o loopOpts) (executorResult, error) {
	var out executorResult
	span := time.Duration(o.seconds * float64(time.Second))
	ex, err := motion.New(arm, motion.Config{Rate: o.rate, RealTimePriority: o.priority, Spin: o.spin,
		// Measure stalls rather than stop at them (the default fails a run after 5).
		WatchdogOverruns: 1 << 20})
	if err != nil {
		return out, fmt.Errorf("bench loop: %w", err)
	}
	defer ex.Close()
	rt, rtErr := ex.RealTime()
	out.RealTime = rt
	if rtErr != nil {
		out.RealTimeError = rtErr.Error()
	}
	rctx, cancel := context.WithTimeout(ctx, span)
	defer cancel()
	for rctx.Err() == nil {
		rec.restart()
		res, _ := ex.Run(rctx, motion.Request{ID: "bench", Skill: &s.DMP, Joints: s.Joints})
		out.Stats = res.Timing
		// "goal not reached" (the SO-101 droops) just starts the next run; a watchdog or
		// fault ends the benchmark.
		if res.Outcome == motion.Failed && rctx.Err() == nil && !errors.Is(res.Err, motion.ErrTimeout) {
			return out, fmt.Errorf("bench loop: executor run failed: %s", res.Reason)
		}
	}
	return out, nil
}

// tickerLoop paces with time.Ticker: each tick it reads the arm, steps the skill's DMP
// with the measured dt and commands the result (clamped into the limits).
func tickerLoop(ctx context.Context, arm *simarm.Arm, idx []int, s *skilllib.Skill,
	rec *periodRecorder, period, span time.Duration) error {
	js := arm.Joints()
	st := joint.NewState(len(js))
	cmd := joint.NewCommand(len(js))
	if err := arm.Read(ctx, &st); err != nil {
		return fmt.Errorf("bench loop: %w", err)
	}
	copy(cmd.Pos, st.Pos)
	step, err := s.DMP.NewStepper(s.DMP.Start, nil, s.DMP.Goal, s.DMP.Tau)
	if err != nil {
		return fmt.Errorf("bench loop: %w", err)
	}
	tk := time.NewTicker(period)
	defer tk.Stop()
	end := time.NewTimer(span)
	defer end.Stop()
	rec.restart()
	prev := rec.clk.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		case <-tk.C:
		}
		rec.mark()
		now := rec.clk.Now()
		dt := min(now-prev, 4*period).Seconds()
		prev = now
		if err := arm.Read(ctx, &st); err != nil {
			return fmt.Errorf("bench loop: %w", err)
		}
		if step.Done() && step.Phase() < 1e-3 {
			// Start over (a rare allocation, as in a real loop starting a new skill).
			if step, err = s.DMP.NewStepper(s.DMP.Start, nil, s.DMP.Goal, s.DMP.Tau); err != nil {
				return fmt.Errorf("bench loop: %w", err)
			}
		}
		step.Step(dt, nil, 1)
		for j, a := range idx {
			cmd.Pos[a] = js[a].Limits.Clamp(step.Pos()[j])
		}
		if err := arm.Command(ctx, cmd); err != nil {
			return fmt.Errorf("bench loop: %w", err)
		}
	}
}
