package sim

import (
	"errors"
	"fmt"
	"math"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// ErrNotSPD is returned when a mass matrix is not symmetric positive definite (a model
// with massless moving bodies and no armature).
var ErrNotSPD = errors.New("sim: mass matrix not positive definite")

// Solver computes kinematics and rigid-body dynamics of one Model: forward kinematics,
// recursive Newton–Euler inverse dynamics, the mass matrix by the composite-rigid-body
// algorithm, and forward dynamics by Cholesky. It owns scratch space, so its methods
// allocate nothing; one Solver must not be used by two goroutines at once.
type Solver struct {
	m      *Model
	n      int
	inert  []inertia // body inertias, including any payload
	x      []xform   // parent body -> body, at the last q
	w      []xform   // base -> body, at the last q
	vel    []vec3
	acc    []vec3
	lin    []vec3
	f, t   []vec3
	comp   []inertia
	mass   []float64 // n×n, row-major
	chol   []float64 // n×n
	tmp    []float64
	zero   []float64
	grav   vec3
	eeBody int
	eeX    xform
}

// NewSolver returns a Solver for m.
func NewSolver(m *Model) *Solver {
	n := m.DOF()
	s := &Solver{
		m: m, n: n,
		inert: append([]inertia(nil), m.inert...),
		x:     make([]xform, n), w: make([]xform, n),
		vel: make([]vec3, n), acc: make([]vec3, n), lin: make([]vec3, n),
		f: make([]vec3, n), t: make([]vec3, n), comp: make([]inertia, n),
		mass: make([]float64, n*n), chol: make([]float64, n*n),
		tmp: make([]float64, n), zero: make([]float64, n), grav: m.grav,
	}
	lf := m.links[m.ee]
	s.eeBody, s.eeX = lf.body, lf.x
	return s
}

// Model returns the solver's model.
func (s *Solver) Model() *Model { return s.m }

// SetPayload attaches a point mass (kg) at the end-effector frame origin; 0 removes it.
// Negative or non-finite masses are an error.
func (s *Solver) SetPayload(mass float64) error {
	if !(mass >= 0) || math.IsInf(mass, 0) {
		return fmt.Errorf("sim: payload mass %g kg must be non-negative and finite", mass)
	}
	copy(s.inert, s.m.inert)
	if s.eeBody >= 0 && mass > 0 {
		p := fromCOM(mass, s.eeX.P, mat3{})
		s.inert[s.eeBody] = s.inert[s.eeBody].plus(&p)
	}
	return nil
}

// kin computes every body's pose for positions q.
func (s *Solver) kin(q []float64) {
	m := s.m
	for i := 0; i < s.n; i++ {
		t := &m.tree[i]
		if m.joints[i].Type == joint.Prismatic {
			s.x[i] = xform{R: t.R, P: t.P.add(t.R.mulv(m.axis[i].scale(q[i])))}
		} else {
			rq := axisAngle(m.axis[i], q[i])
			s.x[i] = xform{R: t.R.mul(&rq), P: t.P}
		}
		if p := m.parent[i]; p >= 0 {
			s.w[i] = s.w[p].compose(&s.x[i])
		} else {
			s.w[i] = s.x[i]
		}
	}
}

// rnea runs Newton–Euler on the poses from the last kin call: tau = M(q)qdd + C(q,qd)qd
// + g(q)·gscale. qd or qdd may be s.zero.
func (s *Solver) rnea(qd, qdd []float64, gscale float64, tau []float64) {
	m := s.m
	base := s.grav.scale(-gscale) // the base accelerates upwards instead of gravity pulling down
	for i := 0; i < s.n; i++ {
		var wp, wdp, ap vec3
		if p := m.parent[i]; p >= 0 {
			wp, wdp, ap = s.vel[p], s.acc[p], s.lin[p]
		} else {
			ap = base
		}
		x := &s.x[i]
		ax := m.axis[i]
		w := x.R.tmulv(wp)
		wd := x.R.tmulv(wdp)
		a := x.R.tmulv(ap.add(wdp.cross(x.P)).add(wp.cross(wp.cross(x.P))))
		if m.joints[i].Type == joint.Prismatic {
			v := ax.scale(qd[i])
			a = a.add(w.cross(v).scale(2)).add(ax.scale(qdd[i]))
		} else {
			v := ax.scale(qd[i])
			wd = wd.add(w.cross(v)).add(ax.scale(qdd[i]))
			w = w.add(v)
		}
		s.vel[i], s.acc[i], s.lin[i] = w, wd, a
		in := &s.inert[i]
		s.f[i] = a.scale(in.M).add(wd.cross(in.H)).add(w.cross(w.cross(in.H)))
		s.t[i] = in.Io.mulv(wd).add(w.cross(in.Io.mulv(w))).add(in.H.cross(a))
	}
	for i := s.n - 1; i >= 0; i-- {
		if m.joints[i].Type == joint.Prismatic {
			tau[i] = m.axis[i].dot(s.f[i])
		} else {
			tau[i] = m.axis[i].dot(s.t[i])
		}
		if p := m.parent[i]; p >= 0 {
			x := &s.x[i]
			rf := x.R.mulv(s.f[i])
			s.f[p] = s.f[p].add(rf)
			s.t[p] = s.t[p].add(x.R.mulv(s.t[i])).add(x.P.cross(rf))
		}
	}
}

// crba fills s.mass from the poses of the last kin call.
func (s *Solver) crba() {
	m, n := s.m, s.n
	copy(s.comp, s.inert)
	for i := n - 1; i >= 0; i-- {
		if p := m.parent[i]; p >= 0 {
			c := s.comp[i].toParent(&s.x[i])
			s.comp[p] = s.comp[p].plus(&c)
		}
	}
	for j := 0; j < n; j++ {
		c := &s.comp[j]
		ax := m.axis[j]
		var f, t vec3
		if m.joints[j].Type == joint.Prismatic {
			f, t = ax.scale(c.M), c.H.cross(ax)
			s.mass[j*n+j] = ax.dot(f)
		} else {
			f, t = ax.cross(c.H), c.Io.mulv(ax)
			s.mass[j*n+j] = ax.dot(t)
		}
		for i := j; m.parent[i] >= 0; {
			x := &s.x[i]
			f = x.R.mulv(f)
			t = x.R.mulv(t).add(x.P.cross(f))
			i = m.parent[i]
			var v float64
			if m.joints[i].Type == joint.Prismatic {
				v = m.axis[i].dot(f)
			} else {
				v = m.axis[i].dot(t)
			}
			s.mass[i*n+j], s.mass[j*n+i] = v, v
		}
	}
}

// InverseDynamics writes into tau (N·m or N) the efforts that produce accelerations qdd
// at state (q, qd), gravity included. Slices must have DOF entries, else an error.
func (s *Solver) InverseDynamics(q, qd, qdd, tau []float64) error {
	if err := s.check(q, qd, qdd, tau); err != nil {
		return err
	}
	s.kin(q)
	s.rnea(qd, qdd, 1, tau)
	return nil
}

// Bias writes the Coriolis, centrifugal and gravity efforts C(q,qd)qd + g(q) into out.
func (s *Solver) Bias(q, qd, out []float64) error {
	if err := s.check(q, qd, out); err != nil {
		return err
	}
	s.kin(q)
	s.rnea(qd, s.zero, 1, out)
	return nil
}

// Gravity writes the gravity efforts g(q) (N·m or N) into out.
func (s *Solver) Gravity(q, out []float64) error {
	if err := s.check(q, out); err != nil {
		return err
	}
	s.kin(q)
	s.rnea(s.zero, s.zero, 1, out)
	return nil
}

// MassMatrix writes the joint-space mass matrix M(q) (row-major, DOF×DOF) into out.
func (s *Solver) MassMatrix(q, out []float64) error {
	if err := s.check(q); err != nil {
		return err
	}
	if len(out) != s.n*s.n {
		return fmt.Errorf("sim: mass matrix needs %d entries, got %d", s.n*s.n, len(out))
	}
	s.kin(q)
	s.crba()
	copy(out, s.mass)
	return nil
}

// ForwardDynamics writes qdd = M⁻¹(tau − C(q,qd)qd − g(q)) into qdd. It fails with
// ErrNotSPD when M is singular.
func (s *Solver) ForwardDynamics(q, qd, tau, qdd []float64) error {
	if err := s.check(q, qd, tau, qdd); err != nil {
		return err
	}
	s.kin(q)
	s.rnea(qd, s.zero, 1, s.tmp)
	s.crba()
	for i := range qdd {
		qdd[i] = tau[i] - s.tmp[i]
	}
	return s.solve(nil, qdd)
}

// solve overwrites b with (M + diag(arm))⁻¹·b using s.mass from the last crba call.
func (s *Solver) solve(arm []float64, b []float64) error {
	return s.solveHeld(arm, nil, b)
}

// solveHeld is solve with the joints marked in held (nil: none) constrained to zero
// acceleration: it solves the free joints' reduced system M_ff·qdd_f = b_f and sets
// b to 0 for the held ones, whose constraint effort takes up the rest of b.
func (s *Solver) solveHeld(arm []float64, held []bool, b []float64) error {
	n := s.n
	copy(s.chol, s.mass)
	if arm != nil {
		for i := 0; i < n; i++ {
			s.chol[i*n+i] += arm[i]
		}
	}
	for i, h := range held {
		if !h {
			continue
		}
		// Identity in row and column i decouples the held joint from the free ones.
		for k := 0; k < n; k++ {
			s.chol[i*n+k], s.chol[k*n+i] = 0, 0
		}
		s.chol[i*n+i] = 1
		b[i] = 0
	}
	if !cholesky(s.chol, n) {
		return ErrNotSPD
	}
	cholSolve(s.chol, n, b)
	return nil
}

// cholesky factors the SPD matrix a (n×n, row-major) in place into its lower factor L.
// It reports false if a is not positive definite.
func cholesky(a []float64, n int) bool {
	for j := 0; j < n; j++ {
		d := a[j*n+j]
		for k := 0; k < j; k++ {
			d -= a[j*n+k] * a[j*n+k]
		}
		if !(d > 0) {
			return false
		}
		d = math.Sqrt(d)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			v := a[i*n+j]
			for k := 0; k < j; k++ {
				v -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = v / d
		}
	}
	return true
}

// cholSolve solves L·Lᵀ·x = b in place, L from cholesky.
func cholSolve(l []float64, n int, b []float64) {
	for i := 0; i < n; i++ {
		v := b[i]
		for k := 0; k < i; k++ {
			v -= l[i*n+k] * b[k]
		}
		b[i] = v / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		v := b[i]
		for k := i + 1; k < n; k++ {
			v -= l[k*n+i] * b[k]
		}
		b[i] = v / l[i*n+i]
	}
}

// EndEffector returns the end-effector pose at positions q (error if len(q) != DOF).
func (s *Solver) EndEffector(q []float64) (Pose, error) {
	return s.LinkPose(q, s.m.ee)
}

// LinkPose returns the pose of the named URDF link at positions q.
func (s *Solver) LinkPose(q []float64, link string) (Pose, error) {
	if err := s.check(q); err != nil {
		return Pose{}, err
	}
	lf, ok := s.m.links[link]
	if !ok {
		return Pose{}, fmt.Errorf("sim: unknown link %q", link)
	}
	s.kin(q)
	return s.pose(lf), nil
}

func (s *Solver) pose(lf linkFrame) Pose {
	x := lf.x
	if lf.body >= 0 {
		x = s.w[lf.body].compose(&lf.x)
	}
	return Pose{Pos: x.P, Rot: x.R}
}

// Energy returns kinetic ½·qdᵀMqd and gravitational potential energy (J, zero at the
// base origin) at state (q, qd).
func (s *Solver) Energy(q, qd []float64) (kinetic, potential float64, err error) {
	if err := s.check(q, qd); err != nil {
		return 0, 0, err
	}
	s.kin(q)
	s.crba()
	n := s.n
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			kinetic += 0.5 * qd[i] * s.mass[i*n+j] * qd[j]
		}
	}
	for i := 0; i < n; i++ {
		in := &s.inert[i]
		wc := s.w[i].R.mulv(in.H).add(s.w[i].P.scale(in.M)) // m·(world centre of mass)
		potential -= s.grav.dot(wc)
	}
	return kinetic, potential, nil
}

func (s *Solver) check(vs ...[]float64) error {
	for _, v := range vs {
		if len(v) != s.n {
			return fmt.Errorf("sim: want %d joint values, got %d", s.n, len(v))
		}
	}
	return nil
}
