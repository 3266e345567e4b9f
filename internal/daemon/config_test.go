package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/x/data")
	c, err := ParseConfig(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.RobotID != "arm1" || c.DataDir != "/x/data/praxis" || c.Arm.Driver != "sim" || c.Arm.Model != "so101" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Executor.RateHz != 500 || c.Recorder.RateHz != 100 || c.MQTT.Listen != "127.0.0.1:1883" ||
		!*c.MQTT.Embedded || !*c.Seed || c.MQTT.StateRateHz != 20 || c.Arm.Timeout != 5*time.Millisecond {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"robot_id: a/b", "robot_id"},
		{"arm: {driver: kuka}", "arm.driver"},
		{"arm: {driver: dynamixel}", "arm.port"},
		{"arm: {driver: feetech, port: /dev/x}", "arm.servos"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: -1, max: 1}, {id: 1, joint: b, min: -1, max: 1}]}", "arm.servos[1].id"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: 1, max: -1}]}", "arm.servos[0].min"},
		{"arm: {driver: feetech, port: /dev/x, servos: [{id: 1, joint: a, min: -1, max: 1, direction: 2}]}", "arm.servos[0].direction"},
		{"executor: {rate_hz: 5000}", "executor.rate_hz"},
		{"recorder: {rate_hz: 900}", "recorder.rate_hz"},
		{"mqtt: {embedded: false}", "mqtt.broker"},
		{"mqtt: {tls_cert: a.pem}", "mqtt.tls_cert"},
		{"log_level: loud", "log_level"},
		{"robto_id: x", "robto_id"},           // typo: unknown field
		{"executor: {rate_hz: fast}", "fast"}, // wrong type
	}
	for _, tc := range cases {
		_, err := ParseConfig(strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to name %q", tc.yaml, err, tc.want)
		}
	}
}

func TestConfigServoDefaults(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("arm: {driver: feetech, port: /dev/x, servos: [{id: 3, joint: a, min: -1, max: 1}]}"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Arm.Servos[0]
	if s.Ticks != 4096 || s.Offset != 2048 || s.Direction != 1 || s.MaxVel != 3 || s.MaxAcc != 20 {
		t.Fatalf("servo defaults: %+v", s)
	}
}
