// Package joint holds the joint-space value types shared by drivers, the executor,
// demos and skills. Units are SI: radians for revolute joints, metres for prismatic
// joints, seconds for time.
package joint

import (
	"fmt"
	"time"
)

// Type is the kind of a joint.
type Type uint8

// Joint kinds.
const (
	Revolute   Type = iota // rotates about an axis, bounded; positions in rad
	Continuous             // rotates without position limits; positions in rad
	Prismatic              // slides along an axis; positions in m
)

// Limits bound one joint. Zero MaxVel or MaxAcc means "no limit known"; callers that
// need a limit must supply their own default.
type Limits struct {
	Min    float64 // lowest position, rad or m
	Max    float64 // highest position, rad or m
	MaxVel float64 // highest speed, rad/s or m/s
	MaxAcc float64 // highest acceleration, rad/s² or m/s²
}

// Contains reports whether q lies within [Min, Max].
func (l Limits) Contains(q float64) bool { return q >= l.Min && q <= l.Max }

// Clamp returns q limited to [Min, Max].
func (l Limits) Clamp(q float64) float64 {
	if q < l.Min {
		return l.Min
	}
	if q > l.Max {
		return l.Max
	}
	return q
}

// Feedback says where a joint's reported position comes from.
type Feedback uint8

// Feedback sources. The zero value is Measured, which every arm with position sensing
// (servo encoders, the simulator) reports.
const (
	Measured  Feedback = iota // a sensor measures the position (encoder, potentiometer via ADC)
	Commanded                 // no sensor: Read reports the last commanded position
)

// String returns "measured" or "commanded".
func (f Feedback) String() string {
	switch f {
	case Measured:
		return "measured"
	case Commanded:
		return "commanded"
	}
	return fmt.Sprintf("feedback(%d)", uint8(f))
}

// Joint describes one actuated joint of an arm.
type Joint struct {
	Name   string
	Type   Type
	Limits Limits
	// Feedback tells whether Read measures this joint or echoes its command (hobby
	// servos without a feedback source). Default Measured.
	Feedback Feedback
}

// State is a measured arm state. The caller owns the slices; readers fill them in place
// and must not allocate when they already have the right length.
type State struct {
	Time time.Duration // monotonic timestamp of the sample (since an arbitrary epoch)
	Pos  []float64     // positions, rad or m
	Vel  []float64     // velocities, rad/s or m/s (zero when the arm does not report them)
	Eff  []float64     // efforts, N·m or N (zero when the arm does not report them)
}

// NewState returns a State sized for n joints.
func NewState(n int) State {
	return State{Pos: make([]float64, n), Vel: make([]float64, n), Eff: make([]float64, n)}
}

// Resize makes every slice of s length n, reusing storage where it can.
func (s *State) Resize(n int) {
	s.Pos = resize(s.Pos, n)
	s.Vel = resize(s.Vel, n)
	s.Eff = resize(s.Eff, n)
}

// CopyFrom copies o into s, resizing s to o's length.
func (s *State) CopyFrom(o *State) {
	s.Resize(len(o.Pos))
	s.Time = o.Time
	copy(s.Pos, o.Pos)
	copy(s.Vel, o.Vel)
	copy(s.Eff, o.Eff)
}

// Command is a joint-space target. Vel is an optional velocity feed-forward; nil or
// empty means none. The caller owns the slices.
type Command struct {
	Pos []float64 // target positions, rad or m
	Vel []float64 // optional feed-forward velocities, rad/s or m/s
}

// NewCommand returns a Command sized for n joints, with a velocity feed-forward.
func NewCommand(n int) Command {
	return Command{Pos: make([]float64, n), Vel: make([]float64, n)}
}

func resize(v []float64, n int) []float64 {
	if cap(v) >= n {
		return v[:n]
	}
	return make([]float64, n)
}

// Names returns the names of js in order.
func Names(js []Joint) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.Name
	}
	return out
}

// MapByName returns, for each name in want, its index in have. It fails naming the first
// joint of want that have lacks, or a duplicate.
func MapByName(have, want []string) ([]int, error) {
	idx := make(map[string]int, len(have))
	for i, n := range have {
		if _, dup := idx[n]; dup {
			return nil, fmt.Errorf("joint: duplicate joint %q", n)
		}
		idx[n] = i
	}
	out := make([]int, len(want))
	seen := make(map[string]bool, len(want))
	for i, n := range want {
		j, ok := idx[n]
		if !ok {
			return nil, fmt.Errorf("joint: unknown joint %q (have %v)", n, have)
		}
		if seen[n] {
			return nil, fmt.Errorf("joint: duplicate joint %q", n)
		}
		seen[n] = true
		out[i] = j
	}
	return out, nil
}
