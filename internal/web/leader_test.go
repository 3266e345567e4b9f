//go:build linux

package web_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// leaderRig is a Feetech leader arm on a pseudo-terminal (the set-up of the daemon's
// TestLeaderBusE2E): the simulated servos speak the real protocol, and a scripted hand
// moves the arm once the daemon switches its torque off.
type leaderRig struct {
	arm *simarm.Arm
	cfg daemon.ArmConfig // the daemon's leader: section
}

// minJerkHand moves from q0 to q1 in a minimum-jerk profile of move seconds after still
// seconds at q0, then stays at q1.
func minJerkHand(t *testing.T, q0, q1 []float64, still, move float64) *sim.Hand {
	t.Helper()
	var times []float64
	var pos [][]float64
	for k := 0; float64(k)*0.01 <= still+move+1e-9; k++ {
		tt := float64(k) * 0.01
		s := min(max((tt-still)/move, 0), 1)
		mj := s * s * s * (10 - 15*s + 6*s*s)
		q := make([]float64, len(q0))
		for j := range q {
			q[j] = q0[j] + (q1[j]-q0[j])*mj
		}
		times, pos = append(times, tt), append(pos, q)
	}
	h, err := sim.NewHand(times, pos)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func startLeaderRig(t *testing.T, q0, q1 []float64) *leaderRig {
	t.Helper()
	master, path, err := pty.Open("")
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	arm, err := simarm.New(simarm.Config{Model: "so101", Initial: q0, Clock: busarm.NewSimClock(0)})
	if err != nil {
		t.Fatal(err)
	}
	bc, err := busarm.ForJoints(busarm.Feetech, arm.Joints(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := busarm.NewSim(master, busarm.SimConfig{Bus: bc, Arm: arm, Hand: minJerkHand(t, q0, q1, 0.2, 1.0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("leader bus sim: %v", err)
		}
		master.Close()
		arm.Close()
	})
	bc = s.Config()
	lc := daemon.ArmConfig{Driver: bc.Driver, Port: path, Baud: bc.Baud, Timeout: 500 * time.Millisecond}
	for _, sv := range bc.Servos {
		sc := daemon.ServoConfig{ID: sv.ID, Joint: sv.Joint, Direction: sv.Direction, Ticks: sv.Ticks,
			Min: sv.Min, Max: sv.Max, MaxVel: sv.MaxVel, MaxAcc: sv.MaxAcc}
		sc.SetOffset(sv.Offset)
		lc.Servos = append(lc.Servos, sc)
	}
	return &leaderRig{arm: arm, cfg: lc}
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// waitPose waits until the arm's true pose is within tol of q (bounded by timeout).
func waitPose(t *testing.T, what string, arm *simarm.Arm, q []float64, tol float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for maxDiff(arm.Stats().Truth, q) > tol {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s at %v (±%g); it is at %v", timeout, what, q, tol, arm.Stats().Truth)
		}
		time.Sleep(10 * time.Millisecond) // polls the arm's pose; no order depends on it
	}
}

// TestLeaderRecordingFromTheDashboard: with a leader arm configured (a Feetech bus on a
// pseudo-terminal), the dashboard's API says so, a recording started with "leader": true
// makes the simulated follower follow the leader as a hand moves it, and stopping it keeps
// a demo taught by the leader whose end is where the leader was moved.
func TestLeaderRecordingFromTheDashboard(t *testing.T) {
	q0 := []float64{0, -0.3, 0.4, 0.6, 0, 0.1}
	q1 := []float64{0.4, -0.5, 0.8, 0.3, 0.2, 0.1}
	q2 := []float64{-0.2, -0.3, 0.5, 0.5, -0.1, 0.1}
	lead := startLeaderRig(t, q0, q1)
	r := startDaemon(t, func(c *daemon.Config) {
		lc := lead.cfg
		c.Leader = &lc
		c.Executor.WatchdogOverruns = 100 // a bus simulated in this process on a busy machine
	})
	op := loggedIn(t, r, "operator")
	s := op.stream(t)
	code, arm, raw := op.do("GET", "/api/arm", nil, nil)
	if code != http.StatusOK || arm["leader"] != true {
		t.Fatalf("GET /api/arm with a leader configured: %d %s", code, raw)
	}
	// The daemon switched the leader's torque off at start: the hand has moved it to q1.
	waitPose(t, "the leader", lead.arm, q1, 0.03, 30*time.Second)

	code, m, raw := op.do("POST", "/api/record", map[string]any{"id": "lead1", "action": "start", "demo": "led", "leader": true}, nil)
	if code/100 != 2 || m["id"] != "lead1" || m["demo"] != "led" {
		t.Fatalf("POST /api/record start with leader: %d %s", code, raw)
	}
	follower := r.d.SimArm()
	waitPose(t, "the follower at the leader's pose", follower, q1, 0.06, 30*time.Second)
	if err := lead.arm.Guide(minJerkHand(t, q1, q2, 0, 1.5)); err != nil {
		t.Fatal(err)
	}
	waitPose(t, "the leader moved on", lead.arm, q2, 0.02, 30*time.Second)
	waitPose(t, "the follower following the leader", follower, q2, 0.04, 30*time.Second)
	if code, _, raw := op.do("POST", "/api/record", map[string]any{"action": "stop", "demo": "led"}, nil); code/100 != 2 {
		t.Fatalf("POST /api/record stop: %d %s", code, raw)
	}
	end := s.event(t, "lead1", core.Succeeded, 20*time.Second)
	// The leader's move takes 1.5 s and the stop comes once it has ended.
	if end.Demo != "led" || end.Samples < 20 || end.Seconds < 1.2 || end.Path != "demos/led.csv" {
		t.Fatalf("the leader recording's end: %+v", end)
	}

	code, _, raw = op.do("GET", "/api/demos", nil, nil)
	var list []core.DemoInfo
	if err := json.Unmarshal(raw, &list); code != http.StatusOK || err != nil {
		t.Fatalf("GET /api/demos: %d %v %s", code, err, raw)
	}
	var info *core.DemoInfo
	for i := range list {
		if list[i].Name == "led" {
			info = &list[i]
		}
	}
	if info == nil || info.Teaching != "leader" || info.Source != "recorded" || info.Samples != end.Samples {
		t.Fatalf("the leader's demo in /api/demos: %+v (recording ended with %d samples)", info, end.Samples)
	}
	code, _, raw = op.do("GET", "/api/demos/led", nil, nil)
	var tr core.Trajectory
	if err := json.Unmarshal(raw, &tr); code != http.StatusOK || err != nil || len(tr.T) < 2 {
		t.Fatalf("GET /api/demos/led: %d %v, %d samples", code, err, len(tr.T))
	}
	// The demo is the follower's measured trajectory: from about q1 to about q2.
	last := tr.Pos[len(tr.Pos)-1]
	if d := maxDiff(last, q2); d > 0.06 {
		t.Errorf("the leader demo ends at %v, %g rad from where the leader was moved (%v)", last, d, q2)
	}
	t.Logf("leader demo from the dashboard: %d samples, %.2f s, ends %.3f rad from the leader's pose", info.Samples, info.Seconds, maxDiff(last, q2))
}
