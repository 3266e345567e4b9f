package skilllib

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/motion/dmp"
)

var updateRollout = flag.Bool("update-rollout", false,
	"rewrite testdata/v1.rollout.golden.txt (only ever from a build whose v1 rollouts are known good)")

// v1RolloutCases rolls a v1 skill out in the ways the CLI and the executor use it: the
// demo reproduced, a moved goal at other durations, and a run stepped with a slow factor,
// coupling, a goal change and a re-anchoring. Each case is hashed bit for bit.
func v1RolloutCases(t *testing.T, s *Skill) map[string][]float64 {
	t.Helper()
	d := &s.DMP
	out := map[string][]float64{}
	flat := func(tr *dmp.Trajectory) []float64 {
		var v []float64
		for i := range tr.T {
			v = append(v, tr.T[i])
			v = append(v, tr.Pos[i]...)
			v = append(v, tr.Vel[i]...)
			v = append(v, tr.Acc[i]...)
		}
		return v
	}
	tr, err := d.Rollout(nil, nil, 0, s.DT)
	if err != nil {
		t.Fatal(err)
	}
	out["demo"] = flat(tr)
	goal := append([]float64(nil), d.Goal...)
	for j := range goal {
		goal[j] += 0.2 * float64(j%3-1)
	}
	for _, dur := range []float64{3, 4, 6} {
		tr, err := d.Rollout(nil, goal, dur, s.DT)
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("goal-moved-%gs", dur)] = flat(tr)
	}
	st, err := d.NewStepper(d.Start, nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	nj := len(d.Start)
	coup := make([]float64, nj)
	var v []float64
	for i := 0; i < int(2*d.Tau/0.002); i++ {
		slow := 1.0
		if i%7 == 3 {
			slow = 0.4
		}
		for j := range coup {
			coup[j] = 0.3 * math.Sin(float64(i+j)*0.01)
		}
		if i == 300 {
			st.SetGoal(goal)
		}
		if i == 500 {
			p := append([]float64(nil), st.Pos()...)
			p[0] += 0.01
			st.Reanchor(p, st.Vel())
		}
		st.Step(0.002, coup, slow)
		v = append(v, st.Pos()...)
		v = append(v, st.Vel()...)
		v = append(v, st.Acc()...)
		v = append(v, st.Goal()...)
		v = append(v, st.Phase(), st.Time())
	}
	out["stepped"] = v
	return out
}

func hashFloats(v []float64) string {
	h := sha256.New()
	var b [8]byte
	for _, x := range v {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestV1RolloutUnchanged: a skill file of format v1 rolls out bit for bit as it did when
// the golden hashes were written (before praxis.skill/v2 and its minimum-jerk goal
// system existed): the v1 files keep the exponential phase and the spring to the goal.
func TestV1RolloutUnchanged(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("golden hashes were written on amd64; other architectures may fuse multiply-adds")
	}
	var lines []string
	for _, file := range []string{"v1.golden.json", "v1.wiggle.golden.json"} {
		s, err := Load(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		cases := v1RolloutCases(t, s)
		for _, name := range []string{"demo", "goal-moved-3s", "goal-moved-4s", "goal-moved-6s", "stepped"} {
			v := cases[name]
			lines = append(lines, fmt.Sprintf("%s %s %d %s", file, name, len(v), hashFloats(v)))
		}
	}
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", "v1.rollout.golden.txt")
	if *updateRollout {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("v1 rollouts changed:\n got\n%s want\n%s", got, want)
	}
}

// TestFormatV2: a DMP with a System is written as praxis.skill/v2 with its "system" key
// (golden file), reads back equal and rolls out; a v1 file that happens to
// carry a "system" key still loads with the v1 system (unknown keys are ignored in v1).
func TestFormatV2(t *testing.T) {
	s := testSkill()
	s.DMP.System = dmp.SystemMinJerk
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "v2.golden.json")
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(want) {
		t.Fatalf("v2 file:\n%s\nwant\n%s", data, want)
	}
	if !strings.Contains(string(data), `"format": "praxis.skill/v2"`) || !strings.Contains(string(data), `"system": "minjerk"`) {
		t.Fatalf("v2 file lacks its format or system:\n%s", data)
	}
	got, err := Unmarshal(data, "v2.json")
	if err != nil {
		t.Fatal(err)
	}
	if got.DMP.System != dmp.SystemMinJerk || got.Name != s.Name || got.DMP.Weights[1][3] != s.DMP.Weights[1][3] {
		t.Fatalf("v2 file reads back as %+v", got.DMP)
	}
	if _, err := got.DMP.Rollout(nil, []float64{1.2, 0.5}, 2, 0.002); err != nil {
		t.Fatal(err)
	}

	v1, err := os.ReadFile(filepath.Join("testdata", "v1.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	tagged := strings.Replace(string(v1), `"formulation": "pastor2009",`, `"formulation": "pastor2009", "system": "minjerk",`, 1)
	old, err := Unmarshal([]byte(tagged), "v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if old.DMP.System != "" {
		t.Fatalf("v1 file loads with system %q, want the v1 system", old.DMP.System)
	}
}

// TestV2RolloutUnchanged pins the minimum-jerk system (format v2) the same way, so that
// work on the stepper's speed keeps its rollouts bit for bit: the v2 golden skill, one
// fitted to the MasterArm demo that ends fastest (its centres crowd at the brake, where
// the substeps are local) and an ijspeert2013 reach, in the cases of
// TestV1RolloutUnchanged; plus the weights Fit finds for those demos, since Fit steps its
// unit responses with the stepper. Rewrite with -update-rollout only from a build whose
// v2 rollouts are known good.
func TestV2RolloutUnchanged(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("golden hashes were written on amd64; other architectures may fuse multiply-adds")
	}
	var lines []string
	for _, file := range []string{"v2.golden.json", "v2.wiggle.golden.json", "v2.reach.golden.json"} {
		s, err := Load(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if s.DMP.System != dmp.SystemMinJerk {
			t.Fatalf("%s: system %q, want minjerk", file, s.DMP.System)
		}
		cases := v1RolloutCases(t, s)
		for _, name := range []string{"demo", "goal-moved-3s", "goal-moved-4s", "goal-moved-6s", "stepped"} {
			v := cases[name]
			lines = append(lines, fmt.Sprintf("%s %s %d %s", file, name, len(v), hashFloats(v)))
		}
	}
	for _, c := range []struct {
		demo string
		opt  dmp.Options
	}{
		{"../testdata/masterarm_wiggling/d02208.csv", dmp.Options{}},
		{"../testdata/dfki_pick_place_mocap/approach_forward/subject1_run1.csv", dmp.Options{Formulation: dmp.Ijspeert2013}},
	} {
		d, err := demos.ReadCSV(c.demo)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := dmp.Fit(dmp.Demo{Joints: d.Joints, T: d.T, Y: d.Y}, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		var w []float64
		for _, row := range m.Weights {
			w = append(w, row...)
		}
		lines = append(lines, fmt.Sprintf("fit %s %d %s", filepath.Base(c.demo), len(w), hashFloats(w)))
	}
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", "v2.rollout.golden.txt")
	if *updateRollout {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("v2 rollouts changed:\n got\n%s want\n%s", got, want)
	}
}
