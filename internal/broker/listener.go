package broker

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// tcpListener is a mochi listener (TCP, optionally TLS) that tracks its connection
// goroutines, so that Broker.Close can end them all before mochi's Server.Close. This
// avoids mochi v2.7.9's races between Close and connections being established
// (mochi-mqtt/server issues #424, #488, #541).
type tcpListener struct {
	id   string
	addr string
	tls  *tls.Config

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup // one per establish goroutine
}

func newTCPListener(id, addr string, tc *tls.Config) *tcpListener {
	return &tcpListener{id: id, addr: addr, tls: tc, conns: map[net.Conn]struct{}{}}
}

// Init opens the socket.
func (l *tcpListener) Init(*slog.Logger) error {
	var ln net.Listener
	var err error
	if l.tls != nil {
		ln, err = tls.Listen("tcp", l.addr, l.tls)
	} else {
		ln, err = net.Listen("tcp", l.addr)
	}
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
	l.mu.Unlock()
	if ln == nil {
		return
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go func() {
			defer l.wg.Done()
			_ = establish(l.id, c)
			c.Close()
			l.mu.Lock()
			delete(l.conns, c)
			l.mu.Unlock()
		}()
	}
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
			c.Close()
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
}
