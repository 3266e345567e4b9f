package rosarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/trajectory_msgs"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
)

// Controller kinds for Config.Controller.
const (
	// Trajectory commands trajectory_msgs/JointTrajectory, one point per command with
	// time_from_start = Config.Period (a JointTrajectoryController's command topic).
	Trajectory = "trajectory"
	// Position commands std_msgs/Float64MultiArray, positions in joint order (a
	// position_controllers/JointGroupPositionController's command topic).
	Position = "position"
)

// Default topics, node name and timings.
const (
	DefaultStateTopic       = "/joint_states"
	DefaultTrajectoryTopic  = "/arm_controller/command"
	DefaultPositionTopic    = "/joint_group_position_controller/command"
	DefaultRobotDescription = "/robot_description"
	DefaultName             = "praxis_arm"
	DefaultPeriod           = 2 * time.Millisecond
	DefaultStaleAfter       = 200 * time.Millisecond
	DefaultCheckEvery       = 500 * time.Millisecond
	DefaultRing             = 256
)

// Joint is one joint of the arm, in command order. Limits with Min < Max are used as
// given; otherwise they come from the URDF (rad or m, rad/s or m/s, rad/s²).
type Joint struct {
	Name   string
	Type   joint.Type // used only with limits from the config; default Revolute
	Limits joint.Limits
}

// Config configures Open. Zero fields take the stated defaults.
type Config struct {
	// Master is the ROS master URI ("http://host:11311" or "host:11311"); default
	// $ROS_MASTER_URI, then http://127.0.0.1:11311.
	Master string
	// Host is the address other nodes reach this node at; default $ROS_IP, then
	// $ROS_HOSTNAME, then an address on the master's subnet.
	Host string
	// Namespace of the node; default "/" ($ROS_NAMESPACE overrides, as in goroslib).
	Namespace string
	// Name of the node; default "praxis_arm". Two nodes with one name evict each other.
	Name string
	// StateTopic carries sensor_msgs/JointState; default /joint_states. Messages may
	// hold any subset of joints in any order (several publishers are fine).
	StateTopic string
	// Controller is Trajectory (default) or Position.
	Controller string
	// CommandTopic; default /arm_controller/command for Trajectory,
	// /joint_group_position_controller/command for Position.
	CommandTopic string
	// Joints in command order (for Position: the controller's joint order). Empty means
	// every moving joint of the URDF, in URDF order.
	Joints []Joint
	// RobotDescription is the parameter holding the URDF, read at Open only when some
	// joint's limits are not in the config; default /robot_description.
	RobotDescription string
	// Period is a JointTrajectory point's time_from_start: the control period; default
	// 2 ms (500 Hz).
	Period time.Duration
	// StaleAfter: a joint state older than this faults Read and blocks Command; default
	// 200 ms.
	StaleAfter time.Duration
	// CheckEvery is how often the supervisor checks the master; default 500 ms.
	CheckEvery time.Duration
	// Ring is the number of command messages reused in turn; default 256, minimum 128.
	Ring int
	// Clock timestamps State.Time (receive time); default clock.NewReal().
	Clock clock.Clock
	// Logger receives goroslib's warnings and the supervisor's reconnections; default
	// discard.
	Logger *slog.Logger
}

// validate applies defaults and checks the fields; errors name the field.
func (c *Config) validate() error {
	var err error
	if c.Master, err = ResolveMaster(c.Master); err != nil {
		return err
	}
	c.Host = ResolveHost(c.Host)
	if c.Name == "" {
		c.Name = DefaultName
	}
	if strings.ContainsAny(c.Name, "/ ") {
		return fmt.Errorf("rosarm: config: Name %q: no slashes or spaces (use Namespace)", c.Name)
	}
	if ns := os.Getenv("ROS_NAMESPACE"); ns != "" {
		c.Namespace = ns // as goroslib does
	}
	if c.Namespace != "" && !strings.HasPrefix(c.Namespace, "/") {
		return fmt.Errorf("rosarm: config: Namespace %q: must start with /", c.Namespace)
	}
	if c.StateTopic == "" {
		c.StateTopic = DefaultStateTopic
	}
	switch c.Controller {
	case "", Trajectory:
		c.Controller = Trajectory
		if c.CommandTopic == "" {
			c.CommandTopic = DefaultTrajectoryTopic
		}
	case Position:
		if c.CommandTopic == "" {
			c.CommandTopic = DefaultPositionTopic
		}
	default:
		return fmt.Errorf("rosarm: config: Controller %q: want %q or %q", c.Controller, Trajectory, Position)
	}
	if c.CommandTopic == c.StateTopic {
		return fmt.Errorf("rosarm: config: CommandTopic and StateTopic are both %q", c.StateTopic)
	}
	if c.RobotDescription == "" {
		c.RobotDescription = DefaultRobotDescription
	}
	seen := map[string]bool{}
	for i, j := range c.Joints {
		if j.Name == "" {
			return fmt.Errorf("rosarm: config: Joints[%d]: empty name", i)
		}
		if seen[j.Name] {
			return fmt.Errorf("rosarm: config: Joints[%d]: duplicate joint %q", i, j.Name)
		}
		seen[j.Name] = true
		l := j.Limits
		for _, v := range []float64{l.Min, l.Max, l.MaxVel, l.MaxAcc} {
			if math.IsNaN(v) {
				return fmt.Errorf("rosarm: config: Joints[%d] (%s): limit is NaN", i, j.Name)
			}
		}
		if l.Min > l.Max || l.MaxVel < 0 || l.MaxAcc < 0 {
			return fmt.Errorf("rosarm: config: Joints[%d] (%s): limits %+v: want Min ≤ Max, MaxVel and MaxAcc ≥ 0", i, j.Name, l)
		}
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"Period", &c.Period, DefaultPeriod}, {"StaleAfter", &c.StaleAfter, DefaultStaleAfter}, {"CheckEvery", &c.CheckEvery, DefaultCheckEvery}} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 {
			return fmt.Errorf("rosarm: config: %s %v is negative", d.name, *d.v)
		}
	}
	if c.Ring == 0 {
		c.Ring = DefaultRing
	}
	if c.Ring < 128 {
		return fmt.Errorf("rosarm: config: Ring %d: want ≥ 128 (goroslib queues 64 messages a subscriber)", c.Ring)
	}
	if c.Clock == nil {
		c.Clock = clock.NewReal()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Arm is an arm behind a ROS 1 driver. Safe for concurrent use.
type Arm struct {
	cfg    Config
	joints []joint.Joint
	names  []string
	n      int
	stale  string // StaleAfter as "200 ms"

	mu       sync.Mutex // guards the state below
	pos      []float64
	vel      []float64
	eff      []float64
	at       []time.Duration // receive time per joint; -1: never
	newest   time.Duration
	lastName []string // the names of the last message (goroslib's, never written)
	lastIdx  []int    // lastName[k] is joint lastIdx[k], or -1
	received uint64
	rejected uint64

	cmdMu  sync.Mutex // guards the mailbox
	cmdPos []float64
	cmdVel []float64
	hasVel bool
	kick   chan struct{}
	notify chan struct{} // a state arrived (cap 1), for WaitState

	connMu sync.Mutex // guards the connection
	conn   *conn

	traj []*trajectory_msgs.JointTrajectory
	arr  []*std_msgs.Float64MultiArray
	slot int
	bufP []float64 // sender's copy of the mailbox
	bufV []float64

	onSent     func(pos0 float64) // test hook: called after each Write
	sent       atomic.Uint64
	reconnects atomic.Uint64
	closed     atomic.Bool
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// conn is one live goroslib node with its subscriber and publisher.
type conn struct {
	node *goroslib.Node
	sub  *goroslib.Subscriber
	pub  *goroslib.Publisher
	uri  string // this node's slave URI as the master knows it
}

// Open validates cfg, connects to the master (retrying until ctx ends), reads the URDF
// when some limits are missing, and starts receiving joint states. Errors name the bad
// field, the missing joint or the unreachable master.
func Open(ctx context.Context, cfg Config) (*Arm, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Arm{cfg: cfg, kick: make(chan struct{}, 1), notify: make(chan struct{}, 1)}
	a.stale = fmt.Sprintf("%g ms", float64(cfg.StaleAfter)/float64(time.Millisecond))
	c, err := a.connectRetry(ctx)
	if err != nil {
		return nil, err
	}
	js, err := a.resolveJoints(ctx, c.node)
	if err != nil {
		a.closeConn(c)
		return nil, err
	}
	a.init(js)
	// Subscribe and advertise only now that the joints are known.
	if err := a.attach(c); err != nil {
		a.closeConn(c)
		return nil, err
	}
	a.conn = c
	rctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Add(2)
	go a.supervise(rctx)
	go a.send(rctx)
	return a, nil
}

// init sizes the buffers for joints.
func (a *Arm) init(js []joint.Joint) {
	a.joints = js
	a.n = len(js)
	a.names = joint.Names(js)
	a.pos = make([]float64, a.n)
	a.vel = make([]float64, a.n)
	a.eff = make([]float64, a.n)
	a.at = make([]time.Duration, a.n)
	for i := range a.at {
		a.at[i] = -1
	}
	a.cmdPos = make([]float64, a.n)
	a.cmdVel = make([]float64, a.n)
	a.bufP = make([]float64, a.n)
	a.bufV = make([]float64, a.n)
	a.makeRing()
}

// Joints returns the joints with their limits, in command order.
func (a *Arm) Joints() []joint.Joint { return append([]joint.Joint(nil), a.joints...) }

// Read fills s with the latest joint state (positions, and velocities and efforts when
// the robot sends them, else 0); s.Time is the receive time of the newest message on
// Config.Clock. It fails wrapping drivers.ErrTimeout when any joint's state is older than
// Config.StaleAfter, and drivers.ErrClosed after Close. It allocates nothing when s has
// one slot per joint.
func (a *Arm) Read(ctx context.Context, s *joint.State) error {
	if a.closed.Load() {
		return drivers.ErrClosed
	}
	s.Resize(a.n)
	now := a.cfg.Clock.Now()
	a.mu.Lock()
	if i := a.staleJoint(now); i >= 0 {
		a.mu.Unlock()
		return a.staleErr(i)
	}
	copy(s.Pos, a.pos)
	copy(s.Vel, a.vel)
	copy(s.Eff, a.eff)
	s.Time = a.newest
	a.mu.Unlock()
	return nil
}

// staleJoint returns the first joint whose state is older than StaleAfter at now, or -1.
// a.mu must be held.
func (a *Arm) staleJoint(now time.Duration) int {
	for i, t := range a.at {
		if t < 0 || now-t > a.cfg.StaleAfter {
			return i
		}
	}
	return -1
}

func (a *Arm) staleErr(i int) error {
	return fmt.Errorf("rosarm: no joint state for %s on %s (joint %q): %w", a.stale, a.cfg.StateTopic, a.names[i], drivers.ErrTimeout)
}

// Command sends target positions (clamped into the joint limits) and, when c.Vel has one
// entry per joint, velocities (JointTrajectory only). It returns at once: a sender
// goroutine publishes the newest command. It fails on wrong lengths or non-finite values,
// wrapping drivers.ErrTimeout when the state is stale (it never commands from a stale
// state), and with drivers.ErrClosed after Close. It allocates nothing.
func (a *Arm) Command(ctx context.Context, c joint.Command) error {
	if a.closed.Load() {
		return drivers.ErrClosed
	}
	if len(c.Pos) != a.n {
		return fmt.Errorf("rosarm: command has %d positions for %d joints", len(c.Pos), a.n)
	}
	hasVel := len(c.Vel) > 0
	if hasVel && len(c.Vel) != a.n {
		return fmt.Errorf("rosarm: command has %d velocities for %d joints", len(c.Vel), a.n)
	}
	for i, q := range c.Pos {
		if math.IsNaN(q) || math.IsInf(q, 0) {
			return fmt.Errorf("rosarm: command: joint %q position %v", a.names[i], q)
		}
		if hasVel && (math.IsNaN(c.Vel[i]) || math.IsInf(c.Vel[i], 0)) {
			return fmt.Errorf("rosarm: command: joint %q velocity %v", a.names[i], c.Vel[i])
		}
	}
	now := a.cfg.Clock.Now()
	a.mu.Lock()
	i := a.staleJoint(now)
	a.mu.Unlock()
	if i >= 0 {
		return fmt.Errorf("rosarm: not commanding from a stale state: %w", a.staleErr(i))
	}
	a.cmdMu.Lock()
	for i, q := range c.Pos {
		a.cmdPos[i] = a.joints[i].Limits.Clamp(q)
	}
	if hasVel {
		copy(a.cmdVel, c.Vel)
	}
	a.hasVel = hasVel
	a.cmdMu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default: // the sender has a command pending: it will take this newer one
	}
	return nil
}

// Stats are counters for tests and diagnostics.
type Stats struct {
	Received   uint64 // joint state messages taken
	Rejected   uint64 // joint state messages ignored (ragged arrays)
	Sent       uint64 // command messages written to the publisher
	Reconnects uint64 // times the node was rebuilt after a master restart
}

// Stats returns the counters.
func (a *Arm) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Stats{Received: a.received, Rejected: a.rejected, Sent: a.sent.Load(), Reconnects: a.reconnects.Load()}
}

// Close stops the supervisor and the sender and shuts the node down; later calls return
// drivers.ErrClosed. Closing twice is fine.
func (a *Arm) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	a.connMu.Lock()
	c := a.conn
	a.conn = nil
	a.connMu.Unlock()
	a.closeConn(c)
	return nil
}

// onState takes one JointState message (goroslib's dispatcher goroutine). Joints are
// matched by name; the mapping is rebuilt only when the name list changes.
func (a *Arm) onState(m *sensor_msgs.JointState) {
	now := a.cfg.Clock.Now()
	k := len(m.Name)
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(m.Position) != k || (len(m.Velocity) != 0 && len(m.Velocity) != k) || (len(m.Effort) != 0 && len(m.Effort) != k) {
		a.rejected++
		return
	}
	if !sameNames(a.lastName, m.Name) {
		idx := make([]int, k)
		for j, name := range m.Name {
			idx[j] = -1
			for i, have := range a.names {
				if have == name {
					idx[j] = i
					break
				}
			}
		}
		a.lastName, a.lastIdx = m.Name, idx
	}
	took := false
	for j, i := range a.lastIdx {
		if i < 0 {
			continue
		}
		took = true
		a.pos[i] = m.Position[j]
		a.vel[i], a.eff[i] = 0, 0
		if len(m.Velocity) == k {
			a.vel[i] = m.Velocity[j]
		}
		if len(m.Effort) == k {
			a.eff[i] = m.Effort[j]
		}
		a.at[i] = now
	}
	if took {
		a.newest = now
		a.received++
		select {
		case a.notify <- struct{}{}:
		default:
		}
	}
}

// WaitState blocks until every joint has a fresh state (the robot is up) or ctx ends;
// the error then says which joint is missing. For one waiter at a time.
func (a *Arm) WaitState(ctx context.Context) error {
	for {
		if a.closed.Load() {
			return drivers.ErrClosed
		}
		a.mu.Lock()
		i := a.staleJoint(a.cfg.Clock.Now())
		a.mu.Unlock()
		if i < 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", a.staleErr(i), ctx.Err())
		case <-a.notify:
		case <-time.After(a.cfg.StaleAfter):
		}
	}
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// makeRing allocates the command messages.
func (a *Arm) makeRing() {
	if a.cfg.Controller == Trajectory {
		a.traj = make([]*trajectory_msgs.JointTrajectory, a.cfg.Ring)
		for k := range a.traj {
			a.traj[k] = &trajectory_msgs.JointTrajectory{
				JointNames: a.names, // shared, never written
				Points: []trajectory_msgs.JointTrajectoryPoint{{
					Positions:     make([]float64, a.n),
					Velocities:    make([]float64, a.n),
					TimeFromStart: a.cfg.Period,
				}},
			}
		}
		return
	}
	a.arr = make([]*std_msgs.Float64MultiArray, a.cfg.Ring)
	for k := range a.arr {
		a.arr[k] = &std_msgs.Float64MultiArray{Data: make([]float64, a.n)}
	}
}

// send publishes the newest command each time Command kicks it.
func (a *Arm) send(ctx context.Context) {
	defer a.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		}
		a.cmdMu.Lock()
		copy(a.bufP, a.cmdPos)
		copy(a.bufV, a.cmdVel)
		hasVel := a.hasVel
		a.cmdMu.Unlock()
		a.connMu.Lock()
		c := a.conn
		a.connMu.Unlock()
		if c == nil || c.pub == nil {
			continue
		}
		k := a.slot
		a.slot = (a.slot + 1) % a.cfg.Ring
		if a.traj != nil {
			m := a.traj[k]
			p := &m.Points[0]
			p.Positions = p.Positions[:a.n]
			copy(p.Positions, a.bufP)
			p.Velocities = p.Velocities[:cap(p.Velocities)]
			if hasVel {
				copy(p.Velocities, a.bufV)
			} else {
				p.Velocities = p.Velocities[:0]
			}
			c.pub.Write(m)
		} else {
			m := a.arr[k]
			copy(m.Data, a.bufP)
			c.pub.Write(m)
		}
		a.sent.Add(1)
		if a.onSent != nil {
			a.onSent(a.bufP[0])
		}
	}
}

// connectRetry builds a node, retrying every CheckEvery until ctx ends.
func (a *Arm) connectRetry(ctx context.Context) (*conn, error) {
	for {
		c, err := a.connect()
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("rosarm: master %s: %v (%w)", a.cfg.Master, err, ctx.Err())
		case <-time.After(a.cfg.CheckEvery):
		}
	}
}

// connect builds the node (no topics yet).
func (a *Arm) connect() (*conn, error) {
	log := a.cfg.Logger
	n, err := goroslib.NewNode(goroslib.NodeConf{
		MasterAddress:   a.cfg.Master,
		Namespace:       a.cfg.Namespace,
		Name:            a.cfg.Name,
		Host:            a.cfg.Host,
		LogLevel:        goroslib.LogLevelWarn,
		LogDestinations: goroslib.LogDestinationCallback | goroslib.LogDestinationRosout,
		OnLog: func(l goroslib.LogLevel, s string) {
			log.Warn("rosarm: goroslib", "level", int(l), "msg", s)
		},
	})
	if err != nil {
		return nil, err
	}
	return &conn{node: n}, nil
}

// attach subscribes to the state and advertises the command topic on c.
func (a *Arm) attach(c *conn) error {
	var err error
	c.sub, err = goroslib.NewSubscriber(goroslib.SubscriberConf{
		Node: c.node, Topic: a.cfg.StateTopic, Callback: a.onState,
	})
	if err != nil {
		return fmt.Errorf("rosarm: subscribe %s: %v", a.cfg.StateTopic, err)
	}
	var msg any = &std_msgs.Float64MultiArray{}
	if a.cfg.Controller == Trajectory {
		msg = &trajectory_msgs.JointTrajectory{}
	}
	c.pub, err = goroslib.NewPublisher(goroslib.PublisherConf{Node: c.node, Topic: a.cfg.CommandTopic, Msg: msg})
	if err != nil {
		return fmt.Errorf("rosarm: advertise %s: %v", a.cfg.CommandTopic, err)
	}
	c.uri, _ = a.master().LookupNode(a.nodeName())
	return nil
}

func (a *Arm) closeConn(c *conn) {
	if c == nil {
		return
	}
	if c.pub != nil {
		c.pub.Close()
	}
	if c.sub != nil {
		c.sub.Close()
	}
	c.node.Close()
}

// resolveJoints merges the configured joints with the URDF's when needed.
func (a *Arm) resolveJoints(ctx context.Context, n *goroslib.Node) ([]joint.Joint, error) {
	need := len(a.cfg.Joints) == 0
	for _, j := range a.cfg.Joints {
		need = need || !(j.Limits.Min < j.Limits.Max)
	}
	var urdf *sim.Model
	if need {
		text, err := a.readParam(ctx, n)
		if err != nil {
			missing := "no joints configured"
			for _, j := range a.cfg.Joints {
				if !(j.Limits.Min < j.Limits.Max) {
					missing = fmt.Sprintf("joint %q has no limits in the config", j.Name)
					break
				}
			}
			return nil, fmt.Errorf("rosarm: %s and parameter %s is unreadable: %v", missing, a.cfg.RobotDescription, err)
		}
		if urdf, err = sim.ParseURDF([]byte(text)); err != nil {
			return nil, fmt.Errorf("rosarm: parameter %s: %w", a.cfg.RobotDescription, err)
		}
	}
	return mergeJoints(a.cfg.Joints, urdf, a.cfg.RobotDescription)
}

// readParam reads the URDF parameter, waiting (until ctx ends) for the robot's bring-up
// to set it.
func (a *Arm) readParam(ctx context.Context, n *goroslib.Node) (string, error) {
	for {
		set, err := n.ParamIsSet(a.cfg.RobotDescription)
		if err == nil && set {
			return n.ParamGetString(a.cfg.RobotDescription)
		}
		if err == nil {
			err = errors.New("not set")
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%v (%w)", err, ctx.Err())
		case <-time.After(a.cfg.CheckEvery / 5):
		}
	}
}

// mergeJoints returns cfg's joints with limits from the config or else the URDF (nil
// when every joint has limits); no cfg joints means every URDF joint.
func mergeJoints(cfg []Joint, urdf *sim.Model, param string) ([]joint.Joint, error) {
	byName := map[string]sim.JointSpec{}
	var order []string
	if urdf != nil {
		for _, s := range urdf.Joints() {
			byName[s.Name] = s
			order = append(order, s.Name)
		}
	}
	if len(cfg) == 0 {
		if len(order) == 0 {
			return nil, fmt.Errorf("rosarm: no joints in the config nor in %s", param)
		}
		for _, name := range order {
			cfg = append(cfg, Joint{Name: name})
		}
	}
	out := make([]joint.Joint, len(cfg))
	for i, j := range cfg {
		out[i] = joint.Joint{Name: j.Name, Type: j.Type, Limits: j.Limits}
		s, inURDF := byName[j.Name]
		if j.Limits.Min < j.Limits.Max {
			if inURDF && out[i].Limits.MaxVel == 0 {
				out[i].Limits.MaxVel = s.Velocity
			}
			continue
		}
		if !inURDF {
			return nil, fmt.Errorf("rosarm: joint %q: no limits in the config and not a moving joint of %s", j.Name, param)
		}
		out[i].Type = s.Type
		out[i].Limits = joint.Limits{Min: s.Min, Max: s.Max, MaxVel: s.Velocity, MaxAcc: j.Limits.MaxAcc}
		if j.Limits.MaxVel > 0 {
			out[i].Limits.MaxVel = j.Limits.MaxVel
		}
	}
	return out, nil
}

var (
	_ drivers.Arm = (*Arm)(nil)
	_ io.Closer   = (*Arm)(nil)
)
