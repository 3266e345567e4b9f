package skilllib

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/motion/dmp"
)

// CleanMode says which demos LearnFiles cleans (demos.Clean: low-pass, trim the still
// ends, resample) before fitting.
type CleanMode string

// Clean modes.
const (
	// CleanAuto cleans raw recordings (a sidecar `<name>.json` beside the CSV says
	// source "recorded") and fits any other file as it is. The default.
	CleanAuto CleanMode = "auto"
	// CleanAlways cleans every demo.
	CleanAlways CleanMode = "always"
	// CleanNever fits every demo as it is.
	CleanNever CleanMode = "never"
)

// DefaultMemoryLimit bounds the memory a learn may need (LearnFiles estimates it before
// doing any work), bytes.
const DefaultMemoryLimit = 512 << 20

// ErrTooBig: the learn would need more memory than its limit.
var ErrTooBig = errors.New("skilllib: learn too big")

// DemoFile is one demonstration file to learn from: its base name and its bytes.
type DemoFile struct {
	Name string // base name, e.g. "wave.csv": labels errors and the provenance
	Data []byte
	// Recorded says it is a raw recording (CleanAuto cleans it).
	Recorded bool
}

// FileOptions configure LearnFiles and LearnData: the LearnOptions (Sources is filled in
// from the files), the cleaning, and the memory limit.
type FileOptions struct {
	LearnOptions
	Clean       CleanMode          // default CleanAuto
	CleanOpts   demos.CleanOptions // demos.Clean's options; zero fields take its defaults
	MemoryLimit int64              // bytes; default DefaultMemoryLimit
}

// LearnFiles is the one way Praxis learns a skill from demo files, used alike by
// `praxis learn`, the daemon, the seed skills and the benchmarks, so that the same files
// and options give the same skill bit for bit wherever they are learned. It reads each
// CSV (and the sidecar beside it, for CleanAuto), then runs LearnData. Errors name the
// file (and line and column for a bad CSV: *demos.CSVError).
func LearnFiles(ctx context.Context, paths []string, opt FileOptions) (*Skill, error) {
	files := make([]DemoFile, len(paths))
	for i, p := range paths {
		data, err := readBounded(p, demos.MaxFileSize)
		if err != nil {
			return nil, fmt.Errorf("skilllib: learn: %w", err)
		}
		files[i] = DemoFile{Name: filepath.Base(p), Data: data}
		if sc, err := demos.ReadSidecar(strings.TrimSuffix(p, ".csv") + ".json"); err == nil {
			files[i].Recorded = sc.Source == demos.SourceRecorded
		}
	}
	return LearnData(ctx, files, opt)
}

// LearnData parses the demo files, cleans them (FileOptions.Clean), checks that the learn
// fits in the memory limit, then aligns several demos and fits (Learn). It checks ctx
// between the steps; a cancelled learn returns ctx's error.
func LearnData(ctx context.Context, files []DemoFile, opt FileOptions) (*Skill, error) {
	if len(files) == 0 {
		return nil, errors.New("skilllib: learn: no demos")
	}
	switch opt.Clean {
	case "":
		opt.Clean = CleanAuto
	case CleanAuto, CleanAlways, CleanNever:
	default:
		return nil, fmt.Errorf("skilllib: learn: clean %q, want auto, always or never", opt.Clean)
	}
	if opt.MemoryLimit == 0 {
		opt.MemoryLimit = DefaultMemoryLimit
	}
	ds := make([]*demos.Demo, len(files))
	opt.Sources = make([]DemoSource, len(files))
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := demos.ParseCSV(bytes.NewReader(f.Data), f.Name)
		if err != nil {
			return nil, err
		}
		opt.Sources[i] = NewDemoSource(f.Name, f.Data, d.Len())
		if opt.Clean == CleanAlways || (opt.Clean == CleanAuto && f.Recorded) {
			if d, err = demos.Clean(d, opt.CleanOpts); err != nil {
				return nil, fmt.Errorf("skilllib: learn: %s: %w", f.Name, err)
			}
		}
		ds[i] = d
	}
	if need := memoryNeed(ds, opt); need > opt.MemoryLimit {
		return nil, fmt.Errorf("%w: it needs about %d MiB, the limit is %d MiB: use fewer basis functions or shorter demos",
			ErrTooBig, need>>20, opt.MemoryLimit>>20)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return Learn(ds, opt.LearnOptions)
}

// memoryNeed estimates the peak memory of aligning and fitting ds, bytes: the time-warping
// cost matrix (Sakoe–Chiba band over the demos resampled at demos.DefaultAlignDT), the
// fit's normal equations and position-level design matrix, and the prepared demos.
func memoryNeed(ds []*demos.Demo, opt FileOptions) int64 {
	nb := int64(opt.Fit.Basis)
	if nb == 0 {
		nb = dmp.DefaultBasis
	}
	var samples, warp int64
	var longest float64
	for _, d := range ds {
		samples += int64(d.Len() * (len(d.Joints) + 1))
		longest = max(longest, d.Duration())
	}
	if len(ds) > 1 && !opt.NoAlign {
		n := int64(longest/demos.DefaultAlignDT) + 1
		w := int64(float64(n)*demos.DefaultAlignBand) + 1
		warp = n * (2*w + 1) * 9 // float64 cost + one byte of path per cell
	}
	fit := 8 * (3*nb*nb + int64(len(ds))*max(500, 10*nb)*nb)
	prepared := 8 * 6 * samples
	return warp + fit + prepared
}

// readBounded reads the file at path, refusing one larger than limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes", filepath.Base(path), limit)
	}
	return data, nil
}
