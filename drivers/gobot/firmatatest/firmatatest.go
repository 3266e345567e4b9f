// Package firmatatest impersonates a board running StandardFirmata on a pseudo-terminal,
// for tests of Firmata hosts (drivers/gobot, the daemon).
package firmatatest

import (
	"bufio"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/sim/pty"
)

// Board impersonates an Arduino Uno running StandardFirmata 2.5 on the device end of
// a pseudo-terminal: it answers the queries as StandardFirmata.ino does (REPORT_VERSION,
// REPORT_FIRMWARE, CAPABILITY_RESPONSE, ANALOG_MAPPING_RESPONSE, the digital port values
// on REPORT_DIGITAL, an analog value at once on REPORT_ANALOG), models SERVO_CONFIG,
// SET_PIN_MODE and Servo.write on analog messages, and fails the test on any byte
// StandardFirmata would not accept.
type Board struct {
	t  testing.TB
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
	log      []string // every message from the host, hex
	// Writes carries "pin=us" per analog write to a servo, in order; writes beyond its
	// buffer (4096) are dropped when nobody reads.
	Writes chan string
	msg    chan struct{} // a token per message logged
	done   chan struct{} // closed when the board stops reading
	pots   map[int]pot   // servo pin → its potentiometer
}

// pot is a servo's potentiometer wired to an analog input.
type pot struct {
	ch     int
	counts func(us int) int
}

// Wire connects servo pin's potentiometer to analog input A<ch>: after each pulse written
// to pin, A<ch> reads counts(pulse µs) (an ideal servo that reaches its goal at once) and
// is reported if reporting is on.
func (p *Board) Wire(pin, ch int, counts func(us int) int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pots[pin] = pot{ch, counts}
}

const (
	modeInput, modeOutput, modeAnalog, modePWM, modeServo, modeI2C, modePullup = 0, 1, 2, 3, 4, 6, 0x0B
)

func unoDigital(p int) bool { return p >= 2 && p <= 19 }
func unoAnalog(p int) bool  { return p >= 14 && p <= 19 }
func unoPWM(p int) bool {
	return p == 3 || p == 5 || p == 6 || p == 9 || p == 10 || p == 11
}

// New starts a Board on a new pseudo-terminal and returns it with the slave path for the
// host. A0 reads 500. It stops when the test ends.
func New(t testing.TB) (*Board, string) {
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
	p := &Board{t: t, m: m, Writes: make(chan string, 4096), done: make(chan struct{}), msg: make(chan struct{}, 1024), pots: map[int]pot{}}
	p.reset()
	p.analog[0] = 500
	go p.run()
	t.Cleanup(func() { hold.Close(); m.Close(); <-p.done })
	return p, slave
}

// Pulse returns the pulse (µs) last written to a servo pin, and whether the pin is an
// attached servo.
func (p *Board) Pulse(pin int) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.us[pin], p.attached[pin] && p.mode[pin] == modeServo
}

// reset is StandardFirmata's systemResetCallback: analog pins analog, others output,
// servos detached, no analog reports.
func (p *Board) reset() {
	for pin := range 20 {
		p.mode[pin] = modeOutput
		if unoAnalog(pin) {
			p.mode[pin] = modeAnalog
		}
		p.attached[pin] = false
	}
	p.report = [6]bool{}
}

func (p *Board) send(b ...byte) {
	if _, err := p.m.Write(b); err != nil {
		p.t.Errorf("peer: write: %v", err)
	}
}

func (p *Board) sendAnalog(ch, v int) { p.send(0xE0|byte(ch), byte(v&0x7F), byte(v>>7&0x7F)) }

// setAnalog changes A<ch>'s reading and reports it, as the board does at its next
// sampling interval when reporting is on.
func (p *Board) SetAnalog(ch, v int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.analog[ch] = v
	if p.report[ch] {
		p.sendAnalog(ch, v)
	}
}

// waitMessages blocks until the host has sent n messages in all.
func (p *Board) WaitMessages(t testing.TB, n int) {
	t.Helper()
	for len(p.Transcript()) < n {
		select {
		case <-p.msg:
		case <-time.After(10 * time.Second):
			t.Fatalf("host sent %q, want %d messages", p.Transcript(), n)
		}
	}
}

func (p *Board) Transcript() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func (p *Board) run() {
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
func (p *Board) handle(msg []byte) {
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
		if w, ok := p.pots[pin]; ok {                       // the servo reaches its pulse; its potentiometer follows
			p.analog[w.ch] = w.counts(p.us[pin])
			if p.report[w.ch] {
				p.sendAnalog(w.ch, p.analog[w.ch])
			}
		}
		select {
		case p.Writes <- fmt.Sprintf("%d=%d", pin, p.us[pin]):
		default:
		}
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

func (p *Board) sysex(cmd byte, d []byte, bad func(string, ...any)) {
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
