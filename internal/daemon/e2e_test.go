package daemon

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// TestEmbeddedRecordLearnRun drives the whole flow over the embedded broker: a
// kinesthetic recording guided by the scripted hand, learning, a run to a new goal,
// busy, e-stop and reset, cancel, malformed and unauthorised commands.
func TestEmbeddedRecordLearnRun(t *testing.T) {
	cfg := testConfig(t)
	cfg.Arm.SimHand = writeHandCSV(t, t.TempDir())
	r := startDaemon(t, cfg, Options{})
	d := r.d
	if !strings.Contains(r.out.String(), "operator") || !strings.Contains(r.out.String(), "mosquitto_pub") {
		t.Errorf("first start did not print the credentials: %q", r.out.String())
	}
	if dm, ok := d.Credentials().ByRole(broker.RoleDaemon); !ok || strings.Contains(r.out.String(), dm.Password) {
		t.Errorf("first start printed the daemon's own password (docs/mqtt.md: operator and observer only)")
	}
	op := user(t, d, broker.OperatorUser)
	cli := dial(t, d.BrokerURL(), op.Username, op.Password)
	w := watch(t, d.BrokerURL(), op.Username, op.Password, "arm1")
	ctx := ctxT(t, 60*time.Second)

	// The arm starts at the hand's first sample.
	if e := maxDiff(truth(d), handQ0); e > 0.02 {
		t.Fatalf("arm starts %g rad from the hand's first sample", e)
	}

	// Record a demonstration guided by the scripted hand.
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1", Action: mqttapi.RecordStart, Demo: "demo1"}); err != nil {
		t.Fatal(err)
	}
	st, err := cli.Status(ctx)
	if err != nil || st.Activity != mqttapi.Recording || st.Demo != "demo1" {
		t.Fatalf("status while recording: %+v, %v", st, err)
	}
	// A run while recording is rejected.
	_, err = cli.Run(ctx, mqttapi.RunRequest{Skill: "x", Duration: 1}, nil)
	if rj := rejection(err); rj == nil || !strings.Contains(rj.Reason, "recording") {
		t.Fatalf("run while recording: %v", err)
	}
	// A second recording with the same name is rejected (busy), later too (exists).
	w.waitAt(t, handQ1, 0.02, 15*time.Second)
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1s", Action: mqttapi.RecordStop}); err != nil {
		t.Fatal(err)
	}
	done := w.event(t, "rec1", mqttapi.Succeeded, 10*time.Second)
	checkRecordEvents(t, w, done, filepath.Join(cfg.DataDir, DemosDir, "demo1.csv"))
	t.Logf("recording: %d samples, %.2f s, %s", done.Samples, done.Seconds, done.Path)
	_, err = cli.Record(ctx, mqttapi.RecordRequest{Action: mqttapi.RecordStart, Demo: "demo1"})
	if rj := rejection(err); rj == nil || rj.Field != "demo" || !strings.Contains(rj.Reason, "exists") {
		t.Fatalf("recording an existing demo: %v", err)
	}
	_, err = cli.Record(ctx, mqttapi.RecordRequest{Action: mqttapi.RecordStop})
	if rejection(err) == nil {
		t.Fatalf("stop while not recording: %v", err)
	}

	// Learn it.
	le, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "reach2", Demos: []string{"demo1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if le.Version != 1 || le.Skill != "reach2" || le.Reason != "" {
		t.Fatalf("learn: %+v", le)
	}
	checkFitError(t, cfg.DataDir, le)
	_, err = cli.Learn(ctx, mqttapi.LearnRequest{Skill: "bad", Demos: []string{"demo1", "nope"}}, nil)
	if rj := rejection(err); rj == nil || rj.Field != "demos[1]" {
		t.Fatalf("learn from a missing demo: %v", err)
	}
	skills, err := cli.Skills(ctx)
	if err != nil || len(skills) != 1 || skills[0].Name != "reach2" || len(skills[0].Joints) != 6 {
		t.Fatalf("skills: %+v, %v", skills, err)
	}

	// Run it to a new goal.
	goal := map[string]float64{"shoulder_pan": 0.3, "elbow_flex": 0.7}
	var kinds []mqttapi.EventType
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "run1", Skill: "reach2", Goal: goal, Duration: 1.0},
		func(e mqttapi.Event) { kinds = append(kinds, e.Type) })
	if err != nil {
		t.Fatalf("run: %v (events %v)", err, kinds)
	}
	if ev.FinalError > 0.05 || ev.FinalError <= 0 || ev.Skill != "reach2" || ev.Version != 1 {
		t.Fatalf("run succeeded with %+v", ev)
	}
	q := truth(d)
	if math.Abs(q[0]-0.3) > 0.05 || math.Abs(q[2]-0.7) > 0.05 {
		t.Fatalf("arm ended at %v, want shoulder_pan 0.3, elbow_flex 0.7", q)
	}
	if kinds[0] != mqttapi.Accepted || kinds[1] != mqttapi.Started || kinds[len(kinds)-1] != mqttapi.Succeeded {
		t.Fatalf("run events: %v", kinds)
	}
	t.Logf("run to a new goal: final_error %.4f rad, events %v", ev.FinalError, kinds)

	// Goal checks.
	_, err = cli.Run(ctx, mqttapi.RunRequest{Skill: "reach2", Goal: map[string]float64{"elbow": 0.1}}, nil)
	if rj := rejection(err); rj == nil || rj.Field != "goal.elbow" {
		t.Fatalf("unknown goal joint: %v", err)
	}
	_, err = cli.Run(ctx, mqttapi.RunRequest{Skill: "reach2", Goal: map[string]float64{"elbow_flex": 2.5}}, nil)
	if rj := rejection(err); rj == nil || rj.Field != "goal.elbow_flex" || !strings.Contains(rj.Reason, "1.69") {
		t.Fatalf("goal outside the limits: %v", err)
	}
	_, err = cli.Run(ctx, mqttapi.RunRequest{Skill: "nope"}, nil)
	if rj := rejection(err); rj == nil || rj.Field != "skill" {
		t.Fatalf("unknown skill: %v", err)
	}
	_, err = cli.Run(ctx, mqttapi.RunRequest{Skill: "reach2", Version: 7}, nil)
	if rj := rejection(err); rj == nil || rj.Field != "version" {
		t.Fatalf("unknown version: %v", err)
	}

	// Busy, then e-stop during the run.
	res := runStarted(ctx, t, cli, mqttapi.RunRequest{ID: "run2", Skill: "reach2", Duration: 2})
	_, err = cli.Run(ctx, mqttapi.RunRequest{ID: "run3", Skill: "reach2", Duration: 1}, nil)
	if rj := rejection(err); rj == nil || !strings.Contains(rj.Reason, "busy: run run2 is running") {
		t.Fatalf("second run while busy: %v", err)
	}
	if _, err := cli.Cancel(ctx, "run9"); rejection(err) == nil {
		t.Fatalf("cancel of an unknown run: %v", err)
	}
	if _, err := cli.EStop(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-res
	if !errors.Is(err, mqttapi.ErrAborted) || !strings.Contains(err.Error(), "e-stop") {
		t.Fatalf("run during e-stop: %v", err)
	}
	st, _ = cli.Status(ctx)
	if st.Activity != mqttapi.Stopped || !st.EStop {
		t.Fatalf("status after e-stop: %+v", st)
	}
	_, err = cli.Run(ctx, mqttapi.RunRequest{Skill: "reach2", Duration: 1}, nil)
	if rj := rejection(err); rj == nil || !strings.Contains(rj.Reason, "e-stop") {
		t.Fatalf("run while e-stopped: %v", err)
	}
	_, err = cli.Record(ctx, mqttapi.RecordRequest{Action: mqttapi.RecordStart, Demo: "demo2"})
	if rj := rejection(err); rj == nil || !strings.Contains(rj.Reason, "e-stop") {
		t.Fatalf("record while e-stopped: %v", err)
	}
	if ev, err := cli.Reset(ctx); err != nil || ev.Reason != "" {
		t.Fatalf("reset of a latched e-stop: %+v, %v (want accepted with no reason)", ev, err)
	}
	// Nothing latched now: the answer says so rather than "cleared".
	if ev, err := cli.Reset(ctx); err != nil || ev.Reason != mqttapi.NothingToReset {
		t.Fatalf("reset with nothing latched: %+v, %v (want reason %q)", ev, err, mqttapi.NothingToReset)
	}

	// Cancel.
	res = runStarted(ctx, t, cli, mqttapi.RunRequest{ID: "run4", Skill: "reach2", Duration: 2})
	cli2 := dial(t, d.BrokerURL(), op.Username, op.Password) // one Client cannot wait on one id twice
	if _, err := cli2.Cancel(ctx, "run4"); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, mqttapi.ErrAborted) || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("cancelled run: %v", err)
	}
	st, _ = cli.Status(ctx)
	if st.Activity != mqttapi.Idle {
		t.Fatalf("status after cancel: %+v", st)
	}

	// E-stop during a recording ends it, keeping the demo.
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec2", Action: mqttapi.RecordStart, Demo: "demo2"}); err != nil {
		t.Fatal(err)
	}
	var seen int // samples a progress event reported before the e-stop
	w.waitFor(t, "recording progress", 5*time.Second, func(w *watcher) bool {
		for _, e := range w.events {
			if e.ID == "rec2" && e.Type == mqttapi.Progress && e.Seconds > 0.3 {
				seen = e.Samples
				return true
			}
		}
		return false
	})
	if _, err := cli.EStop(ctx); err != nil {
		t.Fatal(err)
	}
	if e := w.event(t, "rec2", mqttapi.Aborted, 10*time.Second); e.Reason != "e-stop (demo kept)" || e.Demo != "demo2" ||
		e.Path != "demos/demo2.csv" || e.Samples < seen || e.Samples < 2 || e.Seconds < 0.3 {
		t.Fatalf("recording at e-stop: %+v", e)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, DemosDir, "demo2.csv")); err != nil {
		t.Fatalf("demo kept after e-stop: %v", err)
	}
	if st, _ = cli.Status(ctx); st.Activity != mqttapi.Stopped {
		t.Fatalf("status after e-stop while recording: %+v", st)
	}
	if _, err := cli.Reset(ctx); err != nil {
		t.Fatal(err)
	}

	// Malformed and unauthorised commands move nothing.
	noMotion(t, d, w, "arm1")
}

// noMotion sends malformed commands (operator) and commands from an observer and an
// anonymous client, and checks that nothing ran and the arm did not move.
func noMotion(t *testing.T, d *Daemon, w *watcher, robot string) {
	t.Helper()
	w.waitFor(t, "arm at rest", 10*time.Second, func(w *watcher) bool {
		for _, v := range w.state.Vel {
			if math.Abs(v) > 0.005 {
				return false
			}
		}
		return len(w.state.Vel) > 0
	})
	before := truth(d)
	cmds := d.SimArm().Stats().Commands
	w.publish(t, "run", `{"id":"m1","skill":"reach2","duraton":1}`)
	w.publish(t, "run", `not json`)
	w.publish(t, "run", `{"id":"m2","skill":"reach2","duration":-1}`)
	w.publish(t, "record", `{"id":"m3","action":"start","demo":"../x"}`)
	for _, id := range []string{"m1", "m2", "m3"} {
		e := w.event(t, id, mqttapi.Rejected, 5*time.Second)
		t.Logf("malformed %s: rejected %s: %s", id, e.Field, e.Reason)
	}
	w.waitFor(t, "rejection of the non-JSON payload", 5*time.Second, func(w *watcher) bool {
		for _, e := range w.events {
			if e.ID == "" && e.Type == mqttapi.Rejected {
				return true
			}
		}
		return false
	})

	ob, ok := d.Credentials().Get(broker.ObserverUser)
	if !ok { // external broker: the test's own observer
		ob = broker.User{Username: "observer", Password: "observer-pw-123"}
	}
	obs := dialTimeout(t, d.BrokerURL(), ob.Username, ob.Password, robot, 1500*time.Millisecond)
	ctx := ctxT(t, 20*time.Second)
	_, err := obs.Run(ctx, mqttapi.RunRequest{ID: "obs1", Skill: "reach2", Duration: 1}, nil)
	if err == nil || rejection(err) != nil {
		t.Fatalf("observer's run: want a transport failure, got %v", err)
	}
	t.Logf("observer's run: %v", err)
	if _, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: d.BrokerURL(), RobotID: robot}); err == nil {
		t.Fatal("anonymous client connected")
	}
	if _, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: d.BrokerURL(), Username: "operator", Password: "wrong-password", RobotID: robot}); err == nil {
		t.Fatal("wrong password connected")
	}
	// Proof that the daemon is still answering, and that nothing ran in between.
	op := dialTimeout(t, d.BrokerURL(), w.user, w.pass, robot, 5*time.Second)
	if _, err := op.Skills(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"m1", "m2", "obs1"} {
		if c := w.count(id); c[mqttapi.Started] != 0 || c[mqttapi.Accepted] != 0 {
			t.Fatalf("events of %s: %v", id, c)
		}
	}
	if n := d.SimArm().Stats().Commands; n != cmds {
		t.Fatalf("the arm received %d commands during malformed/unauthorised commands", n-cmds)
	}
	// The held arm may still settle slowly after an e-stop; a run would move it far more.
	if e := maxDiff(before, truth(d)); e > 0.03 {
		t.Fatalf("arm moved %g rad during malformed/unauthorised commands: %v -> %v", e, before, truth(d))
	}
}

func dialTimeout(t testing.TB, url, user, pass, robot string, answer time.Duration) *mqttapi.Client {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	c, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: url, Username: user, Password: pass, RobotID: robot, AnswerTimeout: answer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
