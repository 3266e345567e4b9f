// Package rossim impersonates a robot's ROS 1 driver with goroslib, in front of a
// simulated arm: it publishes sensor_msgs/JointState at a fixed rate and obeys
// trajectory_msgs/JointTrajectory (as a JointTrajectoryController's command topic) and
// std_msgs/Float64MultiArray (as a JointGroupPositionController's), so the ROS driver is
// tested end to end against a real master with nothing faked.
package rossim

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/trajectory_msgs"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Plant is the arm behind the driver.
type Plant interface {
	drivers.Describer
	drivers.Reader
	drivers.Commander
}

// Default topics and rate, as a ros_control robot names them.
const (
	DefaultName            = "praxis_sim_robot"
	DefaultStateTopic      = "/joint_states"
	DefaultTrajectoryTopic = "/arm_controller/command"
	DefaultPositionTopic   = "/joint_group_position_controller/command"
	DefaultRate            = 500.0
)

// Config configures a simulated robot node. Zero fields take the stated defaults.
type Config struct {
	Master          string  // master "host:port" (resolved by the caller); required
	Host            string  // address advertised to other nodes; default automatic
	Name            string  // node name; default praxis_sim_robot
	Plant           Plant   // the arm; required
	StateTopic      string  // default /joint_states
	TrajectoryTopic string  // JointTrajectory commands; default /arm_controller/command
	PositionTopic   string  // Float64MultiArray commands; default /joint_group_position_controller/command
	Rate            float64 // joint state publishing (and control) rate, Hz; default 500
	// RobotDescription, when not empty, is set as the /robot_description parameter
	// (the URDF text), as a robot's bring-up does.
	RobotDescription string
}

// Stats counts what the robot received.
type Stats struct {
	Published  uint64 // joint state messages
	Trajectory uint64 // JointTrajectory messages accepted
	Position   uint64 // Float64MultiArray messages accepted
	Rejected   uint64 // commands refused (unknown joint, wrong length, non-finite)
	LastReject string // why the last one was refused
	LastCmdAt  time.Time
}

// Robot is a simulated robot driver node.
type Robot struct {
	cfg    Config
	joints []joint.Joint
	names  []string

	mu     sync.Mutex
	stats  Stats
	target []float64 // current position target, rad
	// active trajectory: target moves linearly from seg0 (at t0) through the points
	t0     time.Time
	seg0   []float64
	ptsT   []time.Duration
	ptsPos [][]float64
	onCmd  func(time.Time)
}

// New validates cfg; it does not touch the network.
func New(cfg Config) (*Robot, error) {
	if cfg.Master == "" {
		return nil, errors.New("rossim: config: Master is empty")
	}
	if cfg.Plant == nil {
		return nil, errors.New("rossim: config: Plant is nil")
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&cfg.Name, DefaultName)
	def(&cfg.StateTopic, DefaultStateTopic)
	def(&cfg.TrajectoryTopic, DefaultTrajectoryTopic)
	def(&cfg.PositionTopic, DefaultPositionTopic)
	if strings.Contains(cfg.Name, "/") {
		return nil, fmt.Errorf("rossim: config: Name %q contains a slash", cfg.Name)
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if !(cfg.Rate > 0 && cfg.Rate <= 10000) {
		return nil, fmt.Errorf("rossim: config: Rate %v Hz, want (0, 10000]", cfg.Rate)
	}
	r := &Robot{cfg: cfg, joints: cfg.Plant.Joints()}
	r.names = joint.Names(r.joints)
	return r, nil
}

// Names returns the joint names in the order of Float64MultiArray commands.
func (r *Robot) Names() []string { return append([]string(nil), r.names...) }

// Stats returns the counters.
func (r *Robot) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// OnCommand sets a function called (on goroslib's goroutine) with the arrival time of
// every accepted command; for latency measurements.
func (r *Robot) OnCommand(f func(time.Time)) {
	r.mu.Lock()
	r.onCmd = f
	r.mu.Unlock()
}

// Serve connects to the master, then publishes joint states and obeys commands until ctx
// ends. The arm holds its position until the first command.
func (r *Robot) Serve(ctx context.Context) error {
	n, err := goroslib.NewNode(goroslib.NodeConf{
		MasterAddress:   r.cfg.Master,
		Name:            r.cfg.Name,
		Host:            r.cfg.Host,
		LogLevel:        goroslib.LogLevelError,
		LogDestinations: goroslib.LogDestinationRosout,
	})
	if err != nil {
		return fmt.Errorf("rossim: node: %w", err)
	}
	defer n.Close()
	if r.cfg.RobotDescription != "" {
		// goroslib v2.1.4 writes XML-RPC strings unescaped: escape the URDF's markup
		// here (the master decodes it back to the original text).
		var esc strings.Builder
		_ = xml.EscapeText(&esc, []byte(r.cfg.RobotDescription))
		if err := n.ParamSetString("/robot_description", esc.String()); err != nil {
			return fmt.Errorf("rossim: set /robot_description: %w", err)
		}
	}
	st := joint.NewState(len(r.joints))
	if err := r.cfg.Plant.Read(ctx, &st); err != nil {
		return fmt.Errorf("rossim: read: %w", err)
	}
	r.mu.Lock()
	r.target = append([]float64(nil), st.Pos...)
	r.mu.Unlock()

	pub, err := goroslib.NewPublisher(goroslib.PublisherConf{Node: n, Topic: r.cfg.StateTopic, Msg: &sensor_msgs.JointState{}})
	if err != nil {
		return fmt.Errorf("rossim: advertise %s: %w", r.cfg.StateTopic, err)
	}
	defer pub.Close()
	subT, err := goroslib.NewSubscriber(goroslib.SubscriberConf{Node: n, Topic: r.cfg.TrajectoryTopic, Callback: r.onTrajectory})
	if err != nil {
		return fmt.Errorf("rossim: subscribe %s: %w", r.cfg.TrajectoryTopic, err)
	}
	defer subT.Close()
	subP, err := goroslib.NewSubscriber(goroslib.SubscriberConf{Node: n, Topic: r.cfg.PositionTopic, Callback: r.onPosition})
	if err != nil {
		return fmt.Errorf("rossim: subscribe %s: %w", r.cfg.PositionTopic, err)
	}
	defer subP.Close()

	period := time.Duration(float64(time.Second) / r.cfg.Rate)
	tick := time.NewTicker(period)
	defer tick.Stop()
	cmd := joint.NewCommand(len(r.joints))
	cmd.Vel = nil
	var seq uint32
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		r.mu.Lock()
		r.follow(time.Now(), cmd.Pos)
		r.mu.Unlock()
		if err := r.cfg.Plant.Command(ctx, cmd); err != nil {
			return fmt.Errorf("rossim: command: %w", err)
		}
		if err := r.cfg.Plant.Read(ctx, &st); err != nil {
			return fmt.Errorf("rossim: read: %w", err)
		}
		seq++
		// A fresh message each time: goroslib encodes it after Write returns.
		pub.Write(&sensor_msgs.JointState{
			Header:   std_msgs.Header{Seq: seq, Stamp: time.Now()},
			Name:     r.names,
			Position: append([]float64(nil), st.Pos...),
			Velocity: append([]float64(nil), st.Vel...),
			Effort:   append([]float64(nil), st.Eff...),
		})
		r.mu.Lock()
		r.stats.Published++
		r.mu.Unlock()
	}
}

// follow writes the target at now into out, advancing along the active trajectory.
// r.mu must be held.
func (r *Robot) follow(now time.Time, out []float64) {
	copy(out, r.target)
	if len(r.ptsT) == 0 {
		return
	}
	el := now.Sub(r.t0)
	prevT, prev := time.Duration(0), r.seg0
	for k, t := range r.ptsT {
		if el < t {
			f := float64(el-prevT) / float64(t-prevT)
			for i := range out {
				out[i] = prev[i] + f*(r.ptsPos[k][i]-prev[i])
			}
			return
		}
		prevT, prev = t, r.ptsPos[k]
	}
	// Past the last point: hold it and drop the trajectory.
	copy(r.target, prev)
	copy(out, prev)
	r.ptsT, r.ptsPos = nil, nil
}

func (r *Robot) reject(why string) {
	r.stats.Rejected++
	r.stats.LastReject = why
}

// onTrajectory replaces the active trajectory, as a JointTrajectoryController does: the
// target moves linearly from where it is now to each point by its time_from_start
// (counted from header.stamp, or from arrival when the stamp is zero). Every joint of
// the arm must be named; anything else is refused.
func (r *Robot) onTrajectory(m *trajectory_msgs.JointTrajectory) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(m.JointNames) != len(r.names) {
		r.reject(fmt.Sprintf("%d joint names for %d joints", len(m.JointNames), len(r.names)))
		return
	}
	idx := make([]int, len(m.JointNames))
	for k, name := range m.JointNames {
		idx[k] = -1
		for i, n := range r.names {
			if n == name {
				idx[k] = i
			}
		}
		if idx[k] < 0 {
			r.reject(fmt.Sprintf("unknown joint %q", name))
			return
		}
	}
	if len(m.Points) == 0 {
		r.reject("no points")
		return
	}
	start := now
	if !m.Header.Stamp.IsZero() && m.Header.Stamp.Unix() != 0 {
		start = m.Header.Stamp
	}
	ts := make([]time.Duration, 0, len(m.Points))
	ps := make([][]float64, 0, len(m.Points))
	last := time.Duration(-1)
	for k, p := range m.Points {
		if len(p.Positions) != len(idx) {
			r.reject(fmt.Sprintf("point %d: %d positions for %d joints", k, len(p.Positions), len(idx)))
			return
		}
		q := make([]float64, len(idx))
		for j, i := range idx {
			if math.IsNaN(p.Positions[j]) || math.IsInf(p.Positions[j], 0) {
				r.reject(fmt.Sprintf("point %d: joint %q position %v", k, m.JointNames[j], p.Positions[j]))
				return
			}
			q[i] = p.Positions[j]
		}
		t := start.Sub(now) + p.TimeFromStart
		if t <= last {
			r.reject(fmt.Sprintf("point %d: time_from_start %v not increasing", k, p.TimeFromStart))
			return
		}
		last = t
		ts = append(ts, t)
		ps = append(ps, q)
	}
	// The new trajectory starts from the target the old one had reached.
	cur := make([]float64, len(r.names))
	r.follow(now, cur)
	copy(r.target, cur)
	r.t0, r.seg0, r.ptsT, r.ptsPos = now, cur, ts, ps
	if ts[0] <= 0 { // a point already due: jump to it
		r.ptsT, r.ptsPos = nil, nil
		copy(r.target, ps[len(ps)-1])
	}
	r.stats.Trajectory++
	r.stats.LastCmdAt = now
	if r.onCmd != nil {
		r.onCmd(now)
	}
}

// onPosition sets the target at once, data in joint order.
func (r *Robot) onPosition(m *std_msgs.Float64MultiArray) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(m.Data) != len(r.names) {
		r.reject(fmt.Sprintf("%d values for %d joints", len(m.Data), len(r.names)))
		return
	}
	for i, q := range m.Data {
		if math.IsNaN(q) || math.IsInf(q, 0) {
			r.reject(fmt.Sprintf("joint %q position %v", r.names[i], q))
			return
		}
	}
	r.ptsT, r.ptsPos = nil, nil
	copy(r.target, m.Data)
	r.stats.Position++
	r.stats.LastCmdAt = now
	if r.onCmd != nil {
		r.onCmd(now)
	}
}
