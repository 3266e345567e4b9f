package broker_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"gopkg.in/yaml.v3"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

func TestCredentialsGeneratedOnceAndPrivate(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Open(broker.Config{Address: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !b.CredentialsCreated() {
		t.Fatal("first start did not report created credentials")
	}
	c := b.Credentials()
	b.Close()
	for _, role := range []string{broker.RoleOperator, broker.RoleObserver, broker.RoleDaemon} {
		u, ok := c.ByRole(role)
		if !ok || len(u.Password) < 20 {
			t.Fatalf("role %s: %+v", role, u)
		}
	}
	op, _ := c.Get(broker.OperatorUser)
	ob, _ := c.Get(broker.ObserverUser)
	if op.Password == ob.Password {
		t.Fatal("operator and observer share a password")
	}
	fi, err := os.Stat(filepath.Join(dir, broker.CredentialsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi.Mode(), err)
	}
	var onDisk broker.Credentials
	raw, _ := os.ReadFile(filepath.Join(dir, broker.CredentialsFile))
	if err := yaml.Unmarshal(raw, &onDisk); err != nil || len(onDisk.Users) != 3 {
		t.Fatalf("file: %v %+v", err, onDisk)
	}

	b2, err := broker.Open(broker.Config{Address: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if b2.CredentialsCreated() {
		t.Fatal("second start regenerated credentials")
	}
	if op2, _ := b2.Credentials().Get(broker.OperatorUser); op2.Password != op.Password {
		t.Fatal("second start changed the operator password")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, c := range map[string]broker.Config{
		"no data dir":  {Address: "127.0.0.1:0"},
		"bad address":  {Address: "nowhere", DataDir: t.TempDir()},
		"cert, no key": {Address: "127.0.0.1:0", DataDir: t.TempDir(), TLSCert: "x.pem"},
		"missing cert": {Address: "127.0.0.1:0", DataDir: t.TempDir(), TLSCert: "x.pem", TLSKey: "y.pem"},
	} {
		if b, err := broker.Open(c); err == nil {
			b.Close()
			t.Errorf("%s: no error", name)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, broker.CredentialsFile), []byte("users:\n- {username: a, password: short, role: operator}\n"), 0o600)
	if _, err := broker.Open(broker.Config{Address: "127.0.0.1:0", DataDir: dir}); err == nil {
		t.Error("short password accepted")
	}
}

func connect(url, user, pass string, tc *tls.Config) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker(url).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectTimeout(3 * time.Second)
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	tok.WaitTimeout(5 * time.Second)
	return c, tok.Error()
}

func TestAuthAndACL(t *testing.T) {
	b := mqtttest.Embedded(t)
	c := b.Credentials()
	op, _ := c.Get(broker.OperatorUser)
	ob, _ := c.Get(broker.ObserverUser)
	for _, bad := range [][2]string{{"", ""}, {op.Username, ""}, {op.Username, ob.Password}, {"nobody", op.Password}} {
		if cl, err := connect(b.URL(), bad[0], bad[1], nil); err == nil {
			cl.Disconnect(0)
			t.Errorf("user %q password %q connected", bad[0], bad[1])
		}
	}
	obs, err := connect(b.URL(), ob.Username, ob.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Disconnect(0)
	got := make(chan paho.Message, 16)
	handler := func(_ paho.Client, m paho.Message) { got <- m }
	for filter, ok := range map[string]bool{"praxis/arm1/events": true, "praxis/arm1/state": true,
		"praxis/arm1/#": true, "praxis/arm1/cmd/run": false, "$SYS/#": false, "other": false} {
		tok := obs.Subscribe(filter, 0, handler)
		tok.WaitTimeout(5 * time.Second)
		code := tok.(*paho.SubscribeToken).Result()[filter]
		if (code < 0x80) != ok {
			t.Errorf("observer subscribe %s: code %#x", filter, code)
		}
	}
	opc, err := connect(b.URL(), op.Username, op.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer opc.Disconnect(0)
	opGot := make(chan paho.Message, 16)
	tok := opc.Subscribe("praxis/arm1/#", 1, func(_ paho.Client, m paho.Message) { opGot <- m })
	if tok.WaitTimeout(5 * time.Second); tok.(*paho.SubscribeToken).Result()["praxis/arm1/#"] >= 0x80 {
		t.Fatal("operator may not subscribe praxis/arm1/#")
	}
	// Observer publishes at QoS 0 are dropped; the operator's go through.
	obs.Publish("praxis/arm1/cmd/run", 0, false, "from observer").WaitTimeout(5 * time.Second)
	opc.Publish("praxis/arm1/events", 1, false, "from operator").WaitTimeout(5 * time.Second)
	for _, ch := range []chan paho.Message{got, opGot} {
		select {
		case m := <-ch:
			if string(m.Payload()) != "from operator" {
				t.Fatalf("got %q on %s", m.Payload(), m.Topic())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("operator message not delivered")
		}
	}
	select {
	case m := <-opGot:
		t.Fatalf("unexpected %q on %s", m.Payload(), m.Topic())
	default:
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := mqtttest.SelfSignedCert(t, dir)
	b, err := broker.Open(broker.Config{Address: "127.0.0.1:0", DataDir: dir, TLSCert: cert, TLSKey: key,
		ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// A connection that never starts its TLS handshake is closed after ConnectTimeout.
	idle, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if !closedByPeer(idle, 10*time.Second) {
		t.Fatal("idle connection to the TLS listener kept open")
	}
	if b.URL()[:6] != "ssl://" {
		t.Fatalf("URL %s", b.URL())
	}
	op, _ := b.Credentials().Get(broker.OperatorUser)
	c, err := connect(b.URL(), op.Username, op.Password, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS connect: %v", err)
	}
	c.Disconnect(0)
	if c, err := connect(b.URL(), op.Username, op.Password, &tls.Config{}); err == nil {
		c.Disconnect(0)
		t.Error("untrusted certificate accepted")
	}
	if c, err := connect("tcp://"+b.Addr(), op.Username, op.Password, nil); err == nil {
		c.Disconnect(0)
		t.Error("plain TCP accepted on the TLS listener")
	}
	// mochi v2.7.9 races (WaitGroup Add vs Wait) when closed while it still accepts a
	// connection: end with a complete one so that the refused ones are done.
	if c, err := connect(b.URL(), op.Username, op.Password, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}); err == nil {
		c.Disconnect(100)
	}
}
