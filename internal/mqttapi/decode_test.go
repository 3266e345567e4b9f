package mqttapi

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeRunValid(t *testing.T) {
	r, err := DecodeRun([]byte(`{"id":"r1","skill":"wave","version":3,"goal":{"elbow":0.5,"wrist":-1},"duration":2.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "r1" || r.Skill != "wave" || r.Version != 3 || r.Duration != 2.5 ||
		len(r.Goal) != 2 || r.Goal["elbow"] != 0.5 || r.Goal["wrist"] != -1 {
		t.Fatalf("got %+v", r)
	}
	r, err = DecodeRun([]byte(`{"id":"r2","skill":"wave","goal":null,"duration":null}`))
	if err != nil || r.Goal != nil || r.Duration != 0 {
		t.Fatalf("nulls: %+v, %v", r, err)
	}
}

func TestDecodeRejectsNamingTheField(t *testing.T) {
	cases := []struct {
		name, payload string
		decode        func([]byte) error
		id, field     string
	}{
		{"not json", `run wave`, run, "", ""},
		{"empty", ``, run, "", ""},
		{"array", `[1,2]`, run, "", ""},
		{"null", `null`, run, "", ""},
		{"invalid utf8", "{\"id\":\"a\xff\"}", run, "", ""},
		{"missing id", `{"skill":"wave"}`, run, "", "id"},
		{"empty id", `{"id":"","skill":"wave"}`, run, "", "id"},
		{"number id", `{"id":7,"skill":"wave"}`, run, "", "id"},
		{"long id", `{"id":"` + strings.Repeat("x", MaxIDLen+1) + `","skill":"wave"}`, run, "", "id"},
		{"control id", `{"id":"a\u0001","skill":"wave"}`, run, "", "id"},
		{"missing skill", `{"id":"r1"}`, run, "r1", "skill"},
		{"number skill", `{"id":"r1","skill":5}`, run, "r1", "skill"},
		{"empty skill", `{"id":"r1","skill":""}`, run, "r1", "skill"},
		{"unknown field", `{"id":"r1","skill":"w","duraton":2}`, run, "r1", "duraton"},
		{"string version", `{"id":"r1","skill":"w","version":"2"}`, run, "r1", "version"},
		{"fraction version", `{"id":"r1","skill":"w","version":1.5}`, run, "r1", "version"},
		{"negative version", `{"id":"r1","skill":"w","version":-1}`, run, "r1", "version"},
		{"goal not object", `{"id":"r1","skill":"w","goal":[1]}`, run, "r1", "goal"},
		{"goal string value", `{"id":"r1","skill":"w","goal":{"elbow":"1"}}`, run, "r1", "goal.elbow"},
		{"goal overflow", `{"id":"r1","skill":"w","goal":{"elbow":1e999}}`, run, "r1", "goal.elbow"},
		{"goal empty name", `{"id":"r1","skill":"w","goal":{"":1}}`, run, "r1", "goal"},
		{"zero duration", `{"id":"r1","skill":"w","duration":0}`, run, "r1", "duration"},
		{"negative duration", `{"id":"r1","skill":"w","duration":-2}`, run, "r1", "duration"},
		{"string duration", `{"id":"r1","skill":"w","duration":"2"}`, run, "r1", "duration"},
		{"huge duration", `{"id":"r1","skill":"w","duration":1e400}`, run, "r1", "duration"},
		{"cancel no id", `{}`, cancel, "", "id"},
		{"cancel extra", `{"id":"c","run":"x"}`, cancel, "c", "run"},
		{"record bad action", `{"id":"d1","action":"pause","demo":"a"}`, record, "d1", "action"},
		{"record no action", `{"id":"d1","demo":"a"}`, record, "d1", "action"},
		{"record start no demo", `{"id":"d1","action":"start"}`, record, "d1", "demo"},
		{"record leader string", `{"id":"d1","action":"start","demo":"a","leader":"yes"}`, record, "d1", "leader"},
		{"record leader number", `{"id":"d1","action":"start","demo":"a","leader":1}`, record, "d1", "leader"},
		{"record stop leader", `{"id":"d1","action":"stop","leader":true}`, record, "d1", "leader"},
		{"learn no demos", `{"id":"l1","skill":"w"}`, learn, "l1", "demos"},
		{"learn empty demos", `{"id":"l1","skill":"w","demos":[]}`, learn, "l1", "demos"},
		{"learn demos not list", `{"id":"l1","skill":"w","demos":"a"}`, learn, "l1", "demos"},
		{"learn bad demo", `{"id":"l1","skill":"w","demos":["a",3]}`, learn, "l1", "demos[1]"},
		{"learn zero basis", `{"id":"l1","skill":"w","demos":["a"],"basis":0}`, learn, "l1", "basis"},
		{"learn big basis", `{"id":"l1","skill":"w","demos":["a"],"basis":1e9}`, learn, "l1", "basis"},
		{"reset number id", `{"id":1}`, reset, "", "id"},
		{"reset extra", `{"id":"x","force":true}`, reset, "x", "force"},
		{"too large", `{"id":"big","skill":"` + strings.Repeat("x", MaxPayload) + `"}`, run, "big", ""},
		{"flight no id", `{"reason":"x"}`, flightDump, "", "id"},
		{"flight extra", `{"id":"f","file":"x"}`, flightDump, "f", "file"},
		{"flight number reason", `{"id":"f","reason":3}`, flightDump, "f", "reason"},
		{"flight control reason", `{"id":"f","reason":"a\u0001"}`, flightDump, "f", "reason"},
		{"flight long reason", `{"id":"f","reason":"` + strings.Repeat("x", MaxNameLen+1) + `"}`, flightDump, "f", "reason"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.decode([]byte(c.payload))
			var r *Rejection
			if !errors.As(err, &r) {
				t.Fatalf("err = %v, want *Rejection", err)
			}
			if r.Field != c.field {
				t.Errorf("field = %q, want %q (reason %q)", r.Field, c.field, r.Reason)
			}
			if r.Reason == "" {
				t.Error("empty reason")
			}
			if got := PeekID([]byte(c.payload)); got != c.id {
				t.Errorf("PeekID = %q, want %q", got, c.id)
			}
		})
	}
}

func run(p []byte) error    { _, err := DecodeRun(p); return err }
func cancel(p []byte) error { _, err := DecodeCancel(p); return err }
func record(p []byte) error { _, err := DecodeRecord(p); return err }
func learn(p []byte) error  { _, err := DecodeLearn(p); return err }
func reset(p []byte) error  { _, err := DecodeID(p); return err }

func flightDump(p []byte) error { _, err := DecodeFlight(p); return err }

func TestDecodeOthersValid(t *testing.T) {
	if r, err := DecodeRecord([]byte(`{"id":"d","action":"stop"}`)); err != nil || r.Action != RecordStop || r.Leader {
		t.Fatalf("%+v %v", r, err)
	}
	for p, want := range map[string]bool{`true`: true, `false`: false, `null`: false, ` true `: true} {
		r, err := DecodeRecord([]byte(`{"id":"d","action":"start","demo":"tele-1","leader":` + p + `}`))
		if err != nil || r.Action != RecordStart || r.Demo != "tele-1" || r.Leader != want {
			t.Errorf("leader %s: %+v %v, want leader %v", p, r, err, want)
		}
	}
	if r, err := DecodeRecord([]byte(`{"id":"d","action":"stop","leader":false}`)); err != nil || r.Leader {
		t.Fatalf("stop with leader false: %+v %v", r, err)
	}
	if r, err := DecodeLearn([]byte(`{"id":"l","skill":"w","demos":["a","b"],"basis":30}`)); err != nil ||
		len(r.Demos) != 2 || r.Basis != 30 {
		t.Fatalf("%+v %v", r, err)
	}
	for p, want := range map[string]FlightRequest{
		`{"id":"f1"}`:                           {ID: "f1"},
		`{"id":"f2","reason":null}`:             {ID: "f2"},
		`{"id":"f3","reason":"after a wobble"}`: {ID: "f3", Reason: "after a wobble"},
	} {
		if r, err := DecodeFlight([]byte(p)); err != nil || r != want {
			t.Errorf("DecodeFlight(%s) = %+v, %v; want %+v", p, r, err, want)
		}
	}
	for _, p := range []string{``, ` `, `{}`, `{"id":"x"}`} {
		if _, err := DecodeID([]byte(p)); err != nil {
			t.Errorf("DecodeID(%q): %v", p, err)
		}
	}
	for p, want := range map[string]string{``: "", `STOP`: "", `{"id":"e1"}`: "e1", `{"id":3}`: "", `"x"`: ""} {
		if got := EStopID([]byte(p)); got != want {
			t.Errorf("EStopID(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestEventJSON(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 123456789, time.UTC)
	b, err := json.Marshal(Event{ID: "r1", Cmd: CmdRun, Type: Succeeded, Time: at, Skill: "wave", FinalError: 0})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"r1","cmd":"run","type":"succeeded","time":"2026-11-25T08:00:00.123456789Z","skill":"wave","final_error":0}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(Event{ID: "r1", Type: Progress, Time: at, Progress: 0})
	if !strings.Contains(string(b), `"progress":0`) || strings.Contains(string(b), "final_error") {
		t.Fatalf("progress event: %s", b)
	}
	var e Event
	if err := json.Unmarshal([]byte(want), &e); err != nil || e.ID != "r1" || e.Type != Succeeded || !e.Time.Equal(at) {
		t.Fatalf("round trip: %+v %v", e, err)
	}
	if math.IsNaN(e.FinalError) {
		t.Fatal("nan")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"id":"r1","skill":"w","goal":{"a":1},"duration":2}`, `{"id":"d","action":"start","demo":"x"}`,
		`{"id":"l","skill":"w","demos":["a"],"basis":3}`, ``, `null`, `{"id":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		for _, d := range []func([]byte) error{run, cancel, record, learn, reset} {
			if err := d(p); err != nil {
				var r *Rejection
				if !errors.As(err, &r) {
					t.Fatalf("non-Rejection error %v", err)
				}
			}
		}
		_ = EStopID(p)
	})
}

// TestEventFigures: recordings, learns and resets carry their figures in their own fields;
// progress stays a phase in [0, 1] (absent for recordings) and reason stays a reason.
func TestEventFigures(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	fit := []JointFitError{{Joint: "shoulder_pan", RMSE: 0.0012, Max: 0.004, End: 0.0001}, {Joint: "elbow_flex", RMSE: 0.002, Max: 0.0075, End: 0}}
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{ID: "d1", Cmd: CmdRecord, Type: Progress, Time: at, Demo: "pick-1", Samples: 120, Seconds: 1.19},
			`{"id":"d1","cmd":"record","type":"progress","time":"2026-11-25T08:00:00Z","demo":"pick-1","samples":120,"seconds":1.19}`},
		{Event{ID: "d1", Cmd: CmdRecord, Type: Succeeded, Time: at, Demo: "pick-1", Samples: 250, Seconds: 2.49, Path: "demos/pick-1.csv"},
			`{"id":"d1","cmd":"record","type":"succeeded","time":"2026-11-25T08:00:00Z","demo":"pick-1","samples":250,"seconds":2.49,"path":"demos/pick-1.csv"}`},
		{Event{ID: "d1", Cmd: CmdRecord, Type: Aborted, Time: at, Demo: "pick-1", Reason: "e-stop (demo kept)", Samples: 80, Seconds: 0.79, Path: "demos/pick-1.csv"},
			`{"id":"d1","cmd":"record","type":"aborted","time":"2026-11-25T08:00:00Z","reason":"e-stop (demo kept)","demo":"pick-1","samples":80,"seconds":0.79,"path":"demos/pick-1.csv"}`},
		{Event{ID: "l1", Cmd: CmdLearn, Type: Succeeded, Time: at, Skill: "pick", Version: 3, FitError: fit},
			`{"id":"l1","cmd":"learn","type":"succeeded","time":"2026-11-25T08:00:00Z","skill":"pick","version":3,"fit_error":[{"joint":"shoulder_pan","rmse":0.0012,"max":0.004,"end":0.0001},{"joint":"elbow_flex","rmse":0.002,"max":0.0075,"end":0}]}`},
		{Event{ID: "x1", Cmd: CmdReset, Type: Accepted, Time: at, Recovered: true},
			`{"id":"x1","cmd":"reset","type":"accepted","time":"2026-11-25T08:00:00Z","recovered":true}`},
		{Event{ID: "r1", Cmd: CmdRun, Type: Progress, Time: at, Progress: 0.5},
			`{"id":"r1","cmd":"run","type":"progress","time":"2026-11-25T08:00:00Z","progress":0.5}`},
	} {
		b, err := json.Marshal(c.e)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%s %s:\ngot  %s\nwant %s", c.e.Cmd, c.e.Type, b, c.want)
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, c.e) {
			t.Errorf("%s %s round trip:\ngot  %+v\nwant %+v", c.e.Cmd, c.e.Type, back, c.e)
		}
	}
}
