package demos

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// restToRest is a 3 s demo of two joints moving 0.8 rad and 0.3 rad, at rest at both ends.
func restToRest() *Demo {
	d := &Demo{Joints: []string{"a", "b"}}
	for k := 0; k <= 300; k++ {
		t := float64(k) * 0.01
		s := 0.5 - 0.5*math.Cos(math.Pi*math.Min(t/2.5, 1)) // still for the last 0.5 s
		d.T = append(d.T, t)
		d.Y = append(d.Y, []float64{0.8 * s, -0.3 * s})
	}
	return d
}

func importT(t *testing.T, dir, name string) {
	t.Helper()
	if _, err := ImportDemo(dir, restToRest(), name, time.Unix(0, 0), ""); err != nil {
		t.Fatal(err)
	}
}

func wantFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", got, want)
	}
}

func TestDeleteDemo(t *testing.T) {
	dir := t.TempDir()
	importT(t, dir, "a")
	importT(t, dir, "b")
	if err := Delete(dir, "a"); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, dir, "b.csv", "b.json")
	if err := Delete(dir, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v, want ErrNotFound", err)
	}
	if err := Delete(dir, "../b"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of a bad name: %v", err)
	}
	// Being recorded: the recorder's .part files are the lock; nothing is removed.
	if err := os.WriteFile(filepath.Join(dir, "b.csv.part"), []byte("t,a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Delete(dir, "b"); !errors.Is(err, ErrBeingRecorded) {
		t.Fatalf("delete while recording: %v, want ErrBeingRecorded", err)
	}
	wantFiles(t, dir, "b.csv", "b.csv.part", "b.json")
}

func TestRenameDemo(t *testing.T) {
	dir := t.TempDir()
	importT(t, dir, "a")
	importT(t, dir, "b")
	before, _ := os.ReadFile(filepath.Join(dir, "a.csv"))
	if err := Rename(dir, "a", "c"); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, dir, "b.csv", "b.json", "c.csv", "c.json")
	after, _ := os.ReadFile(filepath.Join(dir, "c.csv"))
	if string(after) != string(before) {
		t.Fatal("the renamed CSV differs")
	}
	sc, err := ReadSidecar(filepath.Join(dir, "c.json"))
	if err != nil || sc.Name != "c" || sc.Samples != 301 {
		t.Fatalf("renamed sidecar %+v, %v: want name c, 301 samples", sc, err)
	}
	// Never replaces: the target exists.
	if err := Rename(dir, "b", "c"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto c: %v, want ErrExists", err)
	}
	if err := Rename(dir, "b", "b"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto itself: %v, want ErrExists", err)
	}
	if err := Rename(dir, "nope", "d"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rename of a missing demo: %v, want ErrNotFound", err)
	}
	wantFiles(t, dir, "b.csv", "b.json", "c.csv", "c.json")
	// Neither from nor to a name being recorded.
	if err := os.WriteFile(filepath.Join(dir, "d.json.part"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Rename(dir, "b", "d"); !errors.Is(err, ErrBeingRecorded) {
		t.Fatalf("rename onto a recording: %v, want ErrBeingRecorded", err)
	}
	if err := os.Rename(filepath.Join(dir, "d.json.part"), filepath.Join(dir, "b.json.part")); err != nil {
		t.Fatal(err)
	}
	if err := Rename(dir, "b", "d"); !errors.Is(err, ErrBeingRecorded) {
		t.Fatalf("rename of a recording: %v, want ErrBeingRecorded", err)
	}
	wantFiles(t, dir, "b.csv", "b.json", "b.json.part", "c.csv", "c.json")
}

func TestCheckDemo(t *testing.T) {
	if w := Check(restToRest()); w != "" {
		t.Fatalf("a 3 s rest-to-rest demo warned: %s", w)
	}
	cut := restToRest()
	cut.T, cut.Y = cut.T[:161], cut.Y[:161] // stopped at 1.6 s, mid-motion
	if w := Check(cut); !strings.Contains(w, "still moving at the end (a at ") || strings.Contains(w, "short") {
		t.Errorf("a demo cut at 1.6 s: %q, want only 'still moving at the end (a at ...'", w)
	}
	short := restToRest()
	short.T, short.Y = short.T[:61], short.Y[:61]
	if w := Check(short); !strings.Contains(w, "short: 0.6 s") {
		t.Errorf("a 0.6 s demo: %q, want short: 0.6 s", w)
	}
	still := &Demo{Joints: []string{"a"}}
	for k := range 300 {
		still.T = append(still.T, float64(k)*0.01)
		still.Y = append(still.Y, []float64{0.01 * math.Sin(float64(k))})
	}
	if w := Check(still); !strings.Contains(w, "little motion: no joint moved more than 0.05 rad (most: a, 0.02)") {
		t.Errorf("a demo with no motion: %q", w)
	}
}
