package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/flight"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/skilllib"
)

// guider is an arm a scripted hand can drag (the simulated arm).
type guider interface {
	Guide(h *sim.Hand) error
}

// state is everything the loop goroutine owns.
type state struct {
	d        *Daemon
	srv      core.Sink
	store    *skilllib.Store
	ex       executor
	exEvents chan motion.Event
	rec      *demos.Recorder
	arm      drivers.Arm
	hand     *sim.Hand
	demosDir string
	lead     *leaderCapture // teleoperated recording; nil without a leader arm

	run *activeRun // nil when no run

	recID, recDemo string         // recording in progress ("" when none)
	recStopping    bool           // Stop is on its way (off the loop)
	recLeader      bool           // the recording is teleoperated (s.lead)
	recDone        chan recResult // the result of a recording's Stop
	recDoneCh      <-chan struct{}
	recCounted     int // samples of the recording counted in the metrics so far

	recovering bool  // cmd/reset is setting the arm up again (off the loop)
	armErr     error // the arm's last failure (a read, a failed run) since it was last set up

	learnID     string             // id of the learn in flight ("" when none): one at a time
	learnSkill  string             // its skill
	learnCancel context.CancelFunc // cancels it (cmd/cancel with its id, shutdown)
	learnDone   chan learnResult

	lastStatus core.Status
	tap        *tapArm // the arm as the executor and the recorder read it
	tel        joint.State
	telNames   []string
	telAt      time.Time // when tel was last read successfully

	sampler *time.Ticker     // samples the run's measured trajectory (nil when no run)
	sampleC <-chan time.Time // sampler's channel, nil when none
	sample  joint.State      // the sampler's buffer
}

// skill returns a version of a skill (0: the latest) from the store, shared (read-only).
func (s *state) skill(name string, version int) (*skilllib.Skill, error) {
	return s.store.Shared(name, version)
}

type activeRun struct {
	id, skill string
	version   int
	job       runJob
	reason    string // abort reason to report instead of the executor's ("" keeps it)
}

type recResult struct {
	id, demo string
	res      demos.Result
	err      error
	estop    bool
	warning  string // demos.Check of the kept demo
}

// demoWarning reads the demo CSV at path and returns demos.Check's warnings ("" when the
// file cannot be read: the recording's own error says why).
func demoWarning(path string) string {
	if path == "" || !strings.HasSuffix(path, ".csv") {
		return ""
	}
	d, err := demos.ReadCSV(path)
	if err != nil {
		return ""
	}
	return demos.Check(d)
}

// learnResult is the end of a learn: the loop marks it done, then publishes its terminal
// event (so whoever sees that event can start the next learn).
type learnResult struct {
	skill string
	err   error
	end   core.Event
}

func (s *state) loop(ctx context.Context) {
	defer close(s.d.loopDone)
	s.telNames = joint.Names(s.arm.Joints())
	s.tel = joint.NewState(len(s.telNames))
	tick := time.NewTicker(time.Duration(float64(time.Second) / s.d.cfg.MQTT.StateRateHz))
	defer tick.Stop()
	recTick := time.NewTicker(100 * time.Millisecond)
	defer recTick.Stop()
	for {
		var jobDone <-chan struct{}
		if s.run != nil {
			jobDone = s.run.job.Done()
		}
		select {
		case <-ctx.Done():
			s.shutdown()
			return
		case f := <-s.d.reqs:
			f(s)
		case <-s.d.estopSig:
			s.onEStop()
		case ev := <-s.exEvents:
			s.onExecEvent(ev)
		case <-jobDone:
			s.finishRun()
		case <-s.recDoneCh:
			s.recDoneCh = nil
			s.stopRecording(false) // ended by itself (read errors)
		case r := <-s.recDone:
			s.onRecordingStopped(r)
		case r := <-s.learnDone:
			s.endLearn(r)
		case <-tick.C:
			s.telemetry()
		case <-s.sampleC:
			s.sampleRun()
		case <-recTick.C:
			if s.recID != "" && !s.recStopping {
				n, sec := s.curRec().Progress()
				s.countSamples(n)
				s.srv.Publish(core.Event{ID: s.recID, Cmd: core.CmdRecord, Type: core.Progress,
					Demo: s.recDemo, Samples: n, Seconds: sec})
			}
		}
	}
}

// shutdown halts the arm (cancelling the run), finishes a recording and waits for fits.
func (s *state) shutdown() {
	if s.run != nil {
		s.run.reason = "cancelled: daemon shutting down"
		_ = s.ex.Cancel()
		select {
		case <-s.run.job.Done():
		case <-time.After(3 * time.Second):
			s.d.log.Error("run did not end within 3 s of cancel; closing the executor")
		}
		s.drainEvents()
		s.finishRun()
	}
	if s.recID != "" {
		if !s.recStopping {
			s.stopRecording(false)
		}
		select {
		case r := <-s.recDone:
			s.onRecordingStopped(r)
		case <-time.After(5 * time.Second):
			s.d.log.Error("recording did not finish within 5 s")
		}
	}
	if s.learnID != "" {
		s.learnCancel()
		select {
		case r := <-s.learnDone:
			s.endLearn(r)
		case <-time.After(30 * time.Second):
			s.d.log.Error("a fit is still running at shutdown; its result may be lost")
		}
	}
}

func (s *state) status() core.Status {
	st := core.Status{Activity: core.Idle, EStop: s.d.estopped.Load()}
	switch {
	case st.EStop:
		st.Activity = core.Stopped
	case s.run != nil:
		st.Activity, st.RunID, st.Skill = core.Running, s.run.id, s.run.skill
	case s.recID != "":
		st.Activity, st.RunID, st.Demo = core.Recording, s.recID, s.recDemo
	}
	if st.EStop && s.run != nil {
		st.RunID, st.Skill = s.run.id, s.run.skill
	}
	return st
}

func (s *state) publishStatus() {
	st := s.status()
	if st == s.lastStatus {
		return
	}
	s.lastStatus = st
	st.Time = time.Now()
	s.srv.SetStatus(st)
}

func (s *state) telemetry() {
	// While a run or a recording reads the arm, publish what they read.
	if s.tap != nil && s.tap.snapshot(&s.tel, 100*time.Millisecond) {
		s.telAt = time.Now()
		s.srv.PublishState(core.State{Names: s.telNames, Pos: s.tel.Pos, Vel: s.tel.Vel})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.tap.Read(ctx, &s.tel); err != nil { // through the tap: the ROS node reads its copy
		// A read slower than the telemetry's 50 ms is not the arm's failure.
		if !errors.Is(err, context.DeadlineExceeded) {
			s.armFailed(err)
		}
		s.d.log.Debug("telemetry read", "err", err)
		return
	}
	s.telAt = time.Now()
	s.srv.PublishState(core.State{Names: s.telNames, Pos: s.tel.Pos, Vel: s.tel.Vel})
}

// armFailed notes a failure of the arm: the next cmd/reset sets a bus arm up again.
func (s *state) armFailed(err error) {
	if s.armErr == nil {
		if _, ok := s.arm.(setupper); ok {
			s.d.log.Warn("arm failure: cmd/reset will set the arm up again", "err", err)
		}
	}
	s.armErr = err
}

// busy returns the rejection for a command that needs the arm, or nil.
func (s *state) busy() error {
	if s.d.estopped.Load() {
		return core.Reject("", "e-stop latched: send cmd/reset first")
	}
	if s.run != nil {
		return core.Reject("", "busy: run %s is running (runs are rejected, not queued)", s.run.id)
	}
	if s.recID != "" {
		return core.Reject("", "busy: recording demo %q", s.recDemo)
	}
	if s.recovering {
		return core.Reject("", "busy: cmd/reset is setting the arm up again")
	}
	return nil
}

func (s *state) startRun(r core.RunRequest) error {
	if err := s.busy(); err != nil {
		return err
	}
	q0 := s.presentPos()
	sk, plan, err := s.d.planRun(r, q0)
	if err != nil {
		return err
	}
	job, err := s.ex.Start(motion.Request{ID: r.ID, Skill: &sk.DMP, Joints: sk.Joints, Goal: plan.Goal,
		Duration: r.Duration, OpenLoop: s.d.cfg.Executor.OpenLoop})
	if err != nil {
		if errors.Is(err, motion.ErrEStopped) {
			return core.Reject("", "e-stop latched: send cmd/reset first")
		}
		return core.Reject("", "%v", err)
	}
	s.run = &activeRun{id: r.ID, skill: sk.Name, version: sk.Version, job: job}
	s.d.runs.begin(r.ID, sk, plan, s.arm.Joints(), q0)
	s.startSampling()
	s.d.log.Info("run", "id", r.ID, "skill", sk.Name, "version", sk.Version)
	s.publishStatus()
	return nil
}

func (s *state) cancel(id string) error {
	if s.learnID != "" && s.learnID == id {
		s.learnCancel()
		return nil
	}
	if s.run == nil || s.run.id != id {
		if s.run != nil {
			return core.Reject("id", "no run %q is running (run %s is)", id, s.run.id)
		}
		return core.Reject("id", "no run %q is running", id)
	}
	if err := s.ex.Cancel(); err != nil && !errors.Is(err, motion.ErrNotRunning) {
		return core.Reject("", "cancel: %v", err)
	}
	return nil
}

func (s *state) onExecEvent(ev motion.Event) {
	if s.run == nil || ev.RunID != s.run.id {
		return
	}
	e := core.Event{ID: s.run.id, Cmd: core.CmdRun, Skill: s.run.skill, Version: s.run.version}
	switch ev.Kind {
	case motion.EventStarted:
		e.Type = core.Started
	case motion.EventProgress:
		e.Type, e.Progress = core.Progress, ev.Fraction
	default:
		return // terminal events: from the Job (never dropped), in finishRun
	}
	s.srv.Publish(e)
}

func (s *state) drainEvents() {
	for {
		select {
		case ev := <-s.exEvents:
			s.onExecEvent(ev)
		default:
			return
		}
	}
}

// finishRun publishes the terminal event of the finished run.
func (s *state) finishRun() {
	if s.run == nil {
		return
	}
	s.drainEvents()
	res, ok := s.run.job.Result()
	if !ok {
		return
	}
	e := core.Event{ID: s.run.id, Cmd: core.CmdRun, Skill: s.run.skill, Version: s.run.version, Reason: res.Reason}
	switch res.Outcome {
	case motion.Succeeded:
		e.Type, e.FinalError, e.Reason = core.Succeeded, res.FinalError, ""
	case motion.Aborted:
		e.Type = core.Aborted
		if s.run.reason != "" {
			e.Reason = s.run.reason
		}
	default:
		e.Type = core.Failed
		s.armFailed(fmt.Errorf("run %s failed: %s", s.run.id, res.Reason))
	}
	s.stopSampling()
	s.d.runs.end(s.run.id, e.Type, e.Reason, e.FinalError)
	s.d.log.Info("run ended", runEndAttrs(e, res)...)
	s.d.metric(func(m *metricsT) { m.Run(e.Type) })
	switch {
	case e.Type == core.Aborted && res.Reason == motion.ReasonEStop:
		s.d.flights.trigger(flight.TriggerEStop, e.Reason, s.run.id, s.run.skill)
	case e.Type == core.Aborted:
		s.d.flights.trigger(flight.TriggerAbort, e.Reason, s.run.id, s.run.skill)
	case e.Type == core.Failed:
		s.d.flights.trigger(flight.TriggerFault, e.Reason, s.run.id, s.run.skill)
	}
	s.run = nil
	s.publishStatus() // first: whoever sees the terminal event then reads the new status
	s.srv.Publish(e)
}

func (s *state) onEStop() {
	s.d.log.Warn("e-stop latched")
	if s.run == nil { // a run's e-stop is recorded as the run ends (finishRun)
		s.d.flights.trigger(flight.TriggerEStop, "e-stop (no run)", "", "")
	}
	if s.recID != "" && !s.recStopping {
		s.stopRecording(true)
	}
	s.publishStatus()
}

// beginReset returns the arm when it can be set up again (a bus arm that no run or
// recording uses), marking the daemon busy until reset, and its last failed read; nil
// otherwise.
func (s *state) beginReset() (setupper, error) {
	su, ok := s.arm.(setupper)
	if !ok || s.run != nil || s.recID != "" || s.recovering {
		return nil, nil
	}
	s.recovering = true
	return su, s.armErr
}

// reset ends a reset: setupErr, the failure of setting the arm up again, refuses it and
// leaves the e-stop as it was; otherwise the e-stop is cleared (and, when recovered, the
// arm's past read failures forgotten). It reports whether the e-stop was latched.
func (s *state) reset(recovered bool, setupErr error) (wasLatched bool, err error) {
	s.recovering = false
	if recovered {
		s.armErr = nil
	}
	if setupErr != nil {
		s.d.log.Error("reset: the arm did not recover", "err", setupErr)
		still := ""
		if s.d.estopped.Load() {
			still = "; e-stop still latched"
		}
		return s.d.estopped.Load(), core.Reject("", "arm faulted and did not recover: %v%s", setupErr, still)
	}
	wasLatched = s.d.estopped.Swap(false)
	s.ex.Reset()
	if wasLatched {
		s.d.log.Info("e-stop reset")
	} else {
		s.d.log.Info("reset: e-stop was not latched")
	}
	s.publishStatus()
	return wasLatched, nil
}

func (s *state) record(r core.RecordRequest) error {
	switch r.Action {
	case core.RecordStart:
		if r.Leader && s.lead == nil {
			return core.Reject("leader", "no leader arm is configured (the daemon's config has no leader section)")
		}
		if err := s.busy(); err != nil {
			return err
		}
		if err := demoName(r.Demo); err != nil {
			return core.Reject("demo", "%v", err)
		}
		if r.Leader {
			return s.recordLeader(r)
		}
		if err := s.rec.Start(context.Background(), r.Demo, demos.Sidecar{}); err != nil {
			if errors.Is(err, demos.ErrExists) {
				return core.Reject("demo", "demo %q already exists: choose another name, or delete or rename it first (praxis demos delete %s, praxis demos rename %s NEW)", r.Demo, r.Demo, r.Demo)
			}
			return core.Reject("", "record: %v", err)
		}
		if g, ok := s.arm.(guider); ok && s.hand != nil {
			if err := g.Guide(s.hand); err != nil {
				s.d.log.Warn("sim hand", "err", err)
			}
		}
		s.recID, s.recDemo, s.recStopping, s.recLeader = r.ID, r.Demo, false, false
		s.recDoneCh = s.rec.Done()
		s.d.log.Info("recording", "demo", r.Demo, "id", r.ID)
		s.publishStatus()
		return nil
	case core.RecordStop:
		if s.recID == "" || s.recStopping {
			return core.Reject("action", "not recording")
		}
		if r.Leader {
			return core.Reject("leader", "only with action start")
		}
		if r.Demo != "" && r.Demo != s.recDemo {
			return core.Reject("demo", "recording demo %q, not %q", s.recDemo, r.Demo)
		}
		s.stopRecording(false)
		return nil
	}
	return core.Reject("action", "%q, want start or stop", r.Action)
}

// stopRecording finishes the recording off the loop (Stop flushes and fsyncs); the
// result comes back on recDone.
func (s *state) stopRecording(estop bool) {
	s.recStopping = true
	s.recDoneCh = nil
	if s.recLeader {
		s.stopLeader(estop)
		return
	}
	id, demo, rec, arm, hand := s.recID, s.recDemo, s.rec, s.arm, s.hand
	go func() {
		res, err := rec.Stop() // torque back on, hold the measured position
		if g, ok := arm.(guider); ok && hand != nil {
			_ = g.Guide(nil)
		}
		s.recDone <- recResult{id: id, demo: demo, res: res, err: err, estop: estop, warning: demoWarning(res.Path)}
	}()
}

func (s *state) onRecordingStopped(r recResult) {
	e := core.Event{ID: r.id, Cmd: core.CmdRecord, Demo: r.demo,
		Samples: r.res.Samples, Seconds: r.res.Duration.Seconds(), Path: s.dataRel(r.res.Path), Warning: r.warning}
	switch {
	case r.err != nil:
		e.Type, e.Reason = core.Failed, r.err.Error()
	case r.estop:
		e.Type, e.Reason = core.Aborted, "e-stop (demo kept)"
	default:
		e.Type = core.Succeeded
	}
	s.d.log.Info("recording ended", recEndAttrs(e, r)...)
	s.countSamples(r.res.Samples)
	s.recCounted = 0
	s.recID, s.recDemo, s.recStopping, s.recLeader = "", "", false, false
	s.publishStatus() // first, as for runs
	s.srv.Publish(e)
}

// runEndAttrs are the fields of a "run ended" log line: final_error only for a run that
// succeeded (an aborted or failed run has a reason instead), figures rounded.
func runEndAttrs(e core.Event, res motion.Result) []any {
	attrs := []any{"id", e.ID, "outcome", res.Outcome}
	if e.Type == core.Succeeded {
		attrs = append(attrs, "final_error", roundLog(res.FinalError))
	} else {
		attrs = append(attrs, "reason", e.Reason)
	}
	return append(attrs, "duration_s", roundLog(res.Duration))
}

// recEndAttrs are the fields of a "recording ended" log line: only those that are set
// (no err=<nil>, no empty torque_note).
func recEndAttrs(e core.Event, r recResult) []any {
	attrs := []any{"demo", r.demo, "outcome", e.Type, "samples", r.res.Samples, "seconds", roundLog(e.Seconds)}
	if e.Path != "" {
		attrs = append(attrs, "path", e.Path)
	}
	if e.Warning != "" {
		attrs = append(attrs, "warning", e.Warning)
	}
	if r.err != nil {
		attrs = append(attrs, "err", r.err)
	}
	if r.res.TorqueNote != "" {
		attrs = append(attrs, "torque_note", r.res.TorqueNote)
	}
	return attrs
}

// countSamples counts the samples of the recording up to its n-th in the metrics.
func (s *state) countSamples(n int) {
	if n > s.recCounted {
		s.d.metric(func(m *metricsT) { m.RecordingSamples(n - s.recCounted) })
		s.recCounted = n
	}
}

// dataRel returns path relative to the data directory, with forward slashes ("" stays "").
func (s *state) dataRel(path string) string {
	if path == "" {
		return ""
	}
	if rel, err := filepath.Rel(s.d.cfg.DataDir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return path
}

// demoName checks a demo name: letters, digits, '_', '-', '.', not starting with '.',
// at most 128 bytes.
func demoName(n string) error {
	if n == "" || len(n) > 128 || n[0] == '.' {
		return fmt.Errorf("%q: want 1 to 128 letters, digits, '_', '-', '.', not starting with '.'", n)
	}
	for _, r := range n {
		if !(r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return fmt.Errorf("%q: want 1 to 128 letters, digits, '_', '-', '.', not starting with '.'", n)
		}
	}
	return nil
}

func (s *state) learn(r core.LearnRequest) error {
	if err := r.Check(); err != nil {
		return err
	}
	if err := skilllib.ValidName(r.Skill); err != nil {
		return core.Reject("skill", "%v", err)
	}
	if s.learnID != "" {
		return core.Reject("", "busy: learning skill %q (one learn at a time; cancel it with its id %q)", s.learnSkill, s.learnID)
	}
	root, err := filepath.EvalSymlinks(s.demosDir)
	if err != nil {
		return core.Reject("", "demos directory: %v", err)
	}
	paths := make([]string, len(r.Demos))
	for i, n := range r.Demos {
		f := fmt.Sprintf("demos[%d]", i)
		if err := demoName(n); err != nil {
			return core.Reject(f, "%v", err)
		}
		if n == s.recDemo {
			return core.Reject(f, "demo %q is being recorded", n)
		}
		paths[i] = filepath.Join(s.demosDir, n+".csv")
		real, err := filepath.EvalSymlinks(paths[i])
		if err != nil {
			return core.Reject(f, "no demo %q", n)
		}
		if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return core.Reject(f, "demo %q resolves outside the data directory", n)
		}
		paths[i] = real
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.learnID, s.learnSkill, s.learnCancel = r.ID, r.Skill, cancel
	go s.fit(ctx, r, paths)
	return nil
}

// fit runs off the loop: learn (skilllib.LearnFiles), store; it reports the events itself.
func (s *state) fit(ctx context.Context, r core.LearnRequest, paths []string) {
	pub := func(e core.Event) {
		e.ID, e.Cmd, e.Skill = r.ID, core.CmdLearn, r.Skill
		s.srv.Publish(e)
	}
	pub(core.Event{Type: core.Started})
	began := time.Now()
	opt := skilllib.FileOptions{LearnOptions: skilllib.LearnOptions{Name: r.Skill, PraxisVersion: s.d.opt.Version}}
	opt.Fit.Basis = r.Basis
	sk, err := skilllib.LearnFiles(ctx, paths, opt)
	var v int
	if err == nil && ctx.Err() == nil {
		v, err = s.store.Put(sk)
	}
	end := func(e core.Event, err error) {
		s.d.metric(func(m *metricsT) { m.Learn(time.Since(began), e.Type) })
		e.ID, e.Cmd, e.Skill = r.ID, core.CmdLearn, r.Skill
		s.learnDone <- learnResult{skill: r.Skill, err: err, end: e}
	}
	switch {
	case ctx.Err() != nil:
		s.d.log.Info("learn cancelled", "skill", r.Skill, "id", r.ID)
		end(core.Event{Type: core.Aborted, Reason: "cancelled"}, ctx.Err())
		return
	case err != nil:
		s.d.log.Warn("learn failed", "skill", r.Skill, "err", err)
		end(core.Event{Type: core.Failed, Reason: learnReason(err)}, err)
		return
	}
	var warns []string
	for i, p := range paths {
		if w := demoWarning(p); w != "" {
			warns = append(warns, fmt.Sprintf("demo %s: %s", r.Demos[i], w))
		}
	}
	fit := make([]core.JointFitError, len(sk.Provenance.FitError))
	for i, f := range sk.Provenance.FitError {
		fit[i] = core.JointFitError{Joint: f.Joint, RMSE: f.RMSE, Max: f.Max, End: f.End}
	}
	attrs := []any{"skill", r.Skill, "version", v, "demos", r.Demos}
	if len(warns) > 0 {
		attrs = append(attrs, "warning", strings.Join(warns, "; "))
	}
	s.d.log.Info("learned", attrs...)
	end(core.Event{Type: core.Succeeded, Version: v, FitError: fit, Warning: strings.Join(warns, "; ")}, nil)
}

// endLearn marks the learn done, publishes the new skill list, then its terminal event.
func (s *state) endLearn(r learnResult) {
	s.learnID, s.learnSkill, s.learnCancel = "", "", nil
	if r.err == nil {
		s.publishSkills()
	}
	s.srv.Publish(r.end)
}

// learnReason is the reason of a failed learn as others may read it: a bad demo file is
// named with its line and column, never quoted.
func learnReason(err error) string {
	var ce *demos.CSVError
	if errors.As(err, &ce) {
		return "demo " + ce.Redacted()
	}
	return err.Error()
}

func (s *state) skills() ([]core.SkillInfo, error) {
	list, _, err := s.store.List()
	if err != nil {
		return nil, core.Reject("", "skill library: %v", err)
	}
	out := make([]core.SkillInfo, 0, len(list))
	for _, in := range list {
		out = append(out, core.SkillInfo{Name: in.Name, Version: in.Latest, Versions: in.Versions,
			Joints: in.Joints, Duration: core.Round9(in.Duration)})
	}
	return out, nil
}

func (s *state) publishSkills() {
	if list, err := s.skills(); err == nil {
		s.srv.PublishSkills(list)
	}
}

// roundLog rounds x to 4 significant digits for a log line (3.400392735 logs as 3.4,
// 0.0021608760373402758 as 0.002161); events are rounded less, to 1e-9 (core.Round9),
// and fit errors keep full precision.
func roundLog(x float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	if err != nil {
		return x
	}
	return r
}
