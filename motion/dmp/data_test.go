package dmp

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// loadCSV reads a `t,<names>` demo file.
func loadCSV(t testing.TB, path string) Demo {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d := Demo{Joints: rows[0][1:]}
	for i, r := range rows[1:] {
		vals := make([]float64, len(r))
		for k, s := range r {
			if vals[k], err = strconv.ParseFloat(s, 64); err != nil {
				t.Fatalf("%s row %d: %v", path, i+1, err)
			}
		}
		d.T = append(d.T, vals[0])
		d.Y = append(d.Y, vals[1:])
	}
	return d
}

func demoFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"masterarm_wiggling/d*.csv", "panda_comanip_symbol17/demo*.csv",
		"dfki_pick_place_mocap/*/subject*.csv"} {
		m, err := filepath.Glob(filepath.Join("..", "..", "testdata", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("found %d demo files, want the testdata set", len(files))
	}
	return files
}

func spans(d Demo) []float64 {
	out := make([]float64, len(d.Y[0]))
	for j := range out {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range d.Y {
			lo, hi = min(lo, r[j]), max(hi, r[j])
		}
		out[j] = hi - lo
	}
	return out
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// datasetLimit50 is the median RMSE/span each data set must reach with the default 50
// basis functions. The MasterArm wiggling demos (4 s, 420 Hz) carry content up to and
// past the Nyquist rate of 50 functions over 4 s (6 Hz) all along the motion, so no centre
// placement reaches 0.1% there: their bound is 1.1e-3 (measured 1.06e-3); 100 basis
// functions reach 0.1% (TestAccuracyPerDataset). SystemMinJerk measures 1.055e-3 there.
var datasetLimit50 = map[string]float64{
	"masterarm_wiggling":     1.1e-3,
	"panda_comanip_symbol17": 1e-3,
	"approach_forward":       1e-3,
	"move_obj_table":         1e-3,
}

// TestAccuracyRealData: with 50 basis functions the median reproduction RMSE over joints
// and demos is below 0.1% of each joint's span, pooled and per data set (but see
// datasetLimit50), for both formulations and both systems.
func TestAccuracyRealData(t *testing.T) {
	files := demoFiles(t)
	for _, sys := range []System{SystemPhase, SystemMinJerk} {
		testAccuracyRealData(t, files, sys)
	}
}

func testAccuracyRealData(t *testing.T, files []string, sys System) {
	limits := datasetLimit50
	for _, form := range []Formulation{Pastor2009, Ijspeert2013} {
		groups := map[string][]float64{}
		var all, maxRel []float64
		for _, path := range files {
			d := loadCSV(t, path)
			dmp, rep, err := Fit(d, Options{Formulation: form, System: sys})
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if len(dmp.Weights) != len(d.Joints) {
				t.Fatalf("%s: %d joints fitted", path, len(dmp.Weights))
			}
			g := filepath.Base(filepath.Dir(path))
			for j, s := range spans(d) {
				rel := rep.Joints[j].RMSE / s
				groups[g] = append(groups[g], rel)
				all = append(all, rel)
				maxRel = append(maxRel, rep.Joints[j].Max/s)
			}
		}
		for g, v := range groups {
			t.Logf("%s %s %s: median RMSE/span %.2e over %d joints", sys, form, g, median(v), len(v))
			lim, ok := limits[g]
			if !ok {
				t.Errorf("data set %s has no limit", g)
			}
			if m := median(v); !(m < lim) {
				t.Errorf("%s %s %s: median RMSE/span %.3e with 50 basis, want < %.1e", sys, form, g, m, lim)
			}
		}
		sort.Float64s(maxRel)
		t.Logf("%s %s all: median RMSE/span %.2e, median max/span %.2e, worst max/span %.2e",
			sys, form, median(all), median(maxRel), maxRel[len(maxRel)-1])
		if m := median(all); !(m < 1e-3) {
			t.Errorf("%s: median RMSE/span %.3e, want < 1e-3", form, m)
		}
	}
}

// TestAccuracyPerDataset: the long, busy motions (4 s of wiggling, a 12 s symbol) need
// more than 50 basis functions; with 100, every data set's median is below 0.1%.
func TestAccuracyPerDataset(t *testing.T) {
	groups := map[string][]float64{}
	for _, path := range demoFiles(t) {
		d := loadCSV(t, path)
		_, rep, err := Fit(d, Options{Basis: 100})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		g := filepath.Base(filepath.Dir(path))
		for j, s := range spans(d) {
			groups[g] = append(groups[g], rep.Joints[j].RMSE/s)
		}
	}
	for g, v := range groups {
		t.Logf("100 basis, %s: median RMSE/span %.2e", g, median(v))
		if m := median(v); !(m < 1e-3) {
			t.Errorf("%s: median RMSE/span %.3e with 100 basis, want < 1e-3", g, m)
		}
	}
}
