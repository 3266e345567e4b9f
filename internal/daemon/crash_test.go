package daemon

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// proc is a `praxis serve` subprocess whose stderr (the log) is scanned line by line.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	log   strings.Builder
	exit  chan error
}

func startServe(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), lines: make(chan string, 1024), exit: make(chan error, 1)}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
		p.exit <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
		}
	})
	return p
}

// waitLine waits for a log line containing s and returns it.
func (p *proc) waitLine(t *testing.T, s string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("daemon exited before logging %q; log:\n%s", s, p.log.String())
			}
			p.log.WriteString(l + "\n")
			if strings.Contains(l, s) {
				return l
			}
		case <-deadline:
			t.Fatalf("no log line %q in %v; log:\n%s", s, timeout, p.log.String())
		}
	}
}

// csvRows returns the complete data rows (after the header) of the CSV file at path; 0
// when it does not exist yet.
func csvRows(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(bytes.Count(b, []byte("\n"))-1, 0), nil
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestKillDuringRecording builds praxis, records and learns, kills the daemon with
// SIGKILL in the middle of a second recording, restarts it and checks that nothing
// finished was touched, the interrupted demo was recovered, and all works; then SIGINT
// ends it with status 0.
func TestKillDuringRecording(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "praxis")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/praxis-robotics/praxis/cmd/praxis").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	data := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "praxis.yaml")
	cfg := fmt.Sprintf("log_level: info\nseed: false\narm:\n  sim_hand: %s\nexecutor:\n  rate_hz: 250\nmqtt:\n  listen: %s\n",
		writeHandCSV(t, dir), addr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	p := startServe(t, bin, "serve", "--data", data, "--config", cfgPath)
	p.waitLine(t, "msg=serving", 30*time.Second)
	creds, created, err := broker.LoadOrCreateCredentials(data)
	if err != nil || created {
		t.Fatalf("credentials: %v (created %v)", err, created)
	}
	op, _ := creds.Get(broker.OperatorUser)
	url := "tcp://" + addr
	cli := dial(t, url, op.Username, op.Password)
	w := watch(t, url, op.Username, op.Password, "arm1")
	ctx := ctxT(t, 60*time.Second)

	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "ra", Action: mqttapi.RecordStart, Demo: "A"}); err != nil {
		t.Fatal(err)
	}
	w.waitAt(t, handQ1, 0.02, 15*time.Second)
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{Action: mqttapi.RecordStop}); err != nil {
		t.Fatal(err)
	}
	w.event(t, "ra", mqttapi.Succeeded, 10*time.Second)
	if ev, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "S", Demos: []string{"A"}}, nil); err != nil || ev.Version != 1 {
		t.Fatalf("learn: %+v, %v", ev, err)
	}
	files := []string{"demos/A.csv", "demos/A.json", "skills/S/v1.json", "skills/S/v1.json.sha256"}
	sums := map[string]string{}
	for _, f := range files {
		sums[f] = fileSum(t, filepath.Join(data, f))
	}

	// Record B until its .part file holds 100 rows (the recorder writes them out at each
	// fsync, every second of recorded time), then kill -9. Recorded time alone says
	// nothing about the rows on disk: under load the recorder drops ticks, and the first
	// fsync may hold fewer than 100.
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rb", Action: mqttapi.RecordStart, Demo: "B"}); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(data, "demos", "B.csv.part")
	var onDisk int
	var rowsErr error
	w.waitFor(t, "100 rows of demo B on disk", 20*time.Second, func(*watcher) bool {
		onDisk, rowsErr = csvRows(part)
		return rowsErr != nil || onDisk >= 100
	})
	if rowsErr != nil {
		t.Fatal(rowsErr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exit
	cli.Close()
	if _, err := os.Stat(filepath.Join(data, "demos", "B.csv.part")); err != nil {
		t.Fatalf("after kill -9: %v", err)
	}

	// Restart: B is recovered, A and S are untouched.
	p = startServe(t, bin, "serve", "--data", data, "--config", cfgPath)
	line := p.waitLine(t, "recovered interrupted recording", 30*time.Second)
	if !strings.Contains(line, "demo=B") {
		t.Fatalf("recovery log: %s", line)
	}
	p.waitLine(t, "msg=serving", 30*time.Second)
	for _, f := range files {
		if got := fileSum(t, filepath.Join(data, f)); got != sums[f] {
			t.Errorf("%s changed across the crash", f)
		}
	}
	// Every row written before the kill is kept (the kernel had it, fsync'd or not).
	b, err := demos.ReadCSV(filepath.Join(data, "demos", "B.csv"))
	if err != nil || b.Len() < onDisk {
		t.Fatalf("recovered B: %v, %d rows; %d were on disk before the kill", err, b.Len(), onDisk)
	}
	sc, err := demos.ReadSidecar(filepath.Join(data, "demos", "B.json"))
	if err != nil || !sc.Recovered {
		t.Fatalf("recovered B's sidecar: %+v, %v", sc, err)
	}
	t.Logf("recovered B: %d samples, %.2f s", b.Len(), b.Duration())
	if m, _ := filepath.Glob(filepath.Join(data, "demos", "*.part")); len(m) != 0 {
		t.Fatalf("left-over part files: %v", m)
	}

	cli = dial(t, url, op.Username, op.Password)
	skills, err := cli.Skills(ctx)
	if err != nil || len(skills) != 1 || skills[0].Name != "S" {
		t.Fatalf("skills after restart: %+v, %v", skills, err)
	}
	// Both demos together: cleaned, aligned and fitted as version 2.
	ev, err := cli.Learn(ctx, mqttapi.LearnRequest{Skill: "S", Demos: []string{"A", "B"}}, nil)
	if err != nil || ev.Version != 2 {
		t.Fatalf("learn from A and B: %+v, %v", ev, err)
	}
	if st, err := cli.Status(ctx); err != nil || st.Activity != mqttapi.Idle || !st.Online {
		t.Fatalf("status after restart: %+v, %v", st, err)
	}

	// SIGINT: clean exit, offline status.
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, "msg=stopped", 15*time.Second)
	for range p.lines {
	}
	if err := <-p.exit; err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
}
