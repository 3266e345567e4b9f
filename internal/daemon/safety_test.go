package daemon

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/skilllib"
)

// writeDemo writes a minimum-jerk demo of the SO-101's joints, dur s at rate Hz, with
// still ends; with recorded, a sidecar says it is a raw recording.
func writeDemo(t *testing.T, dir, name string, dur, rate float64, recorded bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t," + handJoints + "\n")
	n := int(math.Round(dur * rate))
	for k := 0; k <= n; k++ {
		tt := float64(k) / rate
		s := min(max((tt-0.2)/(dur-0.4), 0), 1)
		mj := s * s * s * (10 - 15*s + 6*s*s)
		fmt.Fprintf(&b, "%.4f", tt)
		for j := range handQ0 {
			fmt.Fprintf(&b, ",%.6f", handQ0[j]+(handQ1[j]-handQ0[j])*mj+0.05*math.Sin(3*tt+float64(j))*mj*(1-mj))
		}
		b.WriteString("\n")
	}
	p := filepath.Join(dir, name+".csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if recorded {
		sc := demos.Sidecar{Format: demos.SidecarFormat, Name: name, Joints: strings.Split(handJoints, ","),
			RateHz: rate, Started: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), DurationS: float64(n) / rate,
			Samples: n + 1, Source: demos.SourceRecorded}
		if err := demos.WriteSidecar(filepath.Join(dir, name+".json"), &sc); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// TestLearnSafety: learns are bounded, one at a time, cancellable; a bad file's reason
// names file:line:col without quoting it; a demo path outside the data directory is
// refused; and the daemon learns exactly what `praxis learn` does offline.
func TestLearnSafety(t *testing.T) {
	cfg := testConfig(t)
	dd := filepath.Join(cfg.DataDir, DemosDir)
	if err := os.MkdirAll(dd, 0o755); err != nil {
		t.Fatal(err)
	}
	good := writeDemo(t, dd, "good", 3, 100, true)
	writeDemo(t, dd, "long1", 150, 100, false)
	writeDemo(t, dd, "long2", 160, 100, false)
	writeDemo(t, dd, "huge1", 590, 10, false)
	writeDemo(t, dd, "huge2", 595, 10, false)
	bad := "t," + handJoints + "\n0,0,0,0,0,0,0\n0.01,0,0,SECRET-TEXT,0,0,0\n"
	os.WriteFile(filepath.Join(dd, "bad.csv"), []byte(bad), 0o644)
	outside := filepath.Join(t.TempDir(), "outside.csv")
	os.WriteFile(outside, []byte(bad), 0o644)
	if err := os.Symlink(outside, filepath.Join(dd, "link.csv")); err != nil {
		t.Fatal(err)
	}

	r := startDaemon(t, cfg, Options{})
	op := user(t, r.d, broker.OperatorUser)
	ob := user(t, r.d, broker.ObserverUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	w := watch(t, r.d.BrokerURL(), ob.Username, ob.Password, "arm1")
	ctx := ctxT(t, 120*time.Second)

	// Bounds checked on arrival.
	_, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "s", Demos: []string{"good"}, Basis: 10000}, nil)
	if rj := rejection(err); rj == nil || rj.Field != "basis" {
		t.Fatalf("basis 10000: %v", err)
	}
	// A learn that would need gigabytes fails up front, naming the memory.
	_, err = cli.Learn(ctx, mqttapi.LearnRequest{ID: "huge", Skill: "s", Demos: []string{"huge1", "huge2"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("huge learn: %v", err)
	}
	// Bad content: file, line and column, never the content (observers read the reason).
	_, err = cli.Learn(ctx, mqttapi.LearnRequest{ID: "bad", Skill: "s", Demos: []string{"bad"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "bad.csv:3:4") {
		t.Fatalf("bad demo: %v", err)
	}
	if f := w.event(t, "bad", mqttapi.Failed, 5*time.Second); strings.Contains(f.Reason, "SECRET") {
		t.Fatalf("the reason quotes the file: %q", f.Reason)
	}
	_, err = cli.Learn(ctx, mqttapi.LearnRequest{Skill: "s", Demos: []string{"link"}}, nil)
	if rj := rejection(err); rj == nil || rj.Field != "demos[0]" || !strings.Contains(rj.Reason, "outside the data directory") {
		t.Fatalf("symlink outside: %v", err)
	}

	// One learn at a time, and a learn can be cancelled with its id.
	started := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		_, err := cli.Learn(ctx, mqttapi.LearnRequest{ID: "slow", Skill: "slow", Demos: []string{"long1", "long2"}, Basis: 500},
			func(e mqttapi.Event) {
				if e.Type == mqttapi.Accepted {
					started <- struct{}{}
				}
			})
		done <- err
	}()
	<-started
	_, err = cli.Learn(ctx, mqttapi.LearnRequest{Skill: "other", Demos: []string{"good"}}, nil)
	if rj := rejection(err); rj == nil || !strings.Contains(rj.Reason, "one learn at a time") {
		t.Fatalf("second learn: %v", err)
	}
	cli2 := dial(t, r.d.BrokerURL(), op.Username, op.Password) // cli waits on the id "slow"
	if _, err := cli2.Cancel(ctx, "slow"); err != nil {
		t.Fatalf("cancel the learn: %v", err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("cancelled learn: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, SkillsDir, "slow")); !os.IsNotExist(err) {
		t.Errorf("a cancelled learn stored a skill: %v", err)
	}

	// The daemon learns what `praxis learn` learns offline from the same files.
	ev, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "same", Demos: []string{"good"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := skilllib.OpenStore(filepath.Join(cfg.DataDir, SkillsDir))
	onDaemon, err := st.Get("same", ev.Version)
	if err != nil {
		t.Fatal(err)
	}
	offline, err := skilllib.LearnFiles(ctx, []string{good}, skilllib.FileOptions{LearnOptions: skilllib.LearnOptions{Name: "same"}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(onDaemon.DMP)
	b, _ := json.Marshal(offline.DMP)
	if string(a) != string(b) || onDaemon.Provenance.Demos[0] != offline.Provenance.Demos[0] {
		t.Fatal("the skill learned on the daemon differs from the one learned offline")
	}
	if onDaemon.DMP.Tau > 2.9 {
		t.Errorf("tau %.3f s: the raw recording was not cleaned (still ends kept)", onDaemon.DMP.Tau)
	}
}

// statusWatch records the daemon's status messages.
type statusWatch struct {
	mu   sync.Mutex
	last mqttapi.Status
}

// TestShutdownDeliversEvents stops the daemon (as SIGTERM does) in the middle of a run,
// several times: every subscriber sees the run's aborted event and the offline status.
func TestShutdownDeliversEvents(t *testing.T) {
	for i := range 5 {
		cfg := testConfig(t)
		tr := true
		cfg.Seed = &tr
		r := startDaemon(t, cfg, Options{})
		op := user(t, r.d, broker.OperatorUser)
		cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
		w := watch(t, r.d.BrokerURL(), op.Username, op.Password, "arm1")
		sw := &statusWatch{}
		o := paho.NewClientOptions().AddBroker(r.d.BrokerURL()).SetUsername(op.Username).SetPassword(op.Password).
			SetClientID(fmt.Sprintf("status-%d", i)).SetAutoReconnect(false)
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		offline := make(chan struct{})
		var once sync.Once
		c.Subscribe("praxis/arm1/status", 1, func(_ paho.Client, m paho.Message) {
			var st mqttapi.Status
			if json.Unmarshal(m.Payload(), &st) == nil {
				sw.mu.Lock()
				sw.last = st
				sw.mu.Unlock()
				if !st.Online {
					once.Do(func() { close(offline) })
				}
			}
		}).WaitTimeout(5 * time.Second)
		id := fmt.Sprintf("sd%d", i)
		runStarted(ctxT(t, 30*time.Second), t, cli, mqttapi.RunRequest{ID: id, Skill: "wave"})
		r.stop(t)
		ab := w.event(t, id, mqttapi.Aborted, 15*time.Second)
		if !strings.Contains(ab.Reason, "shutting down") {
			t.Errorf("stop %d: aborted %q", i, ab.Reason)
		}
		select {
		case <-offline:
		case <-time.After(15 * time.Second):
			sw.mu.Lock()
			t.Errorf("stop %d: no offline status (last %+v)", i, sw.last)
			sw.mu.Unlock()
		}
		c.Disconnect(0)
	}
}

// TestCommandFloodDuringRun: four clients flood cmd/run at QoS 0 while a run executes;
// the run succeeds (the flood is shed and costs the control loop nothing that matters).
func TestCommandFloodDuringRun(t *testing.T) {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	r := startDaemon(t, cfg, Options{})
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(t, 60*time.Second)
	res := make(chan error, 1)
	var final float64
	started := make(chan struct{})
	go func() {
		ev, err := cli.Run(ctx, mqttapi.RunRequest{ID: "under-flood", Skill: "reach", Duration: 2}, func(e mqttapi.Event) {
			if e.Type == mqttapi.Started {
				close(started)
			}
		})
		final = ev.FinalError
		res <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not start")
	}
	var stop atomic.Bool
	var sent atomic.Int64
	var wg sync.WaitGroup
	for k := range 4 {
		o := paho.NewClientOptions().AddBroker(r.d.BrokerURL()).SetUsername(op.Username).SetPassword(op.Password).
			SetClientID(fmt.Sprintf("flood-%d", k)).SetAutoReconnect(false)
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Disconnect(0)
			deadline := time.Now().Add(20 * time.Second)
			for i := 0; !stop.Load() && i < 200000 && time.Now().Before(deadline); i++ {
				c.Publish("praxis/arm1/cmd/run", 0, false, fmt.Sprintf(`{"id":"f%d-%d","skill":"wave"}`, k, i))
				sent.Add(1)
				if i%256 == 0 {
					time.Sleep(time.Millisecond) // yield: the paho client queues otherwise
				}
			}
		}()
	}
	err := <-res
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("run during a flood of %d commands: %v", sent.Load(), err)
	}
	t.Logf("run during a flood of %d commands: final error %.4f rad", sent.Load(), final)
}
