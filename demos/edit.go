package demos

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// ErrNoDemo: no demo of that name in the directory (the same error as ErrNotFound).
var ErrNoDemo = ErrNotFound

// ErrBadTrim: a trim window that keeps fewer than MinSamples samples or is not finite.
var ErrBadTrim = errors.New("demos: bad trim window")

// Load reads dir/<name>.csv and its sidecar (a demo without a sidecar gets one made up
// from the CSV: source imported). Errors wrap ErrNoDemo when the CSV is missing.
func Load(dir, name string) (*Demo, *Sidecar, error) {
	if err := checkName(name); err != nil {
		return nil, nil, fmt.Errorf("demos: %w", err)
	}
	base := filepath.Join(dir, name)
	if _, err := os.Lstat(base + ".csv"); errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoDemo, name)
	}
	d, err := ReadCSV(base + ".csv")
	if err != nil {
		return nil, nil, err
	}
	meta, err := ReadSidecar(base + ".json")
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
		st, _ := os.Stat(base + ".csv")
		meta = &Sidecar{Format: SidecarFormat, Name: name, Joints: d.Joints, Source: SourceImported,
			Started: st.ModTime().UTC(), DurationS: d.Duration(), Samples: d.Len()}
		if p := d.SamplePeriod(); p > 0 {
			meta.RateHz = 1 / p
		}
	}
	return d, meta, nil
}

// Trim keeps the samples of demo name between from and to seconds after its first
// sample (inclusive), time starting again at 0, as demo newName ("" or name: in place).
// The sidecar keeps its robot, source and teaching and notes the trim. Crash-safe: a new
// name is published like an import (never replacing a demo); in place, the trimmed CSV
// is written to a temporary file, fsync'd and renamed over the old one, then the sidecar
// is replaced, so a crash leaves the old demo or the trimmed one, never a torn file.
// Errors wrap ErrNoDemo, ErrBadTrim or ErrExists.
func Trim(dir, name string, from, to float64, newName string) (*Sidecar, error) {
	if newName == "" {
		newName = name
	}
	if err := checkName(newName); err != nil {
		return nil, fmt.Errorf("demos: trim: %w", err)
	}
	d, meta, err := Load(dir, name)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(from) || math.IsNaN(to) || math.IsInf(from, 0) || math.IsInf(to, 0) || from < 0 || to <= from {
		return nil, fmt.Errorf("%w: from %v s to %v s: want 0 <= from < to", ErrBadTrim, from, to)
	}
	t0 := d.T[0]
	out := &Demo{Joints: d.Joints}
	for k, t := range d.T {
		if rel := t - t0; rel >= from-1e-9 && rel <= to+1e-9 {
			out.T = append(out.T, t)
			out.Y = append(out.Y, d.Y[k])
		}
	}
	if out.Len() < MinSamples {
		return nil, fmt.Errorf("%w: from %g s to %g s keeps %d samples of %d (%.3g s long), want at least %d",
			ErrBadTrim, from, to, out.Len(), d.Len(), d.Duration(), MinSamples)
	}
	first := out.T[0]
	for k := range out.T {
		out.T[k] -= first
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, out); err != nil {
		return nil, fmt.Errorf("demos: trim: %w", err)
	}
	nm := *meta
	nm.Name, nm.Samples, nm.DurationS = newName, out.Len(), out.Duration()
	nm.Started = meta.Started.Add(secondsDur(first - t0))
	note := fmt.Sprintf("trimmed from %s: %g s to %g s", name, from, to)
	if nm.Notes != "" {
		note = nm.Notes + "; " + note
	}
	nm.Notes = note
	if err := nm.Validate(); err != nil {
		return nil, fmt.Errorf("demos: trim: %w", err)
	}
	base := filepath.Join(dir, newName)
	if newName != name {
		for _, p := range []string{base + ".csv", base + ".csv.part", base + ".json"} {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("demos: trim: %w: %s", ErrExists, filepath.Base(p))
			}
		}
		tmp, err := writeTemp(dir, newName+".csv", buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("demos: trim: %w", err)
		}
		if err := publish(tmp, base+".csv", base+".json", &nm); err != nil {
			os.Remove(tmp)
			if errors.Is(err, ErrExists) {
				os.Remove(base + ".json")
			}
			return nil, fmt.Errorf("demos: trim: %w", err)
		}
		return &nm, nil
	}
	if err := writeFileAtomic(base+".csv", buf.Bytes()); err != nil {
		return nil, fmt.Errorf("demos: trim: %w", err)
	}
	if err := WriteSidecar(base+".json", &nm); err != nil {
		return nil, fmt.Errorf("demos: trim: %w", err)
	}
	return &nm, nil
}

// writeTemp writes data to a new fsync'd temporary file in dir and returns its path.
func writeTemp(dir, base string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func secondsDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
