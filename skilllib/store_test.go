package skilllib

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openTestStore(t *testing.T) *Store {
	t.Helper()
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStoreVersionsNeverOverwritten(t *testing.T) {
	st := openTestStore(t)
	s := testSkill()
	v1, err := st.Put(s)
	if err != nil || v1 != 1 {
		t.Fatalf("first put: v%d, %v", v1, err)
	}
	first, _ := os.ReadFile(filepath.Join(st.Dir(), s.Name, "v1.json"))
	s2 := testSkill()
	s2.DT = 0.02
	v2, err := st.Put(s2)
	if err != nil || v2 != 2 || s2.Version != 2 {
		t.Fatalf("second put: v%d (skill says %d), %v", v2, s2.Version, err)
	}
	again, _ := os.ReadFile(filepath.Join(st.Dir(), s.Name, "v1.json"))
	if !bytes.Equal(first, again) {
		t.Fatal("v1 changed when v2 was stored")
	}
	latest, err := st.Get(s.Name, 0)
	if err != nil || latest.Version != 2 || latest.DT != 0.02 {
		t.Fatalf("latest: %+v, %v", latest, err)
	}
	old, err := st.Get(s.Name, 1)
	if err != nil || old.Version != 1 || old.DT != testSkill().DT {
		t.Fatalf("v1: %+v, %v", old, err)
	}
	if _, err := st.Get(s.Name, 7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	infos, probs, err := st.List()
	if err != nil || len(probs) != 0 || len(infos) != 1 {
		t.Fatalf("list: %+v %+v %v", infos, probs, err)
	}
	if in := infos[0]; in.Name != s.Name || in.Latest != 2 || len(in.Versions) != 2 || len(in.Joints) != len(s.Joints) {
		t.Fatalf("info: %+v", in)
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(filepath.Join(st.Dir(), s.Name))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Fatalf("temp file left: %s", e.Name())
		}
	}
}

func TestStoreCorruptFilesSkippedAndReported(t *testing.T) {
	st := openTestStore(t)
	s := testSkill()
	for i := 0; i < 3; i++ {
		if _, err := st.Put(testSkill()); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(st.Dir(), s.Name)
	// v3: flip a byte (checksum mismatch). v2: checksum lost.
	p3 := filepath.Join(dir, "v3.json")
	b, _ := os.ReadFile(p3)
	b[len(b)/2] ^= 0x20
	if err := os.WriteFile(p3, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "v2.json.sha256")); err != nil {
		t.Fatal(err)
	}
	// A foreign file in a skill-like directory, and stray files at the top.
	os.MkdirAll(filepath.Join(st.Dir(), "foreign"), 0o755)
	os.WriteFile(filepath.Join(st.Dir(), "foreign", "v1.json"), []byte(`{"hello":1}`), 0o644)
	os.WriteFile(filepath.Join(st.Dir(), "foreign", "v1.json.sha256"), []byte("00\n"), 0o644)
	os.WriteFile(filepath.Join(st.Dir(), "README"), []byte("x"), 0o644)

	if _, err := st.Get(s.Name, 3); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("v3: %v", err)
	}
	if _, err := st.Get(s.Name, 2); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "no checksum") {
		t.Fatalf("v2: %v", err)
	}
	got, err := st.Get(s.Name, 0)
	if err != nil || got.Version != 1 {
		t.Fatalf("latest good: %+v, %v", got, err)
	}
	infos, probs, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Latest != 1 || len(infos[0].Versions) != 1 {
		t.Fatalf("infos: %+v", infos)
	}
	if len(probs) != 3 {
		t.Fatalf("problems: %+v", probs)
	}
	// A new version after corruption is v4: the corrupt v3 is kept for inspection.
	v, err := st.Put(testSkill())
	if err != nil || v != 4 {
		t.Fatalf("put after corruption: v%d %v", v, err)
	}
}

func TestStoreRenameDeleteExportImport(t *testing.T) {
	st := openTestStore(t)
	s := testSkill()
	st.Put(testSkill())
	st.Put(testSkill())
	if err := st.Rename(s.Name, "renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(s.Name, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name still there: %v", err)
	}
	r, err := st.Get("renamed", 2)
	if err != nil || r.Name != "renamed" || r.Version != 2 {
		t.Fatalf("renamed: %+v %v", r, err)
	}
	st.Put(testSkill())
	if err := st.Rename(s.Name, "renamed"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto existing: %v", err)
	}
	var buf bytes.Buffer
	if err := st.Export("renamed", 1, &buf); err != nil {
		t.Fatal(err)
	}
	other := openTestStore(t)
	imp, err := other.Import(&buf, "export.json")
	if err != nil || imp.Name != "renamed" || imp.Version != 1 {
		t.Fatalf("import: %+v %v", imp, err)
	}
	if _, err := other.Import(strings.NewReader(`{"format":"praxis.skill/v9"}`), "x.json"); !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("import foreign: %v", err)
	}
	if err := st.Delete("renamed", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get("renamed", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted version: %v", err)
	}
	if got, err := st.Get("renamed", 0); err != nil || got.Version != 2 {
		t.Fatalf("remaining: %+v %v", got, err)
	}
	if err := st.Delete("renamed", 0); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete("renamed", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestStoreRejectsBadNames(t *testing.T) {
	st := openTestStore(t)
	for _, n := range []string{"", "../etc", ".hidden", "a/b", strings.Repeat("x", 65)} {
		s := testSkill()
		s.Name = n
		if _, err := st.Put(s); err == nil {
			t.Errorf("name %q accepted", n)
		}
		if _, err := st.Get(n, 0); err == nil {
			t.Errorf("get %q accepted", n)
		}
	}
}

// TestOpenRemovesInterruptedWrites: a write killed before its rename leaves a .tmp-* file
// in the skill's folder; the next open removes it and keeps every stored version.
func TestOpenRemovesInterruptedWrites(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	sk := testSkill()
	if _, err := st.Put(sk); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "wave", ".tmp-123"), filepath.Join(dir, ".tmp-9")} {
		if err := os.WriteFile(p, []byte("{half a skil"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err = OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "wave", ".tmp-123"), filepath.Join(dir, ".tmp-9")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if got, err := st.Get("wave", 1); err != nil || got.Name != "wave" {
		t.Fatalf("stored version lost: %v", err)
	}
}

func TestSharedFollowsNewVersions(t *testing.T) {
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Shared("wave", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty library: %v", err)
	}
	if _, err := st.Put(testSkill()); err != nil {
		t.Fatal(err)
	}
	a, err := st.Shared("wave", 0)
	if err != nil || a.Version != 1 {
		t.Fatalf("%+v %v", a, err)
	}
	if b, _ := st.Shared("wave", 0); b != a {
		t.Error("the latest version was parsed again although nothing changed")
	}
	if _, err := st.Put(testSkill()); err != nil {
		t.Fatal(err)
	}
	if c, _ := st.Shared("wave", 0); c == a || c.Version != 2 {
		t.Errorf("after a new version: version %d (same pointer: %v)", c.Version, c == a)
	}
	if err := st.Delete("wave", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Shared("wave", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}
