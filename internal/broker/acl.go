package broker

import "strings"

// roleAnonymous is the role of every client when Config.Anonymous is set.
const roleAnonymous = "anonymous"

// DaemonClientIDPrefix and DaemonClientIDMarker define the client ids reserved for users
// of role daemon: an id starting with "praxis-" and containing "-daemon" after it, such as
// "praxis-arm1-daemon" or "praxis-arm1-daemon-3f9a".
const (
	DaemonClientIDPrefix = "praxis-"
	DaemonClientIDMarker = "-daemon"
)

// IsDaemonClientID reports whether id is reserved for the daemon's own connection.
func IsDaemonClientID(id string) bool {
	return strings.HasPrefix(id, DaemonClientIDPrefix) &&
		strings.Contains(id[len(DaemonClientIDPrefix)-1:], DaemonClientIDMarker)
}

// IsCommandTopic reports whether topic (a topic name) is a command topic, one matched by
// praxis/+/cmd/#: observers never see these, and nobody may retain a message on them.
// It allocates nothing: it runs at every delivery.
func IsCommandTopic(topic string) bool {
	rest, ok := strings.CutPrefix(topic, "praxis/")
	if !ok {
		return false
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return false
	}
	rest = rest[i+1:]
	return rest == "cmd" || strings.HasPrefix(rest, "cmd/")
}

// mayWrite reports whether role may publish to topic (a topic name, no wildcards).
// Operators and the daemon write praxis/#; observers write nothing.
func mayWrite(role, topic string) bool {
	switch role {
	case roleAnonymous:
		return true
	case RoleOperator, RoleDaemon:
		return underPraxis(topic)
	}
	return false
}

// mayRead reports whether role may receive a message published on topic (a topic name),
// or subscribe to topic as a filter. Operators and the daemon read praxis/#; observers
// read praxis/# except the command topics praxis/+/cmd/#. A filter is granted when it
// starts with the literal level "praxis" and can match something the role may read
// (e.g. praxis/arm1/# for an observer); every delivery is checked again per topic, so
// an observer subscribed to praxis/arm1/# receives state, events, status and skills but
// never a command.
func mayRead(role, topic string) bool {
	switch role {
	case roleAnonymous:
		return true
	case RoleOperator, RoleDaemon:
		return underPraxis(topic)
	case RoleObserver:
		return underPraxis(topic) && !IsCommandTopic(topic)
	}
	return false
}

// underPraxis reports whether the first level of topic is literally "praxis".
func underPraxis(topic string) bool {
	return topic == "praxis" || strings.HasPrefix(topic, "praxis/")
}
