//go:build linux

package busarm

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// startSimCfg serves a real-time SO-101 on a pty with the bus config edit makes.
func startSimCfg(tb testing.TB, driver string, hand *sim.Hand, edit func(*Config)) (*simarm.Arm, *Sim, string) {
	tb.Helper()
	m, path, err := pty.Open("")
	if err != nil {
		tb.Skipf("no pty: %v", err)
	}
	arm, err := simarm.New(simarm.Config{Model: "so101", Clock: NewSimClock(0)})
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := ForJoints(driver, arm.Joints(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewSim(m, SimConfig{Bus: cfg, Arm: arm, Hand: hand})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	tb.Cleanup(func() {
		cancel()
		<-errc
		m.Close()
	})
	return arm, s, path
}

func openArm(tb testing.TB, s *Sim, path string) Arm {
	tb.Helper()
	cfg := s.Config()
	cfg.ReplyTimeout = 500 * time.Millisecond // generous: the simulated bus shares a loaded machine
	a, err := Open(path, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	if err := a.Setup(context.Background()); err != nil {
		tb.Fatalf("setup: %v", err)
	}
	return a
}

// TestTeleopTwoBuses: a Feetech leader (torque off, moved by the scripted hand) drives a
// Dynamixel follower whose shoulder_pan is limited to 0.4 rad; the recording at 100 Hz
// holds the follower's measured trajectory, inside its limits.
func TestTeleopTwoBuses(t *testing.T) {
	hand, err := sim.NewHand([]float64{0, 0.3, 1.5}, [][]float64{
		{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}, {0.6, 0, -0.5, 0, 0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	larm, ls, lpath := startSimCfg(t, Feetech, hand, nil)
	_, fs, fpath := startSimCfg(t, Dynamixel, nil, func(c *Config) { c.Servos[0].Max = 0.4 })
	leader, follower := openArm(t, ls, lpath), openArm(t, fs, fpath)
	tel, err := demos.NewTeleop(demos.TeleopConfig{Leader: leader, Follower: follower, Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tel.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rec, err := demos.NewRecorder(demos.RecorderConfig{Dir: dir, Arm: tel, Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(ctx, "teleop", demos.Sidecar{}); err != nil {
		t.Fatal(err)
	}
	// Wait (on bus reads of the follower) until it has followed the leader to its limit.
	st := joint.NewState(6)
	deadline := time.Now().Add(20 * time.Second)
	for !(math.Abs(st.Pos[0]-0.4) < 0.03 && math.Abs(st.Pos[2]+0.5) < 0.03) {
		if time.Now().After(deadline) {
			t.Fatalf("follower at %v, want shoulder_pan 0.4 (its limit), elbow_flex −0.5", st.Pos)
		}
		_ = follower.Read(ctx, &st)
	}
	res, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if ls.HandStarts() != 1 {
		t.Errorf("hand started %d times on the leader, want 1", ls.HandStarts())
	}
	if tr := larm.Stats().Truth; math.Abs(tr[0]-0.6) > 0.05 {
		t.Errorf("leader shoulder_pan at %.3f, want the hand's 0.6", tr[0])
	}
	d, err := demos.ReadCSV(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	lim := follower.Joints()[0].Limits
	maxPan := math.Inf(-1)
	for _, y := range d.Y {
		maxPan = math.Max(maxPan, y[0])
	}
	if maxPan > lim.Max+0.02 {
		t.Errorf("recorded follower shoulder_pan reached %.3f rad, its limit is %.3f", maxPan, lim.Max)
	}
	last := d.Y[len(d.Y)-1]
	if math.Abs(last[0]-0.4) > 0.05 || math.Abs(last[2]+0.5) > 0.05 {
		t.Errorf("last recorded follower sample %v", last)
	}
	if _, err := os.Stat(filepath.Join(dir, "teleop.json")); err != nil {
		t.Errorf("sidecar: %v", err)
	}
	p50, p99, n := tel.Latency()
	t.Logf("teleop: %d ticks, %d samples, leader-read → follower-command p50 %v p99 %v", n, res.Samples, p50, p99)
}

// BenchmarkTeleop100Hz runs the teleoperation loop at 100 Hz over two simulated buses
// (Feetech leader, Feetech follower, 1 Mbit/s) and reports the leader-read →
// follower-command latency.
func BenchmarkTeleop100Hz(b *testing.B) {
	_, ls, lpath := startSimCfg(b, Feetech, nil, nil)
	_, fs, fpath := startSimCfg(b, Feetech, nil, nil)
	leader, follower := openArm(b, ls, lpath), openArm(b, fs, fpath)
	tel, err := demos.NewTeleop(demos.TeleopConfig{Leader: leader, Follower: follower, Rate: 100})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := tel.Begin(ctx); err != nil {
		b.Fatal(err)
	}
	rate, err := clock.NewRate(clock.NewRealSleeper(200*time.Microsecond), 10*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	st := joint.NewState(6)
	b.ResetTimer()
	for range b.N {
		rate.Wait()
		if err := tel.Read(ctx, &st); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p50, p99, _ := tel.Latency()
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(rate.Overruns()), "overruns")
}
