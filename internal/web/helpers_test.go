package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/daemon"
)

// daemonT is a real daemon on the simulated SO-101 (real time, seeded skills), with its
// dashboard on a free port.
type daemonT struct {
	d      *daemon.Daemon
	url    string // dashboard base URL, ending in /
	cancel context.CancelFunc
	errc   chan error
}

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startDaemon runs a daemon until the test ends. mod may adjust the config.
func startDaemon(t testing.TB, mod func(*daemon.Config)) *daemonT {
	t.Helper()
	return startDaemonOpt(t, mod, daemon.Options{})
}

// startDaemonOpt is startDaemon with options (Stdout and Logger are the test's).
func startDaemonOpt(t testing.TB, mod func(*daemon.Config), opt daemon.Options) *daemonT {
	t.Helper()
	seed := true
	cfg := daemon.Config{DataDir: t.TempDir(), Seed: &seed, LogLevel: "warn",
		Executor: daemon.ExecutorConfig{RateHz: 250},
		MQTT:     daemon.MQTTConfig{Listen: "127.0.0.1:0"}, Web: daemon.WebConfig{Listen: "127.0.0.1:0"}}
	if mod != nil {
		mod(&cfg)
	}
	opt.Stdout = io.Discard
	opt.Logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := daemon.New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &daemonT{d: d, cancel: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- d.Run(ctx) }()
	select {
	case <-d.Ready():
	case err := <-r.errc:
		t.Fatalf("daemon: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("daemon not ready in 30 s")
	}
	r.url = d.WebURL()
	if r.url == "" {
		t.Fatal("daemon serves no dashboard")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.errc:
			if err != nil {
				t.Errorf("daemon Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("daemon did not stop within 20 s")
		}
	})
	return r
}

func (r *daemonT) password(t testing.TB, user string) string {
	t.Helper()
	u, ok := r.d.Credentials().Get(user)
	if !ok {
		t.Fatalf("no user %s", user)
	}
	return u.Password
}

// client is a browser-like HTTP client with a cookie jar.
type client struct {
	t    testing.TB
	base string
	http *http.Client
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: strings.TrimSuffix(base, "/"), http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// do sends a request (body JSON-encoded when not nil; the CSRF header unless noCSRF)
// and returns the status and decoded JSON answer.
func (c *client) do(method, path string, body any, hdr map[string]string) (int, map[string]any, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if _, ok := hdr["-csrf"]; !ok {
		req.Header.Set("X-Praxis", "1")
	}
	for k, v := range hdr {
		if k != "-csrf" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw
}

func (c *client) login(user, pass string) *http.Response {
	c.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	req, _ := http.NewRequest("POST", c.base+"/api/login", bytes.NewReader(b))
	req.Header.Set("X-Praxis", "1")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func loggedIn(t testing.TB, r *daemonT, user string) *client {
	t.Helper()
	c := newClient(t, r.url)
	if resp := c.login(user, r.password(t, user)); resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %s", user, resp.Status)
	}
	return c
}

// stream is a live SSE connection collecting frames.
type stream struct {
	mu     sync.Mutex
	frames []sseFrame
	sig    chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

type sseFrame struct {
	event string
	data  string
}

func (c *client) stream(t testing.TB) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/events", nil)
	hc := &http.Client{Jar: c.http.Jar}
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &stream{sig: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			case line == "" && f.event != "":
				s.mu.Lock()
				s.frames = append(s.frames, f)
				s.mu.Unlock()
				select {
				case s.sig <- struct{}{}:
				default:
				}
				f = sseFrame{}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-s.done })
	return s
}

// wait waits until cond holds on the frames received so far.
func (s *stream) wait(t testing.TB, what string, timeout time.Duration, cond func([]sseFrame) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond(s.frames)
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.sig:
		case <-s.done:
			t.Fatalf("stream ended waiting for %s", what)
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// event waits for an event frame of id with type typ.
func (s *stream) event(t testing.TB, id string, typ core.EventType, timeout time.Duration) core.Event {
	t.Helper()
	var out core.Event
	s.wait(t, string(typ)+" event of "+id, timeout, func(fs []sseFrame) bool {
		for _, f := range fs {
			if f.event != "event" {
				continue
			}
			var e core.Event
			if json.Unmarshal([]byte(f.data), &e) == nil && e.ID == id && e.Type == typ {
				out = e
				return true
			}
		}
		return false
	})
	return out
}
