package motion

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// TestSafetyFilterProperty: whatever the targets (jumps, huge values, limits ±Inf) and
// the tick intervals (0, tiny, late), every command lies within the position limits and
// moves at most MaxVel·dt from the last one; a non-finite target is refused.
func TestSafetyFilterProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(7)
		lim := make([]joint.Limits, n)
		pos := make([]float64, n)
		for i := range lim {
			lo := -rng.Float64() * 3
			l := joint.Limits{Min: lo, Max: lo + 0.01 + rng.Float64()*4, MaxVel: 0.1 + rng.Float64()*5, MaxAcc: 0.5 + rng.Float64()*50}
			if rng.IntN(6) == 0 { // a continuous joint
				l.Min, l.Max = math.Inf(-1), math.Inf(1)
			}
			lim[i] = l
			pos[i] = l.Clamp(rng.NormFloat64())
		}
		f, err := NewSafetyFilter(lim, pos)
		if err != nil {
			t.Fatal(err)
		}
		cmd := joint.NewCommand(n)
		des := make([]float64, n)
		const period = 0.002
		prev := append([]float64(nil), pos...)
		for k := range 500 {
			for i := range des {
				switch rng.IntN(4) {
				case 0:
					des[i] = rng.NormFloat64() * 1e6 // wild
				case 1:
					des[i] = prev[i] + rng.NormFloat64()*0.01
				default:
					des[i] = rng.NormFloat64() * 3
				}
			}
			dt := []float64{period, 0, -1, 1e-6, 0.05, period * (0.5 + rng.Float64())}[rng.IntN(6)]
			if err := f.Filter(des, dt, period, &cmd, nil); err != nil {
				t.Fatalf("trial %d tick %d: %v", trial, k, err)
			}
			eff := dt
			if !(eff > 0) {
				eff = period
			}
			for i, q := range cmd.Pos {
				l := lim[i]
				if math.IsNaN(q) || math.IsInf(q, 0) || !l.Contains(q) {
					t.Fatalf("trial %d tick %d joint %d: command %v outside [%v, %v]", trial, k, i, q, l.Min, l.Max)
				}
				if d := math.Abs(q - prev[i]); d > l.MaxVel*eff*(1+1e-9)+1e-12 {
					t.Fatalf("trial %d tick %d joint %d: moved %v in %v s, max speed %v", trial, k, i, d, eff, l.MaxVel)
				}
			}
			if rng.IntN(10) > 0 { // sometimes the command is lost: the filter keeps the old one
				f.Accept(cmd)
				copy(prev, cmd.Pos)
			}
		}
	}
	// Non-finite targets are refused and leave the command alone.
	f, _ := NewSafetyFilter([]joint.Limits{{Min: -1, Max: 1, MaxVel: 1, MaxAcc: 1}}, []float64{0})
	cmd := joint.NewCommand(1)
	cmd.Pos[0] = 0.5
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := f.Filter([]float64{bad}, 0.002, 0.002, &cmd, []string{"elbow"}); !errors.Is(err, ErrFault) || cmd.Pos[0] != 0.5 {
			t.Errorf("target %v: %v, command %v", bad, err, cmd.Pos[0])
		}
	}
}

func TestSafetyFilterAllocatesNothing(t *testing.T) {
	lim := []joint.Limits{{Min: -1, Max: 1, MaxVel: 1, MaxAcc: 10}, {Min: -2, Max: 2, MaxVel: 2, MaxAcc: 10}}
	f, _ := NewSafetyFilter(lim, []float64{0, 0})
	cmd := joint.NewCommand(2)
	des := []float64{0.5, -0.5}
	if n := testing.AllocsPerRun(1000, func() {
		_ = f.Filter(des, 0.002, 0.002, &cmd, nil)
		f.Accept(cmd)
	}); n != 0 {
		t.Fatalf("%v allocations per tick", n)
	}
}

func TestWatchdogsTypedFailures(t *testing.T) {
	w := watchdogs{maxReads: 3, maxCommands: 2, maxOverruns: 2}
	boom := errors.New("bus silent")
	if w.read(boom) != nil || w.read(boom) != nil {
		t.Fatal("tripped early")
	}
	if err := w.read(boom); !errors.Is(err, ErrWatchdog) || !errors.Is(err, boom) {
		t.Fatalf("third failed read: %v", err)
	}
	if w.command(boom) != nil || w.command(nil) != nil || w.command(boom) != nil {
		t.Fatal("a success must reset the count")
	}
	if w.tick(true) != nil || !errors.Is(w.tick(true), ErrWatchdog) {
		t.Fatal("overruns")
	}
}

// TestFailureReasonsAreTyped: a run that cannot reach its goal fails with ErrTimeout,
// one whose arm stops answering with ErrWatchdog, both through errors.Is.
func TestFailureReasonsAreTyped(t *testing.T) {
	r := newRig(t, armAt, 0.02, func(c *Config) { c.TimeoutFactor, c.TimeoutExtra = 1, 0.1 })
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r.arm.Hold(2) // the wrist never moves
	res, err := r.ex.Run(t.Context(), Request{ID: "held", Skill: skill, Joints: skillJoints})
	if !errors.Is(err, ErrFailed) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("held joint: %v", err)
	}
	// The result carries the same typed error (what `praxis bench loop` branches on), and
	// the reason docs/config.md quotes.
	if !errors.Is(res.Err, ErrTimeout) || errors.Is(res.Err, ErrWatchdog) || !strings.HasPrefix(res.Reason, "goal not reached: error ") {
		t.Fatalf("held joint: result error %v, reason %q", res.Err, res.Reason)
	}
	r.arm.Release(2)
	r.arm.OnRead(func(n int, _ *joint.State) error {
		if n > 20 {
			return errors.New("no reply")
		}
		return nil
	})
	res, err = r.ex.Run(t.Context(), Request{ID: "silent", Skill: skill, Joints: skillJoints})
	if !errors.Is(err, ErrFailed) || !errors.Is(err, ErrWatchdog) || errors.Is(err, ErrTimeout) || !errors.Is(res.Err, ErrWatchdog) {
		t.Fatalf("silent arm: %v (result %v)", err, res.Err)
	}
}

// TestStartOnTheEndStop: a joint read just past its limit (an arm resting on its end stop)
// starts from the limit; further out than StartSlack the run fails with ErrLimit (its halt
// holds the arm at the limit). Every command, either way, is inside the limits.
func TestStartOnTheEndStop(t *testing.T) {
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	for _, tc := range []struct {
		wrist float64
		ok    bool
	}{{1.5 + StartSlack/2, true}, {-1.5 - StartSlack/2, true}, {1.5 + 2*StartSlack, false}} {
		r := newRig(t, []float64{-0.5, 0.4, tc.wrist, 0.04}, 0.02, nil)
		res := r.run(Request{ID: "edge", Skill: skill, Joints: skillJoints})
		if !tc.ok {
			if res.Outcome != Failed || !errors.Is(res.Err, ErrLimit) {
				t.Errorf("wrist at %v: %s %v, want failed with ErrLimit", tc.wrist, res.Outcome, res.Err)
			}
		} else if res.Outcome != Succeeded || res.LimitViolations != 0 {
			t.Errorf("wrist at %v: %s %q, %d limit violations: want succeeded inside the limits", tc.wrist, res.Outcome, res.Reason, res.LimitViolations)
		}
		for k, c := range r.arm.Commands() {
			if q := c.Pos[2]; q < -1.5 || q > 1.5 {
				t.Fatalf("wrist at %v: command %d sends the wrist to %v, outside [-1.5, 1.5]", tc.wrist, k, q)
			}
		}
	}
}
