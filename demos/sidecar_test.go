package demos

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func validSidecar() Sidecar {
	return Sidecar{
		Format: SidecarFormat, Name: "pour", Robot: "so101", Joints: []string{"a", "b"},
		RateHz: 100, Started: time.Date(2026, 11, 25, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
		DurationS: 4.2, Samples: 421, Notes: "first try", Source: SourceRecorded, Teaching: TeachingKinesthetic,
	}
}

func TestSidecarRoundTripAndGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pour.json")
	s := validSidecar()
	if err := WriteSidecar(path, &s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	golden := `{
  "format": "praxis.demo/v1",
  "name": "pour",
  "robot": "so101",
  "joints": [
    "a",
    "b"
  ],
  "rate_hz": 100,
  "started": "2026-11-25T08:30:00Z",
  "duration_s": 4.2,
  "samples": 421,
  "notes": "first try",
  "source": "recorded",
  "teaching": "kinesthetic"
}
`
	if string(b) != golden {
		t.Errorf("file:\n%s\nwant:\n%s", b, golden)
	}
	got, err := ReadSidecar(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Started.Equal(s.Started) || got.Name != s.Name || got.Samples != 421 || got.Teaching != s.Teaching {
		t.Errorf("read back %+v", got)
	}
}

func TestSidecarValidationNamesField(t *testing.T) {
	cases := map[string]func(*Sidecar){
		"format":     func(s *Sidecar) { s.Format = "praxis.demo/v0" },
		"name":       func(s *Sidecar) { s.Name = "a/b" },
		"joints":     func(s *Sidecar) { s.Joints = []string{"a", "a"} },
		"rate_hz":    func(s *Sidecar) { s.RateHz = 0 },
		"started":    func(s *Sidecar) { s.Started = time.Time{} },
		"duration_s": func(s *Sidecar) { s.DurationS = -1 },
		"samples":    func(s *Sidecar) { s.Samples = -1 },
		"source":     func(s *Sidecar) { s.Source = "dreamt" },
	}
	dir := t.TempDir()
	for field, mod := range cases {
		s := validSidecar()
		mod(&s)
		err := s.Validate()
		if !errors.Is(err, ErrSidecar) || !strings.Contains(err.Error(), `"`+field+`"`) {
			t.Errorf("%s: %v", field, err)
		}
		if err := WriteSidecar(filepath.Join(dir, field+".json"), &s); err == nil {
			t.Errorf("%s: invalid sidecar written", field)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"format":"praxis.demo/v1","name":"x","joints":["a"],"rate_hz":100,"started":"2026-01-01T00:00:00Z","source":"recorded","samples":-3}`), 0o644)
	if _, err := ReadSidecar(bad); err == nil || !strings.Contains(err.Error(), `"samples"`) || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("ReadSidecar: %v", err)
	}
	os.WriteFile(bad, []byte(`{"format":`), 0o644)
	if _, err := ReadSidecar(bad); !errors.Is(err, ErrSidecar) {
		t.Errorf("truncated JSON: %v", err)
	}
}
