package sim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// ErrURDF marks every URDF parse or validation error; errors.Is(err, ErrURDF) holds.
var ErrURDF = errors.New("sim: urdf")

type xRobot struct {
	Name   string   `xml:"name,attr"`
	Links  []xLink  `xml:"link"`
	Joints []xJoint `xml:"joint"`
}

type xLink struct {
	Name     string     `xml:"name,attr"`
	Inertial *xInertial `xml:"inertial"`
}

type xInertial struct {
	Origin  *xOrigin `xml:"origin"`
	Mass    *xValue  `xml:"mass"`
	Inertia *struct {
		Ixx string `xml:"ixx,attr"`
		Ixy string `xml:"ixy,attr"`
		Ixz string `xml:"ixz,attr"`
		Iyy string `xml:"iyy,attr"`
		Iyz string `xml:"iyz,attr"`
		Izz string `xml:"izz,attr"`
	} `xml:"inertia"`
}

type xValue struct {
	Value string `xml:"value,attr"`
}

type xOrigin struct {
	XYZ string `xml:"xyz,attr"`
	RPY string `xml:"rpy,attr"`
}

type xRef struct {
	Link string `xml:"link,attr"`
}

type xJoint struct {
	Name   string   `xml:"name,attr"`
	Type   string   `xml:"type,attr"`
	Origin *xOrigin `xml:"origin"`
	Parent *xRef    `xml:"parent"`
	Child  *xRef    `xml:"child"`
	Axis   *struct {
		XYZ string `xml:"xyz,attr"`
	} `xml:"axis"`
	Limit *struct {
		Lower    *string `xml:"lower,attr"`
		Upper    *string `xml:"upper,attr"`
		Effort   *string `xml:"effort,attr"`
		Velocity *string `xml:"velocity,attr"`
	} `xml:"limit"`
	Dynamics *struct {
		Damping  string `xml:"damping,attr"`
		Friction string `xml:"friction,attr"`
	} `xml:"dynamics"`
	Mimic *struct {
		Joint string `xml:"joint,attr"`
	} `xml:"mimic"`
}

// LoadURDF reads and parses a URDF file; see ParseURDF.
func LoadURDF(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sim: load urdf: %w", err)
	}
	m, err := ParseURDF(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return m, nil
}

// ParseURDF builds a Model from URDF XML. Supported: revolute, continuous, prismatic
// and fixed joints, origins, axes, limits, <dynamics>, inertials. Meshes, visuals,
// collisions, transmissions and an <origin> placed directly in a <link> are ignored.
// Fixed joints and mimic joints (held at 0) are merged into their parent body. The end
// effector defaults to the deepest link (first in file order on a tie). Errors wrap
// ErrURDF and name the bad link, joint or attribute.
func ParseURDF(data []byte) (*Model, error) {
	var r xRobot
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: malformed xml: %v", ErrURDF, err)
	}
	if len(r.Links) == 0 {
		return nil, fmt.Errorf("%w: no <link> (is this a <robot>?)", ErrURDF)
	}
	links := make(map[string]*xLink, len(r.Links))
	for i := range r.Links {
		l := &r.Links[i]
		if l.Name == "" {
			return nil, fmt.Errorf("%w: link %d has no name", ErrURDF, i)
		}
		if _, dup := links[l.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate link %q", ErrURDF, l.Name)
		}
		links[l.Name] = l
	}
	children := make(map[string][]*xJoint)
	hasParent := make(map[string]string)
	names := make(map[string]bool)
	for i := range r.Joints {
		j := &r.Joints[i]
		if j.Name == "" {
			return nil, fmt.Errorf("%w: joint %d has no name", ErrURDF, i)
		}
		if names[j.Name] {
			return nil, fmt.Errorf("%w: duplicate joint %q", ErrURDF, j.Name)
		}
		names[j.Name] = true
		if j.Parent == nil || j.Parent.Link == "" {
			return nil, fmt.Errorf("%w: joint %q: missing <parent link>", ErrURDF, j.Name)
		}
		if j.Child == nil || j.Child.Link == "" {
			return nil, fmt.Errorf("%w: joint %q: missing <child link>", ErrURDF, j.Name)
		}
		if links[j.Parent.Link] == nil {
			return nil, fmt.Errorf("%w: joint %q: unknown parent link %q", ErrURDF, j.Name, j.Parent.Link)
		}
		if links[j.Child.Link] == nil {
			return nil, fmt.Errorf("%w: joint %q: unknown child link %q", ErrURDF, j.Name, j.Child.Link)
		}
		if other, ok := hasParent[j.Child.Link]; ok {
			return nil, fmt.Errorf("%w: link %q has two parent joints (%q, %q): not a tree", ErrURDF, j.Child.Link, other, j.Name)
		}
		hasParent[j.Child.Link] = j.Name
		children[j.Parent.Link] = append(children[j.Parent.Link], j)
	}
	var root string
	for _, l := range r.Links {
		if _, ok := hasParent[l.Name]; !ok {
			if root != "" {
				return nil, fmt.Errorf("%w: two root links %q and %q (disconnected tree)", ErrURDF, root, l.Name)
			}
			root = l.Name
		}
	}
	if root == "" {
		return nil, fmt.Errorf("%w: no root link: the joints form a cycle", ErrURDF)
	}

	m := &Model{name: r.Name, links: make(map[string]linkFrame, len(links)), grav: vec3{0, 0, -9.81}}
	depth := map[string]int{root: 0}
	m.links[root] = linkFrame{body: -1, x: identX}
	order := []string{root}
	// Depth-first, children in file order, so joint order is root to tip.
	stack := []string{root}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pf := m.links[name]
		kids := children[name]
		for k := len(kids) - 1; k >= 0; k-- { // push reversed: pop in file order
			stack = append(stack, kids[k].Child.Link)
		}
		// Resolve the children now (file order) so body indices follow file order.
		for _, j := range kids {
			c := j.Child.Link
			if _, seen := m.links[c]; seen {
				return nil, fmt.Errorf("%w: link %q reached twice: cycle", ErrURDF, c)
			}
			xo, err := parseOrigin(j.Origin)
			if err != nil {
				return nil, fmt.Errorf("%w: joint %q: %v", ErrURDF, j.Name, err)
			}
			x := pf.x.compose(&xo)
			depth[c] = depth[name] + 1
			order = append(order, c)
			fixed := j.Type == "fixed" || j.Mimic != nil
			if fixed {
				if j.Type != "fixed" && j.Type != "revolute" && j.Type != "continuous" && j.Type != "prismatic" {
					return nil, fmt.Errorf("%w: joint %q: unsupported type %q", ErrURDF, j.Name, j.Type)
				}
				m.links[c] = linkFrame{body: pf.body, x: x}
				continue
			}
			spec, ax, err := parseJoint(j)
			if err != nil {
				return nil, err
			}
			b := len(m.joints)
			m.joints = append(m.joints, spec)
			m.parent = append(m.parent, pf.body)
			m.tree = append(m.tree, x)
			m.axis = append(m.axis, ax)
			m.inert = append(m.inert, inertia{})
			m.links[c] = linkFrame{body: b, x: identX}
		}
	}
	if len(m.links) != len(links) {
		for n := range links {
			if _, ok := m.links[n]; !ok {
				return nil, fmt.Errorf("%w: link %q is not reachable from root %q: cycle", ErrURDF, n, root)
			}
		}
	}
	// Merge every link's inertia into its body.
	for _, n := range order {
		lf := m.links[n]
		in, err := parseInertial(links[n])
		if err != nil {
			return nil, fmt.Errorf("%w: link %q: %v", ErrURDF, n, err)
		}
		if lf.body < 0 || in.M == 0 {
			continue
		}
		moved := in.toParent(&lf.x)
		m.inert[lf.body] = m.inert[lf.body].plus(&moved)
	}
	best := root
	for _, n := range order {
		if depth[n] > depth[best] {
			best = n
		}
	}
	m.ee = best
	return m, nil
}

func parseJoint(j *xJoint) (JointSpec, vec3, error) {
	fail := func(format string, a ...any) (JointSpec, vec3, error) {
		return JointSpec{}, vec3{}, fmt.Errorf("%w: joint %q: %s", ErrURDF, j.Name, fmt.Sprintf(format, a...))
	}
	s := JointSpec{Name: j.Name}
	switch j.Type {
	case "revolute":
		s.Type = joint.Revolute
	case "continuous":
		s.Type = joint.Continuous
	case "prismatic":
		s.Type = joint.Prismatic
	case "":
		return fail("missing type")
	default:
		return fail("unsupported type %q (want revolute, continuous, prismatic or fixed)", j.Type)
	}
	ax := vec3{1, 0, 0}
	if j.Axis != nil && j.Axis.XYZ != "" {
		v, err := parse3(j.Axis.XYZ)
		if err != nil {
			return fail("axis: %v", err)
		}
		ax = v
	}
	n := ax.norm()
	if n < 1e-9 {
		return fail("zero axis")
	}
	ax = ax.scale(1 / n)
	if j.Limit == nil {
		return fail("missing <limit> (effort and velocity are required)")
	}
	get := func(p *string, what string, need bool) (float64, bool, error) {
		if p == nil {
			if need {
				return 0, false, fmt.Errorf("limit: missing %s", what)
			}
			return 0, false, nil
		}
		v, err := parseFloat(*p)
		if err != nil {
			return 0, false, fmt.Errorf("limit %s: %v", what, err)
		}
		return v, true, nil
	}
	bounded := s.Type != joint.Continuous
	var err error
	if s.Min, _, err = get(j.Limit.Lower, "lower", bounded); err != nil {
		return fail("%v", err)
	}
	if s.Max, _, err = get(j.Limit.Upper, "upper", bounded); err != nil {
		return fail("%v", err)
	}
	if s.Effort, _, err = get(j.Limit.Effort, "effort", true); err != nil {
		return fail("%v", err)
	}
	if s.Velocity, _, err = get(j.Limit.Velocity, "velocity", true); err != nil {
		return fail("%v", err)
	}
	if !bounded {
		s.Min, s.Max = math.Inf(-1), math.Inf(1)
	} else if s.Min > s.Max {
		return fail("limit lower %g > upper %g", s.Min, s.Max)
	}
	if s.Effort <= 0 || s.Velocity <= 0 {
		return fail("limit effort %g and velocity %g must be positive", s.Effort, s.Velocity)
	}
	if j.Dynamics != nil {
		if j.Dynamics.Damping != "" {
			if s.Damping, err = parseFloat(j.Dynamics.Damping); err != nil || s.Damping < 0 {
				return fail("dynamics damping %q", j.Dynamics.Damping)
			}
		}
		if j.Dynamics.Friction != "" {
			if s.Friction, err = parseFloat(j.Dynamics.Friction); err != nil || s.Friction < 0 {
				return fail("dynamics friction %q", j.Dynamics.Friction)
			}
		}
	}
	return s, ax, nil
}

func parseInertial(l *xLink) (inertia, error) {
	if l.Inertial == nil || l.Inertial.Mass == nil {
		return inertia{}, nil
	}
	m, err := parseFloat(l.Inertial.Mass.Value)
	if err != nil || m < 0 {
		return inertia{}, fmt.Errorf("mass %q must be a non-negative number", l.Inertial.Mass.Value)
	}
	xo, err := parseOrigin(l.Inertial.Origin)
	if err != nil {
		return inertia{}, fmt.Errorf("inertial %v", err)
	}
	var ic mat3
	if t := l.Inertial.Inertia; t != nil {
		vals := [6]float64{}
		for k, s := range [6]string{t.Ixx, t.Ixy, t.Ixz, t.Iyy, t.Iyz, t.Izz} {
			if s == "" {
				continue
			}
			if vals[k], err = parseFloat(s); err != nil {
				return inertia{}, fmt.Errorf("inertia: %v", err)
			}
		}
		ic = mat3{{vals[0], vals[1], vals[2]}, {vals[1], vals[3], vals[4]}, {vals[2], vals[4], vals[5]}}
		if ic[0][0] < 0 || ic[1][1] < 0 || ic[2][2] < 0 {
			return inertia{}, fmt.Errorf("inertia: negative diagonal")
		}
	}
	rt := xo.R.transpose()
	tmp := xo.R.mul(&ic)
	ic = tmp.mul(&rt)
	return fromCOM(m, xo.P, ic), nil
}

func parseOrigin(o *xOrigin) (xform, error) {
	x := identX
	if o == nil {
		return x, nil
	}
	if o.XYZ != "" {
		v, err := parse3(o.XYZ)
		if err != nil {
			return x, fmt.Errorf("origin xyz: %v", err)
		}
		x.P = v
	}
	if o.RPY != "" {
		v, err := parse3(o.RPY)
		if err != nil {
			return x, fmt.Errorf("origin rpy: %v", err)
		}
		x.R = rpy(v[0], v[1], v[2])
	}
	return x, nil
}

func parse3(s string) (vec3, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return vec3{}, fmt.Errorf("%q: want 3 numbers", s)
	}
	var v vec3
	for i := range v {
		x, err := parseFloat(f[i])
		if err != nil {
			return vec3{}, err
		}
		v[i] = x
	}
	return v, nil
}

func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not finite", s)
	}
	return v, nil
}
