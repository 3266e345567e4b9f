package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/demos"
)

// rolloutCSV runs `praxis rollout` with args and parses the CSV it prints.
func rolloutCSV(t *testing.T, args ...string) *demos.Demo {
	t.Helper()
	stdout, stderr, status := offlineRun(t, append([]string{"rollout"}, args...)...)
	if status != 0 {
		t.Fatalf("rollout %v: status %d: %s", args, status, stderr)
	}
	d, err := demos.ParseCSV(strings.NewReader(stdout), "rollout")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRolloutReproducesDemo(t *testing.T) {
	demo, err := demos.ReadCSV(wiggleDemo)
	if err != nil {
		t.Fatal(err)
	}
	skill := learnWiggle(t, t.TempDir())
	r := rolloutCSV(t, skill)
	if !slices.Equal(r.Joints, demo.Joints) {
		t.Fatalf("joints %v, want %v", r.Joints, demo.Joints)
	}
	if r.Len() != demo.Len() || math.Abs(r.Duration()-demo.Duration()) > 1e-3 {
		t.Fatalf("%d samples over %v s, want %d over %v s", r.Len(), r.Duration(), demo.Len(), demo.Duration())
	}
	for j, name := range demo.Joints {
		lo, hi, sq := math.Inf(1), math.Inf(-1), 0.0
		for i := range demo.T {
			v := demo.Y[i][j]
			lo, hi = min(lo, v), max(hi, v)
			e := r.Y[i][j] - v
			sq += e * e
		}
		rmse, span := math.Sqrt(sq/float64(demo.Len())), hi-lo
		if !(rmse < 0.02*span) {
			t.Errorf("joint %s: RMSE %.4g rad over a span of %.4g rad, want < 2%%", name, rmse, span)
		}
	}
}

func TestRolloutNewGoal(t *testing.T) {
	demo, err := demos.ReadCSV(wiggleDemo)
	if err != nil {
		t.Fatal(err)
	}
	skill := learnWiggle(t, t.TempDir())
	end := demo.Y[demo.Len()-1]
	goal := make([]string, len(end))
	want := make([]float64, len(end))
	for j, v := range end {
		want[j] = v + 0.3*float64(j%3-1) // -0.3, 0, +0.3, ...
		goal[j] = fmt.Sprint(want[j])
	}
	check := func(label string, r *demos.Demo, want []float64) {
		t.Helper()
		last := r.Y[r.Len()-1]
		for j := range want {
			if math.Abs(last[j]-want[j]) > 0.02 {
				t.Errorf("%s: joint %s ends at %.4f rad, want %.4f ± 0.02", label, r.Joints[j], last[j], want[j])
			}
		}
	}
	check("positional", rolloutCSV(t, skill, "--goal", strings.Join(goal, ",")), want)

	// name=value: only R_EB moves; the rest keep the demonstrated goal.
	named := slices.Clone(end)
	named[3] = end[3] - 0.4
	r := rolloutCSV(t, skill, "--goal", fmt.Sprintf("R_EB=%v", named[3]), "--dt", "0.01", "--duration", "3")
	check("named", r, named)
	if r.Len() != 301 || math.Abs(r.T[r.Len()-1]-3) > 1e-9 {
		t.Fatalf("--dt 0.01 --duration 3: %d samples ending at %v s, want 301 ending at 3", r.Len(), r.T[r.Len()-1])
	}

	// A new start: the first sample is the start.
	r = rolloutCSV(t, skill, "--start", "R_SFE=0.4,R_WAA=0")
	if r.Y[0][0] != 0.4 || r.Y[0][6] != 0 || r.Y[0][1] != demo.Y[0][1] {
		t.Fatalf("first sample %v, want R_SFE 0.4, R_WAA 0, R_SAA %v", r.Y[0], demo.Y[0][1])
	}
}

func TestRolloutToFile(t *testing.T) {
	dir := t.TempDir()
	skill := learnWiggle(t, dir)
	out := filepath.Join(dir, "out.csv")
	stdout, stderr, status := offlineRun(t, "rollout", skill, "-o", out, "--duration", "2")
	if status != 0 || stdout != "" {
		t.Fatalf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	d, err := demos.ReadCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(d.Duration()-2) > 0.003 {
		t.Fatalf("duration %v s, want 2", d.Duration())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}

func TestRolloutBadInput(t *testing.T) {
	dir := t.TempDir()
	skill := learnWiggle(t, dir)
	good, err := os.ReadFile(skill)
	if err != nil {
		t.Fatal(err)
	}
	broken := writeFile(t, dir, "broken.json", strings.Replace(string(good), `"tau": `, `"tau": -`, 1))
	truncated := writeFile(t, dir, "trunc.json", string(good[:len(good)/3]))
	v3 := writeFile(t, dir, "v3.json", strings.Replace(string(good), "praxis.skill/v2", "praxis.skill/v3", 1))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no skill", []string{"rollout"}, "accepts 1 arg(s), received 0"},
		{"two skills", []string{"rollout", skill, skill}, "accepts 1 arg(s), received 2"},
		{"missing skill", []string{"rollout", filepath.Join(dir, "none.json")}, "no such file"},
		{"broken skill", []string{"rollout", broken}, "skill broken.json: tau is -"},
		{"truncated skill", []string{"rollout", truncated}, "skill trunc.json: truncated JSON"},
		{"other format", []string{"rollout", v3}, `skill v3.json: format "praxis.skill/v3"`},
		{"goal count", []string{"rollout", skill, "--goal", "1,2,3"}, "rollout: --goal: 3 values, want 7 (one per joint: R_SFE,"},
		{"goal empty", []string{"rollout", skill, "--goal", ""}, "rollout: --goal: empty list"},
		{"goal not a number", []string{"rollout", skill, "--goal", "1,2,3,x,5,6,7"}, `rollout: --goal item 4: "x" is not a number`},
		{"goal nan", []string{"rollout", skill, "--goal", "R_EB=NaN"}, `rollout: --goal item 1: "NaN" is not a finite number`},
		{"goal unknown joint", []string{"rollout", skill, "--goal", "R_EB=1,elbow=2"}, `rollout: --goal item 2: unknown joint "elbow"`},
		{"goal twice", []string{"rollout", skill, "--goal", "R_EB=1,R_EB=2"}, `rollout: --goal item 2: joint "R_EB" given twice`},
		{"start mixed", []string{"rollout", skill, "--start", "R_EB=1,2"}, `rollout: --start item 2 "2": want name=value`},
		{"start inf", []string{"rollout", skill, "--start", "0,0,0,Inf,0,0,0"}, `rollout: --start item 4: "Inf" is not a finite number`},
		{"duration negative", []string{"rollout", skill, "--duration", "-1"}, "rollout: --duration -1"},
		{"duration nan", []string{"rollout", skill, "--duration", "NaN"}, "rollout: --duration NaN"},
		{"duration word", []string{"rollout", skill, "--duration", "long"}, `invalid argument "long"`},
		{"dt zero", []string{"rollout", skill, "--dt", "0"}, "rollout: --dt 0"},
		{"dt too long", []string{"rollout", skill, "--dt", "10"}, "rollout: --dt 10 s is longer than the duration"},
		{"too many samples", []string{"rollout", skill, "--dt", "1e-9"}, "rollout: dmp: invalid argument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantBadInput(t, c.want, c.args...)
		})
	}
}

func TestParseJointList(t *testing.T) {
	joints := []string{"a", "b", "c"}
	def := []float64{1, 2, 3}
	got, err := parseJointList("--goal", " 0.5, -1 ,2e-1", joints, def)
	if err != nil || !slices.Equal(got, []float64{0.5, -1, 0.2}) {
		t.Fatalf("positional: %v %v", got, err)
	}
	got, err = parseJointList("--goal", "c=-3, a = 0", joints, def)
	if err != nil || !slices.Equal(got, []float64{0, 2, -3}) {
		t.Fatalf("named: %v %v", got, err)
	}
	if !slices.Equal(def, []float64{1, 2, 3}) {
		t.Fatalf("default modified: %v", def)
	}
}
