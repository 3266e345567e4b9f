package web

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/sim"
)

// Bounds of a live stream's queue. A client that falls this far behind on events (which
// are never dropped) is disconnected; its page reconnects and reloads what it shows.
const (
	maxQueued   = 4096 // queued frames per client
	maxProgress = 64   // queued progress events per client; more are dropped
)

// hub fans the daemon's reports out to the live streams. The Sink methods only copy and
// queue: joint state keeps the newest sample per client (older ones are dropped when a
// client is slow), events and status are queued and never dropped.
type hub struct {
	s       *Server
	mu      sync.Mutex
	clients map[*client]struct{}
	status  []byte // last status frame
	skills  []byte // last skills frame

	stMu  sync.Mutex
	st    core.State // newest state, owned copy
	stNew bool
	stSig chan struct{}
}

type client struct {
	mu       sync.Mutex
	queue    [][]byte
	progress int
	state    []byte
	dead     bool
	sig      chan struct{}
}

func (h *hub) init(s *Server) {
	h.s, h.clients, h.stSig = s, map[*client]struct{}{}, make(chan struct{}, 1)
}

func frame(event string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{}`)
	}
	out := make([]byte, 0, len(b)+len(event)+16)
	out = append(out, "event: "...)
	out = append(out, event...)
	out = append(out, "\ndata: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}

func (c *client) push(f []byte, progress bool) {
	c.mu.Lock()
	switch {
	case c.dead:
	case progress && c.progress >= maxProgress:
	case len(c.queue) >= maxQueued:
		c.dead, c.queue = true, nil
	default:
		c.queue = append(c.queue, f)
		if progress {
			c.progress++
		}
	}
	c.mu.Unlock()
	select {
	case c.sig <- struct{}{}:
	default:
	}
}

func (c *client) setState(f []byte) {
	c.mu.Lock()
	c.state = f
	c.mu.Unlock()
	select {
	case c.sig <- struct{}{}:
	default:
	}
}

func (h *hub) broadcast(f []byte, progress bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.push(f, progress)
	}
}

// Publish implements core.Sink: the event is queued for every live stream.
func (s *Server) Publish(e core.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.hub.broadcast(frame("event", e), e.Type == core.Progress)
}

// PublishState implements core.Sink: it copies st (no allocation once sized) and wakes
// the hub, which encodes it once for every stream.
func (s *Server) PublishState(st core.State) {
	h := &s.hub
	h.stMu.Lock()
	if len(h.st.Names) != len(st.Names) {
		h.st.Names = append([]string(nil), st.Names...)
	}
	h.st.Time = st.Time
	h.st.Pos = append(h.st.Pos[:0], st.Pos...)
	h.st.Vel = append(h.st.Vel[:0], st.Vel...)
	h.stNew = true
	h.stMu.Unlock()
	select {
	case h.stSig <- struct{}{}:
	default:
	}
}

// SetStatus implements core.Sink.
func (s *Server) SetStatus(st core.Status) {
	st.Online = true
	f := frame("status", st)
	s.hub.mu.Lock()
	s.hub.status = f
	s.hub.mu.Unlock()
	s.hub.broadcast(f, false)
}

// PublishSkills implements core.Sink.
func (s *Server) PublishSkills(list []core.SkillInfo) {
	if list == nil {
		list = []core.SkillInfo{}
	}
	f := frame("skills", list)
	s.hub.mu.Lock()
	s.hub.skills = f
	s.hub.mu.Unlock()
	s.hub.broadcast(f, false)
}

var _ core.Sink = (*Server)(nil)

// stateMsg is a joint state on the stream, with the arm's stick figure when known.
type stateMsg struct {
	Time   time.Time     `json:"time"`
	Names  []string      `json:"names"`
	Pos    []float64     `json:"pos"`
	Vel    []float64     `json:"vel"`
	Points *sim.Skeleton `json:"skeleton,omitempty"`
}

// run encodes each new state once and hands it to every stream, until Close.
func (h *hub) run() {
	var st core.State
	for {
		select {
		case <-h.s.done:
			return
		case <-h.stSig:
		}
		h.stMu.Lock()
		if !h.stNew {
			h.stMu.Unlock()
			continue
		}
		h.stNew = false
		st.Time = h.st.Time
		st.Names = h.st.Names
		st.Pos = append([]float64(nil), h.st.Pos...)
		st.Vel = append([]float64(nil), h.st.Vel...)
		h.stMu.Unlock()
		h.mu.Lock()
		n := len(h.clients)
		h.mu.Unlock()
		if n == 0 {
			continue
		}
		if st.Time.IsZero() {
			st.Time = time.Now()
		}
		m := stateMsg{Time: st.Time, Names: st.Names, Pos: st.Pos, Vel: st.Vel}
		if h.s.cfg.Skeleton != nil {
			if sk, err := h.s.cfg.Skeleton(st.Pos); err == nil {
				m.Points = &sk
			}
		}
		f := frame("state", m)
		h.mu.Lock()
		for c := range h.clients {
			c.setState(f)
		}
		h.mu.Unlock()
	}
}

// events serves the live stream (text/event-stream): hello, status, skills at once, then
// state (newest only), event, status and skills frames as they come, and a comment every
// 15 s. It ends when the session ends, the client falls too far behind, or the server closes.
func (s *Server) events(w http.ResponseWriter, r *http.Request, sess *session, tok string) {
	fl, ok := w.(http.Flusher)
	if !ok {
		httpError(w, http.StatusInternalServerError, "", "streaming unsupported")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c := &client{sig: make(chan struct{}, 1)}
	s.hub.mu.Lock()
	s.hub.clients[c] = struct{}{}
	first := [][]byte{frame("hello", map[string]any{"user": sess.user, "role": sess.role}), s.hub.status, s.hub.skills}
	s.hub.mu.Unlock()
	defer func() {
		s.hub.mu.Lock()
		delete(s.hub.clients, c)
		s.hub.mu.Unlock()
	}()
	w.WriteHeader(http.StatusOK)
	for _, f := range first {
		if f != nil {
			if _, err := w.Write(f); err != nil {
				return
			}
		}
	}
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-r.Context().Done():
			return
		case <-ping.C:
			if s.sessions.get(tok) == nil {
				return
			}
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			fl.Flush()
		case <-c.sig:
			c.mu.Lock()
			q, st, dead := c.queue, c.state, c.dead
			c.queue, c.state, c.progress = nil, nil, 0
			c.mu.Unlock()
			if dead {
				s.cfg.Logger.Warn("web: live stream too slow: disconnected", "user", sess.user, "remote", r.RemoteAddr)
				return
			}
			for _, f := range q {
				if _, err := w.Write(f); err != nil {
					return
				}
			}
			if st != nil {
				if _, err := w.Write(st); err != nil {
					return
				}
			}
			fl.Flush()
		}
	}
}
