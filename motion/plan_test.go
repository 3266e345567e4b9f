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
