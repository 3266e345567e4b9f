//go:build linux

package dynamixel_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/drivers/dynamixel"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim/pty"
	dxlsim "github.com/praxis-robotics/praxis/sim/wire/dynamixel"
)

// bench starts a simulated chain of n servos (IDs 1..n) on a pty and opens the driver on
// its slave through go.bug.st/serial.
func bench(tb testing.TB, n int, edit func(*dynamixel.Config)) (*dynamixel.Arm, *dxlsim.Sim, *armtest.Arm) {
	tb.Helper()
	master, slave, err := pty.Open("")
	if err != nil {
		tb.Skipf("no pty: %v", err)
	}
	ids := make([]byte, n)
	// A loaded machine can stall a pty for tens of ms (the tty flip work runs on a
	// kworker): a generous timeout keeps the functional tests deterministic.
	cfg := dynamixel.Config{ReplyTimeout: 250 * time.Millisecond, FaultTicks: 3}
	for i := range ids {
		ids[i] = byte(i + 1)
		cfg.Servos = append(cfg.Servos, dynamixel.Servo{ID: ids[i], Joint: "j" + string(rune('1'+i))})
	}
	if edit != nil {
		edit(&cfg)
	}
	// Joints with torque follow their goal with a first-order lag of 10 ms; limp ones stay.
	plant, err := armtest.New(armtest.Config{Joints: armtest.Continuous(n), Clock: clock.NewReal(), PlantTau: 0.01, PlantMaxVel: -1})
	if err != nil {
		tb.Fatal(err)
	}
	sim, err := dxlsim.New(master, dxlsim.Config{IDs: ids, Plant: plant})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- sim.Serve(ctx) }()
	arm, err := dynamixel.Open(slave, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		arm.Close()
		master.Close()
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("sim: %v", err)
		}
	})
	if err := arm.Setup(context.Background()); err != nil {
		tb.Fatalf("setup: %v", err)
	}
	return arm, sim, plant
}

func TestPtyEndToEnd(t *testing.T) {
	for _, mode := range []struct {
		name           string
		fast, position bool
	}{{"sync read", false, false}, {"fast sync read", true, false}, {"sync read position only", false, true}, {"fast sync read position only", true, true}} {
		fast := mode.fast
		t.Run(mode.name, func(t *testing.T) {
			arm, sim, _ := bench(t, 6, func(c *dynamixel.Config) { c.FastSyncRead = fast; c.PositionOnly = mode.position })
			ctx := context.Background()
			s := joint.NewState(6)
			if err := arm.Read(ctx, &s); err != nil { // orders the setup's sync writes before the checks
				t.Fatal(err)
			}
			for id := byte(1); id <= 6; id++ {
				if r, _ := sim.Register(id, 9, 3); r[0] != 0 || r[2] != 3 {
					t.Fatalf("servo %d after setup: return delay %d, mode %d", id, r[0], r[2])
				}
				if r, _ := sim.Register(id, 64, 1); r[0] != 1 {
					t.Fatalf("servo %d: torque off after setup", id)
				}
			}
			c := joint.NewCommand(6)
			for i := range c.Pos {
				c.Pos[i] = 0.1 * float64(i+1)
			}
			// The plant's lag is 10 ms: within 1000 ticks every joint must have arrived.
			arrived := false
			for range 1000 {
				if err := arm.Command(ctx, c); err != nil {
					t.Fatal(err)
				}
				if err := arm.Read(ctx, &s); err != nil {
					t.Fatal(err)
				}
				arrived = true
				for i := range s.Pos {
					if math.Abs(s.Pos[i]-c.Pos[i]) > 0.003 {
						arrived = false
					}
				}
				if arrived {
					break
				}
			}
			if !arrived {
				t.Fatalf("positions %v never reached %v", s.Pos, c.Pos)
			}
			if mode.position {
				// Settled: the finite-difference velocity is small.
				for range 20 {
					if err := arm.Read(ctx, &s); err != nil {
						t.Fatal(err)
					}
				}
				for i, v := range s.Vel {
					if math.Abs(v) > 0.5 {
						t.Fatalf("joint %d at rest reads %v rad/s", i, v)
					}
				}
			}
			if fast && sim.Count(dxlproto.InstFastSyncRead) == 0 {
				t.Fatal("FastSyncRead set but no fast sync read on the bus")
			}
		})
	}
}

func TestPtyTorqueOffAndWatchdog(t *testing.T) {
	arm, sim, plant := bench(t, 3, nil)
	ctx := context.Background()
	if err := arm.SetTorque(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := arm.SetWatchdog(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// A read round trip orders the sync writes before the checks.
	s := joint.NewState(3)
	if err := arm.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	for id := byte(1); id <= 3; id++ {
		if r, _ := sim.Register(id, 64, 1); r[0] != 0 {
			t.Fatalf("servo %d: torque still on", id)
		}
		if r, _ := sim.Register(id, 98, 1); r[0] != 5 {
			t.Fatalf("servo %d: bus watchdog %d, want 5 (100 ms)", id, r[0])
		}
	}
	if !plant.Held(1) {
		t.Fatal("plant joint 1 still has torque")
	}
}

func TestPtyFaults(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(map[bool]string{false: "sync read", true: "fast sync read"}[fast], func(t *testing.T) {
			testPtyFaults(t, fast)
		})
	}
}

func testPtyFaults(t *testing.T, fast bool) {
	arm, sim, _ := bench(t, 6, func(c *dynamixel.Config) { c.FastSyncRead = fast })
	ctx := context.Background()
	s := joint.NewState(6)

	// A dropped and a corrupted reply are retried inside the tick.
	sim.DropNextReplies(3, 1)
	sim.CorruptNextReplies(5, 1)
	if err := arm.Read(ctx, &s); err != nil {
		t.Fatalf("dropped+corrupted replies: %v", err)
	}

	// Overload on servo 2 is surfaced with its bits.
	sim.SetHardwareError(2, dxlproto.HWOverload)
	err := arm.Read(ctx, &s)
	var se *dynamixel.ServoError
	if !errors.As(err, &se) || se.ID != 2 || se.Hardware != dxlproto.HWOverload || !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("overload: err = %v", err)
	}
	if !strings.Contains(err.Error(), "servo 2 (j2): hardware alert: overload") {
		t.Fatalf("overload message %q", err)
	}
	sim.SetHardwareError(2, 0)

	// A silent servo is named each tick, then faults the arm after FaultTicks (3).
	sim.SetSilent(4, true)
	for tick := 1; tick <= 3; tick++ {
		err := arm.Read(ctx, &s)
		var te *dynamixel.TickError
		if !errors.As(err, &te) || !te.Failed(4) || len(te.Servos) != 1 || !errors.Is(err, dynamixel.ErrTimeout) {
			t.Fatalf("tick %d: err = %v, want servo 4 only", tick, err)
		}
		if errors.Is(err, drivers.ErrFault) != (tick == 3) {
			t.Fatalf("tick %d: fault = %v", tick, errors.Is(err, drivers.ErrFault))
		}
	}
	if err := arm.Command(ctx, joint.NewCommand(6)); !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("command on a faulted arm: %v", err)
	}
	// Setup clears the fault once the servo is back.
	sim.SetSilent(4, false)
	if err := arm.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := arm.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkDynamixelLoop6 measures the control-loop rate for 6 servos at 1 Mbps over a
// pty: one tick is a sync write of goals plus a (fast) sync read of position+velocity,
// and reports it as a share of the wire bound (%wire). Protocol 2.0 bytes per tick, 6
// servos (a packet is 10 bytes besides its parameters, a status 11 besides its data):
// Sync Write of 4-byte goals 10+4+6×5 = 44; Sync Read request 10+4+6 = 20; Sync Read
// replies 6 × (11+8) = 114 (6 × 15 = 90 position only); one Fast Sync Read reply
// 8 + 6 × (1 error + 1 id + data + 2 crc) = 80 (56 position only).
func BenchmarkDynamixelLoop6(b *testing.B) {
	for _, mode := range []struct {
		name           string
		fast, position bool
		bytes          int // on the wire per tick
	}{{"syncread", false, false, 44 + 20 + 114}, {"fastsyncread", true, false, 44 + 20 + 80},
		{"syncread_pos", false, true, 44 + 20 + 90}, {"fastsyncread_pos", true, true, 44 + 20 + 56}} {
		b.Run(mode.name, func(b *testing.B) {
			arm, _, _ := bench(b, 6, func(c *dynamixel.Config) { c.FastSyncRead = mode.fast; c.PositionOnly = mode.position })
			ctx := context.Background()
			s := joint.NewState(6)
			c := joint.NewCommand(6)
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				if err := arm.Command(ctx, c); err != nil {
					b.Fatal(err)
				}
				if err := arm.Read(ctx, &s); err != nil {
					b.Fatal(err)
				}
				n++
			}
			hz := float64(n) / time.Since(start).Seconds()
			bound := 1e6 / 10 / float64(mode.bytes) // 10 bits a byte at 1 Mbit/s
			b.ReportMetric(hz, "Hz")
			b.ReportMetric(hz/bound*100, "%wire")
		})
	}
}
