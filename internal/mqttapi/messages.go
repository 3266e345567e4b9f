package mqttapi

import (
	"time"

	"github.com/praxis-robotics/praxis/internal/core"
)

// The daemon's request, event and status types are core's; these aliases keep the names
// this package's clients use. Their JSON encoding is the wire format of docs/mqtt.md.
type (
	RunRequest    = core.RunRequest
	RecordRequest = core.RecordRequest
	LearnRequest  = core.LearnRequest
	ResetResult   = core.ResetResult
	SkillInfo     = core.SkillInfo
	EventType     = core.EventType
	Event         = core.Event
	JointFitError = core.JointFitError
	State         = core.State
	Activity      = core.Activity
	Status        = core.Status
	Rejection     = core.Rejection
	Service       = core.Service
	FlightInfo    = core.FlightInfo
)

// Command names, event types, record actions and activities: see package core.
const (
	CmdRun    = core.CmdRun
	CmdCancel = core.CmdCancel
	CmdEStop  = core.CmdEStop
	CmdReset  = core.CmdReset
	CmdRecord = core.CmdRecord
	CmdLearn  = core.CmdLearn
	CmdSkills = core.CmdSkills
	CmdFlight = core.CmdFlight

	RecordStart = core.RecordStart
	RecordStop  = core.RecordStop

	Accepted  = core.Accepted
	Rejected  = core.Rejected
	Started   = core.Started
	Progress  = core.Progress
	Succeeded = core.Succeeded
	Failed    = core.Failed
	Aborted   = core.Aborted

	Idle      = core.Idle
	Running   = core.Running
	Recording = core.Recording
	Stopped   = core.Stopped
	Offline   = core.Offline

	NothingToReset = core.NothingToReset
)

// Reject returns a Rejection of field with a formatted reason.
var Reject = core.Reject

// CancelRequest is the payload of cmd/cancel: ID names the run to cancel.
type CancelRequest struct {
	ID string `json:"id"`
}

// FlightRequest is the payload of cmd/flight: write the flight recorder's present content
// to a file now. Reason (optional, at most MaxNameLen bytes) is kept in the file's header.
type FlightRequest struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// IDRequest is the payload of cmd/reset, cmd/skills and cmd/estop: only an id, which may
// be empty (and, for estop, the payload may be anything).
type IDRequest struct {
	ID string `json:"id,omitempty"`
}

// SkillList is the retained message on the skills topic.
type SkillList struct {
	Time   time.Time   `json:"time"`
	Skills []SkillInfo `json:"skills"`
}
