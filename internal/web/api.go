package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// maxBody bounds a request body, as an MQTT command payload.
const maxBody = mqttapi.MaxPayload

// apiError is every error answer: {"error": reason, "field": field}.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func httpError(w http.ResponseWriter, code int, field, format string, a ...any) {
	writeJSON(w, code, apiError{Error: fmt.Sprintf(format, a...), Field: field})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers a Service, Inspector or Editor error: a *core.Rejection is 422 with its
// field and reason (409 for a busy daemon or a latched e-stop), anything else 500.
func fail(w http.ResponseWriter, err error) {
	var rj *core.Rejection
	if errors.As(err, &rj) {
		code := http.StatusUnprocessableEntity
		if rj.Field == "" && (strings.HasPrefix(rj.Reason, "busy") || strings.HasPrefix(rj.Reason, "e-stop")) {
			code = http.StatusConflict
		}
		if rj.Field == "" && strings.HasPrefix(rj.Reason, "daemon shutting down") {
			code = http.StatusServiceUnavailable
		}
		httpError(w, code, rj.Field, "%s", pageWording(rj.Reason))
		return
	}
	httpError(w, http.StatusInternalServerError, "", "%v", err)
}

// pageWording rewrites the MQTT wording of a daemon's reason for the dashboard, as the
// CLI does for its users (cmd/praxis cliWording): the daemon says which topic to publish
// ("send cmd/reset first"); the page's user presses a button.
func pageWording(reason string) string {
	reason = strings.ReplaceAll(reason, "send cmd/reset first", "reset the e-stop first (the Reset button on the Live tab, or POST /api/reset)")
	return strings.ReplaceAll(reason, "cmd/reset is setting the arm up again", "a reset is setting the arm up again")
}

type handler func(w http.ResponseWriter, r *http.Request, sess *session, tok string)

// Access levels of an endpoint.
const (
	read    = iota // any logged-in user
	command        // operators only; POST/DELETE with the CSRF header
)

func (s *Server) routes() {
	m := s.mux
	st := s.static()
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			httpError(w, http.StatusMethodNotAllowed, "", "%s not allowed here", r.Method)
			return
		}
		st.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /metrics", s.metrics)
	m.HandleFunc("POST /api/login", s.login)
	m.HandleFunc("POST /api/logout", s.logout)
	s.handle("GET /api/me", read, s.me)
	s.handle("GET /api/events", read, s.events)
	s.handle("GET /api/arm", read, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		writeJSON(w, http.StatusOK, s.cfg.Inspector.Arm())
	})
	s.handle("GET /api/skills", read, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		list, err := s.cfg.Service.Skills()
		if err != nil {
			fail(w, err)
			return
		}
		if list == nil {
			list = []core.SkillInfo{}
		}
		writeJSON(w, http.StatusOK, list)
	})
	s.handle("GET /api/skills/{name}", read, s.skillDetail)
	s.handle("POST /api/preview", read, s.preview)
	s.handle("GET /api/demos", read, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		list, err := s.cfg.Inspector.Demos()
		answer(w, list, err)
	})
	s.handle("GET /api/demos/{name}", read, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		tr, err := s.cfg.Inspector.Demo(r.PathValue("name"))
		answer(w, tr, err)
	})
	s.handle("GET /api/runs", read, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		list, err := s.cfg.Inspector.Runs()
		answer(w, list, err)
	})
	s.handle("GET /api/runs/{id}", read, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		rec, err := s.cfg.Inspector.Run(r.PathValue("id"))
		answer(w, rec, err)
	})
	s.handle("GET /api/flights", read, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		if s.cfg.FlightLog == nil {
			httpError(w, http.StatusNotFound, "", "no flight recorder in this daemon")
			return
		}
		list, err := s.cfg.FlightLog.Flights()
		answer(w, list, err)
	})
	s.handle("GET /api/flights/{name}", read, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		if s.cfg.FlightLog == nil {
			httpError(w, http.StatusNotFound, "", "no flight recorder in this daemon")
			return
		}
		fd, err := s.cfg.FlightLog.Flight(r.PathValue("name"))
		answer(w, fd, err)
	})

	s.handle("POST /api/estop", command, func(w http.ResponseWriter, r *http.Request, sess *session, _ string) {
		s.cfg.Service.EStop()
		s.cfg.Logger.Warn("web: e-stop", "user", sess.user)
		writeJSON(w, http.StatusOK, map[string]any{"estop": true})
	})
	s.handle("POST /api/reset", command, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		res, err := s.cfg.Service.Reset()
		answer(w, map[string]any{"recovered": res.Recovered}, err)
	})
	s.handle("POST /api/run", command, s.run)
	s.handle("POST /api/cancel", command, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		body, ok := readBody(w, r, false)
		if !ok {
			return
		}
		req, err := mqttapi.DecodeCancel(body)
		if err != nil {
			fail(w, err)
			return
		}
		answer(w, map[string]string{"id": req.ID}, s.cfg.Service.Cancel(req.ID))
	})
	s.handle("POST /api/record", command, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		body, ok := readBody(w, r, true)
		if !ok {
			return
		}
		req, err := mqttapi.DecodeRecord(body)
		if err != nil {
			fail(w, err)
			return
		}
		answer(w, map[string]string{"id": req.ID, "demo": req.Demo}, s.cfg.Service.Record(req))
	})
	s.handle("POST /api/learn", command, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		body, ok := readBody(w, r, true)
		if !ok {
			return
		}
		req, err := mqttapi.DecodeLearn(body)
		if err != nil {
			fail(w, err)
			return
		}
		answer(w, map[string]string{"id": req.ID, "skill": req.Skill}, s.cfg.Service.Learn(req))
	})
	s.handle("POST /api/demos/{name}/trim", command, s.trim)
	s.handle("POST /api/demos/{name}/rename", command, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		var req struct {
			NewName string `json:"new_name"`
		}
		if !decodeJSON(w, r, &req) {
			return
		}
		if req.NewName == "" {
			httpError(w, http.StatusUnprocessableEntity, "new_name", "new_name: missing")
			return
		}
		answer(w, map[string]string{"name": req.NewName}, s.cfg.Editor.RenameDemo(r.PathValue("name"), req.NewName))
	})
	s.handle("DELETE /api/demos/{name}", command, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		answer(w, map[string]string{"deleted": r.PathValue("name")}, s.cfg.Editor.DeleteDemo(r.PathValue("name")))
	})
	s.handle("POST /api/flights/dump", command, func(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
		if s.cfg.FlightLog == nil {
			httpError(w, http.StatusNotFound, "", "no flight recorder in this daemon")
			return
		}
		var req struct {
			Reason string `json:"reason"`
		}
		if !decodeJSON(w, r, &req) {
			return
		}
		if req.Reason == "" {
			req.Reason = "requested from the dashboard"
		}
		fi, err := s.cfg.FlightLog.DumpFlight(req.Reason)
		answer(w, fi, err)
	})
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpError(w, http.StatusNotFound, "", "no endpoint %s %s (see docs/dashboard.md)", r.Method, r.URL.Path)
	})
}

// handle registers an endpoint behind the login; command endpoints also need an
// operator, the CSRF header and a same-origin request, and are rate-limited per
// session (the e-stop excepted).
func (s *Server) handle(pattern string, level int, h handler) {
	estop, preview := strings.HasSuffix(pattern, "/api/estop"), strings.HasSuffix(pattern, "/api/preview")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sess, tok := s.sessionOf(r)
		if sess == nil {
			httpError(w, http.StatusUnauthorized, "", "not logged in")
			return
		}
		if r.Method != http.MethodGet {
			if why := sameOrigin(r); why != "" {
				httpError(w, http.StatusForbidden, "", "%s", why)
				return
			}
		}
		if level == command && sess.role != broker.RoleOperator {
			httpError(w, http.StatusForbidden, "", "user %q is an observer: observers see everything and command nothing (log in as an operator)", sess.user)
			return
		}
		// Commands and previews (a plan on the daemon's loop) are metered; the e-stop never is.
		if (level == command || preview) && !estop && !s.sessions.takeCommand(sess) {
			httpError(w, http.StatusTooManyRequests, "", "busy: more than %g commands/s from this session", s.cfg.CommandRate)
			return
		}
		h(w, r, sess, tok)
	})
}

func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// readBody reads a JSON object body (at most maxBody bytes; empty means {}); with
// withID, it adds a fresh "id" when the body has none, as the core's commands need one.
func readBody(w http.ResponseWriter, r *http.Request, withID bool) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "", "body: %v (at most %d bytes)", err, maxBody)
		return nil, false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		b = []byte("{}")
	}
	if !withID {
		return b, true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		httpError(w, http.StatusBadRequest, "", "body is not a JSON object")
		return nil, false
	}
	if _, ok := m["id"]; !ok {
		m["id"], _ = json.Marshal(newID())
		b, _ = json.Marshal(m)
	}
	return b, true
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, ok := readBody(w, r, false)
	if !ok {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpError(w, http.StatusBadRequest, "", "body: %v", err)
		return false
	}
	return true
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "web-" + hex.EncodeToString(b[:])
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if why := sameOrigin(r); why != "" {
		httpError(w, http.StatusForbidden, "", "%s", why)
		return
	}
	host := remoteHost(r)
	if !s.logins.take(host) {
		s.refused("too many attempts", "", host)
		httpError(w, http.StatusTooManyRequests, "", "too many login attempts: wait a few seconds")
		return
	}
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	u, why := s.authenticate(req.Username, req.Password)
	switch why {
	case "":
	case "role may not log in":
		s.refused("the daemon's user may not log in", req.Username, host)
		httpError(w, http.StatusForbidden, "", "user %q (role %s) may not log in to the dashboard", req.Username, u.Role)
		return
	default:
		s.refused(why, req.Username, host)
		httpError(w, http.StatusUnauthorized, "", "bad user name or password")
		return
	}
	tok := s.sessions.create(u.Username, u.Role, s.cfg.CommandRate, float64(s.cfg.CommandBurst))
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.tls})
	s.cfg.Logger.Info("web: login", "user", u.Username, "role", u.Role, "remote", host)
	writeJSON(w, http.StatusOK, s.meOf(u.Username, u.Role))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if why := sameOrigin(r); why != "" {
		httpError(w, http.StatusForbidden, "", "%s", why)
		return
	}
	if _, tok := s.sessionOf(r); tok != "" {
		s.sessions.drop(tok)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.tls})
	writeJSON(w, http.StatusOK, map[string]bool{"logged_out": true})
}

// Me is the answer of GET /api/me and POST /api/login.
type Me struct {
	User     string `json:"user"`
	Role     string `json:"role"`
	Robot    string `json:"robot"`
	Flights  bool   `json:"flights"`  // the daemon has a flight recorder
	Skeleton bool   `json:"skeleton"` // state carries the arm's stick figure
}

func (s *Server) meOf(user, role string) Me {
	return Me{User: user, Role: role, Robot: s.cfg.Inspector.Arm().Robot, Flights: s.cfg.FlightLog != nil,
		Skeleton: s.cfg.Skeleton != nil}
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, sess *session, _ string) {
	writeJSON(w, http.StatusOK, s.meOf(sess.user, sess.role))
}

func (s *Server) skillDetail(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
	v := 0
	if q := r.URL.Query().Get("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 {
			httpError(w, http.StatusUnprocessableEntity, "version", "version: %q is not a version number", q)
			return
		}
		v = n
	}
	d, err := s.cfg.Inspector.SkillDetail(r.PathValue("name"), v)
	answer(w, d, err)
}

// decodeRun decodes a run (or preview) body with the MQTT API's rules.
func decodeRun(w http.ResponseWriter, r *http.Request) (core.RunRequest, bool) {
	body, ok := readBody(w, r, true)
	if !ok {
		return core.RunRequest{}, false
	}
	req, err := mqttapi.DecodeRun(body)
	if err != nil {
		fail(w, err)
		return req, false
	}
	return req, true
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
	req, ok := decodeRun(w, r)
	if !ok {
		return
	}
	tr, err := s.cfg.Inspector.Preview(req)
	answer(w, tr, err)
}

func (s *Server) run(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
	req, ok := decodeRun(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Service.Run(req); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": req.ID, "skill": req.Skill})
}

func (s *Server) trim(w http.ResponseWriter, r *http.Request, _ *session, _ string) {
	var req struct {
		From    *float64 `json:"from"`
		To      *float64 `json:"to"`
		NewName string   `json:"new_name"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.From == nil || req.To == nil {
		httpError(w, http.StatusUnprocessableEntity, "from", "from and to (s from the demo's start) are required")
		return
	}
	if math.IsNaN(*req.From) || math.IsNaN(*req.To) {
		httpError(w, http.StatusUnprocessableEntity, "from", "from and to must be numbers")
		return
	}
	info, err := s.cfg.Editor.TrimDemo(r.PathValue("name"), *req.From, *req.To, req.NewName)
	answer(w, info, err)
}
