package servo

import (
	"math"
	"testing"
)

func TestCalibration(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     Calibration
		ticks int32
		rad   float64
	}{
		{"zero value: centre at 0 rad", Calibration{}, 2048, 0},
		{"zero value: quarter turn", Calibration{}, 3072, math.Pi / 2},
		{"offset", Calibration{Offset: 100}, 2148, 0},
		{"reversed", Calibration{Direction: -1}, 1024, math.Pi / 2},
		{"1024 ticks", Calibration{Resolution: 1024}, 512 + 256, math.Pi / 2},
		{"AtTick", AtTick(1000, -1, 4096), 1000 - 1024, math.Pi / 2},
	} {
		if got := tc.c.Radians(tc.ticks); math.Abs(got-tc.rad) > 1e-12 {
			t.Errorf("%s: Radians(%d) = %v, want %v", tc.name, tc.ticks, got, tc.rad)
		}
		if got := tc.c.Ticks(tc.rad); got != tc.ticks {
			t.Errorf("%s: Ticks(%v) = %d, want %d", tc.name, tc.rad, got, tc.ticks)
		}
		if got := tc.c.RadiansAt(float64(tc.ticks)); got != tc.c.Radians(tc.ticks) {
			t.Errorf("%s: RadiansAt(%d) = %v, Radians %v", tc.name, tc.ticks, got, tc.c.Radians(tc.ticks))
		}
		if got, want := tc.c.RadiansAt(float64(tc.ticks)+0.5), tc.rad+tc.c.Dir()*tc.c.TickRadians()/2; math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: RadiansAt(%d.5) = %v, want %v", tc.name, tc.ticks, got, want)
		}
	}
	if z := AtTick(1000, 1, 0).Zero(); z != 1000 {
		t.Errorf("AtTick(1000).Zero() = %d", z)
	}
	if got := (Calibration{}).Ticks(math.NaN()); got != 2048 {
		t.Errorf("Ticks(NaN) = %d, want 2048", got)
	}
	if got := (Calibration{}).Ticks(1e300); got != math.MaxInt32 {
		t.Errorf("Ticks(1e300) = %d, want saturation", got)
	}
	c := Calibration{Direction: -1}
	if v := c.Velocity(c.VelocityRaw(1.5, 0.01), 0.01); math.Abs(v-1.5) > 0.005 {
		t.Errorf("velocity round trip %v", v)
	}
	if (Calibration{Direction: 2}).Validate() == nil || (Calibration{Resolution: 1}).Validate() == nil {
		t.Error("Validate accepts a bad calibration")
	}
}

// TestTicksWithin: a position clamped to a limit never becomes a tick beyond it, in
// either direction of rotation; inside the limits it is the nearest tick.
func TestTicksWithin(t *testing.T) {
	for _, dir := range []int{1, -1} {
		c := AtTick(2048, dir, 4096)
		q := c.TickRadians()
		lo, hi := -1.0, 1.0 // neither is a whole number of ticks
		for _, tc := range []struct{ rad, lo, hi float64 }{{hi, lo, hi}, {lo, lo, hi}, {0.3, lo, hi}, {1.2 * q, 0, 1.2 * q}} {
			got := c.Radians(c.TicksWithin(tc.rad, tc.lo, tc.hi))
			if got > tc.hi || got < tc.lo || math.Abs(got-tc.rad) >= q {
				t.Errorf("dir %d: TicksWithin(%v, %v, %v) = %v rad", dir, tc.rad, tc.lo, tc.hi, got)
			}
		}
		if n := c.Radians(c.Ticks(hi)); n <= hi && c.Radians(c.Ticks(lo)) >= lo {
			t.Errorf("dir %d: the nearest ticks of ±1 rad are inside: the case tests nothing", dir)
		}
		if got, want := c.TicksWithin(0.3, 0.3, 0.3), c.Ticks(0.3); got != want {
			t.Errorf("dir %d: a range narrower than a tick: %d, want Ticks %d", dir, got, want)
		}
	}
}
