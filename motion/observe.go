package motion

// Observability hooks of the executor: loop counters and the flight recorder. The control
// thread writes them with atomic stores only (no locks, no allocation); readers (a metrics
// collector, a flight dump) read them at any time from other goroutines and never make the
// control thread wait. This package does not import any metrics library: internal/metrics
// turns these figures into Prometheus metrics at scrape time.

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// PeriodErrorBuckets are the upper bounds, s, of the period-error histogram of Counters:
// from 10 µs to 100 ms, fitting a 1 kHz or 500 Hz loop (its period is 1 or 2 ms), with the
// real-time targets of docs/realtime.md (p99 ≤ 250 µs, max ≤ 2 ms) as bounds of their own.
var PeriodErrorBuckets = []float64{10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 250e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3}

// TrackingErrorBuckets are the upper bounds, rad, of the per-run peak tracking-error
// histogram of Counters.
var TrackingErrorBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1}

// Histogram is a fixed-bucket histogram written by one goroutine with atomic operations
// (no locks, no allocation) and read by any. A reader may see an observation in the
// count but not yet in the sum (or the reverse); each figure is itself exact.
type Histogram struct {
	bounds []float64
	counts []atomic.Uint64 // per bucket (not cumulative); the last one is +Inf
	sum    atomic.Uint64   // float64 bits; one writer, so load-add-store is safe
}

// NewHistogram returns a histogram with the given ascending upper bounds.
func NewHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe adds v. Only one goroutine may call it (the control thread).
func (h *Histogram) Observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Store(math.Float64bits(math.Float64frombits(h.sum.Load()) + v))
}

// Snapshot returns the number of observations, their sum and the cumulative count per
// upper bound (as Prometheus wants it). It allocates; call it off the control thread.
func (h *Histogram) Snapshot() (count uint64, sum float64, cumulative map[float64]uint64) {
	cumulative = make(map[float64]uint64, len(h.bounds))
	for i, b := range h.bounds {
		count += h.counts[i].Load()
		cumulative[b] = count
	}
	count += h.counts[len(h.bounds)].Load()
	return count, math.Float64frombits(h.sum.Load()), cumulative
}

// Counters are the executor's loop figures (Config.Counters). The executor adds to them on
// its control thread; read them from anywhere.
type Counters struct {
	// PeriodError is |actual − nominal period| of every paced tick, s (the first tick of a
	// run is unpaced and not in it, as in Stats).
	PeriodError *Histogram
	// RunTrackingError is each run's peak tracking error, rad: the max over its ticks of
	// TrackingError, observed when the run ends.
	RunTrackingError *Histogram
	overruns         atomic.Uint64
	tracking         atomic.Uint64 // float64 bits: the last tick's tracking error
	runPeak          float64       // control thread only
}

// NewCounters returns zeroed counters.
func NewCounters() *Counters {
	return &Counters{PeriodError: NewHistogram(PeriodErrorBuckets), RunTrackingError: NewHistogram(TrackingErrorBuckets)}
}

// Overruns returns the number of ticks that woke at or past the following deadline.
func (c *Counters) Overruns() uint64 { return c.overruns.Load() }

// TrackingError returns the last tick's tracking error: the max over the skill's joints
// of |measured − planned| (against the plan the arm was following), rad.
func (c *Counters) TrackingError() float64 { return math.Float64frombits(c.tracking.Load()) }

// paced records one paced tick's period error.
func (c *Counters) paced(err time.Duration, overrun bool) {
	if err < 0 {
		err = -err
	}
	c.PeriodError.Observe(err.Seconds())
	if overrun {
		c.overruns.Add(1)
	}
}

func (c *Counters) track(e float64) {
	c.tracking.Store(math.Float64bits(e))
	c.runPeak = max(c.runPeak, e)
}

func (c *Counters) runEnded() {
	c.RunTrackingError.Observe(c.runPeak)
	c.runPeak = 0
}

// CountersCopy is a plain copy of Counters' figures (for gob, JSON), to carry them from an
// executor in another process: Counters.Copy takes it, Counters.Mirror applies it.
type CountersCopy struct {
	PeriodError, RunTrackingError HistogramCopy
	Overruns                      uint64
	TrackingError                 float64
}

// HistogramCopy is a Histogram's per-bucket counts (the last one +Inf) and sum.
type HistogramCopy struct {
	Counts []uint64
	Sum    float64
}

func (h *Histogram) copyTo(dst *HistogramCopy) {
	dst.Counts = make([]uint64, len(h.counts))
	for i := range h.counts {
		dst.Counts[i] = h.counts[i].Load()
	}
	dst.Sum = math.Float64frombits(h.sum.Load())
}

func (h *Histogram) mirror(src HistogramCopy) {
	for i := range h.counts {
		var v uint64
		if i < len(src.Counts) {
			v = src.Counts[i]
		}
		h.counts[i].Store(v)
	}
	h.sum.Store(math.Float64bits(src.Sum))
}

// Copy returns the figures as they are now. It allocates; call it off the control thread.
func (c *Counters) Copy() CountersCopy {
	var out CountersCopy
	c.PeriodError.copyTo(&out.PeriodError)
	c.RunTrackingError.copyTo(&out.RunTrackingError)
	out.Overruns = c.overruns.Load()
	out.TrackingError = c.TrackingError()
	return out
}

// Mirror sets c's figures to src (taken by Copy from counters with the same buckets): a
// daemon whose executor runs in another process keeps its metrics' Counters in step with
// the executor's this way. Counters that an executor writes must not be mirrored into.
func (c *Counters) Mirror(src CountersCopy) {
	c.PeriodError.mirror(src.PeriodError)
	c.RunTrackingError.mirror(src.RunTrackingError)
	c.overruns.Store(src.Overruns)
	c.tracking.Store(math.Float64bits(src.TrackingError))
}

// ErrFlight: a flight recorder's configuration is unusable.
var ErrFlight = errors.New("motion: flight recorder")

// FlightRecorder keeps the last Seconds of full-rate samples (time, measured positions
// and velocities, planned and commanded positions per arm joint) in a ring allocated up
// front (Config.Flight). The control thread writes one sample per completed tick with
// atomic stores: no allocation, no lock, never waiting on a reader. Snapshot copies the
// ring from any goroutine, dropping samples the writer overwrote meanwhile (a seqlock on
// the sample counter).
type FlightRecorder struct {
	joints []string
	rate   float64
	n, cap int
	seq    atomic.Uint64  // 2·samples written, +1 while one is being written
	t      []atomic.Int64 // per slot: sample time, ns on the executor's clock
	v      []atomic.Uint64
}

// Fields of one sample in FlightRecorder.v, each n values wide.
const (
	flMeas = iota
	flVel
	flPlan
	flCmd
	flFields
)

// NewFlightRecorder makes a ring for the arm's joints (in arm order) holding seconds s of
// samples at rateHz (plus one slot, so that a snapshot taken while the writer runs still
// holds the full span). Errors wrap ErrFlight.
func NewFlightRecorder(joints []string, rateHz, seconds float64) (*FlightRecorder, error) {
	if len(joints) == 0 {
		return nil, fmt.Errorf("%w: no joints", ErrFlight)
	}
	if !(rateHz > 0 && rateHz <= 1000) || !(seconds > 0 && seconds <= 600) {
		return nil, fmt.Errorf("%w: rate %v Hz and %v s, want (0, 1000] Hz and (0, 600] s", ErrFlight, rateHz, seconds)
	}
	c := int(math.Ceil(rateHz*seconds)) + 1
	n := len(joints)
	return &FlightRecorder{joints: append([]string(nil), joints...), rate: rateHz, n: n, cap: c,
		t: make([]atomic.Int64, c), v: make([]atomic.Uint64, c*n*flFields)}, nil
}

// Joints returns the joint names the recorder was made for.
func (f *FlightRecorder) Joints() []string { return f.joints }

// RateHz returns the sample rate the ring was sized for (the control rate).
func (f *FlightRecorder) RateHz() float64 { return f.rate }

// Capacity returns the number of samples the ring holds.
func (f *FlightRecorder) Capacity() int { return f.cap }

// Written returns the number of samples recorded since the recorder was made.
func (f *FlightRecorder) Written() uint64 { return f.seq.Load() / 2 }

// Record appends one sample; slices shorter than the joint count leave the rest 0. Only
// one goroutine may call it (the control thread). It allocates nothing.
func (f *FlightRecorder) Record(t time.Duration, meas, vel, plan, cmd []float64) {
	k := f.seq.Load() / 2
	f.seq.Store(2*k + 1)
	slot := int(k % uint64(f.cap))
	f.t[slot].Store(int64(t))
	base := slot * f.n * flFields
	put := func(field int, x []float64) {
		row := f.v[base+field*f.n : base+(field+1)*f.n]
		for i := range row {
			var b uint64
			if i < len(x) {
				b = math.Float64bits(x[i])
			}
			row[i].Store(b)
		}
	}
	put(flMeas, meas)
	put(flVel, vel)
	put(flPlan, plan)
	put(flCmd, cmd)
	f.seq.Store(2*k + 2)
}

// FlightSnapshot is a copy of a flight recorder's samples, oldest first: at T[k] (on the
// executor's clock) joint Joints[i] was measured at Measured[k][i] moving at
// Velocity[k][i], planned at Planned[k][i] and commanded to Command[k][i] (rad, rad/s).
type FlightSnapshot struct {
	Joints                               []string
	RateHz                               float64
	T                                    []time.Duration
	Measured, Velocity, Planned, Command [][]float64
}

// Snapshot copies the samples recorded since the given time (on the executor's clock;
// pass a negative time for all) into a new FlightSnapshot. It never blocks the writer:
// samples the writer overwrote while they were copied are left out (at most one at the
// ring's oldest end when the writer keeps up with its rate). It allocates.
func (f *FlightRecorder) Snapshot(since time.Duration) FlightSnapshot {
	h1 := f.seq.Load() / 2 // a sample being written (odd seq) is not taken
	lo := uint64(0)
	if h1 > uint64(f.cap) {
		lo = h1 - uint64(f.cap)
	}
	m := int(h1 - lo)
	ts := make([]time.Duration, m)
	vals := make([]float64, m*f.n*flFields)
	for k := lo; k < h1; k++ {
		slot := int(k % uint64(f.cap))
		j := int(k - lo)
		ts[j] = time.Duration(f.t[slot].Load())
		src := f.v[slot*f.n*flFields : (slot+1)*f.n*flFields]
		dst := vals[j*f.n*flFields : (j+1)*f.n*flFields]
		for i := range src {
			dst[i] = math.Float64frombits(src[i].Load())
		}
	}
	// Sample k shares its slot with k+cap: the samples written while these were copied,
	// [h1, w) and w itself if it is half written, overwrote [h1−cap, w−cap] (or up to
	// w−cap−1).
	s2 := f.seq.Load()
	w := s2 / 2
	first := lo
	if bad := w + s2%2; bad > uint64(f.cap) && bad-uint64(f.cap) > first {
		first = bad - uint64(f.cap)
	}
	if first > h1 {
		first = h1
	}
	skip := int(first - lo)
	for skip < m && ts[skip] < since {
		skip++
	}
	s := FlightSnapshot{Joints: f.joints, RateHz: f.rate, T: ts[skip:]}
	rows := func(field int) [][]float64 {
		out := make([][]float64, m-skip)
		for j := range out {
			b := (j+skip)*f.n*flFields + field*f.n
			out[j] = vals[b : b+f.n : b+f.n]
		}
		return out
	}
	s.Measured, s.Velocity, s.Planned, s.Command = rows(flMeas), rows(flVel), rows(flPlan), rows(flCmd)
	return s
}

// observeTick is the per-tick hook of the observability features, called at the end of a
// tick that reached the arm. It allocates nothing.
func (r *runner) observeTick() {
	cfg := r.cfg
	if c := cfg.Counters; c != nil {
		var e float64
		for _, d := range r.fb.ej {
			e = max(e, math.Abs(d))
		}
		c.track(e)
	}
	if f := cfg.Flight; f != nil {
		f.Record(r.now, r.meas, r.st.Vel, r.plan, r.cmd.Pos)
	}
}
