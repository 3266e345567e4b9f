package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/skilllib"
)

const wiggleDemo = "../../testdata/masterarm_wiggling/d02209.csv"

// offlineRun runs the CLI in-process and maps the error to an exit status as main does.
func offlineRun(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	if err == nil {
		return out.String(), errb.String(), 0
	}
	errb.WriteString("praxis: " + err.Error() + "\n")
	var bi badInput
	if errors.As(err, &bi) || isUsageError(err) {
		return out.String(), errb.String(), exitBadInput
	}
	return out.String(), errb.String(), exitFailure
}

// wantBadInput runs the CLI with args and fails unless it exits with exitBadInput, one
// stderr line containing want, and nothing on stdout.
func wantBadInput(t *testing.T, want string, args ...string) {
	t.Helper()
	stdout, stderr, status := offlineRun(t, args...)
	if status != exitBadInput {
		t.Fatalf("status %d, want %d; stderr %q", status, exitBadInput, stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Fatalf("stderr %q, want it to contain %q", stderr, want)
	}
	if strings.Count(stderr, "\n") != 1 || stdout != "" {
		t.Fatalf("want one line on stderr and nothing on stdout; got %q / %q", stderr, stdout)
	}
}

// learnWiggle learns the d02209 demo into dir/wiggle.json and returns its path.
func learnWiggle(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	path := filepath.Join(dir, "wiggle.json")
	_, stderr, status := offlineRun(t, append([]string{"learn", wiggleDemo, "--name", "wiggle", "-o", path}, extra...)...)
	if status != 0 {
		t.Fatalf("learn: status %d: %s", status, stderr)
	}
	return path
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLearnSummaryAndStdout(t *testing.T) {
	stdout, stderr, status := offlineRun(t, "learn", wiggleDemo, "--name", "wiggle", "--basis", "20", "--formulation", "ijspeert2013")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	s, err := skilllib.Unmarshal([]byte(stdout), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "wiggle" || s.Provenance.Basis != 20 || s.DMP.Formulation != "ijspeert2013" || len(s.Joints) != 7 {
		t.Fatalf("skill %q basis %d %s joints %v", s.Name, s.Provenance.Basis, s.DMP.Formulation, s.Joints)
	}
	if d := s.Provenance.Demos; len(d) != 1 || d[0].File != "d02209.csv" {
		t.Fatalf("provenance demos %+v", d)
	}
	data, _ := os.ReadFile(wiggleDemo)
	if want := skilllib.NewDemoSource("", data, 0).SHA256; s.Provenance.Demos[0].SHA256 != want {
		t.Fatalf("sha256 %s, want %s", s.Provenance.Demos[0].SHA256, want)
	}
	for _, j := range s.Joints {
		if !strings.Contains(stderr, "\n"+j+" ") {
			t.Errorf("summary lacks joint %s:\n%s", j, stderr)
		}
	}
	if !strings.Contains(stderr, "rmse") {
		t.Errorf("summary lacks rmse:\n%s", stderr)
	}
}

func TestLearnSeveralDemos(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "two.json")
	_, stderr, status := offlineRun(t, "learn", wiggleDemo, "../../testdata/masterarm_wiggling/d02210.csv", "--name", "two", "-o", path)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	s, err := skilllib.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Provenance.Demos) != 2 || s.Provenance.Demos[1].File != "d02210.csv" {
		t.Fatalf("demos %+v", s.Provenance.Demos)
	}
}

func TestLearnBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.csv", "t,a,b\n0,1,2\n0.1,abc,2\n")
	var other strings.Builder
	other.WriteString("t,R_SFE,x\n")
	for i := range 12 {
		fmt.Fprintf(&other, "%g,0.5,0.25\n", float64(i)*0.01)
	}
	otherPath := writeFile(t, dir, "other.csv", other.String())
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no demos", []string{"learn", "--name", "x"}, "requires at least 1 arg"},
		{"no name", []string{"learn", wiggleDemo}, "learn: --name is required"},
		{"basis small", []string{"learn", wiggleDemo, "--name", "x", "--basis", "1"}, "learn: --basis 1: want 2 or more"},
		{"basis not a number", []string{"learn", wiggleDemo, "--name", "x", "--basis", "many"}, `invalid argument "many"`},
		{"formulation", []string{"learn", wiggleDemo, "--name", "x", "--formulation", "schaal"}, `learn: --formulation "schaal"`},
		{"missing file", []string{"learn", filepath.Join(dir, "none.csv"), "--name", "x"}, "learn: open "},
		{"bad csv", []string{"learn", bad, "--name", "x"}, `bad.csv:3:2: "abc" is not a number`},
		{"joint mismatch", []string{"learn", wiggleDemo, otherPath, "--name", "x"}, "other.csv has joints"},
		{"unknown flag", []string{"learn", wiggleDemo, "--name", "x", "--bases", "3"}, "unknown flag: --bases"},
		{"output dir missing", []string{"learn", wiggleDemo, "--name", "x", "-o", filepath.Join(dir, "no", "s.json")}, "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantBadInput(t, c.want, c.args...)
		})
	}
}

// TestExitStatusExec runs the real binary: bad input must exit 2 with one stderr line,
// a good run 0.
func TestExitStatusExec(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "praxis")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	skill := learnWiggle(t, dir)
	bad := writeFile(t, dir, "bad.csv", "t,a\n0,1\n0,2\n")
	cases := []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"learn", bad, "--name", "x"}, 2, "praxis: bad.csv:3:1: time 0 s is not after"},
		{[]string{"rollout", skill, "--goal", "1,2"}, 2, "praxis: rollout: --goal: 2 values, want 7"},
		{[]string{"rollout", skill, "--dt", "fast"}, 2, `invalid argument "fast"`},
		{[]string{"rollout", filepath.Join(dir, "none.json")}, 2, "no such file"},
		{[]string{"rollout", skill, "--duration", "1", "-o", filepath.Join(dir, "out.csv")}, 0, ""},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != c.status {
			t.Errorf("%v: exit status %d, want %d; stderr %q", c.args, status, c.status, stderr.String())
			continue
		}
		if c.status != 0 && (!strings.Contains(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1) {
			t.Errorf("%v: stderr %q, want one line containing %q", c.args, stderr.String(), c.want)
		}
	}
	d, err := demos.ReadCSV(filepath.Join(dir, "out.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() < 400 || d.Duration() < 0.99 || d.Duration() > 1.01 {
		t.Fatalf("rollout of 1 s: %d samples over %v s", d.Len(), d.Duration())
	}
}
