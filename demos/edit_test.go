package demos

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func editDemo(t *testing.T, dir, name string) {
	t.Helper()
	d := &Demo{Joints: []string{"a", "b"}}
	for k := 0; k <= 100; k++ {
		tt := float64(k) * 0.01
		d.T = append(d.T, 5+tt)
		d.Y = append(d.Y, []float64{tt, -tt})
	}
	if _, err := ImportDemo(dir, d, name, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), ""); err != nil {
		t.Fatal(err)
	}
}

func TestTrimRenameDelete(t *testing.T) {
	dir := t.TempDir()
	editDemo(t, dir, "one")

	// To a new name: the original stays as it was.
	meta, err := Trim(dir, "one", 0.2, 0.5, "short")
	if err != nil {
		t.Fatal(err)
	}
	d, m2, err := Load(dir, "short")
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 31 || d.T[0] != 0 || d.Y[0][0] < 0.2-1e-9 || d.Y[0][0] > 0.2+1e-9 || m2.Samples != 31 || meta.Name != "short" ||
		!strings.Contains(m2.Notes, "trimmed from one") || !m2.Started.Equal(time.Date(2026, 12, 1, 10, 0, 0, 200_000_000, time.UTC)) {
		t.Fatalf("trimmed: %d samples from t=%g y=%v; sidecar %+v", d.Len(), d.T[0], d.Y[0], m2)
	}
	if orig, _, err := Load(dir, "one"); err != nil || orig.Len() != 101 {
		t.Fatalf("original after trim to a new name: %v", err)
	}
	if _, err := Trim(dir, "one", 0, 1, "short"); !errors.Is(err, ErrExists) {
		t.Fatalf("trim onto an existing demo: %v", err)
	}
	for _, w := range [][2]float64{{0.5, 0.2}, {0, 0.05}, {-1, 0.5}} {
		if _, err := Trim(dir, "one", w[0], w[1], ""); !errors.Is(err, ErrBadTrim) {
			t.Fatalf("trim %v: %v", w, err)
		}
	}
	if _, err := Trim(dir, "nope", 0, 1, ""); !errors.Is(err, ErrNoDemo) {
		t.Fatalf("trim of a missing demo: %v", err)
	}

	// In place.
	if _, err := Trim(dir, "one", 0.5, 1, ""); err != nil {
		t.Fatal(err)
	}
	if d, m, err := Load(dir, "one"); err != nil || d.Len() != 51 || m.Samples != 51 {
		t.Fatalf("in place: %v", err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".*")); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}

	// Rename.
	if err := Rename(dir, "one", "short"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto an existing demo: %v", err)
	}
	if err := Rename(dir, "one", "two"); err != nil {
		t.Fatal(err)
	}
	if _, m, err := Load(dir, "two"); err != nil || m.Name != "two" || m.Samples != 51 {
		t.Fatalf("renamed: %+v %v", m, err)
	}
	for _, p := range []string{"one.csv", "one.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left after rename: %v", p, err)
		}
	}
	if err := Rename(dir, "two", "bad/name"); err == nil {
		t.Fatal("rename to a bad name accepted")
	}

	// Delete.
	if err := Delete(dir, "two"); err != nil {
		t.Fatal(err)
	}
	if err := Delete(dir, "two"); !errors.Is(err, ErrNoDemo) {
		t.Fatalf("second delete: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("left: %v", ents)
	}
}
