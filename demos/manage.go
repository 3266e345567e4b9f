package demos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Errors of Delete and Rename.
var (
	ErrNotFound      = errors.New("demos: no such demo")
	ErrBeingRecorded = errors.New("demos: demo is being recorded")
)

// files of demo name in dir.
type demoFiles struct{ csv, sidecar, csvPart, sidecarPart string }

func filesOf(dir, name string) demoFiles {
	b := filepath.Join(dir, name)
	return demoFiles{csv: b + ".csv", sidecar: b + ".json", csvPart: b + ".csv.part", sidecarPart: b + ".json.part"}
}

func exists(p string) (bool, error) {
	_, err := os.Lstat(p)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("demos: %w", err)
}

// notRecording fails with ErrBeingRecorded while a recorder holds name: its `.csv.part`
// or `.json.part` exists (a recording in progress, or one a crash interrupted, which the
// daemon recovers at its next start).
func notRecording(f demoFiles, name string) error {
	for _, p := range []string{f.csvPart, f.sidecarPart} {
		ok, err := exists(p)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("%w: %q (%s exists; a recording interrupted by a crash is recovered at the daemon's next start)",
				ErrBeingRecorded, name, filepath.Base(p))
		}
	}
	return nil
}

// Delete removes demo name from dir: its CSV and its sidecar, together. It fails with
// ErrNotFound when neither exists and ErrBeingRecorded while it is being recorded.
func Delete(dir, name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("demos: %w", err)
	}
	f := filesOf(dir, name)
	if err := notRecording(f, name); err != nil {
		return err
	}
	hasCSV, err := exists(f.csv)
	if err != nil {
		return err
	}
	hasSidecar, err := exists(f.sidecar)
	if err != nil {
		return err
	}
	if !hasCSV && !hasSidecar {
		return fmt.Errorf("%w: %q in %s", ErrNotFound, name, dir)
	}
	// The CSV first: a sidecar left alone by a crash is listed by nobody.
	for _, p := range []string{f.csv, f.sidecar} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("demos: delete %s: %w", name, err)
		}
	}
	return syncDir(dir)
}

// Rename gives demo old in dir the name new: the CSV and the sidecar (whose name field
// follows). It never replaces anything: it fails with ErrExists when any file of new
// exists, ErrNotFound when old has no CSV, ErrBeingRecorded while either is being
// recorded. A crash half-way leaves both names holding the demo, never neither.
func Rename(dir, old, new string) error {
	for _, n := range []string{old, new} {
		if err := checkName(n); err != nil {
			return fmt.Errorf("demos: %w", err)
		}
	}
	if old == new {
		return fmt.Errorf("%w: %q is already its name", ErrExists, new)
	}
	fo, fn := filesOf(dir, old), filesOf(dir, new)
	if err := notRecording(fo, old); err != nil {
		return err
	}
	if err := notRecording(fn, new); err != nil {
		return err
	}
	if ok, err := exists(fo.csv); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: %q in %s", ErrNotFound, old, dir)
	}
	for _, p := range []string{fn.csv, fn.sidecar} {
		if ok, err := exists(p); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%w: %s", ErrExists, p)
		}
	}
	var meta *Sidecar
	if ok, err := exists(fo.sidecar); err != nil {
		return err
	} else if ok {
		if meta, err = ReadSidecar(fo.sidecar); err != nil {
			return fmt.Errorf("demos: rename %s: %w", old, err)
		}
		meta.Name = new
	}
	// New name first (no-clobber link of the CSV, then the sidecar), old name last.
	if err := os.Link(fo.csv, fn.csv); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, fn.csv)
		}
		return fmt.Errorf("demos: rename %s: %w", old, err)
	}
	if meta != nil {
		tmp := fn.sidecar + ".tmp"
		err := WriteSidecar(tmp, meta)
		if err == nil {
			err = renameNoReplace(tmp, fn.sidecar)
		}
		if err != nil {
			os.Remove(tmp)
			os.Remove(fn.csv) // the old name still holds the demo
			return fmt.Errorf("demos: rename %s: %w", old, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	for _, p := range []string{fo.csv, fo.sidecar} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("demos: rename %s: %w", old, err)
		}
	}
	return syncDir(dir)
}
