package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/praxis-robotics/praxis/internal/broker"
)

// CookieName is the session cookie.
const CookieName = "praxis_session"

// CSRFHeader must accompany every request that changes something (POST, DELETE): a
// cross-site page cannot send a custom header without a CORS preflight, which this
// server never grants. Its value is ignored.
const CSRFHeader = "X-Praxis"

type session struct {
	user, role string
	expires    time.Time
	cmds       *rate.Limiter // commands of this session
}

type sessions struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]*session
}

func (ss *sessions) init(ttl time.Duration) { ss.ttl, ss.m = ttl, map[string]*session{} }

func (ss *sessions) create(user, role string, cmdRate, burst float64) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for k, v := range ss.m { // forget expired sessions
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[tok] = &session{user: user, role: role, expires: now.Add(ss.ttl), cmds: rate.NewLimiter(rate.Limit(cmdRate), int(burst))}
	return tok
}

// get returns the session of tok and extends it, or nil.
func (ss *sessions) get(tok string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[tok]
	if s == nil {
		return nil
	}
	now := time.Now()
	if now.After(s.expires) {
		delete(ss.m, tok)
		return nil
	}
	s.expires = now.Add(ss.ttl)
	return s
}

func (ss *sessions) drop(tok string) {
	ss.mu.Lock()
	delete(ss.m, tok)
	ss.mu.Unlock()
}

// takeCommand reports whether s may send one more command now.
func (ss *sessions) takeCommand(s *session) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return s.cmds.Allow()
}

// limiter meters login attempts per remote host.
type limiter struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func (l *limiter) init(r, burst float64) {
	l.rate, l.burst, l.m = rate.Limit(r), int(burst), map[string]*rate.Limiter{}
}

// spent reports whether host has no attempt left now (without taking one).
func (l *limiter) spent(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[host]
	if b == nil {
		return false
	}
	return b.Tokens() < 1
}

func (l *limiter) take(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.m) > 10000 { // forget full buckets rather than grow without bound
		for k, b := range l.m {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.m, k)
			}
		}
	}
	b := l.m[host]
	if b == nil {
		b = rate.NewLimiter(l.rate, l.burst)
		l.m[host] = b
	}
	return b.AllowN(now, 1)
}

// refusalLog logs each refused login once per reason and user (or host) every 10 s, with
// the number left out since, like the broker's refusals.
type refusalLog struct {
	mu   sync.Mutex
	last map[string]time.Time
	supp map[string]int
}

func (s *Server) refused(reason, user, remote string) {
	rl := &s.refusals
	key := reason + "\x00" + user
	rl.mu.Lock()
	if rl.last == nil {
		rl.last, rl.supp = map[string]time.Time{}, map[string]int{}
	}
	now := time.Now()
	if t, ok := rl.last[key]; ok && now.Sub(t) < 10*time.Second {
		rl.supp[key]++
		rl.mu.Unlock()
		return
	}
	n := rl.supp[key]
	rl.last[key], rl.supp[key] = now, 0
	if len(rl.last) > 10000 {
		clear(rl.last)
		clear(rl.supp)
	}
	rl.mu.Unlock()
	args := []any{"user", user, "remote", remote}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	s.cfg.Logger.Warn("web: login refused: "+reason, args...)
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// authenticate checks a user name and password against the users (constant time).
func (s *Server) authenticate(name, pass string) (broker.User, string) {
	u, ok := s.cfg.Users.Get(name)
	if !ok {
		subtle.ConstantTimeCompare([]byte(pass), []byte("praxis-no-such-user-padding"))
		return u, "unknown user"
	}
	if subtle.ConstantTimeCompare([]byte(pass), []byte(u.Password)) != 1 {
		return u, "bad password"
	}
	if u.Role != broker.RoleOperator && u.Role != broker.RoleObserver {
		return u, "role may not log in"
	}
	return u, ""
}

// metrics serves the Prometheus metrics to a session or to HTTP Basic authentication
// of an operator or observer (a scraper cannot log in); refusals count against the
// remote address's login budget, as logins do.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		httpError(w, http.StatusNotFound, "", "metrics are not served here (metrics.enabled: false)")
		return
	}
	if sess, _ := s.sessionOf(r); sess == nil {
		name, pass, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="praxis metrics"`)
			httpError(w, http.StatusUnauthorized, "", "log in, or scrape with HTTP Basic authentication as an operator or observer")
			return
		}
		// A scrape that authenticates costs nothing; a failed one takes a login attempt.
		host := remoteHost(r)
		if s.logins.spent(host) {
			s.refused("metrics: too many attempts", name, host)
			httpError(w, http.StatusTooManyRequests, "", "too many failed logins from this address; wait and retry")
			return
		}
		if _, why := s.authenticate(name, pass); why != "" {
			s.logins.take(host)
			s.refused("metrics: "+why, name, host)
			w.Header().Set("WWW-Authenticate", `Basic realm="praxis metrics"`)
			httpError(w, http.StatusUnauthorized, "", "wrong user or password")
			return
		}
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

// sessionOf returns the request's session, or nil.
func (s *Server) sessionOf(r *http.Request) (*session, string) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, ""
	}
	return s.sessions.get(c.Value), c.Value
}

// sameOrigin refuses a state-changing request without the CSRF header, or whose Origin
// (when sent) is not this server.
func sameOrigin(r *http.Request) string {
	if r.Header.Get(CSRFHeader) == "" {
		return "missing " + CSRFHeader + " header (cross-site requests are refused)"
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return "cross-origin request refused"
		}
	} else if o == "null" {
		return "cross-origin request refused"
	}
	if sf := r.Header.Get("Sec-Fetch-Site"); sf != "" && sf != "same-origin" && sf != "none" {
		return "cross-site request refused"
	}
	return ""
}
