package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/daemon"
)

func TestDemosLeRobotExportImport(t *testing.T) {
	dir := t.TempDir()
	src := t.TempDir()
	for k, name := range []string{"wave", "reach"} {
		var b strings.Builder
		b.WriteString("t,shoulder_pan,gripper\n")
		for i := range 40 {
			tt := float64(i) / 50
			fmt.Fprintf(&b, "%g,%g,%g\n", tt, 0.3*math.Sin(tt)+float64(k), 0.1*tt)
		}
		csv := writeFile(t, src, name+".csv", b.String())
		if _, errs, st := offlineRun(t, "demos", "import", csv, "--data", dir); st != 0 {
			t.Fatalf("import %s: %s", name, errs)
		}
	}
	out := filepath.Join(t.TempDir(), "so101_wave")
	o, errs, st := offlineRun(t, "demos", "export", "wave", "reach", "--lerobot", out, "--robot-type", "so101", "--data", dir)
	if st != 0 || !strings.Contains(o, "2 episodes") {
		t.Fatalf("export: %d %q %s", st, o, errs)
	}
	o, errs, st = offlineRun(t, "demos", "import", out, "--lerobot", "--episodes", "1", "--name", "back", "--data", dir)
	if st != 0 || !strings.Contains(o, "imported demo back_ep1: 40 samples") {
		t.Fatalf("import --lerobot: %d %q %s", st, o, errs)
	}
	ddir := filepath.Join(dir, daemon.DemosDir)
	orig, err := demos.ReadCSV(filepath.Join(ddir, "reach.csv"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := demos.ReadCSV(filepath.Join(ddir, "back_ep1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.Joints, ",") != "shoulder_pan,gripper" || back.Len() != orig.Len() {
		t.Fatalf("round trip: joints %v, %d samples", back.Joints, back.Len())
	}
	for i := range orig.T {
		for j := range orig.Joints {
			if math.Abs(back.Y[i][j]-orig.Y[i][j]) > 1e-6 {
				t.Fatalf("sample %d joint %d: %v, want %v", i, j, back.Y[i][j], orig.Y[i][j])
			}
		}
	}
	// Bad input: exit status 2 with the reason.
	for _, args := range [][]string{
		{"demos", "import", out, "--lerobot", "--episodes", "7", "--data", dir},
		{"demos", "import", out, "--lerobot", "--units", "range", "--data", dir},
		{"demos", "import", src, "--lerobot", "--data", dir},
		{"demos", "export", "nosuch", "--lerobot", filepath.Join(t.TempDir(), "x"), "--data", dir},
		{"demos", "export", "wave", "--lerobot", out, "--data", dir},
	} {
		if _, errs, st := offlineRun(t, args...); st != exitBadInput {
			t.Errorf("%v: status %d, want %d: %s", args, st, exitBadInput, errs)
		}
	}
}
