package sim

import (
	"fmt"
	"math"
	"sort"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// JointSpec describes one actuated joint of a Model, as read from the URDF (after any
// per-model substitutions, see LoadBuiltin).
type JointSpec struct {
	Name     string
	Type     joint.Type
	Min, Max float64 // position limits, rad or m (±Inf for continuous joints)
	Effort   float64 // largest actuator effort, N·m or N
	Velocity float64 // largest speed, rad/s or m/s
	Damping  float64 // URDF <dynamics damping>, N·m·s/rad or N·s/m (0 if absent)
	Friction float64 // URDF <dynamics friction>, N·m or N (0 if absent)
}

// Pose is a rigid pose: position Pos (m) and rotation Rot (row-major; column k is the
// frame's k-th axis) in the model's base frame.
type Pose struct {
	Pos [3]float64
	Rot [3][3]float64
}

// Matrix returns the pose as a homogeneous 4×4 transform.
func (p Pose) Matrix() [4][4]float64 {
	var m [4][4]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			m[i][j] = p.Rot[i][j]
		}
		m[i][3] = p.Pos[i]
	}
	m[3][3] = 1
	return m
}

// linkFrame places a URDF link on a body: body index (-1: the fixed base) and the
// link's pose in the body frame.
type linkFrame struct {
	body int
	x    xform
}

// Model is a kinematic tree of actuated joints with fixed links merged into their
// parents. Bodies are ordered so that a parent comes before its children; body i moves
// with joint i. A Model is immutable once built and safe to share between goroutines.
type Model struct {
	name   string
	joints []JointSpec
	parent []int   // parent body of each body; -1 is the fixed base
	tree   []xform // parent body frame -> joint frame of each body (fixed part)
	axis   []vec3  // unit joint axis, in the joint (= body) frame
	inert  []inertia
	links  map[string]linkFrame
	ee     string
	grav   vec3
}

// Name returns the robot name from the URDF.
func (m *Model) Name() string { return m.name }

// DOF returns the number of actuated joints.
func (m *Model) DOF() int { return len(m.joints) }

// Joints returns a copy of the actuated joints in model order (root to tip, depth first).
func (m *Model) Joints() []JointSpec { return append([]JointSpec(nil), m.joints...) }

// JointIndex returns the index of the named joint, or an error naming it.
func (m *Model) JointIndex(name string) (int, error) {
	for i, j := range m.joints {
		if j.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("sim: unknown joint %q", name)
}

// Links returns the URDF link names, sorted.
func (m *Model) Links() []string {
	out := make([]string, 0, len(m.links))
	for n := range m.links {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// EndEffector returns the name of the link used as end effector.
func (m *Model) EndEffector() string { return m.ee }

// WithEndEffector returns a copy of m whose end effector is the named link; it fails
// if the link does not exist.
func (m *Model) WithEndEffector(link string) (*Model, error) {
	if _, ok := m.links[link]; !ok {
		return nil, fmt.Errorf("sim: unknown link %q", link)
	}
	c := *m
	c.ee = link
	return &c, nil
}

// WithLimits returns a copy of m with joint i's effort (N·m or N) and velocity (rad/s or
// m/s) limits replaced; non-positive or non-finite values are an error.
func (m *Model) WithLimits(i int, effort, velocity float64) (*Model, error) {
	if i < 0 || i >= len(m.joints) {
		return nil, fmt.Errorf("sim: joint index %d out of range [0,%d)", i, len(m.joints))
	}
	if !(effort > 0) || !(velocity > 0) || math.IsInf(effort, 0) || math.IsInf(velocity, 0) {
		return nil, fmt.Errorf("sim: joint %q: effort %g and velocity %g must be positive and finite", m.joints[i].Name, effort, velocity)
	}
	c := *m
	c.joints = append([]JointSpec(nil), m.joints...)
	c.joints[i].Effort, c.joints[i].Velocity = effort, velocity
	return &c, nil
}

// Mass returns the total moving mass (kg), excluding links fixed to the base.
func (m *Model) Mass() float64 {
	s := 0.0
	for _, in := range m.inert {
		s += in.M
	}
	return s
}
