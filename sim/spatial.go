package sim

import "math"

// vec3 and mat3 are small value types for the kinematics and dynamics hot paths; they
// live on the stack and never allocate.
type vec3 [3]float64

type mat3 [3][3]float64

var ident3 = mat3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}

func (a vec3) add(b vec3) vec3      { return vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func (a vec3) sub(b vec3) vec3      { return vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec3) scale(s float64) vec3 { return vec3{a[0] * s, a[1] * s, a[2] * s} }
func (a vec3) dot(b vec3) float64   { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec3) norm() float64        { return math.Sqrt(a.dot(a)) }
func (a vec3) cross(b vec3) vec3 {
	return vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// mulv returns m·v.
func (m *mat3) mulv(v vec3) vec3 {
	return vec3{
		m[0][0]*v[0] + m[0][1]*v[1] + m[0][2]*v[2],
		m[1][0]*v[0] + m[1][1]*v[1] + m[1][2]*v[2],
		m[2][0]*v[0] + m[2][1]*v[1] + m[2][2]*v[2],
	}
}

// tmulv returns mᵀ·v.
func (m *mat3) tmulv(v vec3) vec3 {
	return vec3{
		m[0][0]*v[0] + m[1][0]*v[1] + m[2][0]*v[2],
		m[0][1]*v[0] + m[1][1]*v[1] + m[2][1]*v[2],
		m[0][2]*v[0] + m[1][2]*v[1] + m[2][2]*v[2],
	}
}

// mul returns a·b.
func (a *mat3) mul(b *mat3) mat3 {
	var r mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i][j] = a[i][0]*b[0][j] + a[i][1]*b[1][j] + a[i][2]*b[2][j]
		}
	}
	return r
}

func (a *mat3) transpose() mat3 {
	return mat3{{a[0][0], a[1][0], a[2][0]}, {a[0][1], a[1][1], a[2][1]}, {a[0][2], a[1][2], a[2][2]}}
}

func (a *mat3) addm(b *mat3) mat3 {
	var r mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i][j] = a[i][j] + b[i][j]
		}
	}
	return r
}

func (a *mat3) scalem(s float64) mat3 {
	var r mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i][j] = a[i][j] * s
		}
	}
	return r
}

// skew returns [v]× so that skew(v)·w = v × w.
func skew(v vec3) mat3 {
	return mat3{{0, -v[2], v[1]}, {v[2], 0, -v[0]}, {-v[1], v[0], 0}}
}

// rpy returns the URDF rotation for roll, pitch, yaw (fixed axes X, Y, Z): Rz·Ry·Rx.
func rpy(r, p, y float64) mat3 {
	sr, cr := math.Sincos(r)
	sp, cp := math.Sincos(p)
	sy, cy := math.Sincos(y)
	return mat3{
		{cy * cp, cy*sp*sr - sy*cr, cy*sp*cr + sy*sr},
		{sy * cp, sy*sp*sr + cy*cr, sy*sp*cr - cy*sr},
		{-sp, cp * sr, cp * cr},
	}
}

// axisAngle returns the rotation by angle (rad) about the unit axis a (Rodrigues).
func axisAngle(a vec3, angle float64) mat3 {
	s, c := math.Sincos(angle)
	t := 1 - c
	x, y, z := a[0], a[1], a[2]
	return mat3{
		{t*x*x + c, t*x*y - s*z, t*x*z + s*y},
		{t*x*y + s*z, t*y*y + c, t*y*z - s*x},
		{t*x*z - s*y, t*y*z + s*x, t*z*z + c},
	}
}

// xform is a rigid transform: a point p in the child frame is R·p + P in the parent frame.
type xform struct {
	R mat3
	P vec3
}

var identX = xform{R: ident3}

// compose returns a∘b (first b, then a): the pose of b's frame seen from a's parent.
func (a *xform) compose(b *xform) xform {
	return xform{R: a.R.mul(&b.R), P: a.R.mulv(b.P).add(a.P)}
}

// inertia is a rigid body's mass distribution about its frame origin, in its frame:
// mass M (kg), first moment H = M·c (kg·m), rotational inertia Io about the origin (kg·m²).
type inertia struct {
	M  float64
	H  vec3
	Io mat3
}

// fromCOM builds an inertia from mass m, centre of mass c and inertia Ic about c.
func fromCOM(m float64, c vec3, ic mat3) inertia {
	sc := skew(c)
	scsc := sc.mul(&sc)
	shift := scsc.scalem(-m)
	return inertia{M: m, H: c.scale(m), Io: ic.addm(&shift)}
}

// toParent expresses in (whose frame is x's child) in x's parent frame, about the parent origin.
func (in *inertia) toParent(x *xform) inertia {
	rt := x.R.transpose()
	tmp := x.R.mul(&in.Io)
	io := tmp.mul(&rt)
	h := x.R.mulv(in.H)
	p := x.P
	// I_O' = I_O − [h][p] − [p][h] − m[p][p], with h and I_O already rotated; using
	// [a][b] = b·aᵀ − (a·b)·1.
	hp, pp := h.dot(p), p.dot(p)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			io[i][j] -= p[i]*h[j] + h[i]*p[j] + in.M*p[i]*p[j]
		}
		io[i][i] += 2*hp + in.M*pp
	}
	return inertia{M: in.M, H: h.add(p.scale(in.M)), Io: io}
}

func (in *inertia) plus(o *inertia) inertia {
	return inertia{M: in.M + o.M, H: in.H.add(o.H), Io: in.Io.addm(&o.Io)}
}
