package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/daemon"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns their paths and
// a pool trusting the certificate.
func selfSigned(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "praxis test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

// TestTLS: with web.tls_cert the dashboard speaks HTTPS only and the cookie is Secure.
func TestTLS(t *testing.T) {
	cert, key, pool := selfSigned(t)
	r := startDaemon(t, func(c *daemon.Config) { c.Web.TLSCert, c.Web.TLSKey = cert, key })
	if !strings.HasPrefix(r.url, "https://127.0.0.1:") {
		t.Fatalf("dashboard URL %s", r.url)
	}
	c := newClient(t, r.url)
	jar, _ := cookiejar.New(nil)
	c.http = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp := c.login("operator", r.password(t, "operator"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login over TLS: %s", resp.Status)
	}
	var secure bool
	for _, ck := range resp.Cookies() {
		secure = secure || (ck.Name == "praxis_session" && ck.Secure && ck.HttpOnly)
	}
	if !secure || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("cookies %v, HSTS %q: want a Secure session cookie and HSTS", resp.Cookies(), resp.Header.Get("Strict-Transport-Security"))
	}
	if code, m, _ := c.do("GET", "/api/me", nil, nil); code != 200 || m["role"] != "operator" {
		t.Fatalf("/api/me over TLS: %d %v", code, m)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http" + strings.TrimPrefix(r.url, "https") + "api/me"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the TLS port: %s", resp.Status)
		}
	}
}
