package mqttapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/praxis-robotics/praxis/internal/core"
)

// Limits on command payloads, checked before a command reaches the Service.
const (
	MaxPayload   = 64 << 10      // bytes per command payload
	MaxIDLen     = 128           // bytes in a command id
	MaxNameLen   = 256           // bytes in a skill or demo name
	MaxDemos     = core.MaxDemos // demos per learn command
	MaxBasis     = core.MaxBasis // basis functions per joint
	MaxGoalNames = core.MaxGoal  // joints in a goal
)

// DecodeRun parses and checks a cmd/run payload. Errors are *Rejection naming the field.
func DecodeRun(p []byte) (RunRequest, error) {
	var r RunRequest
	d, err := newDecoder(p, "id", "skill", "version", "goal", "duration")
	if err != nil {
		return r, err
	}
	r.ID = d.id
	if r.Skill, err = d.name("skill", true); err != nil {
		return r, err
	}
	if r.Version, err = d.int("version", 0, math.MaxInt32); err != nil {
		return r, err
	}
	if raw, ok := d.fields["goal"]; ok && !isNull(raw) {
		var g map[string]json.RawMessage
		if json.Unmarshal(raw, &g) != nil {
			return r, Reject("goal", "want an object of joint name to position (rad)")
		}
		if len(g) > MaxGoalNames {
			return r, Reject("goal", "%d joints, at most %d", len(g), MaxGoalNames)
		}
		r.Goal = make(map[string]float64, len(g))
		for name, v := range g {
			field := "goal." + name
			if name == "" || len(name) > MaxNameLen {
				return r, Reject("goal", "joint name %q: want 1 to %d bytes", name, MaxNameLen)
			}
			f, err := number(v, field)
			if err != nil {
				return r, err
			}
			r.Goal[name] = f
		}
	}
	if raw, ok := d.fields["duration"]; ok && !isNull(raw) {
		f, err := number(raw, "duration")
		if err != nil {
			return r, err
		}
		if f <= 0 {
			return r, Reject("duration", "%g s: want a positive number of seconds", f)
		}
		r.Duration = f
	}
	return r, r.Check()
}

// DecodeCancel parses and checks a cmd/cancel payload.
func DecodeCancel(p []byte) (CancelRequest, error) {
	d, err := newDecoder(p, "id")
	if err != nil {
		return CancelRequest{ID: d.id}, err
	}
	return CancelRequest{ID: d.id}, nil
}

// DecodeRecord parses and checks a cmd/record payload.
func DecodeRecord(p []byte) (RecordRequest, error) {
	var r RecordRequest
	d, err := newDecoder(p, "id", "action", "demo", "leader")
	if err != nil {
		return r, err
	}
	r.ID = d.id
	if r.Action, err = d.str("action", true); err != nil {
		return r, err
	}
	if r.Action != RecordStart && r.Action != RecordStop {
		return r, Reject("action", "%q: want %q or %q", r.Action, RecordStart, RecordStop)
	}
	if r.Demo, err = d.name("demo", r.Action == RecordStart); err != nil {
		return r, err
	}
	if r.Leader, err = d.bool("leader"); err != nil {
		return r, err
	}
	if r.Leader && r.Action != RecordStart {
		return r, Reject("leader", "only with action %q", RecordStart)
	}
	return r, nil
}

// DecodeLearn parses and checks a cmd/learn payload.
func DecodeLearn(p []byte) (LearnRequest, error) {
	var r LearnRequest
	d, err := newDecoder(p, "id", "skill", "demos", "basis")
	if err != nil {
		return r, err
	}
	r.ID = d.id
	if r.Skill, err = d.name("skill", true); err != nil {
		return r, err
	}
	raw, ok := d.fields["demos"]
	if !ok || isNull(raw) {
		return r, Reject("demos", "missing: want a list of demo names")
	}
	var demos []json.RawMessage
	if json.Unmarshal(raw, &demos) != nil {
		return r, Reject("demos", "want a list of demo names")
	}
	if len(demos) == 0 || len(demos) > MaxDemos {
		return r, Reject("demos", "%d demos: want 1 to %d", len(demos), MaxDemos)
	}
	for i, v := range demos {
		var s string
		field := "demos[" + strconv.Itoa(i) + "]"
		if json.Unmarshal(v, &s) != nil || !validName(s) {
			return r, Reject(field, "want a demo name of 1 to %d bytes", MaxNameLen)
		}
		r.Demos = append(r.Demos, s)
	}
	if r.Basis, err = d.int("basis", 1, MaxBasis); err != nil {
		return r, err
	}
	return r, r.Check()
}

// DecodeFlight parses and checks a cmd/flight payload.
func DecodeFlight(p []byte) (FlightRequest, error) {
	var r FlightRequest
	d, err := newDecoder(p, "id", "reason")
	if err != nil {
		return FlightRequest{ID: d.id}, err
	}
	r.ID = d.id
	if r.Reason, err = d.name("reason", false); err != nil {
		return r, Reject("reason", "want a text of 1 to %d bytes without control characters", MaxNameLen)
	}
	return r, nil
}

// DecodeID parses the payload of cmd/reset and cmd/skills: empty, or an object with an
// optional id.
func DecodeID(p []byte) (IDRequest, error) {
	if len(bytes.TrimSpace(p)) == 0 {
		return IDRequest{}, nil
	}
	d, err := newDecoderOpt(p, false, "id")
	return IDRequest{ID: d.id}, err
}

// EStopID extracts the id from a cmd/estop payload, which may be anything: the id is ""
// unless the payload is a JSON object with a valid string id.
func EStopID(p []byte) string { return peekID(p, MaxPayload) }

// PeekID returns the command id of payload p (at most 1 MiB) if it can be read, or "".
func PeekID(p []byte) string { return peekID(p, 1<<20) }

func peekID(p []byte, limit int) string {
	var v struct {
		ID any `json:"id"`
	}
	if len(p) > limit || !utf8.Valid(p) || json.Unmarshal(p, &v) != nil {
		return ""
	}
	s, ok := v.ID.(string)
	if !ok || checkID(s) != nil {
		return ""
	}
	return s
}

type decoder struct {
	id     string
	fields map[string]json.RawMessage
}

func newDecoder(p []byte, allowed ...string) (decoder, error) {
	return newDecoderOpt(p, true, allowed...)
}

// newDecoderOpt checks p is a JSON object of allowed fields with a valid id (required
// when needID). The returned decoder carries the id even when other checks fail.
func newDecoderOpt(p []byte, needID bool, allowed ...string) (decoder, error) {
	var d decoder
	if len(p) > MaxPayload {
		return d, Reject("", "payload of %d bytes exceeds %d", len(p), MaxPayload)
	}
	if !utf8.Valid(p) {
		return d, Reject("", "payload is not UTF-8 JSON")
	}
	if err := json.Unmarshal(p, &d.fields); err != nil || d.fields == nil {
		return d, Reject("", "payload is not a JSON object")
	}
	raw, ok := d.fields["id"]
	switch {
	case !ok && needID:
		return d, Reject("id", "missing: every command needs a string id")
	case ok:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return d, Reject("id", "want a string")
		}
		if err := checkID(s); err != nil {
			return d, err
		}
		if s == "" && needID {
			return d, Reject("id", "empty: every command needs a string id")
		}
		d.id = s
	}
	for k := range d.fields {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return d, Reject(k, "unknown field (allowed: %s)", strings.Join(allowed, ", "))
		}
	}
	return d, nil
}

func checkID(s string) error {
	if len(s) > MaxIDLen {
		return Reject("id", "%d bytes, at most %d", len(s), MaxIDLen)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return Reject("id", "control characters are not allowed")
		}
	}
	return nil
}

func (d decoder) str(field string, required bool) (string, error) {
	raw, ok := d.fields[field]
	if !ok || isNull(raw) {
		if required {
			return "", Reject(field, "missing")
		}
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", Reject(field, "want a string")
	}
	return s, nil
}

func (d decoder) name(field string, required bool) (string, error) {
	s, err := d.str(field, required)
	if err != nil {
		return "", err
	}
	if s == "" && !required {
		return "", nil
	}
	if !validName(s) {
		return "", Reject(field, "want a name of 1 to %d bytes without control characters", MaxNameLen)
	}
	return s, nil
}

// bool reads an optional JSON boolean field; absent or null gives false.
func (d decoder) bool(field string) (bool, error) {
	raw, ok := d.fields[field]
	if !ok || isNull(raw) {
		return false, nil
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, Reject(field, "want true or false")
}

// int reads an optional integer field in [lo, hi]; absent or null gives 0.
func (d decoder) int(field string, lo, hi int) (int, error) {
	raw, ok := d.fields[field]
	if !ok || isNull(raw) {
		return 0, nil
	}
	f, err := number(raw, field)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, Reject(field, "%v: want an integer in [%d, %d]", f, lo, hi)
	}
	return int(f), nil
}

// number reads a finite JSON number.
func number(raw json.RawMessage, field string) (float64, error) {
	var n json.Number
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] == '"' || json.Unmarshal(t, &n) != nil {
		return 0, Reject(field, "want a number")
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, Reject(field, "%s: want a finite number", string(n))
	}
	return f, nil
}

func validName(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// asRejection converts a Service error into the field and reason of a rejected event.
func asRejection(err error) (field, reason string) {
	var r *Rejection
	if errors.As(err, &r) {
		if r.Field != "" && !strings.HasPrefix(r.Reason, r.Field+":") {
			return r.Field, r.Field + ": " + r.Reason
		}
		return r.Field, r.Reason
	}
	return "", err.Error()
}
