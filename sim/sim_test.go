package sim

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
)

func load(t testing.TB, name string) *Model {
	t.Helper()
	m, err := LoadBuiltin(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuiltinJoints(t *testing.T) {
	want := map[string][]string{
		"so101": {"shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"},
		"ur5":   {"shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint", "wrist_3_joint"},
		"panda": {"panda_joint1", "panda_joint2", "panda_joint3", "panda_joint4", "panda_joint5", "panda_joint6", "panda_joint7", "panda_finger_joint1"},
	}
	for name, names := range want {
		m := load(t, name)
		js := m.Joints()
		if len(js) != len(names) {
			t.Fatalf("%s: %d joints, want %d", name, len(js), len(names))
		}
		for i, j := range js {
			if j.Name != names[i] {
				t.Errorf("%s joint %d = %q, want %q", name, i, j.Name, names[i])
			}
		}
	}
	so := load(t, "so101").Joints()
	if so[1].Effort != STS3215StallTorque || so[1].Velocity != STS3215MaxSpeed {
		t.Errorf("so101 limits not substituted: %+v", so[1])
	}
	// so101's 1e-9 kg frame link merged: moving mass is the sum of the six moving links.
	if got := load(t, "so101").Mass(); math.Abs(got-(0.100006+0.103+0.104+0.079+0.087+0.012)) > 1e-6 {
		t.Errorf("so101 moving mass %g", got)
	}
}

func TestUR5ZeroFK(t *testing.T) {
	m := load(t, "ur5")
	s := NewSolver(m)
	p, err := s.EndEffector(make([]float64, 6))
	if err != nil {
		t.Fatal(err)
	}
	// UR5 DH: a2=0.425, a3=0.39225, d1=0.089159, d4=0.10915, d5=0.09465, d6=0.0823.
	want := [3]float64{0.425 + 0.39225, 0.10915 + 0.0823, 0.089159 - 0.09465}
	for i := range want {
		if math.Abs(p.Pos[i]-want[i]) > 1e-6 {
			t.Fatalf("tool0 at %v, want %v", p.Pos, want)
		}
	}
	// Elbow at 90°: forearm points up, tool lifts by the forearm + wrist length.
	q := []float64{0, 0, -math.Pi / 2, 0, 0, 0}
	p, _ = s.EndEffector(q)
	if math.Abs(p.Pos[0]-0.425-0.09465) > 1e-6 || math.Abs(p.Pos[2]-(0.089159+0.39225)) > 1e-6 {
		t.Errorf("tool0 at elbow -90°: %v", p.Pos)
	}
	mat := p.Matrix()
	if mat[3][3] != 1 || mat[0][3] != p.Pos[0] {
		t.Errorf("Matrix %v", mat)
	}
}

func TestTwoLinkGravity(t *testing.T) {
	m, err := LoadURDF("testdata/two_link.urdf")
	if err != nil {
		t.Fatal(err)
	}
	if m.EndEffector() != "tip" {
		t.Errorf("default end effector %q", m.EndEffector())
	}
	s := NewSolver(m)
	const g, m1, c1, l1, m2, c2 = 9.81, 2.0, 0.25, 0.5, 1.0, 0.2
	for _, q := range [][]float64{{0, 0}, {0.3, -0.7}, {-1.2, 2.0}, {math.Pi / 2, 0}} {
		tau := make([]float64, 2)
		if err := s.Gravity(q, tau); err != nil {
			t.Fatal(err)
		}
		// Rotation about +y by q takes +x towards -z: height of x-distance r is -r·sin(q).
		// Gravity torque about +y = (r × F)·y = r_z F_x − r_x F_z with F = (0,0,−m g).
		// Gravity torque is +m g r_x; the holding effort is its negative.
		x1 := c1 * math.Cos(q[0])
		x2 := l1*math.Cos(q[0]) + c2*math.Cos(q[0]+q[1])
		want1 := -g * (m1*x1 + m2*x2)
		want2 := -g * m2 * c2 * math.Cos(q[0]+q[1])
		if math.Abs(tau[0]-want1) > 1e-9 || math.Abs(tau[1]-want2) > 1e-9 {
			t.Errorf("q=%v: gravity %v, want [%g %g]", q, tau, want1, want2)
		}
	}
	p, _ := s.EndEffector([]float64{0, 0})
	if math.Abs(p.Pos[0]-0.9) > 1e-12 || math.Abs(p.Pos[2]-0.1) > 1e-12 {
		t.Errorf("tip at %v", p.Pos)
	}
}

func TestMassMatrixSPDAndConsistent(t *testing.T) {
	for _, name := range []string{"so101", "ur5", "panda"} {
		m := load(t, name)
		s := NewSolver(m)
		n := m.DOF()
		q := make([]float64, n)
		for i, j := range m.Joints() {
			q[i] = j.Min + 0.37*(math.Min(j.Max, j.Min+6)-j.Min)
		}
		M := make([]float64, n*n)
		if err := s.MassMatrix(q, M); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if math.Abs(M[i*n+j]-M[j*n+i]) > 1e-12 {
					t.Fatalf("%s: M not symmetric at %d,%d", name, i, j)
				}
			}
		}
		L := append([]float64(nil), M...)
		if !cholesky(L, n) {
			t.Fatalf("%s: M not positive definite", name)
		}
		// CRBA column j equals RNEA with qdd = e_j minus gravity.
		zero, tau, g := make([]float64, n), make([]float64, n), make([]float64, n)
		s.Gravity(q, g)
		for j := 0; j < n; j++ {
			e := make([]float64, n)
			e[j] = 1
			s.InverseDynamics(q, zero, e, tau)
			for i := 0; i < n; i++ {
				if math.Abs(tau[i]-g[i]-M[i*n+j]) > 1e-9 {
					t.Fatalf("%s: M[%d][%d]=%g, rnea %g", name, i, j, M[i*n+j], tau[i]-g[i])
				}
			}
		}
		// Forward dynamics inverts inverse dynamics.
		qd, qdd, tau2, back := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range qd {
			qd[i], qdd[i] = 0.3*float64(i)-0.5, 1-0.2*float64(i)
		}
		s.InverseDynamics(q, qd, qdd, tau2)
		if err := s.ForwardDynamics(q, qd, tau2, back); err != nil {
			t.Fatal(err)
		}
		for i := range back {
			if math.Abs(back[i]-qdd[i]) > 1e-6 {
				t.Fatalf("%s: forward(inverse(qdd)) = %v, want %v", name, back, qdd)
			}
		}
	}
}

func TestPendulumEnergyConserved(t *testing.T) {
	m, err := LoadURDF("testdata/pendulum.urdf")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSolver(m)
	q, qd := []float64{1.2, -0.5}, []float64{0, 0}
	qdd, tau := make([]float64, 2), make([]float64, 2)
	k0, p0, _ := s.Energy(q, qd)
	e0 := k0 + p0
	const dt = 1e-4 // semi-implicit Euler, 3 s
	maxDev := 0.0
	for k := 0; k < 30000; k++ {
		s.ForwardDynamics(q, qd, tau, qdd)
		for i := range q {
			qd[i] += dt * qdd[i]
			q[i] += dt * qd[i]
		}
		kin, pot, _ := s.Energy(q, qd)
		maxDev = math.Max(maxDev, math.Abs(kin+pot-e0))
	}
	swing := math.Abs(p0) // scale of energy exchanged
	if maxDev > 0.005*swing {
		t.Errorf("energy drift %g J of %g J", maxDev, swing)
	}
	if k, _, _ := s.Energy(q, qd); k < 1e-3 {
		t.Errorf("pendulum not moving: kinetic %g", k)
	}
}

func TestURDFErrors(t *testing.T) {
	base := `<robot name="r"><link name="a"/><link name="b"/>%s</robot>`
	cases := map[string]string{
		"malformed":      `<robot><link name="a">`,
		"unknown parent": strings.Replace(base, "%s", `<joint name="j" type="revolute"><parent link="zz"/><child link="b"/><limit lower="0" upper="1" effort="1" velocity="1"/></joint>`, 1),
		"missing limit":  strings.Replace(base, "%s", `<joint name="j" type="revolute"><parent link="a"/><child link="b"/></joint>`, 1),
		"missing effort": strings.Replace(base, "%s", `<joint name="j" type="revolute"><parent link="a"/><child link="b"/><limit lower="0" upper="1" velocity="1"/></joint>`, 1),
		"cycle": strings.Replace(base, "%s", `<joint name="j" type="fixed"><parent link="a"/><child link="b"/></joint>`+
			`<joint name="k" type="fixed"><parent link="b"/><child link="a"/></joint>`, 1),
		"bad number": strings.Replace(base, "%s", `<joint name="j" type="revolute"><origin xyz="0 x 0"/><parent link="a"/><child link="b"/><limit lower="0" upper="1" effort="1" velocity="1"/></joint>`, 1),
		"bad type":   strings.Replace(base, "%s", `<joint name="j" type="floating"><parent link="a"/><child link="b"/></joint>`, 1),
	}
	want := map[string]string{"malformed": "malformed", "unknown parent": `unknown parent link "zz"`, "missing limit": "missing <limit>",
		"missing effort": "missing effort", "cycle": "cycle", "bad number": `"x" is not a number`, "bad type": "unsupported type"}
	for name, doc := range cases {
		_, err := ParseURDF([]byte(doc))
		if err == nil || !errors.Is(err, ErrURDF) || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: err = %v, want %q", name, err, want[name])
		}
	}
}

func newSim(t testing.TB, name string, cfg Config) *Sim {
	t.Helper()
	cfg.Preset = name
	s, err := New(load(t, name), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServoStepAllArms(t *testing.T) {
	for _, name := range []string{"so101", "ur5", "panda"} {
		s := newSim(t, name, Config{})
		n := s.m.DOF()
		target := make([]float64, n)
		for i, j := range s.m.Joints() {
			target[i] = clampFinite(0, j.Min, j.Max) + 0.2
			if target[i] > j.Max {
				target[i] -= 0.4
			}
			if j.Type == joint.Prismatic {
				target[i] = 0.02
			}
		}
		if err := s.Command(target, nil); err != nil {
			t.Fatal(err)
		}
		s.Advance(3 * time.Second)
		q := make([]float64, n)
		s.Truth(q, nil)
		for i := range q {
			tol := 0.03 // so101 droops under gravity: no gravity feed-forward
			if name != "so101" {
				tol = 2e-3
			}
			if math.IsNaN(q[i]) || math.Abs(q[i]-target[i]) > tol {
				t.Errorf("%s joint %d at %g, target %g", name, i, q[i], target[i])
			}
		}
	}
}

func TestLimitsAndNaN(t *testing.T) {
	s := newSim(t, "so101", Config{})
	js := s.m.Joints()
	cmd := make([]float64, 6)
	cmd[2] = js[2].Max + 1
	if err := s.Command(cmd, nil); err != nil {
		t.Fatal(err)
	}
	s.Advance(2 * time.Second)
	q := make([]float64, 6)
	s.Truth(q, nil)
	if q[2] > js[2].Max+1e-12 || q[2] < js[2].Max-0.05 {
		t.Errorf("elbow %g, limit %g", q[2], js[2].Max)
	}
	if s.Stats().OutOfLimits != 1 {
		t.Errorf("OutOfLimits = %d", s.Stats().OutOfLimits)
	}
	cmd[0] = math.NaN()
	if err := s.Command(cmd, nil); err == nil {
		t.Error("NaN accepted")
	}
	if err := s.Command(cmd[:3], nil); err == nil {
		t.Error("short command accepted")
	}
	// Pushed hard against a stop, the joint stays inside.
	s.Perturb(Perturbation{Kind: Push, Joint: "elbow_flex", Start: s.Now(), For: time.Second, Torque: 20})
	s.Advance(time.Second)
	s.Truth(q, nil)
	if q[2] > js[2].Max || s.Stats().LimitHits == 0 {
		t.Errorf("hard stop: elbow %g, hits %d", q[2], s.Stats().LimitHits)
	}
}

func TestLimpFallsAndHandGuides(t *testing.T) {
	s := newSim(t, "so101", Config{})
	s.SetTorque(false)
	s.Advance(time.Second)
	q := make([]float64, 6)
	s.Truth(q, nil)
	if math.Abs(q[1]) < 0.3 {
		t.Errorf("limp shoulder_lift did not fall: %v", q)
	}

	s = newSim(t, "so101", Config{})
	s.SetTorque(false)
	times := []float64{0, 1, 2}
	pos := [][]float64{{0, 0, 0, 0, 0, 0}, {0.5, -0.4, 0.6, 0.3, -0.5, 0.4}, {0.2, 0.3, 0.2, -0.2, 0.1, 0.2}}
	h, err := NewHand(times, pos)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Guide(h); err != nil {
		t.Fatal(err)
	}
	s.Advance(500 * time.Millisecond)
	s.Truth(q, nil)
	for i := range q {
		if math.Abs(q[i]-0.5*pos[1][i]) > 0.01 { // lagging, but with the hand
			t.Errorf("mid-move joint %d at %g, hand at %g", i, q[i], 0.5*pos[1][i])
		}
	}
	s.Advance(2 * time.Second)
	s.Truth(q, nil)
	for i := range q {
		if math.Abs(q[i]-pos[2][i]) > 0.003 {
			t.Errorf("after hand stops, joint %d at %g, hand at %g", i, q[i], pos[2][i])
		}
	}
}

func TestHoldAndFreeze(t *testing.T) {
	s := newSim(t, "so101", Config{})
	p, err := ParsePerturbation("hold:joint=elbow_flex,at=0.5,for=0.5")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Perturb(p.Resolve(2*time.Second, s.Now())); err != nil {
		t.Fatal(err)
	}
	s.Advance(time.Second) // hold begins at 1 s
	q0 := make([]float64, 6)
	s.Truth(q0, nil)
	s.Command([]float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, nil)
	s.Advance(400 * time.Millisecond)
	q := make([]float64, 6)
	s.Truth(q, nil)
	if q[2] != q0[2] || math.Abs(q[0]-0.5) > 0.05 {
		t.Errorf("held elbow moved %g -> %g, or pan did not (%g)", q0[2], q[2], q[0])
	}
	s.Advance(time.Second)
	s.Truth(q, nil)
	if math.Abs(q[2]-0.5) > 0.05 {
		t.Errorf("after release elbow at %g", q[2])
	}

	s.Perturb(Perturbation{Kind: Freeze, Start: s.Now(), For: 300 * time.Millisecond})
	s.Command(make([]float64, 6), nil)
	s.Advance(250 * time.Millisecond)
	s.Truth(q0, nil)
	if math.Abs(q0[0]-q[0]) > 1e-12 {
		t.Errorf("frozen arm moved: %v -> %v", q, q0)
	}
}

func TestPayloadDroops(t *testing.T) {
	s := newSim(t, "so101", Config{})
	cmd := []float64{0, 0.8, -0.5, 0, 0, 0}
	s.Command(cmd, nil)
	s.Advance(2 * time.Second)
	before := s.EndEffector().Pos[2]
	p, _ := ParsePerturbation("payload:mass=0.2,at=0")
	s.Perturb(p.Resolve(time.Second, s.Now()))
	s.Advance(2 * time.Second)
	after := s.EndEffector().Pos[2]
	if !(after < before-0.002) {
		t.Errorf("payload did not lower the end effector: %g -> %g m", before, after)
	}
}

func TestDeterministicNoiseAndLatency(t *testing.T) {
	run := func(seed int64) []float64 {
		s := newSim(t, "so101", Config{Seed: seed, Noise: Noise{Pos: 1e-3, Vel: 1e-2, Quantum: 2 * math.Pi / 4096}})
		s.Command([]float64{0.3, 0, 0, 0, 0, 0}, nil)
		s.Advance(100 * time.Millisecond)
		st := joint.NewState(6)
		s.Read(&st)
		return st.Pos
	}
	a, b, c := run(1), run(1), run(2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different reads")
		}
	}
	if a[0] == c[0] && a[1] == c[1] && a[2] == c[2] {
		t.Error("different seeds, same reads")
	}
	// Latency: nothing moves before the command arrives.
	s := newSim(t, "ur5", Config{Servo: func() ServoParams {
		p := DefaultServo(load(t, "ur5"), "ur5")
		p.Latency = 20 * time.Millisecond
		return p
	}()})
	q := make([]float64, 6)
	s.Command([]float64{0.5, 0, 0, 0, 0, 0}, nil)
	s.Advance(19 * time.Millisecond)
	s.Truth(q, nil)
	if math.Abs(q[0]) > 1e-9 {
		t.Errorf("moved before latency: %g", q[0])
	}
	s.Advance(30 * time.Millisecond)
	s.Truth(q, nil)
	if q[0] < 1e-4 {
		t.Errorf("not moving after latency: %g", q[0])
	}
}

func TestWatchdogHolds(t *testing.T) {
	s := newSim(t, "ur5", Config{})
	s.SetWatchdog(50 * time.Millisecond)
	s.Command([]float64{1, 0, 0, 0, 0, 0}, []float64{1, 0, 0, 0, 0, 0})
	s.Advance(200 * time.Millisecond)
	if s.Stats().WatchdogTrips != 1 {
		t.Fatalf("trips %d", s.Stats().WatchdogTrips)
	}
	q := make([]float64, 6)
	s.Truth(q, nil)
	s.Advance(time.Second)
	q2 := make([]float64, 6)
	s.Truth(q2, nil)
	if q[0] > 0.9 || math.Abs(q2[0]-q[0]) > 0.05 {
		t.Errorf("watchdog did not stop the arm: %g then %g", q[0], q2[0])
	}
}

func TestStepAndReadAllocateNothing(t *testing.T) {
	s := newSim(t, "so101", Config{Noise: Noise{Pos: 1e-3}})
	s.Perturb(Perturbation{Kind: Push, Joint: "gripper", Start: 0, For: time.Hour, Torque: 0.1})
	h, _ := NewHand([]float64{0, 10}, [][]float64{make([]float64, 6), {1, 1, 1, 1, 1, 1}})
	s.Guide(h)
	st := joint.NewState(6)
	cmd := make([]float64, 6)
	if a := testing.AllocsPerRun(200, func() { s.Step(); s.Read(&st); s.Command(cmd, nil) }); a != 0 {
		t.Errorf("step+read+command allocates %v", a)
	}
}

func BenchmarkSimStep6DOF(b *testing.B) {
	s := newSim(b, "so101", Config{})
	s.Command([]float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Step()
	}
}

func TestStableLimpAndRandomCommands(t *testing.T) {
	for _, name := range []string{"so101", "ur5", "panda"} {
		s := newSim(t, name, Config{})
		js := s.m.Joints()
		cmd := make([]float64, len(js))
		for k := 0; k < 20; k++ {
			for i, j := range js {
				lo, hi := math.Max(j.Min, -3), math.Min(j.Max, 3)
				cmd[i] = lo + (hi-lo)*math.Mod(float64(k*7+i*3)*0.618, 1)
			}
			s.Command(cmd, nil)
			s.Advance(150 * time.Millisecond)
		}
		s.SetTorque(false)
		s.Advance(2 * time.Second)
		q, qd := make([]float64, len(js)), make([]float64, len(js))
		s.Truth(q, qd)
		for i := range q {
			if math.IsNaN(q[i]) || q[i] < js[i].Min || q[i] > js[i].Max || math.Abs(qd[i]) > 50 {
				t.Errorf("%s joint %d: q %g qd %g", name, i, q[i], qd[i])
			}
		}
	}
}

func TestHandStableAllArms(t *testing.T) {
	for _, name := range []string{"ur5", "panda"} {
		s := newSim(t, name, Config{})
		n := s.m.DOF()
		s.SetTorque(false)
		a, b := make([]float64, n), make([]float64, n)
		s.Truth(a, nil)
		for i, j := range s.m.Joints() {
			b[i] = math.Min(a[i]+0.3, j.Max)
			if j.Type == joint.Prismatic {
				b[i] = 0.03
			}
		}
		h, _ := NewHand([]float64{0, 1}, [][]float64{a, b})
		if err := s.Guide(h); err != nil {
			t.Fatal(err)
		}
		s.Advance(2 * time.Second)
		q := make([]float64, n)
		s.Truth(q, nil)
		for i := range q {
			if math.Abs(q[i]-b[i]) > 5e-3 {
				t.Errorf("%s joint %d at %g, hand %g", name, i, q[i], b[i])
			}
		}
	}
}

// A held joint is a constraint: the torque its servo puts into the hand does not leak
// into the other joints, which keep their commanded positions.
func TestHoldDoesNotLeak(t *testing.T) {
	s := newSim(t, "so101", Config{})
	pose := []float64{0, 0.3, -0.3, 0.2, 0, 0}
	s.Command(pose, nil)
	s.Advance(2 * time.Second)
	q0, q := make([]float64, 6), make([]float64, 6)
	s.Truth(q0, nil)
	s.Perturb(Perturbation{Kind: Hold, Joint: "elbow_flex", Start: s.Now(), For: time.Second})
	cmd := append([]float64(nil), pose...)
	cmd[2] += 0.6 // the elbow's servo pushes hard against the hand
	s.Command(cmd, nil)
	var dev float64
	for range 800 {
		s.Step()
		s.Truth(q, nil)
		if q[2] != q0[2] {
			t.Fatalf("held elbow moved %g -> %g", q0[2], q[2])
		}
		for i := range q {
			if i != 2 {
				dev = max(dev, math.Abs(q[i]-q0[i]))
			}
		}
	}
	t.Logf("neighbours moved at most %.4g rad during the hold", dev)
	if dev > 0.005 {
		t.Errorf("neighbours moved %.4g rad during the elbow hold", dev)
	}
}

// solveHeld solves the free joints' reduced system and zeroes the held ones.
func TestSolveHeldReducedSystem(t *testing.T) {
	for _, name := range []string{"so101", "ur5", "panda"} {
		m := load(t, name)
		s := NewSolver(m)
		n := m.DOF()
		q, arm := make([]float64, n), make([]float64, n)
		for i, j := range m.Joints() {
			q[i] = j.Min + 0.41*(math.Min(j.Max, j.Min+6)-j.Min)
			arm[i] = 0.01 * float64(i+1)
		}
		s.kin(q)
		s.crba()
		M := append([]float64(nil), s.mass...)
		for mask := 0; mask < 1<<n; mask += 1 + mask%5 {
			held := make([]bool, n)
			b, x := make([]float64, n), make([]float64, n)
			for i := range held {
				held[i] = mask&(1<<i) != 0
				b[i] = math.Sin(float64(3*i + mask))
			}
			copy(x, b)
			if err := s.solveHeld(arm, held, x); err != nil {
				t.Fatalf("%s mask %b: %v", name, mask, err)
			}
			for i := range n {
				if held[i] {
					if x[i] != 0 {
						t.Fatalf("%s mask %b: held joint %d accelerates %g", name, mask, i, x[i])
					}
					continue
				}
				r := arm[i]*x[i] - b[i]
				for j := range n {
					if !held[j] {
						r += M[i*n+j] * x[j]
					}
				}
				if math.Abs(r) > 1e-9 {
					t.Fatalf("%s mask %b: joint %d residual %g", name, mask, i, r)
				}
			}
		}
	}
}
