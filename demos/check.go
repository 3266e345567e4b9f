package demos

import (
	"fmt"
	"math"
	"strings"
)

// Thresholds of Check: a demonstration should hold the whole motion, from rest to rest.
const (
	MinTeachSeconds   = 1.0      // shorter is rarely a whole motion (s)
	MinTeachRange     = 0.05     // rad (or m): the joint that moved most moved less than this
	MaxEndSpeed       = 0.1      // rad/s (or m/s): faster over the last EndWindowSeconds = still moving
	EndWindowSeconds  = 0.2      // s
	typicalTeachRange = "2-10 s" // as docs/cli.md says
)

// Check returns warnings about a demonstration that is unlikely to teach a whole motion,
// or "" when there are none: shorter than MinTeachSeconds; no joint moving more than
// MinTeachRange; or the arm still moving at the end (the fastest joint's mean speed over
// the last EndWindowSeconds above MaxEndSpeed: the recording was stopped mid-motion). It
// never refuses a demo: the warnings are for the person teaching.
func Check(d *Demo) string {
	if d == nil || d.Len() < 2 {
		return "fewer than 2 samples"
	}
	var w []string
	if dur := d.Duration(); dur < MinTeachSeconds {
		w = append(w, fmt.Sprintf("short: %.3g s (a whole motion, rest to rest, usually takes %s)", dur, typicalTeachRange))
	}
	largest, which := 0.0, ""
	for j, name := range d.Joints {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, y := range d.Y {
			lo, hi = math.Min(lo, y[j]), math.Max(hi, y[j])
		}
		if hi-lo > largest {
			largest, which = hi-lo, name
		}
	}
	if largest < MinTeachRange {
		w = append(w, fmt.Sprintf("little motion: no joint moved more than %.2g rad (most: %s, %.2g)", MinTeachRange, orNone(which), largest))
	}
	last := d.Len() - 1
	first := last
	for first > 0 && d.T[last]-d.T[first-1] <= EndWindowSeconds+1e-9 {
		first--
	}
	if span := d.T[last] - d.T[first]; first < last && span > 0 {
		fastest, name := 0.0, ""
		for j, n := range d.Joints {
			if v := math.Abs(d.Y[last][j]-d.Y[first][j]) / span; v > fastest {
				fastest, name = v, n
			}
		}
		if fastest > MaxEndSpeed {
			w = append(w, fmt.Sprintf("still moving at the end (%s at %.2g rad/s): stop the recording once the motion has ended", name, fastest))
		}
	}
	return strings.Join(w, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
