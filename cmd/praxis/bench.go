package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/seed"
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
	c.AddCommand(newBenchLoopCmd())
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
}

// benchReport is what `bench loop --json` prints.
type benchReport struct {
	RateHz        float64      `json:"rate_hz"`
	Seconds       float64      `json:"seconds"` // per loop; the loops run one after the other
	GOMAXPROCS    int          `json:"gomaxprocs"`
	RealTime      bool         `json:"realtime"` // SCHED_FIFO took effect on the executor's thread
	RealTimeError string       `json:"realtime_error,omitempty"`
	Executor      loopStats    `json:"executor"`
	Ticker        loopStats    `json:"ticker"`
	P99Ratio      float64      `json:"p99_ratio"`      // ticker p99 / executor p99
	ExecutorStats motion.Stats `json:"executor_stats"` // the executor's own figures for its last run
	AllocatedMB   float64      `json:"allocated_mb"`   // garbage made by the pressure goroutine, MB
	GarbageMBps   float64      `json:"garbage_mbps"`   // its target rate, MB/s
}

func newBenchLoopCmd() *cobra.Command {
	var (
		rate, seconds, garbageMBps float64
		priority                   int
		asJSON                     bool
	)
	cmd := &cobra.Command{
		Use:   "loop [--rate HZ] [--seconds S] [--priority P] [--json]",
		Short: "Compare the executor's loop against a time.Ticker loop under garbage pressure",
		Long: "loop runs the executor at --rate for --seconds against the real-time simulated SO-101\n" +
			"(the seed skill wave, repeated), on its real pacer: absolute clock_nanosleep on a locked\n" +
			"thread, SCHED_FIFO at --priority when permitted. Then, for as long, a plain time.Ticker\n" +
			"loop does the same work (read the arm, step the DMP, command) on a second simulated arm.\n" +
			"A background goroutine allocates heavily throughout, forcing garbage collections. It\n" +
			"prints the period error |actual − nominal| p50/p99/p99.9/max of both loops.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !(rate > 0 && rate <= 1000) {
				return inputErrf("bench loop: --rate %v: want Hz in (0, 1000]", rate)
			}
			if !(seconds > 0 && seconds <= 3600) {
				return inputErrf("bench loop: --seconds %v: want (0, 3600]", seconds)
			}
			if !(garbageMBps > 0 && garbageMBps <= 1e5) {
				return inputErrf("bench loop: --garbage %v: want MB/s in (0, 100000]", garbageMBps)
			}
			if priority < 0 || priority > 99 {
				return inputErrf("bench loop: --priority %d: want 0..99 (0: no SCHED_FIFO)", priority)
			}
			rep, err := benchLoop(cmd.Context(), rate, seconds, priority, garbageMBps)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			rt := "SCHED_FIFO: in effect (priority " + fmt.Sprint(priority) + ")"
			if !rep.RealTime {
				rt = "SCHED_FIFO: not in effect"
				if rep.RealTimeError != "" {
					rt += " (" + rep.RealTimeError + ")"
				}
			}
			fmt.Fprintf(w, "%.0f Hz, %.3g s per loop, GOMAXPROCS %d, %.0f MB of garbage; %s\n",
				rep.RateHz, rep.Seconds, rep.GOMAXPROCS, rep.AllocatedMB, rt)
			fmt.Fprintf(w, "period error (µs)  %7s %9s %9s %9s %9s %8s %5s\n", "ticks", "p50", "p99", "p99.9", "max", "overruns", "GCs")
			for _, r := range []struct {
				name string
				s    loopStats
			}{{"executor", rep.Executor}, {"time.Ticker", rep.Ticker}} {
				fmt.Fprintf(w, "%-18s %7d %9.1f %9.1f %9.1f %9.1f %8d %5d\n", r.name, r.s.Ticks,
					r.s.P50us, r.s.P99us, r.s.P999us, r.s.MaxUs, r.s.Overruns, r.s.GCs)
			}
			fmt.Fprintf(w, "ticker p99 / executor p99 = %.1f×\n", rep.P99Ratio)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&rate, "rate", 1000, "control rate, Hz, in (0, 1000]")
	fl.Float64Var(&seconds, "seconds", 10, "how long each loop runs, s")
	fl.IntVar(&priority, "priority", 50, "SCHED_FIFO priority of the executor's thread, 1..99 (0: none)")
	fl.Float64Var(&garbageMBps, "garbage", 300, "garbage made by the background goroutine, MB/s")
	fl.BoolVar(&asJSON, "json", false, "print the numbers as JSON")
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
}

func (p *periodRecorder) restart() { p.last, p.skip = 0, 2 }

func (p *periodRecorder) mark() {
	now := p.clk.Now()
	if p.last != 0 && p.skip == 0 && len(p.errs) < cap(p.errs) {
		d := now - p.last
		if d > 2*p.nominal {
			p.long++
		}
		p.errs = append(p.errs, (d - p.nominal).Abs())
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
	return loopStats{Ticks: len(s), P50us: q(0.5), P99us: q(0.99), P999us: q(0.999), MaxUs: q(1), Overruns: p.long}
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
func benchLoop(ctx context.Context, rate, seconds float64, priority int, garbageMBps float64) (*benchReport, error) {
	s, err := benchSkill()
	if err != nil {
		return nil, err
	}
	period := time.Duration(float64(time.Second) / rate)
	span := time.Duration(seconds * float64(time.Second))
	n := int(seconds*rate) + 100
	rep := &benchReport{RateHz: rate, Seconds: seconds, GOMAXPROCS: runtime.GOMAXPROCS(0), GarbageMBps: garbageMBps}

	gctx, stop := context.WithCancel(ctx)
	var allocated atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); garbage(gctx, garbageMBps, &allocated) }()
	defer func() { stop(); wg.Wait() }()

	// 1. The executor on its real pacer.
	arm, _, err := benchArm(s)
	if err != nil {
		return nil, err
	}
	rec := &periodRecorder{clk: clock.NewReal(), nominal: period, errs: make([]time.Duration, 0, n)}
	ex, err := motion.New(&markingArm{Arm: arm, rec: rec}, motion.Config{Rate: rate, RealTimePriority: priority,
		// Measure stalls rather than stop at them (the default fails a run after 5).
		WatchdogOverruns: 1 << 20})
	if err != nil {
		return nil, fmt.Errorf("bench loop: %w", err)
	}
	rt, rtErr := ex.RealTime()
	rep.RealTime = rt
	if rtErr != nil {
		rep.RealTimeError = rtErr.Error()
	}
	gc0 := numGC()
	rctx, cancel := context.WithTimeout(ctx, span)
	for rctx.Err() == nil {
		rec.restart()
		res, _ := ex.Run(rctx, motion.Request{ID: "bench", Skill: &s.DMP, Joints: s.Joints})
		rep.ExecutorStats = res.Timing
		// "goal not reached" (the SO-101 droops) just starts the next run; a watchdog or
		// fault ends the benchmark.
		if res.Outcome == motion.Failed && rctx.Err() == nil && !strings.HasPrefix(res.Reason, motion.ReasonTimeout) {
			cancel()
			_ = ex.Close()
			return nil, fmt.Errorf("bench loop: executor run failed: %s", res.Reason)
		}
	}
	cancel()
	_ = ex.Close()
	_ = arm.Close()
	rep.Executor = rec.stats()
	rep.Executor.GCs = numGC() - gc0

	// 2. A plain time.Ticker loop doing the same work.
	arm2, idx, err := benchArm(s)
	if err != nil {
		return nil, err
	}
	defer arm2.Close()
	trec := &periodRecorder{clk: clock.NewReal(), nominal: period, errs: make([]time.Duration, 0, n)}
	gc0 = numGC()
	if err := tickerLoop(ctx, arm2, idx, s, trec, period, span); err != nil {
		return nil, err
	}
	rep.Ticker = trec.stats()
	rep.Ticker.GCs = numGC() - gc0
	if rep.Executor.P99us > 0 {
		rep.P99Ratio = rep.Ticker.P99us / rep.Executor.P99us
	}
	rep.AllocatedMB = float64(allocated.Load()) / 1e6
	return rep, nil
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
