package mqttapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

// waitAnswer reads events from r until the accepted or rejected event of id, and returns
// it with the events read before it.
func waitAnswer(t *testing.T, r *raw, id string) (mqttapi.Event, []mqttapi.Event) {
	t.Helper()
	var before []mqttapi.Event
	for {
		e := r.nextEvent(t)
		if e.ID == id && (e.Type == mqttapi.Accepted || e.Type == mqttapi.Rejected) {
			return e, before
		}
		before = append(before, e)
	}
}

func (f *fake) runsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.runs {
		if r.ID == id {
			n++
		}
	}
	return n
}

// TestRetainedCommandsNeverReplayed: an operator publishes cmd/run and cmd/reset with the
// retain flag. The broker replays retained messages at every subscription: after the
// daemon's connection drops and it subscribes again, nothing is run or reset again, and
// no retained command is left on the broker.
func TestRetainedCommandsNeverReplayed(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		proxy := mqtttest.NewProxy(t, e.addr)
		startServerCfg(t, e, proxy.URL, f, func(c *mqttapi.ServerConfig) { c.ClearRetained = true })
		op := mustRaw(t, e, e.operator, robot+"events", robot+"status")
		for _, m := range []struct{ cmd, p string }{
			{"run", `{"id":"ret-run","skill":"wave"}`}, {"reset", `{"id":"ret-reset"}`},
		} {
			if tok := op.c.Publish(robot+"cmd/"+m.cmd, 1, true, m.p); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("retained publish: %v", tok.Error())
			}
		}
		op.publish(t, robot+"cmd/skills", `{"id":"mark-1"}`)
		waitAnswer(t, op, "mark-1")
		resets := func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.resets }
		runs0, resets0 := f.runsOf("ret-run"), resets()
		if runs0 > 1 || resets0 > 1 {
			t.Fatalf("live: %d runs, %d resets", runs0, resets0)
		}

		// The connection drops; the daemon reconnects and subscribes again (its status is
		// republished then), and the broker replays what it retained.
		proxy.Drop()
		for {
			m := op.nextWithin(t, 20*time.Second)
			if m.Topic() == robot+"status" && strings.Contains(string(m.Payload()), `"online":true`) {
				break
			}
		}
		op.publish(t, robot+"cmd/skills", `{"id":"mark-2"}`)
		waitAnswer(t, op, "mark-2")
		if n, r := f.runsOf("ret-run"), resets(); n != runs0 || r != resets0 {
			t.Errorf("after resubscribing: %d runs (had %d), %d resets (had %d): a retained command was replayed", n, runs0, r, resets0)
		}

		// Nothing retained is left on the command topics: a fresh subscriber gets the
		// marker published after its subscription first.
		probe := mustRaw(t, e, e.operator, robot+"cmd/#")
		probe.publish(t, robot+"cmd/zz-marker", "{}")
		if m := probe.next(t); m.Topic() != robot+"cmd/zz-marker" {
			t.Errorf("retained on the broker: %s %q", m.Topic(), m.Payload())
		}
	})
}

// TestCancelNeverQueued: a cancel published behind 1 100 queued commands (each taking the
// service 10 ms) is answered before the queue has moved much.
func TestCancelNeverQueued(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		f.onRun = func(mqttapi.RunRequest) error { time.Sleep(10 * time.Millisecond); return nil }
		s := startServer(t, e, e.url, f)
		op := mustRaw(t, e, e.operator, robot+"events")
		for i := range 1100 {
			op.c.Publish(robot+"cmd/run", 0, false, fmt.Sprintf(`{"id":"q%d","skill":"wave"}`, i))
		}
		op.publish(t, robot+"cmd/cancel", `{"id":"c1"}`)
		ev, before := waitAnswer(t, op, "c1")
		accepted := 0
		for _, b := range before {
			if b.Type == mqttapi.Accepted {
				accepted++
			}
		}
		if ev.Type != mqttapi.Accepted || accepted > 200 {
			t.Errorf("cancel %s after %d runs were taken (want it ahead of the queue)", ev.Type, accepted)
		}
		t.Logf("%s: cancel answered after %d of 1100 queued runs", e.name, accepted)
		s.Close() // do not wait for the queue
	})
}

// TestCommandFloodIsShed: commands beyond CommandRate are answered busy without reaching
// the service, the busy answers are themselves bounded, and an e-stop and a cancel in the
// middle of the flood still reach the service.
func TestCommandFloodIsShed(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		const rate, burst = 100, 50
		var shed, refused atomic.Int64
		startServerCfg(t, e, e.url, f, func(c *mqttapi.ServerConfig) {
			c.CommandRate, c.CommandBurst = rate, burst
			c.Refused = func(cmd string, isShed bool) {
				if cmd == mqttapi.CmdRun && isShed {
					shed.Add(1)
				} else {
					refused.Add(1)
				}
			}
		})
		op := mustRaw(t, e, e.operator, robot+"events")
		start := time.Now()
		const n = 3000
		for i := range n {
			op.c.Publish(robot+"cmd/run", 0, false, fmt.Sprintf(`{"id":"f%d","skill":"wave"}`, i))
			if i == n/2 {
				op.c.Publish(robot+"cmd/estop", 0, false, `{"id":"stop"}`)
			}
		}
		// A cancel is never shed: its answer comes after every answer to the flood.
		op.publish(t, robot+"cmd/cancel", `{"id":"after"}`)
		_, before := waitAnswer(t, op, "after")
		elapsed := time.Since(start).Seconds()
		busy := 0
		for _, b := range before {
			if b.Type == mqttapi.Rejected && strings.HasPrefix(b.Reason, "busy") {
				busy++
			}
		}
		runs := f.runCount()
		if max := burst + rate*elapsed + 1; float64(runs) > max {
			t.Errorf("%d runs reached the service in %.2f s, want at most %.0f", runs, elapsed, max)
		}
		if max := 20 + 20*elapsed + 1; float64(busy) > max {
			t.Errorf("%d busy answers in %.2f s, want at most %.0f", busy, elapsed, max)
		}
		if f.estopCount() != 1 {
			t.Errorf("e-stop reached the service %d times during the flood", f.estopCount())
		}
		// Every run the service did not see was reported shed (QoS 0: the broker may drop
		// some of the flood before the server sees them).
		if s := shed.Load(); s < int64(busy) || s+int64(runs) > n || refused.Load() != 0 {
			t.Errorf("Refused: %d runs shed, %d other refusals; %d busy answers, %d runs taken of %d", s, refused.Load(), busy, runs, n)
		}
		t.Logf("%s: %d commands in %.2f s: %d taken, %d answered busy", e.name, n, elapsed, runs, busy)
	})
}

// TestSecondDaemonRefused: a second daemon for the same robot id refuses to start while
// the first answers; the first keeps its connection. A status left "online" by a daemon
// that is gone does not block a start.
func TestSecondDaemonRefused(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		startServerCfg(t, e, e.url, f, func(c *mqttapi.ServerConfig) { c.CheckDuplicate = true })
		op := mustRaw(t, e, e.operator, robot+"events")
		s2, err := mqttapi.NewServer(mqttapi.ServerConfig{Broker: e.url, Username: e.daemon.Username,
			Password: e.daemon.Password, CheckDuplicate: true}, newFake())
		if err != nil {
			t.Fatal(err)
		}
		err = s2.Start(t.Context())
		if !errors.Is(err, mqttapi.ErrDuplicate) || !strings.Contains(err.Error(), "praxis/arm1") {
			t.Fatalf("second daemon: %v, want ErrDuplicate naming the robot", err)
		}
		op.publish(t, robot+"cmd/run", `{"id":"still","skill":"wave"}`)
		if ev, _ := waitAnswer(t, op, "still"); ev.Type != mqttapi.Accepted {
			t.Fatalf("the first daemon after the second tried: %+v", ev)
		}
	})
}

func TestStaleOnlineStatusDoesNotBlock(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		op := mustRaw(t, e, e.operator)
		if tok := op.c.Publish(robot+"status", 1, true, `{"online":true,"activity":"idle"}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
		f := newFake()
		startServerCfg(t, e, e.url, f, func(c *mqttapi.ServerConfig) { c.CheckDuplicate = true })
		st := mustRaw(t, e, e.observer, robot+"status")
		// The server's own status replaces the stale one; a subscriber that came first may
		// be handed the stale one before it (it is retained until then).
		var s mqttapi.Status
		for k := 0; ; k++ {
			if err := json.Unmarshal(st.next(t).Payload(), &s); err != nil {
				t.Fatal(err)
			}
			if !s.Time.IsZero() {
				break
			}
			if k == 1 {
				t.Fatalf("status: %+v after the stale one: want the server's own", s)
			}
		}
		if !s.Online {
			t.Fatalf("status: %+v, want online", s)
		}
	})
}
