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
