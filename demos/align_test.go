package demos

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// shape is one motion over s in [0, 1].
func shape(s float64, j int) float64 {
	if j == 0 {
		return math.Sin(math.Pi * s)
	}
	return s * s
}

// naiveResidual compares two demos sample by sample after stretching both to 0..1.
func naiveResidual(a, b *Demo, m int) float64 {
	ra, _ := Resample(a, a.Duration()/float64(m-1))
	rb, _ := Resample(b, b.Duration()/float64(m-1))
	n := min(ra.Len(), rb.Len())
	ss := 0.0
	for i := 0; i < n; i++ {
		ss += sqDist(ra.Y[i], rb.Y[i])
	}
	return math.Sqrt(ss / float64(n))
}

func TestAlignPause(t *testing.T) {
	// a: the motion in 2 s. b: the same motion in 2.5 s, with a 0.5 s pause at 1 s.
	a := synth(uniform(201, 0.01), func(t float64, j int) float64 { return shape(t/2, j) })
	pause := func(t float64) float64 {
		switch {
		case t < 1:
			return t
		case t < 1.5:
			return 1
		}
		return t - 0.5
	}
	b := synth(uniform(251, 0.01), func(t float64, j int) float64 { return shape(pause(t)/2, j) })
	// c: faster overall and with its columns swapped: matched by name.
	c := synth(uniform(181, 0.01), func(t float64, j int) float64 { return shape(t/1.8, 1-j) })
	c.Joints = []string{"b", "a"}
	in := []*Demo{b, a, c}
	raw := []*Demo{clone(b), clone(a), clone(c)}

	al, err := Align(in, AlignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(raw, in) {
		t.Fatal("Align modified its input")
	}
	if al.Reference != 1 || al.Duration != 2 || len(al.Phase) != 201 || al.Phase[200] != 1 {
		t.Fatalf("reference %d duration %v phase %d", al.Reference, al.Duration, len(al.Phase))
	}
	naive := naiveResidual(a, b, 201)
	t.Logf("residuals %v; without warping b is off by %.4f", al.Residual, naive)
	if al.Residual[0] > 0.01 || al.Residual[2] > 0.01 || al.Residual[1] != 0 {
		t.Errorf("residuals %v, want < 0.01", al.Residual)
	}
	if al.Residual[0] > naive/10 {
		t.Errorf("warping barely helped: %v vs %v", al.Residual[0], naive)
	}
	for k, d := range al.Demos {
		if strings.Join(d.Joints, ",") != "a,b" || d.Len() != 201 {
			t.Fatalf("aligned demo %d: %v, %d samples", k, d.Joints, d.Len())
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		// On the common phase every demo is the shape itself.
		for i, s := range al.Phase {
			for j := range 2 {
				if e := math.Abs(d.Y[i][j] - shape(s, j)); e > 0.03 {
					t.Fatalf("demo %d at phase %v joint %d off by %v", k, s, j, e)
				}
			}
		}
		for j := range 2 {
			if sp := al.Spread[k]; sp.Max[j] > 0.03 || sp.Mean[j] > sp.Max[j] || sp.Mean[j] > 0.005 {
				t.Errorf("demo %d spread %+v", k, sp)
			}
		}
	}
	if al.Durations[0] != 2.5 {
		t.Errorf("durations %v", al.Durations)
	}
}

func TestAlignJointMismatch(t *testing.T) {
	a := synth(uniform(50, 0.01), shapeAt)
	b := synth(uniform(50, 0.01), shapeAt)
	b.Joints = []string{"a", "elbow"}
	_, err := Align([]*Demo{a, b}, AlignOptions{})
	if err == nil || !strings.Contains(err.Error(), `"elbow"`) || !strings.Contains(err.Error(), `"b"`) || !strings.Contains(err.Error(), "demo 1") {
		t.Fatalf("err = %v, want it to name demo 1, b and elbow", err)
	}
	if _, err := Align(nil, AlignOptions{}); err == nil {
		t.Error("no demos accepted")
	}
}

func shapeAt(t float64, j int) float64 { return shape(t, j) }

func TestAlignMasterArm(t *testing.T) {
	d1, err := ReadCSV("../testdata/masterarm_wiggling/d02209.csv")
	if err != nil {
		t.Fatal(err)
	}
	d2, err := ReadCSV("../testdata/masterarm_wiggling/d02210.csv")
	if err != nil {
		t.Fatal(err)
	}
	al, err := Align([]*Demo{d1, d2}, AlignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	naive := naiveResidual(d1, d2, len(al.Phase))
	other := 1 - al.Reference
	t.Logf("reference %d, %d phase samples; residual %.4f rad (naive %.4f); spread max %.3v",
		al.Reference, len(al.Phase), al.Residual[other], naive, al.Spread[other].Max)
	// The two recordings start and end in different poses (up to ~0.1 rad apart), so the
	// residual cannot vanish; warping must still beat plain time normalisation.
	if al.Residual[other] >= naive || al.Residual[other] > 0.25 {
		t.Errorf("residual %v rad, naive %v rad", al.Residual[other], naive)
	}
	for j, name := range al.Joints {
		if mx := al.Spread[other].Max[j]; mx > 0.2 || al.Spread[other].Mean[j] > mx {
			t.Errorf("joint %s spread max %v rad", name, mx)
		}
	}
}
