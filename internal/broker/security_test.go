package broker_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	pahopk "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

const (
	cmdRun   = "praxis/arm1/cmd/run"
	cmdReset = "praxis/arm1/cmd/reset"
	cmdAll   = "praxis/arm1/cmd/#"
	state    = "praxis/arm1/state"
	status   = "praxis/arm1/status"
)

// An observer's last will on a command topic is never delivered: the embedded broker
// refuses the CONNECT (not authorized); mosquitto applies its ACL to the will.
func TestObserverWillOnCommandNeverDelivered(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		op := mustDial(t, opts(e.url, e.operator, ""))
		cmds, _ := subscribe(t, op, cmdAll)
		for _, topic := range []string{cmdRun, cmdReset} {
			for _, retain := range []bool{false, true} {
				proxy := mqtttest.NewProxy(t, e.addr)
				o := opts(proxy.URL, e.observer, "").SetWill(topic, "from observer will", 1, retain)
				_, err := dialOpts(t, o)
				if e.b != nil && !errors.Is(err, pahopk.ErrorRefusedNotAuthorised) {
					t.Errorf("%s retain %v: connect %v, want not authorized", topic, retain, err)
				}
				proxy.Cut() // the connection dies without DISCONNECT: a will would fire now
			}
		}
		publish(t, op, cmdRun, 1, false, "sentinel")
		expectOnly(t, cmds, cmdRun, "sentinel")
	})
}

// MQTT 5: the refusal carries reason code 0x87 (not authorized); 3.1.1: return code 5.
func TestWillRefusalCodes(t *testing.T) {
	e := embedded(t, broker.Config{})
	for _, v := range []struct {
		version byte
		want    byte
	}{{4, 0x05}, {5, 0x87}} {
		code, _ := rawConnect(t, e.addr, v.version, e.observer, packets.ConnectParams{ClientIdentifier: "obs-will",
			WillFlag: true, WillTopic: cmdRun, WillPayload: []byte("x"), WillQos: 1})
		if code != v.want {
			t.Errorf("MQTT v%d observer will on %s: code %#x, want %#x", v.version, cmdRun, code, v.want)
		}
		// A will with a wildcard is not a topic name: refused for everyone.
		code, _ = rawConnect(t, e.addr, v.version, e.operator, packets.ConnectParams{ClientIdentifier: "op-will",
			WillFlag: true, WillTopic: "praxis/+/cmd/run", WillPayload: []byte("x")})
		if code != v.want {
			t.Errorf("MQTT v%d will on praxis/+/cmd/run: code %#x, want %#x", v.version, code, v.want)
		}
		code, _ = rawConnect(t, e.addr, v.version, e.observer, packets.ConnectParams{ClientIdentifier: "obs-ok",
			WillFlag: true, WillTopic: "elsewhere", WillPayload: []byte("x")})
		if code != v.want {
			t.Errorf("MQTT v%d observer will outside praxis/: code %#x, want %#x", v.version, code, v.want)
		}
	}
	if got := e.logs.lines("will refused", "user="+e.observer.Username, "topic="+cmdRun); len(got) != 1 {
		t.Errorf("log lines for the observer's refused wills: %q, want one (rate limited)", got)
	}
}

// An operator may publish commands, so its non-retained will on cmd/run is legitimate
// and delivered; a retained will on a command topic is refused for everyone (the
// embedded broker; mosquitto cannot: the daemon ignores retained commands).
func TestOperatorWills(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		watcher := mustDial(t, opts(e.url, e.operator, ""))
		cmds, _ := subscribe(t, watcher, cmdAll)
		proxy := mqtttest.NewProxy(t, e.addr)
		mustDial(t, opts(proxy.URL, e.operator, "").SetWill(cmdRun, "operator will", 1, false))
		proxy.Cut()
		if m := next(t, cmds); string(m.Payload()) != "operator will" || m.Retained() {
			t.Fatalf("got %q retained %v, want the operator's will", m.Payload(), m.Retained())
		}
		if e.b == nil {
			return
		}
		for _, u := range []broker.User{e.operator, e.daemon} {
			_, err := dialOpts(t, opts(e.url, u, "").SetWill(cmdReset, "retained will", 1, true))
			if !errors.Is(err, pahopk.ErrorRefusedNotAuthorised) {
				t.Errorf("%s retained will on %s: %v, want not authorized", u.Username, cmdReset, err)
			}
		}
		// The daemon's own will (retained status) is accepted.
		mustDial(t, opts(e.url, e.daemon, "praxis-arm1-daemon").SetWill(status, `{"online":false}`, 1, true))
	})
}

// No retained message is ever stored on a command topic of the embedded broker, whoever
// publishes it; the publish is acknowledged (QoS 1) and delivered to nobody.
func TestRetainedCommandsDropped(t *testing.T) {
	e := embedded(t, broker.Config{})
	live := mustDial(t, opts(e.url, e.operator, ""))
	liveCmds, _ := subscribe(t, live, cmdAll)
	for _, u := range []broker.User{e.operator, e.daemon} {
		c := mustDial(t, opts(e.url, u, ""))
		for _, qos := range []byte{0, 1, 2} {
			publish(t, c, cmdRun, qos, true, fmt.Sprintf("retained by %s qos %d", u.Username, qos))
		}
	}
	// MQTT 5 too.
	code, conn := rawConnect(t, e.addr, 5, e.operator, packets.ConnectParams{ClientIdentifier: "v5-retain"})
	if code != 0 {
		t.Fatalf("v5 connect: %#x", code)
	}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, ProtocolVersion: 5,
		TopicName: cmdReset, Payload: []byte("retained v5")}
	writePacket(t, conn, pk)

	publish(t, live, cmdRun, 1, false, "sentinel")
	expectOnly(t, liveCmds, cmdRun, "sentinel")
	late := mustDial(t, opts(e.url, e.daemon, ""))
	lateCmds, _ := subscribe(t, late, cmdAll)
	publish(t, live, cmdRun, 1, false, "sentinel 2")
	expectOnly(t, lateCmds, cmdRun, "sentinel 2")
	if got := e.logs.lines("retained command dropped", "user="+e.operator.Username, "topic="+cmdRun); len(got) != 1 {
		t.Errorf("log lines %q, want one per user and reason", got)
	}

	// Retained status still works.
	d := mustDial(t, opts(e.url, e.daemon, ""))
	publish(t, d, status, 1, true, `{"online":true}`)
	obs := mustDial(t, opts(e.url, e.observer, ""))
	st, _ := subscribe(t, obs, status)
	if m := next(t, st); !m.Retained() || string(m.Payload()) != `{"online":true}` {
		t.Fatalf("status %q retained %v", m.Payload(), m.Retained())
	}
}

// On mosquitto a retained command is stored and replayed at every subscribe (the daemon
// ignores it); the documented command clears it.
func TestMosquittoRetainedCommandCleared(t *testing.T) {
	e := mosquitto(t)
	op := mustDial(t, opts(e.url, e.operator, ""))
	publish(t, op, cmdRun, 1, true, `{"id":"stale"}`)
	c := mustDial(t, opts(e.url, e.daemon, ""))
	cmds, _ := subscribe(t, c, cmdAll)
	if m := next(t, cmds); !m.Retained() || string(m.Payload()) != `{"id":"stale"}` {
		t.Fatalf("got %q retained %v", m.Payload(), m.Retained())
	}
	// mosquitto_pub -r -n -t praxis/arm1/cmd/run: an empty retained message deletes it.
	mqtttest.MosquittoPub(t, e.addr, e.operator.Username, e.operator.Password, "-r", "-n", "-q", "1", "-t", cmdRun)
	if m := next(t, cmds); len(m.Payload()) != 0 {
		t.Fatalf("clearing message: %q", m.Payload())
	}
	c2 := mustDial(t, opts(e.url, e.daemon, ""))
	cmds2, _ := subscribe(t, c2, cmdAll)
	publish(t, op, cmdRun, 1, false, "sentinel")
	expectOnly(t, cmds2, cmdRun, "sentinel")
}

// Only the daemon's user may use a client id of the daemon's form; no user may take
// over another user's client id. The connection already there stays up.
func TestClientIDsCannotBeTakenOver(t *testing.T) {
	e := embedded(t, broker.Config{})
	lost := make(chan error, 4)
	d := mustDial(t, opts(e.url, e.daemon, "praxis-arm1-daemon").
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err }))
	dcmds, _ := subscribe(t, d, cmdAll)
	for _, c := range []struct {
		u  broker.User
		id string
	}{{e.observer, "praxis-arm1-daemon"}, {e.operator, "praxis-arm1-daemon"},
		{e.observer, "praxis-arm1-daemon-x7"}, {e.operator, "praxis-arm2-daemon"}, {e.operator, "praxis-daemon"},
		{e.operator, "inline"}} { // mochi's inline client
		if _, err := dialOpts(t, opts(e.url, c.u, c.id)); !errors.Is(err, pahopk.ErrorRefusedIDRejected) {
			t.Errorf("%s as %q: %v, want identifier rejected", c.u.Username, c.id, err)
		}
	}
	code, _ := rawConnect(t, e.addr, 5, e.observer, packets.ConnectParams{ClientIdentifier: "praxis-arm1-daemon"})
	if code != 0x85 {
		t.Errorf("MQTT 5 observer with the daemon's id: %#x, want 0x85", code)
	}
	// A plain id in use by the operator cannot be taken by the observer either.
	lostOp := make(chan error, 4)
	op := mustDial(t, opts(e.url, e.operator, "bench-1").
		SetConnectionLostHandler(func(_ paho.Client, err error) { lostOp <- err }))
	if _, err := dialOpts(t, opts(e.url, e.observer, "bench-1")); !errors.Is(err, pahopk.ErrorRefusedIDRejected) {
		t.Errorf("observer with the operator's id: %v, want identifier rejected", err)
	}
	// Both connections still work: a command reaches the daemon.
	publish(t, op, cmdRun, 1, false, "still here")
	expectOnly(t, dcmds, cmdRun, "still here")
	select {
	case err := <-lost:
		t.Fatalf("daemon connection lost: %v", err)
	case err := <-lostOp:
		t.Fatalf("operator connection lost: %v", err)
	default:
	}
	if !d.IsConnectionOpen() || !op.IsConnectionOpen() {
		t.Fatal("a connection was taken over")
	}
	if got := e.logs.lines("client id reserved for the daemon", "user="+e.observer.Username, "client=praxis-arm1-daemon"); len(got) != 1 {
		t.Errorf("log lines %q", got)
	}
	// The same user may take its own id over (a reconnecting daemon).
	mustDial(t, opts(e.url, e.daemon, "praxis-arm1-daemon"))
	if err := <-lost; err == nil {
		t.Fatal("no takeover by the same user")
	}
}

// Observers may subscribe to praxis/<robot>/# and receive everything but commands.
func TestObserverWildcard(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		obs := mustDial(t, opts(e.url, e.observer, ""))
		all, code := subscribe(t, obs, "praxis/arm1/#")
		if code >= 0x80 {
			t.Fatalf("praxis/arm1/#: code %#x", code)
		}
		op := mustDial(t, opts(e.url, e.operator, ""))
		publish(t, op, cmdRun, 1, false, "a command")
		publish(t, op, cmdReset, 0, false, "another")
		publish(t, op, state, 1, false, "sentinel")
		expectOnly(t, all, state, "sentinel")
		if e.b != nil {
			// The embedded broker refuses filters that can only match commands.
			for _, f := range []string{cmdAll, "praxis/+/cmd/#", cmdRun, "#", "$SYS/#"} {
				if _, code := subscribe(t, obs, f); code < 0x80 {
					t.Errorf("observer %s: granted %#x", f, code)
				}
			}
			if got := e.logs.lines("subscription denied", "user="+e.observer.Username); len(got) != 1 {
				t.Errorf("log lines %q, want one (rate limited)", got)
			}
		}
		// The operator's wildcard subscription still sees commands.
		opAll, _ := subscribe(t, op, "praxis/#")
		publish(t, op, cmdRun, 1, false, "sentinel")
		expectOnly(t, opAll, cmdRun, "sentinel")
	})
}

// An observer's publishes never reach a subscriber. At QoS 0 the observer stays
// connected; at QoS 1 an MQTT 3.1.1 client is disconnected by the embedded broker (the
// CLI reports "not authorised") and acknowledged by mosquitto; MQTT 5 gets PUBACK 0x87.
func TestDeniedPublish(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		op := mustDial(t, opts(e.url, e.operator, ""))
		cmds, _ := subscribe(t, op, cmdAll)
		lost := make(chan error, 1)
		obs := mustDial(t, opts(e.url, e.observer, "").
			SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err }))
		publish(t, obs, cmdRun, 0, false, "from observer, qos 0")
		tok := obs.Publish(cmdRun, 1, false, "from observer, qos 1")
		if e.b != nil {
			select {
			case <-lost:
			case <-time.After(wait):
				t.Fatal("observer's QoS 1 publish did not end its connection")
			}
		} else if !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("mosquitto: %v", tok.Error())
		}
		if e.b != nil {
			code, c := rawConnect(t, e.addr, 5, e.observer, packets.ConnectParams{ClientIdentifier: "obs-v5"})
			if code != 0 {
				t.Fatalf("v5 connect %#x", code)
			}
			writePacket(t, c, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1},
				ProtocolVersion: 5, PacketID: 7, TopicName: cmdRun, Payload: []byte("from observer, v5")})
			if ack := readPacket(t, c, 5); ack.FixedHeader.Type != packets.Puback || ack.ReasonCode != 0x87 {
				t.Fatalf("v5 denied publish: %+v, want PUBACK 0x87", ack.FixedHeader)
			}
		}
		publish(t, op, cmdRun, 1, false, "sentinel")
		expectOnly(t, cmds, cmdRun, "sentinel")
		if e.b != nil {
			if got := e.logs.lines("publish denied", "user="+e.observer.Username, "topic="+cmdRun); len(got) != 1 {
				t.Errorf("log lines %q", got)
			}
			if got := e.logs.lines("error processing packet"); len(got) != 0 {
				t.Errorf("mochi dumped the packet: %q", got)
			}
		}
	})
}

// A wrong password or an unknown user is refused and logged, once per user in 10 s.
func TestBadPasswordLogged(t *testing.T) {
	e := embedded(t, broker.Config{})
	for range 5 {
		_, err := dialOpts(t, opts(e.url, broker.User{Username: e.operator.Username, Password: "wrong-password"}, ""))
		if !errors.Is(err, pahopk.ErrorRefusedBadUsernameOrPassword) {
			t.Fatalf("wrong password: %v, want bad user name or password", err)
		}
	}
	if _, err := dialOpts(t, opts(e.url, broker.User{Username: "mallory", Password: "x"}, "")); err == nil {
		t.Fatal("unknown user connected")
	}
	if code, _ := rawConnect(t, e.addr, 5, broker.User{Username: "mallory", Password: "x"}, packets.ConnectParams{}); code != 0x86 {
		t.Errorf("MQTT 5 unknown user: %#x, want 0x86", code)
	}
	if got := e.logs.lines("refused: bad password", "user="+e.operator.Username); len(got) != 1 {
		t.Errorf("bad password lines %q, want 1", got)
	}
	if got := e.logs.lines("refused: unknown user", "user=mallory"); len(got) != 1 {
		t.Errorf("unknown user lines %q, want 1", got)
	}
	for _, l := range e.logs.lines("refused") {
		if strings.Contains(l, "wrong-password") || len(l) > 300 {
			t.Errorf("log line leaks or dumps: %q", l)
		}
	}
}

// A 200 MB CONNECT before authentication is refused from its fixed header: the broker
// never allocates its body.
func TestOversizeConnectNotAllocated(t *testing.T) {
	e := embedded(t, broker.Config{})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// CONNECT, remaining length 200 000 000, then the start of a body.
	hdr := append([]byte{0x10}, varint(200_000_000)...)
	c.Write(append(hdr, make([]byte, 64<<10)...))
	if !closedByPeer(c, wait) {
		t.Fatal("connection with a 200 MB CONNECT still open")
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := after.TotalAlloc - before.TotalAlloc
	if grew > 8<<20 {
		t.Fatalf("allocated %d MB for a refused CONNECT", grew>>20)
	}
	t.Logf("200 MB CONNECT refused; the process allocated %d kB meanwhile", grew>>10)
	if got := e.logs.waitLines(t, 1, "packet too large", "remote=127.0.0.1"); len(got) != 1 {
		t.Errorf("log lines %q", got)
	}
	// An authenticated client's oversize publish ends its connection too.
	lost := make(chan error, 1)
	op := mustDial(t, opts(e.url, e.operator, "").SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err }))
	op.Publish(state, 0, false, make([]byte, broker.DefaultMaxPacketSize))
	select {
	case <-lost:
	case <-time.After(wait):
		t.Fatal("oversize publish did not end the connection")
	}
}

// MQTT 5 clients learn the maximum packet size from the CONNACK.
func TestMaxPacketSizeAnnounced(t *testing.T) {
	e := embedded(t, broker.Config{MaxPacketSize: 4096})
	ack, _ := rawConnectAck(t, e.addr, 5, e.operator, packets.ConnectParams{ClientIdentifier: "v5"})
	if ack.ReasonCode != 0 || ack.Properties.MaximumPacketSize != 4096 {
		t.Fatalf("CONNACK %#x maximum packet size %d, want 4096", ack.ReasonCode, ack.Properties.MaximumPacketSize)
	}
}

// Idle connections that never send CONNECT are closed after ConnectTimeout; while 300 of
// them are open, a client that sends its CONNECT still gets in, and stays connected.
func TestIdleConnectionFlood(t *testing.T) {
	const timeout = 2 * time.Second
	e := embedded(t, broker.Config{ConnectTimeout: timeout})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	idle := make([]net.Conn, 300)
	for i := range idle {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle[i] = c
	}
	start := time.Now()
	lost := make(chan error, 1)
	op := mustDial(t, opts(e.url, e.operator, "").SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err }))
	for i, c := range idle {
		if !closedByPeer(c, timeout+wait) {
			t.Fatalf("idle connection %d still open %v after the flood", i, time.Since(start))
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("300 idle connections closed within %v; the process allocated %d MB meanwhile",
		time.Since(start).Round(time.Millisecond), (after.TotalAlloc-before.TotalAlloc)>>20)
	// The legitimate client outlived the deadline.
	ch, _ := subscribe(t, op, state)
	publish(t, op, state, 1, false, "alive")
	expectOnly(t, ch, state, "alive")
	select {
	case err := <-lost:
		t.Fatalf("legit client lost: %v", err)
	default:
	}
	if got := e.logs.waitLines(t, 1, "no CONNECT before the deadline"); len(got) != 1 {
		t.Errorf("deadline log lines: %d, want 1 (rate limited)", len(got))
	}
}

// MaxConnections caps authenticated operators and observers, with a quarter kept for
// operators; the daemon always gets in. A slot frees when a client leaves.
func TestMaxConnections(t *testing.T) {
	e := embedded(t, broker.Config{MaxConnections: 4, ConnectTimeout: time.Minute})
	var observers []paho.Client
	for range 3 {
		observers = append(observers, mustDial(t, opts(e.url, e.observer, "")))
	}
	if _, err := dialOpts(t, opts(e.url, e.observer, "")); !errors.Is(err, pahopk.ErrorRefusedServerUnavailable) {
		t.Fatalf("fourth observer: %v, want server unavailable", err)
	}
	if code, _ := rawConnect(t, e.addr, 5, e.observer, packets.ConnectParams{ClientIdentifier: "obs-v5"}); code != 0x89 {
		t.Fatalf("fourth observer, MQTT 5: %#x, want 0x89 (server busy)", code)
	}
	op := mustDial(t, opts(e.url, e.operator, ""))
	if _, err := dialOpts(t, opts(e.url, e.operator, "")); !errors.Is(err, pahopk.ErrorRefusedServerUnavailable) {
		t.Fatalf("fifth client: %v, want server unavailable", err)
	}
	d := mustDial(t, opts(e.url, e.daemon, "praxis-arm1-daemon"))
	cmds, _ := subscribe(t, d, cmdAll)
	publish(t, op, cmdRun, 1, false, "through")
	expectOnly(t, cmds, cmdRun, "through")
	if got := e.logs.lines("connection limit of the role reached", "user="+e.observer.Username); len(got) != 1 {
		t.Errorf("log lines %q", got)
	}
	observers[0].Disconnect(100) // 2 observers and 1 operator: room for 1 operator
	deadline := time.Now().Add(wait)
	for {
		c, err := dialOpts(t, opts(e.url, e.operator, ""))
		if err == nil {
			c.Disconnect(0)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a disconnect: %v", err)
		}
	}
}

func TestLimitConfigErrors(t *testing.T) {
	for name, c := range map[string]broker.Config{
		"MaxPacketSize":         {MaxPacketSize: 10},
		"ConnectTimeout":        {ConnectTimeout: -time.Second},
		"MaxConnections":        {MaxConnections: -1},
		"MaxPendingConnections": {MaxPendingConnections: -1},
	} {
		c.Address, c.DataDir = "127.0.0.1:0", t.TempDir()
		b, err := broker.Open(c)
		if err == nil {
			b.Close()
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the field", name, err)
		}
	}
}

func varint(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// The documented mosquitto limits: a 200 MB CONNECT is refused from its fixed header
// (mosquitto's resident memory does not grow).
func TestMosquittoLimits(t *testing.T) {
	e, m := mosquittoWith(t, mqtttest.MosquittoLimits)
	before := vmRSS(t, m.Pid)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(append(append([]byte{0x10}, varint(200_000_000)...), make([]byte, 64<<10)...))
	if !closedByPeer(c, wait) {
		t.Fatal("mosquitto kept a connection with a 200 MB CONNECT")
	}
	if grew := vmRSS(t, m.Pid) - before; grew > 8<<10 {
		t.Fatalf("mosquitto RSS grew %d kB", grew)
	}
	mustDial(t, opts(e.url, e.operator, "")) // still serving
	// max_connections is not tested: mosquitto 2.0.11's count drifts up with every
	// connection closed before its CONNECT (see docs/mqtt.md ("Security model")).
}

// vmRSS returns the resident memory of process pid, in kB.
func vmRSS(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// Documented limitation: mosquitto lets any authenticated user take over any client id
// (the lead gives the daemon an unguessable client id suffix on external brokers).
func TestMosquittoClientIDTakeover(t *testing.T) {
	e := mosquitto(t)
	lost := make(chan error, 1)
	mustDial(t, opts(e.url, e.daemon, "praxis-arm1-daemon").
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err }))
	mustDial(t, opts(e.url, e.observer, "praxis-arm1-daemon"))
	select {
	case <-lost:
	case <-time.After(wait):
		t.Fatal("mosquitto refused the takeover: update docs/mqtt.md (Security model)")
	}
}

// TestCommandBurstNotRenewedByReconnecting: a client that spends its command burst,
// disconnects and connects again under the same id does not get a fresh burst; its bucket
// refills at the command rate only. (Reconnecting flooders used to get thousands of
// commands a second through.)
func TestCommandBurstNotRenewedByReconnecting(t *testing.T) {
	const burst = 5
	e := embedded(t, broker.Config{CommandRate: 0.5, CommandBurst: burst})
	d := mustDial(t, opts(e.url, e.daemon, "praxis-arm1-daemon"))
	cmds, _ := subscribe(t, d, cmdAll)
	start := time.Now()
	for round := range 3 {
		op := mustDial(t, opts(e.url, e.operator, "same-id"))
		for i := range burst {
			publish(t, op, cmdRun, 1, false, fmt.Sprintf("r%d-%d", round, i))
		}
		op.Disconnect(100)
	}
	// A sentinel from another client (a bucket of its own) marks the end: what the
	// reconnecting client got through arrives before it.
	other := mustDial(t, opts(e.url, e.operator, "other"))
	publish(t, other, cmdReset, 1, false, "sentinel")
	got := 0
	for {
		m := next(t, cmds)
		if string(m.Payload()) == "sentinel" {
			break
		}
		got++
	}
	if max := burst + int(0.5*time.Since(start).Seconds()) + 1; got > max {
		t.Fatalf("%d of %d commands from a client reconnecting with one id got through, want at most its burst and refill (%d)", got, 3*burst, max)
	}
	if got < burst {
		t.Fatalf("%d commands got through, want the first burst (%d)", got, burst)
	}
}
