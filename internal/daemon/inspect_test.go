package daemon

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/seed"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/skilllib"
)

func reachSkill(t *testing.T) (*skilllib.Skill, []joint.Joint) {
	t.Helper()
	store, err := skilllib.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Install(store, "test"); err != nil {
		t.Fatal(err)
	}
	sk, err := store.Get("reach", 0)
	if err != nil {
		t.Fatal(err)
	}
	js := make([]joint.Joint, len(sk.Joints))
	for i, n := range sk.Joints {
		js[i] = joint.Joint{Name: n, Limits: joint.Limits{Min: -3, Max: 3, MaxVel: 3, MaxAcc: 20}}
	}
	return sk, js
}

// TestPlannedTrajectory: from a start away from the skill's, the plan is a minimum-jerk
// approach from there (no jump) followed by the rollout to the goal, as MakePlan says.
func TestPlannedTrajectory(t *testing.T) {
	sk, js := reachSkill(t)
	q0 := make([]float64, len(js))
	for i := range q0 {
		q0[i] = sk.DMP.Start[i] + 0.5
	}
	plan, err := motion.Config{}.MakePlan(js, &sk.DMP, sk.Joints, map[string]float64{"shoulder_pan": 0.3}, 2, q0)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Approach <= 0 {
		t.Fatalf("no approach from 0.5 rad away: %+v", plan)
	}
	tr, err := plannedTrajectory(js, sk, plan, q0)
	if err != nil {
		t.Fatal(err)
	}
	if maxDiff(tr.Pos[0], q0) != 0 {
		t.Fatalf("plan starts at %v, the arm is at %v", tr.Pos[0], q0)
	}
	if end := tr.Pos[len(tr.Pos)-1]; math.Abs(end[0]-0.3) > 1e-3 || math.Abs(tr.T[len(tr.T)-1]-(plan.Approach+2)) > 1e-9 {
		t.Fatalf("plan ends at %v after %g s; want shoulder_pan 0.3 after %g s", end, tr.T[len(tr.T)-1], plan.Approach+2)
	}
	for k := 1; k < len(tr.T); k++ {
		if dt := tr.T[k] - tr.T[k-1]; dt <= 0 || dt > 1.0/RunSampleHz+1e-9 {
			t.Fatalf("samples %d..%d %g s apart", k-1, k, dt)
		}
		if d := maxDiff(tr.Pos[k], tr.Pos[k-1]); d > 0.05 {
			t.Fatalf("plan jumps %g rad at t=%g s", d, tr.T[k])
		}
	}
}

// TestRunRingBounded: the ring keeps RunHistory runs and each measured trajectory at most
// maxTrajSamples samples, halving its rate as it fills up.
func TestRunRingBounded(t *testing.T) {
	sk, js := reachSkill(t)
	plan, err := motion.Config{}.MakePlan(js, &sk.DMP, sk.Joints, nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var r runRing
	for i := range RunHistory + 5 {
		r.begin(string(rune('a'+i)), sk, plan, js, nil)
	}
	list := r.list()
	if len(list) != RunHistory || list[0].ID != string(rune('a'+RunHistory+4)) || list[0].Outcome != core.Started {
		t.Fatalf("%d runs, newest %+v", len(list), list[0])
	}
	id := list[0].ID
	rec := r.find(id)
	pos := make([]float64, len(js))
	for k := range 10 * maxTrajSamples { // 10 × the buffer at 50 Hz
		r.sample(id, rec.start.Add(time.Duration(k)*20*time.Millisecond), pos)
	}
	r.end(id, core.Succeeded, "", 0.001)
	got, ok := r.get(id)
	if !ok || got.Outcome != core.Succeeded || len(got.Measured.T) > maxTrajSamples || len(got.Measured.T) < maxTrajSamples/2 {
		t.Fatalf("measured %d samples (bound %d), outcome %s", len(got.Measured.T), maxTrajSamples, got.Outcome)
	}
	if span := got.Measured.T[len(got.Measured.T)-1]; span < 0.99*float64(10*maxTrajSamples-1)/RunSampleHz {
		t.Fatalf("measured trajectory covers %g s of %g", span, float64(10*maxTrajSamples)/RunSampleHz)
	}
	if _, ok := r.get("nope"); ok {
		t.Fatal("a missing run found")
	}
}

// TestArmModel: the 3-D view's kinematics come from arm.model, matched to the arm's
// joints by name; no model, or one sharing no joint with the arm, means joints only.
func TestArmModel(t *testing.T) {
	if f, err := armModel("", nil); f != nil || err != nil {
		t.Fatalf("no model: %v, %v", f != nil, err)
	}
	js := []joint.Joint{{Name: "elbow_flex"}, {Name: "shoulder_pan"}} // two of the SO-101's, out of order
	f, err := armModel("so101", js)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := f([]float64{0.4, 0.2})
	if err != nil || len(sk.Points) != 8 || sk.Names[1] != "shoulder_pan" {
		t.Fatalf("skeleton %+v, %v", sk, err)
	}
	if _, err := armModel("so101", []joint.Joint{{Name: "base"}}); err == nil {
		t.Fatal("a model sharing no joint with the arm accepted")
	}
	if _, err := armModel("/nonexistent.urdf", js); err == nil {
		t.Fatal("a missing URDF accepted")
	}
}

// TestPlanRejection: each kind of MakePlan error becomes a rejection naming its field,
// decided by the error's type (a bad duration is motion.ErrDuration, not a skill that does
// not fit the arm).
func TestPlanRejection(t *testing.T) {
	sk, js := reachSkill(t)
	name0 := sk.Joints[0]
	for _, c := range []struct {
		goal     map[string]float64
		duration float64
		joints   []string
		field    string
	}{
		{duration: -1, field: "duration"},
		{duration: math.NaN(), field: "duration"},
		{duration: core.MaxDuration + 1, field: "duration"},
		{goal: map[string]float64{"nose": 0}, field: "goal.nose"},
		{goal: map[string]float64{name0: 10}, field: "goal." + name0},
		{goal: map[string]float64{name0: math.Inf(1)}, field: "goal." + name0},
		{joints: append(append([]string(nil), sk.Joints[1:]...), "nose"), field: "skill"},
	} {
		joints := sk.Joints
		if c.joints != nil {
			joints = c.joints
		}
		_, err := motion.Config{}.MakePlan(js, &sk.DMP, joints, c.goal, c.duration, nil)
		if err == nil {
			t.Fatalf("%+v: planned", c)
		}
		var rj *core.Rejection
		if !errors.As(planRejection(err, sk.Name, joints, js), &rj) || rj.Field != c.field {
			t.Fatalf("%+v: %v rejected as %+v, want field %q", c, err, rj, c.field)
		}
	}
}
