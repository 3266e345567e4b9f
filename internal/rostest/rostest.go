// Package rostest starts a real ROS 1 master (Debian's rosmaster) for tests and gives
// the environment the Python ROS tools (rostopic, rosservice, rospy) need to reach it.
// Tests skip, saying why, when rosmaster is not installed (scripts/deps.sh installs it).
package rostest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/goroslib/v2/pkg/apimaster"
)

// Python is the interpreter the Debian ROS packages are installed for.
const Python = "/usr/bin/python3"

// Master is a running rosmaster.
type Master struct {
	t    testing.TB
	Port int
	Addr string // "127.0.0.1:PORT", for goroslib
	URI  string // "http://127.0.0.1:PORT", for ROS_MASTER_URI
	home string
	cmd  *exec.Cmd
	done chan struct{}
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Need skips t when the named commands are not installed.
func Need(t testing.TB, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs the Debian ROS packages): %v", c, err)
		}
	}
}

// StartMaster starts `rosmaster --core -p PORT` on a free port and waits until it answers
// (at most 30 s). It is killed when the test ends.
func StartMaster(t testing.TB) *Master {
	t.Helper()
	Need(t, "rosmaster")
	m := &Master{t: t, home: t.TempDir()}
	m.Port = FreePort(t)
	m.start()
	t.Cleanup(m.Kill)
	return m
}

func (m *Master) start() {
	m.t.Helper()
	m.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port))
	m.URI = "http://" + m.Addr
	m.cmd = exec.Command("rosmaster", "--core", "-p", strconv.Itoa(m.Port))
	m.cmd.Env = m.Env()
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(m.home, "rosmaster.log"))
	if err != nil {
		m.t.Fatal(err)
	}
	m.cmd.Stdout, m.cmd.Stderr = out, out
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("rosmaster: %v", err)
	}
	m.done = make(chan struct{})
	go func() { _ = m.cmd.Wait(); out.Close(); close(m.done) }()
	if err := m.wait(30 * time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(m.home, "rosmaster.log"))
		m.t.Fatalf("rosmaster on %s: %v\n%s", m.Addr, err, log)
	}
}

// wait polls the master's getUri until it answers; the master gives no other signal.
func (m *Master) wait(limit time.Duration) error {
	c := apimaster.NewClient(m.Addr, "/rostest", &http.Client{Timeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for backoff := 20 * time.Millisecond; ; backoff = min(2*backoff, 200*time.Millisecond) {
		if _, err := c.GetURI(); err == nil {
			return nil
		}
		select {
		case <-m.done:
			return fmt.Errorf("rosmaster exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
}

// Kill stops the master (SIGKILL to its process group) and waits for it.
func (m *Master) Kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.done
	m.cmd = nil
}

// Restart kills the master and starts a fresh one on the same port (all registrations
// are lost, as when a real master restarts).
func (m *Master) Restart() {
	m.t.Helper()
	m.Kill()
	m.start()
}

// Env returns the environment for ROS tools talking to this master: ROS_MASTER_URI,
// ROS_IP=127.0.0.1 and ROS_HOME/ROS_LOG_DIR in the test's temporary directory.
func (m *Master) Env() []string {
	return append(os.Environ(), "ROS_MASTER_URI="+m.URI, "ROS_IP=127.0.0.1",
		"ROS_HOME="+m.home, "ROS_LOG_DIR="+filepath.Join(m.home, "log"), "PYTHONUNBUFFERED=1")
}

// Command returns a command run with Env.
func (m *Master) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, name, args...)
	c.Env = m.Env()
	return c
}
