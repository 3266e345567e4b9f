package motion

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// observedRig is a rig with counters and a flight recorder on.
func observedRig(t testing.TB, seconds float64) (*rig, *Counters, *FlightRecorder) {
	t.Helper()
	c := NewCounters()
	f, err := NewFlightRecorder(joint.Names(testJoints), 500, seconds)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, armAt, 0.02, func(cfg *Config) { cfg.Counters, cfg.Flight = c, f })
	return r, c, f
}

// TestTickAllocatesNothingObserved: with the counters and the flight recorder on, a tick
// still allocates nothing (the ring wraps several times during the measurement).
func TestTickAllocatesNothingObserved(t *testing.T) {
	r, c, f := observedRig(t, 0.5) // 251 slots: wraps during the measurement
	skill := fitSkill(t, sStart, sGoal, 20, 0.3)
	run, err := newRunner(r.ex, Request{ID: "alloc", Skill: skill, Joints: skillJoints})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.setup(); err != nil {
		t.Fatal(err)
	}
	rate, _ := clock.NewRate(r.clk, r.ex.cfg.period())
	prev := r.clk.Now()
	for range 100 {
		r.ex.iterate(run, rate, &prev)
	}
	if n := testing.AllocsPerRun(2000, func() { r.ex.iterate(run, rate, &prev) }); n != 0 {
		t.Fatalf("one observed tick allocates %v times", n)
	}
	if n := testing.AllocsPerRun(20, func() {
		for range 60 {
			r.ex.iterate(run, rate, &prev)
		}
	}); n != 0 {
		t.Fatalf("60 observed ticks allocate %v times", n)
	}
	if run.ended {
		t.Fatalf("run ended: %s", run.res.Reason)
	}
	// Every paced tick is in the histogram; every tick in the ring.
	ticks := uint64(100 + 2001 + 21*60) // AllocsPerRun runs f once more to warm up
	if n, _, _ := c.PeriodError.Snapshot(); n != ticks {
		t.Fatalf("period histogram holds %d observations after %d paced ticks", n, ticks)
	}
	if f.Written() != ticks {
		t.Fatalf("flight recorder wrote %d samples after %d ticks", f.Written(), ticks)
	}
}

// TestCountersMatchResult: the counters agree with the runs' own Stats, on the fake clock.
func TestCountersMatchResult(t *testing.T) {
	r, c, f := observedRig(t, 10)
	skill := fitSkill(t, sStart, sGoal, 0.6, 0.2)
	var paced, ticks uint64
	for i := range 2 {
		res := r.run(Request{ID: "r" + string(rune('0'+i)), Skill: skill, Joints: skillJoints})
		if res.Outcome != Succeeded {
			t.Fatalf("run %d: %s %s", i, res.Outcome, res.Reason)
		}
		paced += res.Timing.Ticks - 1 // the first tick is unpaced
		ticks += res.Timing.Ticks
	}
	n, sum, cum := c.PeriodError.Snapshot()
	if n != paced {
		t.Fatalf("period histogram: %d observations, the runs had %d paced ticks", n, paced)
	}
	// The fake clock keeps every deadline exactly: all period errors are 0.
	if sum != 0 || cum[PeriodErrorBuckets[0]] != n || c.Overruns() != 0 {
		t.Fatalf("period error sum %v, first bucket %d of %d, overruns %d on a fake clock", sum, cum[PeriodErrorBuckets[0]], n, c.Overruns())
	}
	if rn, _, _ := c.RunTrackingError.Snapshot(); rn != 2 {
		t.Fatalf("run tracking histogram: %d observations after 2 runs", rn)
	}
	// Each run succeeded, so every tick got to the arm and into the ring.
	if f.Written() != ticks {
		t.Fatalf("flight recorder: %d samples, the runs had %d ticks", f.Written(), ticks)
	}
	s := f.Snapshot(-1)
	if len(s.T) != int(ticks) || len(s.Measured) != len(s.T) || len(s.Command[0]) != len(testJoints) {
		t.Fatalf("snapshot: %d times, %d rows of %d, want %d rows of %d", len(s.T), len(s.Measured), len(s.Command[0]), ticks, len(testJoints))
	}
	// On the fake clock the samples of a run are exactly one period apart; the second
	// run's first tick runs at once after the first's end, at the same clock time.
	period, gaps := r.ex.cfg.period(), 0
	for k := 1; k < len(s.T); k++ {
		if d := s.T[k] - s.T[k-1]; d != period {
			if d < 0 {
				t.Fatalf("samples %d and %d are %v apart", k-1, k, d)
			}
			gaps++
		}
	}
	if gaps > 1 {
		t.Fatalf("%d gaps between samples in two runs", gaps)
	}
	// The tracking error of the last tick is that of the rows' measured against planned.
	if e := c.TrackingError(); !(e >= 0) || e > 0.05 {
		t.Fatalf("last tracking error %v rad", e)
	}
}

// TestFlightSnapshotWhileWriting: a reader copying the ring while the writer runs sees
// only whole samples, in order, never blocks the writer, and the race detector is quiet.
func TestFlightSnapshotWhileWriting(t *testing.T) {
	f, err := NewFlightRecorder([]string{"a", "b"}, 1000, 0.05) // 51 slots
	if err != nil {
		t.Fatal(err)
	}
	const total = 200000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		v := make([]float64, 2)
		for k := range total {
			x := float64(k)
			v[0], v[1] = x, -x
			f.Record(time.Duration(k)*time.Millisecond, v, v, v, v)
		}
	}()
	snaps := 0
	for f.Written() < total {
		s := f.Snapshot(-1)
		snaps++
		for j := range s.T {
			x := float64(s.T[j] / time.Millisecond)
			for _, row := range [][]float64{s.Measured[j], s.Velocity[j], s.Planned[j], s.Command[j]} {
				if row[0] != x || row[1] != -x {
					t.Fatalf("snapshot %d sample %d at %v holds %v: torn", snaps, j, s.T[j], row)
				}
			}
			if j > 0 && s.T[j] != s.T[j-1]+time.Millisecond {
				t.Fatalf("snapshot %d: samples %v then %v", snaps, s.T[j-1], s.T[j])
			}
		}
	}
	wg.Wait()
	s := f.Snapshot(-1)
	if len(s.T) != f.Capacity() || s.T[len(s.T)-1] != (total-1)*time.Millisecond {
		t.Fatalf("final snapshot: %d samples ending at %v", len(s.T), s.T[len(s.T)-1])
	}
	if s := f.Snapshot((total - 10) * time.Millisecond); len(s.T) != 10 {
		t.Fatalf("snapshot since: %d samples, want 10", len(s.T))
	}
}

func TestFlightRecorderConfig(t *testing.T) {
	for _, c := range []struct {
		joints []string
		rate   float64
		sec    float64
	}{{nil, 500, 10}, {[]string{"a"}, 0, 10}, {[]string{"a"}, 2000, 10}, {[]string{"a"}, 500, 0}, {[]string{"a"}, 500, math.NaN()}} {
		if _, err := NewFlightRecorder(c.joints, c.rate, c.sec); err == nil {
			t.Errorf("NewFlightRecorder(%v, %v, %v) accepted", c.joints, c.rate, c.sec)
		}
	}
	f, _ := NewFlightRecorder([]string{"a"}, 500, 10)
	if f.Capacity() != 5001 {
		t.Fatalf("capacity %d, want 10 s at 500 Hz plus one", f.Capacity())
	}
	arm := newRig(t, armAt, 0.02, nil).arm
	if _, err := New(arm, Config{Flight: f}); err == nil {
		t.Fatal("New accepted a flight recorder made for 1 joint on a 4-joint arm")
	}
}

// BenchmarkFlightRecord is the recorder's per-tick cost for a 6-joint arm.
func BenchmarkFlightRecord(b *testing.B) {
	f, _ := NewFlightRecorder([]string{"a", "b", "c", "d", "e", "f"}, 500, 10)
	v := []float64{1, 2, 3, 4, 5, 6}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.Record(time.Duration(i), v, v, v, v)
	}
}

// BenchmarkObservedTick is one executor tick with and without the hooks.
func BenchmarkObservedTick(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			var r *rig
			if on {
				r, _, _ = observedRig(b, 10)
			} else {
				r = newRig(b, armAt, 0.02, nil)
			}
			skill := fitSkill(b, sStart, sGoal, 600, 0.3)
			start := func() *runner {
				run, err := newRunner(r.ex, Request{ID: "b", Skill: skill, Joints: skillJoints})
				if err != nil {
					b.Fatal(err)
				}
				if err := run.setup(); err != nil {
					b.Fatal(err)
				}
				return run
			}
			run := start()
			rate, _ := clock.NewRate(r.clk, r.ex.cfg.period())
			prev := r.clk.Now()
			b.ReportAllocs()
			for b.Loop() {
				if run.ended { // not in 600 s of plan at 500 Hz; kept honest all the same
					b.StopTimer()
					run = start()
					b.StartTimer()
				}
				r.ex.iterate(run, rate, &prev)
			}
		})
	}
}

// BenchmarkFlightSnapshot is the cost of copying a full 10 s ring at 500 Hz of a 6-joint
// arm (done by the daemon's loop goroutine, never the control thread).
func BenchmarkFlightSnapshot(b *testing.B) {
	f, _ := NewFlightRecorder([]string{"a", "b", "c", "d", "e", "f"}, 500, 10)
	v := []float64{1, 2, 3, 4, 5, 6}
	for i := range f.Capacity() {
		f.Record(time.Duration(i), v, v, v, v)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Snapshot(-1)
	}
}

// TestFlightRingHoldsTheLastTenSeconds: after a 12 s run on the fake clock, the ring holds
// exactly its capacity, the last 10 s at the control rate, ending with the run's last tick.
func TestFlightRingHoldsTheLastTenSeconds(t *testing.T) {
	r, _, f := observedRig(t, 10)
	skill := fitSkill(t, sStart, sGoal, 12, 0.2)
	res := r.run(Request{ID: "long", Skill: skill, Joints: skillJoints})
	if res.Outcome != Succeeded || res.Timing.Ticks < 6000 {
		t.Fatalf("run: %s %s after %d ticks", res.Outcome, res.Reason, res.Timing.Ticks)
	}
	s := f.Snapshot(-1)
	period := r.ex.cfg.period()
	if len(s.T) != 5001 || s.T[len(s.T)-1]-s.T[0] != 5000*period || f.Written() != res.Timing.Ticks {
		t.Fatalf("ring: %d samples spanning %v (want 5001 spanning 10 s); %d written of %d ticks",
			len(s.T), s.T[len(s.T)-1]-s.T[0], f.Written(), res.Timing.Ticks)
	}
	// The last sample is the run's last tick: the arm was measured at the goal.
	last := s.Measured[len(s.Measured)-1]
	for j, g := range sGoal {
		if d := last[j] - g; d > 0.01 || d < -0.01 {
			t.Errorf("joint %d last measured %v, goal %v", j, last[j], g)
		}
	}
}
