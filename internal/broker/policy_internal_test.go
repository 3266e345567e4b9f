package broker

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"gopkg.in/yaml.v3"
)

func TestTopicRules(t *testing.T) {
	for id, want := range map[string]bool{"praxis-arm1-daemon": true, "praxis-arm1-daemon-3f9a": true,
		"praxis-daemon": true, "praxis-a-b-daemonx": true, "praxis-cli-12ab": false, "arm1-daemon": false,
		"xpraxis-arm1-daemon": false, "": false} {
		if IsDaemonClientID(id) != want {
			t.Errorf("IsDaemonClientID(%q) = %v", id, !want)
		}
	}
	for topic, want := range map[string]bool{"praxis/arm1/cmd/run": true, "praxis/arm1/cmd": true,
		"praxis/+/cmd/#": true, "praxis//cmd/x": true, "praxis/arm1/cmdx": false, "praxis/arm1/state": false,
		"praxis/cmd/run": false, "praxis/arm1/x/cmd": false, "other/arm1/cmd/run": false, "praxis": false} {
		if IsCommandTopic(topic) != want {
			t.Errorf("IsCommandTopic(%q) = %v", topic, !want)
		}
	}
	for _, c := range []struct {
		role, topic string
		read, write bool
	}{
		{RoleObserver, "praxis/arm1/state", true, false},
		{RoleObserver, "praxis/arm1/#", true, false},
		{RoleObserver, "praxis/#", true, false},
		{RoleObserver, "praxis/arm1/cmd/run", false, false},
		{RoleObserver, "praxis/+/cmd/#", false, false},
		{RoleObserver, "#", false, false},
		{RoleOperator, "praxis/arm1/cmd/run", true, true},
		{RoleOperator, "praxiss/x", false, false},
		{RoleOperator, "$SYS/broker/uptime", false, false},
		{RoleDaemon, "praxis/arm1/status", true, true},
		{"", "praxis/arm1/state", false, false},
		{roleAnonymous, "anything", true, true},
	} {
		if got := mayRead(c.role, c.topic); got != c.read {
			t.Errorf("mayRead(%q, %q) = %v", c.role, c.topic, got)
		}
		if got := mayWrite(c.role, c.topic); got != c.write {
			t.Errorf("mayWrite(%q, %q) = %v", c.role, c.topic, got)
		}
	}
}

func testCreds() Credentials {
	return Credentials{Users: []User{{"operator", "operator-pw-1", RoleOperator},
		{"observer", "observer-pw-1", RoleObserver}, {"praxis-daemon", "daemon-pw-1", RoleDaemon}}}
}

// OnWill is the defence behind the CONNECT check: a will the client may not publish
// leaves with an empty topic, which mochi delivers to nobody.
func TestOnWillDropsForbiddenWills(t *testing.T) {
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler)})
	p := newPolicy(srv, testCreds(), false, DefaultMaxPacketSize, newRefusalLog(slog.New(slog.DiscardHandler)))
	for _, c := range []struct {
		user, topic string
		retain      bool
		kept        bool
	}{
		{"observer", "praxis/arm1/cmd/run", false, false},
		{"observer", "praxis/arm1/status", false, false},
		{"nobody", "praxis/arm1/cmd/run", false, false},
		{"operator", "praxis/arm1/cmd/run", true, false},
		{"praxis-daemon", "praxis/arm1/cmd/reset", true, false},
		{"operator", "praxis/+/cmd/run", false, false},
		{"operator", "praxis/arm1/cmd/run", false, true},
		{"praxis-daemon", "praxis/arm1/status", true, true},
	} {
		cl := srv.NewClient(nil, "t", "c1", false)
		cl.Properties.Username = []byte(c.user)
		w := mqtt.Will{TopicName: c.topic, Payload: []byte("x"), Retain: c.retain, Qos: 1, Flag: 1}
		got, err := p.OnWill(cl, w)
		if err != nil { // mochi ignores a hook's error and sends the will unchanged
			t.Fatal(err)
		}
		if kept := got.TopicName == c.topic; kept != c.kept || (!kept && (got.TopicName != "" || got.Retain)) {
			t.Errorf("%s will on %s retain %v: %+v", c.user, c.topic, c.retain, got)
		}
	}
}

// A will that got past the CONNECT check (injected here by a test hook) is still not
// delivered when the connection dies.
func TestInjectedWillNotDelivered(t *testing.T) {
	dir := t.TempDir()
	if err := writeTestCreds(dir); err != nil {
		t.Fatal(err)
	}
	b, err := Open(Config{Address: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	inj := &willInjector{topic: "praxis/arm1/cmd/run", sent: make(chan string, 1)}
	if err := b.srv.AddHook(inj, nil); err != nil {
		t.Fatal(err)
	}
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetUsername("operator").
		SetPassword("operator-pw-1").SetClientID("sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(0)
	got := make(chan paho.Message, 16)
	if tok := sub.Subscribe("praxis/#", 1, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("subscribe")
	}
	// The observer connects (no will), gets one injected, and drops its connection.
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: "obs", Clean: true,
			Keepalive: 30, Username: []byte("observer"), UsernameFlag: true, Password: []byte("observer-pw-1"), PasswordFlag: true}}
	var buf bytes.Buffer
	pk.ConnectEncode(&buf)
	c.Write(buf.Bytes())
	ack := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(ack); err != nil || ack[3] != 0 {
		t.Fatalf("connect: % x %v", ack, err)
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	select {
	case topic := <-inj.sent:
		if topic != "" {
			t.Fatalf("will sent on %q", topic)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("will not processed")
	}
	if tok := sub.Publish("praxis/arm1/cmd/run", 1, false, "sentinel"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case m := <-got:
		if string(m.Payload()) != "sentinel" {
			t.Fatalf("delivered %q on %s", m.Payload(), m.Topic())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no sentinel")
	}
}

// willInjector gives every observer a will after the CONNECT checks.
type willInjector struct {
	mqtt.HookBase
	topic string
	sent  chan string
}

func (h *willInjector) ID() string { return "will-injector" }

func (h *willInjector) Provides(b byte) bool {
	return b == mqtt.OnSessionEstablished || b == mqtt.OnWillSent
}

func (h *willInjector) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if string(cl.Properties.Username) == "observer" {
		cl.Properties.Will = mqtt.Will{TopicName: h.topic, Payload: []byte("injected"), Qos: 1, Flag: 1}
	}
}

func (h *willInjector) OnWillSent(_ *mqtt.Client, pk packets.Packet) { h.sent <- pk.TopicName }

func writeTestCreds(dir string) error {
	out, err := yaml.Marshal(testCreds())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CredentialsFile), out, 0o600)
}

// One line per reason and user in refusalLogInterval; the next one counts the others.
func TestRefusalLogRateLimit(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	r := newRefusalLog(slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)))
	r.now = func() time.Time { return now }
	for range 3 {
		r.refuse(reasonBadPassword, "operator", "127.0.0.1", "c1", "")
	}
	r.refuse(reasonBadPassword, "observer", "127.0.0.1", "c2", "")
	r.refuse(reasonPublishDenied, "observer", "127.0.0.1", "c2", "praxis/arm1/cmd/run")
	now = now.Add(refusalLogInterval - time.Millisecond)
	r.refuse(reasonBadPassword, "operator", "127.0.0.1", "c1", "")
	now = now.Add(time.Millisecond)
	r.refuse(reasonBadPassword, "operator", "127.0.0.1", "c1", "")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], `msg="broker: refused: bad password" user=operator client=c1 remote=127.0.0.1`) {
		t.Errorf("line 0: %s", lines[0])
	}
	if !strings.Contains(lines[2], "topic=praxis/arm1/cmd/run") {
		t.Errorf("line 2: %s", lines[2])
	}
	if !strings.Contains(lines[3], "suppressed=3") {
		t.Errorf("line 3: %s", lines[3])
	}
	// Many distinct users share one line per interval once the table is full.
	buf.Reset()
	for i := range 3 * maxRefusalKeys {
		r.refuse(reasonUnknownUser, "u"+strconv.Itoa(i), "", "", "")
	}
	if n := strings.Count(buf.String(), "\n"); n > maxRefusalKeys+1 {
		t.Errorf("%d lines for %d users", n, 3*maxRefusalKeys)
	}
	if len(r.last) > maxRefusalKeys+1 {
		t.Errorf("table grew to %d", len(r.last))
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Retained commands restored at start (by a storage hook, should one be added) are
// deleted; other retained messages stay.
func TestClearRetainedCommands(t *testing.T) {
	dir := t.TempDir()
	if err := writeTestCreds(dir); err != nil {
		t.Fatal(err)
	}
	b, err := Open(Config{Address: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, topic := range []string{"praxis/arm1/cmd/run", "praxis/arm2/cmd/reset", "praxis/arm1/status"} {
		b.srv.Topics.RetainMessage(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true},
			TopicName: topic, Payload: []byte("stale")})
	}
	if n := b.clearRetainedCommands(); n != 2 {
		t.Fatalf("cleared %d, want 2", n)
	}
	if left := b.srv.Topics.Messages("praxis/#"); len(left) != 1 || left[0].TopicName != "praxis/arm1/status" {
		t.Fatalf("left %+v", left)
	}
}

// The checks run at every publish and every delivery: they allocate nothing.
func TestChecksAllocateNothing(t *testing.T) {
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler)})
	p := newPolicy(srv, testCreds(), false, DefaultMaxPacketSize, newRefusalLog(slog.New(slog.DiscardHandler)))
	cl := srv.NewClient(nil, "t", "c1", false)
	cl.Properties.Username = []byte("observer")
	cl.Properties.ProtocolVersion = 4
	op := srv.NewClient(nil, "t", "c2", false)
	op.Properties.Username = []byte("operator")
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1},
		TopicName: "praxis/arm1/cmd/run", Payload: []byte("{}")}
	if n := testing.AllocsPerRun(100, func() {
		p.OnACLCheck(cl, "praxis/arm1/state", false)
		p.OnACLCheck(cl, "praxis/arm1/cmd/run", false)
		p.OnACLCheck(op, "praxis/arm1/cmd/run", true)
		p.OnPublish(op, pk)
	}); n != 0 {
		t.Fatalf("%v allocations per check", n)
	}
}
