package mqttapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// ErrDuplicate: another daemon already serves the robot id on the broker.
var ErrDuplicate = errors.New("mqttapi: another daemon serves this robot id")

// probeWait bounds each step of the probe: the retained status, then the answer.
const probeWait = 1500 * time.Millisecond

// probe looks for a live daemon serving the same robot id before Start connects as one:
// when the retained status says online, it sends cmd/skills with a fresh id and waits for
// that daemon's answer. A status left online by a daemon that was killed (the broker
// publishes its will only after the keep-alive expires) gets no answer and is ignored.
func (s *Server) probe(ctx context.Context, base *paho.ClientOptions) error {
	o := *base
	o.SetClientID("praxis-" + s.cfg.RobotID + "-probe-" + newID())
	// No will: and no will flags either (paho sends WillRetain and WillQos even without a
	// will, and mochi rightly refuses such a CONNECT).
	o.WillEnabled, o.WillRetained, o.WillQos, o.WillTopic, o.WillPayload = false, false, 0, "", nil
	o.SetAutoReconnect(false)
	o.OnConnect, o.OnConnectionLost = nil, nil
	c := paho.NewClient(&o)
	if err := WaitToken(ctx, c.Connect(), s.cfg.ConnectTimeout); err != nil {
		return fmt.Errorf("mqttapi: connect %s as %q: %w", s.cfg.Broker, s.cfg.Username, err)
	}
	defer c.Disconnect(0)
	status := make(chan Status, 1)
	answer := make(chan struct{}, 1)
	id := "probe-" + newID()
	sub := func(topic string, f func(paho.Message)) error {
		tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { f(m) })
		if err := WaitToken(ctx, tok, s.cfg.ConnectTimeout); err != nil {
			return fmt.Errorf("mqttapi: probe subscribe %s: %w", topic, err)
		}
		return nil
	}
	if err := sub(s.topics.Events, func(m paho.Message) {
		var e Event
		if json.Unmarshal(m.Payload(), &e) == nil && e.ID == id {
			select {
			case answer <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		return err
	}
	if err := sub(s.topics.Status, func(m paho.Message) {
		var st Status
		if json.Unmarshal(m.Payload(), &st) == nil {
			select {
			case status <- st:
			default:
			}
		}
	}); err != nil {
		return err
	}
	var st Status
	select {
	case st = <-status:
	case <-time.After(probeWait):
		return nil // no retained status: nobody served this robot id
	case <-ctx.Done():
		return ctx.Err()
	}
	if !st.Online {
		return nil
	}
	c.Publish(s.topics.Cmd(CmdSkills), 1, false, fmt.Sprintf(`{"id":%q}`, id))
	select {
	case <-answer:
		return fmt.Errorf("%w: %s answers on %s (status online since %s): stop it, or give this one another robot_id",
			ErrDuplicate, s.topics.Root, s.cfg.Broker, st.Time.Format(time.RFC3339))
	case <-time.After(probeWait):
		return nil // a stale status: its daemon is gone
	case <-ctx.Done():
		return ctx.Err()
	}
}
