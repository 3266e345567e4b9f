// Package mqttapi is the MQTT transport of the Praxis daemon: topic names, JSON messages
// and their validation, a Server that bridges MQTT commands to a Service the daemon
// implements, and a Client for the command line. It holds no robot logic.
//
// Topics live under praxis/<robot-id>/ (see Topics). Every command carries an "id" that is
// echoed in all its events, and every command is answered by exactly one "accepted" or
// "rejected" event. docs/mqtt.md documents the wire format.
package mqttapi
