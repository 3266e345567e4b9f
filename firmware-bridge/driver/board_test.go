package fwarm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/firmware-bridge/fwsim"
	fwlink "github.com/praxis-robotics/praxis/firmware-bridge/link"
	fwwire "github.com/praxis-robotics/praxis/firmware-bridge/wire"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
)

// These tests run the compiled firmware under simavr (fwsim), its UART on a pty opened by
// this driver exactly as a real board, its pins tied to a simulated SO-101.

// pulseTolUs is the firmware's pulse accuracy (PROTOCOL.md section 7) plus the driver's
// rounding to whole µs.
const pulseTolUs = 4.5

// cyc converts a duration of simulated time to CPU cycles.
func cyc(d time.Duration) uint64 { return uint64(d) * fwsim.CPUHz / uint64(time.Second) }

// startBoard runs the firmware under simavr, or skips when the AVR toolchain is absent
// (scripts/deps.sh installs it: gcc-avr avr-libc simavr libsimavr-dev libelf-dev).
func startBoard(t *testing.T, cfg fwsim.Config) *fwsim.Board {
	t.Helper()
	b, err := fwsim.Start(cfg)
	if errors.Is(err, fwsim.ErrToolchain) {
		t.Skipf("cannot run the firmware: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func so101Config(t testing.TB) Config {
	m, err := sim.LoadBuiltin("so101")
	if err != nil {
		t.Fatal(err)
	}
	// The simulator's hobby servos sweep the joint range over 500..2500 µs and their pots
	// over the full ADC range (fwsim's physical mapping).
	// Replies take microseconds of simulated time, but on a loaded machine the harness and
	// this process can both be descheduled for a while: wall-clock timeouts are generous,
	// within the link's rule (reply timeout + 2 heartbeats below the firmware timeout).
	c := Config{ReplyTimeout: 500 * time.Millisecond, FirmwareTimeout: time.Second, Heartbeat: 100 * time.Millisecond}
	for _, j := range m.Joints() {
		c.Joints = append(c.Joints, Calibration(j.Name, j.Min, j.Max))
	}
	return c
}

func openArm(t *testing.T, b *fwsim.Board, baud int, cfg Config) *Arm {
	t.Helper()
	a, err := Open(b.Port, baud, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.Setup(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	return a
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// expectUs is the pulse width the calibration gives for q, µs.
func expectUs(j Joint, q float64) float64 {
	return math.Round(j.PulseMin + (q-j.Min)/(j.Max-j.Min)*(j.PulseMax-j.PulseMin))
}

// waitWidths waits until every servo's latest pulse (rising after since) is within
// pulseTolUs of want.
func waitWidths(t *testing.T, ctx context.Context, b *fwsim.Board, since uint64, want []float64) *fwsim.Snapshot {
	t.Helper()
	s, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool {
		for j, w := range want {
			if s.Last[j].Rise <= since || math.Abs(s.Last[j].Us()-w) > pulseTolUs {
				return false
			}
		}
		return true
	})
	if err != nil {
		got := make([]float64, len(want))
		for j := range want {
			got[j] = s.Last[j].Us()
		}
		t.Fatalf("pulses %v µs, want %v ± %v: %v (at cycle %d, last pulses %+v)", got, want, pulseTolUs, err, s.Now, s.Last)
	}
	return s
}

func openPort(t *testing.T, port string, baud int) serial.Port {
	p, err := serial.Open(port, &serial.Mode{BaudRate: baud})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHandshakeAndCaps(t *testing.T) {
	b := startBoard(t, fwsim.Config{})
	a := openArm(t, b, 115200, so101Config(t))
	c := a.Link().Caps()
	want := fwwire.Caps{FwMajor: 1, FwMinor: 0, Joints: 6, FeedbackMask: 0x3F, Flags: fwwire.CapSlew,
		PulseMin: 500, PulseMax: 2500, AdcMax: 1023, TimeoutMs: 1000}
	if c != want {
		t.Fatalf("caps %+v, want %+v", c, want)
	}
	if n := a.Link().Counters().Handshakes; n != 1 {
		t.Fatalf("%d handshakes, want 1", n)
	}
}

// TestCommandsToPulses: joint targets become the pulse widths the calibration says, on
// every pin, at both baud rates; Read follows the simulated arm through the pots.
func TestCommandsToPulses(t *testing.T) {
	for _, baud := range []int{115200, 1000000} {
		t.Run(strconv.Itoa(baud), func(t *testing.T) {
			b := startBoard(t, fwsim.Config{Baud: baud})
			cfg := so101Config(t)
			a := openArm(t, b, baud, cfg)
			ctx := ctxT(t, 30*time.Second)
			targets := [][]float64{
				{0.5, -0.3, 0.2, 0, 0.1, 0.5},
				{-1.0, 0.4, -0.6, 0.8, -1.5, 0.1},
				{10, -10, 0, 0, 0, 0}, // outside the limits: clamped to them
			}
			for _, q := range targets {
				want := make([]float64, 6)
				clamped := make([]float64, 6)
				for j, jc := range cfg.Joints {
					clamped[j] = min(max(q[j], jc.Min), jc.Max)
					want[j] = expectUs(jc, clamped[j])
				}
				now := b.Now()
				if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
					t.Fatal(err)
				}
				waitWidths(t, ctx, b, now, want)
				// Keep commanding until the simulated servos settle, then the pots must
				// read the target within the sim servo's error plus one ADC count.
				s := joint.NewState(6)
				deadline := b.Now() + cyc(1500*time.Millisecond)
				for b.Now() < deadline {
					if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
						t.Fatal(err)
					}
				}
				if err := a.Read(ctx, &s); err != nil {
					t.Fatal(err)
				}
				truth := b.Truth()
				// The arm still creeps toward the target under gravity; the pots lag the
				// arm by up to a round trip plus one ADC sweep (≈ 6 ms).
				for j := range cfg.Joints {
					if d := math.Abs(s.Pos[j] - truth[j]); d > 0.03 {
						t.Errorf("joint %d read %.4f rad, simulated arm at %.4f", j, s.Pos[j], truth[j])
					}
				}
			}
		})
	}
}

// TestADCToPositions: pot voltages map to joint angles through the calibration, within
// one ADC count.
func TestADCToPositions(t *testing.T) {
	b := startBoard(t, fwsim.Config{NoPlant: true})
	cfg := so101Config(t)
	a := openArm(t, b, 115200, cfg)
	ctx := ctxT(t, 20*time.Second)
	mv := []int{0, 1000, 2500, 3333, 4999, 4200}
	for j, v := range mv {
		b.SetADC(j, v)
	}
	s := joint.NewState(6)
	ok := func() bool {
		for j, jc := range cfg.Joints {
			counts := math.Min(1023, float64(v2c(mv[j])))
			want := jc.Min + counts/1023*(jc.Max-jc.Min)
			if math.Abs(s.Pos[j]-want) > 1.01*(jc.Max-jc.Min)/1023 {
				return false
			}
		}
		return true
	}
	// The ADC samples the six pots in turn: poll until a full sweep has seen the new values.
	for range 200 {
		if err := a.Read(ctx, &s); err != nil {
			t.Fatal(err)
		}
		if ok() {
			return
		}
	}
	t.Fatalf("positions %v for pots at %v mV", s.Pos, mv)
}

func v2c(mv int) int { return mv * 1024 / fwsim.VRefMv }

// helperTimeout is the firmware timeout TestHelperHost configures.
const helperTimeout = 500 * time.Millisecond

// TestHelperHost is the host process the timeout tests kill: it opens the arm on
// FWARM_HELPER_PORT and commands a slow sine on every joint until killed.
func TestHelperHost(t *testing.T) {
	port := os.Getenv("FWARM_HELPER_PORT")
	if port == "" {
		t.Skip("helper process for TestHostKilled")
	}
	cfg := so101Config(t)
	cfg.Hold = os.Getenv("FWARM_HELPER_HOLD") == "1"
	// The reply timeout must leave the handshake room on a loaded machine, and with two
	// heartbeats stay below the firmware timeout (fwlink's rule).
	cfg.FirmwareTimeout = helperTimeout
	cfg.Heartbeat, cfg.ReplyTimeout = 50*time.Millisecond, 300*time.Millisecond
	a, err := Open(port, 115200, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A deadline: the handshake says HELLO until the (perhaps still starting) board answers.
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := a.Setup(sctx); err != nil {
		t.Fatal(err)
	}
	fmt.Println("helper: ready")
	q := make([]float64, 6)
	for i := 0; ; i++ {
		for j := range q {
			q[j] = 0.3 * math.Sin(float64(i)/20)
		}
		if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
			fmt.Println("helper:", err)
		}
	}
}

// startHost runs TestHelperHost in a child process and returns it once it commands.
func startHost(t *testing.T, port string, hold bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHost$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FWARM_HELPER_PORT="+port)
	if hold {
		cmd.Env = append(cmd.Env, "FWARM_HELPER_HOLD=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	var said []string
	for sc.Scan() {
		said = append(said, sc.Text())
		if strings.Contains(sc.Text(), "helper: ready") {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd
		}
	}
	t.Fatalf("helper host exited before it was ready: %q", said)
	return nil
}

// TestHostKilled: SIGKILL the host mid-run; the firmware stops the servos within its
// 500 ms timeout (helperTimeout), measured in simulated cycles on the pins; a new host shakes hands and
// the arm resumes on command.
func TestHostKilled(t *testing.T) {
	const timeout = helperTimeout
	b := startBoard(t, fwsim.Config{})
	host := startHost(t, b.Port, false)
	ctx := ctxT(t, 60*time.Second)
	// Let it run: pulses on every joint.
	start := b.Now()
	if _, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool {
		for j := range 6 {
			if s.Last[j].Rise < start+cyc(100*time.Millisecond) {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	host.Wait()
	// Quiet for the timeout + 100 ms of simulated time after the last frame the MCU received.
	s, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool {
		return len(s.Rx) > 0 && s.Now > s.Rx[len(s.Rx)-1]+cyc(timeout+100*time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	lastRx := s.Rx[len(s.Rx)-1]
	var lastFall uint64
	for j := range 6 {
		lastFall = max(lastFall, s.Last[j].Rise+s.Last[j].Width)
	}
	stop := time.Duration(lastFall-lastRx) * time.Second / fwsim.CPUHz
	t.Logf("last frame in at cycle %d, last pulse ended %v later (timeout %v)", lastRx, stop, timeout)
	// The timer ticks every 1 ms and a pulse in progress (≤ 2.5 ms) ends normally; the
	// last frame's decoding takes under 1 ms after its delimiter.
	if stop > timeout+4500*time.Microsecond {
		t.Fatalf("pulses went on %v after the last frame, timeout %v", stop, timeout)
	}
	if stop < timeout-20*time.Millisecond {
		t.Fatalf("pulses stopped %v after the last frame, before the %v timeout", stop, timeout)
	}
	// The simulated servos are limp now; a new host: handshake, then resume on command.
	cfg := so101Config(t)
	a := openArm(t, b, 115200, cfg)
	st := joint.NewState(6)
	if err := a.Read(ctx, &st); err != nil {
		t.Fatal(err)
	}
	q := []float64{0.2, 0.2, 0.2, 0.2, 0.2, 0.2}
	want := make([]float64, 6)
	for j, jc := range cfg.Joints {
		want[j] = expectUs(jc, q[j])
	}
	now := b.Now()
	if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
		t.Fatal(err)
	}
	waitWidths(t, ctx, b, now, want)
	if c := a.Link().Counters(); c.Handshakes != 1 {
		t.Fatalf("new host: %d handshakes, want 1", c.Handshakes)
	}
}

// TestHostKilledHold: with the hold action the pulses go on at the last widths, and the
// next host sees the timeout flag.
func TestHostKilledHold(t *testing.T) {
	b := startBoard(t, fwsim.Config{})
	host := startHost(t, b.Port, true)
	ctx := ctxT(t, 60*time.Second)
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	host.Wait()
	// Quiet for the timeout + 300 ms of simulated time after the last frame in.
	s, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool {
		return len(s.Rx) > 0 && s.Now > s.Rx[len(s.Rx)-1]+cyc(helperTimeout+300*time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	held := s.Last
	for j := range 6 {
		if s.Now-held[j].Rise > cyc(25*time.Millisecond) {
			t.Fatalf("servo %d: last pulse %v before now, want pulses held", j, time.Duration(s.Now-held[j].Rise)*time.Second/fwsim.CPUHz)
		}
	}
	// A new host, before it commands: the board reports the timeout.
	a, err := New(openPort(t, b.Port, 115200), so101Config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Link().Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	var st fwwire.Frame
	if err := a.Link().Poll(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&fwwire.FlagTimedOut == 0 || st.Mask != 0x3F {
		t.Fatalf("STATE flags %#x mask %#x after a hold timeout, want timed out and all joints still driven", st.Flags, st.Mask)
	}
}

// TestBoardReset: the MCU resets mid-run; the link sees FAULT reset or NOT_READY,
// shakes hands again, and the next commands drive the servos at the commanded widths.
func TestBoardReset(t *testing.T) {
	b := startBoard(t, fwsim.Config{})
	cfg := so101Config(t)
	a := openArm(t, b, 115200, cfg)
	ctx := ctxT(t, 30*time.Second)
	q := []float64{0.1, -0.1, 0.1, -0.1, 0.1, 0.3}
	want := make([]float64, 6)
	for j, jc := range cfg.Joints {
		want[j] = expectUs(jc, q[j])
	}
	if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	// Command until the re-handshake has happened and the pulses are back.
	var errs int
	for a.Link().Counters().Handshakes < 2 {
		if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
			errs++
		}
		if ctx.Err() != nil {
			t.Fatal("no new handshake after the reset")
		}
	}
	now := b.Now()
	if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
		t.Fatal(err)
	}
	waitWidths(t, ctx, b, now, want)
	c := a.Link().Counters()
	t.Logf("after reset: %d failed commands, counters %+v", errs, c)
	if c.Resets < 1 {
		t.Fatalf("resets %d, want ≥ 1", c.Resets)
	}
}

// TestNoisyLink: corrupted and dropped bytes in both directions are counted on both
// sides, the failed exchanges surface as errors (never wrong motion), and the link rides
// through: once the noise stops every exchange succeeds again.
func TestNoisyLink(t *testing.T) {
	b := startBoard(t, fwsim.Config{Baud: 1000000})
	cfg := so101Config(t)
	cfg.ReplyTimeout = 300 * time.Millisecond
	a := openArm(t, b, 1000000, cfg)
	ctx := ctxT(t, 60*time.Second)
	const corruptIn, dropIn, corruptOut, dropOut = 997, 1499, 1201, 1601
	b.Corrupt(true, corruptIn)
	b.Corrupt(false, corruptOut)
	b.Drop(true, dropIn)
	b.Drop(false, dropOut)
	q := make([]float64, 6)
	st := joint.NewState(6)
	const rounds = 200
	ok, failed := 0, 0
	for i := range rounds {
		for j := range q {
			q[j] = 0.2 * math.Sin(float64(i)/30)
		}
		err := a.Command(ctx, joint.Command{Pos: q})
		if err == nil {
			err = a.Read(ctx, &st)
		}
		switch {
		case err == nil:
			ok++
		case errors.Is(err, drivers.ErrTimeout) || errors.Is(err, drivers.ErrFault):
			failed++
		default:
			t.Fatalf("exchange %d: %v", i, err)
		}
	}
	b.Corrupt(true, 0)
	b.Corrupt(false, 0)
	b.Drop(true, 0)
	b.Drop(false, 0)
	// Bytes already in flight may still be damaged: give the link a few exchanges.
	for range 5 {
		_ = a.Read(ctx, &st)
	}
	for i := range 50 {
		if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
			t.Fatalf("clean exchange %d after the noise: %v", i, err)
		}
	}
	dev, err := a.Link().DeviceStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := a.Link().Counters()
	t.Logf("noisy: %d ok, %d failed; host %+v; device %+v", ok, failed, c, dev)
	if c.CRCErrors+c.Framing == 0 || c.Lost == 0 {
		t.Errorf("host counted %d CRC, %d framing errors and %d lost frames; want some of each kind", c.CRCErrors, c.Framing, c.Lost)
	}
	if dev.CRCErrors+dev.Framing == 0 || dev.Lost == 0 {
		t.Errorf("device counted %d CRC, %d framing errors and %d lost frames; want some", dev.CRCErrors, dev.Framing, dev.Lost)
	}
	// A round (COMMAND+STATE, HEARTBEAT+STATE) puts 28 bytes in and 68 out; it fails
	// when any of them is hit. Allow twice the expected failures (a lost reply can also
	// cost the next exchange its answer).
	pIn := 1 - 1.0/corruptIn - 1.0/dropIn
	pOut := 1 - 1.0/corruptOut - 1.0/dropOut
	expFail := rounds * (1 - math.Pow(pIn, 28)*math.Pow(pOut, 68))
	if float64(failed) > 3*expFail+10 {
		t.Errorf("%d of %d rounds failed, expected about %.0f", failed, rounds, expFail)
	}
}

// TestTorqueOffIsLimp: SetTorque(false) stops the pulses (the simulated servos go limp
// and the arm sags under gravity, read through the pots); SetTorque(true) holds where it is.
func TestTorqueOffIsLimp(t *testing.T) {
	b := startBoard(t, fwsim.Config{})
	a := openArm(t, b, 115200, so101Config(t))
	ctx := ctxT(t, 30*time.Second)
	if err := drivers.SetTorque(ctx, a, false); err != nil {
		t.Fatal(err)
	}
	now := b.Now()
	s, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool { return s.Now > now+cyc(100*time.Millisecond) })
	if err != nil {
		t.Fatal(err)
	}
	for j := range 6 {
		if s.Last[j].Rise > now+cyc(25*time.Millisecond) {
			t.Fatalf("servo %d pulsed %v after torque off", j, time.Duration(s.Last[j].Rise-now)*time.Second/fwsim.CPUHz)
		}
	}
	if err := a.SetTorque(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool { return s.Last[0].Rise > now+cyc(100*time.Millisecond) }); err != nil {
		t.Fatal(err)
	}
}

// TestBoardTimeoutIsFault: the host stalls (no heartbeats) longer than the board's
// timeout mid-session; the firmware detaches the servos, and the next Read fails once
// with drivers.ErrFault naming the board timeout, counted in BoardTimeouts. Commands then
// fail too, without re-enabling the servos, until SetTorque(true) resumes; Setup (what
// cmd/reset runs) resumes after a second stall.
func TestBoardTimeoutIsFault(t *testing.T) {
	const timeout = 200 * time.Millisecond
	b := startBoard(t, fwsim.Config{Baud: 1000000})
	cfg := so101Config(t)
	cfg.Heartbeat, cfg.FirmwareTimeout = -1, timeout // the host alone keeps the board fed
	a := openArm(t, b, 1000000, cfg)
	ctx := ctxT(t, 60*time.Second)
	q := []float64{0.2, -0.2, 0.2, -0.2, 0.2, 0.2}
	want := make([]float64, 6)
	for j, jc := range cfg.Joints {
		want[j] = expectUs(jc, q[j])
	}
	now := b.Now()
	if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
		t.Fatal(err)
	}
	waitWidths(t, ctx, b, now, want)
	stall := func() {
		t.Helper()
		now := b.Now()
		if _, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool { return s.Now > now+cyc(timeout+100*time.Millisecond) }); err != nil {
			t.Fatal(err)
		}
	}
	stall()
	st := joint.NewState(6)
	err := a.Read(ctx, &st)
	if !errors.Is(err, drivers.ErrFault) || !errors.Is(err, fwlink.ErrBoardTimeout) || !strings.Contains(err.Error(), "200ms timeout") {
		t.Fatalf("read after the host stalled %v: %v, want drivers.ErrFault naming the board's 200ms timeout", timeout+100*time.Millisecond, err)
	}
	if c := a.Link().Counters(); c.BoardTimeouts != 1 {
		t.Fatalf("BoardTimeouts %d, want 1", c.BoardTimeouts)
	}
	// Reported once: reading goes on; commanding fails, and the servos stay detached.
	if err := a.Read(ctx, &st); err != nil {
		t.Fatalf("second read: %v", err)
	}
	now = b.Now()
	if err := a.Command(ctx, joint.Command{Pos: q}); !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("command after the board timeout: %v, want drivers.ErrFault", err)
	}
	s, err := b.Wait(ctx, func(s *fwsim.Snapshot) bool { return s.Now > now+cyc(60*time.Millisecond) })
	if err != nil {
		t.Fatal(err)
	}
	for j := range 6 {
		if s.Last[j].Rise > now {
			t.Fatalf("servo %d pulsed after the board timeout without an explicit re-enable", j)
		}
	}
	if c := a.Link().Counters(); c.BoardTimeouts != 1 {
		t.Fatalf("BoardTimeouts %d after the later calls, want still 1", c.BoardTimeouts)
	}
	// The explicit re-enable resumes at the commanded widths.
	if err := a.SetTorque(ctx, true); err != nil {
		t.Fatal(err)
	}
	q[0] = -0.3
	want[0] = expectUs(cfg.Joints[0], q[0])
	now = b.Now()
	if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
		t.Fatalf("command after SetTorque(true): %v", err)
	}
	waitWidths(t, ctx, b, now, want)
	// A second stall, resumed by Setup (cmd/reset).
	stall()
	if err := a.Command(ctx, joint.Command{Pos: q}); !errors.Is(err, fwlink.ErrBoardTimeout) {
		t.Fatalf("command after the second stall: %v, want the board timeout", err)
	}
	if err := a.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	now = b.Now()
	if err := a.Command(ctx, joint.Command{Pos: q}); err != nil {
		t.Fatalf("command after Setup: %v", err)
	}
	waitWidths(t, ctx, b, now, want)
	if c := a.Link().Counters(); c.BoardTimeouts != 2 {
		t.Fatalf("BoardTimeouts %d, want 2", c.BoardTimeouts)
	}
}

// TestDuplicateFrame: one encoded HEARTBEAT written twice over the pty (as a UART that
// repeats a frame would deliver it) is acted on and answered once; the firmware counts
// the second as a duplicate (GET_STATS Dups = 1).
func TestDuplicateFrame(t *testing.T) {
	b := startBoard(t, fwsim.Config{NoPlant: true})
	p := openPort(t, b.Port, 115200)
	defer p.Close()
	if err := p.SetReadTimeout(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 30*time.Second)
	frames := make(chan fwwire.Frame, 16)
	go func() {
		var d fwwire.Decoder
		var f fwwire.Frame
		buf := make([]byte, 256)
		for ctx.Err() == nil {
			n, err := p.Read(buf)
			for q := buf[:n]; len(q) > 0; {
				k, done, derr := d.Feed(q, &f)
				q = q[k:]
				if done && derr == nil {
					frames <- f
				}
			}
			if err != nil {
				return
			}
		}
	}()
	send := func(f fwwire.Frame, times int) {
		t.Helper()
		raw, err := fwwire.Append(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		for range times {
			if _, err := p.Write(raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	next := func(what string) fwwire.Frame {
		t.Helper()
		for {
			select {
			case f := <-frames:
				if f.Type == fwwire.Fault && f.Code == fwwire.Reset || f.Type == fwwire.HelloAck {
					continue // said once at start; late answers to repeated HELLOs
				}
				return f
			case <-ctx.Done():
				t.Fatalf("no %s from the board", what)
			}
		}
	}
	// The simulated MCU may still be starting: say HELLO until it answers (as fwlink does).
	for acked := false; !acked; {
		send(fwwire.Frame{Type: fwwire.Hello, Seq: 0, Version: fwwire.Version}, 1)
		select {
		case f := <-frames:
			acked = f.Type == fwwire.HelloAck
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no HELLO_ACK from the board")
		}
	}
	// Timeout off: no unasked FAULT can come between the replies counted below.
	send(fwwire.Frame{Type: fwwire.Config, Seq: 1, Timeout: 0}, 1)
	if f := next("ACK"); f.Type != fwwire.Ack || f.Ack != 1 || f.Code != fwwire.OK {
		t.Fatalf("CONFIG answered with %+v", f)
	}
	send(fwwire.Frame{Type: fwwire.Heartbeat, Seq: 2, Ack: 1}, 2)
	send(fwwire.Frame{Type: fwwire.GetStats, Seq: 3, Ack: 1}, 1)
	// Frames come back in order: everything before STATS answers the two HEARTBEATs.
	var states int
	var stats fwwire.Frame
	for stats.Type != fwwire.Stats {
		switch f := next("STATS"); f.Type {
		case fwwire.State:
			if f.Ack != 2 {
				t.Fatalf("STATE acknowledges seq %d, want 2", f.Ack)
			}
			states++
		case fwwire.Stats:
			stats = f
		default:
			t.Fatalf("unexpected frame %+v", f)
		}
	}
	if states != 1 || stats.Stats.Dups != 1 || stats.Stats.Lost != 0 || stats.Ack != 3 {
		t.Fatalf("%d STATE replies to a HEARTBEAT sent twice, board stats %+v (ack %d); want 1 reply, 1 dup, 0 lost", states, stats.Stats, stats.Ack)
	}
}
