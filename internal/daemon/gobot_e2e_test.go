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
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "f1", Skill: "swing", Goal: map[string]float64{"base": 0.5}}, nil)
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
	n := len(board.Transcript())
	r.stop(t)
	board.WaitMessages(t, n+2)
	for _, pin := range []int{9, 10} {
		if _, attached := board.Pulse(pin); attached {
			t.Errorf("pin %d still drives its servo after the daemon stopped", pin)
		}
	}
}
