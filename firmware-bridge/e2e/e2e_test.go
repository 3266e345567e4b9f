// Package e2e runs the Praxis daemon on the firmware arm: the reference firmware under
// simavr, its pins tied to a simulated SO-101, opened by the daemon through arm.driver
// firmware, commanded over MQTT.
package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	fwarm "github.com/praxis-robotics/praxis/firmware-bridge/driver"
	"github.com/praxis-robotics/praxis/firmware-bridge/fwsim"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/sim"
)

// rig is a simulated board with the daemon on it and an operator MQTT client; with a
// leader, a second board is the daemon's leader arm.
type rig struct {
	b      *fwsim.Board
	leader *fwsim.Board
	d      *daemon.Daemon
	cli    *mqttapi.Client
	ctx    context.Context
}

const rigBaud = 1000000

// startBoard runs the firmware under simavr tied to a simulated SO-101 (skips the test
// when the toolchain is missing).
func startBoard(t *testing.T, initial []float64) *fwsim.Board {
	t.Helper()
	b, err := fwsim.Start(fwsim.Config{Baud: rigBaud, Initial: initial})
	if errors.Is(err, fwsim.ErrToolchain) {
		t.Skipf("cannot run the firmware: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// boardArm is the daemon's configuration of a board on port: every SO-101 joint with the
// simulated board's calibration.
func boardArm(t *testing.T, port string) daemon.ArmConfig {
	t.Helper()
	m, err := sim.LoadBuiltin("so101")
	if err != nil {
		t.Fatal(err)
	}
	var joints []daemon.FirmwareJoint
	for _, j := range m.Joints() {
		c := fwarm.Calibration(j.Name, j.Min, j.Max)
		joints = append(joints, daemon.FirmwareJoint{Name: c.Name, Min: c.Min, Max: c.Max,
			PulseMin: c.PulseMin, PulseMax: c.PulseMax, AdcMin: c.AdcMin, AdcMax: c.AdcMax})
	}
	return daemon.ArmConfig{Driver: "firmware", Port: port, Baud: rigBaud,
		Firmware: daemon.FirmwareConfig{Joints: joints, Timeout: time.Second, ReplyTimeout: 2 * time.Second}}
}

func startRig(t *testing.T) *rig { return startRigWith(t, false) }

// startRigWith starts the board, with withLeader a second board as the leader arm, and
// the daemon on them.
func startRigWith(t *testing.T, withLeader bool) *rig {
	t.Helper()
	b := startBoard(t, nil)
	var lb *fwsim.Board
	var leader *daemon.ArmConfig
	if withLeader {
		lb = startBoard(t, nil)
		lc := boardArm(t, lb.Port)
		leader = &lc
	}
	seed := true
	cfg := daemon.Config{DataDir: t.TempDir(), Seed: &seed, LogLevel: "warn",
		// Each tick is two exchanges (HEARTBEAT+STATE, COMMAND+STATE): under 1 ms of wire
		// at 1 Mbit/s, but the simulated board may run slower than real time on a loaded
		// machine, so the rate is low. Open loop: closed loop converges on a quiet machine,
		// but beside two CPU hogs the simulated board runs at a fraction of real time and
		// a seeded run once ended with shoulder_lift commanded to its limit (see
		// docs/firmware-bridge.md, "Not done / limits").
		Executor: daemon.ExecutorConfig{RateHz: 20, GoalTolerance: 0.05, OpenLoop: true},
		Recorder: daemon.RecorderConfig{RateHz: 20},
		MQTT:     daemon.MQTTConfig{Listen: "127.0.0.1:0"},
		Web:      daemon.WebConfig{Listen: "127.0.0.1:0"},
		Arm:      boardArm(t, b.Port), Leader: leader}
	d, err := daemon.New(cfg, daemon.Options{Stdout: io.Discard,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	select {
	case <-d.Ready():
	case err := <-errc:
		t.Fatalf("daemon: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("daemon not ready")
	}
	op, ok := d.Credentials().Get(broker.OperatorUser)
	if !ok {
		t.Fatal("no operator credentials")
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(rcancel)
	cli, err := mqttapi.Dial(rctx, mqttapi.ClientConfig{Broker: d.BrokerURL(), Username: op.Username, Password: op.Password, AnswerTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return &rig{b: b, leader: lb, d: d, cli: cli, ctx: rctx}
}

func TestSeededSkillOverMQTT(t *testing.T) {
	r := startRig(t)
	b, cli, rctx := r.b, r.cli, r.ctx
	goal := map[string]float64{"shoulder_pan": 0.4, "elbow_flex": 0.6}
	ev, err := cli.Run(rctx, mqttapi.RunRequest{ID: "fw1", Skill: "reach", Goal: goal, Duration: 3}, nil)
	if err != nil {
		s, _ := b.Wait(rctx, func(*fwsim.Snapshot) bool { return true })
		t.Fatalf("run on the firmware arm: %v; arm at %v; pulses %+v", err, b.Truth(), s.Last)
	}
	q := b.Truth()
	t.Logf("run: %+v; simulated arm at %v", ev, q)
	if ev.Type != mqttapi.Succeeded || math.Abs(q[0]-0.4) > 0.06 || math.Abs(q[2]-0.6) > 0.06 {
		t.Fatalf("run ended %s with the arm at %v, want shoulder_pan 0.4, elbow_flex 0.6", ev.Type, q)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// TestRecordLearnRun: a kinesthetic recording on the firmware arm (servos detached, the
// simulator's scripted hand moves the arm, the pots record it), a skill learned from it,
// and a run of that skill to a new goal.
func TestRecordLearnRun(t *testing.T) {
	r := startRig(t)
	b, cli, ctx := r.b, r.cli, r.ctx
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1", Action: mqttapi.RecordStart, Demo: "taught"}); err != nil {
		t.Fatal(err)
	}
	// The limp arm has sagged for as long as the machine took to get here (under gravity,
	// toward a limit): keep the taught pose inside the limits, or the hand could not reach it.
	_, q1 := guide(t, r, b, 0.2, 3)
	rec, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1s", Action: mqttapi.RecordStop})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recording stop: %+v", rec)
	// The recorder finishes the file after the stop is accepted: wait until it is idle.
	waitNotRecording(t, r)
	if err := b.Guide(nil); err != nil {
		t.Fatal(err)
	}
	le, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "taught", Demos: []string{"taught"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("learned: %+v", le)
	goal := map[string]float64{"shoulder_pan": q1[0] - 0.8}
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "run1", Skill: "taught", Goal: goal}, nil)
	if err != nil {
		t.Fatalf("run: %v; arm at %v", err, b.Truth())
	}
	q := b.Truth()
	t.Logf("run: %+v; arm at %v", ev, q)
	if math.Abs(q[0]-goal["shoulder_pan"]) > 0.06 || math.Abs(q[1]-q1[1]) > 0.06 || math.Abs(q[3]-q1[3]) > 0.06 {
		t.Fatalf("arm ended at %v, want shoulder_pan %.3f and the taught pose %v elsewhere", q, goal["shoulder_pan"], q1)
	}
}

// TestLeaderBoard teleoperates: a second board is the daemon's leader (leader.driver
// firmware: its servos detached, its potentiometers read), a scripted hand moves it, and
// the recording (cmd/record with leader) drives the first board's arm after it: the demo
// holds the follower's measured trajectory, ending at the leader's pose.
func TestLeaderBoard(t *testing.T) {
	r := startRigWith(t, true)
	b, lb, cli, ctx := r.b, r.leader, r.cli, r.ctx
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "tele", Action: mqttapi.RecordStart, Demo: "teleop", Leader: true}); err != nil {
		t.Fatal(err)
	}
	q0, q1 := guide(t, r, lb, 0, 4)
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "teles", Action: mqttapi.RecordStop}); err != nil {
		t.Fatal(err)
	}
	waitNotRecording(t, r)
	demo, err := demos.ReadCSV(filepath.Join(r.d.Config().DataDir, daemon.DemosDir, "teleop.csv"))
	if err != nil {
		t.Fatal(err)
	}
	last := demo.Y[demo.Len()-1]
	follower := b.Truth()
	t.Logf("leader from %v to %v; demo of %d samples ends at %v; follower at %v", q0, q1, demo.Len(), last, follower)
	// The follower reads its pots (10 bits over each joint's range) and tracks at the
	// daemon's goal tolerance (0.05 rad) plus a pot count.
	const tol = 0.06
	for j := range 4 {
		if math.Abs(last[j]-q1[j]) > tol || math.Abs(follower[j]-q1[j]) > tol {
			t.Errorf("joint %d: demo ends at %.3f, follower at %.3f, leader held at %.3f (tolerance %.2f)", j, last[j], follower[j], q1[j], tol)
		}
	}
	if d := math.Abs(demo.Y[0][0] - q1[0]); d < 0.2 {
		t.Errorf("demo starts at shoulder_pan %.3f, only %.3f from the end: the follower did not follow a motion", demo.Y[0][0], d)
	}
}

// guide moves board b's arm from where it is to a pose 0.4, 0.3, -0.3 and 0.2 rad away on
// its first four joints (kept 0.1 rad inside the limits) with a scripted hand: still for
// delay s, then a 2 s minimum-jerk stroke, held; it returns once total s of the board's
// simulated time have passed, with the start and end poses.
func guide(t *testing.T, r *rig, b *fwsim.Board, delay, total float64) (q0, q1 []float64) {
	t.Helper()
	q0 = b.Truth()
	q1 = append([]float64(nil), q0...)
	js := r.d.Arm().Joints()
	for j, d := range []float64{0.4, 0.3, -0.3, 0.2, 0, 0} {
		l := js[j].Limits
		q1[j] = min(max(q1[j]+d, l.Min+0.1), l.Max-0.1)
	}
	times, pos := []float64{0}, [][]float64{q0}
	for k := 0; k <= 40; k++ {
		s := float64(k) / 40
		mj := s * s * s * (10 - 15*s + 6*s*s)
		q := make([]float64, len(q0))
		for j := range q {
			q[j] = q0[j] + (q1[j]-q0[j])*mj
		}
		if delay == 0 && k == 0 {
			continue // the stroke starts at once, from q0
		}
		times = append(times, delay+2*s)
		pos = append(pos, q)
	}
	h, err := sim.NewHand(times, pos)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Guide(h); err != nil {
		t.Fatal(err)
	}
	start := b.Now()
	if _, err := b.Wait(r.ctx, func(s *fwsim.Snapshot) bool { return s.Now > start+uint64(total*fwsim.CPUHz) }); err != nil {
		t.Fatal(err)
	}
	return q0, q1
}

// waitNotRecording polls the daemon's status until it no longer records (the recorder
// finishes the file after the stop is accepted), pacing on the arm board's simulated time.
func waitNotRecording(t *testing.T, r *rig) {
	t.Helper()
	for {
		st, err := r.cli.Status(r.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Activity != mqttapi.Recording {
			return
		}
		now := r.b.Now()
		if _, err := r.b.Wait(r.ctx, func(s *fwsim.Snapshot) bool { return s.Now > now+fwsim.CPUHz/100 }); err != nil {
			t.Fatal(err)
		}
	}
}
