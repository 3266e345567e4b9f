package rossim

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/trajectory_msgs"

	"github.com/praxis-robotics/praxis/drivers/simarm"
)

func newRobot(t *testing.T) *Robot {
	t.Helper()
	a, err := simarm.New(simarm.Config{Model: "so101"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Master: "127.0.0.1:1", Plant: a})
	if err != nil {
		t.Fatal(err)
	}
	r.target = make([]float64, len(r.names))
	return r
}

func TestConfigErrors(t *testing.T) {
	a, _ := simarm.New(simarm.Config{})
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Plant: a}, "Master"},
		{Config{Master: "h:1"}, "Plant"},
		{Config{Master: "h:1", Plant: a, Name: "a/b"}, "Name"},
		{Config{Master: "h:1", Plant: a, Rate: -1}, "Rate"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
}

func TestTrajectoryInterpolatesAndReplaces(t *testing.T) {
	r := newRobot(t)
	n := len(r.names)
	// Joint names in another order: the robot maps them.
	names := append([]string(nil), r.names...)
	names[0], names[1] = names[1], names[0]
	pos := make([]float64, n)
	pos[0] = 0.4 // joint 1
	r.onTrajectory(&trajectory_msgs.JointTrajectory{JointNames: names, Points: []trajectory_msgs.JointTrajectoryPoint{
		{Positions: pos, TimeFromStart: 100 * time.Millisecond}}})
	if s := r.Stats(); s.Trajectory != 1 || s.Rejected != 0 {
		t.Fatalf("stats %+v", s)
	}
	out := make([]float64, n)
	r.mu.Lock()
	t0 := r.t0
	r.follow(t0.Add(50*time.Millisecond), out)
	r.mu.Unlock()
	if math.Abs(out[1]-0.2) > 1e-9 || out[0] != 0 {
		t.Errorf("halfway: %v, want joint 1 at 0.2", out)
	}
	r.mu.Lock()
	r.follow(t0.Add(time.Second), out)
	r.mu.Unlock()
	if out[1] != 0.4 || r.ptsT != nil {
		t.Errorf("after the end: %v (trajectory kept: %v)", out, r.ptsT)
	}
	// Refused: an unknown joint, a missing joint, NaN, no points, times not increasing.
	bad := []*trajectory_msgs.JointTrajectory{
		{JointNames: append(names[:n-1:n-1], "nope"), Points: []trajectory_msgs.JointTrajectoryPoint{{Positions: pos, TimeFromStart: time.Millisecond}}},
		{JointNames: names[:n-1], Points: []trajectory_msgs.JointTrajectoryPoint{{Positions: pos[:n-1]}}},
		{JointNames: names, Points: []trajectory_msgs.JointTrajectoryPoint{{Positions: append(pos[:n-1:n-1], math.NaN()), TimeFromStart: time.Millisecond}}},
		{JointNames: names},
		{JointNames: names, Points: []trajectory_msgs.JointTrajectoryPoint{{Positions: pos, TimeFromStart: 2 * time.Millisecond}, {Positions: pos, TimeFromStart: time.Millisecond}}},
	}
	for _, m := range bad {
		r.onTrajectory(m)
	}
	if s := r.Stats(); s.Rejected != len64(bad) || s.Trajectory != 1 {
		t.Errorf("stats after bad trajectories %+v", s)
	}
	r.onPosition(&std_msgs.Float64MultiArray{Data: []float64{1}})
	r.onPosition(&std_msgs.Float64MultiArray{Data: make([]float64, n)})
	if s := r.Stats(); s.Position != 1 || s.Rejected != len64(bad)+1 || !strings.Contains(s.LastReject, "values") {
		t.Errorf("stats after positions %+v", s)
	}
}

func len64[T any](s []T) uint64 { return uint64(len(s)) }
