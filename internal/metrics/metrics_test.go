package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/motion"
)

type fakeBus struct{ c *servo.Counters }

func (f fakeBus) ServoStats() []servo.Stats { return f.c.Stats() }

// TestNamesFollowConventions lints every metric the registry serves (names, units,
// suffixes, help) with the client library's linter.
func TestNamesFollowConventions(t *testing.T) {
	bus := servo.NewCounters([]byte{1, 12}, []string{"a", "b"})
	m := New(Sources{Loop: motion.NewCounters(), Bus: fakeBus{bus}})
	m.Command(core.CmdRun, Accepted)
	m.Run(core.Succeeded)
	m.RecordingSamples(3)
	m.Learn(time.Second, core.Succeeded)
	m.Flight("estop", "written")
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "praxis_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

// TestScrapeValues: what the counters hold is what a scrape over HTTP shows.
func TestScrapeValues(t *testing.T) {
	bus := servo.NewCounters([]byte{1, 12}, []string{"a", "b"})
	loop := motion.NewCounters()
	m := New(Sources{Loop: loop, Bus: fakeBus{bus}})
	for range 3 {
		bus.Transaction(1)
	}
	bus.Retry(1)
	bus.Error(0)
	loop.PeriodError.Observe(15e-6)
	loop.PeriodError.Observe(3e-3)
	loop.PeriodError.Observe(1) // beyond the last bucket
	m.Command("bogus", Rejected)
	m.Command(core.CmdEStop, Accepted)
	m.Command(core.CmdRun, Shed)
	m.Run(core.Aborted)
	m.RecordingSamples(0)
	m.RecordingSamples(7)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	s, err := Scrape(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{
		`praxis_bus_transactions_total{joint="b",servo="12"}`:     3,
		`praxis_bus_retries_total{joint="b",servo="12"}`:          1,
		`praxis_bus_errors_total{joint="a",servo="1"}`:            1,
		`praxis_bus_errors_total{joint="b",servo="12"}`:           0,
		`praxis_control_period_error_seconds_bucket{le="1e-05"}`:  0,
		`praxis_control_period_error_seconds_bucket{le="2e-05"}`:  1,
		`praxis_control_period_error_seconds_bucket{le="0.005"}`:  2,
		`praxis_control_period_error_seconds_bucket{le="0.01"}`:   2,
		`praxis_control_period_error_seconds_bucket{le="+Inf"}`:   3,
		`praxis_control_period_error_seconds_count`:               3,
		`praxis_commands_total{cmd="unknown",outcome="rejected"}`: 1,
		`praxis_commands_total{cmd="estop",outcome="accepted"}`:   1,
		`praxis_commands_total{cmd="run",outcome="shed"}`:         1,
		`praxis_commands_total{cmd="learn",outcome="accepted"}`:   0,
		`praxis_runs_total{outcome="aborted"}`:                    1,
		`praxis_runs_total{outcome="failed"}`:                     0,
		`praxis_recording_samples_total`:                          7,
		`praxis_control_overruns_total`:                           0,
	} {
		if got, ok := s[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if sum := s["praxis_control_period_error_seconds_sum"]; sum < 1.003 || sum > 1.0031 {
		t.Errorf("period error sum %v, want 1.003015", sum)
	}
}
