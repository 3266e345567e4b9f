package simrun

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/skilllib"
)

// BatchOptions configures Batch.
type BatchOptions struct {
	Skills []*skilllib.Skill // each run once at its own goal; required
	Random int               // then this many runs, each of a skill (in turn) to a random goal
	Seed   uint64            // seeds the random goals; default 1
	Arm    string            // as Options.Arm
	Rate   float64           // as Options.Rate
	Bus    string            // as Options.Bus: "" the arm directly, else every run over that simulated bus
	// Margin keeps random goals this fraction of each joint's range away from its limits;
	// default 0.1.
	Margin float64
	// GoalTolerance is every run's (Options.GoalTolerance), rad; 0: the executor's default.
	GoalTolerance float64
}

// BatchReport is a batch of simulated runs and their distribution. Keys are a contract,
// as Report's.
type BatchReport struct {
	Runs    []*Report    `json:"runs"`
	Summary BatchSummary `json:"summary"`
}

// BatchSummary sums a batch up. Overtime is a run's simulated duration past its plan
// (Duration − PlanDuration − Approach), s; WallOvertime the same for its real elapsed
// time (Timing.Wall − PlanDuration − Approach), s: issue 13 wants it ≤ 0.3 s over a bus.
type BatchSummary struct {
	Bus            string       `json:"bus,omitempty"` // the simulated servo bus, if any
	Count          int          `json:"count"`
	Succeeded      int          `json:"succeeded"`
	FinalError     Distribution `json:"final_error"`      // rad, over every run
	TrueFinalError Distribution `json:"true_final_error"` // rad, over every run (Report.TrueFinalError)
	Overtime       Distribution `json:"overtime"`         // s, over every run
	Wall           Distribution `json:"wall"`             // s, over every run (Report.Timing.Wall)
	WallOvertime   Distribution `json:"wall_overtime"`    // s, over every run
}

// Distribution is the p50, p95 and max of a sample.
type Distribution struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// Batch runs every skill at its goal, then o.Random runs to random goals within the
// limits (less the margin), on the simulated arm with the real executor (over a
// simulated servo bus with o.Bus: then in real time, one run after the other), and
// reports the distribution of final errors and overtimes.
func Batch(ctx context.Context, o BatchOptions) (*BatchReport, error) {
	if len(o.Skills) == 0 {
		return nil, fmt.Errorf("%w: no skills", ErrBadInput)
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Margin == 0 {
		o.Margin = 0.1
	}
	if !(o.Margin >= 0 && o.Margin < 0.5) || o.Random < 0 {
		return nil, fmt.Errorf("%w: margin %v, random %d", ErrBadInput, o.Margin, o.Random)
	}
	if !(o.GoalTolerance >= 0) || math.IsInf(o.GoalTolerance, 0) {
		return nil, fmt.Errorf("%w: goal tolerance %v rad, want 0 (the default) or a positive finite number", ErrBadInput, o.GoalTolerance)
	}
	probe, err := simarm.New(simarm.Config{Model: o.Arm, Clock: &clock.Fake{}})
	if err != nil {
		return nil, fmt.Errorf("%w: arm %s: %v", ErrBadInput, o.Arm, err)
	}
	js := probe.Joints()
	probe.Close()
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	var out BatchReport
	run := func(s *skilllib.Skill, goal []float64) error {
		rep, _, err := Run(ctx, Options{Skill: s, Arm: o.Arm, Goal: goal, Rate: o.Rate, Bus: o.Bus, GoalTolerance: o.GoalTolerance})
		if err != nil {
			return err
		}
		out.Runs = append(out.Runs, rep)
		return nil
	}
	for _, s := range o.Skills {
		if err := run(s, nil); err != nil {
			return nil, fmt.Errorf("simrun: batch: %s: %w", s.Name, err)
		}
	}
	for k := 0; k < o.Random; k++ {
		s := o.Skills[k%len(o.Skills)]
		goal := make([]float64, len(s.Joints))
		for j, name := range s.Joints {
			for _, jt := range js {
				if jt.Name == name {
					l := jt.Limits
					w := (l.Max - l.Min) * o.Margin
					goal[j] = l.Min + w + rng.Float64()*(l.Max-l.Min-2*w)
				}
			}
		}
		if err := run(s, goal); err != nil {
			return nil, fmt.Errorf("simrun: batch: %s to %v: %w", s.Name, goal, err)
		}
	}
	var fe, tfe, ot, wall, wot []float64
	for _, r := range out.Runs {
		if r.Outcome == "succeeded" {
			out.Summary.Succeeded++
		}
		fe = append(fe, r.FinalError)
		tfe = append(tfe, r.TrueFinalError)
		ot = append(ot, r.Duration-r.PlanDuration-r.Approach)
		wall = append(wall, r.Timing.Wall)
		wot = append(wot, r.Timing.Wall-r.PlanDuration-r.Approach)
	}
	out.Summary.Bus = o.Bus
	out.Summary.Count = len(out.Runs)
	out.Summary.FinalError, out.Summary.TrueFinalError, out.Summary.Overtime = distribution(fe), distribution(tfe), distribution(ot)
	out.Summary.Wall, out.Summary.WallOvertime = distribution(wall), distribution(wot)
	return &out, nil
}

// distribution returns the p50, p95 (nearest rank) and max of v.
func distribution(v []float64) Distribution {
	if len(v) == 0 {
		return Distribution{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	at := func(q float64) float64 { return s[int(math.Ceil(q*float64(len(s))))-1] }
	return Distribution{P50: at(0.5), P95: at(0.95), Max: s[len(s)-1]}
}
