package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// newRecordCmd is `praxis record start|stop NAME`: record a demonstration on the daemon.
func newRecordCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "record start|stop NAME",
		Short: "Start or stop recording a demonstration on the daemon",
		Long: "record start NAME asks the daemon to record a demonstration called NAME (stored in its\n" +
			"data directory; `praxis learn --from-daemon` fits skills from it) and follows the\n" +
			"recording until it ends; Ctrl-C stops the recording (record stop over a second\n" +
			"connection) and prints its result, a second Ctrl-C stops waiting; --no-follow returns\n" +
			"at once and the recording goes on until record stop NAME, which ends it and prints the\n" +
			"result. " + clientCmdGroupNote,
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return inputErrf("record: want a subcommand: start NAME or stop NAME")
		},
	}
	var noFollow, leader bool
	start := recordCommand(&cobra.Command{
		Use:   "start NAME [--leader] [--no-follow]",
		Short: "Start recording demonstration NAME and follow it until it ends",
		Args:  argsBad(cobra.ExactArgs(1)),
	}, mqttapi.RecordStart, &noFollow, &leader)
	start.Flags().BoolVar(&noFollow, "no-follow", false, "return once the daemon accepted the command")
	start.Flags().BoolVar(&leader, "leader", false,
		"teleoperate: the daemon's leader arm (config leader:) drives the arm, whose measured trajectory is recorded")
	stop := recordCommand(&cobra.Command{
		Use:   "stop NAME",
		Short: "Stop recording demonstration NAME and print the result",
		Args:  argsBad(cobra.ExactArgs(1)),
	}, mqttapi.RecordStop, nil, nil)
	c.AddCommand(start, stop)
	return c
}

// recordCommand builds record start or stop.
func recordCommand(c *cobra.Command, action string, noFollow, leader *bool) *cobra.Command {
	var o connOpts
	o.register(c.Flags())
	c.RunE = func(cmd *cobra.Command, args []string) error {
		name := args[0]
		if strings.TrimSpace(name) == "" {
			return inputErrf("record %s: empty demo name", action)
		}
		if _, err := o.config(); err != nil {
			return err
		}
		s, err := o.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer s.Close()
		follow := action == mqttapi.RecordStop || !*noFollow
		var tap *eventTap
		if follow { // subscribe before sending, so that no event is missed
			if tap, err = openTap(cmd.Context(), s.cfg, s.cli.Topics().Events); err != nil {
				return o.dialError(s.cfg, err)
			}
			defer tap.close()
		}
		req := mqttapi.RecordRequest{ID: newCmdID(), Action: action, Demo: name, Leader: leader != nil && *leader}
		e, err := s.cli.Record(cmd.Context(), req)
		if err != nil {
			return s.cmdError("record "+action+" "+name, err)
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "record %s %s: %s (id %s)\n", action, name, e.Type, e.ID)
		if !follow {
			return nil
		}
		if action == mqttapi.RecordStart {
			what := "the arm"
			if req.Leader {
				what = "the leader arm (the arm follows)"
			}
			fmt.Fprintf(out, "recording demo %s; move %s through the whole motion, rest to rest (usually %s); "+
				"Ctrl-C or `praxis record stop %s` to stop; --no-follow returns at once\n", name, what, typicalTeach, name)
			return followRecording(cmd, s, tap, req.ID, name)
		}
		return recordResult(cmd, s, tap, req.ID, name)
	}
	return c
}

// typicalTeach is how long a demonstration usually takes (docs/cli.md, demos.Check).
const typicalTeach = "2-10 s"

// interrupts returns the channel of Ctrl-C and a function that stops it (a test hook).
var interrupts = func() (<-chan os.Signal, func()) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt)
	return sig, func() { signal.Stop(sig) }
}

// followRecording prints the recording's progress until its terminal event. The first
// Ctrl-C stops the recording (cmd/record stop over a second connection) and waits for
// its result; a second one stops waiting.
func followRecording(cmd *cobra.Command, s *session, tap *eventTap, id, name string) error {
	out := cmd.OutOrStdout()
	sig, stopSig := interrupts()
	defer stopSig()
	bar := &recordIndicator{w: out, label: "recording " + name, tty: isTerminal(out), lastSec: -1}
	interrupted := false
	for {
		var te tapEvent
		select {
		case te = <-tap.events:
		case <-tap.lost:
			bar.done()
			return fmt.Errorf("record start %s: connection to the broker lost while following; the recording may go on: check `praxis status`", name)
		case <-sig:
			bar.done()
			if interrupted {
				fmt.Fprintf(out, "stopped waiting; check `praxis status` (`praxis record stop %s` ends a recording that goes on)\n", name)
				return nil
			}
			interrupted = true
			fmt.Fprintf(out, "interrupted: stopping recording %s (Ctrl-C again to stop waiting)\n", name)
			go s.stopRecordingElsewhere(cmd.Context(), cmd.ErrOrStderr(), name)
			continue
		case <-cmd.Context().Done():
			bar.done()
			return cmd.Context().Err()
		}
		if te.ID != id && !(te.Demo == name && te.Type.Terminal() && te.Type != mqttapi.Rejected) {
			continue
		}
		switch te.Type {
		case mqttapi.Accepted:
			continue // printed already
		case mqttapi.Progress:
			bar.set(te.Event)
			continue
		}
		bar.done()
		if te.Type.Terminal() {
			return printRecordResult(out, cmd.ErrOrStderr(), te, name)
		}
		printEvent(out, "record", te.Event)
	}
}

// stopRecordingElsewhere sends record stop for name over a fresh connection (the
// session's follows the recording) and reports a failure on w.
func (s *session) stopRecordingElsewhere(ctx context.Context, w io.Writer, name string) {
	c, err := mqttapi.Dial(ctx, s.cfg)
	if err != nil {
		fmt.Fprintf(w, "record stop %s: %v\n", name, s.opts.dialError(s.cfg, err))
		return
	}
	defer c.Close()
	if _, err := c.Record(ctx, mqttapi.RecordRequest{ID: newCmdID(), Action: mqttapi.RecordStop, Demo: name}); err != nil {
		fmt.Fprintf(w, "record stop %s: %v\n", name, s.cmdError("record stop", err))
	}
}

// recordIndicator shows a recording's progress events (samples and seconds recorded):
// one updating line on a terminal, else a plain line per second recorded.
type recordIndicator struct {
	w          io.Writer
	label      string
	tty, drawn bool
	lastSec    int
}

func (r *recordIndicator) set(e mqttapi.Event) {
	text := recordFigures(e)
	if r.tty {
		fmt.Fprintf(r.w, "\r\033[K%s: %s", r.label, text)
		r.drawn = true
		return
	}
	if sec := int(e.Seconds); sec > r.lastSec {
		r.lastSec = sec
		fmt.Fprintf(r.w, "%s: %s\n", r.label, text)
	}
}

// done ends an open terminal line.
func (r *recordIndicator) done() {
	if r.drawn {
		fmt.Fprintln(r.w)
		r.drawn = false
	}
}

// recordResult waits (up to the answer timeout) for the event that ends the recording
// and prints it.
func recordResult(cmd *cobra.Command, s *session, tap *eventTap, id, name string) error {
	timer := time.NewTimer(s.cfg.AnswerTimeout)
	defer timer.Stop()
	for {
		select {
		case te := <-tap.events:
			if te.Type.Terminal() && (te.ID == id || (te.Demo == name && te.Type != mqttapi.Rejected)) {
				return printRecordResult(cmd.OutOrStdout(), cmd.ErrOrStderr(), te, name)
			}
		case <-tap.lost:
			return fmt.Errorf("record stop %s: connection to the broker lost before the result", name)
		case <-timer.C:
			return fmt.Errorf("record stop %s: the daemon accepted the stop but sent no result within %v: check `praxis status`", name, s.cfg.AnswerTimeout)
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		}
	}
}

// recordFigures formats a recording event's figures: "120 samples, 1.20 s".
func recordFigures(e mqttapi.Event) string {
	return fmt.Sprintf("%d samples, %.2f s", e.Samples, e.Seconds)
}

// keptAs says where a recording's demo is kept, from the event's path: ", saved as
// demos/pick-1.csv in the daemon's data directory" ("" without a path).
func keptAs(e mqttapi.Event) string {
	if e.Path == "" {
		return ""
	}
	return ", saved as " + e.Path + " in the daemon's data directory"
}

// printRecordResult prints the terminal event of a recording: on success the samples,
// seconds and path (and any event fields this CLI does not know), an error otherwise; the
// event's warning (a demo too short, with little motion, cut mid-motion) goes to errw.
func printRecordResult(w, errw io.Writer, te tapEvent, name string) error {
	if te.Warning != "" && te.Type != mqttapi.Rejected {
		defer fmt.Fprintf(errw, "warning: demo %s: %s\n", name, te.Warning)
	}
	switch te.Type {
	case mqttapi.Succeeded:
		var b strings.Builder
		fmt.Fprintf(&b, "recorded %s: %s%s", name, recordFigures(te.Event), keptAs(te.Event))
		keys := make([]string, 0, len(te.extra))
		for k := range te.extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, ", %s %s", k, humanValue(te.extra[k]))
		}
		if te.Reason != "" {
			b.WriteString(": " + te.Reason)
		}
		fmt.Fprintln(w, b.String())
		return nil
	case mqttapi.Rejected:
		return inputErrf("record %s rejected by the daemon: %s", name, rejectionText(&mqttapi.Rejection{Field: te.Field, Reason: te.Reason}))
	}
	if te.Samples > 0 {
		return fmt.Errorf("recording %s %s: %s (%s%s)", name, te.Type, te.Reason, recordFigures(te.Event), keptAs(te.Event))
	}
	return fmt.Errorf("recording %s %s: %s", name, te.Type, te.Reason)
}

// humanValue formats a JSON value for a person: numbers with at most 6 significant
// digits (1.6099999999999999 prints as 1.61).
func humanValue(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', 6, 64)
	}
	return fmt.Sprint(v)
}

// tapEvent is an event with the JSON fields that mqttapi.Event does not know.
type tapEvent struct {
	mqttapi.Event
	extra map[string]any
}

// knownEventFields are the JSON fields of mqttapi.Event.
var knownEventFields = map[string]bool{"id": true, "cmd": true, "type": true, "time": true, "skill": true,
	"version": true, "reason": true, "field": true, "progress": true, "final_error": true, "demo": true,
	"samples": true, "seconds": true, "path": true, "fit_error": true, "recovered": true, "skills": true,
	"warning": true}

// eventTap is a second connection that queues every event of the robot, for commands
// whose events outlive the Client's call (a recording).
type eventTap struct {
	cli    paho.Client
	events chan tapEvent
	lost   chan struct{}
	once   sync.Once
}

// openTap connects with cfg's credentials and subscribes to topic.
func openTap(ctx context.Context, cfg mqttapi.ClientConfig, topic string) (*eventTap, error) {
	t := &eventTap{events: make(chan tapEvent, 4096), lost: make(chan struct{})}
	o := paho.NewClientOptions().AddBroker(cfg.Broker).
		SetClientID("praxis-cli-tap-" + newCmdID()).
		SetUsername(cfg.Username).SetPassword(cfg.Password).
		SetCleanSession(true).SetAutoReconnect(false).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetOrderMatters(true).
		SetConnectionLostHandler(func(paho.Client, error) { t.once.Do(func() { close(t.lost) }) })
	if cfg.TLS != nil {
		o.SetTLSConfig(cfg.TLS)
	}
	t.cli = paho.NewClient(o)
	if err := mqttapi.WaitToken(ctx, t.cli.Connect(), cfg.ConnectTimeout); err != nil {
		return nil, fmt.Errorf("mqttapi: connect %s: %w", cfg.Broker, err)
	}
	if err := mqttapi.WaitToken(ctx, t.cli.Subscribe(topic, 1, t.onMessage), cfg.ConnectTimeout); err != nil {
		t.cli.Disconnect(0)
		return nil, fmt.Errorf("subscribe %s: %w", topic, err)
	}
	return t, nil
}

// onMessage queues an event without blocking paho; when the queue is full (nobody
// reads), events are dropped.
func (t *eventTap) onMessage(_ paho.Client, m paho.Message) {
	var te tapEvent
	if json.Unmarshal(m.Payload(), &te.Event) != nil {
		return
	}
	var raw map[string]any
	if json.Unmarshal(m.Payload(), &raw) == nil {
		for k, v := range raw {
			if !knownEventFields[k] {
				if te.extra == nil {
					te.extra = map[string]any{}
				}
				te.extra[k] = v
			}
		}
	}
	select {
	case t.events <- te:
	default:
	}
}

func (t *eventTap) close() { t.cli.Disconnect(100) }
