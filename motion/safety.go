package motion

import (
	"errors"
	"fmt"
	"math"

	"github.com/praxis-robotics/praxis/motion/joint"
)

// StartSlack (rad or m) is how far beyond a position limit a joint may be read when a run
// starts: an arm resting on its end stop, or a limit set at the stop, reads a tick or two
// past it (the simulated SO-101's shoulder_lift rests 0.0007 rad beyond its limit after
// power-up). Such a run starts from the limit (every command stays inside, so the first
// moves the joint in by at most this); a joint further out fails the run with ErrLimit.
const StartSlack = 0.01

// Kinds of failure, wrapped by Result.Err and by the error Run and Job.Wait return (with
// ErrFailed): branch on them with errors.Is. Their text opens the reason reported in events
// ("watchdog: 5 consecutive overruns").
var (
	// ErrWatchdog: reads or commands failed, or ticks overran, too many times in a row.
	ErrWatchdog = errors.New("watchdog")
	// ErrFault: the arm or the plan gave an impossible value (a non-finite position, a
	// wrong number of joints), or the control loop panicked.
	ErrFault = errors.New("fault")
	// ErrTimeout: the goal was not reached within the run's time budget.
	ErrTimeout = errors.New(ReasonTimeout)
	// ErrLimit: the arm is outside its joint limits, by more than StartSlack, at the start
	// of a run.
	ErrLimit = errors.New("limit")
)

// SafetyFilter turns desired joint positions into commands that respect each joint's
// position, velocity and acceleration limits, tick after tick; a non-finite target is
// refused. Every command of the executor passes it. It allocates nothing after
// NewSafetyFilter. Not safe for concurrent use.
type SafetyFilter struct {
	lim              []joint.Limits // per joint, MaxVel and MaxAcc > 0; ±Inf position bounds allowed
	prevPos, prevVel []float64      // the last command accepted (Accept) and its velocity
	// Counters of corrections, since NewSafetyFilter.
	PositionClamps, VelocityClamps, AccelClamps int
}

// NewSafetyFilter returns a filter for joints with limits lim (MaxVel and MaxAcc must be
// positive; Min and Max may be ±Inf), starting at rest at pos.
func NewSafetyFilter(lim []joint.Limits, pos []float64) (*SafetyFilter, error) {
	if len(pos) != len(lim) {
		return nil, fmt.Errorf("%w: %d positions for %d joints", ErrInvalidRequest, len(pos), len(lim))
	}
	for i, l := range lim {
		if !(l.MaxVel > 0) || !(l.MaxAcc > 0) || !(l.Max >= l.Min) {
			return nil, fmt.Errorf("%w: joint %d limits %+v", ErrInvalidRequest, i, l)
		}
	}
	f := &SafetyFilter{lim: append([]joint.Limits(nil), lim...),
		prevPos: append([]float64(nil), pos...), prevVel: make([]float64, len(pos))}
	return f, nil
}

// Reset restarts the filter at rest at pos (the measured position).
func (f *SafetyFilter) Reset(pos []float64) {
	copy(f.prevPos, pos)
	clear(f.prevVel)
}

// Filter writes into cmd (positions and velocities, one per joint) the command nearest
// des that keeps every joint within its limits after dt seconds (dt ≤ 0 means period):
// speeding up is bounded by MaxAcc (slowing down never is, so the command cannot
// overshoot), the speed by MaxVel, then the position by [Min, Max] — in that order, so the
// position limits always hold. A non-finite des is refused with ErrFault naming the joint,
// cmd untouched.
func (f *SafetyFilter) Filter(des []float64, dt, period float64, cmd *joint.Command, names []string) error {
	if !(dt > 0) {
		dt = period
	}
	for i, q := range des {
		if math.IsNaN(q) || math.IsInf(q, 0) {
			n := fmt.Sprint(i)
			if i < len(names) {
				n = fmt.Sprintf("%q", names[i])
			}
			return fmt.Errorf("%w: planned position of joint %s is %v", ErrFault, n, q)
		}
	}
	for i, q := range des {
		l := f.lim[i]
		v := (q - f.prevPos[i]) / dt
		dv := l.MaxAcc * dt
		if hi := max(f.prevVel[i], 0) + dv; v > hi {
			v = hi
			f.AccelClamps++
		} else if lo := min(f.prevVel[i], 0) - dv; v < lo {
			v = lo
			f.AccelClamps++
		}
		if v > l.MaxVel {
			v = l.MaxVel
			f.VelocityClamps++
		} else if v < -l.MaxVel {
			v = -l.MaxVel
			f.VelocityClamps++
		}
		p := f.prevPos[i] + v*dt
		if !l.Contains(p) {
			p = l.Clamp(p)
			f.PositionClamps++
		}
		cmd.Pos[i] = p
		cmd.Vel[i] = (p - f.prevPos[i]) / dt
	}
	return nil
}

// Accept records cmd as sent: the next Filter starts from it.
func (f *SafetyFilter) Accept(cmd joint.Command) {
	copy(f.prevPos, cmd.Pos)
	copy(f.prevVel, cmd.Vel)
}

// Last returns the last accepted command's positions (read-only).
func (f *SafetyFilter) Last() []float64 { return f.prevPos }

// watchdogs counts consecutive failures of reads, commands and tick deadlines; each
// method returns the failure (wrapping ErrWatchdog) once its limit is reached.
type watchdogs struct {
	maxReads, maxCommands, maxOverruns int
	reads, commands, overruns          int
}

func (w *watchdogs) read(err error) error {
	if err == nil {
		w.reads = 0
		return nil
	}
	if w.reads++; w.reads >= w.maxReads {
		return fmt.Errorf("%w: %d consecutive read errors: %w", ErrWatchdog, w.reads, err)
	}
	return nil
}

func (w *watchdogs) command(err error) error {
	if err == nil {
		w.commands = 0
		return nil
	}
	if w.commands++; w.commands >= w.maxCommands {
		return fmt.Errorf("%w: %d consecutive command errors: %w", ErrWatchdog, w.commands, err)
	}
	return nil
}

func (w *watchdogs) tick(overrun bool) error {
	if !overrun {
		w.overruns = 0
		return nil
	}
	if w.overruns++; w.overruns >= w.maxOverruns {
		return fmt.Errorf("%w: %d consecutive overruns", ErrWatchdog, w.overruns)
	}
	return nil
}
