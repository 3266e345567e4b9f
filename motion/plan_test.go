package motion

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/motion/joint"
)

func TestMakePlan(t *testing.T) {
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	js := append([]joint.Joint(nil), testJoints...)
	var c Config
	p, err := c.MakePlan(js, skill, skillJoints, nil, 0, nil)
	if err != nil || p.Duration != skill.Tau || p.Approach != 0 || len(p.Goal) != len(skillJoints) {
		t.Fatalf("default plan: %+v, %v", p, err)
	}
	// A goal outside the limits names the joint and its limits.
	elbow := js[1]
	_, err = c.MakePlan(js, skill, skillJoints, map[string]float64{elbow.Name: elbow.Limits.Max + 1}, 0, nil)
	var je *JointError
	if !errors.As(err, &je) || !errors.Is(err, ErrGoalOutsideLimits) || je.Joint != elbow.Name || je.Max != elbow.Limits.Max {
		t.Fatalf("goal outside: %v", err)
	}
	// ClipGoal clips instead.
	p, err = Config{ClipGoal: true}.MakePlan(js, skill, skillJoints, map[string]float64{elbow.Name: elbow.Limits.Max + 1}, 0, nil)
	if err != nil || p.Goal[1] != elbow.Limits.Max {
		t.Fatalf("clipped goal: %+v, %v", p, err)
	}
	if _, err = c.MakePlan(js, skill, skillJoints, map[string]float64{"nose": 0}, 0, nil); !errors.Is(err, ErrUnknownJoint) {
		t.Fatalf("unknown joint: %v", err)
	}
	if _, err = c.MakePlan(js, skill, skillJoints, map[string]float64{elbow.Name: math.NaN()}, 0, nil); !errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrDuration) {
		t.Fatalf("NaN goal: %v", err)
	}
	if _, err = c.MakePlan(js, skill, skillJoints[:1], nil, 0, nil); !errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrDuration) {
		t.Fatalf("joint mismatch: %v", err)
	}
	// A bad duration is ErrDuration (an ErrInvalidRequest), whatever the goal.
	for _, d := range []float64{-1, math.NaN(), math.Inf(1), dmp.MaxDuration * 2} {
		_, err = c.MakePlan(js, skill, skillJoints, nil, d, nil)
		if !errors.Is(err, ErrDuration) || !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("duration %v: %v", d, err)
		}
		if want := fmt.Sprintf("motion: invalid request: duration %v s", d); !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("duration %v: %q, want it to open with %q", d, err, want)
		}
	}
	if _, err = c.MakePlan(js, skill, skillJoints, nil, dmp.MaxDuration, nil); err != nil {
		t.Fatalf("duration %v (the most): %v", dmp.MaxDuration, err)
	}
	// A continuous joint takes any goal.
	js[1].Type = joint.Continuous
	if _, err = c.MakePlan(js, skill, skillJoints, map[string]float64{elbow.Name: 10}, 0, nil); err != nil {
		t.Fatalf("continuous joint: %v", err)
	}
	js[1].Type = testJoints[1].Type
	// The approach: none from the skill's start, the executor's from far away.
	at := append([]float64(nil), armAt...)
	for j, a := range p.Idx {
		at[a] = skill.Start[j]
	}
	if p, _ := c.MakePlan(js, skill, skillJoints, nil, 0, at); p.Approach != 0 {
		t.Errorf("approach from the start: %v s", p.Approach)
	}
	at[p.Idx[0]] += 0.5
	p, _ = c.MakePlan(js, skill, skillJoints, nil, 0, at)
	r := newRig(t, at, 0.02, nil)
	res := r.run(Request{ID: "far", Skill: skill, Joints: skillJoints})
	if p.Approach < 0.2 || math.Abs(res.Approach-p.Approach) > 1e-9 {
		t.Errorf("planned approach %v s, the executor's %v s", p.Approach, res.Approach)
	}
}

// TestExecutorPlansWithMakePlan: the executor plans through PlanGoal, so a request it
// refuses fails with MakePlan's typed error (the same text, the joint named), and a run
// it takes has MakePlan's duration and approach (none within StartTolerance of the skill's
// start, at any distance beyond it MakePlan's).
func TestExecutorPlansWithMakePlan(t *testing.T) {
	skill := fitSkill(t, sStart, sGoal, 1.5, 0.3)
	r := newRig(t, armAt, 0.02, nil)
	c := r.ex.cfg
	js := testJoints
	byName := func(g []float64) map[string]float64 {
		m := map[string]float64{}
		for j, n := range skillJoints {
			m[n] = g[j]
		}
		return m
	}
	outside := append([]float64(nil), sGoal...)
	outside[2] = 1.6 // wrist [-1.5, 1.5]
	nan := append([]float64(nil), sGoal...)
	nan[1] = math.NaN()
	for _, tc := range []struct {
		name     string
		skill    *dmp.DMP
		joints   []string
		goal     []float64
		duration float64
		is       error
	}{
		{"nil skill", nil, skillJoints, nil, 0, ErrInvalidRequest},
		{"joint count", skill, skillJoints[:2], nil, 0, ErrInvalidRequest},
		{"unknown arm joint", skill, []string{"shoulder", "elbow", "nose"}, nil, 0, ErrInvalidRequest},
		{"duration", skill, skillJoints, nil, -2, ErrDuration},
		{"too long", skill, skillJoints, nil, dmp.MaxDuration + 1, ErrDuration},
		{"goal outside", skill, skillJoints, outside, 0, ErrGoalOutsideLimits},
		{"goal NaN", skill, skillJoints, nan, 0, ErrInvalidRequest},
	} {
		_, want := c.PlanGoal(js, tc.skill, tc.joints, tc.goal, tc.duration, nil)
		_, got := r.ex.Start(Request{ID: tc.name, Skill: tc.skill, Joints: tc.joints, Goal: tc.goal, Duration: tc.duration})
		if !errors.Is(want, tc.is) || !errors.Is(got, tc.is) || got.Error() != want.Error() {
			t.Fatalf("%s: executor %v, PlanGoal %v, want both %v", tc.name, got, want, tc.is)
		}
		if tc.goal != nil && tc.joints != nil && len(tc.joints) == len(skillJoints) {
			if _, err := c.MakePlan(js, tc.skill, tc.joints, byName(tc.goal), tc.duration, nil); err == nil || err.Error() != want.Error() {
				t.Fatalf("%s: MakePlan %v, PlanGoal %v", tc.name, err, want)
			}
		}
		var je *JointError
		if tc.is == ErrGoalOutsideLimits && (!errors.As(got, &je) || je.Joint != "wrist") {
			t.Fatalf("%s: %v does not name the wrist", tc.name, got)
		}
	}
	// An arm joint without a position range: refused by both.
	noRange := append([]joint.Joint(nil), testJoints...)
	noRange[3].Limits.Min, noRange[3].Limits.Max = 0, 0
	if _, err := c.PlanGoal(noRange, skill, skillJoints, nil, 0, nil); !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), `"gripper"`) {
		t.Fatalf("no position range: %v", err)
	}
	// Runs: the executor's duration and approach are the plan's.
	for _, tc := range []struct {
		name     string
		off      float64 // from the skill's start, rad, on the shoulder
		duration float64
	}{{"at start", 0, 0}, {"within tolerance", c.StartTolerance / 2, 2}, {"beyond it", c.StartTolerance * 3, 0}, {"far", 0.6, 1.2}} {
		at := append([]float64(nil), armAt...)
		copy(at, skill.Start)
		at[0] += tc.off
		rr := newRig(t, at, 0.02, nil)
		p, err := c.PlanGoal(js, skill, skillJoints, sGoal, tc.duration, at)
		if err != nil {
			t.Fatal(err)
		}
		q, err := c.MakePlan(js, skill, skillJoints, byName(sGoal), tc.duration, at)
		if err != nil || q.Approach != p.Approach || q.Duration != p.Duration {
			t.Fatalf("%s: MakePlan %+v %v, PlanGoal %+v", tc.name, q, err, p)
		}
		res := rr.run(Request{ID: tc.name, Skill: skill, Joints: skillJoints, Goal: sGoal, Duration: tc.duration})
		if res.Outcome != Succeeded || res.Approach != p.Approach || res.PlanDuration != p.Duration {
			t.Fatalf("%s: run %s %q, approach %v s, duration %v s; plan %+v", tc.name, res.Outcome, res.Reason, res.Approach, res.PlanDuration, p)
		}
		if (tc.off > c.StartTolerance) != (p.Approach > 0) {
			t.Fatalf("%s: approach %v s from %v rad off the start (tolerance %v)", tc.name, p.Approach, tc.off, c.StartTolerance)
		}
	}
}
