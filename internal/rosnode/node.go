package rosnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/apimaster"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"

	rosarm "github.com/praxis-robotics/praxis/drivers/ros"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Core is what the node needs of the daemon. Every method must be safe for concurrent
// use; none may block on the arm.
type Core interface {
	// Joints names the arm's joints, in the order of JointState's slices.
	Joints() []string
	// JointState copies the arm's latest measured state into s (sized for Joints) and
	// reports whether there is a recent one.
	JointState(s *joint.State) bool
	// Skills lists the skill library.
	Skills(ctx context.Context) ([]SkillSummary, error)
	// Run submits a run under the daemon's rules for every front end (one run at a time,
	// e-stop, authorisation). It returns once the run is accepted, or the rejection: the
	// error's text is the reason. The run's events carry r.ID.
	Run(ctx context.Context, r RunRequest) error
	// Events delivers every daemon event, JSON-encoded exactly as on the MQTT events
	// topic (an object with at least "id" and "type"), until ctx ends; the channel is
	// then closed. The daemon must not block on a slow reader (drop the oldest).
	Events(ctx context.Context) <-chan []byte
}

// RunRequest asks the daemon for a run, as cmd/run over MQTT does.
type RunRequest struct {
	ID       string             // request id, echoed in every event; never empty
	Skill    string             // skill name
	Version  int                // skill version; 0 means the newest
	Goal     map[string]float64 // goal override by joint name, rad or m; nil: the skill's
	Duration float64            // s; 0 means the skill's own
}

// SkillSummary describes one skill of the library.
type SkillSummary struct {
	Name     string
	Version  int   // newest version
	Versions []int // every stored version, ascending
	Joints   []string
	Duration float64 // nominal duration, s
}

// Config configures the ROS front end (the `ros:` section of the daemon's config). Zero
// fields take the stated defaults.
type Config struct {
	// Enabled turns the front end on; default off: ROS 1 has no authentication, so
	// anyone who can reach the master can run skills. Bind it to a trusted network.
	Enabled bool `yaml:"enabled"`
	// Master is the ROS master URI; default $ROS_MASTER_URI, then http://127.0.0.1:11311.
	Master string `yaml:"master"`
	// Host is the address other nodes reach this node at (bind it to the trusted
	// network's interface); default $ROS_IP, then $ROS_HOSTNAME, then automatic.
	Host string `yaml:"host"`
	// Name of the node; default "praxis_<robot>".
	Name string `yaml:"node"`
	// DMPNamespace holds learn_dmp_from_demo, set_active_dmp and get_dmp_plan; default
	// "/" (where the dmp package's dmp_server puts them).
	DMPNamespace string `yaml:"dmp_namespace"`
	// NoDMPServices leaves the dmp package's services out.
	NoDMPServices bool `yaml:"no_dmp_services"`
	// StateRate is the rate of /praxis/<robot>/joint_states, Hz; default 50.
	StateRate float64 `yaml:"state_rate"`

	// Robot is the robot id: topics and services live under /praxis/<robot>/. Required;
	// the daemon sets it.
	Robot string `yaml:"-"`
	// Core is the daemon; required.
	Core Core `yaml:"-"`
	// Logger; default discard.
	Logger *slog.Logger `yaml:"-"`
	// CheckEvery is how often the master is checked (a restarted master is registered
	// with again); default 1 s.
	CheckEvery time.Duration `yaml:"-"`
}

var rosName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// Node is Praxis as a ROS node.
type Node struct {
	cfg   Config
	base  string // /praxis/<robot>
	dmp   *DMPServer
	seq   atomic.Uint64
	conns atomic.Uint64
	up    chan struct{} // a connection was made (cap 1)
}

// New validates cfg; it does not touch the network. Errors name the bad field.
func New(cfg Config) (*Node, error) {
	if cfg.Core == nil {
		return nil, errors.New("rosnode: config: Core is nil")
	}
	if !rosName.MatchString(cfg.Robot) {
		return nil, fmt.Errorf("rosnode: config: robot id %q is not a ROS name (a letter, then letters, digits, _)", cfg.Robot)
	}
	var err error
	if cfg.Master, err = rosarm.ResolveMaster(cfg.Master); err != nil {
		return nil, fmt.Errorf("rosnode: config: %w", err)
	}
	cfg.Host = rosarm.ResolveHost(cfg.Host)
	if cfg.Name == "" {
		cfg.Name = "praxis_" + cfg.Robot
	}
	if !rosName.MatchString(cfg.Name) {
		return nil, fmt.Errorf("rosnode: config: node %q is not a ROS name", cfg.Name)
	}
	if cfg.DMPNamespace == "" {
		cfg.DMPNamespace = "/"
	}
	if !strings.HasPrefix(cfg.DMPNamespace, "/") {
		return nil, fmt.Errorf("rosnode: config: dmp_namespace %q must start with /", cfg.DMPNamespace)
	}
	if cfg.StateRate == 0 {
		cfg.StateRate = 50
	}
	if !(cfg.StateRate > 0 && cfg.StateRate <= 1000) {
		return nil, fmt.Errorf("rosnode: config: state_rate %v Hz, want (0, 1000]", cfg.StateRate)
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Node{cfg: cfg, base: "/praxis/" + cfg.Robot, dmp: NewDMPServer(), up: make(chan struct{}, 1)}, nil
}

// Names of the node's topics and services.
func (n *Node) EventsTopic() string      { return n.base + "/events" }
func (n *Node) JointStatesTopic() string { return n.base + "/joint_states" }
func (n *Node) RunService() string       { return n.base + "/run_skill" }
func (n *Node) ListService() string      { return n.base + "/list_skills" }

// DMPService returns the name of one of the dmp package's services.
func (n *Node) DMPService(name string) string {
	return strings.TrimSuffix(n.cfg.DMPNamespace, "/") + "/" + name
}

// Connections returns how many times the node has registered with a master.
func (n *Node) Connections() uint64 { return n.conns.Load() }

// Connected receives a value after each registration with a master (it holds at most
// one): for a daemon to log, or a test to wait on.
func (n *Node) Connected() <-chan struct{} { return n.up }

// Run serves until ctx ends: it connects (retrying), and registers again whenever the
// master restarts. It returns nil when ctx ends.
func (n *Node) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := n.serveOnce(ctx)
		if err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("rosnode: reconnecting", "master", n.cfg.Master, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(n.cfg.CheckEvery):
		}
	}
	return nil
}

// serveOnce runs one node until ctx ends or the master forgets it.
func (n *Node) serveOnce(ctx context.Context) error {
	log := n.cfg.Logger
	node, err := goroslib.NewNode(goroslib.NodeConf{
		MasterAddress: n.cfg.Master, Name: n.cfg.Name, Host: n.cfg.Host,
		LogLevel:        goroslib.LogLevelWarn,
		LogDestinations: goroslib.LogDestinationCallback | goroslib.LogDestinationRosout,
		OnLog:           func(l goroslib.LogLevel, s string) { log.Warn("rosnode: goroslib", "level", int(l), "msg", s) },
	})
	if err != nil {
		return err
	}
	defer node.Close()
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	provide := func(name string, srv, cb any) error {
		sp, err := goroslib.NewServiceProvider(goroslib.ServiceProviderConf{Node: node, Name: name, Srv: srv, Callback: cb})
		if err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
		closers = append(closers, sp.Close)
		return nil
	}
	// goroslib v2.1.4 answers a failed call (false) without the error text, and rospy
	// then waits for it forever: every handler succeeds, and reports problems in the
	// response and in the ROS log.
	if !n.cfg.NoDMPServices {
		if err := provide(n.DMPService("learn_dmp_from_demo"), &LearnDMPFromDemo{}, func(req *LearnDMPFromDemoReq) (*LearnDMPFromDemoRes, bool) {
			res, err := n.dmp.Learn(req)
			if err != nil {
				node.Log(goroslib.LogLevelError, "learn_dmp_from_demo: %v", err)
				return &LearnDMPFromDemoRes{}, true
			}
			return res, true
		}); err != nil {
			return err
		}
		if err := provide(n.DMPService("set_active_dmp"), &SetActiveDMP{}, func(req *SetActiveDMPReq) (*SetActiveDMPRes, bool) {
			if err := n.dmp.SetActive(req.DmpList); err != nil {
				node.Log(goroslib.LogLevelError, "set_active_dmp: %v", err)
				return &SetActiveDMPRes{Success: false}, true
			}
			return &SetActiveDMPRes{Success: true}, true
		}); err != nil {
			return err
		}
		if err := provide(n.DMPService("get_dmp_plan"), &GetDMPPlan{}, func(req *GetDMPPlanReq) (*GetDMPPlanRes, bool) {
			res, err := n.dmp.Plan(req)
			if err != nil {
				node.Log(goroslib.LogLevelError, "get_dmp_plan: %v", err)
				return &GetDMPPlanRes{}, true
			}
			return res, true
		}); err != nil {
			return err
		}
	}
	if err := provide(n.ListService(), &ListSkills{}, n.listSkills(ctx)); err != nil {
		return err
	}
	if err := provide(n.RunService(), &RunSkill{}, n.runSkill(ctx)); err != nil {
		return err
	}
	evPub, err := goroslib.NewPublisher(goroslib.PublisherConf{Node: node, Topic: n.EventsTopic(), Msg: &std_msgs.String{}})
	if err != nil {
		return err
	}
	closers = append(closers, evPub.Close)
	jsPub, err := goroslib.NewPublisher(goroslib.PublisherConf{Node: node, Topic: n.JointStatesTopic(), Msg: &sensor_msgs.JointState{}})
	if err != nil {
		return err
	}
	closers = append(closers, jsPub.Close)
	n.conns.Add(1)
	select {
	case n.up <- struct{}{}:
	default:
	}
	log.Info("rosnode: serving", "master", n.cfg.Master, "node", n.cfg.Name, "events", n.EventsTopic())

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := n.cfg.Core.Events(sctx)
	names := n.cfg.Core.Joints()
	st := joint.NewState(len(names))
	tick := time.NewTicker(time.Duration(float64(time.Second) / n.cfg.StateRate))
	defer tick.Stop()
	check := time.NewTicker(n.cfg.CheckEvery)
	defer check.Stop()
	mc := apimaster.NewClient(n.cfg.Master, "/"+n.cfg.Name, &http.Client{Timeout: time.Second})
	var seq uint32
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-events:
			if !ok {
				return errors.New("core closed the event stream")
			}
			evPub.Write(&std_msgs.String{Data: string(b)}) // a fresh message per write
		case <-tick.C:
			if !n.cfg.Core.JointState(&st) {
				continue
			}
			seq++
			jsPub.Write(&sensor_msgs.JointState{
				Header: std_msgs.Header{Seq: seq, Stamp: time.Now()}, Name: names,
				Position: append([]float64(nil), st.Pos...), Velocity: append([]float64(nil), st.Vel...),
				Effort: append([]float64(nil), st.Eff...),
			})
		case <-check.C:
			if _, err := mc.GetURI(); err != nil {
				continue // master down: keep serving the connections we have
			}
			if _, err := mc.LookupNode("/" + n.cfg.Name); err != nil {
				return fmt.Errorf("the master no longer knows this node (restarted?): %w", err)
			}
		}
	}
}

// listSkills answers list_skills.
func (n *Node) listSkills(ctx context.Context) func(*ListSkillsReq) (*ListSkillsRes, bool) {
	return func(*ListSkillsReq) (*ListSkillsRes, bool) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ss, err := n.cfg.Core.Skills(cctx)
		if err != nil {
			return &ListSkillsRes{Error: err.Error()}, true
		}
		res := &ListSkillsRes{Skills: []SkillInfo{}}
		for _, s := range ss {
			si := SkillInfo{Name: s.Name, Version: int32(s.Version), Joints: s.Joints, Duration: s.Duration}
			for _, v := range s.Versions {
				si.Versions = append(si.Versions, int32(v))
			}
			res.Skills = append(res.Skills, si)
		}
		return res, true
	}
}

// event is the part of a daemon event the run service reads.
type event struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"`
	Reason     string   `json:"reason"`
	FinalError *float64 `json:"final_error"`
}

// runSkill answers run_skill: it submits the run and answers when the daemon accepts or
// rejects it, or, with wait, when the run ends.
func (n *Node) runSkill(ctx context.Context) func(*RunSkillReq) (*RunSkillRes, bool) {
	return func(req *RunSkillReq) (*RunSkillRes, bool) {
		id := req.ID
		if id == "" {
			id = fmt.Sprintf("ros-%d-%d", time.Now().UnixNano()%1e9, n.seq.Add(1))
		}
		res := &RunSkillRes{ID: id, Outcome: "rejected"}
		r := RunRequest{ID: id, Skill: req.Skill, Version: int(req.Version), Duration: req.Duration}
		if req.Skill == "" {
			res.Reason = "skill is empty"
			return res, true
		}
		if req.Version < 0 {
			res.Reason = fmt.Sprintf("version %d is negative", req.Version)
			return res, true
		}
		if len(req.GoalJoints) != len(req.Goal) {
			res.Reason = fmt.Sprintf("%d goal_joints for %d goal values", len(req.GoalJoints), len(req.Goal))
			return res, true
		}
		if len(req.Goal) > 0 {
			r.Goal = map[string]float64{}
			for i, name := range req.GoalJoints {
				if _, dup := r.Goal[name]; dup {
					res.Reason = fmt.Sprintf("goal_joints[%d]: joint %q twice", i, name)
					return res, true
				}
				r.Goal[name] = req.Goal[i]
			}
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var events <-chan []byte
		if req.Wait { // listen before submitting, so no event is missed
			events = n.cfg.Core.Events(wctx)
		}
		if err := n.cfg.Core.Run(wctx, r); err != nil {
			res.Reason = err.Error()
			return res, true
		}
		res.Accepted, res.Outcome = true, "accepted"
		if !req.Wait {
			return res, true
		}
		for b := range events {
			var e event
			if json.Unmarshal(b, &e) != nil || e.ID != id {
				continue
			}
			switch e.Type {
			case "succeeded", "failed", "aborted", "rejected":
				res.Outcome, res.Reason = e.Type, e.Reason
				if e.FinalError != nil {
					res.FinalError = *e.FinalError
				}
				return res, true
			}
		}
		res.Outcome, res.Reason = "aborted", "praxis is shutting down"
		return res, true
	}
}
