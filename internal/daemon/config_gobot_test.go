package daemon

import (
	"os"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/drivers/gobot"
)

func TestConfigHobbyServos(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`
arm:
  driver: pca9685
  pca9685:
    bus: 0
    address: 0x41
    joints:
      - {joint: base, channel: 0, min: -1.5, max: 1.5}
      - {joint: wrist, channel: 3, direction: -1, min: -1, max: 1,
         feedback: {channel: 2, reading0: 0.5, pos0: -1, reading1: 2.5, pos1: 1}}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Arm.PCA9685
	if *p.Bus != 0 || p.Address != 0x41 || p.FrequencyHz != 50 || len(p.Joints) != 2 ||
		p.Joints[0].MinPulse != 500 || p.Joints[1].Feedback.Address != 0x48 || p.Joints[1].Feedback.Pos1 != 1 {
		t.Fatalf("pca9685 section %+v", p)
	}
	c, err = ParseConfig(strings.NewReader(`
arm:
  driver: firmata
  port: /dev/ttyACM0
  firmata: {joints: [{joint: a, channel: 9, min: -1, max: 1}]}
`))
	if err != nil || c.Arm.Baud != 57600 || c.Arm.Firmata.Baud != 57600 || c.Arm.Firmata.Joints[0].MaxPulse != 2400 {
		t.Fatalf("firmata section %+v, %v", c.Arm.Firmata, err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"arm: {driver: pca9685}", "arm.pca9685.joints: at least one"},
		{"arm: {driver: pca9685, pca9685: {joints: [{joint: a, channel: 16, min: -1, max: 1}]}}", "arm.pca9685.joints[0].channel: 16 is outside 0..15"},
		{"arm: {driver: pca9685, pca9685: {frequency_hz: 5, joints: [{joint: a, min: -1, max: 1}]}}", "arm.pca9685.frequency_hz"},
		{"arm: {driver: firmata, firmata: {joints: [{joint: a, channel: 9, min: -1, max: 1}]}}", "arm.port"},
		{"arm: {driver: firmata, port: /dev/x, firmata: {joints: [{joint: a, channel: 20, min: -1, max: 1}]}}", "arm.firmata.joints[0].channel: pin 20"},
		{"arm: {driver: firmata, port: /dev/x, firmata: {joints: [{joint: a, channel: 9, min: -1, max: 1, feedback: {channel: 17, reading1: 1, pos1: 1}}]}}", "analog channel 17"},
		{"arm: {driver: pca9685, pca9685: {joints: [{joint: a, min: -1, max: 1, chanel: 2}]}}", "chanel"},
	} {
		_, err := ParseConfig(strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
	_, err = ParseConfig(strings.NewReader("arm: {driver: firmata, port: /dev/x, firmata: {joints: [{joint: a, channel: 20, min: -1, max: 1}]}}"))
	if !strings.Contains(err.Error(), gobot.ErrPinRange.Error()) {
		t.Fatalf("pin 20: %v, want the pin-range reason", err)
	}
}

// The hobby-servo examples in docs/hardware.md are valid configurations.
func TestConfigHobbyDocExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/hardware.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## Hobby servos through gobot")
	if !ok {
		t.Fatal("docs/hardware.md lacks the hobby servo section")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, _ := strings.Cut(rest, "```")
	docs := strings.Split(block, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d YAML examples, want 2", len(docs))
	}
	for i, d := range docs {
		c, err := ParseConfig(strings.NewReader(d))
		if err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		if c.Arm.Driver != []string{"pca9685", "firmata"}[i] {
			t.Fatalf("example %d drives %s", i, c.Arm.Driver)
		}
	}
}
