// Package web is the daemon's dashboard: an HTTP(S) server with a login (the embedded
// broker's users and roles), a live Server-Sent Events stream fed as a core.Sink, a JSON
// API over core.Service (commands), core.Inspector, core.Editor and core.FlightLog (the
// read side), and the page itself (plain ES modules embedded in the binary). It is a
// front end like mqttapi: it decodes, authorises and encodes; the rules live behind
// core.Service. See docs/dashboard.md.
package web

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/sim"
)

//go:embed static
var staticFS embed.FS

// Config configures a Server. Zero fields take the stated defaults.
type Config struct {
	Listener net.Listener // where to serve; required (closed by Close)
	// TLSCert and TLSKey (PEM files, both or neither): serve HTTPS only, with Secure
	// cookies. Default plain HTTP.
	TLSCert, TLSKey string
	Users           broker.Credentials // who may log in: operators command, observers watch; the daemon's user may not log in
	Service         core.Service       // commands; required
	Inspector       core.Inspector     // read side; required
	Editor          core.Editor        // demo edits; required
	FlightLog       core.FlightLog     // flight recordings; nil hides the Flights tab
	// Metrics, when set, is served at /metrics to a logged-in user or to HTTP Basic
	// authentication with the same users (Prometheus' basic_auth); nil: 404.
	Metrics http.Handler
	// Skeleton is the arm's forward kinematics for the 3-D view (positions in arm joint
	// order); nil: the page shows joints only.
	Skeleton func(pos []float64) (sim.Skeleton, error)
	// SessionTTL is how long a login lasts without activity; default 12 h.
	SessionTTL time.Duration
	// LoginRate (attempts/s) and LoginBurst bound logins per remote address; defaults 0.2 and 5.
	LoginRate  float64
	LoginBurst int
	// CommandRate (commands/s) and CommandBurst bound each session's commands (e-stop
	// excepted); defaults 20 and 100.
	CommandRate  float64
	CommandBurst int
	Logger       *slog.Logger // default: discard
}

// Server is the dashboard. New builds it, Start serves, Close stops; its Sink methods
// (Publish, PublishState, SetStatus, PublishSkills) never block.
type Server struct {
	cfg   Config
	http  *http.Server
	mux   *http.ServeMux
	tls   bool
	start sync.Once

	sessions sessions
	logins   limiter
	refusals refusalLog

	hub hub

	done chan struct{} // closed by Close: streams end
	once sync.Once
	wg   sync.WaitGroup
}

// New checks cfg and returns a server that does not serve yet.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Listener == nil:
		return nil, errors.New("web: config: Listener is required")
	case cfg.Service == nil || cfg.Inspector == nil || cfg.Editor == nil:
		return nil, errors.New("web: config: Service, Inspector and Editor are required")
	case (cfg.TLSCert == "") != (cfg.TLSKey == ""):
		return nil, errors.New("web: config: tls_cert and tls_key go together")
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.LoginRate == 0 {
		cfg.LoginRate = 0.2
	}
	if cfg.LoginBurst == 0 {
		cfg.LoginBurst = 5
	}
	if cfg.CommandRate == 0 {
		cfg.CommandRate = 20
	}
	if cfg.CommandBurst == 0 {
		cfg.CommandBurst = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), done: make(chan struct{})}
	s.sessions.init(cfg.SessionTTL)
	s.logins.init(cfg.LoginRate, float64(cfg.LoginBurst))
	s.hub.init(s)
	var tlsConf *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("web: tls_cert/tls_key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.tls = true
	}
	s.routes()
	s.http = &http.Server{Handler: s.secure(s.mux), TLSConfig: tlsConf,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}
	return s, nil
}

// URL is the address the dashboard is served at, e.g. http://127.0.0.1:8080/.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(s.cfg.Listener.Addr().String())
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// Handler is the dashboard's HTTP handler (for tests that serve it themselves).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Start serves in the background until Close.
func (s *Server) Start() {
	s.start.Do(func() {
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			var err error
			if s.tls {
				err = s.http.ServeTLS(s.cfg.Listener, "", "")
			} else {
				err = s.http.Serve(s.cfg.Listener)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.cfg.Logger.Error("web: serve", "err", err)
			}
		}()
		go func() { defer s.wg.Done(); s.hub.run() }()
	})
}

// Close ends the live streams, stops serving (waiting up to 2 s for requests in flight)
// and closes the listener. Safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			s.http.Close()
		}
		s.cfg.Listener.Close()
		s.wg.Wait()
	})
	return nil
}

// secure adds the security headers every answer carries.
func (s *Server) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		if s.tls {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}
