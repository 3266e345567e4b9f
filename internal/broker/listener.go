package broker

import (
	"container/list"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// tcpListener is a mochi listener (TCP, optionally TLS) that
//   - tracks its connection goroutines, so that Broker.Close can end them all before
//     mochi's Server.Close (this avoids mochi v2.7.9's races between Close and
//     connections being established: mochi-mqtt/server issues #424, #488, #541);
//   - gives every connection connectTimeout to complete its TLS handshake and CONNECT
//     (an absolute deadline; mochi replaces it by the keepalive deadline once the
//     CONNECT is read);
//   - holds at most maxPending connections that have not authenticated: a new one
//     beyond closes the oldest, so idle connections cannot lock out a client that sends
//     its CONNECT at once;
//   - admits at most maxConns authenticated operator and observer connections, of
//     which observers may hold maxConns - maxConns/4 (the rest is kept for operators);
//     the daemon's user is never refused, so that it can always reconnect.
type tcpListener struct {
	id             string
	addr           string
	tls            *tls.Config
	connectTimeout time.Duration
	maxConns       int
	maxPending     int
	log            *refusalLog

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*conn]struct{} // every connection being served, for shutdown
	pending *list.List         // of *conn not yet authenticated, oldest first
	authed  int                // authenticated operator and observer connections
	closed  bool
	estab   listeners.EstablishFn
	wg      sync.WaitGroup // one per establish goroutine
}

// conn is a connection as mochi sees it (cl.Net.Conn): the policy hook finds it there
// to record the user and to mark it authenticated.
type conn struct {
	net.Conn          // the TLS connection, or raw
	raw      net.Conn // the TCP connection under it: closing it never blocks
	l        *tcpListener

	// guarded by l.mu
	elem    *list.Element // in l.pending while not authenticated
	counted bool          // in l.authed
	evicted bool
	user    string
	id      string
	release func() // frees the client id claim
}

func newTCPListener(id, addr string, tc *tls.Config, connectTimeout time.Duration, maxConns, maxPending int, log *refusalLog) *tcpListener {
	return &tcpListener{id: id, addr: addr, tls: tc, connectTimeout: connectTimeout,
		maxConns: maxConns, maxPending: maxPending, log: log,
		conns: map[*conn]struct{}{}, pending: list.New()}
}

// Init opens the socket.
func (l *tcpListener) Init(*slog.Logger) error {
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	return nil
}

// Serve accepts connections until the listener closes, handing each to establish on
// its own goroutine.
func (l *tcpListener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	ln := l.ln
	l.estab = establish
	l.mu.Unlock()
	if ln == nil {
		return
	}
	var backoff time.Duration
	for {
		raw, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// e.g. EMFILE: keep serving once descriptors are free again, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		l.admit(raw)
	}
}

// admit starts serving a new connection as a pending one, closing the oldest pending
// connection when there are maxPending already (or closes the new one when the listener
// is closed).
func (l *tcpListener) admit(raw net.Conn) {
	c := &conn{Conn: raw, raw: raw, l: l}
	if l.tls != nil {
		c.Conn = tls.Server(raw, l.tls)
	}
	raw.SetDeadline(time.Now().Add(l.connectTimeout))

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		raw.Close()
		return
	}
	var evicted *conn
	if l.pending.Len() >= l.maxPending {
		evicted = l.pending.Remove(l.pending.Front()).(*conn)
		evicted.elem = nil
		evicted.evicted = true
	}
	c.elem = l.pending.PushBack(c)
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()

	if evicted != nil {
		evicted.raw.Close()
		l.log.refuse(reasonEvicted, "", host(evicted.raw.RemoteAddr().String()), "", "")
	}
	go l.serveConn(c)
}

// serveConn runs mochi's establish (which returns when the connection ends), logs why
// it ended when that was a limit, and frees the connection's slot and client id.
func (l *tcpListener) serveConn(c *conn) {
	defer l.wg.Done()
	err := l.estab(l.id, c)
	c.raw.Close()
	l.mu.Lock()
	authenticated := c.elem == nil && !c.evicted
	if c.elem != nil {
		l.pending.Remove(c.elem)
		c.elem = nil
	}
	if c.counted {
		c.counted = false
		l.authed--
	}
	delete(l.conns, c)
	user, id, release := c.user, c.id, c.release
	l.mu.Unlock()
	if release != nil {
		release()
	}
	remote := host(c.raw.RemoteAddr().String())
	var ne net.Error
	switch {
	case err == nil || errors.Is(err, errRefused):
	case errors.Is(err, packets.ErrPacketTooLarge):
		l.log.refuse(reasonTooLarge, user, remote, id, "")
	case !authenticated && errors.As(err, &ne) && ne.Timeout():
		l.log.refuse(reasonConnectTimeout, "", remote, "", "")
	}
}

// identify records the user and client id of an accepted CONNECT, and the release of
// its client id claim (called at the end of the connection).
func (c *conn) identify(user, id string, release func()) {
	c.l.mu.Lock()
	c.user, c.id, c.release = user, id, release
	c.l.mu.Unlock()
}

// authenticate moves an authenticated connection out of the pending ones and counts it
// against the connection limit of its role; it reports false (and counts nothing) when
// the limit is reached or the connection was already evicted.
func (c *conn) authenticate(role string) bool {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.evicted {
		return false
	}
	if role != RoleDaemon {
		limit := l.maxConns
		if role == RoleObserver {
			limit -= l.maxConns / 4
		}
		if l.authed >= limit {
			return false
		}
		c.counted = true
		l.authed++
	}
	if c.elem != nil {
		l.pending.Remove(c.elem)
		c.elem = nil
	}
	return true
}

// Close closes the connection (TLS: with its close_notify, bounded by the deadline).
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.raw.Close()
	return err
}

func host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// ID returns the listener id.
func (l *tcpListener) ID() string { return l.id }

// Address returns the bound address (with the real port once Init has run).
func (l *tcpListener) Address() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.addr
}

// Protocol returns "tcp".
func (l *tcpListener) Protocol() string { return "tcp" }

// Close stops accepting, drops every connection, and lets mochi close its clients.
func (l *tcpListener) Close(closeClients listeners.CloseFn) {
	l.shutdown()
	closeClients(l.id)
}

// shutdown stops accepting and closes every connection, then waits for their goroutines.
func (l *tcpListener) shutdown() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		if l.ln != nil {
			l.ln.Close()
		}
		for c := range l.conns {
			c.raw.Close()
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
}
