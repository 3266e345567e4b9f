package web_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/sim/models"
)

func TestLoginAndRoles(t *testing.T) {
	r := startDaemon(t, nil)
	anon := newClient(t, r.url)
	if code, m, _ := anon.do("GET", "/api/me", nil, nil); code != http.StatusUnauthorized || m["error"] != "not logged in" {
		t.Fatalf("anonymous /api/me: %d %v", code, m)
	}
	// The page itself loads without a login (it shows the login form).
	if code, _, raw := anon.do("GET", "/", nil, nil); code != http.StatusOK || !strings.Contains(string(raw), "login-form") {
		t.Fatalf("GET /: %d", code)
	}
	if resp := anon.login("operator", "wrong password"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad password: %s", resp.Status)
	}
	if resp := anon.login("praxis-daemon", r.password(t, "praxis-daemon")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("daemon user: %s", resp.Status)
	}
	// A login without the CSRF header is refused (a cross-site form cannot set it).
	if code, m, _ := anon.do("POST", "/api/login", map[string]string{"username": "operator", "password": r.password(t, "operator")},
		map[string]string{"-csrf": ""}); code != http.StatusForbidden || !strings.Contains(m["error"].(string), "X-Praxis") {
		t.Fatalf("login without header: %d %v", code, m)
	}

	op := newClient(t, r.url)
	resp := op.login("operator", r.password(t, "operator"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("operator login: %s", resp.Status)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "praxis_session" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", ck)
	}
	if code, m, _ := op.do("GET", "/api/me", nil, nil); code != 200 || m["role"] != "operator" || m["skeleton"] != true || m["flights"] != true {
		t.Fatalf("/api/me: %d %v", code, m)
	}

	obs := loggedIn(t, r, "observer")
	if code, _, raw := obs.do("GET", "/api/skills", nil, nil); code != 200 || !strings.Contains(string(raw), `"wave"`) {
		t.Fatalf("observer skills: %d %s", code, raw)
	}
	// An observer sees everything and commands nothing: a forged command is refused,
	// the e-stop included, and nothing happens.
	for _, c := range []struct{ method, path string }{{"POST", "/api/run"}, {"POST", "/api/estop"}, {"POST", "/api/reset"},
		{"POST", "/api/record"}, {"POST", "/api/learn"}, {"POST", "/api/cancel"}, {"DELETE", "/api/demos/x"},
		{"POST", "/api/demos/x/trim"}, {"POST", "/api/demos/x/rename"}} {
		code, m, _ := obs.do(c.method, c.path, map[string]any{"skill": "wave"}, nil)
		if code != http.StatusForbidden || !strings.Contains(m["error"].(string), "observers see everything and command nothing") {
			t.Errorf("observer %s %s: %d %v", c.method, c.path, code, m)
		}
	}
	s := obs.stream(t)
	s.wait(t, "status", 10*time.Second, func(fs []sseFrame) bool {
		for _, f := range fs {
			if f.event == "status" {
				var st core.Status
				return json.Unmarshal([]byte(f.data), &st) == nil && !st.EStop && st.Activity == core.Idle
			}
		}
		return false
	})
	// Preview is a read: observers may plan.
	if code, m, _ := obs.do("POST", "/api/preview", map[string]any{"skill": "reach"}, nil); code != 200 || m["t"] == nil {
		t.Fatalf("observer preview: %d %v", code, m)
	}

	// Logout ends the session.
	if code, _, _ := op.do("POST", "/api/logout", nil, nil); code != 200 {
		t.Fatal("logout")
	}
	if code, _, _ := op.do("GET", "/api/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	r := startDaemon(t, nil)
	c := newClient(t, r.url)
	codes := []int{}
	for range 8 {
		codes = append(codes, c.login("operator", "not the password").StatusCode)
	}
	if codes[0] != http.StatusUnauthorized || codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Fatalf("8 bad logins in a row: %v; want 401 first, 429 at the end", codes)
	}
	// Even the right password waits for the bucket.
	if code := c.login("operator", r.password(t, "operator")).StatusCode; code != http.StatusTooManyRequests {
		t.Fatalf("right password while limited: %d", code)
	}
}

func TestCSRF(t *testing.T) {
	// The daemon serves on a listener the test opened (Options.WebListener).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := startDaemonOpt(t, func(c *daemon.Config) { c.Web.Listen = "127.0.0.1:1" }, daemon.Options{WebListener: ln})
	if r.url != "http://"+ln.Addr().String()+"/" {
		t.Fatalf("dashboard at %s, want the listener's %s", r.url, ln.Addr())
	}
	op := loggedIn(t, r, "operator")
	for _, h := range []map[string]string{
		{"-csrf": ""},
		{"Origin": "http://evil.example"},
		{"Origin": "null"},
		{"Sec-Fetch-Site": "cross-site"},
	} {
		if code, m, _ := op.do("POST", "/api/estop", nil, h); code != http.StatusForbidden {
			t.Errorf("estop with %v: %d %v", h, code, m)
		}
	}
	// Nothing was latched.
	if code, m, _ := op.do("POST", "/api/run", map[string]any{"skill": "nope"}, nil); code != 422 || m["field"] != "skill" {
		t.Fatalf("run after refused e-stops: %d %v", code, m)
	}
	// Same origin passes.
	if code, m, _ := op.do("POST", "/api/estop", nil, map[string]string{"Origin": strings.TrimSuffix(r.url, "/")}); code != 200 {
		t.Fatalf("same-origin estop: %d %v", code, m)
	}
}

func TestRejections(t *testing.T) {
	r := startDaemon(t, nil)
	op := loggedIn(t, r, "operator")
	cases := []struct {
		path  string
		body  any
		code  int
		field string
		has   string
	}{
		{"/api/run", map[string]any{"skill": "nope"}, 422, "skill", `no skill "nope"`},
		{"/api/run", map[string]any{"skill": "wave", "version": 9}, 422, "version", "no version 9"},
		{"/api/run", map[string]any{"skill": "reach", "goal": map[string]any{"elbow_flex": 9}}, 422, "goal.elbow_flex", "outside the limits"},
		{"/api/run", map[string]any{"skill": "reach", "goal": map[string]any{"knee": 0.1}}, 422, "goal.knee", "unknown joint"},
		{"/api/run", map[string]any{"skill": "reach", "duration": -1}, 422, "duration", ""},
		{"/api/run", map[string]any{"skill": "reach", "speed": 2}, 422, "speed", "unknown field"},
		{"/api/preview", map[string]any{"skill": "reach", "goal": map[string]any{"elbow_flex": 9}}, 422, "goal.elbow_flex", "outside the limits"},
		{"/api/record", map[string]any{"action": "stop"}, 422, "action", "not recording"},
		{"/api/record", map[string]any{"action": "start", "demo": "x", "leader": true}, 422, "leader", "no leader arm"},
		{"/api/learn", map[string]any{"skill": "s", "demos": []string{"missing"}}, 422, "demos[0]", `no demo "missing"`},
		{"/api/cancel", map[string]any{"id": "r9"}, 422, "id", "no run"},
		{"/api/demos/missing/trim", map[string]any{"from": 0, "to": 1}, 422, "demo", "no such demo"},
		{"/api/demos/missing/rename", map[string]any{"new_name": "b"}, 422, "demo", "no such demo"},
		{"/api/demos/..%2Fx/rename", map[string]any{"new_name": "b"}, 422, "demo", ""},
	}
	for _, c := range cases {
		code, m, raw := op.do("POST", c.path, c.body, nil)
		if code != c.code || m["field"] != c.field || !strings.Contains(m["error"].(string), c.has) {
			t.Errorf("POST %s %v: %d %s; want %d field %q containing %q", c.path, c.body, code, raw, c.code, c.field, c.has)
		}
	}
	if code, m, _ := op.do("GET", "/api/skills/nope", nil, nil); code != 422 || m["field"] != "skill" {
		t.Errorf("skill detail of a missing skill: %d %v", code, m)
	}
	if code, m, _ := op.do("GET", "/api/skills/wave?version=x", nil, nil); code != 422 || m["field"] != "version" {
		t.Errorf("skill detail, bad version: %d %v", code, m)
	}
	if code, m, _ := op.do("GET", "/api/runs/nope", nil, nil); code != 422 || m["field"] != "id" {
		t.Errorf("missing run: %d %v", code, m)
	}
	if code, m, _ := op.do("GET", "/api/flights/nope.flight.json.gz", nil, nil); code != 422 || m["field"] != "name" {
		t.Errorf("missing flight recording: %d %v", code, m)
	}
	if code, _, _ := op.do("POST", "/api/run", strings.Repeat("x", 70_000), nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d", code)
	}
	// The e-stop refuses runs and recordings with the daemon's reason (409: not the
	// request's fault), worded for the page's user (a button), not MQTT's (a topic).
	op.do("POST", "/api/estop", nil, nil)
	const latched = "e-stop latched: reset the e-stop first (the Reset button on the Live tab, or POST /api/reset)"
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/api/run", map[string]any{"skill": "wave"}},
		{"/api/record", map[string]any{"action": "start", "demo": "under_estop"}},
	} {
		code, m, raw := op.do("POST", c.path, c.body, nil)
		if code != http.StatusConflict || m["error"] != latched {
			t.Errorf("POST %s under e-stop: %d %s; want 409 %q", c.path, code, raw, latched)
		}
		if strings.Contains(string(raw), "cmd/") {
			t.Errorf("POST %s under e-stop: the page is told about MQTT topics: %s", c.path, raw)
		}
	}
	if code, _, _ := op.do("POST", "/api/reset", nil, nil); code != 200 {
		t.Errorf("reset: %d", code)
	}
}

// TestRunStreamAndRecord: a run from the API streams state, progress and its terminal
// event; the run is then kept with its planned and measured trajectories; the preview of
// the same request plans what the run planned.
func TestRunStreamAndRecord(t *testing.T) {
	r := startDaemon(t, nil)
	op := loggedIn(t, r, "operator")
	s := op.stream(t)
	goal := map[string]any{"shoulder_pan": 0.3, "elbow_flex": -0.4}
	code, prev, _ := op.do("POST", "/api/preview", map[string]any{"skill": "reach", "goal": goal, "duration": 2}, nil)
	if code != 200 {
		t.Fatalf("preview: %d %v", code, prev)
	}
	code, m, _ := op.do("POST", "/api/run", map[string]any{"id": "r1", "skill": "reach", "goal": goal, "duration": 2}, nil)
	if code != http.StatusAccepted || m["id"] != "r1" {
		t.Fatalf("run: %d %v", code, m)
	}
	s.event(t, "r1", core.Started, 10*time.Second)
	end := s.event(t, "r1", core.Succeeded, 30*time.Second)
	if end.FinalError > 0.01 {
		t.Errorf("final error %g", end.FinalError)
	}
	// State frames arrived at about 20 Hz and moved.
	s.mu.Lock()
	var first, last []float64
	n := 0
	for _, f := range s.frames {
		if f.event != "state" {
			continue
		}
		var st struct {
			Pos      []float64 `json:"pos"`
			Skeleton *struct {
				Points [][3]float64 `json:"points"`
			} `json:"skeleton"`
		}
		if err := json.Unmarshal([]byte(f.data), &st); err != nil || st.Skeleton == nil || len(st.Skeleton.Points) != 8 {
			t.Fatalf("state frame %s: %v", f.data, err)
		}
		if first == nil {
			first = st.Pos
		}
		last = st.Pos
		n++
	}
	s.mu.Unlock()
	if n < 10 || math.Abs(last[0]-first[0]) < 0.2 {
		t.Fatalf("%d state frames, shoulder_pan %v -> %v", n, first, last)
	}

	code, _, raw := op.do("GET", "/api/runs/r1", nil, nil)
	if code != 200 {
		t.Fatalf("run record: %d %s", code, raw)
	}
	var rec core.RunRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Outcome != core.Succeeded || rec.Skill != "reach" || len(rec.Planned.T) < 50 || len(rec.Measured.T) < 50 {
		t.Fatalf("run record: %s, %d planned, %d measured samples", rec.Outcome, len(rec.Planned.T), len(rec.Measured.T))
	}
	for k := 1; k < len(rec.Measured.T); k++ {
		if dt := rec.Measured.T[k] - rec.Measured.T[k-1]; dt < 0.015 { // ≤ 50 Hz (ticker at 20 ms)
			t.Fatalf("measured samples %g s apart", dt)
		}
	}
	pl, ms := rec.Planned.Pos[len(rec.Planned.Pos)-1], rec.Measured.Pos[len(rec.Measured.Pos)-1]
	if math.Abs(pl[0]-0.3) > 1e-3 || math.Abs(pl[2]+0.4) > 1e-3 || math.Abs(ms[0]-0.3) > 0.02 {
		t.Fatalf("planned end %v, measured end %v; goal shoulder_pan 0.3, elbow_flex -0.4", pl, ms)
	}
	var ptr core.Trajectory
	b, _ := json.Marshal(prev)
	_ = json.Unmarshal(b, &ptr)
	if pe := ptr.Pos[len(ptr.Pos)-1]; math.Abs(pe[0]-0.3) > 1e-3 || math.Abs(pe[2]+0.4) > 1e-3 {
		t.Fatalf("preview ends at %v", pe)
	}
	if code, _, raw := op.do("GET", "/api/runs", nil, nil); code != 200 || !strings.Contains(string(raw), `"id":"r1"`) || strings.Contains(string(raw), `"pos":[[`) {
		t.Fatalf("run list: %d %s", code, raw)
	}

	// A recording from the API, then its edits; a demo being recorded cannot be edited.
	if code, m, _ := op.do("POST", "/api/record", map[string]any{"id": "rec1", "action": "start", "demo": "d1"}, nil); code != 200 {
		t.Fatalf("record start: %d %v", code, m)
	}
	s.wait(t, "recording progress", 10*time.Second, func(fs []sseFrame) bool {
		for _, f := range fs {
			if f.event == "event" && strings.Contains(f.data, `"id":"rec1"`) && strings.Contains(f.data, `"progress"`) {
				return true
			}
		}
		return false
	})
	if code, m, _ := op.do("POST", "/api/demos/d1/trim", map[string]any{"from": 0, "to": 0.5}, nil); code != 422 || !strings.Contains(m["error"].(string), "being recorded") {
		t.Fatalf("trim while recording: %d %v", code, m)
	}
	if code, m, _ := op.do("POST", "/api/run", map[string]any{"skill": "wave"}, nil); code != http.StatusConflict || !strings.Contains(m["error"].(string), "busy") {
		t.Fatalf("run while recording: %d %v", code, m)
	}
	s.wait(t, "1 s of recording", 20*time.Second, func(fs []sseFrame) bool {
		for _, f := range fs {
			var e core.Event
			if f.event == "event" && json.Unmarshal([]byte(f.data), &e) == nil && e.ID == "rec1" && e.Seconds >= 1 {
				return true
			}
		}
		return false
	})
	if code, m, _ := op.do("POST", "/api/record", map[string]any{"action": "stop"}, nil); code != 200 {
		t.Fatalf("record stop: %d %v", code, m)
	}
	s.event(t, "rec1", core.Succeeded, 10*time.Second)
	code, m, _ = op.do("POST", "/api/demos/d1/trim", map[string]any{"from": 0.2, "to": 0.7, "new_name": "d2"}, nil)
	if code != 200 || m["name"] != "d2" || m["samples"].(float64) < 40 || m["seconds"].(float64) > 0.51 {
		t.Fatalf("trim: %d %v", code, m)
	}
	if code, m, _ := op.do("POST", "/api/demos/d1/rename", map[string]any{"new_name": "d2"}, nil); code != 422 || m["field"] != "new_name" {
		t.Fatalf("rename onto d2: %d %v", code, m)
	}
	if code, _, _ := op.do("POST", "/api/demos/d1/rename", map[string]any{"new_name": "d3"}, nil); code != 200 {
		t.Fatal("rename")
	}
	if code, _, _ := op.do("DELETE", "/api/demos/d3", nil, nil); code != 200 {
		t.Fatal("delete")
	}
	code, _, raw = op.do("GET", "/api/demos", nil, nil)
	var list []core.DemoInfo
	_ = json.Unmarshal(raw, &list)
	if code != 200 || len(list) != 1 || list[0].Name != "d2" || list[0].Source != demos.SourceRecorded {
		t.Fatalf("demos: %d %s", code, raw)
	}
	if _, err := os.Stat(filepath.Join(r.d.Config().DataDir, daemon.DemosDir, "d1.csv")); !os.IsNotExist(err) {
		t.Fatalf("d1.csv after rename: %v", err)
	}
	// Learn from it; the new skill's detail has its provenance and demo.
	if code, m, _ := op.do("POST", "/api/learn", map[string]any{"id": "l1", "skill": "mine", "demos": []string{"d2"}}, nil); code != 200 {
		t.Fatalf("learn: %d %v", code, m)
	}
	s.event(t, "l1", core.Succeeded, 60*time.Second)
	code, _, raw = op.do("GET", "/api/skills/mine", nil, nil)
	var sd core.SkillDetail
	_ = json.Unmarshal(raw, &sd)
	if code != 200 || sd.Version != 1 || len(sd.Demos) != 1 || sd.Demos[0] != "d2" || len(sd.DemoData) != 1 ||
		len(sd.Rollout.T) < 10 || len(sd.FitError) != 6 {
		t.Fatalf("skill detail: %d %+v", code, sd)
	}
}

// TestEStopStream: the e-stop from the API latches at once and the stream reports it.
func TestEStopStream(t *testing.T) {
	r := startDaemon(t, nil)
	op := loggedIn(t, r, "operator")
	s := op.stream(t)
	if code, _, _ := op.do("POST", "/api/run", map[string]any{"id": "w1", "skill": "wave"}, nil); code != http.StatusAccepted {
		t.Fatal("run")
	}
	s.event(t, "w1", core.Started, 10*time.Second)
	if code, _, _ := op.do("POST", "/api/estop", nil, nil); code != 200 {
		t.Fatal("estop")
	}
	ab := s.event(t, "w1", core.Aborted, 10*time.Second)
	if !strings.Contains(ab.Reason, "e-stop") {
		t.Fatalf("aborted: %q", ab.Reason)
	}
	s.wait(t, "e-stop status", 10*time.Second, func(fs []sseFrame) bool {
		for _, f := range fs {
			if f.event == "status" && strings.Contains(f.data, `"estop":true`) {
				return true
			}
		}
		return false
	})
}

// TestStateStreamRate: the live stream carries joint state at the configured telemetry
// rate (mqtt.state_rate_hz; docs/dashboard.md: 20 Hz by default), counted over the
// stream's own time (the frames' timestamps) while a skill runs. The band: at most 5 %
// above the rate (timestamp jitter at both ends of a 4 s window), at least 75 % of it
// (ticks a busy machine may skip: a slow client gets the newest state only).
func TestStateStreamRate(t *testing.T) {
	for _, hz := range []float64{0, 8} { // 0: the default, 20 Hz
		want := hz
		if want == 0 {
			want = 20
		}
		t.Run(fmt.Sprintf("%gHz", want), func(t *testing.T) {
			r := startDaemon(t, func(c *daemon.Config) { c.MQTT.StateRateHz = hz })
			op := loggedIn(t, r, "operator")
			s := op.stream(t)
			id := fmt.Sprintf("rate-%g", want)
			if code, m, _ := op.do("POST", "/api/run", map[string]any{"id": id, "skill": "wave"}, nil); code != http.StatusAccepted {
				t.Fatalf("run: %d %v", code, m)
			}
			s.event(t, id, core.Started, 10*time.Second)
			s.event(t, id, core.Succeeded, 60*time.Second)
			s.mu.Lock()
			frames := append([]sseFrame(nil), s.frames...)
			s.mu.Unlock()
			var times []time.Time // state frames between the run's started and succeeded events
			in := false
			for _, f := range frames {
				if f.event == "event" {
					var e core.Event
					if json.Unmarshal([]byte(f.data), &e) == nil && e.ID == id {
						if e.Type == core.Started {
							in = true
						}
						if e.Type == core.Succeeded {
							break
						}
					}
				}
				if f.event != "state" || !in {
					continue
				}
				var st struct {
					Time time.Time `json:"time"`
				}
				if err := json.Unmarshal([]byte(f.data), &st); err != nil || st.Time.IsZero() {
					t.Fatalf("state frame without a time: %s (%v)", f.data, err)
				}
				times = append(times, st.Time)
			}
			if len(times) < 2 {
				t.Fatalf("%d state frames during the run", len(times))
			}
			span := times[len(times)-1].Sub(times[0]).Seconds()
			if span < 3 {
				t.Fatalf("state frames span %.2f s of a wave run (about 4 s): %d frames", span, len(times))
			}
			rate := float64(len(times)-1) / span
			t.Logf("%d state frames over %.3f s of stream time: %.2f Hz (configured %g Hz)", len(times), span, rate, want)
			if rate < 0.75*want || rate > 1.05*want {
				t.Errorf("state stream at %.2f Hz (%d frames over %.3f s); want %g Hz (band %.2f..%.2f)",
					rate, len(times), span, want, 0.75*want, 1.05*want)
			}
		})
	}
}

// TestSkeletonPerModel: the 3-D view's stick figure for the UR5 and the Panda (arm.model):
// the state stream carries one point for the root link, one per moving joint of the URDF
// (not fixed, not mimic: the Panda's second finger follows the first) and one for the
// end-effector link, named in that order, each hanging from an earlier point.
func TestSkeletonPerModel(t *testing.T) {
	for _, c := range []struct {
		model, ee string
		dof       int // the URDF's moving joints, counted by hand: UR5 6, Panda 7 + 1 finger
	}{
		{"ur5", "tool0", 6},
		{"panda", "panda_hand_tcp", 8},
	} {
		t.Run(c.model, func(t *testing.T) {
			b, err := models.URDF(c.model)
			if err != nil {
				t.Fatal(err)
			}
			var u struct {
				Joints []struct {
					Name  string    `xml:"name,attr"`
					Type  string    `xml:"type,attr"`
					Mimic *struct{} `xml:"mimic"`
				} `xml:"joint"`
			}
			if err := xml.Unmarshal(b, &u); err != nil {
				t.Fatal(err)
			}
			var moving []string
			for _, j := range u.Joints {
				if j.Type != "fixed" && j.Mimic == nil {
					moving = append(moving, j.Name)
				}
			}
			if len(moving) != c.dof {
				t.Fatalf("%s.urdf has %d moving joints %v, want %d", c.model, len(moving), moving, c.dof)
			}
			r := startDaemon(t, func(cfg *daemon.Config) { cfg.Arm.Model = c.model })
			op := loggedIn(t, r, "observer")
			code, me, raw := op.do("GET", "/api/me", nil, nil)
			if code != http.StatusOK || me["skeleton"] != true {
				t.Fatalf("GET /api/me on a %s: %d %s; want skeleton true", c.model, code, raw)
			}
			code, _, raw = op.do("GET", "/api/arm", nil, nil)
			var arm struct {
				Model  string `json:"model"`
				Joints []struct {
					Name string `json:"name"`
				} `json:"joints"`
			}
			if err := json.Unmarshal(raw, &arm); code != http.StatusOK || err != nil || arm.Model != c.model || len(arm.Joints) != c.dof {
				t.Fatalf("GET /api/arm on a %s: %d %v %s", c.model, code, err, raw)
			}
			s := op.stream(t)
			var sk struct {
				Names  []string     `json:"names"`
				Points [][3]float64 `json:"points"`
				Parent []int        `json:"parent"`
			}
			s.wait(t, "a state frame with the skeleton", 10*time.Second, func(fs []sseFrame) bool {
				for _, f := range fs {
					var st struct {
						Skeleton *json.RawMessage `json:"skeleton"`
					}
					if f.event == "state" && json.Unmarshal([]byte(f.data), &st) == nil && st.Skeleton != nil {
						return json.Unmarshal(*st.Skeleton, &sk) == nil
					}
				}
				return false
			})
			if len(sk.Points) != c.dof+2 || len(sk.Names) != c.dof+2 || len(sk.Parent) != c.dof+2 {
				t.Fatalf("%s skeleton: %d points, %d names, %d parents; want %d (root, %d joints, end-effector)",
					c.model, len(sk.Points), len(sk.Names), len(sk.Parent), c.dof+2, c.dof)
			}
			for i, j := range arm.Joints {
				if sk.Names[i+1] != j.Name || j.Name != moving[i] {
					t.Errorf("%s skeleton point %d is %q; the arm's joint %d is %q, the URDF's %q", c.model, i+1, sk.Names[i+1], i, j.Name, moving[i])
				}
			}
			if sk.Names[len(sk.Names)-1] != c.ee || sk.Parent[0] != -1 {
				t.Errorf("%s skeleton: last point %q (want %q), root's parent %d", c.model, sk.Names[len(sk.Names)-1], c.ee, sk.Parent[0])
			}
			for k := 1; k < len(sk.Parent); k++ {
				if p := sk.Parent[k]; p < 0 || p >= k {
					t.Errorf("%s skeleton: point %d hangs from %d", c.model, k, p)
				}
			}
			ee := sk.Points[len(sk.Points)-1]
			reach := math.Hypot(math.Hypot(ee[0], ee[1]), ee[2])
			if reach < 0.1 || reach > 1.5 { // both arms reach under 1 m from their base
				t.Errorf("%s end-effector %.3f m from the base", c.model, reach)
			}
		})
	}
}
