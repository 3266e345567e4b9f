// Package broker runs the daemon's embedded MQTT broker (mochi-mqtt): a TCP or TLS
// listener on loopback by default, password authentication with users generated on
// first start, and per-role topic ACLs.
package broker

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultAddress is where the broker listens unless configured otherwise.
const DefaultAddress = "127.0.0.1:1883"

// Config configures the broker. Zero fields take the stated defaults.
type Config struct {
	Address   string       // listen address host:port; default DefaultAddress (loopback only)
	DataDir   string       // holds CredentialsFile; required unless Anonymous
	Anonymous bool         // no authentication, no ACLs: any client may do anything (unsafe)
	TLSCert   string       // PEM certificate file; with TLSKey, the listener speaks TLS only
	TLSKey    string       // PEM private key file
	Logger    *slog.Logger // default: discard
}

// Broker is a running embedded broker. Create it with Open; Close stops it.
type Broker struct {
	srv     *mqtt.Server
	lis     *tcpListener
	tls     bool
	creds   Credentials
	created bool
}

// Open validates cfg, loads or creates the credentials file, and starts listening.
func Open(cfg Config) (*Broker, error) {
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("broker: Address %q: %w", cfg.Address, err)
	}
	if !cfg.Anonymous && cfg.DataDir == "" {
		return nil, errors.New("broker: DataDir is required when authentication is on")
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("broker: TLSCert and TLSKey must be set together")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Broker{}
	var tlsConf *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("broker: TLS key pair: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		b.tls = true
	}

	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && !b.tls {
		cfg.Logger.Warn("broker: listening beyond loopback without TLS: passwords cross the network in clear", "address", cfg.Address)
	}
	if cfg.Anonymous {
		cfg.Logger.Warn("broker: authentication is off: any client may command the robot")
	}
	b.srv = mqtt.New(&mqtt.Options{InlineClient: true, Logger: cfg.Logger})
	if cfg.Anonymous {
		if err := b.srv.AddHook(new(auth.AllowHook), nil); err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
	} else {
		creds, created, err := LoadOrCreateCredentials(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		b.creds, b.created = creds, created
		if err := b.srv.AddHook(newAuthHook(creds), &auth.Options{Ledger: Ledger(creds)}); err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
	}
	b.lis = newTCPListener("praxis", cfg.Address, tlsConf)
	if err := b.srv.AddListener(b.lis); err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", cfg.Address, err)
	}
	if err := b.srv.Serve(); err != nil {
		b.srv.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	return b, nil
}

// authHook is mochi's ledger hook (for ACLs) with a constant-time password check.
type authHook struct {
	auth.Hook
	passwords map[string][]byte
}

func newAuthHook(c Credentials) *authHook {
	h := &authHook{passwords: map[string][]byte{}}
	for _, u := range c.Users {
		h.passwords[u.Username] = []byte(u.Password)
	}
	return h
}

// OnConnectAuthenticate accepts a known user with the right password.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	want, ok := h.passwords[string(cl.Properties.Username)]
	if !ok {
		want = []byte("\x00no such user, compare anyway")
	}
	return subtle.ConstantTimeCompare(want, pk.Connect.Password) == 1 && ok
}

// Addr returns the address the broker listens on (with the real port when 0 was asked).
func (b *Broker) Addr() string { return b.lis.Address() }

// URL returns the broker URL for clients: tcp://host:port, or ssl://host:port with TLS.
func (b *Broker) URL() string {
	if b.tls {
		return "ssl://" + b.Addr()
	}
	return "tcp://" + b.Addr()
}

// Credentials returns the users of the broker (empty when Anonymous).
func (b *Broker) Credentials() Credentials { return b.creds }

// CredentialsCreated reports whether Open generated the credentials file: the daemon
// prints the operator and observer passwords once, then.
func (b *Broker) CredentialsCreated() bool { return b.created }

// Server returns the mochi server, e.g. for its inline client (which bypasses ACLs).
func (b *Broker) Server() *mqtt.Server { return b.srv }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error {
	b.lis.shutdown() // every connection goroutine ends before mochi's Close
	if err := b.srv.Close(); err != nil {
		return fmt.Errorf("broker: close: %w", err)
	}
	return nil
}
