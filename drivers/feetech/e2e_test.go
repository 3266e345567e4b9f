//go:build linux

package feetech

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim/pty"
	stssim "github.com/praxis-robotics/praxis/sim/wire/feetech"
)

// idealPlant reaches every commanded position at once; joints without torque stay put.
type idealPlant struct {
	mu     sync.Mutex
	pos    []float64
	eff    []float64
	torque []bool
}

func newIdealPlant(n int) *idealPlant {
	p := &idealPlant{pos: make([]float64, n), eff: make([]float64, n), torque: make([]bool, n)}
	for i := range p.pos {
		p.pos[i] = 0.1 * float64(i+1)
	}
	return p
}

func (p *idealPlant) Read(_ context.Context, s *joint.State) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.Resize(len(p.pos))
	copy(s.Pos, p.pos)
	copy(s.Eff, p.eff)
	for i := range s.Vel {
		s.Vel[i] = 0
	}
	return nil
}

func (p *idealPlant) Command(_ context.Context, c joint.Command) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.pos {
		if p.torque[i] {
			p.pos[i] = c.Pos[i]
		}
	}
	return nil
}

func (p *idealPlant) SetJointTorque(i int, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.torque[i] = on
	return nil
}

func (p *idealPlant) get(i int) (float64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos[i], p.torque[i]
}

// startBus serves n simulated STS3215s (IDs 1..n) on a pseudo-terminal and returns the
// slave path for the driver.
func startBus(t testing.TB, n int) (*stssim.Bus, *idealPlant, string) {
	m, path, err := pty.Open("")
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	plant := newIdealPlant(n)
	cfg := stssim.Config{ReturnDelay: 250} // the factory default, 500 µs; Setup sets 0
	for i := 0; i < n; i++ {
		cfg.Servos = append(cfg.Servos, stssim.Servo{ID: byte(i + 1), Offset: 2048})
	}
	sim, err := stssim.New(m, plant, cfg)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- sim.Serve(context.Background()) }()
	t.Cleanup(func() {
		sim.Close()
		if err := <-errc; err != nil {
			t.Errorf("serve: %v", err)
		}
		m.Close()
	})
	return sim, plant, path
}

func armConfig(n int) Config {
	cfg := Config{ReplyTimeout: 100 * time.Millisecond, FaultAfter: 3}
	for i := 0; i < n; i++ {
		cfg.Joints = append(cfg.Joints, JointConfig{Name: fmt.Sprintf("j%d", i+1), ID: byte(i + 1), Offset: 2048})
	}
	return cfg
}

// openSetup opens the driver on path and runs Setup; the driver is closed when tb ends.
func openSetup(tb testing.TB, path string, cfg Config) *Driver {
	tb.Helper()
	d, err := Open(path, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	if err := d.Setup(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return d
}

func TestE2E(t *testing.T) {
	sim, plant, path := startBus(t, 3)
	cfg := armConfig(3)
	cfg.WriteLimits = true
	cfg.Joints[0].Limits = joint.Limits{Min: -1, Max: 1}
	d := openSetup(t, path, cfg)
	ctx := context.Background()
	// Setup: return delay 0, limits persisted to EEPROM, EEPROM relocked, torque on.
	if rd, _ := sim.Register(1, ftproto.RegReturnDelay); rd != 0 {
		t.Errorf("return delay %d", rd)
	}
	var lo [2]byte
	lo[0], _ = sim.EEPROM(1, ftproto.RegMinAngle)
	lo[1], _ = sim.EEPROM(1, ftproto.RegMinAngle+1)
	if got, want := int(ftproto.STS.Word(lo[:])), 2048-652; got != want {
		t.Errorf("EEPROM min angle %d, want %d", got, want)
	}
	if l, _ := sim.Register(1, ftproto.RegLockSTS); l != 1 {
		t.Errorf("EEPROM left unlocked")
	}
	s := joint.NewState(3)
	// Broadcast writes have no reply: a read's round trip orders them before the checks.
	if err := d.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if _, on := plant.get(2); !on {
		t.Error("torque not on after Setup")
	}
	for i := range 3 {
		if want := 0.1 * float64(i+1); math.Abs(s.Pos[i]-want) > 2*math.Pi/4096 {
			t.Errorf("j%d at %v, want %v", i+1, s.Pos[i], want)
		}
	}
	// The position follows the command (j1 clamped to its limit).
	if err := d.Command(ctx, joint.Command{Pos: []float64{1.5, -0.5, 0.25}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1, -0.5, 0.25} {
		if math.Abs(s.Pos[i]-want) > 2*math.Pi/4096 {
			t.Errorf("j%d at %v, want %v", i+1, s.Pos[i], want)
		}
	}
	// The clamped goal is a tick inside the limit, though the nearest tick to 1 rad is not.
	gl, _ := sim.Register(1, ftproto.RegGoalPosition)
	gh, _ := sim.Register(1, ftproto.RegGoalPosition+1)
	c0 := cfg.Joints[0].Cal()
	goal := c0.Radians(int32(ftproto.DecodeSignMag(ftproto.STS.Word([]byte{gl, gh}), ftproto.SignBitPos)))
	if c0.Radians(c0.Ticks(1)) <= 1 || goal > 1 || goal < 1-c0.TickRadians() {
		t.Errorf("j1 goal register at %v rad (nearest tick to the 1 rad limit at %v)", goal, c0.Radians(c0.Ticks(1)))
	}
	// Torque off: limp joints ignore commands.
	if err := d.SetTorque(ctx, false); err != nil {
		t.Fatal(err)
	}
	d.Read(ctx, &s)
	if _, on := plant.get(0); on {
		t.Fatal("torque still on")
	}
	d.Command(ctx, joint.Command{Pos: []float64{0, 0, 0}})
	d.Read(ctx, &s)
	if p, _ := plant.get(1); math.Abs(p+0.5) > 1e-3 {
		t.Fatalf("limp joint moved to %v", p)
	}
	if err := drivers.SetTorque(ctx, d, true); err != nil {
		t.Fatal(err)
	}
	// Scan-style helpers on the live driver.
	var model [2]byte
	if err := d.ReadRegister(ctx, 2, ftproto.RegModel, model[:]); err != nil || ftproto.STS.Word(model[:]) != ftproto.ModelSTS3215 {
		t.Fatalf("model % X, %v", model, err)
	}
	if err := d.WriteRegister(ctx, 2, ftproto.RegAcceleration, []byte{50}); err != nil {
		t.Fatal(err)
	}
	if a, _ := sim.Register(2, ftproto.RegAcceleration); a != 50 {
		t.Fatalf("acceleration %d", a)
	}
}

func TestE2EFaults(t *testing.T) {
	sim, _, path := startBus(t, 3)
	d := openSetup(t, path, armConfig(3))
	ctx := context.Background()
	s := joint.NewState(3)

	// A dropped reply is retried within the tick.
	reads := sim.Count(ftproto.InstRead)
	sim.DropNext(2, 1)
	if err := d.Read(ctx, &s); err != nil {
		t.Fatalf("dropped reply not recovered: %v", err)
	}
	if got := sim.Count(ftproto.InstRead) - reads; got != 1 {
		t.Fatalf("%d retries, want 1", got)
	}
	// A corrupted reply likewise.
	sim.CorruptNext(3, 1)
	if err := d.Read(ctx, &s); err != nil {
		t.Fatalf("corrupted reply not recovered: %v", err)
	}
	// Overload status is surfaced per servo, with fresh data.
	sim.SetStatus(1, ftproto.StatusOverload)
	err := d.Read(ctx, &s)
	var se *ServoError
	if !errors.As(err, &se) || se.ID != 1 || se.Status != ftproto.StatusOverload || !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("overload: %v", err)
	}
	sim.SetStatus(1, 0)
	// A silent servo: per-servo errors naming it, then the arm faults.
	sim.SetSilent(3, true)
	for tick := 1; tick <= 3; tick++ {
		err := d.Read(ctx, &s)
		if !errors.As(err, &se) || se.ID != 3 || se.Joint != "j3" || !errors.Is(err, drivers.ErrTimeout) {
			t.Fatalf("tick %d: %v", tick, err)
		}
		if faulted := errors.Is(err, drivers.ErrFault); faulted != (tick == 3) {
			t.Fatalf("tick %d: faulted=%v: %v", tick, faulted, err)
		}
	}
	if err := d.Command(ctx, joint.Command{Pos: make([]float64, 3)}); !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("command on faulted arm: %v", err)
	}
	// Setup names the dead servo; once it is back, Setup clears the fault.
	if err := d.Setup(ctx); !errors.As(err, &se) || se.ID != 3 {
		t.Fatalf("setup with silent servo: %v", err)
	}
	sim.SetSilent(3, false)
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
}

func TestE2EWatchdog(t *testing.T) {
	_, plant, path := startBus(t, 2)
	cfg := armConfig(2)
	cfg.WatchdogTorqueOff = true
	d, err := Open(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tripped := make(chan struct{}, 1)
	d.onTrip = func() { tripped <- struct{}{} }
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.SetWatchdog(ctx, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := d.Command(ctx, joint.Command{Pos: []float64{0.3, 0.3}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tripped:
	case <-time.After(5 * time.Second):
		t.Fatal("watchdog never tripped")
	}
	if !d.Tripped() {
		t.Fatal("Tripped() false")
	}
	s := joint.NewState(2)
	d.Read(ctx, &s)
	if _, on := plant.get(0); on {
		t.Fatal("watchdog left torque on")
	}
}

func TestE2EScan(t *testing.T) {
	_, _, path := startBus(t, 3)
	cfg := armConfig(1)
	d, err := Open(path, cfg) // just to get a configured serial port
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	found, err := Scan(context.Background(), d.rw, 0, 1, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0] != (Found{1, 777}) || found[1] != (Found{3, 777}) {
		t.Fatalf("found %+v", found)
	}
}

// BenchmarkFeetechLoop6 measures the control-loop rate for 6 STS3215s at 1 Mbps over a
// pseudo-terminal: one tick = one sync write of goals + one sync read of position+speed.
func BenchmarkFeetechLoop6(b *testing.B) {
	_, _, path := startBus(b, 6)
	d := openSetup(b, path, armConfig(6))
	ctx := context.Background()
	s := joint.NewState(6)
	c := joint.NewCommand(6)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		c.Pos[n%6] = 0.001 * float64(n%100)
		if err := d.Command(ctx, c); err != nil {
			b.Fatal(err)
		}
		if err := d.Read(ctx, &s); err != nil {
			b.Fatal(err)
		}
		n++
	}
	hz := float64(n) / time.Since(start).Seconds()
	// Wire bound: (26 + 14 request bytes + 6 × 10 reply bytes) × 10 bit at 1 Mbit/s = 1 ms.
	b.ReportMetric(hz, "Hz")
	b.ReportMetric(hz/1000*100, "%wire")
}

// TestE2ELostReplyNoWait: replies come in request order, so once a later servo has
// answered, a missing reply is known lost and is retried without waiting out the timeout.
func TestE2ELostReplyNoWait(t *testing.T) {
	sim, _, path := startBus(t, 3)
	cfg := armConfig(3)
	cfg.ReplyTimeout = 2 * time.Second
	d := openSetup(t, path, cfg)
	ctx := context.Background()
	s := joint.NewState(3)
	sim.DropNext(2, 1)
	sim.CorruptNext(1, 1)
	t0 := time.Now()
	if err := d.Read(ctx, &s); err != nil {
		t.Fatalf("lost replies not recovered: %v", err)
	}
	if el := time.Since(t0); el > time.Second {
		t.Fatalf("read waited %v for replies known lost", el)
	}
}
