//go:build linux

package daemon

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/sim"
)

// leaderReplyTimeout is the reply timeout of both buses in the leader tests (arm.timeout,
// leader.timeout): generous, the machine is loaded.
const leaderReplyTimeout = 500 * time.Millisecond

// handMove is a scripted hand moving from q0 to q1 in a minimum-jerk profile of move
// seconds (sampled every 10 ms), then staying at q1.
func handMove(t testing.TB, q0, q1 []float64, move float64) *sim.Hand {
	t.Helper()
	var times []float64
	var pos [][]float64
	for k := 0; float64(k)*0.01 <= move+1e-9; k++ {
		s := float64(k) * 0.01 / move
		mj := s * s * s * (10 - 15*s + 6*s*s)
		q := make([]float64, len(q0))
		for j := range q {
			q[j] = q0[j] + (q1[j]-q0[j])*mj
		}
		times, pos = append(times, float64(k)*0.01), append(pos, q)
	}
	h, err := sim.NewHand(times, pos)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// waitTruth waits (on the simulated arm's own time) until cond holds of its true pose.
func (r *busRig) waitTruth(t *testing.T, what string, timeout time.Duration, cond func(q []float64) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(r.truth()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; arm at %v", timeout, what, r.truth())
		}
		r.waitSimTime(t, 10*time.Millisecond)
	}
}

// TestLeaderBusE2E: a Feetech leader arm (torque off, moved by the scripted hand) drives
// a Dynamixel follower over two simulated buses. `cmd/record` with leader records the
// follower's measured trajectory (sidecar teaching "leader"); the demo learns into a skill
// that runs on the follower; an e-stop during a leader recording stops the follower at
// once: it no longer follows the leader, and nothing more is written to its servos.
func TestLeaderBusE2E(t *testing.T) {
	lrig := startBusRig(t, busarm.Feetech)   // the leader: the hand guides it once its torque goes off
	frig := startBusRig(t, busarm.Dynamixel) // the follower: its hand never starts (its torque stays on)
	cfg := frig.config(t)
	lc := busConfig(t, lrig.sim.Config(), lrig.path).Arm
	cfg.Leader = &lc
	// Three buses' worth of goroutines (two impersonators, the daemon) on a loaded machine:
	// a reply may be late for reasons that are not the servos'.
	cfg.Arm.Timeout, cfg.Leader.Timeout = leaderReplyTimeout, leaderReplyTimeout
	r := startDaemon(t, cfg, Options{})
	d := r.d
	op := user(t, d, broker.OperatorUser)
	cli := dial(t, d.BrokerURL(), op.Username, op.Password)
	w := watch(t, d.BrokerURL(), op.Username, op.Password, "arm1")
	ctx := ctxT(t, 240*time.Second)
	w.waitFor(t, "telemetry", 10*time.Second, func(w *watcher) bool { return w.states > 0 })
	held := frig.truth() // set up: the follower holds here (it sagged while limp before)

	// The daemon set the leader up and switched its torque off: the hand moves it to
	// handQ1. With no recording, the follower does not follow.
	lrig.waitTruth(t, "the leader at handQ1", 30*time.Second, func(q []float64) bool { return maxDiff(q, handQ1) < 0.03 })
	if lrig.sim.HandStarts() != 1 {
		t.Fatalf("leader hand started %d times, want 1 (torque off once, at start)", lrig.sim.HandStarts())
	}
	if q := frig.truth(); maxDiff(q, held) > 0.02 {
		t.Fatalf("follower at %v with no recording, want held at %v", q, held)
	}

	// Record a teleoperation: the follower catches up with the leader (handQ1), then the
	// hand moves the leader on to q2 and the follower follows.
	q2 := []float64{-0.2, -0.3, 0.5, 0.5, -0.1, 0.1}
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "tele1", Action: mqttapi.RecordStart, Demo: "tele1", Leader: true}); err != nil {
		t.Fatal(err)
	}
	if st, err := cli.Status(ctx); err != nil || st.Activity != mqttapi.Recording || st.Demo != "tele1" {
		t.Fatalf("status while recording from the leader: %+v, %v", st, err)
	}
	frig.waitTruth(t, "the follower at the leader's handQ1", 30*time.Second, func(q []float64) bool { return maxDiff(q, handQ1) < 0.06 })
	if err := lrig.arm.Guide(handMove(t, handQ1, q2, 1.5)); err != nil {
		t.Fatal(err)
	}
	w.waitAt(t, q2, 0.06, 30*time.Second)
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "tele1s", Action: mqttapi.RecordStop}); err != nil {
		t.Fatal(err)
	}
	end := w.event(t, "tele1", mqttapi.Succeeded, 20*time.Second)
	csv := filepath.Join(d.Config().DataDir, DemosDir, "tele1.csv")
	checkRecordEvents(t, w, end, csv)
	side, err := demos.ReadSidecar(filepath.Join(d.Config().DataDir, DemosDir, "tele1.json"))
	if err != nil || side.Teaching != demos.TeachingLeader {
		t.Fatalf("sidecar: %+v, %v; want teaching %q", side, err, demos.TeachingLeader)
	}
	if frig.sim.HandStarts() != 0 {
		t.Fatalf("follower's hand started %d times: the follower went limp", frig.sim.HandStarts())
	}
	demo, err := demos.ReadCSV(csv)
	if err != nil {
		t.Fatal(err)
	}
	checkTeleopDemo(t, demo, d, held, q2)
	t.Logf("teleoperated demo: %d samples, %.2f s", demo.Len(), demo.Duration())
	_ = d.call(func(st *state) error {
		p50, p99, n := st.lead.tel.Latency()
		t.Logf("teleoperation through the daemon: %d ticks, leader-read → follower-command p50 %v, p99 %v", n, p50, p99)
		return nil
	})

	// Learn it and run it on the follower to a new goal.
	le, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "tele_reach", Demos: []string{"tele1"}}, nil)
	if err != nil || le.Version != 1 {
		t.Fatalf("learn: %+v, %v", le, err)
	}
	goal := map[string]float64{"shoulder_pan": 0.3, "elbow_flex": 0.7}
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "run1", Skill: "tele_reach", Goal: goal, Duration: 2}, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	// The run ends within goal_tolerance of the goal as the servos measure it; the true
	// pose may differ from that by the encoders' resolution (4096 ticks a turn) and noise.
	tol := d.Config().Executor.GoalTolerance
	q := frig.truth()
	if ev.FinalError > tol || math.Abs(q[0]-0.3) > tol+0.005 || math.Abs(q[2]-0.7) > tol+0.005 {
		t.Fatalf("run: final_error %g (tolerance %g), follower at %v", ev.FinalError, tol, q)
	}
	t.Logf("learned from the teleoperation, run to a new goal: final_error %.4f rad", ev.FinalError)

	// A second leader recording, e-stopped while the leader moves: the follower stops.
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "tele2", Action: mqttapi.RecordStart, Demo: "tele2", Leader: true}); err != nil {
		t.Fatal(err)
	}
	frig.waitTruth(t, "the follower back at the leader's q2", 30*time.Second, func(q []float64) bool { return maxDiff(q, q2) < 0.06 })
	q3 := []float64{0.7, -0.3, 0.5, 0.5, -0.1, 0.1}
	if err := lrig.arm.Guide(handMove(t, q2, q3, 3)); err != nil {
		t.Fatal(err)
	}
	frig.waitTruth(t, "the follower following the leader towards q3", 30*time.Second, func(q []float64) bool { return q[0] > q2[0]+0.15 })
	if _, err := cli.EStop(ctx); err != nil {
		t.Fatal(err)
	}
	atStop := frig.truth()
	ab := w.event(t, "tele2", mqttapi.Aborted, 20*time.Second)
	if !strings.Contains(ab.Reason, "e-stop") || ab.Path == "" {
		t.Fatalf("e-stopped leader recording: %+v", ab)
	}
	// The pty is a pipe: the hold (a sync write, which has no reply) may still be in flight
	// when the recording's end is reported, behind at most the last command teleoperation
	// sent before the e-stop. During a first window at most those two land, during a
	// second none.
	bus0 := frig.sim.Stats()
	lrig.waitTruth(t, "the leader at q3", 30*time.Second, func(q []float64) bool { return maxDiff(q, q3) < 0.03 })
	bus1 := frig.sim.Stats()
	if n := bus1.SyncWrites - bus0.SyncWrites; n > 2 {
		t.Fatalf("%d sync writes to the follower after the e-stop's recording ended, want at most 2 (the last command, the hold)", n)
	}
	frig.waitSimTime(t, 500*time.Millisecond)
	q = frig.truth()
	if n := frig.sim.Stats().SyncWrites - bus1.SyncWrites; n != 0 {
		t.Fatalf("%d more sync writes to the follower while the leader moved on, want 0", n)
	}
	if math.Abs(q[0]-atStop[0]) > 0.1 || q[0] > q3[0]-0.3 {
		t.Fatalf("after the e-stop the follower went on: shoulder_pan %.3f at the e-stop, %.3f now; the leader is at %.3f",
			atStop[0], q[0], q3[0])
	}
	goals, err := frig.sim.Goals()
	if err != nil {
		t.Fatal(err)
	}
	for i := range goals {
		if math.Abs(goals[i]-q[i]) > 0.05 {
			t.Errorf("joint %d: goal register %.3f rad, follower at %.3f: not a hold", i, goals[i], q[i])
		}
	}
	t.Logf("e-stop during a leader recording: follower shoulder_pan %.3f at the e-stop, %.3f once the leader reached %.3f",
		atStop[0], q[0], q3[0])
	if st, err := cli.Status(ctx); err != nil || st.Activity != mqttapi.Stopped || !st.EStop {
		t.Fatalf("status after the e-stop: %+v, %v", st, err)
	}
	if _, err := cli.Reset(ctx); err != nil {
		t.Fatal(err)
	}
}

// checkTeleopDemo checks a teleoperated demo: from where the follower was held (q0)
// through the leader's handQ1 to q2, inside the follower's limits, and no faster than
// its velocity limits over any 0.1 s.
func checkTeleopDemo(t *testing.T, demo *demos.Demo, d *Daemon, q0, q2 []float64) {
	t.Helper()
	js := d.Arm().Joints()
	if maxDiff(demo.Y[0], q0) > 0.03 || maxDiff(demo.Y[demo.Len()-1], q2) > 0.06 {
		t.Fatalf("demo from %v to %v, want from %v to %v", demo.Y[0], demo.Y[demo.Len()-1], q0, q2)
	}
	near := math.Inf(1)
	for k, y := range demo.Y {
		near = min(near, maxDiff(y, handQ1))
		for i, j := range js {
			if y[i] < j.Limits.Min-0.02 || y[i] > j.Limits.Max+0.02 {
				t.Fatalf("sample %d: joint %s at %.3f, limits [%.3f, %.3f]", k, j.Name, y[i], j.Limits.Min, j.Limits.Max)
			}
		}
		for k2 := k + 1; k2 < demo.Len(); k2++ {
			dt := demo.T[k2] - demo.T[k]
			if dt < 0.1 {
				continue
			}
			for i, j := range js {
				if v := math.Abs(demo.Y[k2][i]-y[i]) / dt; v > 1.1*j.Limits.MaxVel {
					t.Fatalf("joint %s moved at %.2f rad/s over %.2f s from t=%.2f, limit %.2f", j.Name, v, dt, demo.T[k], j.Limits.MaxVel)
				}
			}
			break
		}
	}
	if near > 0.08 {
		t.Fatalf("the follower came no closer than %.3f rad to the leader's handQ1", near)
	}
}

// TestLeaderRejectedWithoutLeader: cmd/record with leader on a daemon with no leader
// arm configured is rejected naming the field leader, and nothing is recorded.
func TestLeaderRejectedWithoutLeader(t *testing.T) {
	r := startDaemon(t, testConfig(t), Options{})
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(t, 60*time.Second)
	_, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "t1", Action: mqttapi.RecordStart, Demo: "tele", Leader: true})
	rj := rejection(err)
	if rj == nil || rj.Field != "leader" || !strings.Contains(rj.Reason, "no leader arm is configured") {
		t.Fatalf("record with leader, none configured: %v", err)
	}
	if st, err := cli.Status(ctx); err != nil || st.Activity != mqttapi.Idle {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if m, _ := filepath.Glob(filepath.Join(r.d.Config().DataDir, DemosDir, "tele*")); len(m) != 0 {
		t.Fatalf("files after the rejection: %v", m)
	}
}
