package motion

import (
	"errors"
	"fmt"
	"math"

	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// ErrUnknownJoint: a goal names a joint the skill does not drive.
var ErrUnknownJoint = errors.New("motion: unknown joint")

// JointError is a request refused because of one joint: a goal outside its limits
// (wrapping ErrGoalOutsideLimits), not a finite number (ErrInvalidRequest), or a joint the
// skill does not drive (ErrUnknownJoint). Front ends name the field goal.<Joint>.
type JointError struct {
	Joint    string
	Value    float64
	Min, Max float64 // the joint's limits, for ErrGoalOutsideLimits
	Err      error   // the sentinel
	Detail   string
}

func (e *JointError) Error() string {
	switch {
	case errors.Is(e.Err, ErrGoalOutsideLimits):
		return fmt.Sprintf("%v: joint %q goal %.4g outside [%.4g, %.4g]", e.Err, e.Joint, e.Value, e.Min, e.Max)
	case e.Detail != "":
		return fmt.Sprintf("%v: joint %q: %s", e.Err, e.Joint, e.Detail)
	default:
		return fmt.Sprintf("%v: joint %q goal is %v", e.Err, e.Joint, e.Value)
	}
}

func (e *JointError) Unwrap() error { return e.Err }

// Plan is a checked run: what the executor will do for a skill and a request.
type Plan struct {
	Goal     []float64 // per skill joint, rad or m: within the limits (clipped with ClipGoal)
	Duration float64   // the DMP's duration, s: the request's, or the skill's Tau
	// Approach is the minimum-jerk easing-in from the start to the skill's start, s; 0
	// when every skill joint starts within StartTolerance of it (no approach).
	Approach float64
	Idx      []int // skill joint j is arm joint Idx[j]
}

// MakePlan is the one place a run is planned (the daemon, the executor and `praxis sim
// run` use it): it matches the skill's joints to the arm's by name, checks the goal (by
// joint name, nil for the skill's own; continuous joints take any value) against the
// limits, the duration (0: the skill's Tau; at most dmp.MaxDuration), and, when start (the
// arm's measured positions) is given, the approach the executor will make. Errors wrap
// ErrInvalidRequest (ErrDuration for the duration), ErrGoalOutsideLimits or
// ErrUnknownJoint (a *JointError names the joint).
func (c Config) MakePlan(js []joint.Joint, skill *dmp.DMP, joints []string, goal map[string]float64, duration float64, start []float64) (Plan, error) {
	return c.plan(js, skill, joints, goal, nil, duration, start)
}

// PlanGoal is MakePlan with the goal given as one value per skill joint, in the order of
// joints (nil: the skill's own), as a Request carries it. The executor plans every run
// with it.
func (c Config) PlanGoal(js []joint.Joint, skill *dmp.DMP, joints []string, goal []float64, duration float64, start []float64) (Plan, error) {
	return c.plan(js, skill, joints, nil, goal, duration, start)
}

// plan is MakePlan with the goal by name (byName) or per skill joint (vec; nil with
// byName nil: the skill's goal).
func (c Config) plan(js []joint.Joint, skill *dmp.DMP, joints []string, byName map[string]float64, vec []float64, duration float64, start []float64) (Plan, error) {
	c, err := c.withDefaults()
	if err != nil {
		return Plan{}, err
	}
	if skill == nil {
		return Plan{}, fmt.Errorf("%w: nil skill", ErrInvalidRequest)
	}
	if err := skill.Validate(); err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if len(joints) != skill.Joints() {
		return Plan{}, fmt.Errorf("%w: %d joint names for a %d-joint skill", ErrInvalidRequest, len(joints), skill.Joints())
	}
	names := joint.Names(js)
	idx, err := joint.MapByName(names, joints)
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	for _, j := range js {
		if j.Type != joint.Continuous && !(j.Limits.Max > j.Limits.Min) {
			return Plan{}, fmt.Errorf("%w: joint %q has no position range [%v, %v]", ErrInvalidRequest, j.Name, j.Limits.Min, j.Limits.Max)
		}
	}
	lim := c.limits(js)
	g := vec
	if g == nil {
		g = append([]float64(nil), skill.Goal...)
	}
	for name, v := range byName {
		k := -1
		for j, n := range joints {
			if n == name {
				k = j
			}
		}
		if k < 0 {
			return Plan{}, &JointError{Joint: name, Value: v, Err: ErrUnknownJoint, Detail: fmt.Sprintf("the skill drives %v", joints)}
		}
		g[k] = v
	}
	p := Plan{Goal: make([]float64, len(idx)), Idx: idx}
	if err := c.checkGoal(lim, idx, names, g, p.Goal); err != nil {
		return Plan{}, err
	}
	if !(duration >= 0) || duration > dmp.MaxDuration {
		return Plan{}, fmt.Errorf("%w %v s, want 0 (the skill's) up to %v s", ErrDuration, duration, dmp.MaxDuration)
	}
	p.Duration = duration
	if p.Duration == 0 {
		p.Duration = skill.Tau
	}
	if start != nil {
		if len(start) != len(js) {
			return Plan{}, fmt.Errorf("%w: %d start positions for %d arm joints", ErrInvalidRequest, len(start), len(js))
		}
		p.Approach = c.approach(lim, idx, start, skill.Start)
	}
	return p, nil
}

// limits returns the arm joints' limits as the executor uses them: continuous joints
// unbounded, default velocity and acceleration limits filled in.
func (c *Config) limits(js []joint.Joint) []joint.Limits {
	out := make([]joint.Limits, len(js))
	for i, j := range js {
		l := j.Limits
		if j.Type == joint.Continuous {
			l.Min, l.Max = math.Inf(-1), math.Inf(1)
		}
		if !(l.MaxVel > 0) {
			l.MaxVel = c.DefaultMaxVel
		}
		if !(l.MaxAcc > 0) {
			l.MaxAcc = c.DefaultMaxAcc
		}
		out[i] = l
	}
	return out
}

// checkGoal validates goal (one value per skill joint) into out, clipping it into the
// limits with ClipGoal.
func (c *Config) checkGoal(lim []joint.Limits, idx []int, names []string, goal, out []float64) error {
	if len(goal) != len(idx) {
		return fmt.Errorf("%w: goal has %d values for %d joints", ErrInvalidRequest, len(goal), len(idx))
	}
	for j, g := range goal {
		l := lim[idx[j]]
		switch {
		case math.IsNaN(g) || math.IsInf(g, 0):
			return &JointError{Joint: names[idx[j]], Value: g, Err: ErrInvalidRequest}
		case !l.Contains(g) && !c.ClipGoal:
			return &JointError{Joint: names[idx[j]], Value: g, Min: l.Min, Max: l.Max, Err: ErrGoalOutsideLimits}
		}
		out[j] = l.Clamp(g)
	}
	return nil
}

// approach returns the duration of the minimum-jerk approach from q0 (arm joints) to the
// skill's start (clamped into the limits), s: 0 when every skill joint is within
// StartTolerance of it; otherwise the shortest (≥ 0.2 s) that keeps every joint within
// ApproachScale of its velocity and acceleration limits.
func (c *Config) approach(lim []joint.Limits, idx []int, q0, start []float64) float64 {
	far := false
	for j, a := range idx {
		if math.Abs(q0[a]-start[j]) > c.StartTolerance {
			far = true
		}
	}
	if !far {
		return 0
	}
	q1 := make([]float64, len(q0))
	copy(q1, q0)
	for j, a := range idx {
		q1[a] = lim[a].Clamp(start[j])
	}
	return approachTime(lim, q0, q1, c.ApproachScale)
}

// approachTime is the minimum-jerk duration from q0 to q1 (every joint) that keeps each
// joint within scale of its velocity and acceleration limits, s (at least 0.2).
func approachTime(lim []joint.Limits, q0, q1 []float64, scale float64) float64 {
	T := 0.2
	for i := range q0 {
		d := math.Abs(q1[i] - q0[i])
		// Minimum jerk peaks at 1.875·d/T in speed and 5.774·d/T² in acceleration.
		T = max(T, 1.875*d/(scale*lim[i].MaxVel), math.Sqrt(5.774*d/(scale*lim[i].MaxAcc)))
	}
	return T
}
