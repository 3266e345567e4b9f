package demos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SidecarFormat is the value of Sidecar.Format this package writes and reads.
const SidecarFormat = "praxis.demo/v1"

// Sidecar sources.
const (
	SourceRecorded = "recorded" // sampled from an arm by a Recorder
	SourceImported = "imported" // copied from an existing CSV file by Import
)

// Teaching modes (Sidecar.Teaching); other values are allowed.
const (
	TeachingKinesthetic = "kinesthetic" // torque off, a person moved the arm itself
	TeachingLeader      = "leader"      // the arm was moved with its torque on (leader arm, teleoperation)
)

// ErrSidecar is wrapped by every sidecar validation error.
var ErrSidecar = errors.New("demos: bad sidecar")

// Sidecar is the JSON metadata file `<name>.json` next to a demo's `<name>.csv`.
type Sidecar struct {
	Format    string    `json:"format"`              // always SidecarFormat
	Name      string    `json:"name"`                // demo name: the file's base name without .csv
	Robot     string    `json:"robot"`               // robot id; may be empty when unknown (imports)
	Joints    []string  `json:"joints"`              // joint names, in CSV column order
	RateHz    float64   `json:"rate_hz"`             // nominal sampling rate, Hz
	Started   time.Time `json:"started"`             // wall-clock start of the recording (RFC 3339)
	DurationS float64   `json:"duration_s"`          // last sample time minus first, s
	Samples   int       `json:"samples"`             // data rows in the CSV
	Notes     string    `json:"notes,omitempty"`     // free text from the operator
	Source    string    `json:"source"`              // SourceRecorded or SourceImported
	Teaching  string    `json:"teaching,omitempty"`  // TeachingKinesthetic, TeachingLeader, ...
	Recovered bool      `json:"recovered,omitempty"` // finished by Recover after a crash
}

// Validate checks every field; the error wraps ErrSidecar and names the JSON field.
func (s *Sidecar) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: field %q: %s", ErrSidecar, field, fmt.Sprintf(format, a...))
	}
	if s.Format != SidecarFormat {
		return bad("format", "%q, want %q", s.Format, SidecarFormat)
	}
	if err := checkName(s.Name); err != nil {
		return bad("name", "%v", err)
	}
	if len(s.Joints) == 0 {
		return bad("joints", "empty")
	}
	seen := make(map[string]bool, len(s.Joints))
	for _, j := range s.Joints {
		if j == "" || j == "t" || seen[j] || strings.ContainsAny(j, ",\r\n") {
			return bad("joints", "bad or duplicate joint name %q", j)
		}
		seen[j] = true
	}
	if !(s.RateHz > 0) || math.IsInf(s.RateHz, 0) {
		return bad("rate_hz", "%v, want > 0", s.RateHz)
	}
	if s.Started.IsZero() {
		return bad("started", "missing")
	}
	if !(s.DurationS >= 0) || math.IsInf(s.DurationS, 0) {
		return bad("duration_s", "%v, want >= 0", s.DurationS)
	}
	if s.Samples < 0 {
		return bad("samples", "%d, want >= 0", s.Samples)
	}
	if s.Source != SourceRecorded && s.Source != SourceImported {
		return bad("source", "%q, want %q or %q", s.Source, SourceRecorded, SourceImported)
	}
	return nil
}

// ReadSidecar reads and validates a sidecar file; errors name the file and, for bad
// content, the field (wrapping ErrSidecar).
func ReadSidecar(path string) (*Sidecar, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("demos: %w", err)
	}
	var s Sidecar
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("demos: %s: %w: %v", filepath.Base(path), ErrSidecar, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("demos: %s: %w", filepath.Base(path), err)
	}
	return &s, nil
}

// WriteSidecar validates s and writes it to path crash-safely (temporary file, fsync,
// rename, fsync of the directory), replacing any older file. Started is written in UTC.
func WriteSidecar(path string, s *Sidecar) error {
	if err := s.Validate(); err != nil {
		return err
	}
	c := *s
	c.Started = c.Started.UTC()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		return fmt.Errorf("demos: sidecar: %w", err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// writeFileAtomic replaces path with data: temporary file, fsync, rename, fsync dir.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("demos: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("demos: write %s: %w", filepath.Base(path), err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that renames and creations in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("demos: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("demos: sync %s: %w", dir, err)
	}
	return nil
}

// checkName accepts a demo name usable as a file base name: 1 to 128 characters of
// letters, digits, '_', '-' and '.', not starting with '.'.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty demo name")
	}
	if len(name) > 128 {
		return fmt.Errorf("demo name %.20q... is longer than 128 characters", name)
	}
	if name[0] == '.' {
		return fmt.Errorf("demo name %q starts with '.'", name)
	}
	for _, r := range name {
		ok := r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("demo name %q has %q (use letters, digits, '_', '-', '.')", name, r)
		}
	}
	if strings.HasSuffix(name, ".csv") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".json") {
		return fmt.Errorf("demo name %q ends with a file extension (give the name without .csv)", name)
	}
	return nil
}
