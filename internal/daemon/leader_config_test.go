package daemon

import (
	"strings"
	"testing"
	"time"
)

// leaderYAML is a one-joint bus arm on /dev/x with a leader section with extra fields.
func leaderYAML(extra string) string {
	return "arm: {driver: dynamixel, port: /dev/x, servos: [{id: 1, joint: a, min: -1, max: 1}]}\n" +
		"leader: {" + extra + "}\n"
}

func TestLeaderConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(leaderYAML("driver: feetech, port: /dev/y, servos: [{id: 7, joint: a, min: -2, max: 2}, {id: 8, joint: b, min: -1, max: 1, offset: 0}]")))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Leader
	if l == nil || l.Driver != "feetech" || l.Port != "/dev/y" || l.Baud != 1_000_000 || l.Series != "sts" ||
		l.Timeout != 5*time.Millisecond || len(l.Servos) != 2 {
		t.Fatalf("leader with defaults: %+v", l)
	}
	if s := l.Servos[0]; s.Ticks != 4096 || s.Offset != 2048 || s.Direction != 1 || s.MaxVel != 3 || s.MaxAcc != 20 {
		t.Fatalf("leader servo defaults: %+v", s)
	}
	if s := l.Servos[1]; s.Offset != 0 {
		t.Fatalf("leader servo explicit offset 0 became %v", s.Offset)
	}
	bc, err := l.BusConfig()
	if err != nil || bc.Port != "/dev/y" || len(bc.Servos) != 2 || bc.Servos[0].ID != 7 {
		t.Fatalf("leader bus config: %+v, %v", bc, err)
	}
	if c, err := ParseConfig(strings.NewReader("")); err != nil || c.Leader != nil {
		t.Fatalf("no leader section: %+v, %v", c.Leader, err)
	}
	// A sim arm may follow a bus leader (its joints are checked at start).
	if _, err := ParseConfig(strings.NewReader("leader: {driver: dynamixel, port: /dev/y, servos: [{id: 1, joint: z, min: -1, max: 1}]}")); err != nil {
		t.Fatal(err)
	}
}

func TestLeaderConfigErrorsNameTheField(t *testing.T) {
	one := ", servos: [{id: 1, joint: a, min: -1, max: 1}]"
	cases := []struct{ yaml, want string }{
		{leaderYAML("port: /dev/y" + one), "leader.driver"},
		{leaderYAML("driver: sim"), "leader.driver"},
		{leaderYAML("driver: ros, port: /dev/y"), "leader.driver"},
		{leaderYAML("driver: feetech" + one), "leader.port"},
		{leaderYAML("driver: feetech, port: /dev/x" + one), "leader.port"},
		{leaderYAML("driver: feetech, port: /dev/y"), "leader.servos"},
		{leaderYAML("driver: feetech, port: /dev/y, servos: [{id: 1, joint: b, min: -1, max: 1}]"), "leader.servos"},
		{leaderYAML("driver: feetech, port: /dev/y, servos: [{id: 1, joint: a, min: 1, max: -1}]"), "leader.servos[0].min"},
		{leaderYAML("driver: feetech, port: /dev/y, servos: [{id: 1, joint: a, min: -1, max: 1}, {id: 1, joint: b, min: -1, max: 1}]"), "leader.servos[1].id"},
		{leaderYAML("driver: feetech, port: /dev/y, series: x" + one), "leader.series"},
		{leaderYAML("driver: feetech, port: /dev/y, baud: 9600" + one), "leader.baud"},
		{leaderYAML("driver: dynamixel, port: /dev/y, timeout: 2s" + one), "leader.timeout"},
		{leaderYAML("driver: dynamixel, port: /dev/y, sim_hand: h.csv" + one), "leader.sim_hand"},
		{leaderYAML("driver: dynamixel, port: /dev/y, prot: 1" + one), "prot"},
	}
	for _, tc := range cases {
		_, err := ParseConfig(strings.NewReader(tc.yaml))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to name %q", tc.yaml, err, tc.want)
		}
		if err != nil && strings.HasPrefix(tc.want, "leader.") && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to start with %q", tc.yaml, err, tc.want)
		}
	}
}

// TestLeaderConfigFirmware: a firmware-bridge board (potentiometers) may lead; its joints
// are checked against a bus arm's servos, and its defaults are the arm's firmware ones.
func TestLeaderConfigFirmware(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(leaderYAML("driver: firmware, port: /dev/y, firmware: {joints: [{name: a, min: -1, max: 1}]}")))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Leader
	if l.Driver != "firmware" || l.Firmware.Timeout != 250*time.Millisecond || l.Firmware.Joints[0].AdcMax != 1023 || l.Firmware.Joints[0].PulseMax != 2500 {
		t.Fatalf("firmware leader defaults: %+v", l.Firmware)
	}
	for _, tc := range []struct{ yaml, want string }{
		{leaderYAML("driver: firmware, port: /dev/y, firmware: {joints: [{name: b, min: -1, max: 1}]}"), "leader.firmware.joints"},
		{leaderYAML("driver: firmware, port: /dev/x, firmware: {joints: [{name: a, min: -1, max: 1}]}"), "leader.port"},
		{leaderYAML("driver: firmware, port: /dev/y"), "leader.firmware.joints"},
		{leaderYAML("driver: firmware, port: /dev/y, firmware: {on_timeout: stop, joints: [{name: a, min: -1, max: 1}]}"), "leader.firmware.on_timeout"},
	} {
		if _, err := ParseConfig(strings.NewReader(tc.yaml)); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to start with %q", tc.yaml, err, tc.want)
		}
	}
}
