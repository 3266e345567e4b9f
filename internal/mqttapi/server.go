package mqttapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/time/rate"
)

// ServerConfig configures a Server. Zero fields take the stated defaults.
type ServerConfig struct {
	Broker   string      // broker URL: tcp://host:port or ssl://host:port; required
	Username string      // MQTT user; needs read/write on praxis/<robot-id>/#
	Password string      // MQTT password
	TLS      *tls.Config // TLS settings for ssl:// brokers; nil means system roots
	RobotID  string      // robot id in topics; default DefaultRobotID
	// ClientID is the MQTT client id; default "praxis-<robot-id>-daemon-<16 random hex
	// digits>": unguessable, so that no other client can take the daemon's session over
	// on a broker that cannot bind client ids to users (the embedded broker reserves
	// "praxis-*-daemon*" for the daemon's user).
	ClientID     string
	StateRate    float64 // highest state publish rate, Hz; default 20
	ProgressRate float64 // highest progress event rate per id, Hz; default 10
	QueueLen     int     // commands waiting for the Service; default 1024
	// CommandRate (commands/s) and CommandBurst bound how fast commands other than estop,
	// cancel and reset are taken; beyond them a command is answered "busy" without being
	// decoded, and those answers are themselves limited to 20/s (the rest are dropped
	// and logged), so a flood costs little. Defaults 1000 and 2000. (The embedded broker
	// also meters each client, so that one client's flood cannot use this budget up.)
	CommandRate  float64
	CommandBurst int
	// CheckDuplicate makes Start refuse to serve when another daemon already serves
	// RobotID on the broker (it answers a probe); the daemon sets it for external brokers.
	CheckDuplicate bool
	// ClearRetained deletes any retained copy of each command the daemon takes (an empty
	// retained message to its topic, QoS 0, estop excepted), so that a command published
	// with the retain flag is acted on once, live, and never replayed at a later
	// subscription: MQTT 3.1.1 brokers clear the flag on live delivery, so the daemon cannot
	// tell such a command from another. For brokers that do not refuse retained commands
	// themselves (the embedded one does); the daemon sets it for external brokers.
	ClearRetained  bool
	ConnectTimeout time.Duration // first connection and subscription; default 10 s
	Logger         *slog.Logger  // default: discard
	// Refused, when set, is told of every command the server refuses without calling the
	// Service (which sees, and can count, all the others): shed under a flood (answered
	// "busy" or dropped unanswered) or rejected (undecodable payload, unknown command).
	// It must not block.
	Refused func(cmd string, shed bool)
}

func (c *ServerConfig) defaults() error {
	if c.Broker == "" {
		return errors.New("mqttapi: server config: Broker is required")
	}
	if c.RobotID == "" {
		c.RobotID = DefaultRobotID
	}
	if err := ValidRobotID(c.RobotID); err != nil {
		return fmt.Errorf("mqttapi: server config: RobotID: %w", err)
	}
	if c.ClientID == "" {
		c.ClientID = "praxis-" + c.RobotID + "-daemon-" + newID() + newID()[:4]
	}
	if c.CommandRate == 0 {
		c.CommandRate = 1000
	}
	if c.CommandBurst == 0 {
		c.CommandBurst = 2000
	}
	if !(c.CommandRate > 0) || c.CommandBurst < 1 {
		return errors.New("mqttapi: server config: CommandRate and CommandBurst must be positive")
	}
	if c.StateRate == 0 {
		c.StateRate = 20
	}
	if c.ProgressRate == 0 {
		c.ProgressRate = 10
	}
	if c.StateRate < 0 || c.ProgressRate < 0 {
		return errors.New("mqttapi: server config: StateRate and ProgressRate must be positive")
	}
	if c.QueueLen == 0 {
		c.QueueLen = 1024
	}
	if c.QueueLen < 0 {
		return errors.New("mqttapi: server config: QueueLen must be positive")
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Server bridges MQTT commands to a Service and publishes the daemon's events, state,
// status and skills. Create it with NewServer, then Start; Close publishes the offline
// status and disconnects. Publish methods are safe for concurrent use.
type Server struct {
	cfg    ServerConfig
	topics Topics
	svc    Service
	cli    paho.Client

	cmds    chan inMsg  // command queue, drained by runCommands
	estops  chan string // e-stop ids, drained by runEStops
	cancels chan inMsg  // cancels and resets, drained by runCancels: never behind cmds

	// Owned by paho's message goroutine (onCommand).
	bucket  *rate.Limiter // CommandRate
	busyOut *rate.Limiter // "busy" answers
	shed    int           // commands dropped without an answer since the last log line
	shedLog time.Time

	retainedMu sync.Mutex
	clearing   map[string]int // topic -> empty retained messages we sent to clear it
	out        chan outItem   // everything to publish, drained by runPublisher
	resync     chan struct{}  // (re)connected: republish retained messages

	subscribed chan struct{} // closed on the first successful subscription
	subOnce    sync.Once

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

type inMsg struct {
	cmd     string
	payload []byte
}

type outKind uint8

const (
	outEvent   outKind = iota
	outHold            // hold events of id until its accepted/rejected is published
	outAnswer          // the accepted/rejected event that releases a hold
	outState           // joint telemetry
	outStatus          // retained status
	outSkills          // retained skill list
	outOffline         // publish offline status, then signal done
)

type outItem struct {
	kind   outKind
	event  Event
	state  State
	status Status
	skills []SkillInfo
	done   chan struct{}
}

// NewServer checks cfg and returns a Server for svc; it does not touch the network.
func NewServer(cfg ServerConfig, svc Service) (*Server, error) {
	if svc == nil {
		return nil, errors.New("mqttapi: nil Service")
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	t, err := NewTopics(cfg.RobotID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, topics: t, svc: svc,
		cmds:       make(chan inMsg, cfg.QueueLen),
		estops:     make(chan string, 256),
		cancels:    make(chan inMsg, 256),
		clearing:   map[string]int{},
		bucket:     rate.NewLimiter(rate.Limit(cfg.CommandRate), cfg.CommandBurst),
		busyOut:    rate.NewLimiter(20, 20),
		out:        make(chan outItem, 4096),
		resync:     make(chan struct{}, 1),
		subscribed: make(chan struct{}),
		ctx:        ctx, cancel: cancel,
	}, nil
}

// Topics returns the topics the server uses.
func (s *Server) Topics() Topics { return s.topics }

// willPayload is the retained status the broker publishes when the daemon's connection
// dies without a clean disconnect.
const willPayload = `{"online":false,"activity":"offline"}`

// Start connects to the broker, subscribes to the command topics and publishes the
// online status and the skill list. It returns once commands can be received; it fails
// at once on refused credentials, or after ConnectTimeout. Once connected, the
// connection reconnects by itself (backing off up to 5 s). Call Start once.
func (s *Server) Start(ctx context.Context) error {
	o := paho.NewClientOptions().
		AddBroker(s.cfg.Broker).
		SetClientID(s.cfg.ClientID).
		SetUsername(s.cfg.Username).
		SetPassword(s.cfg.Password).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(false). // the first attempt reports bad credentials; then reconnect
		SetMaxReconnectInterval(5*time.Second).
		SetKeepAlive(10*time.Second).
		SetConnectTimeout(s.cfg.ConnectTimeout).
		SetOrderMatters(true).
		SetWill(s.topics.Status, willPayload, 1, true).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.cfg.Logger.Warn("mqttapi: connection lost", "err", err)
		})
	if s.cfg.TLS != nil {
		o.SetTLSConfig(s.cfg.TLS)
	}
	s.cli = paho.NewClient(o)
	if s.cfg.CheckDuplicate {
		if err := s.probe(ctx, o); err != nil {
			return err
		}
	}
	s.wg.Add(4)
	go s.runPublisher()
	go s.runEStops()
	go s.runCancels()
	go s.runCommands()
	tok := s.cli.Connect()
	timer := time.NewTimer(s.cfg.ConnectTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			s.Close()
			return fmt.Errorf("mqttapi: connect %s as %q: %w", s.cfg.Broker, s.cfg.Username, err)
		}
	case <-ctx.Done():
		s.Close()
		return fmt.Errorf("mqttapi: connect %s: %w", s.cfg.Broker, ctx.Err())
	case <-timer.C:
		s.Close()
		return fmt.Errorf("mqttapi: connect %s: no connection within %v", s.cfg.Broker, s.cfg.ConnectTimeout)
	}
	select {
	case <-s.subscribed:
		return nil
	case <-ctx.Done():
		s.Close()
		return fmt.Errorf("mqttapi: connect %s: %w", s.cfg.Broker, ctx.Err())
	case <-timer.C:
		s.Close()
		return fmt.Errorf("mqttapi: connect %s: no connection and subscription within %v", s.cfg.Broker, s.cfg.ConnectTimeout)
	}
}

// onConnect runs on its own goroutine after every (re)connection.
func (s *Server) onConnect(c paho.Client) {
	tok := c.Subscribe(s.topics.Cmds, 1, s.onCommand)
	if !tok.WaitTimeout(s.cfg.ConnectTimeout) || tok.Error() != nil {
		s.cfg.Logger.Error("mqttapi: subscribe failed", "topic", s.topics.Cmds, "err", tok.Error())
		return
	}
	if refused(tok) {
		s.cfg.Logger.Error("mqttapi: subscription refused by the broker (no read access?)", "topic", s.topics.Cmds)
		return
	}
	select {
	case s.resync <- struct{}{}:
	default:
	}
	s.subOnce.Do(func() { close(s.subscribed) })
}

// onCommand is paho's handler: it never blocks. E-stops, cancels and resets take their
// own paths; a retained command (one the broker replays at a subscription) is never acted on;
// other commands beyond CommandRate are answered "busy" without being decoded.
func (s *Server) onCommand(_ paho.Client, m paho.Message) {
	name := strings.TrimPrefix(m.Topic(), s.topics.Root+"/cmd/")
	p := m.Payload()
	if s.retained(m) {
		return
	}
	switch name {
	case CmdEStop:
		id := EStopID(p)
		select {
		case s.estops <- id:
		default: // flooded: never lose an e-stop
			go s.estop(id)
		}
		return
	case CmdCancel, CmdReset:
		// Like the e-stop, what stops or recovers the arm is never queued behind, nor
		// shed with, other commands.
		select {
		case s.cancels <- inMsg{cmd: name, payload: p}:
		default: // flooded: never lose a cancel
			go s.handle(inMsg{cmd: name, payload: p})
		}
		return
	}
	if s.cfg.ClearRetained && len(p) > 0 {
		s.retainedMu.Lock()
		s.clearing[m.Topic()]++
		s.retainedMu.Unlock()
		s.cli.Publish(m.Topic(), 0, true, []byte{})
	}
	now := time.Now()
	if !s.bucket.AllowN(now, 1) {
		s.busy(now, name, p, fmt.Sprintf("busy: more than %g commands/s", s.cfg.CommandRate))
		return
	}
	select {
	case s.cmds <- inMsg{cmd: name, payload: p}:
	default:
		s.busy(now, name, p, "busy: command queue full")
	}
}

// busy answers a command it sheds, within the busy-answer budget; beyond it the command
// is dropped unanswered, and the drops are logged at most every 10 s.
func (s *Server) busy(now time.Time, name string, p []byte, reason string) {
	if s.cfg.Refused != nil {
		s.cfg.Refused(name, true)
	}
	if s.busyOut.AllowN(now, 1) {
		s.enqueue(outItem{kind: outAnswer, event: Event{ID: PeekID(p), Cmd: name, Type: Rejected,
			Time: now, Reason: reason}}, false)
		return
	}
	s.shed++
	if now.Sub(s.shedLog) >= 10*time.Second {
		s.cfg.Logger.Warn("mqttapi: command flood: commands dropped unanswered", "dropped", s.shed, "reason", reason)
		s.shed, s.shedLog = 0, now
	}
}

// retained reports whether m is a retained command, which is never acted on: the broker
// replays it at every subscription, so acting on it would re-run a motion or clear a
// later e-stop. It also deletes it from the broker (an empty retained message, QoS 0),
// and recognises the empty message that deletion echoes back.
func (s *Server) retained(m paho.Message) bool {
	s.retainedMu.Lock()
	defer s.retainedMu.Unlock()
	topic := m.Topic()
	if len(m.Payload()) == 0 && s.clearing[topic] > 0 && topic != s.topics.Cmd(CmdEStop) {
		s.clearing[topic]--
		return true
	}
	if !m.Retained() {
		return false
	}
	s.cfg.Logger.Warn("mqttapi: ignored a retained command (commands must not be retained)", "topic", topic, "bytes", len(m.Payload()))
	if len(m.Payload()) > 0 && s.cli != nil && topic != s.topics.Cmd(CmdEStop) {
		s.clearing[topic]++
		s.cli.Publish(topic, 0, true, []byte{})
	}
	return true
}

func (s *Server) runCancels() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case m := <-s.cancels:
			s.handle(m)
		}
	}
}

func (s *Server) runEStops() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case id := <-s.estops:
			s.estop(id)
		}
	}
}

func (s *Server) estop(id string) {
	s.svc.EStop()
	s.enqueue(outItem{kind: outAnswer, event: Event{ID: id, Cmd: CmdEStop, Type: Accepted, Time: time.Now()}}, true)
}

func (s *Server) runCommands() {
	defer s.wg.Done()
	list := s.svc.Skills
	if l, ok := s.svc.(SkillLister); ok {
		list = l.ListSkills // the server's own listing is not a command
	}
	if list, err := list(); err == nil {
		s.PublishSkills(list)
	} else {
		s.cfg.Logger.Warn("mqttapi: listing skills", "err", err)
	}
	for {
		select {
		case <-s.ctx.Done():
			return
		case m := <-s.cmds:
			s.handle(m)
		}
	}
}

// FlightDumper is a Service with a flight recorder (core.FlightLog) that cmd/flight can
// ask to write its present content to a file now. DumpFlight returns the recording's info
// and its file relative to the daemon's data directory (the accepted event's path).
type FlightDumper interface {
	DumpFlight(reason string) (info FlightInfo, path string, err error)
}

// SkillLister is a Service that can list its skills without counting it as a command;
// the server uses it for the skill list it publishes when it starts.
type SkillLister interface {
	ListSkills() ([]SkillInfo, error)
}

// handle decodes one command, calls the Service and answers with exactly one event.
func (s *Server) handle(m inMsg) {
	// The answer is stamped when the daemon takes the command, before the Service runs
	// it: events the Service publishes meanwhile (a run's started) are never earlier.
	ev := Event{Cmd: m.cmd, Type: Accepted, Time: time.Now()}
	var err error
	called := false
	call := func(id string, f func() error) {
		called = true
		ev.ID = id
		s.enqueue(outItem{kind: outHold, event: Event{ID: id}}, true)
		err = f()
	}
	switch m.cmd {
	case CmdRun:
		var r RunRequest
		if r, err = DecodeRun(m.payload); err == nil {
			ev.Skill, ev.Version = r.Skill, r.Version
			call(r.ID, func() error { return s.svc.Run(r) })
		}
	case CmdCancel:
		var r CancelRequest
		if r, err = DecodeCancel(m.payload); err == nil {
			call(r.ID, func() error { return s.svc.Cancel(r.ID) })
		}
	case CmdReset:
		var r IDRequest
		if r, err = DecodeID(m.payload); err == nil {
			call(r.ID, func() error {
				res, err := s.svc.Reset()
				ev.Recovered = res.Recovered && err == nil
				if err == nil && res.NotLatched && !res.Recovered {
					ev.Reason = NothingToReset
				}
				return err
			})
		}
	case CmdRecord:
		var r RecordRequest
		if r, err = DecodeRecord(m.payload); err == nil {
			ev.Demo = r.Demo
			call(r.ID, func() error { return s.svc.Record(r) })
		}
	case CmdLearn:
		var r LearnRequest
		if r, err = DecodeLearn(m.payload); err == nil {
			ev.Skill = r.Skill
			call(r.ID, func() error { return s.svc.Learn(r) })
		}
	case CmdSkills:
		var r IDRequest
		if r, err = DecodeID(m.payload); err == nil {
			call(r.ID, func() error {
				list, err := s.svc.Skills()
				if err == nil {
					ev.Skills = list
					if ev.Skills == nil {
						ev.Skills = []SkillInfo{}
					}
					s.PublishSkills(list)
				}
				return err
			})
		}
	case CmdFlight:
		var r FlightRequest
		if r, err = DecodeFlight(m.payload); err == nil {
			call(r.ID, func() error {
				fd, ok := s.svc.(FlightDumper)
				if !ok {
					return Reject("", "no flight recorder")
				}
				info, path, err := fd.DumpFlight(r.Reason)
				if err == nil {
					ev.Path, ev.Samples, ev.Seconds = path, info.Samples, info.Seconds
				}
				return err
			})
		}
	default:
		err = Reject("", "unknown command %q", m.cmd)
	}
	if ev.ID == "" {
		ev.ID = PeekID(m.payload)
	}
	if err != nil {
		ev.Type = Rejected
		ev.Field, ev.Reason = asRejection(err)
		ev.Skills = nil
		if !called && s.cfg.Refused != nil {
			s.cfg.Refused(m.cmd, false)
		}
	}
	s.enqueue(outItem{kind: outAnswer, event: ev}, true)
}

// enqueue hands it to the publisher; with wait false it drops it when the queue is full.
func (s *Server) enqueue(it outItem, wait bool) {
	if !wait {
		select {
		case s.out <- it:
		default:
		}
		return
	}
	select {
	case s.out <- it:
	case <-s.ctx.Done():
	}
}

// Publish sends an event of a command (started, progress, succeeded, failed, aborted)
// on the events topic. Progress events beyond ProgressRate per id, or while the publish
// queue is full, are dropped; other events wait for room. A zero Time is set to now.
func (s *Server) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.enqueue(outItem{kind: outEvent, event: e}, e.Type != Progress)
}

// PublishState sends a joint telemetry sample, at most StateRate per second: faster
// calls and calls while the publish queue is full are dropped. st is copied.
func (s *Server) PublishState(st State) {
	if st.Time.IsZero() {
		st.Time = time.Now()
	}
	st.Names = append([]string(nil), st.Names...)
	st.Pos = append([]float64(nil), st.Pos...)
	st.Vel = append([]float64(nil), st.Vel...)
	s.enqueue(outItem{kind: outState, state: st}, false)
}

// SetStatus publishes st (with Online set) as the retained status; it is republished
// after every reconnection.
func (s *Server) SetStatus(st Status) {
	st.Online = true
	s.enqueue(outItem{kind: outStatus, status: st}, true)
}

// PublishSkills publishes list as the retained skill list; it is republished after
// every reconnection.
func (s *Server) PublishSkills(list []SkillInfo) {
	s.enqueue(outItem{kind: outSkills, skills: append([]SkillInfo{}, list...)}, true)
}

// offlineBudget bounds how long Close waits for the broker to acknowledge the events
// published so far and the offline status.
const offlineBudget = 5 * time.Second

// Close publishes the offline status, disconnects and stops the server's goroutines.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		if s.cli != nil && !s.cli.IsConnectionOpen() {
			s.cfg.Logger.Warn("mqttapi: shutting down while disconnected from the broker: no offline status (the broker publishes the will)")
		}
		if s.cli != nil && s.cli.IsConnectionOpen() {
			done := make(chan struct{})
			s.enqueue(outItem{kind: outOffline, done: done}, true)
			select {
			case <-done:
			case <-time.After(offlineBudget + time.Second):
			}
		}
		s.cancel()
		s.wg.Wait()
		if s.cli != nil {
			s.cli.Disconnect(250)
		}
	})
	return nil
}

// publisher is the state owned by runPublisher.
type publisher struct {
	s            *Server
	status       Status
	skills       []SkillInfo
	haveSkills   bool
	held         map[string]*held
	nextProgress map[string]time.Time
	nextState    time.Time
	pending      []paho.Token // QoS 1 publishes not yet acknowledged (pruned as they complete)
}

type held struct {
	n      int // commands with this id being handled
	events []Event
}

func (s *Server) runPublisher() {
	defer s.wg.Done()
	p := &publisher{s: s, status: Status{Online: true, Activity: Idle},
		held: map[string]*held{}, nextProgress: map[string]time.Time{}}
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.resync:
			p.publishStatus()
			if p.haveSkills {
				p.publishSkills()
			}
		case it := <-s.out:
			p.handle(it)
		}
	}
}

func (p *publisher) handle(it outItem) {
	switch it.kind {
	case outHold:
		h := p.held[it.event.ID]
		if h == nil {
			h = &held{}
			p.held[it.event.ID] = h
		}
		h.n++
	case outAnswer:
		p.event(it.event)
		if h := p.held[it.event.ID]; h != nil {
			h.n--
			if h.n <= 0 {
				delete(p.held, it.event.ID)
				for _, e := range h.events {
					p.event(e)
				}
			}
		}
	case outEvent:
		if h := p.held[it.event.ID]; h != nil {
			h.events = append(h.events, it.event)
			return
		}
		p.event(it.event)
	case outState:
		now := time.Now()
		if now.Before(p.nextState) {
			return
		}
		period := time.Duration(float64(time.Second) / p.s.cfg.StateRate)
		p.nextState = p.nextState.Add(period)
		if now.Sub(p.nextState) > 0 {
			p.nextState = now.Add(period)
		}
		p.publish(p.s.topics.State, 0, false, it.state)
	case outStatus:
		p.status = it.status
		p.publishStatus()
	case outSkills:
		p.skills, p.haveSkills = it.skills, true
		p.publishSkills()
	case outOffline:
		// Every event published so far reaches the broker before the offline status;
		// the status itself gets what is left of offlineBudget (at least half of it: on a
		// busy machine the broker's acknowledgement of the status alone can take a second).
		start := time.Now()
		deadline := start.Add(offlineBudget / 2)
		for _, tok := range p.pending {
			if !tok.WaitTimeout(time.Until(deadline)) {
				p.s.cfg.Logger.Warn("mqttapi: shutting down with events not acknowledged by the broker")
				break
			}
		}
		p.pending = nil
		st := p.status
		st.Online, st.Activity, st.Time = false, Offline, time.Now()
		b, _ := json.Marshal(st)
		tok := p.s.cli.Publish(p.s.topics.Status, 1, true, b)
		if !tok.WaitTimeout(time.Until(start.Add(offlineBudget))) {
			p.s.cfg.Logger.Warn("mqttapi: shutting down before the broker acknowledged the offline status")
		} else if err := tok.Error(); err != nil {
			p.s.cfg.Logger.Warn("mqttapi: offline status not published", "err", err)
		}
		close(it.done)
	}
}

// event publishes e, dropping progress events beyond ProgressRate per id.
func (p *publisher) event(e Event) {
	switch {
	case e.Type == Progress:
		now := time.Now()
		if now.Before(p.nextProgress[e.ID]) {
			return
		}
		p.nextProgress[e.ID] = now.Add(time.Duration(float64(time.Second) / p.s.cfg.ProgressRate))
	case e.Type.Terminal():
		delete(p.nextProgress, e.ID)
	}
	p.publish(p.s.topics.Events, 1, false, e)
}

// publishStatus and publishSkills use QoS 0: paho resends in-flight QoS 1 messages after
// a reconnection, which could overwrite the retained value with a stale one; instead
// every reconnection republishes the current value.
func (p *publisher) publishStatus() {
	st := p.status
	st.Time = time.Now()
	p.publish(p.s.topics.Status, 0, true, st)
}

func (p *publisher) publishSkills() {
	list := p.skills
	if list == nil {
		list = []SkillInfo{}
	}
	p.publish(p.s.topics.Skills, 0, true, SkillList{Time: time.Now(), Skills: list})
}

// publish marshals v and hands it to paho without waiting for the broker's ack.
func (p *publisher) publish(topic string, qos byte, retain bool, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.s.cfg.Logger.Error("mqttapi: marshal", "topic", topic, "err", err)
		return
	}
	tok := p.s.cli.Publish(topic, qos, retain, b)
	if qos > 0 {
		if len(p.pending) >= 64 { // keep the ones still in flight
			kept := p.pending[:0]
			for _, t := range p.pending {
				select {
				case <-t.Done():
				default:
					kept = append(kept, t)
				}
			}
			p.pending = kept
		}
		p.pending = append(p.pending, tok)
	}
}
