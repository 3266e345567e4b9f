// Package dmp implements discrete, multi-joint dynamic movement primitives (DMPs) that
// share one phase: fitting from demonstrations, allocation-free stepping with coupling
// terms and phase slowdown, and offline rollout. Pure maths: no I/O, no goroutines.
//
// THIS FILE IS A CONTRACT STUB: the signatures below are fixed (other packages code
// against them); the bodies are to be implemented. Add to it, don't rename.
package dmp

import "errors"

// Formulation selects the transformation system.
type Formulation string

// Formulations.
const (
	// Pastor2009 (Pastor, Hoffmann et al. 2009): the forcing term is scaled by the
	// phase only, with a -K(g-y0)x term, so start ≈ goal and moved goals behave. Default.
	Pastor2009 Formulation = "pastor2009"
	// Ijspeert2013 (Ijspeert et al. 2013): the forcing term is scaled by (g - y0).
	Ijspeert2013 Formulation = "ijspeert2013"
)

// Options configure Fit. Zero values take the stated defaults.
type Options struct {
	Basis       int         // number of basis functions; default 50
	Formulation Formulation // default Pastor2009
	Ridge       float64     // ridge regularisation λ; default small (documented in Fit)
	AlphaZ      float64     // transformation-system stiffness gain; default 25
	BetaZ       float64     // damping gain; default AlphaZ/4 (critical damping)
	AlphaX      float64     // canonical decay; default such that the phase is ≈0 at the demo's end
	AlphaG      float64     // goal-filter gain, 1/s-normalised; default documented in Fit
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
	AlphaZ      float64     `json:"alpha_z"`
	BetaZ       float64     `json:"beta_z"`
	AlphaX      float64     `json:"alpha_x"`
	AlphaG      float64     `json:"alpha_g"`
	Tau         float64     `json:"tau"`       // demonstrated duration, s
	Centers     []float64   `json:"centers"`   // basis centres in phase space
	Widths      []float64   `json:"widths"`    // basis widths h_i (exp(-h_i (x-c_i)^2))
	Weights     [][]float64 `json:"weights"`   // [joint][basis]
	Start       []float64   `json:"start"`     // demonstrated start, rad or m
	Goal        []float64   `json:"goal"`      // demonstrated goal, rad or m
	StartVel    []float64   `json:"start_vel"` // demonstrated initial velocity
}

// JointError is the reproduction error of one joint, rad or m.
type JointError struct {
	RMSE float64 `json:"rmse"`
	Max  float64 `json:"max"`
	End  float64 `json:"end"`
}

// Report is a fit's reproduction error per joint (rolling the fitted DMP out with the
// demo's start, goal and duration and comparing with the demo).
type Report struct {
	Joints []JointError `json:"joints"`
}

// ErrNotImplemented marks the stub.
var ErrNotImplemented = errors.New("dmp: not implemented")

// Fit learns a DMP from one demo.
func Fit(d Demo, opt Options) (*DMP, Report, error) { return nil, Report{}, ErrNotImplemented }

// Trajectory is a sampled motion: T[i] in s, Pos/Vel/Acc[i][j] for joint j.
type Trajectory struct {
	T   []float64
	Pos [][]float64
	Vel [][]float64
	Acc [][]float64
}

// Rollout integrates the DMP offline from start to goal over duration seconds with
// step dt (nil start/goal: the demonstrated ones; duration 0: Tau). It returns
// round(duration/dt)+1 samples from t=0.
func (d *DMP) Rollout(start, goal []float64, duration, dt float64) (*Trajectory, error) {
	return nil, ErrNotImplemented
}

// Stepper advances a DMP one dt at a time without allocating.
type Stepper struct{}

// NewStepper starts a run from start (with velocity startVel; nil means zero) towards
// goal over duration seconds.
func (d *DMP) NewStepper(start, startVel, goal []float64, duration float64) (*Stepper, error) {
	return nil, ErrNotImplemented
}

// Step advances by dt seconds. coupling (nil or one entry per joint) is added to the
// acceleration; slow in [0,1] scales the rate of time of the whole system (1 normal,
// 0 frozen) for phase stopping.
func (s *Stepper) Step(dt float64, coupling []float64, slow float64) {}

// SetGoal moves the goal; the applied goal follows it through a first-order filter so
// the acceleration does not jump.
func (s *Stepper) SetGoal(goal []float64) {}

// Reanchor sets the planned position and velocity to a measured state (after a
// disturbance) without changing the phase.
func (s *Stepper) Reanchor(pos, vel []float64) {}

// Pos, Vel and Acc return the planned state (owned by the stepper; do not modify).
func (s *Stepper) Pos() []float64 { return nil }
func (s *Stepper) Vel() []float64 { return nil }
func (s *Stepper) Acc() []float64 { return nil }

// Phase returns the phase x, 1 at the start and ≈0 at the end.
func (s *Stepper) Phase() float64 { return 0 }

// Time returns the elapsed plan time in s (advanced by dt·slow).
func (s *Stepper) Time() float64 { return 0 }
