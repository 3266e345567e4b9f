// Package dmp implements discrete, multi-joint dynamic movement primitives (DMPs) that
// share one phase: fitting from demonstrations, allocation-free stepping with coupling
// terms and phase slowdown, and offline rollout. Pure maths: no I/O, no goroutines.
//
// # Equations
//
// For every joint, with τ the run's duration, K = AlphaZ·BetaZ (stiffness) and
// D = AlphaZ (damping), velocity v = dy/dt:
//
//	τ ẋ = -AlphaX·x                         canonical system (integrated, x(0) = 1)
//	τ ġ = AlphaG·(g_target − g)             goal filter (g(0) = g_target)
//	τ² v̇ = K(g−y) − Dτv − K(g−y0)x + K f(x)                   Pastor2009 (default)
//	τ² v̇ = K(g−y) − Dτv + K s f(x)                            Ijspeert2013
//	f(x) = x · Σ ψ_i(x) w_i / Σ ψ_i(x),   ψ_i(x) = exp(−h_i (x−c_i)²)
//
// The phase is a state: Stepper.Step's slow factor scales the rate of time of the whole
// system (phase, goal filter and transformation system), so 0 freezes the plan in place.
// AlphaX defaults to ln(100) ≈ 4.6: the phase is 1% at the end of the demonstrated
// duration, so the forcing term is negligible there (not 37%, as with AlphaX = 1).
// The basis centres are spaced evenly in time (exponentially in x), h_i = 1/Δc_i² from
// the spacing to the next centre; only centres within √30 widths of x are evaluated.
//
// # Formulations and moved goals
//
// Pastor2009 never multiplies the forcing term by (g − y0): a demo whose start equals its
// goal (a loop, a wave) reproduces exactly, and a moved goal adds a smooth shift that
// blends from the start (weight x) to the goal (weight 1−x) to the demonstrated shape. The
// shape is never mirrored nor blown up, whatever the new goal.
//
// Ijspeert2013 scales the forcing by s = (g − y0)/A, A being the demonstrated amplitude
// g_demo − y0_demo stored per joint in DMP.Amplitude, so the shape stretches with the
// goal. Its known failures are guarded: a joint whose demonstrated |A| is below 10% of its
// span (start ≈ goal) gets A = 0, meaning "not scaled" (s = 1, the shape is translated);
// and s is clamped at 0, so a goal moved past the start shrinks the shape to nothing
// instead of mirroring it, and a goal moved towards the start shrinks it instead of
// overshooting. Weights are stored in position units for both formulations.
//
// # Fitting
//
// Timestamps within 0.1% of uniform are used as they are, others are resampled to a
// uniform grid with Akima splines. Velocities and accelerations come from a cubic
// Savitzky–Golay filter (Options.Smooth, 7 to 31 samples; asymmetric windows at the
// edges, so a demo that starts or ends moving keeps its boundary velocity: StartVel).
// The weights of all joints solve one ridge least-squares problem over the whole demo,
// one Cholesky factorisation for every joint: the rollout's position error at up to
// max(500, 10·Basis) samples (the response to each basis function is linear in its
// weight and is computed with the Stepper itself), plus the classic forcing-term error
// weighted 1e-4 (trace-normalised) as a regulariser. Options.ForcingOnly keeps the
// classic fit alone. FitMulti stacks several demos (each with its own start, goal and
// duration) into the same problem.
//
// # Integration
//
// The stepper integrates exactly the phase and the goal filter and uses classic RK4 for
// each joint, in substeps no longer than a quarter of the time between basis centres, so
// any measured dt gives the same motion as Rollout to within about 1e-6 of the span.
package dmp
