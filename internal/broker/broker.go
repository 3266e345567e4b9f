// Package broker runs the daemon's embedded MQTT broker (mochi-mqtt): a TCP or TLS
// listener on loopback by default, password authentication with users generated on
// first start, per-role topic ACLs that also bind last wills, no retained commands,
// client ids that cannot be taken from another user, and limits on packet size,
// connection count and the time to send CONNECT. docs/mqtt.md ("Security model") is the
// security model.
package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/time/rate"
)

// DefaultAddress is where the broker listens unless configured otherwise.
const DefaultAddress = "127.0.0.1:1883"

// Defaults of the limits in Config.
const (
	DefaultMaxPacketSize         = 1 << 20         // bytes (1 MiB), whole packet
	DefaultConnectTimeout        = 5 * time.Second // TCP accept to CONNECT read
	DefaultMaxConnections        = 64              // authenticated operators and observers
	DefaultMaxPendingConnections = 16              // not yet authenticated
	DefaultCommandRate           = 50.0            // command publishes/s per client
	DefaultCommandBurst          = 200             // command publishes in a burst per client
)

// MaxPacketSizeLimit is the largest packet MQTT can encode (remaining length 268 435 455
// plus the fixed header).
const MaxPacketSizeLimit = 268435455 + 5

// Config configures the broker. Zero fields take the stated defaults.
type Config struct {
	Address   string       // listen address host:port; default DefaultAddress (loopback only)
	DataDir   string       // holds CredentialsFile; required unless Anonymous
	Anonymous bool         // no authentication, no ACLs: any client may do anything (unsafe)
	TLSCert   string       // PEM certificate file; with TLSKey, the listener speaks TLS only
	TLSKey    string       // PEM private key file
	Logger    *slog.Logger // default: discard

	// MaxPacketSize is the largest packet, in bytes (fixed header included), a client may
	// send; a larger one closes its connection before its body is read or allocated.
	// Announced to MQTT 5 clients in the CONNACK. Default DefaultMaxPacketSize (1 MiB);
	// at least 1024, at most MaxPacketSizeLimit.
	MaxPacketSize int
	// ConnectTimeout is the time a new connection has to complete its TLS handshake and
	// send its CONNECT; then it is closed. Default DefaultConnectTimeout (5 s).
	ConnectTimeout time.Duration
	// MaxConnections caps authenticated operator and observer connections; observers
	// may hold MaxConnections - MaxConnections/4 of them, the rest is kept for operators.
	// Beyond, a CONNECT is refused with "server unavailable" (MQTT 5: "server busy").
	// The daemon's user is never refused. Default DefaultMaxConnections (64).
	MaxConnections int
	// MaxPendingConnections caps connections that have not yet authenticated; a new
	// connection beyond it closes the oldest of them, so that a flood of idle
	// connections cannot lock out a client that sends its CONNECT at once. Default
	// DefaultMaxPendingConnections (16).
	MaxPendingConnections int
	// CommandRate (publishes/s) and CommandBurst bound each client's publishes to command
	// topics (praxis/+/cmd/..., estop excepted): beyond them the broker drops them (QoS 0:
	// silently, as the protocol allows; QoS 1 and 2: acknowledged, delivered to nobody)
	// and logs it, so that one client's flood never reaches the daemon. The daemon's user
	// is exempt. A client that has 1000 commands dropped within a second is disconnected.
	// Defaults DefaultCommandRate (50) and DefaultCommandBurst (200).
	CommandRate  float64
	CommandBurst int
	// EStop, when set, is called at once, on the publishing client's goroutine, for every
	// authorised publish to a praxis/<robot>/cmd/estop topic, with that topic: the
	// in-process daemon latches its e-stop before the message is even queued for
	// delivery, so no backlog of other messages can delay it. It must not block.
	EStop func(topic string)
	// Dropped, when set, is called for every command publish the broker drops beyond a
	// client's CommandRate, with its topic (the daemon counts them as shed). It must not
	// block.
	Dropped func(topic string)
}

// withDefaults fills the zero fields and validates the limits.
func (c Config) withDefaults() (Config, error) {
	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if c.MaxPacketSize == 0 {
		c.MaxPacketSize = DefaultMaxPacketSize
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxPendingConnections == 0 {
		c.MaxPendingConnections = DefaultMaxPendingConnections
	}
	if c.CommandRate == 0 {
		c.CommandRate = DefaultCommandRate
	}
	if c.CommandBurst == 0 {
		c.CommandBurst = DefaultCommandBurst
	}
	switch {
	case c.MaxPacketSize < 1024 || c.MaxPacketSize > MaxPacketSizeLimit:
		return c, fmt.Errorf("broker: MaxPacketSize %d: want 1024 to %d bytes", c.MaxPacketSize, MaxPacketSizeLimit)
	case c.ConnectTimeout < 0:
		return c, fmt.Errorf("broker: ConnectTimeout %v: negative", c.ConnectTimeout)
	case c.MaxConnections < 0:
		return c, fmt.Errorf("broker: MaxConnections %d: negative", c.MaxConnections)
	case c.MaxPendingConnections < 0:
		return c, fmt.Errorf("broker: MaxPendingConnections %d: negative", c.MaxPendingConnections)
	case !(c.CommandRate > 0) || c.CommandBurst < 1:
		return c, fmt.Errorf("broker: CommandRate %v and CommandBurst %d: want positive", c.CommandRate, c.CommandBurst)
	}
	return c, nil
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
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
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
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(cfg.MaxPacketSize)
	b.srv = mqtt.New(&mqtt.Options{InlineClient: true, Logger: cfg.Logger, Capabilities: caps})
	if !cfg.Anonymous {
		creds, created, err := LoadOrCreateCredentials(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		b.creds, b.created = creds, created
	}
	refusals := newRefusalLog(cfg.Logger)
	// The only hook granting connections and topics (mochi grants when any hook does).
	if err := b.srv.AddHook(newPolicy(b.srv, b.creds, cfg.Anonymous, caps.MaximumPacketSize, refusals), nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	g := &gate{rate: rate.Limit(cfg.CommandRate), burst: cfg.CommandBurst, estop: cfg.EStop, dropped: cfg.Dropped, log: refusals,
		now: time.Now, buckets: map[string]*cmdBucket{}}
	users := map[string]string{}
	for _, u := range b.creds.Users {
		users[u.Username] = u.Role
	}
	g.exempt = func(cl *mqtt.Client) bool { return users[string(cl.Properties.Username)] == RoleDaemon }
	srv := b.srv
	g.disconnect = func(cl *mqtt.Client) { _ = srv.DisconnectClient(cl, packets.ErrRejectPacket) }
	if err := b.srv.AddHook(g, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b.lis = newTCPListener("praxis", cfg.Address, tlsConf, cfg.ConnectTimeout,
		cfg.MaxConnections, cfg.MaxPendingConnections, refusals)
	if err := b.srv.AddListener(b.lis); err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", cfg.Address, err)
	}
	if err := b.srv.Serve(); err != nil {
		b.srv.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	if n := b.clearRetainedCommands(); n > 0 {
		cfg.Logger.Warn("broker: deleted retained commands found at start", "count", n)
	}
	return b, nil
}

// clearRetainedCommands deletes every retained message on praxis/+/cmd/# (none exists
// unless a storage hook restored one at Serve) and returns how many there were.
func (b *Broker) clearRetainedCommands() int {
	old := b.srv.Topics.Messages("praxis/+/cmd/#")
	for _, pk := range old {
		b.srv.Topics.RetainMessage(packets.Packet{TopicName: pk.TopicName}) // empty: delete
	}
	return len(old)
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
