package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/daemon"
)

// memFlights is a core.FlightLog holding its recordings in memory: the flight recorder
// itself is another package's (internal/daemon wires it through Options.FlightLog).
type memFlights struct {
	mu sync.Mutex
	fs []core.FlightData
}

func (m *memFlights) Flights() ([]core.FlightInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []core.FlightInfo{}
	for _, f := range m.fs {
		out = append(out, f.FlightInfo)
	}
	return out, nil
}

func (m *memFlights) Flight(name string) (core.FlightData, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.fs {
		if f.Name == name {
			return f, nil
		}
	}
	return core.FlightData{}, core.Reject("name", "no flight recording %q", name)
}

func (m *memFlights) DumpFlight(reason string) (core.FlightInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fi := core.FlightInfo{Name: "f" + string(rune('0'+len(m.fs))) + ".csv", Time: time.Now(), Reason: reason, Seconds: 0.01, Samples: 2}
	m.fs = append(m.fs, core.FlightData{FlightInfo: fi, Joints: []string{"a"}, T: []float64{-0.01, 0},
		Measured: [][]float64{{0}, {0.1}}, Planned: [][]float64{{0}, {0.1}}, Command: [][]float64{{0}, {0.1}}})
	return fi, nil
}

// TestFlights: with a flight log the API lists, reads and (operators only) dumps
// recordings, and /api/me tells the page to show the tab.
func TestFlights(t *testing.T) {
	fl := &memFlights{}
	r := startDaemonOpt(t, func(*daemon.Config) {}, daemon.Options{FlightLog: fl})
	op, obs := loggedIn(t, r, "operator"), loggedIn(t, r, "observer")
	if code, m, _ := obs.do("GET", "/api/me", nil, nil); code != 200 || m["flights"] != true {
		t.Fatalf("/api/me: %d %v", code, m)
	}
	if code, m, _ := obs.do("POST", "/api/flights/dump", map[string]any{"reason": "x"}, nil); code != http.StatusForbidden {
		t.Fatalf("observer dump: %d %v", code, m)
	}
	if code, m, _ := op.do("POST", "/api/flights/dump", map[string]any{"reason": "look"}, nil); code != 200 || m["name"] != "f0.csv" || m["reason"] != "look" {
		t.Fatalf("dump: %d %v", code, m)
	}
	if code, _, raw := obs.do("GET", "/api/flights", nil, nil); code != 200 || !strings.Contains(string(raw), `"name":"f0.csv"`) {
		t.Fatalf("list: %d %s", code, raw)
	}
	if code, _, raw := obs.do("GET", "/api/flights/f0.csv", nil, nil); code != 200 || !strings.Contains(string(raw), `"command":[[0],[0.1]]`) {
		t.Fatalf("read: %d %s", code, raw)
	}
	if code, m, _ := obs.do("GET", "/api/flights/nope", nil, nil); code != 422 || m["field"] != "name" {
		t.Fatalf("missing: %d %v", code, m)
	}
}

// TestDaemonFlightsAndMetrics: the dashboard serves the daemon's own flight recorder (an
// e-stop during a run writes a recording of the arm's joints that the page lists and
// reads) and its Prometheus metrics, to a session or to HTTP Basic authentication.
func TestDaemonFlightsAndMetrics(t *testing.T) {
	r := startDaemon(t, nil)
	op, obs := loggedIn(t, r, "operator"), loggedIn(t, r, "observer")
	if code, m, _ := op.do("POST", "/api/run", map[string]any{"id": "fl1", "skill": "wave"}, nil); code != http.StatusAccepted {
		t.Fatalf("run: %d %v", code, m)
	}
	time.Sleep(300 * time.Millisecond) // some ticks into the run (any number will do)
	if code, m, _ := op.do("POST", "/api/estop", nil, nil); code != 200 || m["estop"] != true {
		t.Fatalf("estop: %d %v", code, m)
	}
	var name string
	deadline := time.Now().Add(30 * time.Second)
	for name == "" {
		var list []core.FlightInfo
		code, _, raw := obs.do("GET", "/api/flights", nil, nil)
		if code != 200 || json.Unmarshal(raw, &list) != nil {
			t.Fatalf("list: %d %s", code, raw)
		}
		for _, f := range list {
			if strings.Contains(f.Name, "estop") {
				name = f.Name
			}
		}
		if name == "" {
			if time.Now().After(deadline) {
				t.Fatalf("no e-stop flight recording listed: %s", raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var fd core.FlightData
	code, _, raw := obs.do("GET", "/api/flights/"+name, nil, nil)
	if code != 200 || json.Unmarshal(raw, &fd) != nil {
		t.Fatalf("read %s: %d %.300s", name, code, raw)
	}
	arm := r.d.Arm().Joints()
	if len(fd.Joints) != len(arm) || fd.Joints[0] != arm[0].Name || len(fd.T) == 0 || len(fd.T) != fd.Samples ||
		len(fd.Measured) != len(fd.T) || len(fd.Measured[0]) != len(arm) || len(fd.Command) != len(fd.T) {
		t.Fatalf("flight %s: joints %v, %d times, %d samples, %d measured", name, fd.Joints, len(fd.T), fd.Samples, len(fd.Measured))
	}

	// /metrics: a session, or HTTP Basic authentication as a scraper does.
	get := func(user, pass string) (int, string, string) {
		req, _ := http.NewRequest("GET", strings.TrimSuffix(r.url, "/")+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
	}
	if code, auth, _ := get("", ""); code != http.StatusUnauthorized || !strings.HasPrefix(auth, "Basic") {
		t.Fatalf("anonymous /metrics: %d, WWW-Authenticate %q", code, auth)
	}
	if code, _, _ := get("observer", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if code, _, _ := get("praxis-daemon", r.password(t, "praxis-daemon")); code != http.StatusUnauthorized {
		t.Fatalf("daemon user: %d", code)
	}
	code, _, body := get("observer", r.password(t, "observer"))
	if code != 200 || !strings.Contains(body, `praxis_runs_total{outcome="aborted"} 1`) {
		t.Fatalf("observer /metrics: %d\n%.2000s", code, body)
	}
	if code, _, raw := op.do("GET", "/metrics", nil, nil); code != 200 || !strings.Contains(string(raw), "praxis_control_period_error_seconds_count") {
		t.Fatalf("session /metrics: %d %.300s", code, raw)
	}
}

// TestNoFlightRecorder: with flight.enabled false the page hides the tab and the API
// answers 404.
func TestNoFlightRecorder(t *testing.T) {
	off := false
	r := startDaemon(t, func(c *daemon.Config) { c.Flight.Enabled = &off })
	obs := loggedIn(t, r, "observer")
	if code, m, _ := obs.do("GET", "/api/me", nil, nil); code != 200 || m["flights"] != false {
		t.Fatalf("/api/me: %d %v", code, m)
	}
	if code, _, _ := obs.do("GET", "/api/flights", nil, nil); code != http.StatusNotFound {
		t.Fatalf("flights without a recorder: %d", code)
	}
}
