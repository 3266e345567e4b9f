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
	"testing"
	"time"

	fwarm "github.com/praxis-robotics/praxis/firmware-bridge/driver"
	"github.com/praxis-robotics/praxis/firmware-bridge/fwsim"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/sim"
)

func TestSeededSkillOverMQTT(t *testing.T) {
	const baud = 1000000
	b, err := fwsim.Start(fwsim.Config{Baud: baud})
	if errors.Is(err, fwsim.ErrToolchain) {
		t.Skipf("cannot run the firmware: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
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
	seed := true
	cfg := daemon.Config{DataDir: t.TempDir(), Seed: &seed, LogLevel: "warn",
		// Each tick is two exchanges (HEARTBEAT+STATE, COMMAND+STATE): under 1 ms of wire
		// at 1 Mbit/s, but the simulated board may run slower than real time here.
		Executor: daemon.ExecutorConfig{RateHz: 20, GoalTolerance: 0.05, OpenLoop: true},
		Recorder: daemon.RecorderConfig{RateHz: 20},
		MQTT:     daemon.MQTTConfig{Listen: "127.0.0.1:0"},
		Arm: daemon.ArmConfig{Driver: "firmware", Port: b.Port, Baud: baud,
			Firmware: daemon.FirmwareConfig{Joints: joints, Timeout: time.Second, ReplyTimeout: 2 * time.Second}}}
	d, err := daemon.New(cfg, daemon.Options{Stdout: io.Discard,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
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
	defer rcancel()
	cli, err := mqttapi.Dial(rctx, mqttapi.ClientConfig{Broker: d.BrokerURL(), Username: op.Username, Password: op.Password, AnswerTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
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
