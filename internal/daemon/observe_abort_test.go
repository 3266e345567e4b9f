package daemon

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/core"
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
	var list []core.FlightInfo
	for deadline := time.Now().Add(20 * time.Second); len(list) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no flight recording 20 s after the cancel")
		}
		list, _ = r.d.Flights().Flights()
		if len(list) == 0 {
			time.Sleep(20 * time.Millisecond) // polling the directory, not synchronising
		}
	}
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
