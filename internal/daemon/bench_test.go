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

	paho "github.com/eclipse/paho.mqtt.golang"

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
	reportLatencies(b, lat)
}

// reportLatencies reports the p50, p99 and max of lat, in µs.
func reportLatencies(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(num int) time.Duration { return lat[min(len(lat)-1, len(lat)*num/100)] }
	b.ReportMetric(float64(q(50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(q(99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

// TestBurst publishes 1 000 cmd/run without waiting: each gets exactly one accepted or
// rejected event (one run accepted, the rest "busy" while it runs), and the daemon still
// answers cmd/skills afterwards.
func TestBurst(t *testing.T) {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	cfg.MQTT.ClientCommandBurst = 2000 // one client's burst of 1000, past the default 200
	r := startDaemon(t, cfg, Options{})
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

// haltArm is the simulated arm recording when it receives its first command after the
// daemon latched the e-stop: the halt.
type haltArm struct {
	*simarm.Arm
	d    atomic.Pointer[Daemon]
	halt chan time.Time
	sent atomic.Bool // the halt of the current e-stop was recorded
}

func (a *haltArm) Command(ctx context.Context, c joint.Command) error {
	if d := a.d.Load(); d != nil && d.estopped.Load() && !a.sent.Swap(true) {
		select {
		case a.halt <- time.Now():
		default:
		}
	}
	return a.Arm.Command(ctx, c)
}

// floodRuns starts four clients publishing cmd/run at QoS 0 for an unknown skill (up to
// ≈ 8 000 messages/s each, reconnecting when the broker disconnects them) until stop.
func floodRuns(b *testing.B, url, user, pass string, stop <-chan struct{}) {
	for k := range 4 {
		fc := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetUsername(user).
			SetPassword(pass).SetClientID(fmt.Sprintf("flood-%d", k)).SetAutoReconnect(true).
			SetMaxReconnectInterval(100 * time.Millisecond))
		if tok := fc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		go func() {
			defer fc.Disconnect(0)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				fc.Publish("praxis/arm1/cmd/run", 0, false, fmt.Sprintf(`{"id":"fl%d-%d","skill":"nope"}`, k, i))
				if i%8 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
}

// startUnderFlood starts a 10 s wave run, trying again under a new id when a flood made
// the daemon shed the command unanswered ("busy" beyond mqtt.command_rate applies to every
// client); it returns the id that started and the run's final error channel.
func startUnderFlood(ctx context.Context, b *testing.B, cli *mqttapi.Client, id string) (string, <-chan error) {
	for try := 0; try < 5; try++ {
		rid := fmt.Sprintf("%s-%d", id, try)
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		started := make(chan struct{}, 1)
		res := make(chan error, 1)
		go func() {
			defer cancel()
			_, err := cli.Run(rctx, mqttapi.RunRequest{ID: rid, Skill: "wave", Duration: 10}, func(e mqttapi.Event) {
				if e.Type == mqttapi.Started {
					started <- struct{}{}
				}
			})
			res <- err
		}()
		select {
		case <-started:
			return rid, res
		case <-res:
		case <-time.After(3 * time.Second):
			cancel()
		}
	}
	b.Fatalf("run %s did not start in 5 tries", id)
	return "", nil
}

// BenchmarkEStopToAborted measures publishing cmd/estop during a run to a subscriber
// receiving the run's aborted event (the arm halted by then), with the executor in the
// daemon's process and in its own (executor.isolate), idle and under a flood of cmd/run
// from four clients, on the simulated SO-101 at 500 Hz. Reports p50, p99 and max in µs.
// Run it with a fixed count, e.g. -benchtime=50x.
func BenchmarkEStopToAborted(b *testing.B) {
	for _, isolate := range []bool{false, true} {
		for _, flood := range []bool{false, true} {
			name := map[bool]string{false: "inprocess", true: "isolated"}[isolate] + "/" + map[bool]string{false: "idle", true: "flood"}[flood]
			b.Run(name, func(b *testing.B) {
				cfg := testConfig(b)
				tr := true
				cfg.Seed = &tr
				cfg.Executor.RateHz = 500
				cfg.Executor.Isolate = isolate
				r := startDaemon(b, cfg, Options{})
				op := user(b, r.d, broker.OperatorUser)
				cli := dialTimeout(b, r.d.BrokerURL(), op.Username, op.Password, "arm1", 30*time.Second)
				w := watch(b, r.d.BrokerURL(), op.Username, op.Password, "arm1")
				stop := make(chan struct{})
				defer close(stop)
				if flood {
					floodRuns(b, r.d.BrokerURL(), op.Username, op.Password, stop)
				}
				ctx := ctxT(b, 10*time.Minute)
				var lat []time.Duration
				b.ResetTimer()
				for i := range b.N {
					id, done := startUnderFlood(ctx, b, cli, fmt.Sprintf("es%d", i))
					t0 := time.Now()
					w.publish(b, "estop", `{"id":"stop"}`)
					w.event(b, id, mqttapi.Aborted, 10*time.Second)
					lat = append(lat, time.Since(t0))
					if err := <-done; err == nil {
						b.Fatalf("run %s was not aborted", id)
					}
					if _, err := cli.Reset(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportLatencies(b, lat)
			})
		}
	}
}

// BenchmarkEStopLatency measures publishing cmd/estop during a run to the arm receiving
// its halt command (the safety-relevant latency: the executor runs at 500 Hz, so two
// ticks are 4 ms), on loopback with the embedded broker, idle and while four clients
// flood cmd/run at QoS 0 (up to ≈ 8 000 messages/s each, reconnecting when the broker
// disconnects them). Reports p50, p99 and max in µs. Run it with a fixed count, e.g. -benchtime=50x.
func BenchmarkEStopLatency(b *testing.B) {
	for _, flood := range []bool{false, true} {
		name := "idle"
		if flood {
			name = "flood"
		}
		b.Run(name, func(b *testing.B) {
			sa, err := simarm.New(simarm.Config{})
			if err != nil {
				b.Fatal(err)
			}
			arm := &haltArm{Arm: sa, halt: make(chan time.Time, 1)}
			cfg := testConfig(b)
			tr := true
			cfg.Seed = &tr
			cfg.Executor.RateHz = 500
			r := startDaemon(b, cfg, Options{ArmOverride: arm})
			arm.d.Store(r.d)
			op := user(b, r.d, broker.OperatorUser)
			cli := dialTimeout(b, r.d.BrokerURL(), op.Username, op.Password, "arm1", 30*time.Second)
			w := watch(b, r.d.BrokerURL(), op.Username, op.Password, "arm1")
			stop := make(chan struct{})
			defer close(stop)
			if flood {
				floodRuns(b, r.d.BrokerURL(), op.Username, op.Password, stop)
			}
			ctx := ctxT(b, 10*time.Minute)
			var lat []time.Duration
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprintf("es%d", i)
				done := runStarted(ctx, b, cli, mqttapi.RunRequest{ID: id, Skill: "wave", Duration: 10})
				arm.sent.Store(false)
				t0 := time.Now()
				w.publish(b, "estop", `{"id":"stop"}`)
				select {
				case t1 := <-arm.halt:
					lat = append(lat, t1.Sub(t0))
				case <-time.After(10 * time.Second):
					b.Fatalf("no halt within 10 s of the e-stop of %s", id)
				}
				if err := <-done; err == nil {
					b.Fatalf("run %s was not aborted", id)
				}
				if _, err := cli.Reset(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportLatencies(b, lat)
		})
	}
}
