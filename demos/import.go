package demos

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Import copies the demo CSV at srcPath, byte for byte, into dir as `<name>.csv` with a
// sidecar (source "imported", rate from the median sample period, started = the source
// file's modification time, robot unknown). An empty name takes the source's base name
// without extension. The file must parse (ParseCSV); errors wrap ErrBadCSV for a bad
// file and ErrExists when the name is taken; on failure nothing is left in dir.
func Import(dir, srcPath, name string) (*Sidecar, error) {
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(srcPath), filepath.Ext(srcPath))
	}
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	data, err := os.ReadFile(srcPath)
	if err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	st, err := os.Stat(srcPath)
	if err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	d, err := ParseCSV(bytes.NewReader(data), filepath.Base(srcPath))
	if err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	return store(dir, name, data, d, st.ModTime().UTC(), "imported from "+filepath.Base(srcPath))
}

// ImportDemo stores d in dir as `<name>.csv` with a sidecar (source "imported", the
// given start time and notes), like Import does for a file. d must be valid; errors wrap
// ErrExists when the name is taken; on failure nothing is left in dir.
func ImportDemo(dir string, d *Demo, name string, started time.Time, notes string) (*Sidecar, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, d); err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	return store(dir, name, buf.Bytes(), d, started.UTC(), notes)
}

// store publishes the CSV bytes data of d as dir/name.csv with its sidecar.
func store(dir, name string, data []byte, d *Demo, started time.Time, notes string) (*Sidecar, error) {
	base := filepath.Join(dir, name)
	for _, p := range []string{base + ".csv", base + ".csv.part", base + ".json"} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("demos: import: %w: %s", ErrExists, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("demos: import: %w", err)
		}
	}
	meta := &Sidecar{
		Format: SidecarFormat, Name: name, Joints: d.Joints,
		RateHz: 1 / d.SamplePeriod(), Started: started,
		DurationS: d.Duration(), Samples: d.Len(), Source: SourceImported,
		Notes: notes,
	}
	if err := meta.Validate(); err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+name+".csv.tmp*")
	if err != nil {
		return nil, fmt.Errorf("demos: import: %w", err)
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
		err = publish(tmp, base+".csv", base+".json", meta)
		if errors.Is(err, ErrExists) { // lost a race for the name: drop our sidecar
			os.Remove(base + ".json")
		}
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("demos: import: %w", err)
	}
	return meta, nil
}
