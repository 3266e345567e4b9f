package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/flight"
	"github.com/praxis-robotics/praxis/internal/metrics"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// TestMetricsAndFlightRecorder runs a daemon on the simulated arm with its own metrics
// listener: a run that succeeds, a rejected run, a skills listing, then a run stopped by
// the e-stop and a reset. The scrape over HTTP must show exactly those commands and runs,
// a period histogram consistent with the flight recording's samples, and the e-stop must
// leave a flight recording of the arm's joints.
func TestMetricsAndFlightRecorder(t *testing.T) {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	cfg.Metrics.Listen = "127.0.0.1:0"
	r := startDaemon(t, cfg, Options{})
	url := "http://" + r.d.MetricsAddr() + "/metrics"
	before, err := metrics.Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(t, 60*time.Second)

	if _, err := cli.Run(ctx, mqttapi.RunRequest{ID: "ok1", Skill: "reach", Duration: 1}, nil); err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := cli.Run(ctx, mqttapi.RunRequest{ID: "bad1", Skill: "no_such_skill"}, nil); rejection(err) == nil {
		t.Fatalf("run of an unknown skill: %v, want a rejection", err)
	}
	if _, err := cli.Skills(ctx); err != nil {
		t.Fatal(err)
	}
	// A run stopped by the e-stop once it is under way (a progress event: 100 ms in).
	ended := mqtttest.RunUnderWay(ctx, t, cli, mqttapi.RunRequest{ID: "stop1", Skill: "wave", Duration: 4})
	if _, err := cli.EStop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; err == nil || !strings.Contains(err.Error(), "e-stop") {
		t.Fatalf("run stop1 under e-stop ended with %v", err)
	}
	if _, err := cli.Reset(ctx); err != nil {
		t.Fatal(err)
	}

	// The e-stop's flight recording is written off the control thread: wait for it.
	list := waitFlights(t, r.d, "the e-stop")
	if len(list) != 1 || list[0].Reason != "e-stop" || !strings.HasSuffix(list[0].Name, "-estop"+flight.Ext) {
		t.Fatalf("flight recordings %+v, want one e-stop", list)
	}
	fd, err := r.d.Flights().Flight(list[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	names := joint.Names(r.d.Arm().Joints())
	if strings.Join(fd.Joints, ",") != strings.Join(names, ",") || len(fd.T) != fd.Samples || len(fd.Measured) != fd.Samples {
		t.Fatalf("flight data joints %v (arm %v), %d samples, %d times", fd.Joints, names, fd.Samples, len(fd.T))
	}
	// Both runs lasted well under the ring's 10 s, so it holds every tick that reached
	// the arm: run ok1's 1 s of plan at 250 Hz takes at least 63 ticks (a tick integrates
	// at most MaxDt, 4 periods).
	if fd.Samples < 63 || fd.Samples > 2501 || fd.T[len(fd.T)-1] > 0 {
		t.Fatalf("flight recording: %d samples ending at %v s", fd.Samples, fd.T[len(fd.T)-1])
	}
	if _, err := r.d.Flights().Flight("../x" + flight.Ext); err == nil {
		t.Fatal("a path outside the flight directory was read")
	}
	var rej *core.Rejection
	if _, err := r.d.Flights().Flight("none" + flight.Ext); !errors.As(err, &rej) || rej.Field != "name" {
		t.Fatalf("unknown recording: %v", err)
	}

	after, err := metrics.Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	delta := func(name string, labels ...string) float64 {
		return after.Sum(name, labels...) - before.Sum(name, labels...)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"praxis_runs_total", []string{`outcome="succeeded"`}, 1},
		{"praxis_runs_total", []string{`outcome="aborted"`}, 1},
		{"praxis_runs_total", []string{`outcome="failed"`}, 0},
		{"praxis_commands_total", []string{`cmd="run"`, `outcome="accepted"`}, 2},
		{"praxis_commands_total", []string{`cmd="run"`, `outcome="rejected"`}, 1},
		{"praxis_commands_total", []string{`cmd="skills"`, `outcome="accepted"`}, 1},
		{"praxis_commands_total", []string{`cmd="estop"`, `outcome="accepted"`}, 1},
		{"praxis_commands_total", []string{`cmd="reset"`, `outcome="accepted"`}, 1},
		{"praxis_commands_total", []string{`outcome="shed"`}, 0},
		{"praxis_commands_total", nil, 6},
		{"praxis_run_tracking_error_max_radians_count", nil, 2},
		{"praxis_flight_recordings_total", []string{`trigger="estop"`, `result="written"`}, 1},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Every tick of both runs reached the arm (into the ring) but the last of stop1, which
	// saw the e-stop; the first tick of each run is unpaced (not in the histogram).
	if got, want := delta("praxis_control_period_error_seconds_count"), float64(fd.Samples-1); got != want {
		t.Errorf("period histogram: %v observations; the flight recording holds %d samples (want samples − 1)", got, fd.Samples)
	}
	if inf := after.Sum("praxis_control_period_error_seconds_bucket", `le="+Inf"`); inf != after.Sum("praxis_control_period_error_seconds_count") {
		t.Errorf("+Inf bucket %v != count", inf)
	}
	for _, name := range []string{"praxis_tracking_error_radians", "go_goroutines", "process_cpu_seconds_total", "praxis_control_overruns_total"} {
		if _, ok := after[name]; !ok {
			t.Errorf("scrape lacks %s", name)
		}
	}
	// The handler the dashboard mounts serves the same registry.
	rec := &bytesResponse{h: http.Header{}}
	r.d.MetricsHandler().ServeHTTP(rec, httpGet(t))
	if !strings.Contains(rec.b.String(), "praxis_runs_total") {
		t.Errorf("MetricsHandler output lacks praxis_runs_total")
	}
	// On demand.
	in, err := r.d.Flights().DumpFlight("")
	if err != nil || in.Reason != "on request" || in.Samples != fd.Samples {
		t.Fatalf("DumpFlight: %+v, %v; want %d samples", in, err, fd.Samples)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, FlightDir, in.Name)); err != nil {
		t.Fatal(err)
	}
}

type bytesResponse struct {
	h    http.Header
	b    bytes.Buffer
	code int
}

func (b *bytesResponse) Header() http.Header         { return b.h }
func (b *bytesResponse) Write(p []byte) (int, error) { return b.b.Write(p) }
func (b *bytesResponse) WriteHeader(c int)           { b.code = c }

func httpGet(t *testing.T) *http.Request {
	req, err := http.NewRequest(http.MethodGet, "/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestMetricsRecordingAndLearn: a recording guided by the simulated hand adds exactly its
// samples to praxis_recording_samples_total; a learn and a failed learn each add one
// observation to praxis_learn_duration_seconds under their outcome. Scraped through
// MetricsHandler, as the dashboard serves it.
func TestMetricsRecordingAndLearn(t *testing.T) {
	cfg := testConfig(t)
	cfg.Arm.SimHand = writeHandCSV(t, t.TempDir())
	r := startDaemon(t, cfg, Options{})
	srv := httptest.NewServer(r.d.MetricsHandler())
	defer srv.Close()
	before, err := metrics.Scrape(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	w := watch(t, r.d.BrokerURL(), op.Username, op.Password, "arm1")
	ctx := ctxT(t, 60*time.Second)
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1", Action: mqttapi.RecordStart, Demo: "demo1"}); err != nil {
		t.Fatal(err)
	}
	w.waitAt(t, handQ1, 0.02, 15*time.Second)
	if _, err := cli.Record(ctx, mqttapi.RecordRequest{ID: "rec1s", Action: mqttapi.RecordStop}); err != nil {
		t.Fatal(err)
	}
	done := w.event(t, "rec1", mqttapi.Succeeded, 10*time.Second)
	if _, err := cli.Learn(ctx, mqttapi.LearnRequest{ID: "l1", Skill: "reach2", Demos: []string{"demo1"}}, nil); err != nil {
		t.Fatal(err)
	}
	// A demo that is not a CSV: accepted, then the fit fails.
	if err := os.WriteFile(filepath.Join(cfg.DataDir, DemosDir, "junk.csv"), []byte("t,a\nx,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Learn(ctx, mqttapi.LearnRequest{ID: "l2", Skill: "junk", Demos: []string{"junk"}}, nil); err == nil {
		t.Fatal("learn from a corrupt demo succeeded")
	}
	after, err := metrics.Scrape(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	delta := func(name string, labels ...string) float64 {
		return after.Sum(name, labels...) - before.Sum(name, labels...)
	}
	if got := delta("praxis_recording_samples_total"); got != float64(done.Samples) || got == 0 {
		t.Errorf("recording samples moved by %v; the recording has %d", got, done.Samples)
	}
	if ok, bad := delta("praxis_learn_duration_seconds_count", `outcome="succeeded"`), delta("praxis_learn_duration_seconds_count", `outcome="failed"`); ok != 1 || bad != 1 {
		t.Errorf("learn durations: %v succeeded, %v failed; want 1 and 1", ok, bad)
	}
	if s := delta("praxis_learn_duration_seconds_sum"); !(s > 0) {
		t.Errorf("learn durations sum to %v s", s)
	}
	if got := delta("praxis_commands_total", `cmd="record"`, `outcome="accepted"`); got != 2 {
		t.Errorf("record commands accepted moved by %v, want 2", got)
	}
	if got := delta("praxis_commands_total", `cmd="learn"`, `outcome="accepted"`); got != 2 {
		t.Errorf("learn commands accepted moved by %v, want 2", got)
	}
}

// failingArm is the simulated arm whose reads fail once told to.
type failingArm struct {
	*simarm.Arm
	fail atomic.Bool
}

func (a *failingArm) Read(ctx context.Context, s *joint.State) error {
	if a.fail.Load() {
		return errors.New("test: read failed")
	}
	return a.Arm.Read(ctx, s)
}

// TestFlightRecordingOnFault: a run failed by the read watchdog leaves a flight recording
// with trigger fault and the run's reason, and counts as a failed run.
func TestFlightRecordingOnFault(t *testing.T) {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	sa, err := simarm.New(simarm.Config{Model: "so101"})
	if err != nil {
		t.Fatal(err)
	}
	arm := &failingArm{Arm: sa}
	r := startDaemon(t, cfg, Options{ArmOverride: arm})
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(t, 60*time.Second)
	ended := mqtttest.RunUnderWay(ctx, t, cli, mqttapi.RunRequest{ID: "f1", Skill: "wave", Duration: 4})
	arm.fail.Store(true)
	if err := <-ended; err == nil || !strings.Contains(err.Error(), "watchdog") {
		t.Fatalf("run with failing reads ended with %v", err)
	}
	list := waitFlights(t, r.d, "the fault")
	if !strings.HasSuffix(list[0].Name, "-fault"+flight.Ext) || !strings.Contains(list[0].Reason, "watchdog") || list[0].Samples == 0 {
		t.Fatalf("flight recordings after the fault: %+v", list)
	}
	h, err := flight.ReadHeader(filepath.Join(cfg.DataDir, FlightDir, list[0].Name))
	if err != nil || h.RunID != "f1" || h.Skill != "wave" || h.Trigger != flight.TriggerFault {
		t.Fatalf("header %+v, %v", h, err)
	}
}

// TestIdleEStopsDoNotRotateRecordings: e-stops while idle write a recording only when
// something was recorded since the last one, so a burst of them cannot push the
// recordings that matter out of the retention.
func TestIdleEStopsDoNotRotateRecordings(t *testing.T) {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	r := startDaemon(t, cfg, Options{})
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(t, 60*time.Second)
	// Nothing recorded yet: an idle e-stop writes nothing, and a request is refused.
	if _, err := cli.EStop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	var rej *core.Rejection
	if _, err := r.d.Flights().DumpFlight("x"); !errors.As(err, &rej) {
		t.Fatalf("DumpFlight with nothing recorded: %v", err)
	}
	if _, err := cli.Run(ctx, mqttapi.RunRequest{ID: "ok1", Skill: "reach", Duration: 0.5}, nil); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := cli.EStop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Reset(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Each e-stop wakes the loop (signals may coalesce); the first it handles after the run
	// queues a dump, the others find nothing recorded since. Wait for that one, stop the
	// daemon (which drains the writer), then check no other came.
	var list []core.FlightInfo
	for deadline := time.Now().Add(20 * time.Second); len(list) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no flight recording after the idle e-stops")
		}
		list, _ = r.d.Flights().Flights()
		if len(list) == 0 {
			time.Sleep(20 * time.Millisecond) // polling the directory, not synchronising
		}
	}
	r.stop(t) // drains the writer
	list, _ = r.d.Flights().Flights()
	if len(list) != 1 || list[0].Reason != "e-stop (no run)" {
		t.Fatalf("after 6 idle e-stops around one run: %+v, want one recording", list)
	}
}

// TestBrokerDropsCountedShed: commands the embedded broker drops beyond a client's rate
// never reach the daemon, yet count as shed: every command published is counted once.
func TestBrokerDropsCountedShed(t *testing.T) {
	cfg := testConfig(t)
	cfg.MQTT.ClientCommandRate, cfg.MQTT.ClientCommandBurst = 1, 5
	r := startDaemon(t, cfg, Options{})
	srv := httptest.NewServer(r.d.MetricsHandler())
	defer srv.Close()
	op := user(t, r.d, broker.OperatorUser)
	w := watch(t, r.d.BrokerURL(), op.Username, op.Password, "arm1")
	const n = 20
	for i := range n {
		w.publish(t, "skills", fmt.Sprintf(`{"id":"s%d"}`, i)) // QoS 1: acknowledged, dropped or not
	}
	var s metrics.Samples
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if s, err = metrics.Scrape(srv.URL); err != nil {
			t.Fatal(err)
		}
		if s.Sum("praxis_commands_total", `cmd="skills"`) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the counters, not synchronising
	}
	acc, shed := s.Sum("praxis_commands_total", `cmd="skills"`, `outcome="accepted"`), s.Sum("praxis_commands_total", `cmd="skills"`, `outcome="shed"`)
	if acc+shed != n || shed < n-5-2 || s.Sum("praxis_commands_total", `outcome="rejected"`) != 0 {
		t.Fatalf("%d skills commands published: %v accepted, %v shed (burst 5 at 1/s)", n, acc, shed)
	}
}

// waitFlights returns the daemon's flight recordings once there is one: they are written
// off the control thread a moment after their trigger (what, for the failure message).
func waitFlights(t *testing.T, d *Daemon, what string) []core.FlightInfo {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		list, err := d.Flights().Flights()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("no flight recording 20 s after %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling the directory, not synchronising
	}
}
