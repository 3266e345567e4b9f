// Package metrics is the daemon's Prometheus instrumentation (docs/observability.md): its
// own registry (not the global default) with the Go and process collectors, counters the
// daemon bumps as commands, runs, recordings and learns happen, and collectors that read
// the executor's and the servo bus's atomic counters at scrape time, so the control loop
// pays nothing per tick for being observed.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/motion"
)

// Command outcomes (label outcome of praxis_commands_total).
const (
	Accepted = "accepted" // the daemon took the command
	Rejected = "rejected" // refused: bad request, busy, e-stop latched, undecodable, ...
	Shed     = "shed"     // dropped by a front end under a command flood, unanswered or answered "busy"
)

// Commands are the command names counted; any other name counts as "unknown".
var Commands = []string{core.CmdRun, core.CmdCancel, core.CmdEStop, core.CmdReset, core.CmdRecord, core.CmdLearn, core.CmdSkills, core.CmdFlight}

// Run outcomes (label outcome of praxis_runs_total).
var RunOutcomes = []string{string(core.Succeeded), string(core.Failed), string(core.Aborted)}

// LearnBuckets are the upper bounds, s, of praxis_learn_duration_seconds.
var LearnBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Sources are what the collectors read at scrape time; nil fields add no metrics.
type Sources struct {
	Loop *motion.Counters    // the executor's counters (motion.Config.Counters)
	Bus  servo.StatsReporter // the servo bus arm, for per-servo bus metrics
}

// Metrics is the daemon's registry and the counters it updates. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	commands *prometheus.CounterVec
	runs     *prometheus.CounterVec
	samples  prometheus.Counter
	learn    *prometheus.HistogramVec
	flights  *prometheus.CounterVec
}

// New builds the registry with the Go and process collectors, the daemon's counters and
// collectors for src.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "praxis_commands_total",
		Help: "Commands taken by the daemon from any front end (MQTT, ROS, web), by command name and outcome (accepted, rejected, shed)."},
		[]string{"cmd", "outcome"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "praxis_runs_total",
		Help: "Skill runs that ended, by outcome (succeeded, failed, aborted)."}, []string{"outcome"})
	m.samples = prometheus.NewCounter(prometheus.CounterOpts{Name: "praxis_recording_samples_total",
		Help: "Samples recorded into demonstrations (kinesthetic and leader recordings)."})
	m.learn = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "praxis_learn_duration_seconds",
		Help: "Wall time of each learn (reading the demos, fitting and storing the skill), by outcome.", Buckets: LearnBuckets},
		[]string{"outcome"})
	m.flights = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "praxis_flight_recordings_total",
		Help: "Flight recordings written, by trigger (fault, abort, estop, request) and result (written, failed, dropped)."},
		[]string{"trigger", "result"})
	for _, c := range Commands {
		for _, o := range []string{Accepted, Rejected, Shed} {
			m.commands.WithLabelValues(c, o)
		}
	}
	for _, o := range RunOutcomes {
		m.runs.WithLabelValues(o)
	}
	for _, o := range RunOutcomes {
		m.learn.WithLabelValues(o)
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.commands, m.runs, m.samples, m.learn, m.flights)
	if src.Loop != nil {
		m.reg.MustRegister(&loopCollector{c: src.Loop})
	}
	if src.Bus != nil {
		m.AddBus(src.Bus)
	}
	return m
}

// AddBus adds the per-servo bus metrics of bus (once, when the bus arm is opened).
func (m *Metrics) AddBus(bus servo.StatsReporter) { m.reg.MustRegister(&busCollector{bus: bus}) }

// Registry returns the registry, for tests and for mounting elsewhere.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Command counts one command by name (unknown names as "unknown") and outcome.
func (m *Metrics) Command(cmd, outcome string) {
	known := false
	for _, c := range Commands {
		known = known || c == cmd
	}
	if !known {
		cmd = "unknown"
	}
	m.commands.WithLabelValues(cmd, outcome).Inc()
}

// Run counts one finished run by outcome.
func (m *Metrics) Run(outcome core.EventType) { m.runs.WithLabelValues(string(outcome)).Inc() }

// RecordingSamples adds n recorded samples.
func (m *Metrics) RecordingSamples(n int) {
	if n > 0 {
		m.samples.Add(float64(n))
	}
}

// Learn observes one learn's duration by outcome.
func (m *Metrics) Learn(d time.Duration, outcome core.EventType) {
	m.learn.WithLabelValues(string(outcome)).Observe(d.Seconds())
}

// Flight counts one flight recording by trigger and result.
func (m *Metrics) Flight(trigger, result string) { m.flights.WithLabelValues(trigger, result).Inc() }

var (
	periodDesc = prometheus.NewDesc("praxis_control_period_error_seconds",
		"Absolute difference between each control tick's measured period and the nominal one (paced ticks of runs; the first tick of a run is unpaced).", nil, nil)
	overrunDesc = prometheus.NewDesc("praxis_control_overruns_total",
		"Control ticks that woke at or past the following deadline.", nil, nil)
	trackDesc = prometheus.NewDesc("praxis_tracking_error_radians",
		"Last control tick's tracking error: max over the skill's joints of |measured - planned| (rad or m).", nil, nil)
	runTrackDesc = prometheus.NewDesc("praxis_run_tracking_error_max_radians",
		"Peak tracking error of each run (max over its ticks of praxis_tracking_error_radians), observed when the run ends.", nil, nil)
	busTxDesc = prometheus.NewDesc("praxis_bus_transactions_total",
		"Servo bus exchanges addressed to each servo: read attempts (a sync read counts once per servo asked) and goal writes.", []string{"servo", "joint"}, nil)
	busRetryDesc = prometheus.NewDesc("praxis_bus_retries_total",
		"Servo reads retried within a tick after a lost or corrupted reply.", []string{"servo", "joint"}, nil)
	busErrDesc = prometheus.NewDesc("praxis_bus_errors_total",
		"Servo reads that still failed after the retries or reported an alarm, and failed goal writes.", []string{"servo", "joint"}, nil)
)

// loopCollector reads motion.Counters at scrape time.
type loopCollector struct{ c *motion.Counters }

func (l *loopCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- periodDesc
	ch <- overrunDesc
	ch <- trackDesc
	ch <- runTrackDesc
}

func (l *loopCollector) Collect(ch chan<- prometheus.Metric) {
	n, sum, b := l.c.PeriodError.Snapshot()
	ch <- prometheus.MustNewConstHistogram(periodDesc, n, sum, b)
	ch <- prometheus.MustNewConstMetric(overrunDesc, prometheus.CounterValue, float64(l.c.Overruns()))
	ch <- prometheus.MustNewConstMetric(trackDesc, prometheus.GaugeValue, l.c.TrackingError())
	n, sum, b = l.c.RunTrackingError.Snapshot()
	ch <- prometheus.MustNewConstHistogram(runTrackDesc, n, sum, b)
}

// busCollector reads a bus arm's per-servo counters at scrape time.
type busCollector struct{ bus servo.StatsReporter }

func (b *busCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- busTxDesc
	ch <- busRetryDesc
	ch <- busErrDesc
}

func (b *busCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range b.bus.ServoStats() {
		id := strconv.Itoa(int(s.ID))
		ch <- prometheus.MustNewConstMetric(busTxDesc, prometheus.CounterValue, float64(s.Transactions), id, s.Joint)
		ch <- prometheus.MustNewConstMetric(busRetryDesc, prometheus.CounterValue, float64(s.Retries), id, s.Joint)
		ch <- prometheus.MustNewConstMetric(busErrDesc, prometheus.CounterValue, float64(s.Errors), id, s.Joint)
	}
}
