package daemon

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/flight"
	"github.com/praxis-robotics/praxis/motion"
)

// FlightDir is <data>/flight: the flight recordings (internal/flight, docs/observability.md).
const FlightDir = "flight"

// flightLog implements core.FlightLog over the executor's flight recorder and
// <data>/flight. Dumps the daemon triggers (failed and aborted runs, e-stops) are copied
// out of the ring on the loop goroutine, never on the control thread, and written by
// a writer goroutine; on-demand dumps are written by the caller.
type flightLog struct {
	d    *Daemon
	dir  string
	keep int

	armed atomic.Pointer[flightSource] // set by Run once the executor exists
	// dumped is the ring's sample count at the last triggered dump (loop goroutine only):
	// a trigger with no sample since (a repeated idle e-stop, a run that never ticked)
	// writes nothing, so that it cannot rotate the recordings that matter out.
	dumped uint64
	mu     sync.Mutex // serialises writes (names, retention)
	jobs   chan flightJob
	done   chan struct{}
	once   sync.Once
}

// flightSource is the executor's flight recorder: localFlight, or childFlight when the
// executor runs in a child process.
type flightSource interface {
	Written() uint64
	// SnapshotNow copies the ring and returns the time now on the clock its samples are
	// timed by.
	SnapshotNow() (motion.FlightSnapshot, time.Duration)
}

type flightJob struct {
	rec     *flight.Recording
	trigger string
}

func newFlightLog(d *Daemon) *flightLog {
	return &flightLog{d: d, dir: filepath.Join(d.cfg.DataDir, FlightDir), keep: d.cfg.Flight.Keep,
		jobs: make(chan flightJob, 8), done: make(chan struct{})}
}

// start runs the writer goroutine; stop drains it (every queued dump is written).
func (f *flightLog) start() {
	go func() {
		defer close(f.done)
		for j := range f.jobs {
			if _, err := f.write(j.rec); err != nil {
				f.d.log.Error("flight recording not written", "trigger", j.trigger, "err", err)
				f.d.metric(func(m *metricsT) { m.Flight(j.trigger, "failed") })
			}
		}
	}()
}

func (f *flightLog) stop() {
	f.once.Do(func() { close(f.jobs) })
	<-f.done
}

// snapshot copies the ring now into a recording timed from now (t = 0), or nil when the
// recorder is off or has never recorded.
func (f *flightLog) snapshot(trigger, reason, runID, skill string) *flight.Recording {
	src := f.armed.Load()
	if src == nil || (*src).Written() == 0 {
		return nil
	}
	s, now := (*src).SnapshotNow()
	r := &flight.Recording{Header: flight.Header{Robot: f.d.cfg.RobotID, Trigger: trigger, Reason: reason,
		RunID: runID, Skill: skill, Time: time.Now(), RateHz: s.RateHz, Joints: s.Joints}}
	r.T = make([]float64, len(s.T))
	for k, t := range s.T {
		r.T[k] = (t - now).Seconds()
	}
	bad := 0
	clean := func(rows [][]float64) [][]float64 {
		for _, row := range rows {
			for i, v := range row {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					row[i] = 0
					bad++
				}
			}
		}
		return rows
	}
	r.Measured, r.Velocity, r.Planned, r.Command = clean(s.Measured), clean(s.Velocity), clean(s.Planned), clean(s.Command)
	if bad > 0 {
		f.d.log.Warn("flight recording: non-finite values written as 0", "values", bad)
	}
	return r
}

// trigger queues a dump of the ring (loop goroutine) unless nothing was recorded since the
// last; it never blocks: when the writer is behind by 8 dumps, this one is dropped and
// logged.
func (f *flightLog) trigger(trigger, reason, runID, skill string) {
	src := f.armed.Load()
	if src == nil {
		return
	}
	w := (*src).Written()
	if w == f.dumped {
		f.d.log.Debug("flight recording skipped: nothing recorded since the last", "trigger", trigger, "reason", reason)
		return
	}
	f.dumped = w
	r := f.snapshot(trigger, reason, runID, skill)
	if r == nil {
		return
	}
	select {
	case f.jobs <- flightJob{rec: r, trigger: trigger}:
	default:
		f.d.log.Warn("flight recording dropped: the writer is behind", "trigger", trigger, "reason", reason)
		f.d.metric(func(m *metricsT) { m.Flight(trigger, "dropped") })
	}
}

func (f *flightLog) write(r *flight.Recording) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, err := flight.Write(f.dir, r, f.keep)
	if name != "" {
		f.d.log.Info("flight recording written", "file", filepath.Join(f.dir, name), "trigger", r.Trigger,
			"reason", r.Reason, "samples", r.Samples)
		f.d.metric(func(m *metricsT) { m.Flight(r.Trigger, "written") })
	}
	return name, err
}

func info(name string, h flight.Header) core.FlightInfo {
	return core.FlightInfo{Name: name, Time: h.Time, Reason: h.Reason, Seconds: h.Seconds, Samples: h.Samples}
}

// Flights implements core.FlightLog: the recordings, newest first (an unreadable file is
// listed with its error as the reason).
func (f *flightLog) Flights() ([]core.FlightInfo, error) {
	list, err := flight.List(f.dir)
	if err != nil {
		return nil, err
	}
	out := make([]core.FlightInfo, len(list))
	for i, in := range list {
		out[i] = info(in.Name, in.Header)
	}
	return out, nil
}

// Flight implements core.FlightLog: one recording's samples.
func (f *flightLog) Flight(name string) (core.FlightData, error) {
	if !flight.ValidName(name) {
		return core.FlightData{}, core.Reject("name", "%q is not a flight recording name (*%s)", name, flight.Ext)
	}
	path := filepath.Join(f.dir, name)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return core.FlightData{}, core.Reject("name", "no flight recording %q", name)
	}
	r, err := flight.Read(path)
	if err != nil {
		return core.FlightData{}, err
	}
	return core.FlightData{FlightInfo: info(name, r.Header), Joints: r.Joints, T: r.T,
		Measured: r.Measured, Planned: r.Planned, Command: r.Command}, nil
}

// DumpFlight implements core.FlightLog: it writes the ring's present content now.
func (f *flightLog) DumpFlight(reason string) (core.FlightInfo, error) {
	if !*f.d.cfg.Flight.Enabled {
		return core.FlightInfo{}, core.Reject("", "the flight recorder is off (flight.enabled: false)")
	}
	if reason == "" {
		reason = "on request"
	}
	r := f.snapshot(flight.TriggerRequest, reason, "", "")
	if r == nil {
		return core.FlightInfo{}, core.Reject("", "nothing recorded yet: the flight recorder fills while skills run")
	}
	name, err := f.write(r)
	if err != nil {
		f.d.metric(func(m *metricsT) { m.Flight(flight.TriggerRequest, "failed") })
		return core.FlightInfo{}, fmt.Errorf("daemon: flight: %w", err)
	}
	return info(name, r.Header), nil
}

var _ core.FlightLog = (*flightLog)(nil)
