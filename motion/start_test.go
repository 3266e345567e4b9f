package motion

import (
	"math"
	"testing"
	"time"
)

// The first command of a run goes out at once, without waiting out a period, on the
// state setup read; the paced ticks follow one period apart from it, the first tick is
// not in the jitter, and the peaks rolled out after it equal a full rollout's.
func TestFirstTickAtOnce(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	const period = 2 * time.Millisecond // default 500 Hz
	r.clk.Advance(123 * time.Microsecond)
	var peak []float64
	ticks := 0
	r.ex.trace = func(x *runner) {
		if ticks++; ticks == 2 {
			peak = append(peak, x.peak...)
		}
	}
	res := r.run(Request{ID: "first", Skill: skill, Joints: skillJoints})
	if res.Outcome != Succeeded {
		t.Fatalf("%s %q", res.Outcome, res.Reason)
	}
	recs := r.arm.Commands()
	if recs[0].T != 123*time.Microsecond {
		t.Fatalf("first command at %v, want at the start, 123µs", recs[0].T)
	}
	for k := 1; k < len(recs)-1; k++ { // all but the halt
		if d := recs[k].T - recs[k-1].T; d != period {
			t.Fatalf("command %d %v after the one before, want %v", k, d, period)
		}
	}
	if reads := r.arm.NumReads(); reads != len(recs)-1 {
		t.Fatalf("%d reads for %d ticks: the first tick must reuse setup's read", reads, len(recs)-1)
	}
	if tm := res.Timing; tm.Ticks != uint64(len(recs)-1) || tm.Ticks != uint64(ticks) ||
		tm.JitterMax != 0 || tm.LateMax != 0 || tm.Overruns != 0 {
		t.Fatalf("%d commands, %d ticks traced, timing %+v", len(recs), ticks, tm)
	}
	tr, err := skill.RolloutFrom(sStart, nil, sGoal, skill.Tau, period.Seconds())
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(sGoal))
	for _, v := range tr.Vel {
		for j := range want {
			want[j] = max(want[j], math.Abs(v[j]))
		}
	}
	for j := range want {
		if peak[j] != want[j] || !(want[j] > 0) {
			t.Fatalf("peaks %v, rollout's %v", peak, want)
		}
	}

	// From idle, a run starts at once even right after the last halt (the fake clock
	// has not moved since).
	halt := recs[len(recs)-1].T
	if res := r.run(Request{ID: "second", Skill: skill, Joints: skillJoints}); res.Outcome != Succeeded {
		t.Fatalf("second: %s %q", res.Outcome, res.Reason)
	}
	if got := r.arm.Commands()[len(recs)].T; got != halt {
		t.Fatalf("second run's first command at %v, halt at %v", got, halt)
	}
}

// A preempting run keeps the pace of the run it preempts: its first command comes one
// period after the halt, not in the same instant.
func TestPreemptingRunKeepsPace(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	const period = 2 * time.Millisecond
	bc := make(chan *Job, 1)
	r.at(100, func() {
		j, _ := r.ex.Start(Request{ID: "b", Skill: skill, Joints: skillJoints})
		bc <- j
	})
	if _, err := r.ex.Start(Request{ID: "a", Skill: skill, Joints: skillJoints, Duration: 3}); err != nil {
		t.Fatal(err)
	}
	b := <-bc
	if b == nil {
		t.Fatal("b did not start")
	}
	if _, err := b.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	// a is aborted before its tick's command, so its halt comes a period after its last
	// command, and b's first a period after that: one steady stream.
	recs := r.arm.Commands()
	for k := 1; k < len(recs)-1; k++ { // all but b's halt
		if d := recs[k].T - recs[k-1].T; d != period {
			t.Fatalf("command %d of %d: %v after the one before", k, len(recs), d)
		}
	}
	halts := 0
	for k := range recs[:len(recs)-1] {
		if isHalt(recs[k], recs[k].Pos, 0) {
			halts++
		}
	}
	if halts != 1 {
		t.Fatalf("%d halts before b's", halts)
	}
}
