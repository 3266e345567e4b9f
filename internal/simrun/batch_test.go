package simrun

import (
	"slices"
	"testing"

	"github.com/praxis-robotics/praxis/internal/seed"
	"github.com/praxis-robotics/praxis/skilllib"
)

// TestBatchEndsWellInsideTolerance: the seed skills at their goals and to random goals on
// the simulated SO-101 (fake clock: deterministic) all succeed, end within 0.004 rad at
// the 95th percentile and never beyond 0.008, and none takes more than 0.3 s past its
// plan and approach (issue 13's targets; the goal tolerance is 0.01 rad).
func TestBatchEndsWellInsideTolerance(t *testing.T) {
	var skills []*skilllib.Skill
	for _, n := range seed.Names() {
		s, err := seed.Learn(n, "test")
		if err != nil {
			t.Fatal(err)
		}
		skills = append(skills, s)
	}
	random := 50 // as the issue measures: the seed skills and 50 random goals
	if testing.Short() {
		random = 3
	}
	rep, err := Batch(t.Context(), BatchOptions{Skills: skills, Random: random})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	t.Logf("%d runs: final error p50 %.5f p95 %.5f max %.5f rad; overtime p95 %.3f max %.3f s",
		s.Count, s.FinalError.P50, s.FinalError.P95, s.FinalError.Max, s.Overtime.P95, s.Overtime.Max)
	if s.Count != len(skills)+random || s.Succeeded != s.Count {
		t.Errorf("%d of %d runs succeeded", s.Succeeded, s.Count)
	}
	if s.FinalError.P95 > 0.004 || s.FinalError.Max > 0.008 {
		t.Errorf("final error p95 %.5f (want ≤ 0.004), max %.5f (want ≤ 0.008)", s.FinalError.P95, s.FinalError.Max)
	}
	if s.Overtime.Max > 0.3 {
		t.Errorf("overtime max %.3f s, want ≤ 0.3", s.Overtime.Max)
	}
	for _, r := range rep.Runs {
		if r.LimitViolations != 0 {
			t.Errorf("%s: %d limit violations", r.Skill, r.LimitViolations)
		}
	}
	checkWall(t, rep)
}

// checkWall: every run has its wall time, and the summary's wall distributions are
// those of the runs (wall_overtime = wall − plan − approach).
func checkWall(t *testing.T, rep *BatchReport) {
	t.Helper()
	var wall, over []float64
	for _, r := range rep.Runs {
		if !(r.Timing.Wall > 0) {
			t.Errorf("%s: wall time %v s", r.Skill, r.Timing.Wall)
		}
		wall = append(wall, r.Timing.Wall)
		over = append(over, r.Timing.Wall-r.PlanDuration-r.Approach)
	}
	if s := rep.Summary; s.Wall != distribution(wall) || s.WallOvertime != distribution(over) || s.Wall.Max != slices.Max(wall) {
		t.Errorf("summary wall %+v, wall_overtime %+v; the runs': %v", s.Wall, s.WallOvertime, wall)
	}
}
