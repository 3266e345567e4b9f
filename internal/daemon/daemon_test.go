package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/skilllib"
)

func TestNewConfigErrorsNameTheField(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"arm: {driver: feetech, port: /dev/x, sim_hand: h.csv, servos: [{id: 1, joint: a, min: -1, max: 1}]}", "arm.sim_hand"},
		{"executor: {goal_tolerance: 2}", "executor.goal_tolerance"},
		{"executor: {goal_tolerance: -0.1}", "executor.goal_tolerance"},
	}
	for _, tc := range cases {
		_, err := ParseConfig(strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to name %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := New(Config{RobotID: "a/b"}, Options{}); err == nil || !strings.Contains(err.Error(), "robot_id") {
		t.Errorf("New with a bad robot id: %v", err)
	}
	c, err := ParseConfig(strings.NewReader(""))
	if err != nil || c.Executor.GoalTolerance != 0.01 || c.Arm.SimHand != "" {
		t.Fatalf("defaults: %+v, %v", c.Executor, err)
	}
}

// TestRunErrors: Run fails, naming the field, on what only Run can find out.
func TestRunErrors(t *testing.T) {
	f := false
	cases := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"bus driver", func(c *Config) {
			c.Arm = ArmConfig{Driver: "feetech", Port: "/dev/null", Servos: []ServoConfig{{ID: 1, Joint: "a", Min: -1, Max: 1}}}
		}, "arm.port"},
		{"sim hand", func(c *Config) { c.Arm.SimHand = filepath.Join(t.TempDir(), "none.csv") }, "arm.sim_hand"},
		{"password file", func(c *Config) {
			c.MQTT = MQTTConfig{Embedded: &f, Broker: "tcp://127.0.0.1:1", PasswordFile: "/nonexistent/pw"}
		}, "mqtt.password_file"},
		{"listen", func(c *Config) { c.MQTT.Listen = "nohost" }, "mqtt.listen"},
	}
	for _, tc := range cases {
		cfg := testConfig(t)
		tc.cfg(&cfg)
		d, err := New(cfg, Options{})
		if err != nil {
			t.Fatalf("%s: New: %v", tc.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = d.Run(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Run: %v, want it to name %q", tc.name, err, tc.want)
		}
	}
}

// TestSeedOnceAndShutdown: the seeds are installed on the first start only (a deleted
// seed stays deleted); a shutdown during a run aborts it with a reason.
func TestSeedOnceAndShutdown(t *testing.T) {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	r := startDaemon(t, cfg, Options{})
	st, err := skilllib.OpenStore(filepath.Join(cfg.DataDir, SkillsDir))
	if err != nil {
		t.Fatal(err)
	}
	list, _, _ := st.List()
	if len(list) != 3 {
		t.Fatalf("seed skills: %+v", list)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, broker.CredentialsFile)); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if err := st.Delete("wave", 0); err != nil {
		t.Fatal(err)
	}

	r = startDaemon(t, cfg, Options{})
	if r.out.String() != "" {
		t.Errorf("second start printed the credentials again: %q", r.out.String())
	}
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	w := watch(t, r.d.BrokerURL(), op.Username, op.Password, "arm1")
	ctx := ctxT(t, 30*time.Second)
	skills, err := cli.Skills(ctx)
	if err != nil || len(skills) != 2 || skills[0].Name != "pick_place" || skills[1].Name != "reach" {
		t.Fatalf("after deleting wave and restarting: %+v, %v", skills, err)
	}
	if skills[1].Version != 1 || len(skills[1].Joints) != 6 || skills[1].Duration <= 0 {
		t.Fatalf("skill info: %+v", skills[1])
	}
	res := make(chan error, 1)
	go func() {
		_, err := cli.Run(ctx, mqttapi.RunRequest{ID: "s1", Skill: "reach", Duration: 3}, nil)
		res <- err
	}()
	w.event(t, "s1", mqttapi.Started, 10*time.Second)
	r.stop(t)
	e := w.event(t, "s1", mqttapi.Aborted, 10*time.Second)
	if !strings.Contains(e.Reason, "shutting down") {
		t.Fatalf("run at shutdown: %+v", e)
	}
	if err := <-res; !errors.Is(err, mqttapi.ErrAborted) {
		t.Fatalf("client: %v", err)
	}
}
