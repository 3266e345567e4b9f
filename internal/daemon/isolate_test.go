package daemon

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/ctlproc"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/seed"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/skilllib"
)

// The test binary is also the control process of the daemons these tests start with
// executor.isolate, as the praxis binary is (cmd/praxis).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ControlArg {
		os.Exit(ControlMain())
	}
	os.Exit(m.Run())
}

// TestIsolatedExecutorE2E: with executor.isolate the control loop and the simulated arm
// run in a child process: a run over MQTT reaches its goal there (seen in the telemetry
// the daemon publishes and in a read through the child), an e-stop aborts the next run and
// its flight recording comes from the child's recorder, the loop's counters reach the
// daemon's, and when the child dies the daemon stops with an error naming it.
func TestIsolatedExecutorE2E(t *testing.T) {
	cfg := testConfig(t)
	cfg.Executor.Isolate = true
	st, err := skilllib.OpenStore(filepath.Join(cfg.DataDir, SkillsDir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Install(st, "test"); err != nil {
		t.Fatal(err)
	}
	r := startDaemon(t, cfg, Options{})
	pid := r.d.ControlPID()
	if pid == 0 || pid == os.Getpid() {
		t.Fatalf("control process id %d: want a child's", pid)
	}
	if cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err != nil || !strings.Contains(string(cmdline), ControlArg) {
		t.Fatalf("process %d runs %q (%v): want the control process", pid, cmdline, err)
	}
	if r.d.SimArm() != nil {
		t.Fatal("the simulated arm is in this process: want it in the control process")
	}
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	w := watch(t, r.d.BrokerURL(), op.Username, op.Password, "arm1")
	ctx := ctxT(t, 60*time.Second)
	tol := r.d.Config().Executor.GoalTolerance

	// A run to a new goal.
	goal := map[string]float64{"shoulder_pan": 0.5, "elbow_flex": 0.6}
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "iso1", Skill: "reach", Duration: 2, Goal: goal}, nil)
	if err != nil || ev.Type != mqttapi.Succeeded || ev.FinalError > tol {
		t.Fatalf("run: %+v, %v: want succeeded within the goal tolerance", ev, err)
	}
	names := joint.Names(r.d.Arm().Joints())
	s := joint.NewState(len(names))
	if err := r.d.Arm().Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		if g, ok := goal[n]; ok && math.Abs(s.Pos[i]-g) > tol {
			t.Errorf("%s read at %.4f through the control process, goal %.4f", n, s.Pos[i], g)
		}
	}
	w.waitFor(t, "telemetry at the goal", 5*time.Second, func(w *watcher) bool {
		return len(w.state.Pos) == len(names) && math.Abs(w.state.Pos[0]-0.5) <= tol
	})
	// The daemon has no loop of its own here: whatever its counters hold is the control
	// process's, mirrored every 0.5 s (a 2 s run at 250 Hz is some 500 ticks; a loaded
	// machine's missed deadlines take some away).
	var ticks uint64
	for deadline := time.Now().Add(5 * time.Second); ticks < 250 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ticks, _, _ = r.d.loop.PeriodError.Snapshot()
	}
	if ticks < 250 {
		t.Errorf("the daemon's loop counters hold %d ticks, want the control process's (≥ 250)", ticks)
	}

	// An e-stop during a run.
	done := runStarted(ctx, t, cli, mqttapi.RunRequest{ID: "iso2", Skill: "wave", Duration: 5})
	w.publish(t, mqttapi.CmdEStop, `{"id":"e1"}`)
	ab := w.event(t, "iso2", mqttapi.Aborted, 5*time.Second)
	if ab.Reason != "e-stop" {
		t.Fatalf("run after the e-stop: %+v, want aborted by it", ab)
	}
	<-done
	var flights []string
	for deadline := time.Now().Add(5 * time.Second); len(flights) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		fs, err := r.d.Flights().Flights()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if strings.HasSuffix(f.Name, "-estop.flight.json.gz") && f.Samples > 0 {
				flights = append(flights, f.Name)
			}
		}
	}
	if len(flights) == 0 {
		t.Fatal("no e-stop flight recording from the control process")
	}

	// The control process dies: the daemon stops with an error naming it.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.errc:
		if !errors.Is(err, ctlproc.ErrExited) {
			t.Fatalf("daemon Run after the control process died: %v, want ctlproc.ErrExited", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("daemon still running 15 s after its control process died")
	}
	r.cancel = nil
}

// TestIsolatedBusE2E: with executor.isolate on a Feetech bus (the simulated SO-101 behind
// the impersonator on a pty, opened by the control process): a kinesthetic recording
// switches the servos off through the child (the scripted hand guides the arm), the demo
// recorded through the child's reads is learned, and the skill runs to a new goal, the
// simulated arm truly there.
func TestIsolatedBusE2E(t *testing.T) {
	rig := startBusRig(t, busarm.Feetech)
	cfg := rig.config(t)
	cfg.Executor.Isolate = true
	r := startDaemon(t, cfg, Options{})
	d := r.d
	if d.ControlPID() == 0 {
		t.Fatal("no control process")
	}
	if _, ok := d.Arm().(drivers.Compliant); !ok {
		t.Fatal("the bus arm switches torque; seen from the daemon it must too")
	}
	op := user(t, d, broker.OperatorUser)
	cli := dial(t, d.BrokerURL(), op.Username, op.Password)
	w := watch(t, d.BrokerURL(), op.Username, op.Password, "arm1")
	ctx := ctxT(t, 120*time.Second)

	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1", Action: mqttapi.RecordStart, Demo: "demo1"}); err != nil {
		t.Fatal(err)
	}
	w.waitAt(t, handQ1, 0.03, 20*time.Second)
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1s", Action: mqttapi.RecordStop}); err != nil {
		t.Fatal(err)
	}
	rec := w.event(t, "rec1", mqttapi.Succeeded, 15*time.Second)
	if rig.sim.HandStarts() != 1 || rec.Samples < 50 {
		t.Fatalf("hand started %d times, %d samples recorded: want the hand once and a demo", rig.sim.HandStarts(), rec.Samples)
	}
	if _, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "reach_bus", Demos: []string{"demo1"}}, nil); err != nil {
		t.Fatalf("learn: %v", err)
	}
	goal := map[string]float64{"shoulder_pan": 0.3, "elbow_flex": 0.7}
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "run1", Skill: "reach_bus", Goal: goal, Duration: 1.5}, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	tol := d.Config().Executor.GoalTolerance
	if q := rig.truth(); ev.FinalError > tol || math.Abs(q[0]-0.3) > tol || math.Abs(q[2]-0.7) > tol {
		t.Fatalf("run: final_error %g (tolerance %g), sim arm at %v", ev.FinalError, tol, q)
	}
	if st := rig.sim.Stats(); st.SyncWrites == 0 {
		t.Fatal("no sync writes reached the bus")
	}
}
