package clock

import (
	"os"
	"runtime"
	"runtime/debug"
)

// TunedGCPercent is the collector's GOGC that TuneRuntime sets: a collection when the
// heap has grown by 4× the live heap, instead of Go's default 1×.
const TunedGCPercent = 400

// RuntimeSettings are the Go runtime settings in effect after TuneRuntime.
type RuntimeSettings struct {
	GOMAXPROCS int `json:"gomaxprocs"` // Ps: goroutines running Go code at once
	GCPercent  int `json:"gc_percent"` // the collector's GOGC (-1: off)
}

// TuneRuntime sets the Go runtime of a process whose control loop (motion's executor,
// on its locked thread) shares the process with other work: the daemon calls it once at
// start, before the executor starts. It
//   - raises GOMAXPROCS to NumCPU+2 (at least 4): the locked control thread, waking from
//     its sleep, needs a free P to run; with only NumCPU Ps, the allocator and the
//     collector's workers often hold them all and the thread waits for one to be
//     preempted (milliseconds);
//   - sets GOGC to TunedGCPercent: 4× fewer collections, so 4× fewer stop-the-world
//     pauses and mark phases the loop can be caught in, for a heap up to 5× the live
//     heap instead of 2×.
//
// Either is left alone when its environment variable (GOMAXPROCS, GOGC) is set, so an
// operator can override it. Measured effect: docs/realtime.md.
func TuneRuntime() RuntimeSettings {
	if os.Getenv("GOMAXPROCS") == "" {
		if n := max(runtime.NumCPU()+2, 4); n > runtime.GOMAXPROCS(0) {
			runtime.GOMAXPROCS(n)
		}
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(TunedGCPercent)
	}
	return CurrentRuntime()
}

// CurrentRuntime returns the settings in effect.
func CurrentRuntime() RuntimeSettings {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return RuntimeSettings{GOMAXPROCS: runtime.GOMAXPROCS(0), GCPercent: p}
}
