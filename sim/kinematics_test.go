package sim

import (
	"math"
	"strings"
	"testing"
)

// TestLinkPositions checks the planar two-link arm against the pose computed by hand:
// j1 at z = 0.1 m about y, j2 0.5 m along l1, the tip 0.4 m along l2. A rotation by θ
// about y takes x to (cos θ, 0, −sin θ).
func TestLinkPositions(t *testing.T) {
	m, err := LoadURDF("testdata/two_link.urdf")
	if err != nil {
		t.Fatal(err)
	}
	q1, q2 := math.Pi/6, math.Pi/3
	sk, err := m.LinkPositions([]float64{q1, q2})
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]float64{
		{0, 0, 0},
		{0, 0, 0.1},
		{0.5 * math.Cos(q1), 0, 0.1 - 0.5*math.Sin(q1)},
		{0.5*math.Cos(q1) + 0.4*math.Cos(q1+q2), 0, 0.1 - 0.5*math.Sin(q1) - 0.4*math.Sin(q1+q2)},
	}
	names := []string{"world", "j1", "j2", "tip"}
	parents := []int{-1, 0, 1, 2}
	if len(sk.Points) != len(want) {
		t.Fatalf("%d points %v, want %d", len(sk.Points), sk.Names, len(want))
	}
	for k := range want {
		if sk.Names[k] != names[k] || sk.Parent[k] != parents[k] {
			t.Errorf("point %d: %s parent %d, want %s parent %d", k, sk.Names[k], sk.Parent[k], names[k], parents[k])
		}
		for c := 0; c < 3; c++ {
			if math.Abs(sk.Points[k][c]-want[k][c]) > 1e-12 {
				t.Errorf("point %d (%s) = %v, want %v", k, sk.Names[k], sk.Points[k], want[k])
				break
			}
		}
	}
	// The end effector agrees with the dynamics' forward kinematics.
	ee, err := NewSolver(m).EndEffector([]float64{q1, q2})
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Hypot(math.Hypot(ee.Pos[0]-want[3][0], ee.Pos[1]-want[3][1]), ee.Pos[2]-want[3][2]); d > 1e-12 {
		t.Errorf("Solver.EndEffector %v, LinkPositions %v", ee.Pos, sk.Points[3])
	}
	if _, err := m.LinkPositions([]float64{0}); err == nil || !strings.Contains(err.Error(), "1 positions for a 2-joint") {
		t.Errorf("short q: %v", err)
	}
	if _, err := m.LinkPositions([]float64{0, math.NaN()}); err == nil || !strings.Contains(err.Error(), "j2") {
		t.Errorf("NaN: %v", err)
	}
}

// TestLinkPositionsBuiltin: every built-in model gives one point per joint plus base and
// end effector, the end effector where the solver puts it.
func TestLinkPositionsBuiltin(t *testing.T) {
	for _, name := range []string{"so101", "ur5", "panda"} {
		m, err := LoadBuiltin(name)
		if err != nil {
			t.Fatal(err)
		}
		q := make([]float64, m.DOF())
		for i, j := range m.Joints() {
			q[i] = math.Max(j.Min, math.Min(j.Max, 0.3))
		}
		sk, err := m.LinkPositions(q)
		if err != nil {
			t.Fatal(err)
		}
		if len(sk.Points) != m.DOF()+2 {
			t.Fatalf("%s: %d points for %d joints", name, len(sk.Points), m.DOF())
		}
		ee, _ := NewSolver(m).EndEffector(q)
		last := sk.Points[len(sk.Points)-1]
		for c := 0; c < 3; c++ {
			if math.Abs(last[c]-ee.Pos[c]) > 1e-12 {
				t.Errorf("%s: end effector %v, solver %v", name, last, ee.Pos)
			}
		}
	}
}
