// Package fwsim runs the reference firmware (firmware-bridge/firmware/avr) under simavr
// through the fwharness program (firmware-bridge/simavr) and ties its pins to Praxis's
// simulator: the servo pulses the firmware emits drive a sim arm, and the arm's joint
// angles feed the ADC. The firmware's UART is a pseudo-terminal (Board.Port) that a driver
// opens like a real board. All times on the pins are simulated CPU cycles at 16 MHz.
//
// It is test infrastructure: Build compiles firmware and harness with make (gcc-avr,
// avr-libc, libsimavr-dev, libelf-dev) and reports ErrToolchain when they are missing.
package fwsim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
)

// CPUHz is the simulated clock, cycles per second.
const CPUHz = 16_000_000

// Joints is the firmware's servo channel count.
const Joints = 6

// Physical mapping of the simulated hobby servos and pots: PulseMinUs drives a joint to
// its lower limit, PulseMaxUs to its upper limit; the pot reads 0 V at the lower limit and
// VRefMv at the upper (AdcMax counts).
const (
	PulseMinUs = 500
	PulseMaxUs = 2500
	VRefMv     = 5000
	AdcMax     = 1023
)

// ErrToolchain: gcc-avr, avr-libc, libsimavr-dev or libelf-dev is missing.
var ErrToolchain = errors.New("fwsim: toolchain missing")

var buildOnce sync.Once
var buildErr error

// Root returns the firmware-bridge directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Build compiles the firmware images and the harness once per process.
func Build() error {
	buildOnce.Do(func() {
		for _, tool := range []string{"make", "avr-gcc", "cc"} {
			if _, err := exec.LookPath(tool); err != nil {
				buildErr = fmt.Errorf("%w: %s not found (apt-get install -y gcc-avr avr-libc simavr libsimavr-dev libelf-dev)", ErrToolchain, tool)
				return
			}
		}
		if _, err := os.Stat("/usr/include/simavr/sim_avr.h"); err != nil {
			buildErr = fmt.Errorf("%w: libsimavr-dev headers not found", ErrToolchain)
			return
		}
		for _, dir := range []string{"firmware/avr", "simavr"} {
			out, err := exec.Command("make", "-s", "-C", filepath.Join(Root(), dir)).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("fwsim: make %s: %w\n%s", dir, err, out)
				return
			}
		}
	})
	return buildErr
}

// Firmware returns the path of the firmware ELF built for baud.
func Firmware(baud int) string {
	return filepath.Join(Root(), "firmware/avr/build", fmt.Sprintf("praxis-fw-%d.elf", baud))
}

// Config configures Start.
type Config struct {
	Baud    int       // 115200 (default) or 1000000
	Model   string    // sim model; default "so101" (6 joints)
	Initial []float64 // initial joint angles, rad; default mid-range
	Fast    bool      // run the MCU as fast as possible instead of in real time
	NoPlant bool      // do not tie the pins to a sim arm (ADC stays at 2.5 V)
}

// Pulse is one measured servo pulse.
type Pulse struct {
	Rise  uint64 // cycle of the rising edge
	Width uint64 // cycles high
}

// Us returns the pulse width in µs.
func (p Pulse) Us() float64 { return float64(p.Width) / (CPUHz / 1e6) }

// Board is a running simulated board.
type Board struct {
	Port string // the pseudo-terminal the firmware's UART is on

	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   chan string // lines for the harness, written by writer()
	wdone chan struct{}

	mu      sync.Mutex
	changed chan struct{}
	now     uint64 // last time mark, cycles
	last    [Joints]Pulse
	hist    [Joints][histLen]Pulse // recent pulses, ring indexed by pulses[j] % histLen
	pulses  [Joints]uint64         // count
	rx, tx  []uint64               // delimiter cycles
	exited  error
	done    chan struct{}

	sim    *sim.Sim
	limits []joint.Limits
	pos    []float64
	adc    [Joints]int
	torque [Joints]bool
	st     joint.State
}

// Start builds (once) and starts a board; Close stops it.
func Start(cfg Config) (*Board, error) {
	if err := Build(); err != nil {
		return nil, err
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.Model == "" {
		cfg.Model = "so101"
	}
	args := []string{"-baud", strconv.Itoa(cfg.Baud)}
	if cfg.Fast {
		args = append(args, "-fast")
	}
	args = append(args, Firmware(cfg.Baud))
	b := &Board{changed: make(chan struct{}), done: make(chan struct{}), out: make(chan string, 1024), wdone: make(chan struct{})}
	for j := range b.adc {
		b.adc[j] = -1
	}
	if !cfg.NoPlant {
		m, err := sim.LoadBuiltin(cfg.Model)
		if err != nil {
			return nil, fmt.Errorf("fwsim: %w", err)
		}
		if m.DOF() != Joints {
			return nil, fmt.Errorf("fwsim: model %s has %d joints, the firmware drives %d", cfg.Model, m.DOF(), Joints)
		}
		init := cfg.Initial
		if init == nil {
			for _, j := range m.Joints() {
				init = append(init, (j.Min+j.Max)/2)
			}
		}
		s, err := sim.New(m, sim.Config{Preset: cfg.Model, Initial: init})
		if err != nil {
			return nil, fmt.Errorf("fwsim: %w", err)
		}
		s.SetTorque(false) // no pulses yet: the hobby servos are limp
		b.sim = s
		for _, j := range m.Joints() {
			b.limits = append(b.limits, joint.Limits{Min: j.Min, Max: j.Max})
		}
		b.pos = make([]float64, Joints)
		b.st = joint.NewState(Joints)
	}
	b.cmd = exec.Command(filepath.Join(Root(), "simavr/build/fwharness"), args...)
	b.cmd.Stderr = os.Stderr
	var err error
	if b.stdin, err = b.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("fwsim: %w", err)
	}
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("fwsim: %w", err)
	}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("fwsim: start harness: %w", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "pty "); ok {
			b.Port = p
			break
		}
	}
	if b.Port == "" {
		b.stdin.Close()
		_ = b.cmd.Process.Kill()
		_ = b.cmd.Wait()
		return nil, errors.New("fwsim: harness did not report its pty")
	}
	go b.read(sc)
	go b.writer()
	return b, nil
}

// read parses harness events until it exits.
func (b *Board) read(sc *bufio.Scanner) {
	defer close(b.done)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n := func(i int) uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return v }
		b.mu.Lock()
		switch f[0] {
		case "t":
			b.now = n(1)
			b.stepPlant()
		case "p":
			if len(f) == 4 {
				j := int(n(1))
				if j < Joints {
					b.last[j] = Pulse{Rise: n(2), Width: n(3)}
					b.hist[j][b.pulses[j]%histLen] = b.last[j]
					b.pulses[j]++
					b.drive(j)
				}
			}
		case "rx":
			b.rx = append(b.rx, n(1))
		case "tx":
			b.tx = append(b.tx, n(1))
		case "exit":
			b.exited = fmt.Errorf("fwsim: simulated core stopped (state %s)", f[1])
		}
		close(b.changed)
		b.changed = make(chan struct{})
		b.mu.Unlock()
	}
	b.mu.Lock()
	if b.exited == nil {
		b.exited = errors.New("fwsim: harness exited")
	}
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// drive turns servo j's latest pulse into a position target for the sim arm.
func (b *Board) drive(j int) {
	if b.sim == nil {
		return
	}
	l := b.limits[j]
	u := (b.last[j].Us() - PulseMinUs) / (PulseMaxUs - PulseMinUs)
	b.pos[j] = l.Min + math.Min(1, math.Max(0, u))*(l.Max-l.Min)
	if !b.torque[j] {
		b.torque[j] = true
		_ = b.sim.SetJointTorque(j, true)
	}
	_ = b.sim.Command(b.pos, nil)
}

// stepPlant advances the arm to the time mark, limps servos whose pulses stopped, and
// sends changed pot voltages.
func (b *Board) stepPlant() {
	if b.sim == nil {
		return
	}
	for j := range Joints {
		if b.torque[j] && b.now-b.last[j].Rise > 25*CPUHz/1000 {
			b.torque[j] = false
			_ = b.sim.SetJointTorque(j, false)
		}
	}
	b.sim.StepTo(time.Duration(b.now) * time.Second / CPUHz)
	b.sim.Read(&b.st)
	var sb strings.Builder
	for j := range Joints {
		l := b.limits[j]
		// counts = u * AdcMax: simavr converts counts = mV * 1024 / VRef (floor).
		u := math.Min(1, math.Max(0, (b.st.Pos[j]-l.Min)/(l.Max-l.Min)))
		mv := int(math.Round((u*AdcMax + 0.5) * VRefMv / 1024))
		if mv != b.adc[j] {
			b.adc[j] = mv
			fmt.Fprintf(&sb, "adc %d %d\n", j, mv)
		}
	}
	if sb.Len() > 0 {
		b.send(sb.String())
	}
}

// send queues s for the harness; it never blocks the event reader (the harness may be
// blocked writing events while its input pipe is full).
func (b *Board) send(s string) {
	select {
	case b.out <- s:
	case <-b.wdone:
	}
}

// writer writes queued lines to the harness until Close.
func (b *Board) writer() {
	defer close(b.wdone)
	for s := range b.out {
		if _, err := io.WriteString(b.stdin, s); err != nil {
			return
		}
		if s == "quit\n" {
			return
		}
	}
}

// Guide starts a scripted hand on the sim arm (nil removes it); the servos must be
// detached for the hand to move the arm freely.
func (b *Board) Guide(h *sim.Hand) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sim == nil {
		return errors.New("fwsim: no plant")
	}
	return b.sim.Guide(h)
}

// Truth returns the sim arm's true joint angles, rad.
func (b *Board) Truth() []float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := make([]float64, Joints)
	if b.sim != nil {
		b.sim.Truth(q, nil)
	}
	return q
}

// SetADC sets the voltage of pot ch, mV (only with NoPlant, else the plant overwrites it).
func (b *Board) SetADC(ch, mv int) { b.send(fmt.Sprintf("adc %d %d\n", ch, mv)) }

// Corrupt flips a bit in every n-th byte into (in) or out of the MCU; 0 stops.
func (b *Board) Corrupt(in bool, n int) { b.send(fmt.Sprintf("corrupt %s %d\n", dir(in), n)) }

// Drop drops every n-th byte into (in) or out of the MCU; 0 stops.
func (b *Board) Drop(in bool, n int) { b.send(fmt.Sprintf("drop %s %d\n", dir(in), n)) }

// Reset resets the MCU (a board reset).
func (b *Board) Reset() { b.send("reset\n") }

func dir(in bool) string {
	if in {
		return "in"
	}
	return "out"
}

// histLen is how many recent pulses per servo a Snapshot keeps.
const histLen = 32

// Snapshot is the harness state at one instant.
type Snapshot struct {
	Now    uint64                 // last time mark, cycles
	Last   [Joints]Pulse          // latest pulse per servo
	Hist   [Joints][histLen]Pulse // recent pulses per servo, see Recent
	Pulses [Joints]uint64         // pulses seen per servo
	Rx, Tx []uint64               // cycles of frame delimiters into / out of the MCU
}

// First returns servo j's earliest remembered pulse that rose after cycle and satisfies
// ok (the last 32 pulses are remembered).
func (s *Snapshot) First(j int, after uint64, ok func(Pulse) bool) (Pulse, bool) {
	n := s.Pulses[j]
	k := uint64(0)
	if n > histLen {
		k = n - histLen
	}
	for ; k < n; k++ {
		p := s.Hist[j][k%histLen]
		if p.Rise > after && ok(p) {
			return p, true
		}
	}
	return Pulse{}, false
}

// Wait blocks until cond holds for a snapshot, the harness exits, or ctx ends.
func (b *Board) Wait(ctx context.Context, cond func(*Snapshot) bool) (*Snapshot, error) {
	for {
		b.mu.Lock()
		s := &Snapshot{Now: b.now, Last: b.last, Hist: b.hist, Pulses: b.pulses, Rx: append([]uint64(nil), b.rx...), Tx: append([]uint64(nil), b.tx...)}
		ch, ex := b.changed, b.exited
		b.mu.Unlock()
		if cond(s) {
			return s, nil
		}
		if ex != nil {
			return s, ex
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s, fmt.Errorf("fwsim: waiting: %w", ctx.Err())
		}
	}
}

// Now returns the last simulated time mark, cycles.
func (b *Board) Now() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now
}

// Close stops the harness and waits for it.
func (b *Board) Close() error {
	b.send("quit\n")
	select {
	case <-b.wdone:
	case <-time.After(5 * time.Second):
	}
	b.stdin.Close()
	err := b.cmd.Wait()
	<-b.done
	if err != nil {
		return fmt.Errorf("fwsim: harness: %w", err)
	}
	return nil
}

// Clock is the board's simulated time as a clock.Sleeper: Now is the last time mark
// (every simulated millisecond) since the MCU started; SleepUntil returns once the
// simulation has reached the deadline, or at once when the harness has exited. A
// daemon or executor paced by it keeps in step with the simulated arm however slowly
// the machine runs the simulation.
type Clock struct{ b *Board }

// Clock returns the board's simulated clock.
func (b *Board) Clock() Clock { return Clock{b} }

// Now returns the simulated time.
func (c Clock) Now() time.Duration {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return cyclesToDuration(c.b.now)
}

// SleepUntil waits until the simulated time reaches deadline.
func (c Clock) SleepUntil(deadline time.Duration) {
	b := c.b
	for {
		b.mu.Lock()
		now, ch, ex := b.now, b.changed, b.exited
		b.mu.Unlock()
		if cyclesToDuration(now) >= deadline || ex != nil {
			return
		}
		<-ch
	}
}

func cyclesToDuration(c uint64) time.Duration {
	return time.Duration(c/(CPUHz/1000000)) * time.Microsecond
}
