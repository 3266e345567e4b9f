package motion

import (
	"context"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/motion/joint"
)

var testJoints = []joint.Joint{
	{Name: "shoulder", Limits: joint.Limits{Min: -2, Max: 2, MaxVel: 2, MaxAcc: 10}},
	{Name: "elbow", Limits: joint.Limits{Min: -2, Max: 2, MaxVel: 2, MaxAcc: 10}},
	{Name: "wrist", Limits: joint.Limits{Min: -1.5, Max: 1.5, MaxVel: 2, MaxAcc: 10}},
	{Name: "gripper", Limits: joint.Limits{Min: 0, Max: 0.08, MaxVel: 0.1, MaxAcc: 1}}, // not in the skill
}

var skillJoints = []string{"shoulder", "elbow", "wrist"}

// fitSkill fits a DMP to a smooth demo from start to goal over dur s, with a bump of
// height bump on the last joint.
func fitSkill(t testing.TB, start, goal []float64, dur, bump float64) *dmp.DMP {
	t.Helper()
	const n = 200
	d := dmp.Demo{Joints: skillJoints}
	for i := 0; i < n; i++ {
		u := float64(i) / (n - 1)
		s := u * u * u * (10 - 15*u + 6*u*u)
		y := make([]float64, len(start))
		for j := range y {
			y[j] = start[j] + (goal[j]-start[j])*s
		}
		y[len(y)-1] += bump * math.Sin(math.Pi*u) * math.Sin(math.Pi*u)
		d.T = append(d.T, u*dur)
		d.Y = append(d.Y, y)
	}
	m, _, err := dmp.Fit(d, dmp.Options{})
	if err != nil {
		t.Fatalf("fit: %v", err)
	}
	return m
}

type rig struct {
	t   testing.TB
	clk *clock.Fake
	arm *armtest.Arm
	ex  *Executor
	ev  chan Event
}

func newRig(t testing.TB, start []float64, tau float64, mod func(*Config)) *rig {
	t.Helper()
	return newSagRig(t, start, tau, nil, mod)
}

// newSagRig is newRig with a steady servo offset per joint (armtest.Config.Sag).
func newSagRig(t testing.TB, start []float64, tau float64, sag []float64, mod func(*Config)) *rig {
	t.Helper()
	clk := new(clock.Fake)
	arm, err := armtest.New(armtest.Config{Joints: testJoints, Start: start, Clock: clk, PlantTau: tau, RecordCap: 1 << 14, Sag: sag})
	if err != nil {
		t.Fatal(err)
	}
	ev := make(chan Event, 4096)
	cfg := Config{Clock: clk, Events: ev}
	if mod != nil {
		mod(&cfg)
	}
	ex, err := New(arm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ex.Close() })
	return &rig{t: t, clk: clk, arm: arm, ex: ex, ev: ev}
}

func (r *rig) run(req Request) Result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, _ := r.ex.Run(ctx, req)
	if ctx.Err() != nil {
		r.t.Fatalf("run %q did not end", req.ID)
	}
	return res
}

// events drains the queued events.
func (r *rig) events() []Event {
	var out []Event
	for {
		select {
		case e := <-r.ev:
			out = append(out, e)
		default:
			return out
		}
	}
}

// waitEvent returns the first event for which ok holds, failing after 10 s.
func (r *rig) waitEvent(ok func(Event) bool) Event {
	r.t.Helper()
	tm := time.NewTimer(10 * time.Second)
	defer tm.Stop()
	for {
		select {
		case e := <-r.ev:
			if ok(e) {
				return e
			}
		case <-tm.C:
			r.t.Fatal("event not seen")
		}
	}
}

// checkCommands asserts that every command but the final halt lies within the limits
// and moved no faster than each joint's MaxVel.
func checkCommands(t testing.TB, recs []armtest.Record) {
	t.Helper()
	for k, c := range recs {
		for i, q := range c.Pos {
			l := testJoints[i].Limits
			if math.IsNaN(q) || !l.Contains(q) {
				t.Fatalf("command %d joint %d = %v outside [%v, %v]", k, i, q, l.Min, l.Max)
			}
			if k == 0 || k == len(recs)-1 {
				continue
			}
			dt := (c.T - recs[k-1].T).Seconds()
			if v := math.Abs(q-recs[k-1].Pos[i]) / dt; v > l.MaxVel*(1+1e-9) {
				t.Fatalf("command %d joint %d moves at %v rad/s > %v", k, i, v, l.MaxVel)
			}
		}
	}
}

func isHalt(c armtest.Record, pos []float64, tol float64) bool {
	for i := range c.Pos {
		if c.Vel == nil || c.Vel[i] != 0 || math.Abs(c.Pos[i]-pos[i]) > tol {
			return false
		}
	}
	return true
}

// at runs fn on its own goroutine when the n-th command is sent, and holds the control
// loop until fn has started, so requests fn makes land while the run is going.
func (r *rig) at(n int, fn func()) {
	var done atomic.Bool
	r.arm.OnCommand(func(k int, _ joint.Command) {
		if k != n {
			return
		}
		go func() {
			fn()
			done.Store(true)
		}()
		// Hold the control loop until fn has queued its request (or finished without
		// one), so that a fake clock, which never waits, cannot end the run first: the
		// request is then handled at the next tick, whenever fn's goroutine wakes up.
		for !done.Load() && len(r.ex.reqs) == 0 {
			runtime.Gosched()
		}
	})
}
