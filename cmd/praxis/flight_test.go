package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/internal/flight"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// TestFlightShowAfterEStop: a daemon on the simulated arm is e-stopped during a run; the
// flight recording it writes is listed by `praxis flight list`, summarised by `praxis
// flight show` (reason, the arm's joints) and exported by `--csv -o` with the documented
// header and one row per sample.
func TestFlightShowAfterEStop(t *testing.T) {
	data := t.TempDir()
	tr := true
	cfg := daemon.Config{DataDir: data, Seed: &tr, LogLevel: "warn", Executor: daemon.ExecutorConfig{RateHz: 250},
		MQTT: daemon.MQTTConfig{Listen: "127.0.0.1:0"}}
	d, cli, dctx := startDaemonClient(t, cfg, 60*time.Second)
	ended := mqtttest.RunUnderWay(dctx, t, cli, mqttapi.RunRequest{ID: "f1", Skill: "wave", Duration: 4})
	if _, err := cli.EStop(dctx); err != nil {
		t.Fatal(err)
	}
	<-ended
	var list []flight.Info
	for deadline := time.Now().Add(20 * time.Second); len(list) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no flight recording 20 s after the e-stop")
		}
		list, _ = flight.List(filepath.Join(data, daemon.FlightDir))
		if len(list) == 0 {
			time.Sleep(20 * time.Millisecond) // polling the directory, not synchronising
		}
	}
	file := filepath.Join(data, daemon.FlightDir, list[0].Name)
	names := joint.Names(d.Arm().Joints())

	stdout, stderr, status := offlineRun(t, "flight", "list", "--data", data)
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "flight list", stdout, list[0].Name, "estop", "e-stop")

	stdout, stderr, status = offlineRun(t, "flight", "show", file)
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "flight show", stdout, "e-stop (trigger estop)", "f1 (skill wave)", "250 Hz", "max tracking error")
	for _, j := range names {
		wantContains(t, "flight show", stdout, "\n"+j+" ")
	}

	csv := filepath.Join(t.TempDir(), "out.csv")
	stdout, stderr, status = offlineRun(t, "flight", "show", file, "--csv", "-o", csv)
	wantStatus(t, status, 0, stdout, stderr)
	f, err := os.Open(csv)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	sc.Scan()
	wantHeader := "t"
	for _, j := range names {
		wantHeader += "," + j + "_measured," + j + "_velocity," + j + "_planned," + j + "_command"
	}
	if sc.Text() != wantHeader {
		t.Fatalf("CSV header %q, want %q", sc.Text(), wantHeader)
	}
	rows := 0
	for sc.Scan() {
		if n := strings.Count(sc.Text(), ","); n != 4*len(names) {
			t.Fatalf("CSV row %d has %d commas", rows+1, n)
		}
		rows++
	}
	// The run lasted under the ring's 10 s: every tick that reached the arm is a row.
	if rows != list[0].Samples || rows < 1 || rows > 2501 {
		t.Fatalf("CSV has %d rows; the recording %d samples", rows, list[0].Samples)
	}
}

// TestFlightShowBadFile: a corrupt or foreign file is bad input with a message naming it.
func TestFlightShowBadFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "x"+flight.Ext)
	os.WriteFile(bad, []byte("garbage"), 0o644)
	wantBadInput(t, bad+": not a valid flight recording: not gzip-compressed", "flight", "show", bad)
	wantBadInput(t, "-o needs --csv", "flight", "show", bad, "-o", filepath.Join(dir, "o.csv"))
	stdout, stderr, status := offlineRun(t, "flight", "list", "--data", dir)
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "flight list of an empty directory", stdout, "no flight recordings")
}

// startDaemonClient runs a real daemon with cfg until the test ends and returns it with an
// operator's MQTT client and a context of the given timeout for the test's commands.
func startDaemonClient(t *testing.T, cfg daemon.Config, timeout time.Duration) (*daemon.Daemon, *mqttapi.Client, context.Context) {
	t.Helper()
	d, err := daemon.New(cfg, daemon.Options{Stdout: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	select {
	case <-d.Ready():
	case err := <-errc:
		t.Fatalf("daemon: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon not ready")
	}
	op, _ := d.Credentials().Get(broker.OperatorUser)
	dctx, dcancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(dcancel)
	cli, err := mqttapi.Dial(dctx, mqttapi.ClientConfig{Broker: d.BrokerURL(), Username: op.Username, Password: op.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return d, cli, dctx
}
