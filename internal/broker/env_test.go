package broker_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

// wait bounds every wait for an event that must happen; it is never reached when the
// code works, so it may be generous for a busy machine.
const wait = 10 * time.Second

// env is a running broker with the three Praxis roles.
type env struct {
	name                       string
	url, addr                  string
	daemon, operator, observer broker.User
	b                          *broker.Broker // nil for mosquitto
	logs                       *logBuffer     // embedded only
}

// logBuffer collects log lines safely across goroutines.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed and replaced at every write
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written != nil {
		close(l.written)
		l.written = nil
	}
	return l.b.Write(p)
}

// waitLines waits until n lines contain every one of parts, and returns them; lines
// logged after a connection closes come a moment later than the close.
func (l *logBuffer) waitLines(t testing.TB, n int, parts ...string) []string {
	t.Helper()
	timeout := time.After(wait)
	for {
		l.mu.Lock()
		if l.written == nil {
			l.written = make(chan struct{})
		}
		ch := l.written
		l.mu.Unlock()
		if got := l.lines(parts...); len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-timeout:
			return l.lines(parts...)
		}
	}
}

// lines returns the log lines containing every one of parts.
func (l *logBuffer) lines(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, line := range strings.Split(l.b.String(), "\n") {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

func embedded(t testing.TB, cfg broker.Config) env {
	t.Helper()
	logs := &logBuffer{}
	cfg.Address = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := broker.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := b.Credentials()
	e := env{name: "mochi", url: b.URL(), addr: b.Addr(), b: b, logs: logs}
	e.daemon, _ = c.ByRole(broker.RoleDaemon)
	e.operator, _ = c.ByRole(broker.RoleOperator)
	e.observer, _ = c.ByRole(broker.RoleObserver)
	return e
}

func mosquitto(t testing.TB) env {
	t.Helper()
	e, _ := mosquittoWith(t, "")
	return e
}

// mosquittoWith starts mosquitto with extra mosquitto.conf lines.
func mosquittoWith(t testing.TB, extra string) (env, *mqtttest.Mosquitto) {
	t.Helper()
	e := env{name: "mosquitto",
		daemon:   broker.User{Username: "praxis-daemon", Password: "daemon-pw-1"},
		operator: broker.User{Username: "operator", Password: "operator-pw-1"},
		observer: broker.User{Username: "observer", Password: "observer-pw-1"}}
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoConfig{
		Users: []mqtttest.User{{Name: e.daemon.Username, Password: e.daemon.Password},
			{Name: e.operator.Username, Password: e.operator.Password},
			{Name: e.observer.Username, Password: e.observer.Password}},
		ACL:   mqtttest.PraxisACL(e.daemon.Username, e.operator.Username, e.observer.Username),
		Extra: extra,
	})
	e.url, e.addr = m.URL, m.Addr
	return e, m
}

// forEachBroker runs fn on the embedded broker and on mosquitto with the documented ACL.
func forEachBroker(t *testing.T, fn func(t *testing.T, e env)) {
	t.Run("mochi", func(t *testing.T) { fn(t, embedded(t, broker.Config{})) })
	t.Run("mosquitto", func(t *testing.T) { fn(t, mosquitto(t)) })
}

// opts returns paho options for u on url with client id id (random when empty).
func opts(url string, u broker.User, id string) *paho.ClientOptions {
	if id == "" {
		id = fmt.Sprintf("test-%d", time.Now().UnixNano())
	}
	return paho.NewClientOptions().AddBroker(url).SetUsername(u.Username).SetPassword(u.Password).
		SetClientID(id).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(wait).
		SetOrderMatters(false)
}

// dialOpts connects with o; it returns the client and the connect error.
func dialOpts(t testing.TB, o *paho.ClientOptions) (paho.Client, error) {
	t.Helper()
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(wait) {
		t.Fatal("connect: no answer")
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(0) })
	}
	return c, tok.Error()
}

func mustDial(t testing.TB, o *paho.ClientOptions) paho.Client {
	t.Helper()
	c, err := dialOpts(t, o)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c
}

// subscribe subscribes c to filter at QoS 1 and returns the messages and the granted code.
func subscribe(t testing.TB, c paho.Client, filter string) (<-chan paho.Message, byte) {
	t.Helper()
	ch := make(chan paho.Message, 256)
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { ch <- m })
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return ch, tok.(*paho.SubscribeToken).Result()[filter]
}

func publish(t testing.TB, c paho.Client, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// next returns the next message on ch.
func next(t testing.TB, ch <-chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(wait):
		t.Fatal("no message")
		return nil
	}
}

// expectOnly checks that the next message on ch is the sentinel payload on topic: every
// message published before the sentinel and meant to be dropped would arrive first.
func expectOnly(t testing.TB, ch <-chan paho.Message, topic, sentinel string) {
	t.Helper()
	m := next(t, ch)
	if m.Topic() != topic || string(m.Payload()) != sentinel {
		t.Fatalf("got %q on %s (retained %v), want only the sentinel %q on %s", m.Payload(), m.Topic(), m.Retained(), sentinel, topic)
	}
}

// rawConnect sends one CONNECT (MQTT version 4 = 3.1.1, or 5) on a fresh connection and
// returns the CONNACK's return or reason code; the connection stays open for the caller.
func rawConnect(t testing.TB, addr string, version byte, u broker.User, cp packets.ConnectParams) (byte, net.Conn) {
	t.Helper()
	ack, c := rawConnectAck(t, addr, version, u, cp)
	return ack.ReasonCode, c
}

// rawConnectAck is rawConnect returning the decoded CONNACK.
func rawConnectAck(t testing.TB, addr string, version byte, u broker.User, cp packets.ConnectParams) (packets.Packet, net.Conn) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cp.ProtocolName = []byte("MQTT")
	cp.Username, cp.UsernameFlag = []byte(u.Username), u.Username != ""
	cp.Password, cp.PasswordFlag = []byte(u.Password), u.Password != ""
	cp.Clean = true
	cp.Keepalive = 30
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: version, Connect: cp}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	hb, err := r.ReadByte()
	if err != nil {
		t.Fatalf("no CONNACK: %v", err)
	}
	var fh packets.FixedHeader
	if err := fh.Decode(hb); err != nil || fh.Type != packets.Connack {
		t.Fatalf("not a CONNACK: %#x %v", hb, err)
	}
	n, _, err := packets.DecodeLength(r)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil || n < 2 {
		t.Fatalf("CONNACK body: %v", err)
	}
	c.SetDeadline(time.Time{})
	ack := packets.Packet{FixedHeader: fh, ProtocolVersion: version}
	if err := ack.ConnackDecode(body); err != nil {
		t.Fatalf("CONNACK: %v", err)
	}
	return ack, c
}

// readPacket reads one packet (PUBACK, CONNACK, ...) of MQTT version from c.
func readPacket(t testing.TB, c net.Conn, version byte) packets.Packet {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	r := bufio.NewReader(c)
	hb, err := r.ReadByte()
	if err != nil {
		t.Fatalf("no packet: %v", err)
	}
	var fh packets.FixedHeader
	if err := fh.Decode(hb); err != nil {
		t.Fatal(err)
	}
	n, _, err := packets.DecodeLength(r)
	if err != nil {
		t.Fatal(err)
	}
	fh.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: version}
	switch fh.Type {
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Connack:
		err = pk.ConnackDecode(body)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

// writePacket encodes a PUBLISH and writes it to c.
func writePacket(t testing.TB, c net.Conn, pk packets.Packet) {
	t.Helper()
	var buf bytes.Buffer
	if err := pk.PublishEncode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// closedByPeer reads from c until the peer closes it (true) or d passes (false).
func closedByPeer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}
