package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// PerturbKind names a perturbation.
type PerturbKind string

// Perturbation kinds.
const (
	Hold    PerturbKind = "hold"    // hold one joint still (a hand grabs it)
	Push    PerturbKind = "push"    // add an external effort on one joint
	Payload PerturbKind = "payload" // add a point mass at the end effector
	Freeze  PerturbKind = "freeze"  // stall every servo: the whole arm stays where it is
)

// Perturbation is a disturbance applied by the simulator during a time window
// [Start, Start+For). At is the window start as a fraction of a skill's duration, as
// parsed from the CLI; Resolve turns it into Start. For 0 means "until removed", which
// only payload allows.
type Perturbation struct {
	Kind   PerturbKind
	Joint  string        // hold, push: the joint's name
	At     float64       // start as a fraction of the skill duration (0..1)
	Start  time.Duration // start on the simulator clock; set by Resolve
	For    time.Duration // window length; 0 = permanent (payload only)
	Torque float64       // push: effort, N·m or N (signed, along the joint axis)
	Mass   float64       // payload: kg
}

// Resolve returns p with Start = t0 + At·duration, e.g. t0 the simulator time when the
// skill starts and duration its length.
func (p Perturbation) Resolve(duration, t0 time.Duration) Perturbation {
	p.Start = t0 + time.Duration(p.At*float64(duration))
	return p
}

// String returns p in the CLI syntax accepted by ParsePerturbation.
func (p Perturbation) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	parts := []string{}
	if p.Joint != "" {
		parts = append(parts, "joint="+p.Joint)
	}
	parts = append(parts, "at="+f(p.At))
	if p.For > 0 {
		parts = append(parts, "for="+f(p.For.Seconds()))
	}
	if p.Kind == Push {
		parts = append(parts, "torque="+f(p.Torque))
	}
	if p.Kind == Payload {
		parts = append(parts, "mass="+f(p.Mass))
	}
	return string(p.Kind) + ":" + strings.Join(parts, ",")
}

// ParsePerturbation parses the CLI syntax KIND:key=value,... with KIND one of hold
// (joint, at, for), push (joint, at, for, torque), payload (mass, at[, for]) and freeze
// (at, for). at is a fraction of the skill duration in [0,1]; for is seconds (or a Go
// duration such as 300ms); torque N·m (N for prismatic); mass kg. Errors name the bad key.
func ParsePerturbation(spec string) (Perturbation, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(spec), ":")
	var p Perturbation
	p.Kind = PerturbKind(kind)
	var need []string
	switch p.Kind {
	case Hold:
		need = []string{"joint", "at", "for"}
	case Push:
		need = []string{"joint", "at", "for", "torque"}
	case Payload:
		need = []string{"mass", "at"}
	case Freeze:
		need = []string{"at", "for"}
	default:
		return p, fmt.Errorf("sim: perturbation %q: unknown kind %q (want hold, push, payload or freeze)", spec, kind)
	}
	if !ok || rest == "" {
		return p, fmt.Errorf("sim: perturbation %q: missing key %q", spec, need[0])
	}
	allowed := map[PerturbKind]string{Hold: "joint at for", Push: "joint at for torque", Payload: "mass at for", Freeze: "at for"}[p.Kind]
	seen := map[string]bool{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || v == "" {
			return p, fmt.Errorf("sim: perturbation %q: key %q has no value", spec, k)
		}
		if !strings.Contains(" "+allowed+" ", " "+k+" ") {
			return p, fmt.Errorf("sim: perturbation %q: unknown key %q for %s (allowed: %s)", spec, k, kind, allowed)
		}
		if seen[k] {
			return p, fmt.Errorf("sim: perturbation %q: duplicate key %q", spec, k)
		}
		seen[k] = true
		bad := func(why string) (Perturbation, error) {
			return p, fmt.Errorf("sim: perturbation %q: key %q: %q %s", spec, k, v, why)
		}
		if k == "joint" {
			p.Joint = v
			continue
		}
		if k == "for" {
			if d, err := time.ParseDuration(v); err == nil {
				if d <= 0 {
					return bad("must be positive")
				}
				p.For = d
				continue
			}
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return bad("is not a finite number")
		}
		switch k {
		case "at":
			if x < 0 || x > 1 {
				return bad("must be a fraction of the duration in [0,1]")
			}
			p.At = x
		case "for":
			if x <= 0 || x > 1e6 {
				return bad("must be positive seconds")
			}
			p.For = time.Duration(x * float64(time.Second))
		case "torque":
			p.Torque = x
		case "mass":
			if x <= 0 {
				return bad("must be positive kg")
			}
			p.Mass = x
		}
	}
	for _, k := range need {
		if !seen[k] {
			return p, fmt.Errorf("sim: perturbation %q: missing key %q", spec, k)
		}
	}
	return p, nil
}

// validate checks p against a model: known kind, known joint, sane values.
func (p *Perturbation) validate(m *Model) (int, error) {
	j := -1
	switch p.Kind {
	case Hold, Push:
		var err error
		if j, err = m.JointIndex(p.Joint); err != nil {
			return -1, fmt.Errorf("sim: perturbation %s: %w", p.Kind, err)
		}
		if p.For <= 0 {
			return -1, fmt.Errorf("sim: perturbation %s: for must be positive", p.Kind)
		}
		if math.IsNaN(p.Torque) || math.IsInf(p.Torque, 0) {
			return -1, fmt.Errorf("sim: perturbation push: torque %g not finite", p.Torque)
		}
	case Freeze:
		if p.For <= 0 {
			return -1, fmt.Errorf("sim: perturbation freeze: for must be positive")
		}
	case Payload:
		if !(p.Mass > 0) || math.IsInf(p.Mass, 0) {
			return -1, fmt.Errorf("sim: perturbation payload: mass %g must be positive", p.Mass)
		}
		if p.For < 0 {
			return -1, fmt.Errorf("sim: perturbation payload: for is negative")
		}
	default:
		return -1, fmt.Errorf("sim: unknown perturbation kind %q", p.Kind)
	}
	return j, nil
}
