package daemon

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/drivers/gobot"
	"github.com/praxis-robotics/praxis/drivers/gobot/firmatatest"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/skilllib"
)

// TestFirmataArmE2E: the daemon with arm.driver firmata drives hobby servos on a
// StandardFirmata impersonator over a pseudo-terminal, one joint measured through a
// potentiometer on A0: a run over MQTT to a new goal ends with the servos at the goal's
// pulses and the measured joint there, and stopping the daemon detaches them.
func TestFirmataArmE2E(t *testing.T) {
	board, port := firmatatest.New(t)
	cfg := testConfig(t)
	cfg.Executor.RateHz, cfg.Recorder.RateHz = 50, 50
	// base has a potentiometer on A0 (counts = us − 972: 1472 µs, 0 rad → 500; 1 rad ↔
	// 590.8 counts); lift has no sensor.
	board.Wire(9, 0, func(us int) int { return us - 972 })
	cfg.Arm = ArmConfig{Driver: "firmata", Port: port, Firmata: gobot.FirmataConfig{Joints: []gobot.ServoJoint{
		{Name: "base", Channel: 9, Min: -1, Max: 1,
			Feedback: &gobot.Feedback{Channel: 0, Reading0: 500, Pos0: 0, Reading1: 500 + 1856/math.Pi, Pos1: 1}},
		{Name: "lift", Channel: 10, Direction: -1, Min: -1, Max: 1},
	}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// A skill for these joints: base 0 → 0.6, lift 0 → −0.4 over 2 s (minimum jerk).
	demo := &demos.Demo{Joints: []string{"base", "lift"}}
	for i := range 201 {
		s := float64(i) / 200
		mj := s * s * s * (10 - 15*s + 6*s*s)
		demo.T = append(demo.T, 2*s)
		demo.Y = append(demo.Y, []float64{0.6 * mj, -0.4 * mj})
	}
	sk, err := skilllib.Learn([]*demos.Demo{demo}, skilllib.LearnOptions{Name: "swing",
		Sources: []skilllib.DemoSource{{File: "swing.csv", SHA256: strings.Repeat("ab", 32), Samples: 201}}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := skilllib.OpenStore(filepath.Join(cfg.DataDir, SkillsDir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(sk); err != nil {
		t.Fatal(err)
	}

	r := startDaemon(t, cfg, Options{})
	if js := r.d.Arm().Joints(); js[0].Feedback != joint.Measured || js[1].Feedback != joint.Commanded {
		t.Fatalf("joints %+v: want base measured, lift commanded", js)
	}
	if us, ok := board.Pulse(9); !ok || us != 1472 {
		t.Fatalf("base at start: %d µs (attached %v), want home 0 rad = 1472 µs", us, ok)
	}
	op, _ := r.d.Credentials().Get(broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "f1", Skill: "swing", Duration: 3, Goal: map[string]float64{"base": 0.5}}, nil)
	if err != nil || ev.Type != mqttapi.Succeeded {
		t.Fatalf("run: %+v, %v", ev, err)
	}
	// base 0.5 rad: 1472 + 0.5·1856/π = 1767.4 µs; lift −0.4 rad reversed: 1472 + 0.4·1856/π = 1708.3 µs.
	for pin, want := range map[int]float64{9: 1767.4, 10: 1708.3} {
		if us, _ := board.Pulse(pin); math.Abs(float64(us)-want) > 0.02*1856/math.Pi+1 {
			t.Errorf("pin %d at %d µs after the run, want %.1f within the goal tolerance", pin, us, want)
		}
	}
	s := joint.NewState(2)
	if err := r.d.Arm().Read(ctx, &s); err != nil || math.Abs(s.Pos[0]-0.5) > 0.02 {
		t.Fatalf("base measured at %v (%v), want 0.5 within the goal tolerance", s.Pos, err)
	}
	r.stop(t)
	// Closing sends A0's reports off and both pins to OUTPUT; the hold loop may have
	// written pulses just before. Read the board's messages until both servos are
	// detached: WaitMessages fails the test if the host falls silent first.
	for n := len(board.Transcript()); ; n++ {
		_, a9 := board.Pulse(9)
		_, a10 := board.Pulse(10)
		if !a9 && !a10 {
			break
		}
		board.WaitMessages(t, n+1)
	}
}

// TestFirmataKinestheticE2E: with a potentiometer on every joint the hobby arm is taught
// by hand: recording switches the servos off (detached), a scripted hand turns the
// potentiometers, stopping re-attaches them holding where the hand left them; the demo is
// learned and run to a new goal, measured there.
func TestFirmataKinestheticE2E(t *testing.T) {
	board, port := firmatatest.New(t)
	const k = 1856 / math.Pi                                 // µs (and counts) per rad
	board.Wire(9, 0, func(us int) int { return us - 972 })   // base: 500 + k·q
	board.Wire(10, 1, func(us int) int { return 1972 - us }) // lift, reversed servo: 500 + k·q
	fb := func(ch int) *gobot.Feedback {
		return &gobot.Feedback{Channel: ch, Reading0: 500, Pos0: 0, Reading1: 500 + k, Pos1: 1}
	}
	cfg := testConfig(t)
	cfg.Executor.RateHz, cfg.Recorder.RateHz = 50, 50
	cfg.Arm = ArmConfig{Driver: "firmata", Port: port, Firmata: gobot.FirmataConfig{Joints: []gobot.ServoJoint{
		{Name: "base", Channel: 9, Min: -1, Max: 1, Feedback: fb(0)},
		{Name: "lift", Channel: 10, Direction: -1, Min: -1, Max: 1, Feedback: fb(1)},
	}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r := startDaemon(t, cfg, Options{})
	op, _ := r.d.Credentials().Get(broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	w := watch(t, r.d.BrokerURL(), op.Username, op.Password, "arm1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The runs below last 3 s: the measured joints see their command one report later (a
	// pty and gobot's event loop away), which phase stopping reads as lag; a slower motion
	// keeps that lag small on a loaded machine.

	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1", Action: mqttapi.RecordStart, Demo: "byhand"}); err != nil {
		t.Fatal(err)
	}
	// Torque off: both servos detached (pin mode OUTPUT), the last two messages.
	for n := len(board.Transcript()); ; n++ {
		board.WaitMessages(t, n)
		if _, a9 := board.Pulse(9); !a9 {
			if _, a10 := board.Pulse(10); !a10 {
				break
			}
		}
	}
	// The hand: base 0 → 0.6 rad, lift 0 → −0.3 rad in 1.5 s (minimum jerk), paced at 50 Hz.
	tick := time.NewTicker(20 * time.Millisecond)
	for i := 0; i <= 75; i++ {
		<-tick.C
		s := float64(i) / 75
		mj := s * s * s * (10 - 15*s + 6*s*s)
		board.SetAnalog(0, int(math.Round(500+k*0.6*mj)))
		board.SetAnalog(1, int(math.Round(500-k*0.3*mj)))
	}
	tick.Stop()
	w.waitAt(t, []float64{0.6, -0.3}, 0.01, 10*time.Second)
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1s", Action: mqttapi.RecordStop}); err != nil {
		t.Fatal(err)
	}
	rec := w.event(t, "rec1", mqttapi.Succeeded, 15*time.Second)
	t.Logf("recording: %s", rec.Reason)
	// Torque on holds where the hand left the arm: base 0.6 rad = 1472 + 0.6·k µs.
	if us, attached := board.Pulse(9); !attached || math.Abs(float64(us)-(1472+0.6*k)) > 2 {
		t.Fatalf("base after the recording: %d µs (attached %v), want %.0f", us, attached, 1472+0.6*k)
	}
	le, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "byhand", Demos: []string{"byhand"}}, nil)
	if err != nil || le.Version != 1 {
		t.Fatalf("learn: %+v, %v", le, err)
	}
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "run1", Skill: "byhand", Duration: 3,
		Goal: map[string]float64{"base": -0.4, "lift": 0.2}}, nil)
	if err != nil || ev.Type != mqttapi.Succeeded {
		s := joint.NewState(2)
		r.d.Arm().Read(ctx, &s)
		p9, _ := board.Pulse(9)
		p10, _ := board.Pulse(10)
		t.Fatalf("run: %+v, %v; measured %v, pulses %d %d", ev, err, s.Pos, p9, p10)
	}
	s := joint.NewState(2)
	if err := r.d.Arm().Read(ctx, &s); err != nil || math.Abs(s.Pos[0]+0.4) > 0.02 || math.Abs(s.Pos[1]-0.2) > 0.02 {
		t.Fatalf("measured %v (%v) after the run, want [-0.4 0.2]", s.Pos, err)
	}
}
