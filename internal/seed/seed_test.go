package seed

import (
	"math"
	"testing"

	"github.com/praxis-robotics/praxis/skilllib"
)

// so101Limits are the SO-101 position limits (rad) from sim/models/so101.urdf.
var so101Limits = map[string][2]float64{
	"shoulder_pan": {-1.91986, 1.91986}, "shoulder_lift": {-1.74533, 1.74533},
	"elbow_flex": {-1.69, 1.69}, "wrist_flex": {-1.65806, 1.65806},
	"wrist_roll": {-2.74385, 2.84121}, "gripper": {-0.174533, 1.74533},
}

func TestInstallLearnsEverySeedOnce(t *testing.T) {
	st, err := skilllib.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Install(st, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "pick_place" || got[1] != "reach" || got[2] != "wave" {
		t.Fatalf("installed %v", got)
	}
	for _, name := range got {
		s, err := st.Get(name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.Version != 1 || len(s.Joints) != 6 || s.Joints[0] != "shoulder_pan" {
			t.Fatalf("%s: version %d joints %v", name, s.Version, s.Joints)
		}
		// The skill reproduces its demo well and stays inside the SO-101 limits.
		d, _, _ := Demo(name)
		for j, fe := range s.Provenance.FitError {
			if fe.RMSE > 0.01 {
				t.Errorf("%s %s: fit rmse %.4f rad", name, fe.Joint, fe.RMSE)
			}
			lim := so101Limits[s.Joints[j]]
			for i := range d.T {
				if q := d.Y[i][j]; q < lim[0] || q > lim[1] || math.IsNaN(q) {
					t.Fatalf("%s %s: demo sample %d = %g outside limits", name, s.Joints[j], i, q)
				}
			}
		}
	}
	// A second install changes nothing.
	again, err := Install(st, "test")
	if err != nil || len(again) != 0 {
		t.Fatalf("second install: %v %v", again, err)
	}
	if s, _ := st.Get("wave", 0); s.Version != 1 {
		t.Fatalf("wave re-installed as version %d", s.Version)
	}
}
