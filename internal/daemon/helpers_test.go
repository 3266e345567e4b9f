package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// Hand trajectory of the tests: a 1.5 s minimum-jerk move from handQ0 to handQ1 with
// 0.2 s still at both ends (SO-101 joint order).
var (
	handQ0 = []float64{0, -0.3, 0.4, 0.6, 0, 0.1}
	handQ1 = []float64{0.5, -0.6, 0.9, 0.3, 0.2, 0.1}
)

const handJoints = "shoulder_pan,shoulder_lift,elbow_flex,wrist_flex,wrist_roll,gripper"

// writeHandCSV writes the scripted hand's demo CSV and returns its path.
func writeHandCSV(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t," + handJoints + "\n")
	const still, move, dt = 0.2, 1.5, 0.01
	n := int(math.Round((2*still + move) / dt))
	for k := 0; k <= n; k++ {
		tt := float64(k) * dt
		s := min(max((tt-still)/move, 0), 1)
		mj := s * s * s * (10 - 15*s + 6*s*s)
		fmt.Fprintf(&b, "%.3f", tt)
		for j := range handQ0 {
			fmt.Fprintf(&b, ",%.6f", handQ0[j]+(handQ1[j]-handQ0[j])*mj)
		}
		b.WriteString("\n")
	}
	p := filepath.Join(dir, "hand.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testConfig is a config for an in-process daemon: embedded broker on a free port, data
// in a temporary directory, no seed skills.
func testConfig(t testing.TB) Config {
	f := false
	// 250 Hz: the race detector slows the 1 kHz physics; 500 Hz overran now and then.
	return Config{DataDir: t.TempDir(), Seed: &f, LogLevel: "warn", Executor: ExecutorConfig{RateHz: 250},
		MQTT: MQTTConfig{Listen: "127.0.0.1:0"}, Web: WebConfig{Listen: "127.0.0.1:0"}}
}

type running struct {
	d      *Daemon
	cancel context.CancelFunc
	errc   chan error
	out    strings.Builder
}

// startDaemon runs d in-process until the test ends (then checks Run returned nil).
func startDaemon(t testing.TB, cfg Config, opt Options) *running {
	t.Helper()
	r := &running{errc: make(chan error, 1)}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	opt.Stdout = &syncWriter{w: &r.out}
	d, err := New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.errc <- d.Run(ctx) }()
	select {
	case <-d.Ready():
	case err := <-r.errc:
		t.Fatalf("daemon: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon not ready in 20 s")
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.errc:
		if err != nil {
			t.Errorf("daemon Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("daemon did not stop within 15 s")
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func user(t testing.TB, d *Daemon, name string) broker.User {
	t.Helper()
	u, ok := d.Credentials().Get(name)
	if !ok {
		t.Fatalf("no user %s", name)
	}
	return u
}

func dial(t testing.TB, url, user, pass string) *mqttapi.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: url, Username: user, Password: pass, AnswerTimeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// watchers numbers the watchers' client ids (two made in one nanosecond must differ).
var watchers atomic.Int64

// watcher is a raw MQTT subscriber collecting every event and state sample.
type watcher struct {
	cli    paho.Client
	mu     sync.Mutex
	events []mqttapi.Event
	state  mqttapi.State
	states int // state messages received
	sig    chan struct{}
	topics mqttapi.Topics
	user   string
	pass   string
}

func watch(t testing.TB, url, user, pass, robot string) *watcher {
	t.Helper()
	tp, _ := mqttapi.NewTopics(robot)
	w := &watcher{sig: make(chan struct{}, 1), topics: tp, user: user, pass: pass}
	o := paho.NewClientOptions().AddBroker(url).SetUsername(user).SetPassword(pass).
		SetClientID(fmt.Sprintf("watch-%d-%d", time.Now().UnixNano(), watchers.Add(1))).SetAutoReconnect(false)
	w.cli = paho.NewClient(o)
	if tok := w.cli.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher connect: %v", tok.Error())
	}
	t.Cleanup(func() { w.cli.Disconnect(100) })
	sub := func(topic string, f func([]byte)) {
		tok := w.cli.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
			f(m.Payload())
			select {
			case w.sig <- struct{}{}:
			default:
			}
		})
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("watcher subscribe: %v", tok.Error())
		}
	}
	sub(tp.Events, func(p []byte) {
		var e mqttapi.Event
		if json.Unmarshal(p, &e) == nil {
			w.mu.Lock()
			w.events = append(w.events, e)
			w.mu.Unlock()
		}
	})
	sub(tp.State, func(p []byte) {
		var s mqttapi.State
		if json.Unmarshal(p, &s) == nil {
			w.mu.Lock()
			w.state = s
			w.states++
			w.mu.Unlock()
		}
	})
	return w
}

// waitFor waits until cond (called under the lock) holds.
func (w *watcher) waitFor(t testing.TB, what string, timeout time.Duration, cond func(w *watcher) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		ok := cond(w)
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-w.sig:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// event waits for an event of id with type typ and returns it.
func (w *watcher) event(t testing.TB, id string, typ mqttapi.EventType, timeout time.Duration) mqttapi.Event {
	t.Helper()
	var out mqttapi.Event
	w.waitFor(t, fmt.Sprintf("%s event of %q", typ, id), timeout, func(w *watcher) bool {
		for _, e := range w.events {
			if e.ID == id && e.Type == typ {
				out = e
				return true
			}
		}
		return false
	})
	return out
}

func (w *watcher) count(id string) map[mqttapi.EventType]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[mqttapi.EventType]int{}
	for _, e := range w.events {
		if e.ID == id {
			m[e.Type]++
		}
	}
	return m
}

// waitAt waits until the telemetry shows every joint within tol of q and still.
func (w *watcher) waitAt(t testing.TB, q []float64, tol float64, timeout time.Duration) {
	t.Helper()
	w.waitFor(t, fmt.Sprintf("arm at %v", q), timeout, func(w *watcher) bool {
		if len(w.state.Pos) != len(q) {
			return false
		}
		for i := range q {
			if math.Abs(w.state.Pos[i]-q[i]) > tol || math.Abs(w.state.Vel[i]) > 0.05 {
				return false
			}
		}
		return true
	})
}

func (w *watcher) publish(t testing.TB, cmd, payload string) {
	t.Helper()
	tok := w.cli.Publish(w.topics.Cmd(cmd), 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func rejection(err error) *mqttapi.Rejection {
	var r *mqttapi.Rejection
	if errors.As(err, &r) {
		return r
	}
	return nil
}

// truth returns the simulated arm's noiseless positions.
func truth(d *Daemon) []float64 { return d.SimArm().Stats().Truth }

func maxDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// checkRecordEvents checks the figures of a recording's events against its demo file:
// progress events carry samples and seconds (non-decreasing; no phase), the terminal
// event the file's row count, duration and path relative to the data directory.
func checkRecordEvents(t testing.TB, w *watcher, end mqttapi.Event, csv string) {
	t.Helper()
	demo, err := demos.ReadCSV(csv)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.ToSlash(filepath.Join(DemosDir, filepath.Base(csv)))
	if end.Samples != demo.Len() || math.Abs(end.Seconds-demo.Duration()) > 1e-6 || end.Path != want || end.Reason != "" || end.FinalError != 0 {
		t.Fatalf("recording's %s event: %d samples, %g s, path %q, reason %q, final_error %g; want %d samples, %g s, path %q, no reason",
			end.Type, end.Samples, end.Seconds, end.Path, end.Reason, end.FinalError, demo.Len(), demo.Duration(), want)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n, last := 0, mqttapi.Event{}
	for _, e := range w.events {
		if e.ID != end.ID || e.Type != mqttapi.Progress {
			continue
		}
		n++
		if e.Cmd != mqttapi.CmdRecord || e.Progress != 0 || e.Reason != "" || e.Samples < last.Samples || e.Seconds < last.Seconds ||
			e.Samples > end.Samples || e.Seconds > end.Seconds {
			t.Fatalf("recording progress %+v after %+v, ending at %d samples, %g s", e, last, end.Samples, end.Seconds)
		}
		last = e
	}
	if n == 0 || last.Samples == 0 {
		t.Fatalf("%d recording progress events, last %+v", n, last)
	}
}

// checkFitError checks that a learn's succeeded event carries the fit error stored in
// the new skill version, joint by joint in the skill's order.
func checkFitError(t testing.TB, dataDir string, e mqttapi.Event) {
	t.Helper()
	store, err := skilllib.OpenStore(filepath.Join(dataDir, SkillsDir))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := store.Get(e.Skill, e.Version)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.FitError) != len(sk.Joints) || len(sk.Provenance.FitError) != len(sk.Joints) {
		t.Fatalf("learn event fit_error %+v, skill joints %v, stored %+v", e.FitError, sk.Joints, sk.Provenance.FitError)
	}
	for i, f := range sk.Provenance.FitError {
		got := e.FitError[i]
		if got.Joint != sk.Joints[i] || got.Joint != f.Joint || got.RMSE != f.RMSE || got.Max != f.Max || got.End != f.End {
			t.Fatalf("fit_error[%d] = %+v, stored %+v", i, got, f)
		}
		if !(got.RMSE > 0 && got.RMSE <= got.Max && got.Max < 0.05) {
			t.Errorf("fit_error[%d] = %+v: want 0 < rmse <= max < 0.05 rad", i, got)
		}
	}
}

// runStarted starts req on cli in a goroutine and returns once the run has started (or
// fails the test after 10 s); the run's final error arrives on the returned channel.
func runStarted(ctx context.Context, t testing.TB, cli *mqttapi.Client, req mqttapi.RunRequest) <-chan error {
	t.Helper()
	started := make(chan struct{}, 1)
	res := make(chan error, 1)
	go func() {
		_, err := cli.Run(ctx, req, func(e mqttapi.Event) {
			if e.Type == mqttapi.Started {
				started <- struct{}{}
			}
		})
		res <- err
	}()
	select {
	case <-started:
	case err := <-res:
		t.Fatalf("run %s ended before it started: %v", req.ID, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("run %s did not start", req.ID)
	}
	return res
}
