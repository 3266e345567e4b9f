package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/internal/seed"
	"github.com/praxis-robotics/praxis/skilllib"
)

// seededDataDir makes a daemon data directory holding the seed skills.
func seededDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st, err := skilllib.OpenStore(filepath.Join(dir, "skills"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Install(st, "test"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSkillsLibraryCommands(t *testing.T) {
	dir := seededDataDir(t)
	file := filepath.Join(t.TempDir(), "wave.json")
	if _, errs, st := offlineRun(t, "skills", "export", "wave", "-o", file, "--data", dir); st != 0 {
		t.Fatalf("export: status %d: %s", st, errs)
	}
	s, err := skilllib.Load(file)
	if err != nil || s.Name != "wave" || s.Version != 1 {
		t.Fatalf("exported file: %+v, %v", s, err)
	}
	out, errs, st := offlineRun(t, "skills", "import", file, "--data", dir)
	if st != 0 || !strings.Contains(out, "imported wave version 2") {
		t.Fatalf("import: %d %q %s", st, out, errs)
	}
	if out, _, st := offlineRun(t, "skills", "rename", "wave", "greet", "--data", dir); st != 0 || !strings.Contains(out, "renamed wave to greet") {
		t.Fatalf("rename: %d %q", st, out)
	}
	if out, _, st := offlineRun(t, "skills", "delete", "greet", "--version", "1", "--data", dir); st != 0 || !strings.Contains(out, "version 1 of greet") {
		t.Fatalf("delete: %d %q", st, out)
	}
	st2, _ := skilllib.OpenStore(filepath.Join(dir, "skills"))
	if g, err := st2.Get("greet", 0); err != nil || g.Version != 2 {
		t.Fatalf("greet after delete of v1: %+v %v", g, err)
	}
	if out, _, st := offlineRun(t, "skills", "check", "--data", dir); st != 0 || !strings.Contains(out, "3 skills, 3 good versions") {
		t.Fatalf("check: %d %q", st, out)
	}
	// Corrupt one file: check names it and fails; the good ones stay.
	p := filepath.Join(dir, "skills", "reach", "v1.json")
	b, _ := os.ReadFile(p)
	b[len(b)/3] ^= 0x01
	os.WriteFile(p, b, 0o644)
	out, _, st = offlineRun(t, "skills", "check", "--data", dir)
	if st != 1 || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "reach") || !strings.Contains(out, "2 skills") {
		t.Fatalf("check with a corrupt file: %d %q", st, out)
	}
	// Bad input: exit 2 with a clear message.
	for _, args := range [][]string{
		{"skills", "export", "nosuch", "--data", dir},
		{"skills", "rename", "greet", "pick_place", "--data", dir},
		{"skills", "delete", "../x", "--data", dir},
		{"skills", "import", filepath.Join(dir, "missing.json"), "--data", dir},
		{"skills", "export", "wave", "--data", filepath.Join(dir, "nodir")},
	} {
		if _, errs, st := offlineRun(t, args...); st != 2 || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: status %d, stderr %q", args, st, errs)
		}
	}
}

func TestDemosImportAndList(t *testing.T) {
	dir := seededDataDir(t)
	out, errs, st := offlineRun(t, "demos", "import", "../../testdata/masterarm_wiggling/d02209.csv", "--name", "wiggle", "--data", dir)
	if st != 0 || !strings.Contains(out, "imported demo wiggle: 1680 samples") {
		t.Fatalf("import: %d %q %s", st, out, errs)
	}
	if _, _, st := offlineRun(t, "demos", "import", "../../testdata/masterarm_wiggling/d02209.csv", "--name", "wiggle", "--data", dir); st != 2 {
		t.Fatalf("importing over an existing demo: status %d", st)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("t,a\n0,1\n0.1,x\n"), 0o644)
	if _, errs, st := offlineRun(t, "demos", "import", bad, "--data", dir); st != 2 || !strings.Contains(errs, "bad.csv:3:2") {
		t.Fatalf("importing a broken CSV: %d %q", st, errs)
	}
	out, _, st = offlineRun(t, "demos", "list", "--data", dir)
	if st != 0 || !strings.Contains(out, "wiggle") || !strings.Contains(out, "1680") || !strings.Contains(out, "imported") {
		t.Fatalf("list: %d %q", st, out)
	}
}

// demos rename and delete work on the data directory, never replace a demo, and refuse
// one being recorded; the README's teach section can then run twice.
func TestDemosDeleteRename(t *testing.T) {
	dir := seededDataDir(t)
	for _, n := range []string{"a", "b"} {
		if _, errs, st := offlineRun(t, "demos", "import", "../../testdata/masterarm_wiggling/d02209.csv", "--name", n, "--data", dir); st != 0 {
			t.Fatalf("import %s: %s", n, errs)
		}
	}
	out, errs, st := offlineRun(t, "demos", "rename", "a", "b", "--data", dir)
	if st != 2 || !strings.Contains(errs, "already exists") {
		t.Fatalf("rename onto an existing demo: %d %q %q", st, out, errs)
	}
	out, errs, st = offlineRun(t, "demos", "rename", "a", "c", "--data", dir)
	if st != 0 || out != "renamed demo a to c\n" {
		t.Fatalf("rename: %d %q %q", st, out, errs)
	}
	out, _, _ = offlineRun(t, "demos", "list", "--data", dir)
	if !strings.Contains(out, "\nc ") || strings.Contains(out, "\na ") {
		t.Fatalf("list after rename:\n%s", out)
	}
	ddir := filepath.Join(dir, "demos")
	if err := os.WriteFile(filepath.Join(ddir, "b.csv.part"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, st = offlineRun(t, "demos", "delete", "b", "--data", dir); st != 2 || !strings.Contains(errs, "being recorded") {
		t.Fatalf("delete while recording: %d %q", st, errs)
	}
	os.Remove(filepath.Join(ddir, "b.csv.part"))
	out, errs, st = offlineRun(t, "demos", "delete", "b", "--data", dir)
	if st != 0 || out != "deleted demo b\n" {
		t.Fatalf("delete: %d %q %q", st, out, errs)
	}
	for _, f := range []string{"b.csv", "b.json"} {
		if _, err := os.Stat(filepath.Join(ddir, f)); !os.IsNotExist(err) {
			t.Errorf("%s left after delete: %v", f, err)
		}
	}
	if _, errs, st = offlineRun(t, "demos", "delete", "b", "--data", dir); st != 2 || !strings.Contains(errs, "no such demo") {
		t.Fatalf("delete twice: %d %q", st, errs)
	}
}
