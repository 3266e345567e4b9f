package mqttapi

import (
	"encoding/json"
	"fmt"
	"time"
)

// RunRequest is the payload of cmd/run: replay a skill.
type RunRequest struct {
	ID       string             `json:"id"`                 // request id, echoed in every event
	Skill    string             `json:"skill"`              // skill name
	Version  int                `json:"version,omitempty"`  // skill version; 0 means the latest
	Goal     map[string]float64 `json:"goal,omitempty"`     // goal override by joint name, rad or m
	Duration float64            `json:"duration,omitempty"` // run duration, s; 0 means the skill's own
}

// CancelRequest is the payload of cmd/cancel: ID names the run to cancel.
type CancelRequest struct {
	ID string `json:"id"`
}

// Record actions.
const (
	RecordStart = "start"
	RecordStop  = "stop"
)

// RecordRequest is the payload of cmd/record: start or stop recording a demonstration.
type RecordRequest struct {
	ID     string `json:"id"`             // request id
	Action string `json:"action"`         // RecordStart or RecordStop
	Demo   string `json:"demo,omitempty"` // demo name; required to start, optional to stop
}

// LearnRequest is the payload of cmd/learn: fit a skill from recorded demos.
type LearnRequest struct {
	ID    string   `json:"id"`              // request id
	Skill string   `json:"skill"`           // name of the skill to create or version
	Demos []string `json:"demos"`           // demo names, at least one
	Basis int      `json:"basis,omitempty"` // basis functions per joint; 0 means the default
}

// ResetResult is what a reset did besides clearing the e-stop.
type ResetResult struct {
	Recovered bool // the arm had faulted (a servo went silent) and was set up again
}

// IDRequest is the payload of cmd/reset, cmd/skills and cmd/estop: only an id, which may
// be empty (and, for estop, the payload may be anything).
type IDRequest struct {
	ID string `json:"id,omitempty"`
}

// SkillInfo describes one skill of the library.
type SkillInfo struct {
	Name     string   `json:"name"`
	Version  int      `json:"version"`            // newest version
	Versions []int    `json:"versions,omitempty"` // every stored version, ascending
	Joints   []string `json:"joints,omitempty"`   // joint names the skill drives
	Duration float64  `json:"duration,omitempty"` // nominal duration, s
}

// SkillList is the retained message on the skills topic.
type SkillList struct {
	Time   time.Time   `json:"time"`
	Skills []SkillInfo `json:"skills"`
}

// EventType is the kind of an event on the events topic.
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

// Event is one message on the events topic. Progress is marshalled only for Progress
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
	Skills     []SkillInfo     `json:"skills,omitempty"`
}

// MarshalJSON encodes e as documented in docs/mqtt.md.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{ID: e.ID, Cmd: e.Cmd, Type: e.Type, Time: e.Time, Skill: e.Skill,
		Version: e.Version, Reason: e.Reason, Field: e.Field, Demo: e.Demo,
		Samples: e.Samples, Seconds: e.Seconds, Path: e.Path, FitError: e.FitError,
		Recovered: e.Recovered, Skills: e.Skills}
	if e.Type == Progress && e.Cmd != CmdRecord {
		p := e.Progress
		j.Progress = &p
	}
	if e.Type == Succeeded && e.Cmd != CmdLearn && e.Cmd != CmdRecord {
		f := e.FinalError
		j.FinalError = &f
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes an event.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("mqttapi: event: %w", err)
	}
	*e = Event{ID: j.ID, Cmd: j.Cmd, Type: j.Type, Time: j.Time, Skill: j.Skill,
		Version: j.Version, Reason: j.Reason, Field: j.Field, Demo: j.Demo,
		Samples: j.Samples, Seconds: j.Seconds, Path: j.Path, FitError: j.FitError,
		Recovered: j.Recovered, Skills: j.Skills}
	if j.Progress != nil {
		e.Progress = *j.Progress
	}
	if j.FinalError != nil {
		e.FinalError = *j.FinalError
	}
	return nil
}

// State is one joint telemetry sample on the state topic.
type State struct {
	Time  time.Time `json:"time"`
	Names []string  `json:"names"`
	Pos   []float64 `json:"pos"` // positions, rad or m
	Vel   []float64 `json:"vel"` // velocities, rad/s or m/s
}

// Activity is what the daemon is doing, as reported on the status topic.
type Activity string

// Activities.
const (
	Idle      Activity = "idle"
	Running   Activity = "running"
	Recording Activity = "recording"
	Stopped   Activity = "estop"   // e-stop latched: nothing moves until cmd/reset
	Offline   Activity = "offline" // set by the broker through the last will
)

// Status is the retained message on the status topic.
type Status struct {
	Time     time.Time `json:"time,omitzero"`
	Online   bool      `json:"online"`
	Activity Activity  `json:"activity"`
	RunID    string    `json:"run_id,omitempty"` // id of the current run or recording
	Skill    string    `json:"skill,omitempty"`  // skill being run
	Demo     string    `json:"demo,omitempty"`   // demo being recorded
	EStop    bool      `json:"estop"`            // e-stop latched
}

// Rejection is the error a Service returns to refuse a command; the Server publishes it
// as a rejected event naming Field.
type Rejection struct {
	Field  string // offending field, e.g. "goal.elbow_flex"; "" when no single field is at fault
	Reason string // human-readable reason
}

// Error returns the reason, prefixed by the field when there is one.
func (r *Rejection) Error() string {
	if r.Field == "" {
		return "mqttapi: rejected: " + r.Reason
	}
	return "mqttapi: rejected: " + r.Field + ": " + r.Reason
}

// Reject returns a Rejection of field with a formatted reason.
func Reject(field, format string, a ...any) *Rejection {
	return &Rejection{Field: field, Reason: fmt.Sprintf(format, a...)}
}
