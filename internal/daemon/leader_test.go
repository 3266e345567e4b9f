package daemon

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/drivers/armtest"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// teleRig is a teleoperation over fake arms: an ideal follower (wherever it was last
// commanded) at 0, a leader at lead, the follower's commands through leadFollower.
type teleRig struct {
	fol     *armtest.Arm
	lf      *leadFollower
	tel     *demos.Teleop
	estop   *atomic.Bool
	lim     joint.Limits
	rate    float64
	st      joint.State
	leadArm *armtest.Arm
}

func newTeleRig(t *testing.T, lead []float64) *teleRig {
	t.Helper()
	lim := joint.Limits{Min: -1, Max: 1, MaxVel: 2, MaxAcc: 10}
	js := []joint.Joint{{Name: "a", Limits: lim}, {Name: "b", Limits: lim}}
	fol, err := armtest.New(armtest.Config{Joints: js, Start: []float64{0, 0}, RecordCap: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	wide := joint.Limits{Min: -2, Max: 2, MaxVel: 50, MaxAcc: 500}
	leader, err := armtest.New(armtest.Config{Joints: []joint.Joint{{Name: "b", Limits: wide}, {Name: "a", Limits: wide}}, Start: lead})
	if err != nil {
		t.Fatal(err)
	}
	r := &teleRig{fol: fol, estop: new(atomic.Bool), lim: lim, rate: 100, st: joint.NewState(2), leadArm: leader}
	if r.lf, err = newLeadFollower(newTapArm(fol), r.estop, r.rate); err != nil {
		t.Fatal(err)
	}
	if r.tel, err = demos.NewTeleop(demos.TeleopConfig{Leader: leader, Follower: r.lf, Rate: r.rate}); err != nil {
		t.Fatal(err)
	}
	r.lf.begin()
	if err := r.tel.Begin(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLeaderFollowerSafetyFilter: a leader far away (and beyond the follower's limit on
// one joint) moves the follower from rest within its velocity and acceleration limits
// (motion.SafetyFilter's contract) and into its position limits, matched by joint name.
func TestLeaderFollowerSafetyFilter(t *testing.T) {
	r := newTeleRig(t, []float64{1.5, 0.6}) // leader b=1.5 (beyond 1), a=0.6
	ctx := context.Background()
	for range 300 {
		if err := r.tel.Read(ctx, &r.st); err != nil {
			t.Fatal(err)
		}
	}
	cmds := r.fol.Commands()
	if len(cmds) != 300 {
		t.Fatalf("%d commands for 300 ticks", len(cmds))
	}
	dt := 1 / r.rate
	prev, prevV := []float64{0, 0}, []float64{0, 0}
	for k, c := range cmds {
		for i, q := range c.Pos {
			v := (q - prev[i]) / dt
			// The filter's contract: speeding up by at most MaxAcc·dt (slowing down is free,
			// so that a command never overshoots), at most MaxVel, inside [Min, Max].
			dv := r.lim.MaxAcc*dt + 1e-9
			if !r.lim.Contains(q) || math.Abs(v) > r.lim.MaxVel+1e-9 || v > max(prevV[i], 0)+dv || v < min(prevV[i], 0)-dv {
				t.Fatalf("command %d joint %d: %.4f rad at %.3f rad/s (before %.3f): outside %+v", k, i, q, v, prevV[i], r.lim)
			}
			if math.Abs(c.Vel[i]-v) > 1e-9 {
				t.Fatalf("command %d joint %d: feed-forward %.4f rad/s, moving at %.4f", k, i, c.Vel[i], v)
			}
			prev[i], prevV[i] = q, v
		}
	}
	if first := cmds[0].Pos; math.Abs(first[0]) > r.lim.MaxAcc*dt*dt+1e-12 {
		t.Fatalf("first command %v: jumped from rest", first)
	}
	if got := r.fol.Pos(); math.Abs(got[0]-0.6) > 1e-9 || math.Abs(got[1]-1) > 1e-9 {
		t.Fatalf("follower at %v, want [0.6 1] (a follows the leader's a; b its limit)", got)
	}
	if r.lf.filt.AccelClamps == 0 {
		t.Fatal("the safety filter never limited the acceleration")
	}
}

// TestLeaderFollowerHalts: once the e-stop is latched, or the recording stops, no
// command reaches the follower; hold then commands the measured pose.
func TestLeaderFollowerHalts(t *testing.T) {
	for _, how := range []string{"estop", "stop"} {
		t.Run(how, func(t *testing.T) {
			r := newTeleRig(t, []float64{0.5, 0.5})
			ctx := context.Background()
			for range 20 {
				if err := r.tel.Read(ctx, &r.st); err != nil {
					t.Fatal(err)
				}
			}
			n := r.fol.NumCommands()
			if how == "estop" {
				r.estop.Store(true)
			} else {
				r.lf.halted.Store(true)
			}
			for range 10 {
				if err := r.tel.Read(ctx, &r.st); !errors.Is(err, errTeleopHalted) {
					t.Fatalf("tick after the %s: %v, want errTeleopHalted", how, err)
				}
			}
			if got := r.fol.NumCommands(); got != n {
				t.Fatalf("%d commands after the %s", got-n, how)
			}
			at := r.fol.Pos()
			if err := r.lf.hold(ctx); err != nil {
				t.Fatal(err)
			}
			cmds := r.fol.Commands()
			if len(cmds) != n+1 || maxDiff(cmds[n].Pos, at) > 1e-12 {
				t.Fatalf("hold: %d commands, last %+v, want one at %v", len(cmds)-n, cmds[len(cmds)-1], at)
			}
		})
	}
}

// TestLeaderFollowerCommandAllocs: the per-tick follower command allocates nothing.
func TestLeaderFollowerCommandAllocs(t *testing.T) {
	r := newTeleRig(t, []float64{0.5, 0.5})
	ctx := context.Background()
	if err := r.lf.Read(ctx, &r.st); err != nil {
		t.Fatal(err)
	}
	c := joint.Command{Pos: []float64{0.3, 0.3}}
	if n := testing.AllocsPerRun(200, func() {
		if err := r.lf.Command(ctx, c); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("leadFollower.Command allocates %v times a tick", n)
	}
}
