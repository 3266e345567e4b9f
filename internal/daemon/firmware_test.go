package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestFirmwareConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`
arm:
  driver: firmware
  port: /dev/ttyACM0
  baud: 115200
  firmware:
    on_timeout: hold
    joints:
      - {name: base, min: -1.5, max: 1.5}
      - {name: elbow, min: 0, max: 2, pulse_min: 2400, pulse_max: 600, adc_min: 900, adc_max: 120, max_vel: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Arm.fwarmConfig()
	if f.FirmwareTimeout != 250*time.Millisecond || !f.Hold || len(f.Joints) != 2 {
		t.Fatalf("driver config %+v", f)
	}
	if j := f.Joints[0]; j.PulseMin != 500 || j.PulseMax != 2500 || j.AdcMin != 0 || j.AdcMax != 1023 || j.MaxVel != 3 {
		t.Fatalf("joint 0 defaults %+v", j)
	}
	if j := f.Joints[1]; j.PulseMin != 2400 || j.PulseMax != 600 || j.AdcMin != 900 || j.AdcMax != 120 || j.MaxVel != 2 {
		t.Fatalf("joint 1 %+v", j)
	}
}

func TestFirmwareConfigErrorsNameTheField(t *testing.T) {
	j := "{name: a, min: -1, max: 1}"
	cases := []struct{ yaml, want string }{
		{"arm: {driver: firmware}", "arm.port"},
		{"arm: {driver: firmware, port: /dev/x}", "arm.firmware.joints"},
		{"arm: {driver: firmware, port: /dev/x, firmware: {joints: [{min: -1, max: 1}]}}", "arm.firmware.joints[0].name"},
		{"arm: {driver: firmware, port: /dev/x, firmware: {joints: [" + j + ", " + j + "]}}", "arm.firmware.joints[1].name"},
		{"arm: {driver: firmware, port: /dev/x, firmware: {joints: [{name: a, min: 1, max: -1}]}}", "arm.firmware.joints[0].min"},
		{"arm: {driver: firmware, port: /dev/x, firmware: {joints: [{name: a, min: -1, max: 1, pulse_min: 900, pulse_max: 900}]}}", "arm.firmware.joints[0].pulse_min"},
		{"arm: {driver: firmware, port: /dev/x, firmware: {joints: [{name: a, min: -1, max: 1, adc_min: 5, adc_max: 5}]}}", "arm.firmware.joints[0].adc_min"},
		{"arm: {driver: firmware, port: /dev/x, firmware: {on_timeout: brake, joints: [" + j + "]}}", "arm.firmware.on_timeout"},
		{"arm: {driver: firmware, port: /dev/x, firmware: {timeout: 70s, joints: [" + j + "]}}", "arm.firmware.timeout"},
		// The reply wait plus an idle heartbeat gap on either side must fit in the timeout.
		{"arm: {driver: firmware, port: /dev/x, firmware: {reply_timeout: 2s, timeout: 1s, joints: [" + j + "]}}",
			"arm.firmware.reply_timeout: 2s plus two host heartbeats (2 × 50ms) must be shorter than arm.firmware.timeout 1s"},
		{"arm: {driver: firmware, port: /dev/x, firmware: {reply_timeout: 150ms, joints: [" + j + "]}}", "arm.firmware.timeout 250ms"},
	}
	for _, c := range cases {
		_, err := ParseConfig(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s", c.yaml, err, c.want)
		}
	}
}

// TestFirmwareReplyTimeoutDefault: the default reply timeout shrinks with a short board
// timeout so that the defaults always pass the reply_timeout rule.
func TestFirmwareReplyTimeoutDefault(t *testing.T) {
	for _, c := range []struct {
		timeout, reply string
		want           time.Duration
	}{
		{"", "", 100 * time.Millisecond},
		{"1s", "", 100 * time.Millisecond},
		{"150ms", "", 50 * time.Millisecond * 2 / 3},
		{"30ms", "", 10 * time.Millisecond * 2 / 3},
		{"1s", "800ms", 800 * time.Millisecond},
	} {
		y := "arm: {driver: firmware, port: /dev/x, firmware: {joints: [{name: a, min: -1, max: 1}]"
		if c.timeout != "" {
			y += ", timeout: " + c.timeout
		}
		if c.reply != "" {
			y += ", reply_timeout: " + c.reply
		}
		cfg, err := ParseConfig(strings.NewReader(y + "}}"))
		if err != nil {
			t.Fatalf("timeout %q: %v", c.timeout, err)
		}
		if got := cfg.Arm.fwarmConfig().ReplyTimeout; got != c.want {
			t.Errorf("timeout %q reply_timeout %q: reply timeout %v, want %v", c.timeout, c.reply, got, c.want)
		}
	}
}
