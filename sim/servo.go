package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// JointServo models one joint's position servo and drive train.
type JointServo struct {
	Kp        float64       // position gain, N·m/rad or N/m
	Kd        float64       // velocity gain, N·m·s/rad or N·s/m
	VelFF     float64       // fraction (0..1) of the commanded velocity fed forward through Kd
	GravityFF float64       // fraction (0..1) of the model's gravity effort added (0: the servo droops)
	MaxTorque float64       // effort limit, N·m or N
	MaxVel    float64       // no-load speed, rad/s or m/s: torque falls linearly to 0 at this speed
	Viscous   float64       // viscous friction, N·m·s/rad or N·s/m
	Coulomb   float64       // Coulomb (dry) friction, N·m or N; also holds a limp joint still below it
	Armature  float64       // reflected rotor inertia added to the mass matrix diagonal, kg·m² or kg
	Lag       time.Duration // first-order time constant of the actuator torque; 0 = none
}

// ServoParams configures all servos of an arm. The zero value means DefaultServo.
type ServoParams struct {
	Joints  []JointServo  // one per joint, model order
	Latency time.Duration // transport delay from Command to the servo (0 = none)
}

// Noise is the measurement noise of Read: Gaussian standard deviations and a position
// quantum (encoder resolution). Zero fields add nothing.
type Noise struct {
	Pos     float64 // rad or m
	Vel     float64 // rad/s or m/s
	Eff     float64 // N·m or N
	Quantum float64 // position resolution, rad or m (STS3215: 2π/4096)
}

// DefaultServo returns servo parameters derived from each joint's effort limit E:
// armature 2e-3·E (a geared motor), Kp saturating at 0.05 rad (0.005 m) of error,
// critically damped Kd on the zero-configuration inertia, viscous friction 0.02·E,
// Coulomb friction 0.02·E, lag 1 ms, velocity feed-forward 1. Gravity feed-forward is 0
// for "so101" (hobby servos droop) and 1 otherwise; latency is 2 ms for "so101" (serial
// bus), 1 ms otherwise. model is the LoadBuiltin name or anything else.
func DefaultServo(m *Model, model string) ServoParams {
	n := m.DOF()
	s := NewSolver(m)
	q := make([]float64, n)
	for i, j := range m.joints {
		q[i] = clampFinite(0, j.Min, j.Max)
	}
	s.kin(q)
	s.crba()
	p := ServoParams{Joints: make([]JointServo, n), Latency: time.Millisecond}
	gff := 1.0
	if model == "so101" {
		gff, p.Latency = 0, 2*time.Millisecond
	}
	for i, j := range m.joints {
		e := j.Effort
		sat := 0.05
		if j.Type == joint.Prismatic {
			sat = 0.005
		}
		arm := 2e-3 * e
		kp := e / sat
		inertia := arm + s.mass[i*n+i]
		p.Joints[i] = JointServo{
			Kp: kp, Kd: 2 * math.Sqrt(kp*inertia), VelFF: 1, GravityFF: gff,
			MaxTorque: e, MaxVel: j.Velocity,
			Viscous: 0.02*e + j.Damping, Coulomb: 0.02*e + j.Friction,
			Armature: arm, Lag: time.Millisecond,
		}
	}
	return p
}

func (p *ServoParams) validate(n int) error {
	if len(p.Joints) != n {
		return fmt.Errorf("sim: servo params for %d joints, model has %d", len(p.Joints), n)
	}
	if p.Latency < 0 {
		return fmt.Errorf("sim: servo latency %v is negative", p.Latency)
	}
	for i, j := range p.Joints {
		for _, f := range []struct {
			name string
			v    float64
		}{{"Kp", j.Kp}, {"Kd", j.Kd}, {"VelFF", j.VelFF}, {"GravityFF", j.GravityFF}, {"MaxTorque", j.MaxTorque},
			{"MaxVel", j.MaxVel}, {"Viscous", j.Viscous}, {"Coulomb", j.Coulomb}, {"Armature", j.Armature}} {
			if !(f.v >= 0) || math.IsInf(f.v, 0) {
				return fmt.Errorf("sim: servo %d: %s = %g must be non-negative and finite", i, f.name, f.v)
			}
		}
		if j.MaxTorque == 0 || j.MaxVel == 0 {
			return fmt.Errorf("sim: servo %d: MaxTorque and MaxVel must be positive", i)
		}
		if j.Lag < 0 {
			return fmt.Errorf("sim: servo %d: Lag %v is negative", i, j.Lag)
		}
	}
	return nil
}

func (n *Noise) validate() error {
	for _, v := range []float64{n.Pos, n.Vel, n.Eff, n.Quantum} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("sim: noise %+v: fields must be non-negative and finite", *n)
		}
	}
	return nil
}

func clampFinite(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
