package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// Defaults of the connection flags.
const (
	defaultBrokerURL   = "tcp://127.0.0.1:1883"
	defaultTimeout     = 5 * time.Second
	envMQTTUser        = "PRAXIS_MQTT_USER"
	envMQTTPassword    = "PRAXIS_MQTT_PASSWORD"
	envBroker          = "PRAXIS_BROKER"
	clientCmdGroupNote = "Connection flags: --broker, --robot, --user, --password, --data, --ca, --timeout."
)

// newClientCmds returns the operator commands that talk to a running daemon over MQTT:
// run, skills, record, estop, reset, cancel and status.
func newClientCmds() []*cobra.Command {
	return []*cobra.Command{
		newRunCmd(),
		newSkillsCmd(),
		newRecordCmd(),
		newEStopCmd(),
		newResetCmd(),
		newCancelCmd(),
		newStatusCmd(),
	}
}

// connOpts are the connection flags shared by every daemon client command.
type connOpts struct {
	broker, robot, user, password, data, ca string
	timeout                                 time.Duration
	flags                                   *pflag.FlagSet

	// Set by config: the credentials file was missing (a refusal then says so).
	noCreds bool
}

// register adds the connection flags to fs.
func (o *connOpts) register(fs *pflag.FlagSet) {
	o.flags = fs
	fs.StringVar(&o.broker, "broker", defaultBrokerURL, "MQTT broker URL: tcp://host:port, or ssl://host:port for TLS (when not given: $"+envBroker+", else the broker of the daemon this user runs for --robot, else this default)")
	fs.StringVar(&o.robot, "robot", mqttapi.DefaultRobotID, "robot id (topics praxis/<id>/...)")
	fs.StringVar(&o.user, "user", "", "MQTT user (default: $"+envMQTTUser+", else the operator user of <data>/"+broker.CredentialsFile+")")
	fs.StringVar(&o.password, "password", "", "MQTT password (default: $"+envMQTTPassword+", else the user's password in <data>/"+broker.CredentialsFile+")")
	fs.StringVar(&o.data, "data", "", "daemon data directory holding "+broker.CredentialsFile+" (default: $"+daemon.EnvData+", else that of the daemon this user runs for --robot, else "+daemon.DefaultDataDir()+")")
	fs.StringVar(&o.ca, "ca", "", "PEM file of the CA certificate(s) to trust for ssl:// brokers (default: system roots)")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "how long to wait for the broker and for the daemon's answer")
}

// credsPath is the credentials file the command reads.
func (o *connOpts) credsPath() string {
	return filepath.Join(resolveDataDir(o.data, o.robot), broker.CredentialsFile)
}

// resolveDataDir finds the daemon's data directory: flag (when not ""), else
// $PRAXIS_DATA, else the data directory of the daemon this user runs for robot (its
// runtime file, daemon.RuntimeFile), else the daemon's default.
func resolveDataDir(flag, robot string) string {
	if flag != "" {
		return flag
	}
	if d := os.Getenv(daemon.EnvData); d != "" {
		return d
	}
	if r, err := daemon.ReadRuntime(robot); err == nil {
		return r.DataDir
	}
	return daemon.DefaultDataDir()
}

// resolveBroker returns the broker URL: --broker when given, else $PRAXIS_BROKER, else
// the broker of the daemon this user runs for the robot, else the default.
func (o *connOpts) resolveBroker() string {
	if o.flags != nil && o.flags.Changed("broker") {
		return o.broker
	}
	if b := os.Getenv(envBroker); b != "" {
		return b
	}
	if r, err := daemon.ReadRuntime(o.robot); err == nil && r.Broker != "" {
		return r.Broker
	}
	return o.broker
}

// config checks the flags and resolves the credentials: flags win over the environment,
// which wins over the credentials file. Bad flags are bad input.
func (o *connOpts) config() (mqttapi.ClientConfig, error) {
	o.broker, o.noCreds = o.resolveBroker(), false
	u, err := url.Parse(o.broker)
	if err != nil || u.Host == "" {
		return mqttapi.ClientConfig{}, inputErrf("--broker %q: want a URL such as %s or ssl://host:8883", o.broker, defaultBrokerURL)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return mqttapi.ClientConfig{}, inputErrf("--broker %q: unknown scheme %q, want tcp or ssl", o.broker, u.Scheme)
	}
	if err := mqttapi.ValidRobotID(o.robot); err != nil {
		return mqttapi.ClientConfig{}, inputErrf("--robot: %w", err)
	}
	if o.timeout <= 0 {
		return mqttapi.ClientConfig{}, inputErrf("--timeout %v: want a positive duration such as 5s", o.timeout)
	}
	cfg := mqttapi.ClientConfig{
		Broker:         o.broker,
		RobotID:        o.robot,
		ConnectTimeout: o.timeout,
		AnswerTimeout:  o.timeout,
	}
	if o.ca != "" {
		secure := u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts" || u.Scheme == "wss"
		if !secure {
			return cfg, inputErrf("--ca %s: the broker URL %s is not TLS; use ssl://", o.ca, o.broker)
		}
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return cfg, inputErrf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, inputErrf("--ca %s: no PEM certificate in the file", o.ca)
		}
		cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	cfg.Username, cfg.Password = o.user, o.password
	if cfg.Username == "" {
		cfg.Username = os.Getenv(envMQTTUser)
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv(envMQTTPassword)
	}
	if cfg.Username != "" && cfg.Password != "" {
		return cfg, nil
	}
	creds, err := readCredentials(o.credsPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if cfg.Username == "" {
			cfg.Username = broker.OperatorUser
		}
		o.noCreds = true
		return cfg, nil // an anonymous broker may take it; a refusal names the missing file
	case err != nil:
		return cfg, inputErr(err)
	}
	var user broker.User
	var ok bool
	if cfg.Username == "" {
		if user, ok = creds.ByRole(broker.RoleOperator); !ok {
			return cfg, inputErrf("%s: no user with role operator; pass --user and --password", o.credsPath())
		}
		cfg.Username = user.Username
	} else if user, ok = creds.Get(cfg.Username); !ok {
		return cfg, inputErrf("no password for user %q: not in %s; pass --password or set $%s", cfg.Username, o.credsPath(), envMQTTPassword)
	}
	if cfg.Password == "" {
		cfg.Password = user.Password
	}
	return cfg, nil
}

// readCredentials reads the daemon's credentials file without creating it.
func readCredentials(path string) (broker.Credentials, error) {
	var c broker.Credentials
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return c, nil
}

// session is one connection to the daemon of a command.
type session struct {
	opts *connOpts
	cfg  mqttapi.ClientConfig
	cli  *mqttapi.Client
}

// dial resolves the flags and connects; errors say whether the broker is unreachable or
// refused the user.
func (o *connOpts) dial(ctx context.Context) (*session, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	cli, err := mqttapi.Dial(ctx, cfg)
	if err != nil {
		return nil, o.dialError(cfg, err)
	}
	return &session{opts: o, cfg: cfg, cli: cli}, nil
}

func (s *session) Close() { s.cli.Close() }

// dialError turns a connection error into one an operator can act on.
func (o *connOpts) dialError(cfg mqttapi.ClientConfig, err error) error {
	switch {
	case (errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) || errors.Is(err, packets.ErrorRefusedNotAuthorised)) && o.noCreds && cfg.Password == "":
		return fmt.Errorf("not authorised: the broker at %s refused user %q without a password: no credentials file at %s: pass --data DIR (the daemon's data directory) or set $%s (or give --user/--password, $%s/$%s)",
			cfg.Broker, cfg.Username, o.credsPath(), daemon.EnvData, envMQTTUser, envMQTTPassword)
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return fmt.Errorf("not authorised: the broker at %s refused user %q (wrong password? the credentials are in %s; or use --user/--password, $%s/$%s)",
			cfg.Broker, cfg.Username, o.credsPath(), envMQTTUser, envMQTTPassword)
	case strings.Contains(err.Error(), "refused by the broker"):
		return fmt.Errorf("not authorised: user %q may not read praxis/%s/events on %s (an operator or observer account is needed)",
			cfg.Username, cfg.RobotID, cfg.Broker)
	}
	return fmt.Errorf("no daemon answered on %s (%v); is `praxis serve` running?", cfg.Broker, err)
}

// cmdError turns the error of a command into one an operator can act on: a rejection is
// bad input naming the reason and field; no answer means no daemon; a dropped connection
// means no write access.
func (s *session) cmdError(what string, err error) error {
	var rej *mqttapi.Rejection
	switch {
	case errors.As(err, &rej):
		return inputErrf("%s rejected by the daemon: %s", what, rejectionText(rej))
	case errors.Is(err, mqttapi.ErrNoAnswer):
		return fmt.Errorf("%s: no daemon answered on %s for robot %q within %v; is `praxis serve` running? (or user %q lacks write access)",
			what, s.cfg.Broker, s.cfg.RobotID, s.cfg.AnswerTimeout, s.cfg.Username)
	case errors.Is(err, mqttapi.ErrConnectionLost):
		return fmt.Errorf("%s: not authorised: the broker at %s dropped the connection of user %q on sending the command (no write access: an observer account?): %w",
			what, s.cfg.Broker, s.cfg.Username, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// rejectionText formats a rejection as "reason (field F)", without repeating the field
// when the reason already starts with it.
func rejectionText(r *mqttapi.Rejection) string {
	reason := cliWording(r.Reason)
	if r.Field == "" || strings.HasPrefix(reason, r.Field) {
		return reason
	}
	return reason + " (field " + r.Field + ")"
}

// cliWording rewrites the MQTT wording of a daemon's reason for the command line: the
// daemon says which topic to publish ("send cmd/reset first"); the CLI user runs a command.
func cliWording(reason string) string {
	reason = strings.ReplaceAll(reason, "send cmd/reset first", "run `praxis reset` first")
	return strings.ReplaceAll(reason, "cmd/reset is setting the arm up again", "a reset (`praxis reset`) is setting the arm up again")
}

// newCmdID returns a fresh random command id (12 hex digits).
func newCmdID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clientCommand builds a daemon client command with the connection flags; run gets a
// connected session, closed afterwards.
func clientCommand(c *cobra.Command, run func(cmd *cobra.Command, args []string, s *session) error) *cobra.Command {
	var o connOpts
	o.register(c.Flags())
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if _, err := o.config(); err != nil { // bad flags before touching the network
			return err
		}
		s, err := o.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer s.Close()
		return run(cmd, args, s)
	}
	return c
}

// newSkillsCmd is `praxis skills`: print the daemon's skill library.
func newSkillsCmd() *cobra.Command {
	var asJSON bool
	c := clientCommand(&cobra.Command{
		Use:   "skills [--json]",
		Short: "List the skills of the running daemon",
		Long:  "skills asks the daemon for its skill library and prints name, newest version, stored\nversions, joints and nominal duration (s). " + clientCmdGroupNote,
		Args:  argsBad(cobra.NoArgs),
	}, func(cmd *cobra.Command, _ []string, s *session) error {
		list, err := s.cli.Skills(cmd.Context())
		if err != nil {
			return s.cmdError("skills", err)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		if asJSON {
			if list == nil {
				list = []mqttapi.SkillInfo{}
			}
			return writeJSON(cmd.OutOrStdout(), list)
		}
		printSkills(cmd.OutOrStdout(), list)
		return nil
	})
	c.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON (the skills field of docs/mqtt.md)")
	c.AddCommand(newSkillsLibraryCmds()...)
	return c
}

// printSkills writes the skill list as a table.
func printSkills(w io.Writer, list []mqttapi.SkillInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tVERSIONS\tJOINTS\tDURATION")
	for _, sk := range list {
		vs := make([]string, len(sk.Versions))
		for i, v := range sk.Versions {
			vs[i] = fmt.Sprint(v)
		}
		dur := "-"
		if sk.Duration > 0 {
			dur = fmt.Sprintf("%.3g s", sk.Duration)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", sk.Name, sk.Version, orDash(strings.Join(vs, ",")),
			orDash(strings.Join(sk.Joints, ",")), dur)
	}
	tw.Flush()
	if len(list) == 0 {
		fmt.Fprintln(w, "(no skills)")
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newEStopCmd is `praxis estop`: latch the daemon's emergency stop.
func newEStopCmd() *cobra.Command {
	return clientCommand(&cobra.Command{
		Use:   "estop",
		Short: "Latch the emergency stop of the running daemon: every motion halts until reset",
		Long:  "estop sends cmd/estop and prints the daemon's answer. Nothing moves until `praxis reset`. " + clientCmdGroupNote,
		Args:  argsBad(cobra.NoArgs),
	}, func(cmd *cobra.Command, _ []string, s *session) error {
		e, err := s.cli.EStop(cmd.Context())
		if err != nil {
			return s.cmdError("estop", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "estop %s: %s: e-stop latched on robot %s; `praxis reset` clears it\n", e.ID, e.Type, s.cfg.RobotID)
		return nil
	})
}

// newResetCmd is `praxis reset`: clear a latched e-stop.
func newResetCmd() *cobra.Command {
	return clientCommand(&cobra.Command{
		Use:   "reset",
		Short: "Clear a latched emergency stop of the running daemon and recover a faulted arm",
		Long: "reset sends cmd/reset and prints the daemon's answer. A servo-bus arm that faulted (a servo\n" +
			"went silent) is set up again first; if a servo still does not answer, the reset is rejected\n" +
			"naming it and the e-stop stays as it was. " + clientCmdGroupNote,
		Args: argsBad(cobra.NoArgs),
	}, func(cmd *cobra.Command, _ []string, s *session) error {
		e, err := s.cli.Reset(cmd.Context())
		if err != nil {
			return s.cmdError("reset", err)
		}
		what := "e-stop cleared"
		if e.Reason != "" { // the daemon's note, e.g. "nothing to reset (e-stop not latched)"
			what = e.Reason
		}
		fmt.Fprintf(cmd.OutOrStdout(), "reset %s: %s: %s on robot %s\n", e.ID, e.Type, what, s.cfg.RobotID)
		if e.Recovered {
			fmt.Fprintf(cmd.OutOrStdout(), "reset %s: the arm had faulted; its servos answer again and hold their position\n", e.ID)
		}
		return nil
	})
}

// newCancelCmd is `praxis cancel RUN_ID`: stop a run.
func newCancelCmd() *cobra.Command {
	return clientCommand(&cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Cancel a run of the running daemon (the run then ends as aborted)",
		Long:  "cancel sends cmd/cancel for RUN_ID (printed by `praxis run` and `praxis status`). " + clientCmdGroupNote,
		Args:  argsBad(cobra.ExactArgs(1)),
	}, func(cmd *cobra.Command, args []string, s *session) error {
		e, err := s.cli.Cancel(cmd.Context(), args[0])
		if err != nil {
			return s.cmdError("cancel "+args[0], err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "cancel %s: %s\n", args[0], e.Type)
		return nil
	})
}

// newStatusCmd is `praxis status`: print the daemon's retained status.
func newStatusCmd() *cobra.Command {
	var asJSON bool
	c := clientCommand(&cobra.Command{
		Use:   "status [--json]",
		Short: "Print the retained status of the daemon: online, activity, current run, e-stop",
		Long:  "status reads praxis/<robot>/status (retained). It exits 0 when the daemon is offline too:\nread the online field. " + clientCmdGroupNote,
		Args:  argsBad(cobra.NoArgs),
	}, func(cmd *cobra.Command, _ []string, s *session) error {
		st, err := s.cli.Status(cmd.Context())
		if err != nil {
			if errors.Is(err, mqttapi.ErrNoAnswer) {
				return fmt.Errorf("status: no status on %s: no daemon ever connected to %s for robot %q; is `praxis serve` running?",
					s.cli.Topics().Status, s.cfg.Broker, s.cfg.RobotID)
			}
			return s.cmdError("status", err)
		}
		if asJSON {
			return writeJSON(cmd.OutOrStdout(), st)
		}
		printStatus(cmd.OutOrStdout(), s.cfg.RobotID, st)
		return nil
	})
	c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON (docs/mqtt.md)")
	return c
}

// printStatus writes st as aligned "key value" lines.
func printStatus(w io.Writer, robot string, st mqttapi.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(tw, "robot\t%s\n", robot)
	fmt.Fprintf(tw, "online\t%s\n", yes[st.Online])
	fmt.Fprintf(tw, "activity\t%s\n", st.Activity)
	if st.RunID != "" {
		fmt.Fprintf(tw, "id\t%s\n", st.RunID)
	}
	if st.Skill != "" {
		fmt.Fprintf(tw, "skill\t%s\n", st.Skill)
	}
	if st.Demo != "" {
		fmt.Fprintf(tw, "demo\t%s\n", st.Demo)
	}
	fmt.Fprintf(tw, "estop\t%s\n", yes[st.EStop])
	if !st.Time.IsZero() {
		fmt.Fprintf(tw, "updated\t%s\n", st.Time.Local().Format(time.RFC3339))
	}
	tw.Flush()
}
