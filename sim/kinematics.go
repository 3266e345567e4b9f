package sim

import (
	"fmt"
	"math"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// Skeleton is an arm drawn as sticks, in the base frame: point k is at Points[k] (m) and
// hangs from point Parent[k] (-1 for the base). Point 0 is the root link's origin, point
// i+1 the origin of joint i's frame (Joints order), the last point the end-effector link.
type Skeleton struct {
	Names  []string     `json:"names"` // the root link, the joint names, the end-effector link
	Points [][3]float64 `json:"points"`
	Parent []int        `json:"parent"`
}

// LinkPositions is the forward kinematics of the URDF tree at positions q (rad or m, in
// Joints order): the origin of every joint frame and of the end-effector link, as a
// Skeleton. It fails when len(q) != DOF or a position is not finite.
func (m *Model) LinkPositions(q []float64) (Skeleton, error) {
	n := len(m.joints)
	if len(q) != n {
		return Skeleton{}, fmt.Errorf("sim: %d positions for a %d-joint model", len(q), n)
	}
	for i, v := range q {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Skeleton{}, fmt.Errorf("sim: position of joint %s is %v", m.joints[i].Name, v)
		}
	}
	root := ""
	for name, lf := range m.links {
		if lf.body < 0 && lf.x == identX {
			if root == "" || name < root {
				root = name
			}
		}
	}
	sk := Skeleton{Names: make([]string, 0, n+2), Points: make([][3]float64, 0, n+2), Parent: make([]int, 0, n+2)}
	sk.Names = append(sk.Names, root)
	sk.Points = append(sk.Points, [3]float64{})
	sk.Parent = append(sk.Parent, -1)
	w := make([]xform, n)
	for i := 0; i < n; i++ {
		t := &m.tree[i]
		var x xform
		if m.joints[i].Type == joint.Prismatic {
			x = xform{R: t.R, P: t.P.add(t.R.mulv(m.axis[i].scale(q[i])))}
		} else {
			rq := axisAngle(m.axis[i], q[i])
			x = xform{R: t.R.mul(&rq), P: t.P}
		}
		if p := m.parent[i]; p >= 0 {
			w[i] = w[p].compose(&x)
		} else {
			w[i] = x
		}
		// The joint's origin: where the fixed part places it (before its own motion).
		o := t.P
		if p := m.parent[i]; p >= 0 {
			o = w[p].R.mulv(t.P).add(w[p].P)
		}
		sk.Names = append(sk.Names, m.joints[i].Name)
		sk.Points = append(sk.Points, o)
		sk.Parent = append(sk.Parent, m.parent[i]+1)
	}
	if lf, ok := m.links[m.ee]; ok {
		x := lf.x
		if lf.body >= 0 {
			x = w[lf.body].compose(&lf.x)
		}
		sk.Names = append(sk.Names, m.ee)
		sk.Points = append(sk.Points, x.P)
		sk.Parent = append(sk.Parent, lf.body+1)
	}
	return sk, nil
}
