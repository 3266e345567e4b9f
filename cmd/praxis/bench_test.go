package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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

// TestBenchLoopFloodIsolated runs the flood and the isolated executor briefly: the
// child (this test binary, see TestBenchChildProcess) must receive the forwarded
// commands through the shared-memory ring.
func TestBenchLoopFloodIsolated(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	old := childCommand
	t.Cleanup(func() { childCommand = old })
	childCommand = func(ctx context.Context, args ...string) (*exec.Cmd, error) {
		c := exec.CommandContext(ctx, exe, "-test.run=^TestBenchChildProcess$")
		c.Env = append(os.Environ(), "PRAXIS_BENCH_CHILD_ARGS="+strings.Join(args, "\x1f"))
		return c, nil
	}
	// 3 s: on a loaded machine the child may take a second to start and take commands.
	stdout, stderr, status := offlineRun(t, "bench", "loop", "--seconds", "3", "--rate", "500", "--json",
		"--garbage", "50", "--flood", "--flood-clients", "2", "--isolate")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	// The Ticker loop shares its process with the flood: on a busy machine (and under the
	// race detector) it may get few ticks; that it ran is all this checks.
	if rep.Executor.Ticks < 100 || rep.Ticker.Ticks == 0 {
		t.Errorf("ticks: executor %d, ticker %d", rep.Executor.Ticks, rep.Ticker.Ticks)
	}
	f, i := rep.ExecutorFlood, rep.Isolated
	if f == nil || i == nil || rep.TickerFlood == nil {
		t.Fatalf("no flood or isolation figures: %s", stdout)
	}
	if f.Clients != 2 || f.Decoded == 0 || f.Rejected != 0 || f.Published < f.Decoded {
		t.Errorf("flood: %+v", *f)
	}
	if i.Forwarded == 0 && f.DecodedPS < 1000 {
		// The machine is so loaded that the flood itself barely ran (a few hundred commands
		// decoded): the child had nothing to take yet. Its plumbing is tested in shmchan.
		t.Skipf("flood decoded only %.0f commands/s: too loaded to check the isolated child", f.DecodedPS)
	}
	if i.Received == 0 || i.Received > i.Forwarded || i.Dropped != 0 || i.Forwarded > f.Decoded ||
		!(i.LatP50us <= i.LatP99us && i.LatP99us <= i.LatMaxUs) {
		t.Errorf("isolated: %+v (flood %+v)", *i, *f)
	}
	if i.ChildGCs != 0 {
		t.Errorf("the child collected garbage %d times; its collector should be off", i.ChildGCs)
	}
	if _, _, status := offlineRun(t, "bench", "loop", "--flood", "--flood-clients", "65"); status != exitBadInput {
		t.Errorf("--flood-clients 65: status %d, want 2", status)
	}
	if _, _, status := offlineRun(t, "bench", "loop", "--spin", "1ms"); status != exitBadInput {
		t.Errorf("--spin 1ms at 1 kHz: status %d, want 2", status)
	}
}

// TestBenchChildProcess is the isolated executor's process in TestBenchLoopFloodIsolated
// (it does nothing in a normal test run).
func TestBenchChildProcess(t *testing.T) {
	args := os.Getenv("PRAXIS_BENCH_CHILD_ARGS")
	if args == "" {
		t.Skip("helper process for TestBenchLoopFloodIsolated")
	}
	root := newRootCmd()
	root.SetArgs(strings.Split(args, "\x1f"))
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
