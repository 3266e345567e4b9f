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
// Fit places the basis centres in time (exponentially in x) with a density
// 0.15·mean(ρ) + 0.85·ρ(t), ρ being the local RMS of the demos' accelerations (all
// joints, scaled by the widest joint span, over one mean spacing) to the power 0.5:
// centres crowd where the motion is busy and thin out where it rests (evenly spaced
// for a motion of constant acceleration). h_i = 1/Δc_i² from the spacing to the next
// centre; only centres within √30 widths of x are evaluated. The centres and widths are
// stored in the DMP, so a DMP fitted with evenly spaced centres rolls out as before.
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
// weighted 1e-4 (trace-normalised) as a regulariser. The position error also counts for
// 0.5τ past the demo's end (phase 1% down to 0.1%), with the goal at rest as the target
// and each sample weighted 4e-3 of a demo sample: the last basis functions are still
// active there, and without this their weights (invisible before τ) grew to hundreds of
// radians, so a DMP stepped past τ swung up to 0.5 rad away from its goal before settling
// (now under 1% of the span beyond the state reached at τ; TestSettleAfterTau). Measured
// and rejected: a tail weight of 1 (settles best, but costs up to 25% RMSE on demos that
// end moving), a tail target continuing the demo's end velocity (noisy end-velocity
// estimates make settling worse), a force-balance constraint f(x) = (g−y0)x past the end
// (worse on both counts), and gating f to zero below the end phase in the stepper (alone
// it removes a quarter of the swing; with the tail it gains 5% and would change how
// existing skill files roll out). Options.ForcingOnly keeps the classic fit alone. FitMulti stacks several demos (each with its own start, goal and
// duration) into the same problem.
//
// # Integration
//
// The stepper integrates exactly the phase and the goal filter and uses classic RK4 for
// each joint, in substeps no longer than a quarter of the shortest time between two
// consecutive basis centres, so
// any measured dt gives the same motion as Rollout to within about 1e-6 of the span.
//
// # Accuracy
//
// With the default 50 basis functions the median reproduction RMSE (over joints and
// demos, rolled out with the demo's start, start velocity, goal and duration) is below
// 0.1% of each joint's span on synthetic minimum-jerk motions and on the real data sets
// in testdata/, except the 4 s MasterArm wiggling demos (about 0.106%): they carry
// motion up to and past 6 Hz throughout, the Nyquist rate of 50 functions over 4 s, plus
// sensor noise of about 0.05% of the span; 100 functions reach 0.06% there. Measured
// and found to change the medians by less than 5%: the width factor (h·Δc² from 0.25
// to 4), Smooth (0.01 to 0.08 s), Ridge (up to 1e-7), the forcing regulariser's weight
// (0 to 1e-2), the number of samples and the substep length of the position-level fit.
// Placing the centres by acceleration brought the Panda symbol demos from 0.20% to
// 0.083% (the other sets move by under 5%).
package dmp
