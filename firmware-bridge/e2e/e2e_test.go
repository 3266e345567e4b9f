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
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	fwarm "github.com/praxis-robotics/praxis/firmware-bridge/driver"
	"github.com/praxis-robotics/praxis/firmware-bridge/fwsim"
	fwwire "github.com/praxis-robotics/praxis/firmware-bridge/wire"
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

const (
	rigBaud   = 1000000
	rigRateHz = 20
	// goalTol is the daemon's default goal tolerance, rad: a run succeeds when the
	// measured position (the pots) is this close to the goal.
	goalTol = 0.01
)

// potTol is what the pots add between the measured and the true position, rad: a
// reading is up to one count (joint range / 1023) off, plus a count for the arm creeping
// under gravity between the last read and the check.
func potTol(r *rig, j int) float64 {
	l := r.d.Arm().Joints()[j].Limits
	return 2 * (l.Max - l.Min) / 1023
}

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
	// The board's timeout runs in simulated time, which on a loaded machine passes slower
	// than the host's wall clock: 1 s leaves room. The reply timeout keeps the link's rule
	// (reply_timeout + 2 × 50 ms heartbeat < timeout): a lost reply never trips the board.
	return daemon.ArmConfig{Driver: "firmware", Port: port, Baud: rigBaud,
		Firmware: daemon.FirmwareConfig{Joints: joints, Timeout: time.Second, ReplyTimeout: 300 * time.Millisecond}}
}

func startRig(t *testing.T) *rig { return startRigWith(t, rigOpts{}) }

// rigOpts vary the rig.
type rigOpts struct {
	leader       bool          // a second board is the daemon's leader arm
	replyTimeout time.Duration // arm.firmware.reply_timeout; default 300 ms
}

// startRigWith starts the board, with o.leader a second board as the leader arm, and
// the daemon on them.
func startRigWith(t *testing.T, o rigOpts) *rig {
	t.Helper()
	b := startBoard(t, nil)
	var lb *fwsim.Board
	var leader *daemon.ArmConfig
	if o.leader {
		lb = startBoard(t, nil)
		lc := boardArm(t, lb.Port)
		leader = &lc
	}
	seed := true
	cfg := daemon.Config{DataDir: t.TempDir(), Seed: &seed, LogLevel: "warn",
		// Closed loop with the default goal tolerance, as the daemon runs. Each tick is two
		// exchanges (HEARTBEAT+STATE, COMMAND+STATE): about 1 ms of wire at 1 Mbit/s, but
		// beside CPU hogs the host can be starved for tens of ms; at 50 Hz such a machine
		// (load 7 on 2 cores) failed the noisy run with 5 consecutive overruns, so 20 Hz.
		Executor: daemon.ExecutorConfig{RateHz: rigRateHz},
		Recorder: daemon.RecorderConfig{RateHz: 20},
		MQTT:     daemon.MQTTConfig{Listen: "127.0.0.1:0"},
		Web:      daemon.WebConfig{Listen: "127.0.0.1:0"},
		Arm:      boardArm(t, b.Port), Leader: leader}
	if o.replyTimeout > 0 {
		cfg.Arm.Firmware.ReplyTimeout = o.replyTimeout
	}
	// The daemon paces its executor on the board's simulated clock (and stamps the arm's
	// reads with it), as it does on the sim driver's: on a loaded machine the simulation
	// runs slower than real time, and a plan paced by the wall clock would outrun the arm.
	d, err := daemon.New(cfg, daemon.Options{Stdout: io.Discard, Clock: b.Clock(),
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
	w0, c0 := time.Now(), b.Now()
	ev, err := cli.Run(rctx, mqttapi.RunRequest{ID: "fw1", Skill: "reach", Goal: goal, Duration: 3}, nil)
	t.Logf("simulated time ran at %.2f × real time", float64(b.Now()-c0)/fwsim.CPUHz/time.Since(w0).Seconds())
	if err != nil {
		s, _ := b.Wait(rctx, func(*fwsim.Snapshot) bool { return true })
		t.Fatalf("run on the firmware arm: %v; arm at %v; pulses %+v", err, b.Truth(), s.Last)
	}
	q := b.Truth()
	t.Logf("run: %+v; simulated arm at %v", ev, q)
	checkGoal(t, r, ev, q, map[int]float64{0: 0.4, 2: 0.6})
}

// checkGoal asserts a successful run whose final error is within the goal tolerance and
// the simulated arm's true position at the goal (joint index → rad) within the goal
// tolerance plus the pots' error.
func checkGoal(t *testing.T, r *rig, ev mqttapi.Event, q []float64, goal map[int]float64) {
	t.Helper()
	if ev.Type != mqttapi.Succeeded || ev.FinalError > goalTol {
		t.Fatalf("run ended %s (%s) with final error %.4f rad, want succeeded within %v", ev.Type, ev.Reason, ev.FinalError, goalTol)
	}
	for j, g := range goal {
		if tol := goalTol + potTol(r, j); math.Abs(q[j]-g) > tol {
			t.Errorf("joint %d truly at %.4f rad, goal %.4f ± %.4f", j, q[j], g, tol)
		}
	}
}

// TestSeededSkillOverNoisyLink: the daemon runs the seeded skill closed loop over MQTT
// while bytes on the link are corrupted and dropped in both directions (the rates of the
// driver's TestNoisyLink); the failed exchanges are counted on both sides and ridden
// through, and the run ends at the goal.
func TestSeededSkillOverNoisyLink(t *testing.T) {
	r := startRigWith(t, rigOpts{replyTimeout: 100 * time.Millisecond})
	b, cli, rctx := r.b, r.cli, r.ctx
	fa, ok := r.d.Arm().(*fwarm.Arm)
	if !ok {
		t.Fatalf("daemon arm is %T, want *fwarm.Arm", r.d.Arm())
	}
	const corruptIn, dropIn, corruptOut, dropOut = 4999, 7001, 5003, 6007
	b.Corrupt(true, corruptIn)
	b.Corrupt(false, corruptOut)
	b.Drop(true, dropIn)
	b.Drop(false, dropOut)
	goal := map[string]float64{"shoulder_pan": -0.4, "elbow_flex": 0.5}
	ev, err := cli.Run(rctx, mqttapi.RunRequest{ID: "noisy1", Skill: "reach", Goal: goal, Duration: 3}, nil)
	b.Corrupt(true, 0)
	b.Corrupt(false, 0)
	b.Drop(true, 0)
	b.Drop(false, 0)
	if err != nil {
		t.Fatalf("run over the noisy link: %v; arm at %v; host counters %+v", err, b.Truth(), fa.Link().Counters())
	}
	q := b.Truth()
	c := fa.Link().Counters()
	t.Logf("run: %+v; simulated arm at %v; host counters %+v", ev, q, c)
	checkGoal(t, r, ev, q, map[int]float64{0: -0.4, 2: 0.5})
	if c.CRCErrors+c.Framing == 0 || c.Lost+c.Timeouts == 0 {
		t.Errorf("host counted %d CRC and %d framing errors, %d lost frames and %d timeouts; want corruption and drops counted",
			c.CRCErrors, c.Framing, c.Lost, c.Timeouts)
	}
	if c.BoardTimeouts != 0 {
		t.Errorf("%d board heartbeat timeouts: one lost frame must never trip the board", c.BoardTimeouts)
	}
	// Bytes in flight when the noise stopped may still be damaged: the link's own
	// heartbeats carry on; a few tries at the board's counters.
	var dev fwwire.LinkStats
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(rctx, 2*time.Second)
		dev, err = fa.Link().DeviceStats(ctx)
		cancel()
		if err == nil || i == 5 {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("device counters %+v", dev)
	if dev.CRCErrors+dev.Framing == 0 || dev.Lost == 0 {
		t.Errorf("device counted %d CRC and %d framing errors and %d lost frames; want corruption and drops counted", dev.CRCErrors, dev.Framing, dev.Lost)
	}
}

// TestBoardTimeoutFailsRunUntilReset: the link goes dead (every byte into the MCU
// dropped) longer than the board's 1 s heartbeat timeout, so the board detaches the
// servos. Once the link is back the daemon's link reports the board timeout once
// (BoardTimeouts = 1) and does not re-enable the servos by itself: the next run fails on
// the fault; cmd/reset sets the board up again and a run then succeeds.
func TestBoardTimeoutFailsRunUntilReset(t *testing.T) {
	r := startRig(t)
	b, cli, rctx := r.b, r.cli, r.ctx
	fa, ok := r.d.Arm().(*fwarm.Arm)
	if !ok {
		t.Fatalf("daemon arm is %T, want *fwarm.Arm", r.d.Arm())
	}
	b.Drop(true, 1)
	t0 := b.Now()
	s, err := b.Wait(rctx, func(s *fwsim.Snapshot) bool { return s.Now > t0+fwsim.CPUHz*3/2 })
	if err != nil {
		t.Fatal(err)
	}
	for j := range 6 {
		if s.Now-s.Last[j].Rise < fwsim.CPUHz/40 {
			t.Fatalf("servo %d still pulsing 1.5 s into the outage: the board did not time out", j)
		}
	}
	b.Drop(true, 0)
	// The link's idle heartbeat (or a telemetry read) learns of the timeout.
	for fa.Link().Counters().BoardTimeouts == 0 {
		now := b.Now()
		if _, err := b.Wait(rctx, func(s *fwsim.Snapshot) bool { return s.Now > now+fwsim.CPUHz/100 }); err != nil {
			t.Fatalf("board timeout never reported: %v; counters %+v", err, fa.Link().Counters())
		}
	}
	goal := map[string]float64{"shoulder_pan": 0.3, "elbow_flex": 0.5}
	ev, err := cli.Run(rctx, mqttapi.RunRequest{ID: "after-timeout", Skill: "reach", Goal: goal, Duration: 2}, nil)
	if err == nil || !strings.Contains(err.Error(), "board heartbeat timeout") {
		t.Fatalf("run after the board timed out: %+v, %v; want it failed on the board heartbeat timeout", ev, err)
	}
	// Still limp: no pulse in the 100 ms after the failed run (servo frames are 20 ms).
	now := b.Now()
	s, err = b.Wait(rctx, func(s *fwsim.Snapshot) bool { return s.Now > now+fwsim.CPUHz/10 })
	if err != nil {
		t.Fatal(err)
	}
	for j := range 6 {
		if s.Last[j].Rise > now {
			t.Fatalf("servo %d pulsed again without a reset", j)
		}
	}
	res, err := cli.Reset(rctx)
	if err != nil || !res.Recovered {
		t.Fatalf("reset: %+v, %v; want the board set up again", res, err)
	}
	ev, err = cli.Run(rctx, mqttapi.RunRequest{ID: "after-reset", Skill: "reach", Goal: goal, Duration: 2}, nil)
	if err != nil {
		t.Fatalf("run after the reset: %v", err)
	}
	checkGoal(t, r, ev, b.Truth(), map[int]float64{0: 0.3, 2: 0.5})
	if c := fa.Link().Counters(); c.BoardTimeouts != 1 {
		t.Errorf("BoardTimeouts %d, want 1", c.BoardTimeouts)
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
	checkGoal(t, r, ev, q, map[int]float64{0: goal["shoulder_pan"]})
	// Elsewhere the goal is the demo's end, which the pots read within their error.
	for _, j := range []int{1, 3} {
		if tol := goalTol + 2*potTol(r, j); math.Abs(q[j]-q1[j]) > tol {
			t.Errorf("joint %d at %.4f, want the taught %.4f ± %.4f", j, q[j], q1[j], tol)
		}
	}
}

// TestLeaderBoard teleoperates: a second board is the daemon's leader (leader.driver
// firmware: its servos detached, its potentiometers read), a scripted hand moves it, and
// the recording (cmd/record with leader) drives the first board's arm after it: the demo
// holds the follower's measured trajectory, ending at the leader's pose.
func TestLeaderBoard(t *testing.T) {
	r := startRigWith(t, rigOpts{leader: true})
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
	// The follower reads its pots (10 bits over each joint's range) and follows the
	// leader's pots: within 0.06 rad.
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
