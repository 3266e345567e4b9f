package demos

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestImport(t *testing.T) {
	dir := t.TempDir()
	src := "../testdata/masterarm_wiggling/d02209.csv"
	meta, err := Import(dir, src, "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(src)
	got, err := os.ReadFile(filepath.Join(dir, "d02209.csv"))
	if err != nil || string(got) != string(want) {
		t.Fatalf("copy differs (%v)", err)
	}
	sc, err := ReadSidecar(filepath.Join(dir, "d02209.json"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Source != SourceImported || sc.Samples != 1680 || math.Abs(sc.RateHz-420) > 0.01 ||
		math.Abs(sc.DurationS-3.9976192) > 1e-9 || len(sc.Joints) != 7 || sc.Joints[0] != "R_SFE" || sc.Name != "d02209" {
		t.Errorf("sidecar %+v", sc)
	}
	if meta.Samples != sc.Samples {
		t.Errorf("returned sidecar %+v", meta)
	}
	if _, err := Import(dir, src, ""); !errors.Is(err, ErrExists) {
		t.Errorf("second import: %v, want ErrExists", err)
	}
	if _, err := Import(dir, src, "again"); err != nil {
		t.Errorf("import under another name: %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("t,a\n0,1\n0,2\n"), 0o644)
	if _, err := Import(dir, bad, ""); !errors.Is(err, ErrBadCSV) {
		t.Errorf("bad CSV: %v, want ErrBadCSV", err)
	}
	if _, err := Import(dir, bad, "../escape"); err == nil {
		t.Error("path in name accepted")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 4 {
		for _, e := range ents {
			t.Log(e.Name())
		}
		t.Errorf("%d files in the demo dir, want 4", len(ents))
	}
}
