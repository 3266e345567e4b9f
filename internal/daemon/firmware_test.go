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
	}
	for _, c := range cases {
		_, err := ParseConfig(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s", c.yaml, err, c.want)
		}
	}
}
