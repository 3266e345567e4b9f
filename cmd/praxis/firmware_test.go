package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/firmware-bridge/fwsim"
)

// TestFirmwareScan finds the reference firmware, running under simavr on a pty.
func TestFirmwareScan(t *testing.T) {
	b, err := fwsim.Start(fwsim.Config{NoPlant: true})
	if errors.Is(err, fwsim.ErrToolchain) {
		t.Skipf("cannot run the firmware: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out, errs, status := offlineRun(t, "firmware", "scan", "--port", b.Port, "--bauds", "115200", "--timeout", "20s")
	if status != 0 {
		t.Fatalf("status %d, stderr %s", status, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("output:\n%s", out)
	}
	f := strings.Fields(lines[1])
	want := []string{b.Port, "115200", "1", "1.0", "6", "0x3F", "500-2500", "250"}
	if strings.Join(f, " ") != strings.Join(want, " ") {
		t.Fatalf("row %q, want %q", f, want)
	}
}

func TestFirmwareScanErrors(t *testing.T) {
	_, errs, status := offlineRun(t, "firmware", "scan", "--port", "/dev/x", "--bauds", "fast")
	if status != exitBadInput || !strings.Contains(errs, "--bauds") {
		t.Fatalf("status %d, stderr %q", status, errs)
	}
	_, errs, status = offlineRun(t, "firmware", "scan", "--port", "/nonexistent/tty", "--timeout", "100ms")
	if status != exitFailure || !strings.Contains(errs, "no firmware-bridge board answered") {
		t.Fatalf("status %d, stderr %q", status, errs)
	}
}
