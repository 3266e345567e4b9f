package motion

import (
	"time"

	"github.com/praxis-robotics/praxis/motion/dmp"
)

// Request asks for one run of a skill.
type Request struct {
	ID       string    // run id, echoed in every event and the Result
	Skill    *dmp.DMP  // the skill's DMP (validated on Start)
	Joints   []string  // the DMP's joint names, matched by name against the arm's joints
	Goal     []float64 // goal per skill joint, rad or m; nil: the skill's goal
	Duration float64   // run duration, s; 0: the skill's Tau
	// OpenLoop disables phase stopping, re-anchoring and offset compensation (for
	// comparison); the safety filter still applies.
	OpenLoop bool
}

// EventKind names an event.
type EventKind string

// Event kinds.
const (
	EventStarted   EventKind = "started"   // the run began (approach or DMP)
	EventProgress  EventKind = "progress"  // at most every Config.ProgressEvery
	EventSucceeded EventKind = "succeeded" // the goal was reached; Result set
	EventAborted   EventKind = "aborted"   // cancelled, preempted, e-stop, closed; Result set
	EventFailed    EventKind = "failed"    // fault, watchdog, goal not reached; Result set
)

// Abort reasons carried by EventAborted and Result.Reason.
const (
	ReasonPreempted = "preempted"
	ReasonCancelled = "cancelled"
	ReasonEStop     = "e-stop"
	ReasonClosed    = "closed"
	ReasonTimeout   = "goal not reached"
)

// Event reports the life of a run. Progress fields are those of the tick that sent it.
type Event struct {
	Kind          EventKind `json:"kind"`
	RunID         string    `json:"run_id"`
	Time          float64   `json:"time"`           // s since the run started
	Phase         float64   `json:"phase"`          // DMP phase, 1 at the start (and during the approach), ≈0 at the end
	Fraction      float64   `json:"fraction"`       // plan time / duration, clamped to [0,1]
	TrackingError float64   `json:"tracking_error"` // rad, max over joints of |measured − commanded|
	Approach      bool      `json:"approach"`       // still easing in to the skill's start
	Paused        bool      `json:"paused"`
	Reason        string    `json:"reason,omitempty"` // aborted/failed: why
	Result        *Result   `json:"result,omitempty"` // terminal events only
}

// Outcome is how a run ended.
type Outcome string

// Outcomes.
const (
	Succeeded Outcome = "succeeded"
	Aborted   Outcome = "aborted"
	Failed    Outcome = "failed"
)

// Result is the record of one run, as the CLI reports it.
type Result struct {
	RunID   string  `json:"run_id"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	// Err is why a failed run failed: it wraps ErrWatchdog, ErrFault, ErrTimeout or ErrLimit
	// (and the arm's error where there is one); Reason is its text. Nil otherwise.
	Err error `json:"-"`
	// FinalError is the max over skill joints of |measured − goal| at the end, rad.
	FinalError float64 `json:"final_error"`
	// MaxTrackingError is the max over ticks and skill joints of |measured − last
	// command|, rad.
	MaxTrackingError float64 `json:"max_tracking_error"`
	// MaxSpeedRatio is the max over skill joints of the highest measured speed during
	// the DMP part divided by the peak speed of a rollout of the plan made at its start
	// (joints whose planned peak is below 1% of their limit are left out).
	MaxSpeedRatio float64 `json:"max_speed_ratio"`
	// LimitViolations counts commands sent with a position outside the limits: 0 unless
	// the filter is broken. The clamps count commands the filter had to correct.
	LimitViolations int `json:"limit_violations"`
	PositionClamps  int `json:"position_clamps"`
	VelocityClamps  int `json:"velocity_clamps"`
	AccelClamps     int `json:"accel_clamps"`
	Reanchors       int `json:"reanchors"` // disturbances after which the plan re-anchored
	// MaxOffset is the max over ticks and skill joints of |b|, the steady-state offset
	// compensation added to the plan (Config.OffsetGain), rad; FinalOffset the max at
	// the end.
	MaxOffset    float64 `json:"max_offset"`
	FinalOffset  float64 `json:"final_offset"`
	Approach     float64 `json:"approach"`      // duration of the easing-in approach, s (0: none)
	Duration     float64 `json:"duration"`      // wall time from start to halt, s
	PlanDuration float64 `json:"plan_duration"` // the DMP run's duration parameter, s
	Timing       Stats   `json:"timing"`
}

// Stats are a run's loop timing figures. Jitter is |actual period − nominal period|.
type Stats struct {
	RateHz    float64 `json:"rate_hz"`
	Ticks     uint64  `json:"ticks"`      // control ticks; the first runs at once and is not in the jitter
	Overruns  uint64  `json:"overruns"`   // wake-ups at or past the following deadline
	Missed    uint64  `json:"missed"`     // deadlines skipped after overruns
	JitterP50 float64 `json:"jitter_p50"` // s
	JitterP99 float64 `json:"jitter_p99"` // s
	JitterMax float64 `json:"jitter_max"` // s
	LateMax   float64 `json:"late_max"`   // worst wake-up lateness past a deadline, s
	RealTime  bool    `json:"realtime"`   // SCHED_FIFO took effect on the control thread
}

// histogram counts durations in fixed buckets without allocating.
type histogram struct {
	counts [histBuckets]uint32
	n      uint64
	max    time.Duration
}

const (
	histBucket  = 2 * time.Microsecond
	histBuckets = 5000 // 10 ms in 2 µs steps; the last bucket takes everything above
)

func (h *histogram) reset() { *h = histogram{} }

func (h *histogram) add(d time.Duration) {
	if d < 0 {
		d = -d
	}
	if d > h.max {
		h.max = d
	}
	i := int(d / histBucket)
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.counts[i]++
	h.n++
}

// quantile returns the upper edge of the bucket holding quantile q (capped at max).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	target := uint64(q * float64(h.n))
	if target >= h.n {
		target = h.n - 1
	}
	var acc uint64
	for i, c := range h.counts {
		acc += uint64(c)
		if acc > target {
			return min(time.Duration(i+1)*histBucket, h.max)
		}
	}
	return h.max
}
