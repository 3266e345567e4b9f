package skilllib

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/motion/dmp"
)

const wiggle = "../testdata/masterarm_wiggling/"

func readDemo(t *testing.T, file string) (*demos.Demo, DemoSource) {
	t.Helper()
	data, err := os.ReadFile(wiggle + file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := demos.ParseCSV(strings.NewReader(string(data)), file)
	if err != nil {
		t.Fatal(err)
	}
	return d, NewDemoSource(file, data, d.Len())
}

func TestLearnRealDemo(t *testing.T) {
	d, src := readDemo(t, "d02209.csv")
	created := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("CET", 3600))
	s, err := Learn([]*demos.Demo{d}, LearnOptions{
		Name: "wiggle", Fit: dmp.Options{Basis: 30}, Sources: []DemoSource{src},
		Created: created, PraxisVersion: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "wiggle" || s.Version != 1 || len(s.Joints) != 7 || s.Joints[3] != "R_EB" {
		t.Fatalf("skill %q v%d joints %v", s.Name, s.Version, s.Joints)
	}
	if s.Provenance.Basis != 30 || len(s.DMP.Centers) != 30 {
		t.Fatalf("basis %d, centres %d, want 30", s.Provenance.Basis, len(s.DMP.Centers))
	}
	if math.Abs(s.DT-1.0/420) > 1e-8 || math.Abs(s.DMP.Tau-d.Duration()) > 1e-9 {
		t.Fatalf("dt %v s, tau %v s; want 1/420 and %v", s.DT, s.DMP.Tau, d.Duration())
	}
	if got := s.Provenance.Created.Format(time.RFC3339); got != "2026-01-02T02:04:05Z" {
		t.Fatalf("created %s, want UTC to the second", got)
	}
	if p := s.Provenance.Demos; len(p) != 1 || p[0].File != "d02209.csv" || p[0].Samples != 1680 || len(p[0].SHA256) != 64 {
		t.Fatalf("demo provenance %+v", p)
	}
	if len(s.Provenance.FitError) != 7 {
		t.Fatalf("fit error %+v", s.Provenance.FitError)
	}
	for _, fe := range s.Provenance.FitError {
		if !(fe.RMSE < 0.02) {
			t.Errorf("joint %s: fit RMSE %v rad, want < 0.02", fe.Joint, fe.RMSE)
		}
	}
	// The file format carries it whole.
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unmarshal(data, "wiggle.json"); err != nil {
		t.Fatal(err)
	}
}

func TestLearnSeveralDemosReordered(t *testing.T) {
	a, srcA := readDemo(t, "d02209.csv")
	b, srcB := readDemo(t, "d02210.csv")
	// Swap two columns of b: Learn matches by name.
	b.Joints[0], b.Joints[1] = b.Joints[1], b.Joints[0]
	for _, row := range b.Y {
		row[0], row[1] = row[1], row[0]
	}
	s, err := Learn([]*demos.Demo{a, b}, LearnOptions{Name: "w2", Fit: dmp.Options{Basis: 20}, Sources: []DemoSource{srcA, srcB}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Joints[0] != "R_SFE" || len(s.Provenance.Demos) != 2 || s.Provenance.Demos[1].File != "d02210.csv" {
		t.Fatalf("joints %v, demos %+v", s.Joints, s.Provenance.Demos)
	}
	// Start is the mean of both demos' starts, in the first demo's joint order.
	want := (a.Y[0][0] + b.Y[0][1]) / 2
	if math.Abs(s.DMP.Start[0]-want) > 1e-9 {
		t.Fatalf("start[0] %v, want %v", s.DMP.Start[0], want)
	}
}

func TestLearnJointMismatch(t *testing.T) {
	a, srcA := readDemo(t, "d02209.csv")
	b, srcB := readDemo(t, "d02210.csv")
	b.Joints[6] = "gripper"
	_, err := Learn([]*demos.Demo{a, b}, LearnOptions{Name: "x", Sources: []DemoSource{srcA, srcB}})
	if !errors.Is(err, ErrJointMismatch) || !strings.Contains(err.Error(), "d02210.csv has joints") {
		t.Fatalf("error %v, want a joint mismatch naming d02210.csv", err)
	}
}

func TestLearnBadInput(t *testing.T) {
	a, _ := readDemo(t, "d02209.csv")
	if _, err := Learn([]*demos.Demo{a}, LearnOptions{}); err == nil {
		t.Error("no error for an empty name")
	}
	if _, err := Learn(nil, LearnOptions{Name: "x"}); err == nil {
		t.Error("no error without demos")
	}
	_, err := Learn([]*demos.Demo{a}, LearnOptions{Name: "x", Fit: dmp.Options{Basis: -3}})
	if !errors.Is(err, dmp.ErrInvalidOptions) {
		t.Errorf("error %v, want dmp.ErrInvalidOptions", err)
	}
	a.Y[5][2] = math.NaN()
	if _, err := Learn([]*demos.Demo{a}, LearnOptions{Name: "x"}); err == nil || !strings.Contains(err.Error(), "demo 1") {
		t.Errorf("error %v, want one naming demo 1", err)
	}
}

// timedDemo samples a minimum-jerk reach from a to b over dur seconds, with an optional
// pause of pause seconds at the half-way point (a person hesitating).
func timedDemo(a, b []float64, dur, pause float64) *demos.Demo {
	d := &demos.Demo{Joints: []string{"j0", "j1"}}
	total := dur + pause
	for i := 0; ; i++ {
		t := float64(i) * 0.01
		if t > total+1e-9 {
			break
		}
		u := t
		if t > dur/2 {
			u = max(dur/2, t-pause)
		}
		s := u / dur
		mj := s * s * s * (10 - 15*s + 6*s*s)
		row := make([]float64, 2)
		for j := range row {
			row[j] = a[j] + (b[j]-a[j])*mj
		}
		d.T = append(d.T, t)
		d.Y = append(d.Y, row)
	}
	return d
}

func TestLearnAlignsSeveralDemos(t *testing.T) {
	a, b := []float64{0, 1}, []float64{1, -0.5}
	fast := timedDemo(a, b, 2, 0)
	hesitant := timedDemo(a, b, 2, 0.6)
	srcs := []DemoSource{NewDemoSource("fast.csv", []byte("a"), fast.Len()), NewDemoSource("hesitant.csv", []byte("b"), hesitant.Len())}
	aligned, err := Learn([]*demos.Demo{fast, hesitant}, LearnOptions{Name: "reach", Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Learn([]*demos.Demo{fast, hesitant}, LearnOptions{Name: "reach", Sources: srcs, NoAlign: true})
	if err != nil {
		t.Fatal(err)
	}
	// Aligned, the skill keeps the shape (one smooth reach); fitted on raw time bases
	// the two demos disagree in phase and the fit error shows it.
	worst := func(s *Skill) float64 {
		m := 0.0
		for _, e := range s.Provenance.FitError {
			m = max(m, e.RMSE)
		}
		return m
	}
	t.Logf("fit rmse aligned %.4g, unaligned %.4g", worst(aligned), worst(plain))
	if wa, wp := worst(aligned), worst(plain); !(wa < 0.5*wp) {
		t.Fatalf("fit rmse aligned %.4g, unaligned %.4g: alignment should at least halve it", wa, wp)
	}
	sp := aligned.Provenance.Spread
	if len(sp) != 2 || len(sp[0].Mean) != 2 || len(plain.Provenance.Spread) != 0 {
		t.Fatalf("spread %+v / %+v", sp, plain.Provenance.Spread)
	}
	for i, d := range sp {
		for j := range d.Max {
			if d.Max[j] > 0.05 || d.Mean[j] > d.Max[j] {
				t.Fatalf("demo %d joint %d spread mean %.4g max %.4g: same shape should align closely", i, j, d.Mean[j], d.Max[j])
			}
		}
	}
	// The spread survives the file format.
	data, err := Marshal(aligned)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(data, "reach.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Provenance.Spread) != 2 || back.Provenance.Spread[1].Max[0] != sp[1].Max[0] {
		t.Fatalf("spread after round trip: %+v", back.Provenance.Spread)
	}
}
