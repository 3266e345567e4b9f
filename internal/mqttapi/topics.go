package mqttapi

import (
	"fmt"
	"strings"
)

// DefaultRobotID is the robot id used when the configuration names none.
const DefaultRobotID = "arm1"

// Topics names every topic of one robot. Build it with NewTopics.
type Topics struct {
	Root   string // praxis/<robot-id>
	Events string // praxis/<robot-id>/events: command events, QoS 1
	State  string // praxis/<robot-id>/state: joint telemetry, QoS 0
	Status string // praxis/<robot-id>/status: retained daemon status, QoS 1
	Skills string // praxis/<robot-id>/skills: retained skill list, QoS 1
	Cmds   string // praxis/<robot-id>/cmd/+: filter matching every command topic
}

// NewTopics returns the topics of robotID (DefaultRobotID when empty). It fails when the
// id is not a single, wildcard-free topic level.
func NewTopics(robotID string) (Topics, error) {
	if robotID == "" {
		robotID = DefaultRobotID
	}
	if err := ValidRobotID(robotID); err != nil {
		return Topics{}, err
	}
	root := "praxis/" + robotID
	return Topics{
		Root:   root,
		Events: root + "/events",
		State:  root + "/state",
		Status: root + "/status",
		Skills: root + "/skills",
		Cmds:   root + "/cmd/+",
	}, nil
}

// Cmd returns the topic of command name (one of the Cmd* constants).
func (t Topics) Cmd(name string) string { return t.Root + "/cmd/" + name }

// ValidRobotID reports whether id can name a robot: 1 to 64 bytes, no '/', '+', '#',
// NUL or white space.
func ValidRobotID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("mqttapi: robot id %q: want 1 to 64 bytes", id)
	}
	if strings.ContainsAny(id, "/+#\x00 \t\r\n") {
		return fmt.Errorf("mqttapi: robot id %q: must not contain '/', '+', '#' or spaces", id)
	}
	return nil
}
