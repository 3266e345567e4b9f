package busarm

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Fault kinds a simulated bus can inject.
const (
	FaultDrop     = "drop"     // the servo withholds its next n replies (n default 1)
	FaultCorrupt  = "corrupt"  // the servo corrupts the checksum of its next n replies (n default 1)
	FaultSilent   = "silent"   // the servo stops answering (unplugged)
	FaultOverload = "overload" // the servo raises its overload alarm (Dynamixel: torque off)
	FaultOverheat = "overheat" // the servo raises its overheating alarm
)

// Fault is one injected servo fault, parsed from `KIND:id=N[,n=K][,after=D]`.
type Fault struct {
	Kind  string        // one of the Fault* kinds
	ID    int           // servo ID
	N     int           // replies affected (drop, corrupt); ≥ 1
	After time.Duration // delay from the start of serving; 0: at once
}

// String formats f in the syntax ParseFault reads.
func (f Fault) String() string {
	s := fmt.Sprintf("%s:id=%d", f.Kind, f.ID)
	if f.Kind == FaultDrop || f.Kind == FaultCorrupt {
		s += fmt.Sprintf(",n=%d", f.N)
	}
	if f.After > 0 {
		s += ",after=" + f.After.String()
	}
	return s
}

// ParseFault parses `KIND:id=N[,n=K][,after=D]`: KIND is drop, corrupt, silent, overload
// or overheat; n (drop, corrupt only) defaults to 1; after is seconds or a Go duration
// (`after=2.5`, `after=300ms`). Errors name the bad part.
func ParseFault(spec string) (Fault, error) {
	kind, rest, _ := strings.Cut(strings.TrimSpace(spec), ":")
	f := Fault{Kind: kind, ID: -1}
	switch kind {
	case FaultDrop, FaultCorrupt:
		f.N = 1
	case FaultSilent, FaultOverload, FaultOverheat:
	default:
		return Fault{}, fmt.Errorf("fault %q: kind %q: want drop, corrupt, silent, overload or overheat", spec, kind)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(rest, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return Fault{}, fmt.Errorf("fault %q: %q: want key=value", spec, kv)
		}
		if seen[k] {
			return Fault{}, fmt.Errorf("fault %q: key %s given twice", spec, k)
		}
		seen[k] = true
		switch k {
		case "id":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 253 {
				return Fault{}, fmt.Errorf("fault %q: id %q: want a servo ID 0..253", spec, v)
			}
			f.ID = n
		case "n":
			if kind != FaultDrop && kind != FaultCorrupt {
				return Fault{}, fmt.Errorf("fault %q: key n applies to drop and corrupt only", spec)
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return Fault{}, fmt.Errorf("fault %q: n %q: want a count ≥ 1", spec, v)
			}
			f.N = n
		case "after":
			d, err := parseSeconds(v)
			if err != nil {
				return Fault{}, fmt.Errorf("fault %q: after %q: want seconds ≥ 0 or a duration like 300ms", spec, v)
			}
			f.After = d
		default:
			return Fault{}, fmt.Errorf("fault %q: unknown key %q (want id, n, after)", spec, k)
		}
	}
	if f.ID < 0 {
		return Fault{}, fmt.Errorf("fault %q: id is required (e.g. %s:id=3)", spec, kind)
	}
	return f, nil
}

func parseSeconds(v string) (time.Duration, error) {
	if x, err := strconv.ParseFloat(v, 64); err == nil {
		if !(x >= 0) || x > 1e6 {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(x * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}
