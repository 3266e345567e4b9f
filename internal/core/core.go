// Package core is the daemon's transport-neutral API: the requests it takes, the events,
// status and telemetry it reports, and its refusals. Front ends (MQTT in mqttapi, ROS,
// the web page) decode their protocol into these requests, authorise the caller, call a
// Service, and encode what a Sink receives; the rules (one run at a time, the e-stop,
// limits) live once, behind Service. The JSON encoding of these types is the daemon's
// event format, shared by every front end (docs/mqtt.md).
package core

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/praxis-robotics/praxis/motion/dmp"
)

// Upper bounds on requests, checked when a request arrives (Check) so that no command can
// make the daemon block, allocate without bound or run for ever (docs/mqtt.md, "Limits").
const (
	MaxDuration = dmp.MaxDuration // s: longest run duration
	MaxBasis    = dmp.MaxBasis    // basis functions per joint of a learn
	MaxDemos    = 100             // demos per learn
	MaxGoal     = dmp.MaxJoints   // joints in a goal
)

// Check refuses a run request whose duration or goal is out of bounds (the skill and the
// arm are checked by the daemon).
func (r RunRequest) Check() error {
	if math.IsNaN(r.Duration) || r.Duration < 0 || r.Duration > MaxDuration {
		return Reject("duration", "%g s: want a positive number of seconds, at most %g", r.Duration, MaxDuration)
	}
	if len(r.Goal) > MaxGoal {
		return Reject("goal", "%d joints, at most %d", len(r.Goal), MaxGoal)
	}
	for name, v := range r.Goal {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Reject("goal."+name, "%v is not a finite position", v)
		}
	}
	return nil
}

// Check refuses a learn request with too many demos or basis functions.
func (r LearnRequest) Check() error {
	if len(r.Demos) == 0 || len(r.Demos) > MaxDemos {
		return Reject("demos", "%d demos: want 1 to %d", len(r.Demos), MaxDemos)
	}
	if r.Basis < 0 || r.Basis > MaxBasis {
		return Reject("basis", "%d: want 1 to %d (0: the default)", r.Basis, MaxBasis)
	}
	return nil
}

// Command names: what a request asks for (the last level of an MQTT command topic).
const (
	CmdRun    = "run"
	CmdCancel = "cancel"
	CmdEStop  = "estop"
	CmdReset  = "reset"
	CmdRecord = "record"
	CmdLearn  = "learn"
	CmdSkills = "skills"
	CmdFlight = "flight" // write the flight recorder's content now (core.FlightLog.DumpFlight)
)

// Service is what the daemon implements for its front ends. Methods other than EStop
// and Cancel are called one command at a time per front end; EStop and Cancel never wait
// behind other commands. Methods return promptly (Reset may take as long as setting a
// faulted arm up again, a few seconds): long work (a run, a fit) continues in the
// background and reports through the Sink with the request's id. A refusal is returned
// as a *Rejection (other errors are rejections without a field).
type Service interface {
	// Run starts replaying a skill; refused while another run, a recording or the e-stop
	// is active.
	Run(RunRequest) error
	// Cancel stops the run (or learn) with the given id.
	Cancel(id string) error
	// EStop latches the emergency stop and halts every motion. It must not block.
	EStop()
	// Reset clears a latched e-stop and recovers a faulted arm where it can; a refusal
	// (e.g. the arm still faulted) leaves the e-stop as it was.
	Reset() (ResetResult, error)
	// Record starts or stops recording a demonstration.
	Record(RecordRequest) error
	// Learn starts fitting a skill from recorded demos.
	Learn(LearnRequest) error
	// Skills lists the skill library.
	Skills() ([]SkillInfo, error)
}

// Sink receives what the daemon reports. Implementations must not block the caller for
// long (queue, drop progress and state when flooded, never drop terminal events).
type Sink interface {
	// Publish sends an event of a command (accepted/rejected come from the front end
	// that took the command; started, progress and terminal events from the daemon).
	Publish(Event)
	// PublishState sends a joint telemetry sample; st may be reused after the call.
	PublishState(st State)
	// SetStatus reports what the daemon is doing.
	SetStatus(Status)
	// PublishSkills reports the skill library after it changed.
	PublishSkills([]SkillInfo)
}

// RunRequest asks to replay a skill.
type RunRequest struct {
	ID       string             `json:"id"`                 // request id, echoed in every event
	Skill    string             `json:"skill"`              // skill name
	Version  int                `json:"version,omitempty"`  // skill version; 0 means the latest
	Goal     map[string]float64 `json:"goal,omitempty"`     // goal override by joint name, rad or m
	Duration float64            `json:"duration,omitempty"` // run duration, s; 0 means the skill's own
}

// Record actions.
const (
	RecordStart = "start"
	RecordStop  = "stop"
)

// RecordRequest asks to start or stop recording a demonstration.
type RecordRequest struct {
	ID     string `json:"id"`             // request id
	Action string `json:"action"`         // RecordStart or RecordStop
	Demo   string `json:"demo,omitempty"` // demo name; required to start, optional to stop
	// Leader (start only): record a teleoperation: the configured leader arm drives the
	// arm, and the arm's measured trajectory is recorded. Default false (kinesthetic).
	Leader bool `json:"leader,omitempty"`
}

// LearnRequest asks to fit a skill from recorded demos.
type LearnRequest struct {
	ID    string   `json:"id"`              // request id
	Skill string   `json:"skill"`           // name of the skill to create or version
	Demos []string `json:"demos"`           // demo names, at least one
	Basis int      `json:"basis,omitempty"` // basis functions per joint; 0 means the default
}

// ResetResult is what a reset did besides clearing the e-stop.
type ResetResult struct {
	Recovered  bool // the arm had faulted (a servo went silent) and was set up again
	NotLatched bool // the e-stop was not latched: there was nothing to clear
}

// NothingToReset is the reason of an accepted reset that found the e-stop not latched
// (and no faulted arm to recover).
const NothingToReset = "nothing to reset (e-stop not latched)"

// SkillInfo describes one skill of the library.
type SkillInfo struct {
	Name     string   `json:"name"`
	Version  int      `json:"version"`            // newest version
	Versions []int    `json:"versions,omitempty"` // every stored version, ascending
	Joints   []string `json:"joints,omitempty"`   // joint names the skill drives
	Duration float64  `json:"duration,omitempty"` // nominal duration, s
}

// EventType is the kind of an event.
type EventType string

// Event types. Every command gets exactly one Accepted or Rejected; runs and learns then
// report Started, Progress (at most 10 Hz) and one terminal Succeeded, Failed or Aborted;
// a recording reports Progress and its terminal event under the id of its start.
const (
	Accepted  EventType = "accepted"
	Rejected  EventType = "rejected"
	Started   EventType = "started"
	Progress  EventType = "progress"
	Succeeded EventType = "succeeded"
	Failed    EventType = "failed"
	Aborted   EventType = "aborted"
)

// Terminal reports whether t ends a run or learn (or, for Rejected, any command).
func (t EventType) Terminal() bool {
	return t == Rejected || t == Succeeded || t == Failed || t == Aborted
}

// Event is one event of a command. Progress is marshalled only for Progress
// events of runs and learns (a recording has no known end: its progress events carry
// Samples and Seconds instead) and FinalError only for Succeeded runs; zero Time is set
// on publish. Other zero fields are left out.
type Event struct {
	ID         string          // id of the command this event belongs to ("" if unreadable)
	Cmd        string          // command name (run, cancel, ...) the event answers, if known
	Type       EventType       // what happened
	Time       time.Time       // when; RFC 3339 with nanoseconds on the wire
	Skill      string          // skill name, where known
	Version    int             // skill version, where known (for succeeded learns: the new version)
	Reason     string          // why: for rejected, failed and aborted
	Field      string          // for rejected: the offending field, e.g. "goal.elbow_flex"
	Progress   float64         // for progress of runs and learns: phase in [0, 1]
	FinalError float64         // for succeeded runs: distance to the goal at the end, rad
	Demo       string          // demo name, for record and learn
	Samples    int             // for recordings (progress and end): samples recorded
	Seconds    float64         // for recordings (progress and end): recorded duration, s
	Path       string          // for a recording that kept its demo: the CSV, relative to the daemon's data directory
	FitError   []JointFitError // for succeeded learns: reproduction error per joint, in the skill's joint order
	Recovered  bool            // for an accepted cmd/reset: a faulted arm was set up again
	Warning    string          // for a recording's or learn's end: why the demo may not teach a whole motion (demos.Check)
	Skills     []SkillInfo     // for accepted cmd/skills: the skill list
}

// JointFitError is how closely a learned skill reproduces its demos on one joint, rad
// (or m), as in the skill file's provenance.fit_error.
type JointFitError struct {
	Joint string  `json:"joint"`
	RMSE  float64 `json:"rmse"` // root-mean-square error over the demo
	Max   float64 `json:"max"`  // largest error
	End   float64 `json:"end"`  // error at the last sample
}

type eventJSON struct {
	ID         string          `json:"id"`
	Cmd        string          `json:"cmd,omitempty"`
	Type       EventType       `json:"type"`
	Time       time.Time       `json:"time"`
	Skill      string          `json:"skill,omitempty"`
	Version    int             `json:"version,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Field      string          `json:"field,omitempty"`
	Progress   *float64        `json:"progress,omitempty"`
	FinalError *float64        `json:"final_error,omitempty"`
	Demo       string          `json:"demo,omitempty"`
	Samples    int             `json:"samples,omitempty"`
	Seconds    float64         `json:"seconds,omitempty"`
	Path       string          `json:"path,omitempty"`
	FitError   []JointFitError `json:"fit_error,omitempty"`
	Recovered  bool            `json:"recovered,omitempty"`
	Warning    string          `json:"warning,omitempty"`
	Skills     []SkillInfo     `json:"skills,omitempty"`
}

// MarshalJSON encodes e as documented in docs/mqtt.md.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{ID: e.ID, Cmd: e.Cmd, Type: e.Type, Time: e.Time, Skill: e.Skill,
		Version: e.Version, Reason: e.Reason, Field: e.Field, Demo: e.Demo,
		Samples: e.Samples, Seconds: Round9(e.Seconds), Path: e.Path, FitError: e.FitError,
		Recovered: e.Recovered, Skills: e.Skills, Warning: e.Warning}
	if e.Type == Progress && e.Cmd != CmdRecord {
		p := Round9(e.Progress)
		j.Progress = &p
	}
	if e.Type == Succeeded && e.Cmd != CmdLearn && e.Cmd != CmdRecord {
		f := Round9(e.FinalError)
		j.FinalError = &f
	}
	return json.Marshal(j)
}

// Round9 rounds x to 1e-9 (s, rad, or a fraction): far below what the figures measure,
// and "seconds": 1.61 instead of 1.6099999999999999 on the wire. Fit errors, which can be
// smaller, keep full precision.
func Round9(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e9 {
		return x
	}
	return math.Round(x*1e9) / 1e9
}

// UnmarshalJSON decodes an event.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("core: event: %w", err)
	}
	*e = Event{ID: j.ID, Cmd: j.Cmd, Type: j.Type, Time: j.Time, Skill: j.Skill,
		Version: j.Version, Reason: j.Reason, Field: j.Field, Demo: j.Demo,
		Samples: j.Samples, Seconds: j.Seconds, Path: j.Path, FitError: j.FitError,
		Recovered: j.Recovered, Skills: j.Skills, Warning: j.Warning}
	if j.Progress != nil {
		e.Progress = *j.Progress
	}
	if j.FinalError != nil {
		e.FinalError = *j.FinalError
	}
	return nil
}

// State is one joint telemetry sample.
type State struct {
	Time  time.Time `json:"time"`
	Names []string  `json:"names"`
	Pos   []float64 `json:"pos"` // positions, rad or m
	Vel   []float64 `json:"vel"` // velocities, rad/s or m/s
}

// Activity is what the daemon is doing.
type Activity string

// Activities.
const (
	Idle      Activity = "idle"
	Running   Activity = "running"
	Recording Activity = "recording"
	Stopped   Activity = "estop"   // e-stop latched: nothing moves until a reset
	Offline   Activity = "offline" // set by the broker through the last will
)

// Status is what the daemon is doing (retained on MQTT).
type Status struct {
	Time     time.Time `json:"time,omitzero"`
	Online   bool      `json:"online"`
	Activity Activity  `json:"activity"`
	RunID    string    `json:"run_id,omitempty"` // id of the current run or recording
	Skill    string    `json:"skill,omitempty"`  // skill being run
	Demo     string    `json:"demo,omitempty"`   // demo being recorded
	EStop    bool      `json:"estop"`            // e-stop latched
}

// Rejection is the error a Service returns to refuse a command; front ends report it as
// a rejected event naming Field.
type Rejection struct {
	Field  string // offending field, e.g. "goal.elbow_flex"; "" when no single field is at fault
	Reason string // human-readable reason
}

// Error returns the reason, prefixed by the field when there is one.
func (r *Rejection) Error() string {
	if r.Field == "" {
		return "rejected: " + r.Reason
	}
	return "rejected: " + r.Field + ": " + r.Reason
}

// Reject returns a Rejection of field with a formatted reason.
func Reject(field, format string, a ...any) *Rejection {
	return &Rejection{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Hub is a Sink that hands everything to several sinks (one per front end), in order.
// Add every sink before the first publish.
type Hub struct{ sinks []Sink }

// Add appends s to the sinks.
func (h *Hub) Add(s Sink) { h.sinks = append(h.sinks, s) }

// Publish implements Sink.
func (h *Hub) Publish(e Event) {
	for _, s := range h.sinks {
		s.Publish(e)
	}
}

// PublishState implements Sink.
func (h *Hub) PublishState(st State) {
	for _, s := range h.sinks {
		s.PublishState(st)
	}
}

// SetStatus implements Sink.
func (h *Hub) SetStatus(st Status) {
	for _, s := range h.sinks {
		s.SetStatus(st)
	}
}

// PublishSkills implements Sink.
func (h *Hub) PublishSkills(list []SkillInfo) {
	for _, s := range h.sinks {
		s.PublishSkills(list)
	}
}
