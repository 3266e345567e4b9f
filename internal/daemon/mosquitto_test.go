package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

// TestMosquitto runs the core flow against Debian's mosquitto with a password file and
// an ACL: the daemon connects as an external client (mqtt.embedded false) with a
// password file; a seed skill runs, e-stop aborts a run and latches, unauthorised
// commands do nothing.
func TestMosquitto(t *testing.T) {
	const daemonPW, opPW, obsPW = "daemon-pw-123", "operator-pw-123", "observer-pw-123"
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoConfig{
		Users: []mqtttest.User{{Name: "praxis-daemon", Password: daemonPW}, {Name: "operator", Password: opPW}, {Name: "observer", Password: obsPW}},
		ACL: "user praxis-daemon\ntopic readwrite praxis/#\n\nuser operator\ntopic readwrite praxis/#\n\n" +
			"user observer\ntopic read praxis/+/state\ntopic read praxis/+/events\ntopic read praxis/+/status\ntopic read praxis/+/skills\n",
	})
	cfg := testConfig(t)
	tr := true
	f := false
	cfg.Seed = &tr
	cfg.RobotID = "mq1"
	cfg.MQTT = MQTTConfig{Embedded: &f, Broker: m.URL, Username: "praxis-daemon",
		PasswordFile: filepath.Join(t.TempDir(), "pw")}
	if err := os.WriteFile(cfg.MQTT.PasswordFile, []byte(daemonPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startDaemon(t, cfg, Options{})
	d := r.d
	if r.out.String() != "" {
		t.Errorf("external broker: printed %q", r.out.String())
	}
	ctx := ctxT(t, 60*time.Second)
	cli, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: m.URL, Username: "operator", Password: opPW, RobotID: "mq1"})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	w := watch(t, m.URL, "operator", opPW, "mq1")

	skills, err := cli.Skills(ctx)
	if err != nil || len(skills) != 3 {
		t.Fatalf("seed skills: %+v, %v", skills, err)
	}
	ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "m-run1", Skill: "reach", Duration: 1}, nil)
	if err != nil || ev.FinalError > 0.05 {
		t.Fatalf("run: %+v, %v", ev, err)
	}
	t.Logf("reach over mosquitto: final_error %.4f rad", ev.FinalError)

	res := runStarted(ctx, t, cli, mqttapi.RunRequest{ID: "m-run2", Skill: "wave", Duration: 2})
	if _, err := cli.EStop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, mqttapi.ErrAborted) || !strings.Contains(err.Error(), "e-stop") {
		t.Fatalf("run during e-stop: %v", err)
	}
	_, err = cli.Run(ctx, mqttapi.RunRequest{Skill: "reach", Duration: 1}, nil)
	if rj := rejection(err); rj == nil || !strings.Contains(rj.Reason, "e-stop") {
		t.Fatalf("run while e-stopped: %v", err)
	}
	if _, err := cli.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := cli.Status(ctx); err != nil || st.Activity != mqttapi.Idle || st.EStop {
		t.Fatalf("status after reset: %+v, %v", st, err)
	}
	// A malformed skill name for noMotion's checks: reach2 does not exist here, so the
	// rejections are the transport's; the observer's command must not even arrive.
	noMotion(t, d, w, "mq1")
}
