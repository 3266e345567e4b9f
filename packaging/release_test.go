package packaging

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Tolerance of cross-architecture agreement. The maths differs between architectures
// only by rounding, from two causes checked with a probe program under qemu: Go fuses
// x*y+z into one FMA instruction on arm64 (0.1*10-1 gives 5.55e-17 there, 0 on amd64
// and arm), and math.Exp has a different implementation on each (assembly on amd64 and
// arm64, pure Go on arm), so the three disagree in the last bit for some inputs. A replay
// (rollout, sim run) moves by a few ulps (< 1e-15); a fit amplifies that by the
// condition number of its normal equations (weights ~1e-10 relative), hence relative
// tolerance for skills.
const archTol = 1e-9

// TestReleaseUnderQEMU runs the arm64 and armv7 release binaries under qemu-user-static
// and checks that version, offline learn and rollout, and a simulated run agree with the
// amd64 binary.
func TestReleaseUnderQEMU(t *testing.T) {
	dist := release(t)
	demo, err := filepath.Abs("../internal/seed/demos/wave.csv")
	if err != nil {
		t.Fatal(err)
	}
	type result struct{ version, skill, rollout, report string }
	results := map[string]result{}
	root := t.TempDir() // outlives the subtests: arm64 and armv7 replay amd64's skill
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dir := filepath.Join(root, tg.name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			var r result
			r.version = run(t, dir, command(t, dist, tg.name, "version")...)
			platform := "linux/" + tg.goarch
			if tg.goarm != "" {
				platform += "/v" + tg.goarm
			}
			if !strings.Contains(r.version, "platform:   "+platform+"\n") {
				t.Fatalf("version says\n%s\nwant platform %s", r.version, platform)
			}
			if stamped && !strings.Contains(r.version, "praxis "+testVersion+"\ncommit:     "+testCommit+"\nbuilt:      "+testDate+"\n") {
				t.Fatalf("version says\n%s\nwant the stamps %s %s %s", r.version, testVersion, testCommit, testDate)
			}
			run(t, dir, command(t, dist, tg.name, "learn", demo, "--name", "wave", "-o", "wave.json")...)
			r.skill = filepath.Join(dir, "wave.json")
			// Each architecture rolls out its own skill (learning and replay end to end); the
			// sim run replays amd64's skill, so it compares replay and simulation alone.
			run(t, dir, command(t, dist, tg.name, "rollout", r.skill, "-o", "rollout.csv")...)
			r.rollout = filepath.Join(dir, "rollout.csv")
			skill := r.skill
			if tg.name != "amd64" {
				skill = results["amd64"].skill
			}
			run(t, dir, command(t, dist, tg.name, "sim", "run", skill, "--report-json", "report.json")...)
			r.report = filepath.Join(dir, "report.json")
			results[tg.name] = r
			if tg.name == "amd64" {
				return
			}
			base := results["amd64"]
			if v := regexp.MustCompile(`praxis .*`).FindString(r.version); v != regexp.MustCompile(`praxis .*`).FindString(base.version) {
				t.Errorf("version %q, amd64 %q", v, base.version)
			}
			compareJSON(t, "skill", base.skill, r.skill, map[string]bool{"created": true}, true)
			compareCSV(t, base.rollout, r.rollout)
			// The run's wall time (timing.wall) is real time, and qemu's is slower: the
			// one key that is not simulated.
			compareJSON(t, "sim run report", base.report, r.report, map[string]bool{"wall": true}, false)
		})
		if _, ok := results[tg.name]; !ok && tg.name == "amd64" {
			t.FailNow()
		}
	}
}

// compareJSON checks that two JSON files hold the same values, numbers within archTol
// (when rel: relative to the largest magnitude in their array, at least 1); keys in skip
// are not compared.
func compareJSON(t *testing.T, what, a, b string, skip map[string]bool, rel bool) {
	t.Helper()
	var x, y any
	for f, v := range map[string]*any{a: &x, b: &y} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	var diffs []string
	scale := 1.0
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		switch xv := x.(type) {
		case map[string]any:
			yv, _ := y.(map[string]any)
			if len(xv) != len(yv) {
				diffs = append(diffs, fmt.Sprintf("%s: %d keys vs %d", path, len(xv), len(yv)))
			}
			for k := range xv {
				if !skip[k] {
					walk(path+"."+k, xv[k], yv[k])
				}
			}
		case []any:
			yv, _ := y.([]any)
			if len(xv) != len(yv) {
				diffs = append(diffs, fmt.Sprintf("%s: length %d vs %d", path, len(xv), len(yv)))
				return
			}
			outer := scale
			for _, e := range xv {
				if f, ok := e.(float64); ok && rel {
					scale = max(scale, math.Abs(f))
				}
			}
			for i := range xv {
				walk(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i])
			}
			scale = outer
		case float64:
			yv, ok := y.(float64)
			tol := archTol
			if rel {
				tol *= max(scale, math.Abs(xv), math.Abs(yv))
			}
			if !ok || math.Abs(xv-yv) > tol {
				diffs = append(diffs, fmt.Sprintf("%s: %v vs %v", path, x, y))
			}
		default:
			if x != y {
				diffs = append(diffs, fmt.Sprintf("%s: %v vs %v", path, x, y))
			}
		}
	}
	walk("", x, y)
	if len(diffs) > 0 {
		t.Errorf("%s differs from amd64 beyond %g in %d places: %v", what, archTol, len(diffs), diffs[:min(len(diffs), 10)])
	}
}

// compareCSV checks two numeric CSV files (same header) agree within archTol.
func compareCSV(t *testing.T, a, b string) {
	t.Helper()
	read := func(f string) [][]string {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		rows, err := csv.NewReader(fh).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		return rows
	}
	x, y := read(a), read(b)
	if len(x) != len(y) || len(x) < 2 || strings.Join(x[0], ",") != strings.Join(y[0], ",") {
		t.Fatalf("rollout: %d rows (header %v) vs %d (header %v)", len(x), x[0], len(y), y[0])
	}
	worst := 0.0
	for i := 1; i < len(x); i++ {
		for j := range x[i] {
			u, err1 := strconv.ParseFloat(x[i][j], 64)
			v, err2 := strconv.ParseFloat(y[i][j], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("rollout row %d: %v %v", i, err1, err2)
			}
			worst = max(worst, math.Abs(u-v))
		}
	}
	if worst > archTol {
		t.Errorf("rollout differs from amd64 by %g (> %g)", worst, archTol)
	}
	t.Logf("rollout: largest difference from amd64 %g", worst)
}
