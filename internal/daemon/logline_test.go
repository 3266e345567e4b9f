package daemon

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/motion"
)

// logLine renders attrs as the daemon's text handler does.
func logLine(msg string, attrs []any) string {
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info(msg, attrs...)
	return b.String()
}

func TestLogLinesCarryOnlySetFields(t *testing.T) {
	ok := logLine("recording ended", recEndAttrs(
		core.Event{Type: core.Succeeded, Seconds: 1.6099999999999999, Path: "demos/hello.csv"},
		recResult{demo: "hello", res: demos.Result{Samples: 161, Duration: 1610 * time.Millisecond}}))
	for _, want := range []string{"demo=hello", "outcome=succeeded", "samples=161", "seconds=1.61 ", "path=demos/hello.csv"} {
		if !strings.Contains(ok, want) {
			t.Errorf("recording line %q lacks %q", ok, want)
		}
	}
	for _, bad := range []string{"err=", "torque_note"} {
		if strings.Contains(ok, bad) {
			t.Errorf("recording line %q carries unset %q", ok, bad)
		}
	}
	failed := logLine("recording ended", recEndAttrs(core.Event{Type: core.Failed},
		recResult{demo: "x", err: errors.New("arm stopped answering"), res: demos.Result{TorqueNote: "torque stayed off"}}))
	if !strings.Contains(failed, `err="arm stopped answering"`) || !strings.Contains(failed, `torque_note="torque stayed off"`) {
		t.Errorf("failed recording line %q lacks its err and torque_note", failed)
	}

	aborted := logLine("run ended", runEndAttrs(core.Event{ID: "r1", Type: core.Aborted, Reason: "e-stop"},
		motion.Result{Outcome: motion.Aborted, FinalError: 0.3, Duration: 1.2345678}))
	if strings.Contains(aborted, "final_error") || !strings.Contains(aborted, "reason=e-stop") || !strings.Contains(aborted, "duration_s=1.235") {
		t.Errorf("aborted run line %q: want a reason, duration_s=1.235 and no final_error", aborted)
	}
	done := logLine("run ended", runEndAttrs(core.Event{ID: "r2", Type: core.Succeeded},
		motion.Result{Outcome: motion.Succeeded, FinalError: 0.0021608760373402758, Duration: 3.400392735}))
	if !strings.Contains(done, "final_error=0.002161 ") || strings.Contains(done, "reason=") || !strings.Contains(done, "duration_s=3.4") {
		t.Errorf("succeeded run line %q: want final_error=0.002161, duration_s=3.4, no reason", done)
	}
}
