package rosarm

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/sim/models"
)

// offline builds an Arm without a node, to test the state and command paths.
func offline(t testing.TB, cfg Config, js []joint.Joint) (*Arm, *clock.Fake) {
	t.Helper()
	clk := &clock.Fake{}
	cfg.Clock = clk
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	a := &Arm{cfg: cfg, kick: make(chan struct{}, 1), notify: make(chan struct{}, 1)}
	a.stale = "200 ms"
	a.init(js)
	return a, clk
}

func threeJoints() []joint.Joint {
	l := joint.Limits{Min: -1, Max: 1, MaxVel: 2, MaxAcc: 10}
	return []joint.Joint{{Name: "a", Limits: l}, {Name: "b", Limits: l}, {Name: "c", Limits: l}}
}

func TestStateMatchedByNameAndStale(t *testing.T) {
	a, clk := offline(t, Config{Master: "127.0.0.1:1"}, threeJoints())
	ctx := context.Background()
	st := joint.NewState(3)
	err := a.Read(ctx, &st)
	if !errors.Is(err, drivers.ErrTimeout) || !strings.Contains(err.Error(), "no joint state for 200 ms on /joint_states") {
		t.Fatalf("read before any state: %v", err)
	}
	// Two publishers: the arm without c (other order, plus a foreign joint), then c alone.
	a.onState(&sensor_msgs.JointState{Name: []string{"b", "x", "a"}, Position: []float64{0.2, 9, 0.1}, Velocity: []float64{2, 9, 1}})
	if err := a.Read(ctx, &st); !errors.Is(err, drivers.ErrTimeout) || !strings.Contains(err.Error(), `joint "c"`) {
		t.Fatalf("read with c missing: %v", err)
	}
	clk.Advance(10 * time.Millisecond)
	a.onState(&sensor_msgs.JointState{Name: []string{"c"}, Position: []float64{0.3}})
	if err := a.Read(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Pos[0] != 0.1 || st.Pos[1] != 0.2 || st.Pos[2] != 0.3 || st.Vel[0] != 1 || st.Vel[1] != 2 || st.Vel[2] != 0 {
		t.Errorf("state %+v", st)
	}
	if st.Time != 10*time.Millisecond {
		t.Errorf("time %v", st.Time)
	}
	// Ragged messages are ignored.
	a.onState(&sensor_msgs.JointState{Name: []string{"a", "b"}, Position: []float64{0.5}})
	if s := a.Stats(); s.Rejected != 1 || s.Received != 2 {
		t.Errorf("stats %+v", s)
	}
	// a and b were last seen at 0: stale 201 ms later, and Command refuses.
	clk.Advance(191 * time.Millisecond)
	if err := a.Read(ctx, &st); !errors.Is(err, drivers.ErrTimeout) || !strings.Contains(err.Error(), `joint "a"`) {
		t.Fatalf("stale read: %v", err)
	}
	cmd := joint.Command{Pos: []float64{0, 0, 0}}
	if err := a.Command(ctx, cmd); !errors.Is(err, drivers.ErrTimeout) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("command from a stale state: %v", err)
	}
	select {
	case <-a.kick:
		t.Fatal("a stale command reached the sender")
	default:
	}
}

func TestCommandChecksAndClamps(t *testing.T) {
	a, _ := offline(t, Config{Master: "127.0.0.1:1"}, threeJoints())
	ctx := context.Background()
	a.onState(&sensor_msgs.JointState{Name: []string{"a", "b", "c"}, Position: []float64{0, 0, 0}})
	for _, c := range []joint.Command{
		{Pos: []float64{0, 0}},
		{Pos: []float64{0, math.NaN(), 0}},
		{Pos: []float64{0, 0, math.Inf(1)}},
		{Pos: []float64{0, 0, 0}, Vel: []float64{1}},
		{Pos: []float64{0, 0, 0}, Vel: []float64{0, 0, math.NaN()}},
	} {
		if err := a.Command(ctx, c); err == nil {
			t.Errorf("command %v accepted", c)
		}
	}
	if err := a.Command(ctx, joint.Command{Pos: []float64{5, -5, 0.5}}); err != nil {
		t.Fatal(err)
	}
	if a.cmdPos[0] != 1 || a.cmdPos[1] != -1 || a.cmdPos[2] != 0.5 {
		t.Errorf("not clamped into the limits: %v", a.cmdPos)
	}
}

func TestReadCommandAllocateNothing(t *testing.T) {
	a, clk := offline(t, Config{Master: "127.0.0.1:1"}, threeJoints())
	ctx := context.Background()
	msg := &sensor_msgs.JointState{Name: []string{"a", "b", "c"}, Position: []float64{0, 0, 0}, Velocity: []float64{0, 0, 0}}
	a.onState(msg)
	st := joint.NewState(3)
	cmd := joint.NewCommand(3)
	n := testing.AllocsPerRun(200, func() {
		clk.Advance(time.Millisecond)
		a.onState(msg) // same names: the mapping is reused
		if err := a.Read(ctx, &st); err != nil {
			t.Fatal(err)
		}
		if err := a.Command(ctx, cmd); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("state, Read and Command allocate %v times a tick", n)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Master: "ftp://x:1"}, "scheme"},
		{Config{Master: "http://nohost"}, "HOST:PORT"},
		{Config{Master: "h:1", Controller: "effort"}, "Controller"},
		{Config{Master: "h:1", Name: "a/b"}, "Name"},
		{Config{Master: "h:1", Namespace: "ns"}, "Namespace"},
		{Config{Master: "h:1", StateTopic: "/x", CommandTopic: "/x"}, "CommandTopic"},
		{Config{Master: "h:1", Joints: []Joint{{Name: ""}}}, "Joints[0]"},
		{Config{Master: "h:1", Joints: []Joint{{Name: "a"}, {Name: "a"}}}, "duplicate"},
		{Config{Master: "h:1", Joints: []Joint{{Name: "a", Limits: joint.Limits{Min: 1, Max: 0}}}}, "Joints[0] (a)"},
		{Config{Master: "h:1", Period: -1}, "Period"},
		{Config{Master: "h:1", StaleAfter: -1}, "StaleAfter"},
		{Config{Master: "h:1", Ring: 10}, "Ring"},
	} {
		_, err := Open(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to name %q", tc.cfg, err, tc.want)
		}
	}
}

func TestResolveMasterAndHost(t *testing.T) {
	t.Setenv("ROS_MASTER_URI", "http://10.0.0.5:11312/")
	t.Setenv("ROS_IP", "10.0.0.7")
	t.Setenv("ROS_HOSTNAME", "")
	for in, want := range map[string]string{"": "10.0.0.5:11312", "http://h:1/": "h:1", "h:2": "h:2"} {
		if got, err := ResolveMaster(in); err != nil || got != want {
			t.Errorf("ResolveMaster(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if h := ResolveHost(""); h != "10.0.0.7" {
		t.Errorf("host %q", h)
	}
	if h := ResolveHost("me"); h != "me" {
		t.Errorf("host %q", h)
	}
	t.Setenv("ROS_MASTER_URI", "garbage")
	if _, err := ResolveMaster(""); err == nil || !strings.Contains(err.Error(), "ROS_MASTER_URI") {
		t.Errorf("bad env accepted: %v", err)
	}
}

func TestLimitsFromURDF(t *testing.T) {
	b, err := models.URDF("so101")
	if err != nil {
		t.Fatal(err)
	}
	m, err := sim.ParseURDF(b)
	if err != nil {
		t.Fatal(err)
	}
	spec := m.Joints()
	// Config limits win; missing ones come from the URDF; no joints means all of them.
	js, err := mergeJoints([]Joint{{Name: spec[1].Name}, {Name: spec[0].Name, Limits: joint.Limits{Min: -0.5, Max: 0.5}}}, m, "/robot_description")
	if err != nil {
		t.Fatal(err)
	}
	if js[0].Limits.Min != spec[1].Min || js[0].Limits.Max != spec[1].Max || js[0].Limits.MaxVel != spec[1].Velocity {
		t.Errorf("from URDF: %+v, want %+v", js[0], spec[1])
	}
	if js[1].Limits.Min != -0.5 || js[1].Limits.Max != 0.5 || js[1].Limits.MaxVel != spec[0].Velocity {
		t.Errorf("from config: %+v", js[1])
	}
	all, err := mergeJoints(nil, m, "/robot_description")
	if err != nil || len(all) != m.DOF() {
		t.Fatalf("all joints: %v %v", all, err)
	}
	if _, err := mergeJoints([]Joint{{Name: "nope"}}, m, "/robot_description"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown joint: %v", err)
	}
	if _, err := mergeJoints([]Joint{{Name: "a"}}, nil, "/robot_description"); err == nil {
		t.Error("joint without limits and no URDF accepted")
	}
}
