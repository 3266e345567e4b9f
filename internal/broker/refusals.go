package broker

import (
	"log/slog"
	"sync"
	"time"
)

// Reasons a connection, publish, subscription or will is refused, as logged.
const (
	reasonBadPassword    = "bad password"
	reasonUnknownUser    = "unknown user"
	reasonPublishDenied  = "publish denied"
	reasonSubDenied      = "subscription denied"
	reasonWillDenied     = "will refused: no write access to its topic"
	reasonWillRetained   = "will refused: retained will on a command topic"
	reasonWillDropped    = "will dropped: no write access to its topic"
	reasonRetainedCmd    = "retained command dropped"
	reasonReservedID     = "client id reserved for the daemon"
	reasonIDInUse        = "client id in use by another user"
	reasonTooLarge       = "packet too large"
	reasonConnectTimeout = "no CONNECT before the deadline"
	reasonEvicted        = "pending connections limit: oldest unauthenticated connection closed"
	reasonConnLimit      = "connection limit of the role reached"
)

// refusalLogInterval is the least time between two log lines of one reason for one user
// (or one remote host before authentication).
const refusalLogInterval = 10 * time.Second

// maxRefusalKeys bounds the memory of the rate limiter: beyond it, keys are shared.
const maxRefusalKeys = 1024

// refusalLog writes one short warning per refusal, at most one per reason and user (or
// remote host) every refusalLogInterval; the next line counts the ones left out.
type refusalLog struct {
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	last map[string]*refusalKey
}

type refusalKey struct {
	at         time.Time
	suppressed int
}

func newRefusalLog(l *slog.Logger) *refusalLog {
	return &refusalLog{log: l, now: time.Now, last: map[string]*refusalKey{}}
}

// refuse logs reason for who (a user name, or a remote host when there is none), with
// the client id and topic when known.
func (r *refusalLog) refuse(reason, user, remote, clientID, topic string) {
	who := "user:" + user
	if user == "" {
		who = "host:" + remote
	}
	now := r.now()
	r.mu.Lock()
	key := reason + "\x00" + who
	k, ok := r.last[key]
	if !ok && len(r.last) >= maxRefusalKeys {
		for kk, v := range r.last {
			if now.Sub(v.at) >= refusalLogInterval {
				delete(r.last, kk)
			}
		}
		if len(r.last) >= maxRefusalKeys {
			key = reason + "\x00*" // too many distinct sources: one line for all of them
			k, ok = r.last[key]
		}
	}
	if ok && now.Sub(k.at) < refusalLogInterval {
		k.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := 0
	if ok {
		suppressed = k.suppressed
	}
	r.last[key] = &refusalKey{at: now}
	r.mu.Unlock()

	attrs := make([]any, 0, 12)
	if user != "" {
		attrs = append(attrs, "user", user)
	}
	if clientID != "" {
		attrs = append(attrs, "client", clientID)
	}
	if topic != "" {
		attrs = append(attrs, "topic", topic)
	}
	if remote != "" {
		attrs = append(attrs, "remote", remote)
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	r.log.Warn("broker: refused: "+reason, attrs...)
}
