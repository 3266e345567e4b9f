package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// stampArm is the simulated arm timing the first Command after it is armed.
type stampArm struct {
	*simarm.Arm
	armed atomic.Int64 // wall time of the trigger, ns since the epoch; 0: not armed
	first chan time.Duration
}

func (a *stampArm) Command(ctx context.Context, c joint.Command) error {
	if t0 := a.armed.Swap(0); t0 != 0 {
		select {
		case a.first <- time.Duration(time.Now().UnixNano() - t0):
		default:
		}
	}
	return a.Arm.Command(ctx, c)
}

func seededDaemon(t testing.TB, arm *stampArm) *running {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	cfg.Executor.RateHz = 500
	opt := Options{}
	if arm != nil {
		opt.ArmOverride = arm
	}
	return startDaemon(t, cfg, opt)
}

// BenchmarkTriggerToMotion measures the time from publishing cmd/run to the arm receiving
// the run's first command, on loopback with the embedded broker; each run is then
// cancelled. Reports p50 and p99.
func BenchmarkTriggerToMotion(b *testing.B) {
	sa, err := simarm.New(simarm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	arm := &stampArm{Arm: sa, first: make(chan time.Duration, 1)}
	r := seededDaemon(b, arm)
	op := user(b, r.d, broker.OperatorUser)
	cli := dial(b, r.d.BrokerURL(), op.Username, op.Password)
	canceller := dial(b, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(b, 10*time.Minute)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("lat%d", i)
		done := make(chan error, 1)
		arm.armed.Store(time.Now().UnixNano())
		go func() {
			_, err := cli.Run(ctx, mqttapi.RunRequest{ID: id, Skill: "reach", Duration: 1}, nil)
			done <- err
		}()
		select {
		case d := <-arm.first:
			lat = append(lat, d)
		case err := <-done:
			b.Fatalf("run %s ended before its first command: %v", id, err)
		case <-time.After(10 * time.Second):
			b.Fatalf("run %s: no command in 10 s", id)
		}
		if _, err := canceller.Cancel(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := <-done; !errors.Is(err, mqttapi.ErrAborted) {
			b.Fatalf("run %s: %v", id, err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(q(0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(q(0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

// TestBurst publishes 1 000 cmd/run without waiting: each gets exactly one accepted or
// rejected event (one run accepted, the rest "busy" while it runs), and the daemon still
// answers cmd/skills afterwards.
func TestBurst(t *testing.T) {
	r := seededDaemon(t, nil)
	op := user(t, r.d, broker.OperatorUser)
	w := watch(t, r.d.BrokerURL(), op.Username, op.Password, "arm1")
	const n = 1000
	start := time.Now()
	toks := make([]interface{ WaitTimeout(time.Duration) bool }, 0, n)
	for i := range n {
		toks = append(toks, w.cli.Publish(w.topics.Cmd("run"), 1, false,
			fmt.Sprintf(`{"id":"burst%d","skill":"reach","duration":2}`, i)))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(10 * time.Second) {
			t.Fatal("publish not acknowledged")
		}
	}
	w.waitFor(t, "1 000 answers", 30*time.Second, func(w *watcher) bool {
		seen := map[string]bool{}
		for _, e := range w.events {
			if strings.HasPrefix(e.ID, "burst") && (e.Type == mqttapi.Accepted || e.Type == mqttapi.Rejected) {
				seen[e.ID] = true
			}
		}
		return len(seen) == n
	})
	elapsed := time.Since(start)
	accepted, busy := 0, 0
	var running string
	for i := range n {
		id := fmt.Sprintf("burst%d", i)
		c := w.count(id)
		if c[mqttapi.Accepted]+c[mqttapi.Rejected] != 1 {
			t.Fatalf("%s: %v", id, c)
		}
		if c[mqttapi.Accepted] == 1 {
			accepted++
			running = id
		}
	}
	w.mu.Lock()
	for _, e := range w.events {
		if strings.HasPrefix(e.ID, "burst") && e.Type == mqttapi.Rejected {
			if !strings.Contains(e.Reason, "busy: run burst") {
				t.Errorf("%s rejected: %s", e.ID, e.Reason)
			}
			busy++
		}
	}
	w.mu.Unlock()
	if accepted < 1 || accepted+busy != n {
		t.Fatalf("accepted %d, busy %d", accepted, busy)
	}
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(t, 20*time.Second)
	skills, err := cli.Skills(ctx)
	if err != nil || len(skills) != 3 {
		t.Fatalf("skills after the burst: %v, %v", skills, err)
	}
	t.Logf("burst of %d cmd/run: all answered in %v (%d accepted, %d busy); cmd/skills answered after", n, elapsed, accepted, busy)
	_, _ = cli.Cancel(ctx, running)
}
