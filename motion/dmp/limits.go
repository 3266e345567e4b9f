package dmp

// Upper bounds on what a DMP may hold and what a run may ask of it. They keep the cost of
// a fit, a stepper and one control tick bounded whatever a skill file or a request says;
// Validate, Fit and NewStepper refuse anything beyond them with an error naming the field.
const (
	// MaxBasis is the most basis functions per joint: a fit costs O(MaxBasis³) (≈ 0.5 s at
	// 500 on a 2-core ARM-class machine), a control tick O(joints · active basis).
	MaxBasis = 500
	// MaxJoints is the most joints a demo may have for Fit (skill files are checked by
	// skilllib). Validate does not check it: the fit itself steps one "joint" per basis.
	MaxJoints = 64
	// MaxDuration is the longest demonstrated duration (Tau) or run duration, s (10 min).
	MaxDuration = 600.0
)
