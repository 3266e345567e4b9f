package gobot

import (
	"context"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/joint"
)

func pcaConfig(bus *fakeBus) PCA9685Config {
	return PCA9685Config{Connector: bus, Joints: []ServoJoint{
		{Name: "base", Channel: 0, Min: -1.5, Max: 1.5},
		{Name: "wrist", Channel: 5, Direction: -1, Offset: 0.2, Min: -1, Max: 1},
	}}
}

// The datasheet (7.3.5): prescale = round(25 MHz / (4096 · rate)) − 1; its example
// gives 0x1E for 200 Hz, and servos at 50 Hz need 121.
func TestPreScaleDatasheet(t *testing.T) {
	for hz, want := range map[float64]byte{200: 0x1E, 50: 121, 1526: 3, 24: 253, 60: 101} {
		if got := PreScale(hz); got != want {
			t.Errorf("PreScale(%g) = %d, want %d", hz, got, want)
		}
	}
}

func TestPCA9685RegisterSequence(t *testing.T) {
	bus := newFakeBus(t)
	a, err := OpenPCA9685(pcaConfig(bus))
	if err != nil {
		t.Fatal(err)
	}
	// gobot's start-up (all LEDs off, MODE2 OUTDRV, MODE1 wake with ALLCALL, restart),
	// then SetPWMFreq(50): sleep, PRE_SCALE 121 = 0x79, wake, restart; then ours: MODE1
	// auto-increment, read back PRE_SCALE, and the home pulses. base at 0 rad: 1500 µs =
	// 307 counts of (121+1)/25 MHz = 4.88 µs → OFF 0x0133. wrist at 0 rad, direction -1,
	// offset 0.2: 1500 + 0.2·2000/π = 1627.3 µs → 333 = 0x014D at LED5 = 0x06+4·5 = 0x1A.
	want := []string{
		"W FA 00", "W FB 00", "W FC 00", "W FD 00",
		"W 01 04", "W 00 01", "W 00", "R 00", "W 00 81",
		"W 00", "R 00", "W 00 11", "W FE 79", "W 00 01", "W 00 81",
		"W 00", "R 00", "W 00 21", "W FE", "R FE",
		"W 06 00 00 33 01", "W 1A 00 00 4D 01",
	}
	if got := bus.transcript(); !reflect.DeepEqual(got, want) {
		t.Fatalf("register transactions\n got %q\nwant %q", got, want)
	}
	m := bus.pca[0x40]
	if m.reg[0xFE] != 121 || m.reg[0] != 0x21 {
		t.Fatalf("PRE_SCALE %d MODE1 0x%02x, want 121 and 0x21 (awake, AI, ALLCALL)", m.reg[0xFE], m.reg[0])
	}
	js := a.Joints()
	if js[0].Feedback != joint.Commanded || js[1].Feedback != joint.Commanded || js[1].Limits.Max != 1 {
		t.Fatalf("joints %+v: want commanded feedback", js)
	}

	// π/4 on base: 2000 µs → 409.8 → 410 = 0x19A. Beyond the limit: clamped to 1.5 rad,
	// 2454.9 µs → 503 = 0x1F7. The wrist does not change and is not rewritten.
	ctx := context.Background()
	for _, tc := range []struct {
		q     float64
		write string
		us    float64
	}{{math.Pi / 4, "W 06 00 00 9A 01", 2000}, {5, "W 06 00 00 F7 01", 2454.93}} {
		n := len(bus.transcript())
		if err := a.Command(ctx, joint.Command{Pos: []float64{tc.q, 0}}); err != nil {
			t.Fatal(err)
		}
		got := bus.transcript()[n:]
		if len(got) != 1 || got[0] != tc.write {
			t.Fatalf("command %g rad wrote %q, want %q", tc.q, got, tc.write)
		}
		if p := m.pulseUs(0); math.Abs(p-tc.us) > 4.88/2 {
			t.Fatalf("channel 0 pulse %.1f µs, want %.1f ± half a count", p, tc.us)
		}
	}
	s := joint.NewState(2)
	if err := a.Read(ctx, &s); err != nil || s.Pos[0] != 1.5 || s.Pos[1] != 0 {
		t.Fatalf("read %v, %v: want the commanded (clamped) state [1.5 0]", s.Pos, err)
	}
	for _, bad := range []joint.Command{{Pos: []float64{0}}, {Pos: []float64{math.NaN(), 0}}} {
		n := len(bus.transcript())
		if err := a.Command(ctx, bad); err == nil || len(bus.transcript()) != n {
			t.Fatalf("bad command %v: err %v, wrote %q", bad.Pos, err, bus.transcript()[n:])
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := bus.transcript(); got[len(got)-1] != "W FD 10" {
		t.Fatalf("close ended with %q, want ALL_LED_OFF_H full off (W FD 10)", got[len(got)-1])
	}
	if m.pulseUs(0) != -1 {
		t.Fatal("outputs still pulse after close")
	}
	if err := a.Read(ctx, &s); !errors.Is(err, drivers.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestPCA9685ADCFeedback(t *testing.T) {
	bus := newFakeBus(t)
	ads := &adsModel{}
	ads.volts[1] = 2.0
	bus.ads[0x48] = ads
	cfg := pcaConfig(bus)
	cfg.Joints[1].Feedback = &Feedback{Channel: 1, Reading0: 0.5, Pos0: -1, Reading1: 2.5, Pos1: 1}
	a, err := OpenPCA9685(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if js := a.Joints(); js[0].Feedback != joint.Commanded || js[1].Feedback != joint.Measured {
		t.Fatalf("feedback metadata %v %v", js[0].Feedback, js[1].Feedback)
	}
	// Single-shot AIN1 vs GND, ±4.096 V, 860 SPS, comparator off: OS|MUX=101|PGA=001|MODE|DR=111|COMP_QUE=11.
	bus.mu.Lock()
	first := ads.seen[0]
	bus.mu.Unlock()
	if first != 0xD3E3 {
		t.Fatalf("ADS1115 config 0x%04X, want 0xD3E3", first)
	}
	ctx := context.Background()
	s := joint.NewState(2)
	// 2.0 V → 16000 counts → 2.0 V → 0.5 rad; the wrist starts where it is measured.
	if err := a.Read(ctx, &s); err != nil || math.Abs(s.Pos[1]-0.5) > 1e-9 {
		t.Fatalf("read %v %v, want wrist at 0.5", s.Pos, err)
	}
	if p := bus.pca[0x40].pulseUs(5); math.Abs(p-(1500-(0.5-0.2)*2000/math.Pi)) > 2.5 {
		t.Fatalf("wrist commanded %.1f µs at open, want its measured pose", p)
	}
	// A commanded move does not change what is read back: it is measured.
	if err := a.Command(ctx, joint.Command{Pos: []float64{0, -0.9}}); err != nil {
		t.Fatal(err)
	}
	bus.mu.Lock()
	ads.volts[1] = 1.0 // −0.5 rad
	n := bus.convs
	bus.mu.Unlock()
	bus.waitConversions(n + 2)
	if err := a.Read(ctx, &s); err != nil || math.Abs(s.Pos[1]+0.5) > 1e-9 || s.Pos[0] != 0 {
		t.Fatalf("read %v %v, want [0 -0.5]", s.Pos, err)
	}
	bus.mu.Lock()
	ads.fail = true
	n = bus.convs
	bus.mu.Unlock()
	// Two failed attempts: the first one's error is stored before the second starts.
	bus.waitConversions(n + 2)
	err = a.Read(ctx, &s)
	if !errors.Is(err, drivers.ErrFault) || !strings.Contains(err.Error(), `"wrist"`) {
		t.Fatalf("read with a dead ADC: %v, want a fault naming the joint", err)
	}
}

func TestPCA9685AllocFree(t *testing.T) {
	bus := newFakeBus(t)
	a, err := OpenPCA9685(pcaConfig(bus))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	bus.record = false
	ctx := context.Background()
	s := joint.NewState(2)
	c := joint.NewCommand(2)
	x := 0.0
	n := testing.AllocsPerRun(200, func() {
		x = -x + 0.3
		c.Pos[0], c.Pos[1] = x, -x
		if err := a.Command(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := a.Read(ctx, &s); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("Command+Read allocate %v times per tick", n)
	}
}

func TestPCA9685ConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*PCA9685Config)
		want string
	}{
		{func(c *PCA9685Config) { c.Joints = nil }, "joints: at least one"},
		{func(c *PCA9685Config) { c.Joints[1].Channel = 16 }, "joints[1].channel: 16 is outside 0..15"},
		{func(c *PCA9685Config) { c.Joints[1].Channel = 0 }, "joints[1].channel: 0 is used twice"},
		{func(c *PCA9685Config) { c.Joints[0].Max = 2 }, "joints[0].min: limits [-1.5, 2] rad need pulses"},
		{func(c *PCA9685Config) { c.Joints[0].Direction = 2 }, "joints[0].direction"},
		{func(c *PCA9685Config) { c.FrequencyHz = 2000 }, "frequency_hz: 2000"},
		{func(c *PCA9685Config) { c.FrequencyHz = 500 }, "max_pulse: 2500 µs does not fit"},
		{func(c *PCA9685Config) { c.Address = 0x20 }, "address: 0x20"},
		{func(c *PCA9685Config) { c.Joints[0].Feedback = &Feedback{Channel: 4, Reading1: 1, Pos1: 1} }, "feedback.channel: 4"},
		{func(c *PCA9685Config) { c.Joints[0].Feedback = &Feedback{Reading0: 1, Reading1: 1, Pos1: 1} }, "two distinct calibration points"},
	} {
		bus := newFakeBus(t)
		c := pcaConfig(bus)
		tc.mod(&c)
		_, err := OpenPCA9685(c)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err %v, want %q", err, tc.want)
		}
		if len(bus.transcript()) != 0 {
			t.Errorf("a bad config touched the bus: %q", bus.transcript())
		}
	}
	// No device at the address: the error names bus and address.
	c := pcaConfig(newFakeBus(t))
	c.Address = 0x41
	if _, err := OpenPCA9685(c); err == nil || !strings.Contains(err.Error(), "/dev/i2c-1 address 0x41") {
		t.Fatalf("missing board: %v", err)
	}
}

func TestPCA9685TorqueOff(t *testing.T) {
	bus := newFakeBus(t)
	ctx := context.Background()
	// Without feedback on every joint, torque off is refused and nothing is written.
	a, err := OpenPCA9685(pcaConfig(bus))
	if err != nil {
		t.Fatal(err)
	}
	n := len(bus.transcript())
	if err := a.SetTorque(ctx, false); !errors.Is(err, ErrNoTorqueOff) || !errors.Is(err, drivers.ErrUnsupported) ||
		!strings.Contains(err.Error(), `"base"`) || len(bus.transcript()) != n {
		t.Fatalf("torque off without feedback: %v, wrote %q", err, bus.transcript()[n:])
	}
	a.Close()

	bus = newFakeBus(t)
	ads := &adsModel{volts: [4]float64{1.5, 2.0}}
	bus.ads[0x48] = ads
	cfg := pcaConfig(bus)
	cfg.Joints[0].Feedback = &Feedback{Channel: 0, Reading0: 0.5, Pos0: -1, Reading1: 2.5, Pos1: 1}
	cfg.Joints[1].Feedback = &Feedback{Channel: 1, Reading0: 0.5, Pos0: -1, Reading1: 2.5, Pos1: 1}
	a, err = OpenPCA9685(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	n = len(bus.transcript())
	if err := a.SetTorque(ctx, false); err != nil {
		t.Fatal(err)
	}
	if got := bus.transcript()[n:]; !reflect.DeepEqual(got, []string{"W 06 00 00 00 10", "W 1A 00 00 00 10"}) {
		t.Fatalf("torque off wrote %q, want LEDn_OFF_H full off on channels 0 and 5", got)
	}
	if bus.pca[0x40].pulseUs(0) != -1 || bus.pca[0x40].pulseUs(5) != -1 {
		t.Fatal("channels still pulse with torque off")
	}
	// Moved by hand: base to 2.0 V = 0.5 rad. Torque on holds it there.
	bus.mu.Lock()
	ads.volts[0] = 2.0
	c := bus.convs
	bus.mu.Unlock()
	bus.waitConversions(c + 4) // two sweeps of two channels
	if err := a.SetTorque(ctx, true); err != nil {
		t.Fatal(err)
	}
	if p := bus.pca[0x40].pulseUs(0); math.Abs(p-(1500+0.5*2000/math.Pi)) > 2.5 {
		t.Fatalf("base pulse %.1f µs after torque on, want its measured 0.5 rad", p)
	}
}

// Without a connector the Linux adaptor opens /dev/i2c-<bus>; a missing bus is a clear error.
func TestPCA9685MissingBus(t *testing.T) {
	bus := 97
	if _, err := os.Stat("/dev/i2c-97"); err == nil {
		t.Skip("this machine has /dev/i2c-97")
	}
	c := pcaConfig(nil)
	c.Connector, c.Bus = nil, &bus
	_, err := OpenPCA9685(c)
	if err == nil || !strings.Contains(err.Error(), "/dev/i2c-97 address 0x40") {
		t.Fatalf("err %v, want one naming /dev/i2c-97", err)
	}
	t.Log(err)
}
