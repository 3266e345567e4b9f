package mqttapi

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Errors of the Client. A rejected command returns a *Rejection.
var (
	ErrFailed         = errors.New("mqttapi: failed")          // terminal "failed" event
	ErrAborted        = errors.New("mqttapi: aborted")         // terminal "aborted" event
	ErrNoAnswer       = errors.New("mqttapi: no answer")       // no accepted/rejected in time
	ErrConnectionLost = errors.New("mqttapi: connection lost") // broker dropped the connection
)

// ClientConfig configures a Client. Zero fields take the stated defaults.
type ClientConfig struct {
	Broker         string        // broker URL: tcp://host:port or ssl://host:port; required
	Username       string        // MQTT user
	Password       string        // MQTT password
	TLS            *tls.Config   // TLS settings for ssl:// brokers; nil means system roots
	RobotID        string        // default DefaultRobotID
	ClientID       string        // default "praxis-cli-<random>"
	ConnectTimeout time.Duration // default 5 s
	AnswerTimeout  time.Duration // wait for accepted/rejected; default 5 s
}

// Client sends commands to a daemon and waits for their events. It does not reconnect:
// a lost connection fails the pending calls with ErrConnectionLost. Commands are
// published with QoS 1; a broker that denies the publish either drops it (mosquitto:
// the call ends with ErrNoAnswer) or disconnects the client (mochi: ErrConnectionLost).
type Client struct {
	cfg    ClientConfig
	topics Topics
	cli    paho.Client

	mu      sync.Mutex
	waiters map[string]*waiter
	lost    chan struct{}
	lostErr error
}

type waiter struct {
	mu  sync.Mutex
	q   []Event
	sig chan struct{}
}

// Dial connects to the broker and subscribes to the robot's events.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	if cfg.Broker == "" {
		return nil, errors.New("mqttapi: client config: Broker is required")
	}
	t, err := NewTopics(cfg.RobotID)
	if err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "praxis-cli-" + newID()
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.AnswerTimeout == 0 {
		cfg.AnswerTimeout = 5 * time.Second
	}
	c := &Client{cfg: cfg, topics: t, waiters: map[string]*waiter{}, lost: make(chan struct{})}
	o := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.lostErr == nil {
				c.lostErr = err
				close(c.lost)
			}
		})
	if cfg.TLS != nil {
		o.SetTLSConfig(cfg.TLS)
	}
	c.cli = paho.NewClient(o)
	if err := WaitToken(ctx, c.cli.Connect(), cfg.ConnectTimeout); err != nil {
		return nil, fmt.Errorf("mqttapi: connect %s: %w", cfg.Broker, err)
	}
	tok := c.cli.Subscribe(t.Events, 1, c.onEvent)
	if err := WaitToken(ctx, tok, cfg.ConnectTimeout); err != nil {
		c.cli.Disconnect(0)
		return nil, fmt.Errorf("mqttapi: subscribe %s: %w", t.Events, err)
	}
	if refused(tok) {
		c.cli.Disconnect(0)
		return nil, fmt.Errorf("mqttapi: subscribe %s: refused by the broker (no read access?)", t.Events)
	}
	return c, nil
}

// Close disconnects.
func (c *Client) Close() error {
	c.cli.Disconnect(250)
	return nil
}

// Topics returns the topics the client uses.
func (c *Client) Topics() Topics { return c.topics }

// onEvent is paho's handler: it only queues the event for its waiter.
func (c *Client) onEvent(_ paho.Client, m paho.Message) {
	var e Event
	if json.Unmarshal(m.Payload(), &e) != nil {
		return
	}
	c.mu.Lock()
	w := c.waiters[e.ID]
	c.mu.Unlock()
	if w == nil {
		return
	}
	w.mu.Lock()
	w.q = append(w.q, e)
	w.mu.Unlock()
	select {
	case w.sig <- struct{}{}:
	default:
	}
}

// Run starts a skill and follows it to its end. It subscribes first, publishes the
// command with a fresh id when req.ID is empty, calls fn (if not nil) with every event
// of that id, and returns the terminal event: a nil error for succeeded, a *Rejection,
// ErrFailed or ErrAborted otherwise.
func (c *Client) Run(ctx context.Context, req RunRequest, fn func(Event)) (Event, error) {
	if req.ID == "" {
		req.ID = newID()
	}
	return c.do(ctx, CmdRun, req.ID, req, fn, true)
}

// Learn asks the daemon to fit a skill from recorded demos and waits for the result, as
// Run does.
func (c *Client) Learn(ctx context.Context, req LearnRequest, fn func(Event)) (Event, error) {
	if req.ID == "" {
		req.ID = newID()
	}
	return c.do(ctx, CmdLearn, req.ID, req, fn, true)
}

// Record starts or stops recording a demonstration; it returns on accepted or rejected.
func (c *Client) Record(ctx context.Context, req RecordRequest) (Event, error) {
	if req.ID == "" {
		req.ID = newID()
	}
	return c.do(ctx, CmdRecord, req.ID, req, nil, false)
}

// Cancel asks the daemon to stop the run with id; it returns on accepted or rejected.
func (c *Client) Cancel(ctx context.Context, id string) (Event, error) {
	return c.do(ctx, CmdCancel, id, CancelRequest{ID: id}, nil, false)
}

// Flight asks the daemon to write its flight recorder's present content to a file now;
// it returns on accepted (the event's Path is the file, relative to the daemon's data
// directory) or rejected. Operators only: the broker drops an observer's command.
func (c *Client) Flight(ctx context.Context, req FlightRequest) (Event, error) {
	if req.ID == "" {
		req.ID = newID()
	}
	return c.do(ctx, CmdFlight, req.ID, req, nil, false)
}

// EStop latches the daemon's emergency stop; it returns on accepted.
func (c *Client) EStop(ctx context.Context) (Event, error) {
	id := newID()
	return c.do(ctx, CmdEStop, id, IDRequest{ID: id}, nil, false)
}

// Reset clears a latched e-stop; it returns on accepted or rejected.
func (c *Client) Reset(ctx context.Context) (Event, error) {
	id := newID()
	return c.do(ctx, CmdReset, id, IDRequest{ID: id}, nil, false)
}

// Skills asks the daemon for its skill list.
func (c *Client) Skills(ctx context.Context) ([]SkillInfo, error) {
	id := newID()
	e, err := c.do(ctx, CmdSkills, id, IDRequest{ID: id}, nil, false)
	return e.Skills, err
}

// Status reads the retained status of the daemon (Activity Offline when it is down).
func (c *Client) Status(ctx context.Context) (Status, error) {
	ch := make(chan Status, 1)
	tok := c.cli.Subscribe(c.topics.Status, 1, func(_ paho.Client, m paho.Message) {
		var st Status
		if json.Unmarshal(m.Payload(), &st) == nil {
			select {
			case ch <- st:
			default:
			}
		}
	})
	if err := WaitToken(ctx, tok, c.cfg.ConnectTimeout); err != nil {
		return Status{}, fmt.Errorf("mqttapi: subscribe %s: %w", c.topics.Status, err)
	}
	defer c.cli.Unsubscribe(c.topics.Status)
	timer := time.NewTimer(c.cfg.AnswerTimeout)
	defer timer.Stop()
	select {
	case st := <-ch:
		return st, nil
	case <-timer.C:
		return Status{}, fmt.Errorf("%w: no retained status on %s (daemon never connected?)", ErrNoAnswer, c.topics.Status)
	case <-ctx.Done():
		return Status{}, ctx.Err()
	case <-c.lost:
		return Status{}, c.lostError()
	}
}

func (c *Client) lostError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Errorf("%w: %v (the broker drops clients that publish without write access)", ErrConnectionLost, c.lostErr)
}

// do publishes one command and waits for its answer and, when follow, its terminal event.
func (c *Client) do(ctx context.Context, cmd, id string, req any, fn func(Event), follow bool) (Event, error) {
	if id == "" {
		return Event{}, Reject("id", "missing")
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return Event{}, fmt.Errorf("mqttapi: %s: %w", cmd, err)
	}
	w := &waiter{sig: make(chan struct{}, 1)}
	c.mu.Lock()
	if _, busy := c.waiters[id]; busy {
		c.mu.Unlock()
		return Event{}, fmt.Errorf("mqttapi: %s: id %q already in use", cmd, id)
	}
	c.waiters[id] = w
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, id)
		c.mu.Unlock()
	}()

	if err := WaitToken(ctx, c.cli.Publish(c.topics.Cmd(cmd), 1, false, payload), c.cfg.AnswerTimeout); err != nil {
		if !c.cli.IsConnectionOpen() { // mochi drops QoS 1 publishers without write access
			return Event{}, fmt.Errorf("%w: publish %s: %v (the broker drops clients that publish without write access)", ErrConnectionLost, cmd, err)
		}
		return Event{}, fmt.Errorf("mqttapi: publish %s: %w", cmd, err)
	}
	answer := time.NewTimer(c.cfg.AnswerTimeout)
	defer answer.Stop()
	answered := false
	for {
		select {
		case <-ctx.Done():
			return Event{}, fmt.Errorf("mqttapi: %s %s: %w", cmd, id, ctx.Err())
		case <-c.lost:
			return Event{}, c.lostError()
		case <-answer.C:
			if !answered {
				return Event{}, fmt.Errorf("%w: %s %s: nothing within %v (daemon down, or no write access)", ErrNoAnswer, cmd, id, c.cfg.AnswerTimeout)
			}
		case <-w.sig:
		}
		w.mu.Lock()
		q := w.q
		w.q = nil
		w.mu.Unlock()
		for _, e := range q {
			if (e.Type == Accepted || e.Type == Rejected) && e.Cmd != "" && e.Cmd != cmd {
				continue // the answer to another command with the same id (cancel of a run)
			}
			if fn != nil {
				fn(e)
			}
			switch {
			case e.Type == Rejected:
				return e, &Rejection{Field: e.Field, Reason: e.Reason}
			case e.Type == Accepted:
				answered = true
				if !follow {
					return e, nil
				}
			case e.Type == Succeeded:
				return e, nil
			case e.Type == Failed:
				return e, fmt.Errorf("%w: %s", ErrFailed, e.Reason)
			case e.Type == Aborted:
				return e, fmt.Errorf("%w: %s", ErrAborted, e.Reason)
			}
		}
	}
}

// WaitToken waits for tok, ctx or the timeout; it returns the token's error, ctx.Err(),
// or a timeout error.
func WaitToken(ctx context.Context, tok paho.Token, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("timed out after %v", timeout)
	}
}

func refused(tok paho.Token) bool {
	st, ok := tok.(*paho.SubscribeToken)
	if !ok {
		return false
	}
	for _, code := range st.Result() {
		if code >= 0x80 {
			return true
		}
	}
	return false
}

// newID returns a fresh random command id (12 hex digits).
func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
