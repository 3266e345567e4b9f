package motion

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// widest returns a copy of m with dmp.MaxBasis basis functions (zero extra weights): the
// costliest skill a file may hold.
func widest(m *dmp.DMP) *dmp.DMP {
	w := *m
	nb := dmp.MaxBasis
	w.Centers, w.Widths = make([]float64, nb), make([]float64, nb)
	for i := range w.Centers {
		w.Centers[i] = 1 - float64(i)/float64(nb)*0.999
		w.Widths[i] = 1e4
	}
	w.Weights = make([][]float64, len(m.Weights))
	for j := range w.Weights {
		w.Weights[j] = make([]float64, nb)
		copy(w.Weights[j], m.Weights[j])
	}
	return &w
}

func TestDurationBounds(t *testing.T) {
	r := newRig(t, armAt, 0.02, nil)
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	for _, d := range []float64{1e5, 1e308, math.Inf(1), math.NaN(), -1, dmp.MaxDuration + 1} {
		if _, err := r.ex.Start(Request{ID: "d", Skill: skill, Joints: skillJoints, Duration: d}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("duration %v: %v, want ErrInvalidRequest", d, err)
		}
	}
}

// TestEStopWithinTwoTicks runs the costliest run a request may ask for (the longest
// duration, the most basis functions, 1 kHz) and checks that the e-stop's halt command
// follows its arrival within 2 control periods, at the start of the run and later.
func TestEStopWithinTwoTicks(t *testing.T) {
	skill := widest(fitSkill(t, sStart, sGoal, 1.5, 0.3))
	for _, at := range []int{1, 2, 500} {
		r := newRig(t, armAt, 0.02, func(c *Config) { c.Rate = 1000 })
		var mu sync.Mutex
		var stopAt, haltAt time.Duration
		var cmds int
		first := r.arm.NumCommands()
		r.arm.OnCommand(func(n int, _ joint.Command) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case n-first == at:
				stopAt = r.clk.Now()
				r.ex.EStop()
			case n-first > at && haltAt == 0:
				haltAt = r.clk.Now()
			}
			cmds = n - first
		})
		start := time.Now()
		res := r.run(Request{ID: "long", Skill: skill, Joints: skillJoints, Duration: dmp.MaxDuration})
		wall := time.Since(start)
		mu.Lock()
		if res.Outcome != Aborted || res.Reason != ReasonEStop {
			t.Fatalf("at %d: %s %q", at, res.Outcome, res.Reason)
		}
		if haltAt == 0 || haltAt-stopAt > 2*time.Millisecond {
			t.Errorf("at %d: halt %v after the e-stop, want within 2 periods (2 ms)", at, haltAt-stopAt)
		}
		if cmds != at+1 {
			t.Errorf("at %d: %d commands, want the e-stop's tick and one halt (%d)", at, cmds, at+1)
		}
		// The fake clock does not see CPU time: bound the wall time too. Work that grows with
		// the duration (a whole-plan rollout on the control thread took > 30 s here) fails
		// this by far; the bounded start takes milliseconds even on a loaded machine.
		if wall > 2*time.Second {
			t.Errorf("at %d: the run took %v of wall time to start, stop and halt", at, wall)
		}
		mu.Unlock()
		t.Logf("e-stop at command %d: halt after %v (simulated); run start to end %v wall", at, haltAt-stopAt, wall)
		r.ex.Reset()
	}
}
