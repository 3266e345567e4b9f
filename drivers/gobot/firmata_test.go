package gobot

import (
	"context"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/gobot/firmatatest"
	"github.com/praxis-robotics/praxis/motion/joint"
)

func firmataConfig() FirmataConfig {
	return FirmataConfig{Joints: []ServoJoint{
		{Name: "shoulder", Channel: 9, Min: -1.2, Max: 1.2},
		{Name: "elbow", Channel: 10, Min: -1, Max: 1,
			Feedback: &Feedback{Channel: 0, Reading0: 100, Pos0: -1, Reading1: 900, Pos1: 1}},
	}}
}

func expectWrites(t *testing.T, p *firmatatest.Board, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-p.Writes:
			if got != w {
				t.Fatalf("servo write %s, want %s", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no servo write, want %s", w)
		}
	}
}

func TestFirmataAgainstStandardFirmataPeer(t *testing.T) {
	peer, slave := firmatatest.New(t)
	cfg := firmataConfig()
	sampled := make(chan int, 16)
	cfg.sampled = sampled
	a, err := OpenFirmata(slave, cfg)
	if err != nil {
		t.Fatal(err)
	}
	<-sampled // the first report of A0
	// Home: shoulder at 0 rad and elbow where it is measured (A0 = 500 → 0 rad), both the
	// centre pulse (544+2400)/2 = 1472 µs = 0x5C0 → E9 40 0B, EA 40 0B.
	expectWrites(t, peer, "9=1472", "10=1472")
	want := []string{
		"FF", "F9", "F0 79 F7", "F0 6B F7", "F0 69 F7", "D0 01", "D1 01", "F0 79 F7",
		"F0 70 09 20 04 60 12 F7", "F4 09 04",
		"F0 70 0A 20 04 60 12 F7", "F4 0A 04", "F4 0E 02", "C0 01",
		"E9 40 0B", "EA 40 0B",
	}
	if got := peer.Transcript(); !reflect.DeepEqual(got, want) {
		t.Fatalf("host sent\n%q\nwant\n%q", got, want)
	}
	js := a.Joints()
	if js[0].Feedback != joint.Commanded || js[1].Feedback != joint.Measured {
		t.Fatalf("feedback metadata %v %v", js[0].Feedback, js[1].Feedback)
	}
	ctx := context.Background()
	// 0.5 rad: 1472 + 0.5·1856/π = 1767.4 → 1767; −0.3 rad: 1294.8 → 1295. Then 3 rad on
	// the shoulder is clamped to 1.2 rad: 1472 + 1.2·1856/π = 2180.9 → 2181.
	if err := a.Command(ctx, joint.Command{Pos: []float64{0.5, -0.3}}); err != nil {
		t.Fatal(err)
	}
	expectWrites(t, peer, "9=1767", "10=1295")
	if err := a.Command(ctx, joint.Command{Pos: []float64{3, -0.3}}); err != nil {
		t.Fatal(err)
	}
	expectWrites(t, peer, "9=2181")
	if got := peer.Transcript(); !reflect.DeepEqual(got[len(want):], []string{"E9 67 0D", "EA 0F 0A", "E9 05 11"}) {
		t.Fatalf("command bytes %q", got[len(want):])
	}
	s := joint.NewState(2)
	if err := a.Read(ctx, &s); err != nil || s.Pos[0] != 1.2 || s.Pos[1] != 0 {
		t.Fatalf("read %v %v: want shoulder commanded 1.2, elbow measured 0", s.Pos, err)
	}
	peer.SetAnalog(0, 900)
	if i := <-sampled; i != 1 {
		t.Fatalf("sample for joint %d", i)
	}
	if err := a.Read(ctx, &s); err != nil || math.Abs(s.Pos[1]-1) > 1e-12 {
		t.Fatalf("read %v %v: want elbow 1 rad from A0 = 900", s.Pos, err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := a.Read(ctx, &s); err != nil {
			t.Fatal(err)
		}
		if err := a.Command(ctx, joint.Command{Pos: []float64{3, -0.3}}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Read+Command allocate %v", n)
	}
	n := len(peer.Transcript())
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	peer.WaitMessages(t, n+3)
	if got := peer.Transcript()[n:]; !reflect.DeepEqual(got, []string{"F4 09 01", "C0 00", "F4 0A 01"}) {
		t.Fatalf("close sent %q, want the servos detached and A0 reports off", got)
	}
}

// failPort fails the test when written: a rejected configuration must not reach the board.
type failPort struct{ t *testing.T }

func (f failPort) Read([]byte) (int, error)    { return 0, io.EOF }
func (f failPort) Write(b []byte) (int, error) { f.t.Errorf("wrote % X", b); return len(b), nil }
func (f failPort) Close() error                { return nil }

func TestFirmataRefusesPinsAbove15(t *testing.T) {
	for _, mod := range []func(*FirmataConfig){
		func(c *FirmataConfig) { c.Joints[0].Channel = 16 },
		func(c *FirmataConfig) { c.Joints[1].Feedback.Channel = 16 },
	} {
		c := firmataConfig()
		mod(&c)
		_, err := ConnectFirmata(failPort{t}, c)
		if !errors.Is(err, ErrPinRange) || !strings.Contains(err.Error(), "16") {
			t.Fatalf("err %v, want ErrPinRange naming 16", err)
		}
	}
	c := firmataConfig()
	c.Joints[0].MinPulse = 500
	if _, err := ConnectFirmata(failPort{t}, c); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "joints[0].min_pulse") {
		t.Fatalf("min pulse 500: %v", err)
	}
}

func TestFirmataBoardChecks(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*FirmataConfig)
		want string
	}{
		{func(c *FirmataConfig) { c.Joints[0].Channel = 1 }, `joint "shoulder": pin 1 does not support servo mode`},
		{func(c *FirmataConfig) { c.Joints[1].Feedback.Channel = 7 }, `joint "elbow": the board has no analog input A7`},
	} {
		peer, slave := firmatatest.New(t)
		c := firmataConfig()
		tc.mod(&c)
		if _, err := OpenFirmata(slave, c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Logf("peer saw %q", peer.Transcript())
			t.Fatalf("err %v, want %q", err, tc.want)
		}
	}
}

func TestFirmataTorqueOff(t *testing.T) {
	ctx := context.Background()
	peer, slave := firmatatest.New(t)
	a, err := OpenFirmata(slave, firmataConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetTorque(ctx, false); !errors.Is(err, ErrNoTorqueOff) || !strings.Contains(err.Error(), `"shoulder"`) {
		t.Fatalf("torque off with the shoulder unmeasured: %v", err)
	}
	a.Close()

	peer, slave = firmatatest.New(t)
	cfg := firmataConfig()
	cfg.Joints[0].Feedback = &Feedback{Channel: 1, Reading0: 0, Pos0: -1, Reading1: 1000, Pos1: 1}
	sampled := make(chan int, 16)
	cfg.sampled = sampled
	a, err = OpenFirmata(slave, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	<-sampled
	<-sampled
	expectWrites(t, peer, "9=881", "10=1472") // measured: A1 = 0 → −1 rad, A0 = 500 → 0 rad
	n := len(peer.Transcript())
	if err := a.SetTorque(ctx, false); err != nil {
		t.Fatal(err)
	}
	peer.WaitMessages(t, n+2)
	if got := peer.Transcript()[n:]; !reflect.DeepEqual(got, []string{"F4 09 01", "F4 0A 01"}) {
		t.Fatalf("torque off sent %q, want both servos detached", got)
	}
	peer.SetAnalog(1, 750) // moved by hand to 0.5 rad
	if i := <-sampled; i != 0 {
		t.Fatalf("sample for joint %d", i)
	}
	n = len(peer.Transcript())
	if err := a.SetTorque(ctx, true); err != nil {
		t.Fatal(err)
	}
	peer.WaitMessages(t, n+6)
	want := []string{"F0 70 09 20 04 60 12 F7", "F4 09 04", "F0 70 0A 20 04 60 12 F7", "F4 0A 04", "E9 67 0D", "EA 40 0B"}
	if got := peer.Transcript()[n:]; !reflect.DeepEqual(got, want) {
		t.Fatalf("torque on sent %q, want %q (re-attach, then hold at 0.5 rad = 1767 µs and 0 rad = 1472 µs)", got, want)
	}
}
