package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// A short run checks the command and its fields, not the timing (that is for the
// operator to run: praxis bench loop --rate 1000 --seconds 10).
func TestBenchLoopFields(t *testing.T) {
	stdout, stderr, status := offlineRun(t, "bench", "loop", "--seconds", "0.5", "--rate", "500", "--json", "--garbage", "100")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	for _, k := range []string{`"p50_us"`, `"p99_us"`, `"p999_us"`, `"max_us"`, `"executor"`, `"ticker"`, `"realtime"`} {
		if !strings.Contains(stdout, k) {
			t.Errorf("output lacks %s", k)
		}
	}
	for name, s := range map[string]loopStats{"executor": rep.Executor, "ticker": rep.Ticker} {
		if s.Ticks < 100 || !(s.P50us <= s.P99us && s.P99us <= s.P999us && s.P999us <= s.MaxUs) {
			t.Errorf("%s: %+v: want ≥ 100 ticks and ordered quantiles", name, s)
		}
	}
	if rep.RateHz != 500 || rep.AllocatedMB <= 0 {
		t.Errorf("rate %v, allocated %v MB", rep.RateHz, rep.AllocatedMB)
	}
	stdout, stderr, status = offlineRun(t, "bench", "loop", "--seconds", "0.2")
	if status != 0 || !strings.Contains(stdout, "p99.9") || !strings.Contains(stdout, "SCHED_FIFO") {
		t.Errorf("table: status %d: %s %s", status, stdout, stderr)
	}
	if _, _, status := offlineRun(t, "bench", "loop", "--rate", "0"); status != exitBadInput {
		t.Errorf("--rate 0: status %d, want 2", status)
	}
}
