package sim

import (
	"strings"
	"testing"
	"time"
)

func TestParsePerturbation(t *testing.T) {
	good := map[string]Perturbation{
		"hold:joint=elbow_flex,at=0.4,for=0.5":               {Kind: Hold, Joint: "elbow_flex", At: 0.4, For: 500 * time.Millisecond},
		"push:joint=shoulder_lift,at=0.3,for=0.2,torque=1.5": {Kind: Push, Joint: "shoulder_lift", At: 0.3, For: 200 * time.Millisecond, Torque: 1.5},
		"payload:mass=0.2,at=0.1":                            {Kind: Payload, Mass: 0.2, At: 0.1},
		"freeze:at=0.5,for=300ms":                            {Kind: Freeze, At: 0.5, For: 300 * time.Millisecond},
	}
	for spec, want := range good {
		got, err := ParsePerturbation(spec)
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", spec, got, err, want)
		}
		back, err := ParsePerturbation(got.String())
		if err != nil || back != got {
			t.Errorf("round trip %s -> %s: %+v %v", spec, got.String(), back, err)
		}
	}
	bad := map[string]string{
		"wobble:at=0.1":                      "unknown kind",
		"hold:joint=a,at=0.4":                `missing key "for"`,
		"hold:joint=a,at=1.4,for=1":          `key "at"`,
		"push:joint=a,at=0.1,for=1,torque=x": `key "torque"`,
		"payload:mass=0.2,at=0.1,joint=a":    `unknown key "joint"`,
		"freeze:at=0.5,for=-1":               `key "for"`,
		"payload:mass=0.2,at=0.1,at=0.2":     `duplicate key "at"`,
		"freeze":                             `missing key "at"`,
		"hold:joint=a,at=0.1,for":            `key "for" has no value`,
	}
	for spec, want := range bad {
		if _, err := ParsePerturbation(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", spec, err, want)
		}
	}
	p, _ := ParsePerturbation("hold:joint=a,at=0.25,for=1")
	if r := p.Resolve(4*time.Second, 10*time.Second); r.Start != 11*time.Second {
		t.Errorf("Resolve start %v", r.Start)
	}
}
