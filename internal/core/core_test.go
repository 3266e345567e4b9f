package core

import (
	"encoding/json"
	"strings"
	"testing"
)

// Figures on the wire are rounded to 1e-9: no float noise such as 1.6099999999999999;
// fit errors keep full precision.
func TestEventJSONRounds(t *testing.T) {
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{ID: "d1", Cmd: CmdRecord, Type: Succeeded, Samples: 161, Seconds: 1.6099999999999999}, `"seconds":1.61`},
		{Event{ID: "r1", Cmd: CmdRun, Type: Succeeded, FinalError: 0.007606413750000001}, `"final_error":0.007606414`},
		{Event{ID: "r1", Cmd: CmdRun, Type: Progress, Progress: 0.1 + 0.2}, `"progress":0.3`},
		{Event{ID: "l1", Cmd: CmdLearn, Type: Succeeded, FitError: []JointFitError{{Joint: "j", End: 3.285e-12}}}, `"end":3.285e-12`},
	} {
		if c.e.Seconds != 0 && c.e.Seconds == 1.61 {
			t.Fatalf("the test's noisy figure is not noisy: %v", c.e.Seconds)
		}
		b, err := json.Marshal(c.e)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s: want %s", b, c.want)
		}
	}
}
