package skilllib

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/motion/dmp"
)

// ErrJointMismatch means the demos given to Learn do not share joint names.
var ErrJointMismatch = errors.New("skilllib: demos have different joints")

// LearnOptions configure Learn. Only Name is required.
type LearnOptions struct {
	Name string      // skill name; required
	Fit  dmp.Options // DMP fit options; zero fields take dmp's defaults
	// Sources describe the demos, one per demo in the same order, for the provenance and
	// for error messages; nil or a shorter slice leaves the rest anonymous ("demo 2").
	Sources []DemoSource
	// Created is the creation time; zero means time.Now().
	Created time.Time
	// PraxisVersion is the version of the build doing the learning (see provenance).
	PraxisVersion string
	// NoAlign fits several demos on their own time bases instead of first aligning them
	// with dynamic time warping (demos.Align); default false (align).
	NoAlign bool
}

// NewDemoSource describes a demo file from its base name and its bytes (hashed with
// SHA-256) and its sample count.
func NewDemoSource(file string, data []byte, samples int) DemoSource {
	sum := sha256.Sum256(data)
	return DemoSource{File: file, SHA256: hex.EncodeToString(sum[:]), Samples: samples}
}

// Learn fits one skill (version 1) to one or more demos of the same motion. The demos
// must share joint names (in any column order; the first demo's order wins, otherwise
// the error wraps ErrJointMismatch and names the demo). The skill's DT is the first demo's
// median sample period. Fit failures wrap dmp's sentinels (e.g. dmp.ErrInvalidDemo).
func Learn(ds []*demos.Demo, opt LearnOptions) (*Skill, error) {
	if opt.Name == "" {
		return nil, errors.New("skilllib: learn: empty skill name")
	}
	if len(ds) == 0 {
		return nil, errors.New("skilllib: learn: no demos")
	}
	label := func(i int) string {
		if i < len(opt.Sources) && opt.Sources[i].File != "" {
			return opt.Sources[i].File
		}
		return fmt.Sprintf("demo %d", i+1)
	}
	joints := ds[0].Joints
	fitDemos := make([]dmp.Demo, len(ds))
	for i, d := range ds {
		if d == nil {
			return nil, fmt.Errorf("skilllib: learn: %s is nil", label(i))
		}
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("skilllib: learn: %s: %w", label(i), err)
		}
		y, err := reorder(d, joints)
		if err != nil {
			return nil, fmt.Errorf("skilllib: learn: %s has joints %v, want %v as in %s: %w",
				label(i), d.Joints, joints, label(0), ErrJointMismatch)
		}
		fitDemos[i] = dmp.Demo{Joints: slices.Clone(joints), T: d.T, Y: y}
	}
	var spread []DemoSpread
	if len(ds) > 1 && !opt.NoAlign {
		// Several demos of one motion differ in timing (pauses, speed): warp them onto
		// the median-duration demo so that the fit averages shapes, not phase errors.
		al, err := demos.Align(ds, demos.AlignOptions{})
		if err != nil {
			return nil, fmt.Errorf("skilllib: learn %q: %w", opt.Name, err)
		}
		for i, d := range al.Demos {
			y, err := reorder(d, joints)
			if err != nil {
				return nil, fmt.Errorf("skilllib: learn %q: aligned %s: %w", opt.Name, label(i), ErrJointMismatch)
			}
			fitDemos[i] = dmp.Demo{Joints: slices.Clone(joints), T: d.T, Y: y}
			spread = append(spread, DemoSpread{Mean: slices.Clone(al.Spread[i].Mean), Max: slices.Clone(al.Spread[i].Max)})
		}
	}
	m, rep, err := fit(fitDemos, opt.Fit)
	if err != nil {
		return nil, fmt.Errorf("skilllib: learn %q: %w", opt.Name, err)
	}
	created := opt.Created
	if created.IsZero() {
		created = time.Now()
	}
	s := &Skill{
		Name:    opt.Name,
		Version: 1,
		Joints:  slices.Clone(joints),
		DMP:     *m,
		DT:      ds[0].SamplePeriod(),
		Provenance: Provenance{
			Basis:         len(m.Centers),
			Created:       created.UTC().Truncate(time.Second),
			PraxisVersion: opt.PraxisVersion,
			Spread:        spread,
		},
	}
	for i, d := range ds {
		src := DemoSource{File: label(i), Samples: d.Len()}
		if i < len(opt.Sources) {
			src = opt.Sources[i]
		}
		s.Provenance.Demos = append(s.Provenance.Demos, src)
	}
	if len(rep.Joints) == len(joints) {
		for j, e := range rep.Joints {
			s.Provenance.FitError = append(s.Provenance.FitError,
				JointFitStat{Joint: joints[j], RMSE: e.RMSE, Max: e.Max, End: e.End})
		}
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("skilllib: learn %q: fitted skill is inconsistent: %w", opt.Name, err)
	}
	return s, nil
}

// fit fits a DMP to one demo or several (one least-squares problem over all samples).
func fit(ds []dmp.Demo, opt dmp.Options) (*dmp.DMP, dmp.Report, error) {
	if len(ds) == 1 {
		return dmp.Fit(ds[0], opt)
	}
	return dmp.FitMulti(ds, opt)
}

// reorder returns d's rows with columns in the order of joints, or an error when the
// names are not the same set.
func reorder(d *demos.Demo, joints []string) ([][]float64, error) {
	if slices.Equal(d.Joints, joints) {
		return d.Y, nil
	}
	if len(d.Joints) != len(joints) {
		return nil, ErrJointMismatch
	}
	idx := make([]int, len(joints))
	for k, name := range joints {
		idx[k] = slices.Index(d.Joints, name)
		if idx[k] < 0 {
			return nil, ErrJointMismatch
		}
	}
	y := make([][]float64, len(d.Y))
	for i, row := range d.Y {
		y[i] = make([]float64, len(joints))
		for k, c := range idx {
			y[i][k] = row[c]
		}
	}
	return y, nil
}
