package mqttapi_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

// env is one broker with the three roles' credentials.
type env struct {
	name     string
	url      string // broker URL
	addr     string // host:port, for proxies
	daemon   broker.User
	operator broker.User
	observer broker.User
}

func embeddedEnv(t testing.TB) env {
	b := mqtttest.Embedded(t)
	c := b.Credentials()
	d, _ := c.ByRole(broker.RoleDaemon)
	op, _ := c.ByRole(broker.RoleOperator)
	ob, _ := c.ByRole(broker.RoleObserver)
	return env{name: "mochi", url: b.URL(), addr: b.Addr(), daemon: d, operator: op, observer: ob}
}

func mosquittoEnv(t testing.TB) env {
	e := env{name: "mosquitto",
		daemon:   broker.User{Username: "praxis-daemon", Password: "daemon-pw-1"},
		operator: broker.User{Username: "operator", Password: "operator-pw-1"},
		observer: broker.User{Username: "observer", Password: "observer-pw-1"}}
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoConfig{
		Users: []mqtttest.User{{Name: e.daemon.Username, Password: e.daemon.Password},
			{Name: e.operator.Username, Password: e.operator.Password},
			{Name: e.observer.Username, Password: e.observer.Password}},
		ACL: mqtttest.PraxisACL(e.daemon.Username, e.operator.Username, e.observer.Username),
	})
	e.url, e.addr = m.URL, m.Addr
	return e
}

// forEachBroker runs f against the embedded broker and against mosquitto.
func forEachBroker(t *testing.T, f func(t *testing.T, e env)) {
	t.Run("mochi", func(t *testing.T) { f(t, embeddedEnv(t)) })
	t.Run("mosquitto", func(t *testing.T) { f(t, mosquittoEnv(t)) })
}

// fake is a Service recording its calls. onRun, when set, runs inside Run.
type fake struct {
	srv *mqttapi.Server

	mu      sync.Mutex
	runs    []mqttapi.RunRequest
	estops  int
	resets  int
	cancels []string
	onRun   func(r mqttapi.RunRequest) error
	reset   func() (mqttapi.ResetResult, error) // Reset's answer; nil: accepted, nothing recovered

	runCalls  chan time.Time // time of each Run call, if not nil
	estopCall chan time.Time
}

func newFake() *fake {
	return &fake{runCalls: make(chan time.Time, 4096), estopCall: make(chan time.Time, 4096)}
}

func (f *fake) Run(r mqttapi.RunRequest) error {
	now := time.Now()
	f.mu.Lock()
	f.runs = append(f.runs, r)
	on := f.onRun
	f.mu.Unlock()
	select {
	case f.runCalls <- now:
	default:
	}
	if on != nil {
		return on(r)
	}
	return nil
}
func (f *fake) Cancel(id string) error {
	f.mu.Lock()
	f.cancels = append(f.cancels, id)
	f.mu.Unlock()
	if id == "unknown" {
		return mqttapi.Reject("id", "no run %q", id)
	}
	return nil
}
func (f *fake) EStop() {
	now := time.Now()
	f.mu.Lock()
	f.estops++
	f.mu.Unlock()
	select {
	case f.estopCall <- now:
	default:
	}
}
func (f *fake) Reset() (mqttapi.ResetResult, error) {
	f.mu.Lock()
	r := f.reset
	f.resets++
	f.mu.Unlock()
	if r == nil {
		return mqttapi.ResetResult{}, nil
	}
	return r()
}
func (f *fake) Record(mqttapi.RecordRequest) error { return nil }
func (f *fake) Learn(mqttapi.LearnRequest) error   { return nil }
func (f *fake) Skills() ([]mqttapi.SkillInfo, error) {
	return []mqttapi.SkillInfo{{Name: "wave", Version: 2}}, nil
}

func (f *fake) runCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.runs)
}

func (f *fake) estopCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.estops
}

// startServer starts a Server for f on url as the daemon user.
func startServer(t testing.TB, e env, url string, f *fake) *mqttapi.Server {
	t.Helper()
	return startServerCfg(t, e, url, f, nil)
}

// startServerCfg is startServer with mod applied to the server's config.
func startServerCfg(t testing.TB, e env, url string, f *fake, mod func(*mqttapi.ServerConfig)) *mqttapi.Server {
	t.Helper()
	cfg := mqttapi.ServerConfig{Broker: url, Username: e.daemon.Username,
		Password: e.daemon.Password, ConnectTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := mqttapi.NewServer(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = s
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t testing.TB, e env, u broker.User) *mqttapi.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: e.url, Username: u.Username, Password: u.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// raw is a bare paho connection that collects messages of its subscriptions.
type raw struct {
	c  paho.Client
	ch chan paho.Message
}

// connectRaw connects without auto-reconnect; it returns the connect error.
func connectRaw(e env, u broker.User) (*raw, error) {
	r := &raw{ch: make(chan paho.Message, 8192)}
	o := paho.NewClientOptions().AddBroker(e.url).SetUsername(u.Username).SetPassword(u.Password).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetCleanSession(true)
	r.c = paho.NewClient(o)
	tok := r.c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return nil, context.DeadlineExceeded
	}
	return r, tok.Error()
}

func mustRaw(t testing.TB, e env, u broker.User, subs ...string) *raw {
	t.Helper()
	r, err := connectRaw(e, u)
	if err != nil {
		t.Fatalf("connect %s: %v", u.Username, err)
	}
	t.Cleanup(func() { r.c.Disconnect(0) })
	for _, s := range subs {
		tok := r.c.Subscribe(s, 1, func(_ paho.Client, m paho.Message) { r.ch <- m })
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", s, tok.Error())
		}
	}
	return r
}

func (r *raw) publish(t testing.TB, topic string, payload string) {
	t.Helper()
	tok := r.c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// next waits for the next message, failing after 5 s.
func (r *raw) next(t testing.TB) paho.Message {
	t.Helper()
	return r.nextWithin(t, 5*time.Second)
}

func (r *raw) nextWithin(t testing.TB, d time.Duration) paho.Message {
	t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-time.After(d):
		t.Fatalf("no message within %v", d)
		return nil
	}
}

func (r *raw) nextEvent(t testing.TB) mqttapi.Event {
	t.Helper()
	var e mqttapi.Event
	m := r.next(t)
	if err := json.Unmarshal(m.Payload(), &e); err != nil {
		t.Fatalf("%s: %q: %v", m.Topic(), m.Payload(), err)
	}
	return e
}
