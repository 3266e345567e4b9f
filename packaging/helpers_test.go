// Package packaging's tests check the release artefacts where they will run: the
// arm64 and armv7 binaries under Debian's qemu-user-static, the Debian package installed
// with dpkg, and the figures in the README (binary size, RSS, start time).
package packaging

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Targets of make release: name → GOOS, GOARCH, GOARM, qemu-user binary.
var targets = []struct{ name, goarch, goarm, qemu string }{
	{"amd64", "amd64", "", ""},
	{"arm64", "arm64", "", "qemu-aarch64-static"},
	{"armv7", "arm", "7", "qemu-arm-static"},
}

// Stamps given to binaries the tests build themselves.
const (
	testVersion = "v0.0.0-test"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
	testDate    = "2026-12-01T00:00:00Z"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	stamped   bool // binaries carry the test stamps
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" && os.Getenv("PRAXIS_DIST") == "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// release returns the directory holding praxis-linux-{amd64,arm64,armv7}: $PRAXIS_DIST
// (make test-release builds it with make release), else a build of the current tree
// with the release flags (static, -trimpath, stamped).
func release(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds release binaries; skipped with -short")
	}
	buildOnce.Do(func() {
		if d := os.Getenv("PRAXIS_DIST"); d != "" {
			buildDir = d
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "praxis-release-")
		if buildErr != nil {
			return
		}
		stamped = true
		ld := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s -X main.buildDate=%s", testVersion, testCommit, testDate)
		for _, tg := range targets {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags="+ld, "-o", filepath.Join(buildDir, "praxis-linux-"+tg.name), "./cmd/praxis")
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+tg.goarch, "GOARM="+tg.goarm)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", tg.name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// command returns the argv running target tg's binary in dist (through qemu-user for
// foreign architectures), or skips when qemu-user-static is missing.
func command(t testing.TB, dist string, tg string, args ...string) []string {
	t.Helper()
	for _, x := range targets {
		if x.name != tg {
			continue
		}
		bin := filepath.Join(dist, "praxis-linux-"+tg)
		if x.qemu == "" {
			return append([]string{bin}, args...)
		}
		q, err := exec.LookPath(x.qemu)
		if err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs qemu-user-static): %v", x.qemu, err)
		}
		return append([]string{q, bin}, args...)
	}
	t.Fatalf("no target %s", tg)
	return nil
}

// run runs argv in dir and returns its stdout; a failure fails the test with stderr.
func run(t testing.TB, dir string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(argv, " "), err, out, stderr.String())
	}
	return string(out)
}

// daemon is a running praxis serve.
type daemon struct {
	cmd     *exec.Cmd
	broker  string        // tcp://host:port of its embedded broker
	startup time.Duration // from exec to the "serving" log line
	exited  chan error
	logMu   sync.Mutex
	log     strings.Builder // stderr so far
}

// logs returns what the daemon logged so far.
func (d *daemon) logs() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()
}

var servingRE = regexp.MustCompile(`msg=serving .*broker=(\S+)`)

// startDaemon starts argv (a praxis serve command line) and waits for its "serving" log
// line on stderr; it is killed at the end of the test.
func startDaemon(t testing.TB, env []string, argv ...string) *daemon {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, exited: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.logMu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.logMu.Unlock()
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		d.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-d.exited
		}
	})
	select {
	case d.broker = <-found:
		d.startup = time.Since(start)
	case err := <-d.exited:
		t.Fatalf("%s exited before serving: %v\n%s", strings.Join(argv, " "), err, d.logs())
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s: not serving after 2 minutes", strings.Join(argv, " "))
	}
	return d
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(t testing.TB) {
	t.Helper()
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		} else if err != nil {
			t.Fatalf("daemon exit: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("daemon did not stop within a minute of SIGINT")
	}
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// serveConfig writes a daemon config into dir: embedded broker on a free loopback port,
// data in dir/data, the executor as given (YAML flow mapping, e.g. "{rate_hz: 500}").
func serveConfig(t testing.TB, dir, executor string) string {
	t.Helper()
	p := filepath.Join(dir, "praxis.yaml")
	cfg := fmt.Sprintf("data_dir: %s\nmqtt: {listen: \"127.0.0.1:0\"}\nexecutor: %s\n", filepath.Join(dir, "data"), executor)
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
