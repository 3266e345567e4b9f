package daemon

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/flight"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

// TestFlightRecordingOnCancel: a run cancelled (cmd/cancel) once under way ends aborted
// and leaves exactly one flight recording, with trigger abort, a reason naming the
// cancel, the run's id and skill, and the samples of the run.
func TestFlightRecordingOnCancel(t *testing.T) {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	r := startDaemon(t, cfg, Options{})
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(t, 60*time.Second)
	ended := mqtttest.RunUnderWay(ctx, t, cli, mqttapi.RunRequest{ID: "c1", Skill: "wave", Duration: 4})
	// The cancel comes from a second connection, as `praxis run`'s Ctrl-C sends it (a client
	// waits on one command per id).
	canceller := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	if _, err := canceller.Cancel(ctx, "c1"); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	err := <-ended
	if err == nil || !strings.Contains(err.Error(), "cancel") {
		t.Fatalf("cancelled run ended with %v, want aborted naming the cancel", err)
	}
	list := waitFlights(t, r.d, "the cancel")
	if len(list) != 1 || !strings.HasSuffix(list[0].Name, "-"+flight.TriggerAbort+flight.Ext) ||
		!strings.Contains(list[0].Reason, "cancel") || list[0].Samples == 0 {
		t.Fatalf("flight recordings after the cancel: %+v", list)
	}
	h, err := flight.ReadHeader(filepath.Join(cfg.DataDir, FlightDir, list[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if h.Trigger != flight.TriggerAbort || h.RunID != "c1" || h.Skill != "wave" || !strings.Contains(h.Reason, "cancel") {
		t.Fatalf("header: trigger %q run %q skill %q reason %q; want abort, c1, wave, a reason naming the cancel", h.Trigger, h.RunID, h.Skill, h.Reason)
	}
	if want := r.d.Config().Executor.RateHz; h.RateHz != want || want == 0 {
		t.Errorf("recorded at %g Hz, the executor runs at %g Hz", h.RateHz, want)
	}
	t.Logf("%s: reason %q, %d samples", list[0].Name, h.Reason, h.Samples)
}

// TestFlightDumpCommand: cmd/flight (operators only) writes the flight recorder's present
// content now: the accepted event names the file (relative to the data directory) with its
// samples and seconds; the file's header has trigger request and the given reason. An
// observer's cmd/flight never reaches the daemon (the broker's ACL): no answer, no file.
func TestFlightDumpCommand(t *testing.T) {
	cfg := testConfig(t)
	tr := true
	cfg.Seed = &tr
	r := startDaemon(t, cfg, Options{})
	op := user(t, r.d, broker.OperatorUser)
	cli := dial(t, r.d.BrokerURL(), op.Username, op.Password)
	ctx := ctxT(t, 60*time.Second)
	if _, err := cli.Run(ctx, mqttapi.RunRequest{ID: "d1", Skill: "reach", Duration: 1}, nil); err != nil {
		t.Fatalf("run: %v", err)
	}
	e, err := cli.Flight(ctx, mqttapi.FlightRequest{ID: "fd1", Reason: "checking the last run"})
	if err != nil {
		t.Fatalf("cmd/flight: %v", err)
	}
	if e.Type != mqttapi.Accepted || e.Cmd != mqttapi.CmdFlight || !strings.HasPrefix(e.Path, FlightDir+"/") ||
		!strings.HasSuffix(e.Path, "-"+flight.TriggerRequest+flight.Ext) || e.Samples == 0 || e.Seconds <= 0 {
		t.Fatalf("cmd/flight answer: %+v; want accepted with the file under %s/, samples and seconds", e, FlightDir)
	}
	h, err := flight.ReadHeader(filepath.Join(cfg.DataDir, filepath.FromSlash(e.Path)))
	if err != nil {
		t.Fatal(err)
	}
	if h.Trigger != flight.TriggerRequest || h.Reason != "checking the last run" || h.Samples != e.Samples {
		t.Fatalf("header: trigger %q reason %q samples %d; want request, the given reason, %d samples", h.Trigger, h.Reason, h.Samples, e.Samples)
	}
	if _, err := cli.Flight(ctx, mqttapi.FlightRequest{ID: "fd2", Reason: "bad\x01reason"}); rejection(err) == nil || rejection(err).Field != "reason" {
		t.Fatalf("cmd/flight with a control character in the reason: %v, want rejected naming reason", err)
	}

	obs := user(t, r.d, broker.ObserverUser)
	ocli, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: r.d.BrokerURL(), Username: obs.Username, Password: obs.Password,
		AnswerTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ocli.Close()
	if e, err := ocli.Flight(ctx, mqttapi.FlightRequest{ID: "fd3"}); err == nil {
		t.Fatalf("an observer's cmd/flight was answered: %+v", e)
	}
	list, err := r.d.Flights().Flights()
	if err != nil || len(list) != 1 {
		t.Fatalf("flight recordings after one operator dump and an observer's try: %+v, %v", list, err)
	}
}
