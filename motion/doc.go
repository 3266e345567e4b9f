// Package motion is the real-time executor: it runs one skill (a DMP and its joint
// names) on one arm at a fixed rate, with feedback correction and a safety filter.
//
// One goroutine, locked to an OS thread and paced by an absolute-deadline clock.Rate,
// owns all run state; the Executor's methods send it requests. Each tick it reads the
// arm, steps the DMP with the measured (clamped) dt, filters the command and sends it:
//
//   - Startup: if the measured position is within Config.StartTolerance of the skill's
//     start, the DMP starts from the measured position; otherwise a minimum-jerk approach
//     whose duration respects the joints' velocity and acceleration limits eases the arm
//     to the start first.
//   - Feedback (the feedback type, feedback.go): the tracking error, phase stopping,
//     disturbances and the leash, offset compensation, the lead and the limit slow-down
//     below are one small type with its own unit tests; the runner asks it each tick and
//     re-anchors the plan when it reports the arm gave way.
//   - Phase stopping (closed loop): the rate of plan time is slowed by the filtered
//     norm of the tracking error (measured − plan) over the skill's joints, down to 0
//     when lagging badly.
//   - Offset compensation (closed loop): each skill joint is commanded at plan + b, b a
//     slow, bounded integral of (plan − measured), so position servos that sag under
//     gravity still reach the goal (Config.OffsetGain, OffsetMax; Result.MaxOffset). It
//     is frozen during disturbances and while the plan moves fast, kept within the
//     limits, and carried into re-anchoring and the final halt.
//   - Lead (Config.Lead, default 0): each skill joint is commanded Lead times the plan's
//     velocity ahead, for servos driven by goal position alone (a servo bus), which
//     follow a moving goal late.
//   - Disturbance and re-anchoring: when the error norm exceeds ReanchorThreshold the
//     plan freezes; the disturbed joints (off their own plan by more than
//     ReanchorThreshold) are commanded at most Leash from their measured position plus
//     b, the others keep their frozen plan. Once the arm gives way the plan re-anchors
//     there (dmp Reanchor) and the phase ramps back up, so the arm resumes smoothly
//     instead of lurching.
//   - Safety filter, on every command: NaN guard; velocity and acceleration limits by
//     slowing the phase first (and capping the plan at SpeedMargin times its rollout
//     peak), clamping only as a last resort; position limits always. A watchdog
//     fails the run after repeated read errors, command errors or overruns. EStop wins
//     over everything within one tick and latches until Reset.
//
// Every exit from a run (success, failure, cancel, preemption, e-stop, recovered panic)
// ends with a halt: one command holding the last measured position plus the offset
// compensation (clamped into the limits) with zero velocity. A new Start preempts the running skill: it is aborted
// with reason "preempted" and halted before the new one starts.
package motion
