package gobot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// firmataPeer impersonates an Arduino Uno running StandardFirmata 2.5 on the device end of
// a pseudo-terminal: it answers the queries as StandardFirmata.ino does (REPORT_VERSION,
// REPORT_FIRMWARE, CAPABILITY_RESPONSE, ANALOG_MAPPING_RESPONSE, the digital port values
// on REPORT_DIGITAL, an analog value at once on REPORT_ANALOG), models SERVO_CONFIG,
// SET_PIN_MODE and Servo.write on analog messages, and fails the test on any byte
// StandardFirmata would not accept.
type firmataPeer struct {
	t  *testing.T
	m  *os.File
	mu sync.Mutex
	// board state
	mode     [20]byte
	attached [20]bool
	minUs    [20]int
	maxUs    [20]int
	us       [20]int // pulse written per pin, µs
	report   [6]bool
	analog   [6]int
	log      []string      // every message from the host, hex
	writes   chan string   // "pin=us" per analog write to a servo
	msg      chan struct{} // a token per message logged
	done     chan struct{}
}

const (
	modeInput, modeOutput, modeAnalog, modePWM, modeServo, modeI2C, modePullup = 0, 1, 2, 3, 4, 6, 0x0B
)

func unoDigital(p int) bool { return p >= 2 && p <= 19 }
func unoAnalog(p int) bool  { return p >= 14 && p <= 19 }
func unoPWM(p int) bool {
	return p == 3 || p == 5 || p == 6 || p == 9 || p == 10 || p == 11
}

func newFirmataPeer(t *testing.T) (*firmataPeer, string) {
	m, slave, err := pty.Open("")
	if err != nil {
		t.Fatal(err)
	}
	// Hold the slave open: a pty master reads EIO while no slave is open, and the driver
	// opens (and at Close closes) its own.
	hold, err := os.OpenFile(slave, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &firmataPeer{t: t, m: m, writes: make(chan string, 64), done: make(chan struct{}), msg: make(chan struct{}, 1024)}
	p.reset()
	p.analog[0] = 500
	go p.run()
	t.Cleanup(func() { hold.Close(); m.Close(); <-p.done })
	return p, slave
}

// reset is StandardFirmata's systemResetCallback: analog pins analog, others output,
// servos detached, no analog reports.
func (p *firmataPeer) reset() {
	for pin := range 20 {
		p.mode[pin] = modeOutput
		if unoAnalog(pin) {
			p.mode[pin] = modeAnalog
		}
		p.attached[pin] = false
	}
	p.report = [6]bool{}
}

func (p *firmataPeer) send(b ...byte) {
	if _, err := p.m.Write(b); err != nil {
		p.t.Errorf("peer: write: %v", err)
	}
}

func (p *firmataPeer) sendAnalog(ch, v int) { p.send(0xE0|byte(ch), byte(v&0x7F), byte(v>>7&0x7F)) }

// setAnalog changes A<ch>'s reading and reports it, as the board does at its next
// sampling interval when reporting is on.
func (p *firmataPeer) setAnalog(ch, v int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.analog[ch] = v
	if p.report[ch] {
		p.sendAnalog(ch, v)
	}
}

// waitMessages blocks until the host has sent n messages in all.
func (p *firmataPeer) waitMessages(t *testing.T, n int) {
	t.Helper()
	for len(p.transcript()) < n {
		select {
		case <-p.msg:
		case <-time.After(10 * time.Second):
			t.Fatalf("host sent %q, want %d messages", p.transcript(), n)
		}
	}
}

func (p *firmataPeer) transcript() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func (p *firmataPeer) run() {
	defer close(p.done)
	r := bufio.NewReader(p.m)
	next := func() (byte, bool) {
		b, err := r.ReadByte()
		return b, err == nil // EIO once the host closes its end
	}
	data := func(n int) ([]byte, bool) {
		buf := make([]byte, n)
		for i := range buf {
			b, ok := next()
			if !ok {
				return nil, false
			}
			if b&0x80 != 0 {
				p.t.Errorf("peer: command byte 0x%02X inside a message", b)
			}
			buf[i] = b
		}
		return buf, true
	}
	for {
		cmd, ok := next()
		if !ok {
			return
		}
		var msg []byte
		switch {
		case cmd == 0xFF, cmd == 0xF9:
			msg = []byte{cmd}
		case cmd&0xF0 == 0xC0, cmd&0xF0 == 0xD0: // REPORT_ANALOG, REPORT_DIGITAL: one byte
			d, ok := data(1)
			if !ok {
				return
			}
			msg = append([]byte{cmd}, d...)
		case cmd == 0xF4, cmd&0xF0 == 0xE0, cmd&0xF0 == 0x90:
			d, ok := data(2)
			if !ok {
				return
			}
			msg = append([]byte{cmd}, d...)
		case cmd == 0xF0:
			msg = []byte{cmd}
			for {
				b, ok := next()
				if !ok {
					p.t.Errorf("peer: sysex %X cut short", msg)
					return
				}
				msg = append(msg, b)
				if b == 0xF7 {
					break
				}
				if b&0x80 != 0 {
					p.t.Errorf("peer: command byte 0x%02X inside sysex %X", b, msg)
				}
			}
		default:
			p.t.Errorf("peer: unexpected byte 0x%02X", cmd)
			continue
		}
		p.mu.Lock()
		p.log = append(p.log, fmt.Sprintf("% X", msg))
		p.handle(msg)
		p.mu.Unlock()
		p.msg <- struct{}{}
	}
}

// handle acts on one message as StandardFirmata does; p.mu held.
func (p *firmataPeer) handle(msg []byte) {
	bad := func(format string, a ...any) { p.t.Errorf("peer: % X: %s", msg, fmt.Sprintf(format, a...)) }
	switch cmd := msg[0]; {
	case cmd == 0xFF:
		p.reset()
	case cmd == 0xF9:
		p.send(0xF9, 2, 5)
	case cmd == 0xF4:
		pin, mode := int(msg[1]), msg[2]
		if pin >= 20 {
			bad("no pin %d", pin)
			return
		}
		switch mode {
		case modeServo:
			if !unoDigital(pin) {
				bad("pin %d cannot be a servo", pin)
				return
			}
			if !p.attached[pin] {
				p.attached[pin], p.minUs[pin], p.maxUs[pin], p.us[pin] = true, 544, 2400, 1500
			}
		case modeAnalog:
			if !unoAnalog(pin) {
				bad("pin %d is not analog", pin)
				return
			}
		case modeOutput, modeInput, modePullup:
			if !unoDigital(pin) {
				bad("pin %d is not digital", pin)
				return
			}
			p.attached[pin] = false // detachServo
		default:
			bad("mode %d not expected", mode)
			return
		}
		p.mode[pin] = mode
	case cmd&0xF0 == 0xE0:
		pin, v := int(cmd&0x0F), int(msg[1])|int(msg[2])<<7
		if p.mode[pin] != modeServo || !p.attached[pin] {
			bad("analog write to pin %d in mode %d", pin, p.mode[pin])
			return
		}
		if v < 544 { // Servo.write: degrees
			v = p.minUs[pin] + min(v, 180)*(p.maxUs[pin]-p.minUs[pin])/180
		}
		p.us[pin] = max(p.minUs[pin], min(v, p.maxUs[pin])) // writeMicroseconds clamps
		p.writes <- fmt.Sprintf("%d=%d", pin, p.us[pin])
	case cmd&0xF0 == 0xC0:
		ch := int(cmd & 0x0F)
		if ch >= 6 || msg[1] > 1 {
			bad("report analog A%d %d", ch, msg[1])
			return
		}
		p.report[ch] = msg[1] == 1
		if p.report[ch] {
			p.sendAnalog(ch, p.analog[ch])
		}
	case cmd&0xF0 == 0xD0:
		port := cmd & 0x0F
		if port > 2 || msg[1] > 1 {
			bad("report digital port %d %d", port, msg[1])
			return
		}
		if msg[1] == 1 {
			p.send(0x90|port, 0, 0) // no input pins: value 0, sent at once
		}
	case cmd == 0xF0:
		p.sysex(msg[1], msg[2:len(msg)-1], bad)
	default:
		bad("not a StandardFirmata command")
	}
}

func (p *firmataPeer) sysex(cmd byte, d []byte, bad func(string, ...any)) {
	switch {
	case cmd == 0x79 && len(d) == 0:
		out := []byte{0xF0, 0x79, 2, 5}
		for _, c := range []byte("StandardFirmata.ino") {
			out = append(out, c&0x7F, c>>7)
		}
		p.send(append(out, 0xF7)...)
	case cmd == 0x6B && len(d) == 0:
		out := []byte{0xF0, 0x6C}
		for pin := range 20 {
			if unoDigital(pin) {
				out = append(out, modeInput, 1, modePullup, 1, modeOutput, 1)
			}
			if unoAnalog(pin) {
				out = append(out, modeAnalog, 10)
			}
			if unoPWM(pin) {
				out = append(out, modePWM, 8)
			}
			if unoDigital(pin) {
				out = append(out, modeServo, 14)
			}
			if pin == 18 || pin == 19 {
				out = append(out, modeI2C, 1)
			}
			out = append(out, 127)
		}
		p.send(append(out, 0xF7)...)
	case cmd == 0x69 && len(d) == 0:
		out := []byte{0xF0, 0x6A}
		for pin := range 20 {
			if unoAnalog(pin) {
				out = append(out, byte(pin-14))
			} else {
				out = append(out, 127)
			}
		}
		p.send(append(out, 0xF7)...)
	case cmd == 0x70 && len(d) == 5:
		pin := int(d[0])
		if !unoDigital(pin) {
			bad("servo config on pin %d", pin)
			return
		}
		p.minUs[pin], p.maxUs[pin] = int(d[1])|int(d[2])<<7, int(d[3])|int(d[4])<<7
		p.attached[pin], p.mode[pin], p.us[pin] = true, modeServo, 1500
	default:
		bad("sysex 0x%02X not expected", cmd)
	}
}

func firmataConfig() FirmataConfig {
	return FirmataConfig{Joints: []ServoJoint{
		{Name: "shoulder", Channel: 9, Min: -1.2, Max: 1.2},
		{Name: "elbow", Channel: 10, Min: -1, Max: 1,
			Feedback: &Feedback{Channel: 0, Reading0: 100, Pos0: -1, Reading1: 900, Pos1: 1}},
	}}
}

func (p *firmataPeer) expectWrites(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-p.writes:
			if got != w {
				t.Fatalf("servo write %s, want %s", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no servo write, want %s", w)
		}
	}
}

func TestFirmataAgainstStandardFirmataPeer(t *testing.T) {
	peer, slave := newFirmataPeer(t)
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
	peer.expectWrites(t, "9=1472", "10=1472")
	want := []string{
		"FF", "F9", "F0 79 F7", "F0 6B F7", "F0 69 F7", "D0 01", "D1 01", "F0 79 F7",
		"F0 70 09 20 04 60 12 F7", "F4 09 04",
		"F0 70 0A 20 04 60 12 F7", "F4 0A 04", "F4 0E 02", "C0 01",
		"E9 40 0B", "EA 40 0B",
	}
	if got := peer.transcript(); !reflect.DeepEqual(got, want) {
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
	peer.expectWrites(t, "9=1767", "10=1295")
	if err := a.Command(ctx, joint.Command{Pos: []float64{3, -0.3}}); err != nil {
		t.Fatal(err)
	}
	peer.expectWrites(t, "9=2181")
	if got := peer.transcript(); !reflect.DeepEqual(got[len(want):], []string{"E9 67 0D", "EA 0F 0A", "E9 05 11"}) {
		t.Fatalf("command bytes %q", got[len(want):])
	}
	s := joint.NewState(2)
	if err := a.Read(ctx, &s); err != nil || s.Pos[0] != 1.2 || s.Pos[1] != 0 {
		t.Fatalf("read %v %v: want shoulder commanded 1.2, elbow measured 0", s.Pos, err)
	}
	peer.setAnalog(0, 900)
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
	n := len(peer.transcript())
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	peer.waitMessages(t, n+3)
	if got := peer.transcript()[n:]; !reflect.DeepEqual(got, []string{"F4 09 01", "C0 00", "F4 0A 01"}) {
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
		peer, slave := newFirmataPeer(t)
		c := firmataConfig()
		tc.mod(&c)
		if _, err := OpenFirmata(slave, c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Logf("peer saw %q", peer.transcript())
			t.Fatalf("err %v, want %q", err, tc.want)
		}
	}
}
