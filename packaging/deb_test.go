package packaging

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDebInstall builds the amd64 .deb from the release binary, installs it on this
// machine with dpkg, runs the unit's ExecStart as the unit would (user praxis, its
// groups, CAP_SYS_NICE) until the daemon serves, then removes and purges the package and
// checks that /var/lib/praxis is kept. It needs root and a machine without praxis
// installed; it skips otherwise.
func TestDebInstall(t *testing.T) {
	dist := release(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to install a package")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb", "setpriv", "useradd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s missing: %v", tool, err)
		}
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "praxis").Output(); strings.Contains(string(out), "installed") {
		t.Skip("praxis is installed on this machine: not touching it")
	}
	if _, err := os.Stat("/var/lib/praxis"); err == nil {
		t.Skip("/var/lib/praxis exists: not touching it")
	}
	if _, err := user.Lookup("praxis"); err == nil {
		t.Skip("a praxis user exists: not touching it")
	}
	_, i2cBefore := user.LookupGroup("i2c")
	t.Cleanup(func() {
		exec.Command("dpkg", "--purge", "praxis").Run()
		os.RemoveAll("/var/lib/praxis")
		exec.Command("userdel", "praxis").Run()
		if i2cBefore != nil {
			exec.Command("groupdel", "i2c").Run()
		}
	})

	out := t.TempDir()
	for _, f := range []string{"praxis-linux-amd64"} {
		if err := os.Symlink(filepath.Join(dist, f), filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ".", "./build-deb.sh", out, testVersion, "amd64")
	debs, _ := filepath.Glob(filepath.Join(out, "praxis_*_amd64.deb"))
	if len(debs) != 1 || !strings.Contains(debs[0], "praxis_0.0.0.test_amd64.deb") {
		t.Fatalf("built %v, want praxis_0.0.0.test_amd64.deb", debs)
	}
	info := run(t, ".", "dpkg-deb", "--field", debs[0], "Package", "Version", "Architecture")
	if info != "Package: praxis\nVersion: 0.0.0.test\nArchitecture: amd64\n" {
		t.Fatalf("control fields:\n%s", info)
	}

	run(t, ".", "dpkg", "-i", debs[0])
	for _, f := range []string{"/usr/bin/praxis", "/lib/systemd/system/praxis.service", "/lib/udev/rules.d/60-praxis.rules", "/etc/praxis/praxis.yaml"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("installed: %v", err)
		}
	}
	groups := run(t, ".", "id", "-nG", "praxis")
	for _, g := range []string{"praxis", "dialout", "i2c"} {
		if !strings.Contains(" "+groups, " "+g) {
			t.Fatalf("praxis user groups %q lack %s", groups, g)
		}
	}
	if owner := run(t, ".", "stat", "-c", "%U:%G %a", "/var/lib/praxis"); owner != "praxis:praxis 750\n" {
		t.Fatalf("/var/lib/praxis is %q", owner)
	}
	unit, err := os.ReadFile("/lib/systemd/system/praxis.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=praxis", "SupplementaryGroups=dialout i2c", "Restart=on-failure",
		"StateDirectory=praxis", "LimitRTPRIO=99", "AmbientCapabilities=CAP_SYS_NICE"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).Match(unit) {
			t.Errorf("unit lacks %q", want)
		}
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		if out, err := exec.Command(sa, "verify", "/lib/systemd/system/praxis.service").CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}
	execStart := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindSubmatch(unit)
	if execStart == nil {
		t.Fatal("unit has no ExecStart")
	}

	// This machine is shared: move the installed config's broker off 1883 for the test.
	port := freePort(t)
	cfg, err := os.ReadFile("/etc/praxis/praxis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(cfg), "listen: 127.0.0.1:1883", fmt.Sprintf("listen: 127.0.0.1:%d", port), 1)
	if edited == string(cfg) {
		t.Fatal("installed config has no `listen: 127.0.0.1:1883`")
	}
	if err := os.WriteFile("/etc/praxis/praxis.yaml", []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	// As systemd would: user praxis with its groups, CAP_SYS_NICE ambient, in /var/lib/praxis.
	argv := append([]string{"setpriv", "--reuid=praxis", "--regid=praxis", "--init-groups",
		"--inh-caps=+sys_nice", "--ambient-caps=+sys_nice", "--"}, strings.Fields(string(execStart[1]))...)
	d := startDaemon(t, []string{"HOME=/var/lib/praxis"}, argv...)
	if d.broker != fmt.Sprintf("tcp://127.0.0.1:%d", port) {
		t.Fatalf("serving on %s, want port %d", d.broker, port)
	}
	if !strings.Contains(d.logs(), "control thread runs SCHED_FIFO") {
		t.Errorf("with CAP_SYS_NICE the control thread should get SCHED_FIFO; log:\n%s", d.logs())
	}
	d.stop(t)
	for _, f := range []string{"/var/lib/praxis/mqtt-credentials.yaml", "/var/lib/praxis/skills/wave"} {
		if o := run(t, ".", "stat", "-c", "%U", f); o != "praxis\n" {
			t.Fatalf("%s owned by %q, want praxis", f, o)
		}
	}

	run(t, ".", "dpkg", "-r", "praxis")
	if _, err := os.Stat("/usr/bin/praxis"); !os.IsNotExist(err) {
		t.Fatalf("/usr/bin/praxis after dpkg -r: %v", err)
	}
	run(t, ".", "dpkg", "--purge", "praxis")
	if _, err := os.Stat("/etc/praxis/praxis.yaml"); !os.IsNotExist(err) {
		t.Fatalf("config after purge: %v", err)
	}
	if _, err := user.Lookup("praxis"); err == nil {
		t.Fatal("praxis user left after purge")
	}
	if _, err := os.Stat("/var/lib/praxis/skills/wave"); err != nil {
		t.Fatalf("data lost on removal: %v", err)
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
