package motion

import (
	"testing"

	"github.com/praxis-robotics/praxis/motion/clock"
)

// BenchmarkTick is one control tick of the executor (iterate: requests, read, plan with
// the feedback terms, safety filter, command) on the scriptable fake arm (armtest, 6
// joints, a 3-joint skill) at 500 Hz on a fake clock: the loop's own cost, no sleeping.
func BenchmarkTick(b *testing.B) {
	r := newRig(b, armAt, 0.02, nil)
	skill := fitSkill(b, sStart, sGoal, 20, 0.3)
	start := func() (*runner, *clock.Rate, func()) {
		run, err := newRunner(r.ex, Request{ID: "bench", Skill: skill, Joints: skillJoints})
		if err != nil {
			b.Fatal(err)
		}
		if err := run.setup(); err != nil {
			b.Fatal(err)
		}
		rate, _ := clock.NewRate(r.clk, r.ex.cfg.period())
		prev := r.clk.Now()
		return run, rate, func() { r.ex.iterate(run, rate, &prev) }
	}
	run, _, tick := start()
	b.ReportAllocs()
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		if k%5000 == 4999 { // a fresh run well before the 20 s plan ends
			b.StopTimer()
			run, _, tick = start()
			b.StartTimer()
		}
		tick()
	}
	if run.ended {
		b.Fatalf("run ended: %s", run.res.Reason)
	}
}
