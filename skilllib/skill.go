// Package skilllib holds learned skills: the Skill type, learning a skill from
// demonstrations, and the versioned JSON skill file (docs/skill-format.md).
package skilllib

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/praxis-robotics/praxis/motion/dmp"
)

// ErrInvalid is wrapped by every error about a skill's content (a broken field, lengths
// that disagree, a value out of range), whether found by Validate or while loading.
var ErrInvalid = errors.New("skilllib: invalid skill")

// Skill is a learned motion: a DMP over named joints plus where it came from.
type Skill struct {
	Name    string   // non-empty, chosen by the operator
	Version int      // ≥ 1; assigned by the library, 1 for a fresh skill
	Joints  []string // joint names, in the order of the DMP's rows
	DMP     dmp.DMP  // the fitted primitive; all positions rad or m, times s
	// DT is the demonstrations' sample period, s: the default step for a rollout.
	DT         float64
	Provenance Provenance
}

// Provenance records how a skill was made.
type Provenance struct {
	Demos    []DemoSource   // the demonstrations it was fitted to, in order
	FitError []JointFitStat // reproduction error per joint (empty when unknown)
	// Spread is, for a skill learned from several demos, how far each time-aligned demo
	// lies from their mean, per demo in Demos order (empty for one demo).
	Spread        []DemoSpread
	Basis         int       // number of basis functions used
	Created       time.Time // creation time; stored in UTC to the second
	PraxisVersion string    // version of the praxis build that made it
}

// DemoSource identifies one demonstration file.
type DemoSource struct {
	File    string // base name of the file
	SHA256  string // lowercase hex SHA-256 of the file's bytes
	Samples int    // number of samples
}

// DemoSpread is how far one time-aligned demo lies from the demos' mean, per joint
// (rad or m): the mean and the largest absolute distance over the motion.
type DemoSpread struct {
	Mean []float64
	Max  []float64
}

// JointFitStat is the reproduction error of one joint, rad or m.
type JointFitStat struct {
	Joint string
	RMSE  float64
	Max   float64
	End   float64
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate checks that the skill can be rolled out: names, lengths of every DMP array
// against Joints and the basis count, finite values, positive gains, tau and dt. The
// error matches ErrInvalid and names the field, e.g. "skilllib: weights has 5 rows, want
// 6 (one per joint)".
func (s *Skill) Validate() error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("skilllib: %w", err)
	}
	return nil
}

// invalidError is a content problem; it matches ErrInvalid without repeating its text.
type invalidError struct{ err error }

func (e *invalidError) Error() string        { return e.err.Error() }
func (e *invalidError) Unwrap() error        { return e.err }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, a ...any) error {
	return &invalidError{fmt.Errorf(format, a...)}
}

// validate returns an *invalidError without a prefix; callers add their context.
func (s *Skill) validate() error {
	if err := s.check(); err != nil {
		if errors.Is(err, ErrInvalid) {
			return err
		}
		return &invalidError{err}
	}
	return nil
}

func (s *Skill) check() error {
	if s.Name == "" {
		return errors.New("name is empty")
	}
	if s.Version < 1 {
		return fmt.Errorf("version is %d, want 1 or more", s.Version)
	}
	if len(s.Joints) == 0 {
		return errors.New("joints is missing or empty")
	}
	seen := make(map[string]bool, len(s.Joints))
	for i, j := range s.Joints {
		if j == "" {
			return fmt.Errorf("joints[%d] is empty", i)
		}
		if seen[j] {
			return fmt.Errorf("joints[%d]: %q appears twice", i, j)
		}
		seen[j] = true
	}
	if err := positive("dt", s.DT); err != nil {
		return err
	}
	if err := validateDMP(&s.DMP, len(s.Joints)); err != nil {
		return err
	}
	p := &s.Provenance
	if p.Basis != len(s.DMP.Centers) {
		return fmt.Errorf("provenance.basis is %d but the DMP has %d basis functions", p.Basis, len(s.DMP.Centers))
	}
	if len(p.FitError) != 0 && len(p.FitError) != len(s.Joints) {
		return fmt.Errorf("provenance.fit_error has %d entries, want %d (one per joint)", len(p.FitError), len(s.Joints))
	}
	for i, fe := range p.FitError {
		if fe.Joint != s.Joints[i] {
			return fmt.Errorf("provenance.fit_error[%d] is for joint %q, want %q", i, fe.Joint, s.Joints[i])
		}
	}
	if len(p.Spread) != 0 && len(p.Spread) != len(p.Demos) {
		return fmt.Errorf("provenance.spread has %d entries, want %d (one per demo)", len(p.Spread), len(p.Demos))
	}
	for i, sp := range p.Spread {
		if len(sp.Mean) != len(s.Joints) || len(sp.Max) != len(s.Joints) {
			return fmt.Errorf("provenance.spread[%d] has %d/%d values, want %d (one per joint)", i, len(sp.Mean), len(sp.Max), len(s.Joints))
		}
		if err := finite(fmt.Sprintf("provenance.spread[%d].mean", i), sp.Mean); err != nil {
			return err
		}
		if err := finite(fmt.Sprintf("provenance.spread[%d].max", i), sp.Max); err != nil {
			return err
		}
	}
	for i, d := range p.Demos {
		if !sha256Hex.MatchString(d.SHA256) {
			return fmt.Errorf("provenance.demos[%d].sha256 %q is not 64 lowercase hex digits", i, d.SHA256)
		}
	}
	return nil
}

// validateDMP checks a DMP's consistency for n joints with messages that name the JSON
// fields, then defers to dmp.(*DMP).Validate, the authority on the maths.
func validateDMP(d *dmp.DMP, n int) error {
	switch d.Formulation {
	case dmp.Pastor2009, dmp.Ijspeert2013:
	case "":
		return errors.New("formulation is missing")
	default:
		return fmt.Errorf("formulation %q is unknown, want %q or %q", d.Formulation, dmp.Pastor2009, dmp.Ijspeert2013)
	}
	for _, g := range []struct {
		name string
		v    float64
	}{{"alpha_z", d.AlphaZ}, {"beta_z", d.BetaZ}, {"alpha_x", d.AlphaX}, {"alpha_g", d.AlphaG}, {"tau", d.Tau}} {
		if err := positive(g.name, g.v); err != nil {
			return err
		}
	}
	nb := len(d.Centers)
	if nb == 0 {
		return errors.New("centers is missing or empty")
	}
	if len(d.Widths) != nb {
		return fmt.Errorf("widths has %d entries, want %d (one per centre)", len(d.Widths), nb)
	}
	if err := finite("centers", d.Centers); err != nil {
		return err
	}
	if err := finite("widths", d.Widths); err != nil {
		return err
	}
	for i, w := range d.Widths {
		if w <= 0 {
			return fmt.Errorf("widths[%d] is %v, want > 0", i, w)
		}
	}
	if len(d.Weights) == 0 {
		return errors.New("weights is missing or empty")
	}
	if len(d.Weights) != n {
		return fmt.Errorf("weights has %d rows, want %d (one per joint)", len(d.Weights), n)
	}
	for j, row := range d.Weights {
		if len(row) != nb {
			return fmt.Errorf("weights[%d] has %d entries, want %d (one per basis function)", j, len(row), nb)
		}
		if err := finite(fmt.Sprintf("weights[%d]", j), row); err != nil {
			return err
		}
	}
	for _, v := range []struct {
		name     string
		v        []float64
		optional bool
	}{{"start", d.Start, false}, {"goal", d.Goal, false}, {"start_vel", d.StartVel, true},
		{"amplitude", d.Amplitude, d.Formulation != dmp.Ijspeert2013}} {
		if v.optional && len(v.v) == 0 {
			continue
		}
		if len(v.v) != n {
			return fmt.Errorf("%s has %d entries, want %d (one per joint)", v.name, len(v.v), n)
		}
		if err := finite(v.name, v.v); err != nil {
			return err
		}
	}
	if err := d.Validate(); err != nil {
		return err
	}
	return nil
}

func positive(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s is %v, want a finite number > 0", name, v)
	}
	return nil
}

func finite(name string, vs []float64) error {
	for i, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s[%d] is %v, want a finite number", name, i, v)
		}
	}
	return nil
}
