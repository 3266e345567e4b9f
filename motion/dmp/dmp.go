package dmp

import (
	"errors"
	"fmt"
	"math"
)

// Formulation selects the transformation system.
type Formulation string

// Formulations.
const (
	// Pastor2009 (Pastor, Hoffmann et al. 2009): the forcing term is scaled by the
	// phase only, with a -K(g-y0)x term, so start ≈ goal and moved goals behave. Default.
	Pastor2009 Formulation = "pastor2009"
	// Ijspeert2013 (Ijspeert et al. 2013): the forcing term is scaled by (g - y0),
	// guarded against start ≈ goal and sign flips (see the package doc).
	Ijspeert2013 Formulation = "ijspeert2013"
)

// System selects how a DMP travels from its start to its goal: the reference its spring
// follows and the gating of its forcing term (see the package doc).
type System string

// Systems.
const (
	// SystemPhase is the system of format-v1 skill files (the zero value "" means it too):
	// the spring pulls to the goal, Pastor2009 adds −K(g−y0)x, and the forcing term fades
	// with the exponential phase x, which is still 1% at t = τ: the plan ends short of a
	// moved goal by about 1% of the move and settles after τ.
	SystemPhase System = "phase"
	// SystemMinJerk (the default of Fit): the spring follows, with feed-forward, a
	// minimum-jerk reference from the start to the goal that arrives at t = τ; the forcing
	// term is switched off at τ, where Fit makes it, the forcing response and its velocity
	// zero. The plan is at its goal, at rest, at t = τ, for any start and goal, and stays.
	SystemMinJerk System = "minjerk"

	// Systems measured against SystemMinJerk (TestEndSystems), package-internal: the goal
	// system and sigmoid gating of dmpbbo's KULVICIUS_2012_JOINING defaults, and a
	// count-down phase that gates the forcing to zero at τ (with and without Fit's
	// end-point constraints).
	systemDmpbbo       System = "dmpbbo"
	systemCountdown    System = "countdown"
	systemCountdownEnd System = "countdown+end"
)

// public reports whether sys may appear in a DMP outside this package.
func (sys System) public() bool { return sys == "" || sys == SystemPhase || sys == SystemMinJerk }

func (sys System) known() bool {
	return sys.public() || sys == systemDmpbbo || sys == systemCountdown || sys == systemCountdownEnd
}

// classic reports whether sys is SystemPhase (the v1 equations, stepped as before).
func (sys System) classic() bool { return sys == "" || sys == SystemPhase }

// endConstrained reports whether Fit makes the forcing response and its velocity zero at
// τ (and, for SystemMinJerk, the forcing term itself).
func (sys System) endConstrained() bool { return sys == SystemMinJerk || sys == systemCountdownEnd }

// Defaults used by Fit for zero Options fields.
const (
	DefaultBasis    = 50   // basis functions
	DefaultRidge    = 1e-9 // ridge λ, relative to the mean diagonal of ΦᵀΦ
	DefaultAlphaZ   = 25.0 // so D = 25, K = 156.25 with BetaZ = AlphaZ/4
	DefaultAlphaG   = 12.5 // goal filter: time constant τ/12.5
	DefaultSmooth   = 0.05 // Savitzky–Golay window, s (7 to 31 samples)
	DefaultPhaseEnd = 0.01 // phase value at the end of the demonstrated duration
)

// DefaultAlphaX is the canonical decay that puts the phase at DefaultPhaseEnd (1%) at the
// end of the demonstrated duration: ln(100) ≈ 4.605.
var DefaultAlphaX = -math.Log(DefaultPhaseEnd)

// MinSamples is the smallest demo Fit accepts.
const MinSamples = 10

// Sentinel errors; returned errors wrap one of them.
var (
	// ErrInvalidDemo: a demo is unusable (too short, NaN, ragged, non-increasing time...).
	ErrInvalidDemo = errors.New("dmp: invalid demo")
	// ErrInvalidOptions: an Options field is out of range.
	ErrInvalidOptions = errors.New("dmp: invalid options")
	// ErrInvalidDMP: a DMP's fields are inconsistent (see Validate).
	ErrInvalidDMP = errors.New("dmp: invalid dmp")
	// ErrInvalidArgument: a start, goal, duration or dt given to Rollout/NewStepper is bad.
	ErrInvalidArgument = errors.New("dmp: invalid argument")
)

// Options configure Fit. Zero values take the stated defaults.
type Options struct {
	Basis       int         // number of basis functions (≥ 2); default 50
	Formulation Formulation // default Pastor2009
	Ridge       float64     // ridge λ relative to mean diag(ΦᵀΦ); default 1e-9
	AlphaZ      float64     // transformation-system gain (damping D = AlphaZ); default 25
	BetaZ       float64     // stiffness K = AlphaZ·BetaZ; default AlphaZ/4 (critical damping)
	AlphaX      float64     // canonical decay; default ln(100): phase 1% at the demo's end
	AlphaG      float64     // goal-filter gain, τ-normalised (τ ġ = AlphaG (g*−g)); default 12.5
	ForcingOnly bool        // fit the forcing term only (classic); default also fits positions
	Smooth      float64     // Savitzky–Golay window for velocity/acceleration, s (7..31 samples); default 0.05
	// System of the fitted DMP; default SystemMinJerk (ends at its goal at τ). SystemPhase
	// fits the v1 system, as Fit did before SystemMinJerk existed.
	System System

	internal bool // accept the package-internal systems (tests)
}

// Demo is one demonstration: T[i] in seconds (strictly increasing, not necessarily
// uniform), Y[i][j] the position of joint j at sample i (rad or m).
type Demo struct {
	Joints []string
	T      []float64
	Y      [][]float64
}

// DMP is a fitted multi-joint DMP. Every field is exported so that a skill file can
// store it whole; JSON keys are snake_case.
type DMP struct {
	Formulation Formulation `json:"formulation"`
	// System is how the plan reaches its goal; "" (as in every v1 skill file) means
	// SystemPhase. Fit sets SystemMinJerk unless told otherwise.
	System   System      `json:"system,omitempty"`
	AlphaZ   float64     `json:"alpha_z"`
	BetaZ    float64     `json:"beta_z"`
	AlphaX   float64     `json:"alpha_x"`
	AlphaG   float64     `json:"alpha_g"`
	Tau      float64     `json:"tau"`       // demonstrated duration, s
	Centers  []float64   `json:"centers"`   // basis centres in phase space, decreasing
	Widths   []float64   `json:"widths"`    // basis widths h_i (exp(-h_i (x-c_i)^2))
	Weights  [][]float64 `json:"weights"`   // [joint][basis], rad or m
	Start    []float64   `json:"start"`     // demonstrated start, rad or m
	Goal     []float64   `json:"goal"`      // demonstrated goal, rad or m
	StartVel []float64   `json:"start_vel"` // demonstrated initial velocity, rad/s or m/s
	// Amplitude is, for Ijspeert2013 only, the demonstrated g−y0 per joint the forcing is
	// scaled against; 0 means the joint is not scaled (its start ≈ goal). Empty for Pastor2009.
	Amplitude []float64 `json:"amplitude,omitempty"`
}

// JointError is the reproduction error of one joint, rad or m.
type JointError struct {
	RMSE float64 `json:"rmse"`
	Max  float64 `json:"max"`
	End  float64 `json:"end"`
}

// Report is a fit's reproduction error per joint (rolling the fitted DMP out with the
// demo's start, start velocity, goal and duration and comparing with the demo). With
// several demos, RMSE pools all samples and Max/End are the worst over the demos.
type Report struct {
	Joints []JointError `json:"joints"`
}

// Trajectory is a sampled motion: T[i] in s, Pos/Vel/Acc[i][j] for joint j.
type Trajectory struct {
	T   []float64
	Pos [][]float64
	Vel [][]float64
	Acc [][]float64
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Joints returns the number of joints (0 for a nil DMP).
func (d *DMP) Joints() int {
	if d == nil {
		return 0
	}
	return len(d.Weights)
}

// Validate checks that a DMP (e.g. loaded from disk) is consistent: known formulation,
// known system, finite positive gains and Tau, decreasing centres in (0,1], positive widths, and
// weights/start/goal/start_vel/amplitude of matching lengths with finite values. It
// returns an error wrapping ErrInvalidDMP naming the first bad field.
func (d *DMP) Validate() error { return d.validate(false) }

func (d *DMP) validate(internal bool) error {
	if d == nil {
		return fmt.Errorf("%w: nil", ErrInvalidDMP)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidDMP}, a...)...)
	}
	switch d.Formulation {
	case Pastor2009, Ijspeert2013:
	default:
		return bad("unknown formulation %q", d.Formulation)
	}
	if !d.System.public() && !(internal && d.System.known()) {
		return bad("unknown system %q, want %q or %q", d.System, SystemPhase, SystemMinJerk)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"alpha_z", d.AlphaZ}, {"beta_z", d.BetaZ}, {"alpha_x", d.AlphaX}, {"alpha_g", d.AlphaG}, {"tau", d.Tau}} {
		if !finite(p.v) || p.v <= 0 {
			return bad("%s = %v, want finite > 0", p.name, p.v)
		}
	}
	if d.Tau > MaxDuration {
		return bad("tau = %v s, want at most %v s", d.Tau, MaxDuration)
	}
	nb := len(d.Centers)
	if nb == 0 {
		return bad("no basis centres")
	}
	if nb > MaxBasis {
		return bad("%d basis centres, want at most %d", nb, MaxBasis)
	}
	if len(d.Widths) != nb {
		return bad("%d widths for %d centres", len(d.Widths), nb)
	}
	for i, c := range d.Centers {
		if !finite(c) || c <= 0 || c > 1 {
			return bad("centre %d = %v, want in (0,1]", i, c)
		}
		if i > 0 && c >= d.Centers[i-1] {
			return bad("centre %d = %v not below centre %d = %v", i, c, i-1, d.Centers[i-1])
		}
		if h := d.Widths[i]; !finite(h) || h <= 0 {
			return bad("width %d = %v, want finite > 0", i, h)
		}
	}
	nj := len(d.Weights)
	if nj == 0 {
		return bad("no joints")
	}
	for j, w := range d.Weights {
		if len(w) != nb {
			return bad("joint %d: %d weights for %d centres", j, len(w), nb)
		}
		for i, v := range w {
			if !finite(v) {
				return bad("joint %d: weight %d = %v", j, i, v)
			}
		}
	}
	vecs := []struct {
		name     string
		v        []float64
		optional bool
	}{{"start", d.Start, false}, {"goal", d.Goal, false}, {"start_vel", d.StartVel, true},
		{"amplitude", d.Amplitude, d.Formulation == Pastor2009}}
	for _, p := range vecs {
		if p.optional && len(p.v) == 0 {
			continue
		}
		if len(p.v) != nj {
			return bad("%s has %d values for %d joints", p.name, len(p.v), nj)
		}
		for j, v := range p.v {
			if !finite(v) {
				return bad("%s: joint %d = %v", p.name, j, v)
			}
		}
	}
	return nil
}
