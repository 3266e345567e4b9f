package busarm

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/motion/joint"
)

func TestCalibrationAgrees(t *testing.T) {
	for _, s := range []Servo{
		{ID: 1, Joint: "a", Offset: 2048, Direction: 1, Ticks: 4096},
		{ID: 2, Joint: "b", Offset: 1000, Direction: -1, Ticks: 4096},
		{ID: 3, Joint: "c", Offset: 3100.4, Direction: 1, Ticks: 4096},
		{ID: 4, Joint: "d", Offset: 512, Direction: -1, Ticks: 1024},
	} {
		for _, c := range []Config{{Driver: Dynamixel, Servos: []Servo{s}}, {Driver: Feetech, Servos: []Servo{s}}} {
			if err := c.Normalize(); err != nil {
				t.Fatal(err)
			}
		}
		dc, err := Config{Driver: Dynamixel, Servos: []Servo{s}}.DynamixelConfig()
		if err != nil {
			t.Fatal(err)
		}
		fc, err := Config{Driver: Feetech, Servos: []Servo{s}}.FeetechConfig()
		if err != nil {
			t.Fatal(err)
		}
		cal, fj := dc.Servos[0].Cal, fc.Joints[0]
		for _, tk := range []int{0, 100, 2048, 3000, s.Ticks - 1} {
			want := float64(s.Direction) * float64(tk-int(math.Round(s.Offset))) * 2 * math.Pi / float64(s.Ticks)
			if got := cal.Radians(int32(tk)); math.Abs(got-want) > 1e-12 {
				t.Errorf("servo %d: dynamixel %d ticks = %v rad, want %v", s.ID, tk, got, want)
			}
			if got := s.Radians(tk); math.Abs(got-want) > 1e-12 {
				t.Errorf("servo %d: busarm %d ticks = %v rad, want %v", s.ID, tk, got, want)
			}
			fr := float64(fj.Direction*(tk-fj.Offset)) * 2 * math.Pi / float64(fj.Resolution)
			if math.Abs(fr-want) > 1e-12 {
				t.Errorf("servo %d: feetech %d ticks = %v rad, want %v", s.ID, tk, fr, want)
			}
			if back := s.TicksAt(want); back != tk {
				t.Errorf("servo %d: TicksAt(%v) = %d, want %d", s.ID, want, back, tk)
			}
			if back := cal.Ticks(want); int(back) != tk {
				t.Errorf("servo %d: dynamixel Ticks(%v) = %d, want %d", s.ID, want, back, tk)
			}
		}
	}
}

func TestForJointsSO101Defaults(t *testing.T) {
	js := make([]joint.Joint, len(SO101Joints))
	for i, n := range SO101Joints {
		js[i] = joint.Joint{Name: n, Limits: joint.Limits{Min: -1, Max: 1}}
	}
	c, err := ForJoints(Feetech, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range c.Servos {
		if s.ID != i+1 || s.Joint != SO101Joints[i] || s.Offset != 2048 || s.Ticks != 4096 || s.Direction != 1 {
			t.Errorf("servo %d: %+v, want id %d joint %s offset 2048 ticks 4096 direction 1", i, s, i+1, SO101Joints[i])
		}
		if s.Radians(2048) != 0 {
			t.Errorf("servo %d: tick 2048 is %v rad, want 0", i, s.Radians(2048))
		}
	}
	if _, err := ForJoints(Dynamixel, js, []int{1, 2}); err == nil {
		t.Error("2 IDs for 6 joints: no error")
	}
}

func TestValidateNamesField(t *testing.T) {
	ok := Servo{ID: 1, Joint: "a"}
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Driver: "can", Servos: []Servo{ok}}, "driver"},
		{Config{Driver: Feetech, Baud: 9600, Servos: []Servo{ok}}, "baud 9600"},
		{Config{Driver: Dynamixel}, "servos: none"},
		{Config{Driver: Dynamixel, Servos: []Servo{ok, {ID: 1, Joint: "b"}}}, "servos[1].id"},
		{Config{Driver: Dynamixel, Servos: []Servo{ok, {ID: 2, Joint: "a"}}}, "servos[1].joint"},
		{Config{Driver: Dynamixel, Servos: []Servo{{ID: 300, Joint: "a"}}}, "servos[0].id"},
		{Config{Driver: Dynamixel, Servos: []Servo{{ID: 1, Joint: "a", Direction: 2}}}, "direction"},
		{Config{Driver: Dynamixel, Servos: []Servo{{ID: 1, Joint: "a", Min: 1, Max: -1}}}, "min"},
		{Config{Driver: Dynamixel, Servos: []Servo{{ID: 1, Joint: "a", Offset: math.NaN()}}}, "offset"},
	} {
		err := tc.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %q", tc.c, err, tc.want)
		}
	}
}

func TestParseFault(t *testing.T) {
	good := map[string]Fault{
		"drop:id=3,n=5":           {Kind: FaultDrop, ID: 3, N: 5},
		"corrupt:id=2":            {Kind: FaultCorrupt, ID: 2, N: 1},
		"silent:id=4":             {Kind: FaultSilent, ID: 4},
		"overload:id=1,after=2":   {Kind: FaultOverload, ID: 1, After: 2 * time.Second},
		"overheat:id=6,after=5ms": {Kind: FaultOverheat, ID: 6, After: 5 * time.Millisecond},
	}
	for spec, want := range good {
		got, err := ParseFault(spec)
		if err != nil || got != want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
		if again, err := ParseFault(got.String()); err != nil || again != got {
			t.Errorf("ParseFault(%q.String() = %q) = %+v, %v", spec, got.String(), again, err)
		}
	}
	bad := map[string]string{
		"":                     "kind",
		"melt:id=1":            "kind",
		"drop":                 "id is required",
		"drop:id=x":            "id",
		"drop:id=3,n=0":        "n",
		"silent:id=3,n=2":      "drop and corrupt only",
		"silent:id=3,foo=1":    "unknown key",
		"silent:id=3,id=4":     "twice",
		"silent:id=3,after=-1": "after",
		"silent:id3":           "key=value",
	}
	for spec, want := range bad {
		if _, err := ParseFault(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFault(%q): error %v, want one containing %q", spec, err, want)
		}
	}
}
