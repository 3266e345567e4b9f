package web_test

import (
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
