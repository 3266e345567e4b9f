// Package mqtttest starts real MQTT brokers for tests: the embedded mochi broker of
// package broker, and Debian's mosquitto with a password file and an ACL on a free
// loopback port. It also offers a cuttable TCP proxy (to kill a connection without a
// clean disconnect, so the broker sends its last will) and a self-signed certificate.
package mqtttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/broker"
)

// Embedded starts the embedded broker with authentication on a free loopback port and a
// fresh data directory; it is closed when the test ends. Its per-client command limit is
// raised (10 000/s, bursts of 10 000), as tests send bursts; see EmbeddedConfig.
func Embedded(t testing.TB) *broker.Broker {
	t.Helper()
	return EmbeddedConfig(t, broker.Config{CommandRate: 10000, CommandBurst: 10000})
}

// EmbeddedConfig is Embedded with cfg (its Address and DataDir are set).
func EmbeddedConfig(t testing.TB, cfg broker.Config) *broker.Broker {
	t.Helper()
	cfg.Address, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	b, err := broker.Open(cfg)
	if err != nil {
		t.Fatalf("mqtttest: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// User is a mosquitto account.
type User struct {
	Name, Password string
}

// Mosquitto is a running mosquitto broker.
type Mosquitto struct {
	Addr string // host:port
	URL  string // tcp://host:port
	Dir  string // holds mosquitto.conf, passwd, acl and the log
	Pid  int    // the mosquitto process
}

// MosquittoConfig configures StartMosquitto.
type MosquittoConfig struct {
	Users []User // accounts written with mosquitto_passwd
	ACL   string // content of the acl_file (mosquitto syntax: "user NAME" then "topic readwrite T")
	Extra string // more mosquitto.conf lines, applied to the listener (e.g. MosquittoLimits)
}

// MosquittoLimits are the mosquitto.conf limits docs/mqtt.md ("Security model") recommends, as
// tested: packets over 1 MiB are refused from their fixed header, at most 64 connections.
const MosquittoLimits = "max_packet_size 1048576\nmax_connections 64\n"

// StartMosquitto starts Debian's mosquitto on a free loopback port with authentication
// required, cfg's users and ACL, and TCP_NODELAY. It skips the test when mosquitto is not
// installed, except in CI (CI set), where it fails. It stops when the test ends.
func StartMosquitto(t testing.TB, cfg MosquittoConfig) *Mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "" {
				t.Skip("mqtttest: mosquitto not installed (apt-get install mosquitto mosquitto-clients)")
			}
			t.Fatal("mqtttest: mosquitto not installed; scripts/deps.sh installs it in CI")
		}
	}
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatalf("mqtttest: mosquitto_passwd: %v", err)
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	for i, u := range cfg.Users {
		args := []string{"-b", pw, u.Name, u.Password}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(passwd, args...).CombinedOutput(); err != nil {
			t.Fatalf("mqtttest: mosquitto_passwd: %v: %s", err, out)
		}
	}
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte(cfg.ACL), 0o600); err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(dir, "mosquitto.log")
	ownForMosquitto(t, dir, pw, acl)

	var lastErr error
	for range 3 { // the free port may be taken between choosing and binding it
		port := freePort(t)
		conf := filepath.Join(dir, "mosquitto.conf")
		c := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\nacl_file %s\n"+
			"set_tcp_nodelay true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n%s",
			port, pw, acl, cfg.Extra)
		if err := os.WriteFile(conf, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "-c", conf)
		lf, err := os.Create(logf)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = lf, lf
		if err := cmd.Start(); err != nil {
			cancel()
			lf.Close()
			t.Fatalf("mqtttest: start mosquitto: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = waitListening(addr, exited, 10*time.Second); lastErr == nil {
			t.Cleanup(func() {
				cancel()
				<-exited
				lf.Close()
			})
			return &Mosquitto{Addr: addr, URL: "tcp://" + addr, Dir: dir, Pid: cmd.Process.Pid}
		}
		cancel()
		lf.Close()
		log, _ := os.ReadFile(logf)
		lastErr = fmt.Errorf("%w; log: %s", lastErr, strings.TrimSpace(string(log)))
	}
	t.Fatalf("mqtttest: mosquitto did not start: %v", lastErr)
	return nil
}

// ownForMosquitto makes files readable by the mosquitto user, which mosquitto switches
// to when started as root.
func ownForMosquitto(t testing.TB, dir string, files ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("mosquitto")
	if err != nil {
		return // no such user: mosquitto keeps running as root
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for d := dir; d != "/" && d != "." && strings.HasPrefix(d, os.TempDir()) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		if err := os.Chown(f, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening dials addr until it answers, the process exits or timeout passes.
func waitListening(addr string, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	retry := time.NewTicker(10 * time.Millisecond)
	defer retry.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w", addr, err)
		}
		select {
		case err := <-exited:
			return fmt.Errorf("mosquitto exited: %v", err)
		case <-retry.C:
		}
	}
}

// Proxy forwards TCP connections from Addr to a target; Cut drops them all abruptly.
type Proxy struct {
	Addr string
	URL  string // tcp://Addr

	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// NewProxy starts a proxy to target on a free loopback port; it stops when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), URL: "tcp://" + l.Addr().String(), l: l}
	go p.serve(target)
	t.Cleanup(func() { l.Close(); p.Cut() })
	return p
}

func (p *Proxy) serve(target string) {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// Cut closes every proxied connection without an MQTT DISCONNECT, as a crash would, and
// refuses new ones.
func (p *Proxy) Cut() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	p.conns = nil
}

// Drop closes every proxied connection without an MQTT DISCONNECT, as a network fault
// would, and keeps accepting new ones (the clients reconnect).
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	p.conns = nil
}

// SelfSignedCert writes a self-signed ECDSA certificate for 127.0.0.1 and localhost,
// and its key, into dir; it returns both paths and a pool trusting the certificate.
func SelfSignedCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "praxis test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// PraxisACL returns a mosquitto acl_file granting the broker package's roles: daemon
// and operator read and write praxis/#; observer reads praxis/# except the command
// topics praxis/+/cmd/# (mosquitto checks "deny" first, and checks every delivery, so
// an observer's praxis/arm1/# subscription never carries a command). docs/mqtt.md ("Security model")
// shows it to operators.
func PraxisACL(daemon, operator, observer string) string {
	return "user " + daemon + "\ntopic readwrite praxis/#\n\n" +
		"user " + operator + "\ntopic readwrite praxis/#\n\n" +
		"user " + observer + "\n" +
		"topic deny praxis/+/cmd/#\ntopic read praxis/#\n"
}

// MosquittoPub runs Debian's mosquitto_pub against addr as user with args (e.g. "-r",
// "-n", "-t", TOPIC) and fails the test when it fails.
func MosquittoPub(t testing.TB, addr, user, password string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mqtttest: mosquitto_pub not installed (apt-get install mosquitto-clients)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]string{"-h", host, "-p", port, "-u", user, "-P", password}, args...)
	if out, err := exec.CommandContext(ctx, bin, all...).CombinedOutput(); err != nil {
		t.Fatalf("mqtttest: mosquitto_pub %v: %v: %s", args, err, out)
	}
}
