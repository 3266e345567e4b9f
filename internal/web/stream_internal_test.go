package web

import (
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/internal/core"
)

// TestHubSlowClient: a client that does not read keeps only the newest state, every
// terminal event, at most maxProgress progress events, and is dropped (not waited for)
// once maxQueued frames are queued.
func TestHubSlowClient(t *testing.T) {
	s := &Server{done: make(chan struct{})}
	s.hub.init(s)
	c := &client{sig: make(chan struct{}, 1)}
	s.hub.clients[c] = struct{}{}
	for i := range 1000 {
		s.Publish(core.Event{ID: "r", Cmd: core.CmdRun, Type: core.Progress, Progress: float64(i) / 1000})
	}
	s.Publish(core.Event{ID: "r", Cmd: core.CmdRun, Type: core.Succeeded})
	c.mu.Lock()
	n, last := len(c.queue), string(c.queue[len(c.queue)-1])
	c.mu.Unlock()
	if n != maxProgress+1 || !strings.Contains(last, `"type":"succeeded"`) {
		t.Fatalf("%d frames queued, last %s; want %d progress and the terminal event", n, last, maxProgress)
	}
	for range maxQueued {
		s.Publish(core.Event{ID: "x", Type: core.Failed})
	}
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if !dead {
		t.Fatal("a client 4096 frames behind is not dropped")
	}
}

// TestPublishStateNoAlloc: the daemon's telemetry call copies into preallocated buffers.
func TestPublishStateNoAlloc(t *testing.T) {
	s := &Server{done: make(chan struct{})}
	s.hub.init(s)
	st := core.State{Names: []string{"a", "b"}, Pos: []float64{1, 2}, Vel: []float64{0, 0}}
	s.PublishState(st)
	if a := testing.AllocsPerRun(100, func() { s.PublishState(st) }); a != 0 {
		t.Fatalf("PublishState allocates %v times a call", a)
	}
}

// TestPageWording: the daemon's MQTT wording of a rejection is rewritten for the page, and
// reasons without it pass unchanged.
func TestPageWording(t *testing.T) {
	for in, want := range map[string]string{
		"e-stop latched: send cmd/reset first":        "e-stop latched: reset the e-stop first (the Reset button on the Live tab, or POST /api/reset)",
		"busy: cmd/reset is setting the arm up again": "busy: a reset is setting the arm up again",
		`busy: recording demo "x"`:                    `busy: recording demo "x"`,
	} {
		if got := pageWording(in); got != want {
			t.Errorf("pageWording(%q) = %q, want %q", in, got, want)
		}
	}
}
