package daemon

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/skilllib"
)

// Bounds of what the read side keeps and returns.
const (
	// RunHistory is how many runs the daemon remembers (newest first) for the dashboard.
	RunHistory = 20
	// RunSampleHz is the rate the measured trajectory of a run is sampled at.
	RunSampleHz = 50
	// maxTrajSamples bounds every trajectory the read side keeps or returns: a longer
	// one is decimated (a run's measured trajectory halves its rate when it fills up).
	maxTrajSamples = 3000
	// maxPlotSamples bounds the demos and rollouts of SkillDetail and Demo.
	maxPlotSamples = 1500
)

// planRun checks r (skill, version, goal, duration) against the arm as Run does and plans
// it (motion.MakePlan, with start q0 when known: the approach). Errors are *core.Rejection.
// Safe from any goroutine.
func (d *Daemon) planRun(r core.RunRequest, q0 []float64) (*skilllib.Skill, motion.Plan, error) {
	if err := skilllib.ValidName(r.Skill); err != nil {
		return nil, motion.Plan{}, core.Reject("skill", "%q is not a valid skill name", r.Skill)
	}
	sk, err := d.store.Shared(r.Skill, r.Version)
	if err != nil {
		if errors.Is(err, skilllib.ErrNotFound) {
			if r.Version > 0 {
				if _, e2 := d.store.Get(r.Skill, 0); e2 == nil {
					return nil, motion.Plan{}, core.Reject("version", "skill %q has no version %d", r.Skill, r.Version)
				}
			}
			return nil, motion.Plan{}, core.Reject("skill", "no skill %q", r.Skill)
		}
		return nil, motion.Plan{}, core.Reject("skill", "skill %q: %v", r.Skill, err)
	}
	if err := r.Check(); err != nil {
		return nil, motion.Plan{}, err
	}
	js := d.arm.Joints()
	if q0 != nil && len(q0) != len(js) {
		q0 = nil
	}
	plan, err := d.motionConfig().MakePlan(js, &sk.DMP, sk.Joints, r.Goal, r.Duration, q0)
	if err != nil {
		return nil, plan, planRejection(err, r.Skill, sk.Joints, js)
	}
	return sk, plan, nil
}

// planRejection turns an error of motion.MakePlan for skill (driving skillJoints) on an
// arm with joints js into the *core.Rejection naming the field at fault, by the error's
// type: goal.<joint>, duration, or skill (its joints do not fit the arm).
func planRejection(err error, skill string, skillJoints []string, js []joint.Joint) error {
	var je *motion.JointError
	switch {
	case errors.As(err, &je) && errors.Is(err, motion.ErrUnknownJoint):
		return core.Reject("goal."+je.Joint, "unknown joint %q: skill %q drives %v", je.Joint, skill, skillJoints)
	case errors.As(err, &je) && errors.Is(err, motion.ErrGoalOutsideLimits):
		return core.Reject("goal."+je.Joint, "%g is outside the limits of joint %s [%g, %g]", je.Value, je.Joint, je.Min, je.Max)
	case errors.As(err, &je):
		return core.Reject("goal."+je.Joint, "%v is not a finite position", je.Value)
	case errors.Is(err, motion.ErrDuration):
		return core.Reject("duration", "%v", err)
	case errors.Is(err, motion.ErrInvalidRequest):
		return core.Reject("skill", "skill %q does not fit the arm (arm joints: %v): %v", skill, joint.Names(js), err)
	}
	return core.Reject("", "%v", err)
}

// motionConfig is the executor's planning configuration as the daemon sets it.
func (d *Daemon) motionConfig() motion.Config {
	return motion.Config{ClipGoal: d.cfg.Executor.ClipGoal}
}

// plannedTrajectory is the nominal plan of a run from q0 (arm joints; nil: unknown, no
// approach shown): the minimum-jerk approach to the skill's start, then the DMP rollout to
// the plan's goal over its duration; arm joints the skill does not drive stay at q0. At
// most maxTrajSamples samples, at least every 1/RunSampleHz s when that fits.
func plannedTrajectory(js []joint.Joint, sk *skilllib.Skill, plan motion.Plan, q0 []float64) (core.Trajectory, error) {
	names := joint.Names(js)
	tr := core.Trajectory{Joints: names}
	if q0 == nil {
		q0 = make([]float64, len(js))
		for j, a := range plan.Idx {
			q0[a] = sk.DMP.Start[j]
		}
	}
	q1 := append([]float64(nil), q0...)
	start := make([]float64, len(plan.Idx))
	for j, a := range plan.Idx {
		if plan.Approach > 0 {
			v := sk.DMP.Start[j]
			if js[a].Type != joint.Continuous {
				v = js[a].Limits.Clamp(v)
			}
			q1[a], start[j] = v, v
		} else {
			start[j] = q0[a]
		}
	}
	total := plan.Approach + plan.Duration
	dt := max(1.0/RunSampleHz, total/(maxTrajSamples-2))
	for t := 0.0; t < plan.Approach; t += dt {
		s := t / plan.Approach
		mj := s * s * s * (10 - 15*s + 6*s*s)
		row := make([]float64, len(q0))
		for i := range q0 {
			row[i] = q0[i] + (q1[i]-q0[i])*mj
		}
		tr.T, tr.Pos = append(tr.T, t), append(tr.Pos, row)
	}
	ro, err := sk.DMP.RolloutFrom(start, nil, plan.Goal, plan.Duration, dt)
	if err != nil {
		return tr, err
	}
	for k, t := range ro.T {
		row := append([]float64(nil), q1...)
		for j, a := range plan.Idx {
			row[a] = ro.Pos[k][j]
		}
		tr.T, tr.Pos = append(tr.T, plan.Approach+t), append(tr.Pos, row)
	}
	return tr, nil
}

// runRing remembers the last RunHistory runs: the loop writes, anyone reads.
type runRing struct {
	mu   sync.Mutex
	runs []*runRec // oldest first
}

type runRec struct {
	rec   core.RunRecord
	start time.Time
	every int // samples at most RunSampleHz/every a second (every doubles when the buffer fills)
}

func (r *runRing) begin(id string, sk *skilllib.Skill, plan motion.Plan, js []joint.Joint, q0 []float64) {
	planned, _ := plannedTrajectory(js, sk, plan, q0) // a rollout of a validated plan; on error the plot stays empty
	rec := &runRec{start: time.Now(), every: 1, rec: core.RunRecord{ID: id, Skill: sk.Name, Version: sk.Version,
		Start: time.Now(), Outcome: core.Started, Planned: planned,
		Measured: core.Trajectory{Joints: joint.Names(js)}}}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.runs) >= RunHistory {
		copy(r.runs, r.runs[1:])
		r.runs = r.runs[:len(r.runs)-1]
	}
	r.runs = append(r.runs, rec)
}

// sample appends a measured sample (copied) to run id.
func (r *runRing) sample(id string, at time.Time, pos []float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.find(id)
	if rec == nil || rec.rec.Outcome != core.Started {
		return
	}
	m := &rec.rec.Measured
	t := at.Sub(rec.start).Seconds()
	// At most RunSampleHz/every samples a second (a late tick is not followed by a close one).
	if n := len(m.T); n > 0 && t-m.T[n-1] < 0.9*float64(rec.every)/RunSampleHz {
		return
	}
	if len(m.T) >= maxTrajSamples { // halve the rate: keep every other sample
		k := 0
		for i := 0; i < len(m.T); i += 2 {
			m.T[k], m.Pos[k] = m.T[i], m.Pos[i]
			k++
		}
		clear(m.Pos[k:])
		m.T, m.Pos = m.T[:k], m.Pos[:k]
		rec.every *= 2
	}
	m.T = append(m.T, t)
	m.Pos = append(m.Pos, append([]float64(nil), pos...))
}

func (r *runRing) end(id string, outcome core.EventType, reason string, finalErr float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec := r.find(id); rec != nil {
		rec.rec.Outcome, rec.rec.Reason, rec.rec.FinalError = outcome, reason, finalErr
	}
}

func (r *runRing) find(id string) *runRec {
	for i := len(r.runs) - 1; i >= 0; i-- {
		if r.runs[i].rec.ID == id {
			return r.runs[i]
		}
	}
	return nil
}

func (r *runRing) list() []core.RunRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]core.RunRecord, 0, len(r.runs))
	for i := len(r.runs) - 1; i >= 0; i-- {
		rec := r.runs[i].rec
		rec.Planned, rec.Measured = core.Trajectory{}, core.Trajectory{}
		out = append(out, rec)
	}
	return out
}

func (r *runRing) get(id string) (core.RunRecord, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.find(id)
	if rec == nil {
		return core.RunRecord{}, false
	}
	out := rec.rec
	m := &out.Measured // the loop appends to the original: hand out copies of the headers
	m.T, m.Pos = append([]float64(nil), m.T...), append([][]float64(nil), m.Pos...)
	return out, true
}

// presentPos returns the arm's last telemetry positions (a copy), or nil when none was
// read in the last half second.
func (s *state) presentPos() []float64 {
	if s.telAt.IsZero() || time.Since(s.telAt) > 500*time.Millisecond {
		if s.tap == nil || !s.tap.snapshot(&s.tel, 100*time.Millisecond) {
			return nil
		}
		s.telAt = time.Now()
	}
	return append([]float64(nil), s.tel.Pos...)
}

func (s *state) startSampling() {
	s.stopSampling()
	if len(s.sample.Pos) != len(s.telNames) {
		s.sample = joint.NewState(len(s.telNames))
	}
	s.sampler = time.NewTicker(time.Second / RunSampleHz)
	s.sampleC = s.sampler.C
	s.sampleRun()
}

func (s *state) stopSampling() {
	if s.sampler != nil {
		s.sampleRun() // the last position
		s.sampler.Stop()
		s.sampler, s.sampleC = nil, nil
	}
}

// sampleRun records what the executor last read into the current run's measured trajectory.
func (s *state) sampleRun() {
	if s.run == nil || s.tap == nil || !s.tap.snapshot(&s.sample, 100*time.Millisecond) {
		return
	}
	s.d.runs.sample(s.run.id, time.Now(), s.sample.Pos)
}

// inspector implements core.Inspector and core.Editor on the daemon.
type inspector Daemon

func (in *inspector) d() *Daemon { return (*Daemon)(in) }

// Arm describes the arm (model: arm.model, default so101 for the simulator).
func (in *inspector) Arm() core.ArmInfo {
	d := in.d()
	a := core.ArmInfo{Robot: d.cfg.RobotID, Driver: d.cfg.Arm.Driver, Model: d.cfg.Arm.Model, Leader: d.cfg.Leader != nil}
	for _, j := range d.arm.Joints() {
		ji := core.JointInfo{Name: j.Name, Min: j.Limits.Min, Max: j.Limits.Max, MaxVel: j.Limits.MaxVel}
		if j.Type == joint.Continuous || math.IsInf(ji.Min, 0) || math.IsInf(ji.Max, 0) {
			ji.Min, ji.Max = -math.Pi, math.Pi
		}
		a.Joints = append(a.Joints, ji)
	}
	return a
}

func (in *inspector) SkillDetail(name string, version int) (core.SkillDetail, error) {
	d := in.d()
	if err := skilllib.ValidName(name); err != nil {
		return core.SkillDetail{}, core.Reject("skill", "%q is not a valid skill name", name)
	}
	if version < 0 {
		return core.SkillDetail{}, core.Reject("version", "%d: want 0 (the latest) or a version number", version)
	}
	sk, err := d.store.Get(name, version)
	if err != nil {
		if errors.Is(err, skilllib.ErrNotFound) {
			if version > 0 {
				if _, e2 := d.store.Get(name, 0); e2 == nil {
					return core.SkillDetail{}, core.Reject("version", "skill %q has no version %d", name, version)
				}
			}
			return core.SkillDetail{}, core.Reject("skill", "no skill %q", name)
		}
		return core.SkillDetail{}, core.Reject("skill", "skill %q: %v", name, err)
	}
	out := core.SkillDetail{Name: sk.Name, Version: sk.Version, Joints: sk.Joints, Duration: sk.DMP.Tau,
		Basis: sk.Provenance.Basis, Created: sk.Provenance.Created, PraxisVersion: sk.Provenance.PraxisVersion,
		Demos: []string{}}
	if list, _, err := d.store.List(); err == nil {
		for _, i := range list {
			if i.Name == name {
				out.Versions = i.Versions
			}
		}
	}
	for _, f := range sk.Provenance.FitError {
		out.FitError = append(out.FitError, core.JointFitError{Joint: f.Joint, RMSE: f.RMSE, Max: f.Max, End: f.End})
	}
	dt := max(sk.DMP.Tau/maxPlotSamples, 0.005)
	if ro, err := sk.DMP.Rollout(nil, nil, 0, dt); err == nil {
		out.Rollout = core.Trajectory{Joints: sk.Joints, T: ro.T, Pos: ro.Pos}
	}
	for _, src := range sk.Provenance.Demos {
		demo := strings.TrimSuffix(filepath.Base(src.File), ".csv")
		out.Demos = append(out.Demos, demo)
		if demoName(demo) != nil {
			continue
		}
		if dm, _, err := demos.Load(d.demosDir, demo); err == nil {
			out.DemoData = append(out.DemoData, demoTrajectory(dm))
		}
	}
	return out, nil
}

// demoTrajectory is d with time from 0, decimated to at most maxPlotSamples samples.
func demoTrajectory(d *demos.Demo) core.Trajectory {
	step := (d.Len() + maxPlotSamples - 1) / maxPlotSamples
	tr := core.Trajectory{Joints: d.Joints}
	for k := 0; k < d.Len(); k += max(step, 1) {
		tr.T = append(tr.T, d.T[k]-d.T[0])
		tr.Pos = append(tr.Pos, d.Y[k])
	}
	if n := d.Len(); n > 0 && tr.T[len(tr.T)-1] != d.T[n-1]-d.T[0] {
		tr.T, tr.Pos = append(tr.T, d.T[n-1]-d.T[0]), append(tr.Pos, d.Y[n-1])
	}
	return tr
}

// Preview plans r from the arm's present position (read through the loop) as Run would,
// and returns the planned trajectory of every arm joint.
func (in *inspector) Preview(r core.RunRequest) (core.Trajectory, error) {
	d := in.d()
	var q0 []float64
	if err := d.call(func(st *state) error { q0 = st.presentPos(); return nil }); err != nil {
		return core.Trajectory{}, err
	}
	sk, plan, err := d.planRun(r, q0)
	if err != nil {
		return core.Trajectory{}, err
	}
	tr, err := plannedTrajectory(d.arm.Joints(), sk, plan, q0)
	if err != nil {
		return core.Trajectory{}, core.Reject("", "preview: %v", err)
	}
	return tr, nil
}

func (in *inspector) Demos() ([]core.DemoInfo, error) {
	d := in.d()
	ents, err := os.ReadDir(d.demosDir)
	if err != nil {
		return nil, core.Reject("", "demos directory: %v", err)
	}
	out := []core.DemoInfo{}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".csv")
		if !ok || e.IsDir() || demoName(name) != nil {
			continue
		}
		base := filepath.Join(d.demosDir, name)
		meta, err := demos.ReadSidecar(base + ".json")
		if err != nil {
			info := core.DemoInfo{Name: name, Source: "unknown"}
			if st, err := e.Info(); err == nil {
				info.Started = st.ModTime()
			}
			out = append(out, info)
			continue
		}
		out = append(out, core.DemoInfo{Name: name, Joints: meta.Joints, Samples: meta.Samples, Seconds: meta.DurationS,
			RateHz: meta.RateHz, Started: meta.Started, Source: meta.Source, Teaching: meta.Teaching, Recovered: meta.Recovered})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

func (in *inspector) Demo(name string) (core.Trajectory, error) {
	if err := demoName(name); err != nil {
		return core.Trajectory{}, core.Reject("demo", "%v", err)
	}
	dm, _, err := demos.Load(in.d().demosDir, name)
	if err != nil {
		if errors.Is(err, demos.ErrNoDemo) {
			return core.Trajectory{}, core.Reject("demo", "no demo %q", name)
		}
		return core.Trajectory{}, core.Reject("demo", "demo %q: %v", name, redactCSV(err))
	}
	return demoTrajectory(dm), nil
}

func redactCSV(err error) string {
	var ce *demos.CSVError
	if errors.As(err, &ce) {
		return ce.Redacted()
	}
	return err.Error()
}

func (in *inspector) Runs() ([]core.RunRecord, error) { return in.d().runs.list(), nil }

func (in *inspector) Run(id string) (core.RunRecord, error) {
	rec, ok := in.d().runs.get(id)
	if !ok {
		return core.RunRecord{}, core.Reject("id", "no recent run %q (the daemon keeps the last %d)", id, RunHistory)
	}
	return rec, nil
}

// edit runs f on the loop, refusing demo names being recorded (or about to be).
func (in *inspector) edit(names []string, f func() error) error {
	return in.d().call(func(st *state) error {
		for _, n := range names {
			if n != "" && n == st.recDemo {
				return core.Reject("demo", "demo %q is being recorded", n)
			}
		}
		return f()
	})
}

func editErr(field string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, demos.ErrNoDemo):
		return core.Reject("demo", "%v", strings.TrimPrefix(err.Error(), "demos: "))
	case errors.Is(err, demos.ErrExists):
		return core.Reject(field, "a demo of that name exists already")
	case errors.Is(err, demos.ErrBeingRecorded):
		return core.Reject("demo", "%v", strings.TrimPrefix(err.Error(), "demos: "))
	case errors.Is(err, demos.ErrBadTrim):
		return core.Reject("from", "%v", strings.TrimPrefix(err.Error(), "demos: "))
	}
	return core.Reject("", "%s", redactCSV(err))
}

func (in *inspector) TrimDemo(name string, from, to float64, newName string) (core.DemoInfo, error) {
	if err := demoName(name); err != nil {
		return core.DemoInfo{}, core.Reject("demo", "%v", err)
	}
	if newName != "" {
		if err := demoName(newName); err != nil {
			return core.DemoInfo{}, core.Reject("new_name", "%v", err)
		}
	}
	var meta *demos.Sidecar
	err := in.edit([]string{name, newName}, func() error {
		var err error
		meta, err = demos.Trim(in.d().demosDir, name, from, to, newName)
		return editErr("new_name", err)
	})
	if err != nil {
		return core.DemoInfo{}, err
	}
	in.d().log.Info("demo trimmed", "demo", name, "from_s", from, "to_s", to, "as", meta.Name)
	return core.DemoInfo{Name: meta.Name, Joints: meta.Joints, Samples: meta.Samples, Seconds: meta.DurationS,
		RateHz: meta.RateHz, Started: meta.Started, Source: meta.Source, Teaching: meta.Teaching}, nil
}

func (in *inspector) RenameDemo(name, newName string) error {
	if err := demoName(name); err != nil {
		return core.Reject("demo", "%v", err)
	}
	if err := demoName(newName); err != nil {
		return core.Reject("new_name", "%v", err)
	}
	err := in.edit([]string{name, newName}, func() error {
		return editErr("new_name", demos.Rename(in.d().demosDir, name, newName))
	})
	if err == nil {
		in.d().log.Info("demo renamed", "demo", name, "to", newName)
	}
	return err
}

func (in *inspector) DeleteDemo(name string) error {
	if err := demoName(name); err != nil {
		return core.Reject("demo", "%v", err)
	}
	err := in.edit([]string{name}, func() error {
		return editErr("demo", demos.Delete(in.d().demosDir, name))
	})
	if err == nil {
		in.d().log.Info("demo deleted", "demo", name)
	}
	return err
}

var (
	_ core.Inspector = (*inspector)(nil)
	_ core.Editor    = (*inspector)(nil)
)

// armModel loads the kinematic model the dashboard draws: arm.model (so101, ur5, panda
// or a URDF path) when set; nil otherwise. Arm joints are matched to the model's by name.
func armModel(name string, js []joint.Joint) (func(pos []float64) (sim.Skeleton, error), error) {
	if name == "" {
		return nil, nil
	}
	var m *sim.Model
	var err error
	switch name {
	case "so101", "ur5", "panda":
		m, err = sim.LoadBuiltin(name)
	default:
		m, err = sim.LoadURDF(name)
	}
	if err != nil {
		return nil, fmt.Errorf("arm.model: %w", err)
	}
	idx := make([]int, m.DOF()) // model joint -> arm joint (-1: none, held at 0)
	found := 0
	for i, mj := range m.Joints() {
		idx[i] = -1
		for a, j := range js {
			if j.Name == mj.Name {
				idx[i] = a
				found++
			}
		}
	}
	if found == 0 {
		return nil, fmt.Errorf("arm.model %s: none of its joints is an arm joint (%v)", name, joint.Names(js))
	}
	return func(pos []float64) (sim.Skeleton, error) {
		q := make([]float64, len(idx))
		for i, a := range idx {
			if a >= 0 && a < len(pos) {
				q[i] = pos[a]
			}
		}
		return m.LinkPositions(q)
	}, nil
}
