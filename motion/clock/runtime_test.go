package clock

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// restoreRuntime puts GOMAXPROCS and GOGC back after a test changes them.
func restoreRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		debug.SetGCPercent(gc)
	})
}

func TestTuneRuntime(t *testing.T) {
	restoreRuntime(t)
	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(100)
	s := TuneRuntime()
	want := max(runtime.NumCPU()+2, 4)
	if s.GOMAXPROCS != want || runtime.GOMAXPROCS(0) != want {
		t.Errorf("GOMAXPROCS %d (runtime %d), want %d", s.GOMAXPROCS, runtime.GOMAXPROCS(0), want)
	}
	if s.GCPercent != TunedGCPercent || CurrentRuntime().GCPercent != TunedGCPercent {
		t.Errorf("GOGC %d, want %d", s.GCPercent, TunedGCPercent)
	}
}

func TestTuneRuntimeLeavesOperatorSettings(t *testing.T) {
	restoreRuntime(t)
	t.Setenv("GOMAXPROCS", "1")
	t.Setenv("GOGC", "150")
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(150)
	if s := TuneRuntime(); s.GOMAXPROCS != 1 || s.GCPercent != 150 {
		t.Errorf("with GOMAXPROCS=1 GOGC=150 set: %+v", s)
	}
}

func TestThreadsFIFOBadPriority(t *testing.T) {
	for _, p := range []int{0, 100, -1} {
		if err := ThreadsFIFO(p); err == nil {
			t.Errorf("priority %d accepted", p)
		}
	}
}
