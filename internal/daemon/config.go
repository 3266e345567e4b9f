package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/praxis-robotics/praxis/drivers/gobot"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/rosnode"
)

// Config is the daemon's whole configuration: one YAML file, every field optional with the
// default stated beside it (see docs/config.md). Validate before use.
type Config struct {
	RobotID  string         `yaml:"robot_id"`  // MQTT topic prefix praxis/<robot_id>/; default "arm1"
	DataDir  string         `yaml:"data_dir"`  // skills, demos, credentials; default $XDG_DATA_HOME/praxis
	LogLevel string         `yaml:"log_level"` // debug|info|warn|error; default info
	Seed     *bool          `yaml:"seed"`      // install the example skills on first start; default true
	Arm      ArmConfig      `yaml:"arm"`
	Executor ExecutorConfig `yaml:"executor"`
	// ROS is the ROS 1 front end (Praxis as a ROS node: the dmp package's services, run
	// and list skills, joint states and events); off by default (ROS 1 has no
	// authentication: enable it on a trusted network only). See docs/ros.md.
	ROS      rosnode.Config `yaml:"ros"`
	Recorder RecorderConfig `yaml:"recorder"`
	MQTT     MQTTConfig     `yaml:"mqtt"`
	Web      WebConfig      `yaml:"web"`
	// Leader is the leader arm of teleoperated recordings (cmd/record with leader): a
	// second servo-bus arm (driver dynamixel or feetech), shaped like arm, opened and set
	// up at start, then left with torque off for a person to move. Default none.
	Leader *ArmConfig `yaml:"leader"`
	// Metrics is the Prometheus endpoint (docs/observability.md).
	Metrics MetricsConfig `yaml:"metrics"`
	// Flight is the flight recorder: the last seconds of full-rate state, written to
	// <data_dir>/flight/ on every failed or aborted run and e-stop (docs/observability.md).
	Flight FlightConfig `yaml:"flight"`
}

// MetricsConfig configures the Prometheus metrics.
type MetricsConfig struct {
	// Enabled collects and serves the metrics; default true.
	Enabled *bool `yaml:"enabled"`
	// Listen is an address (host:port) for a metrics-only HTTP listener serving /metrics,
	// e.g. 127.0.0.1:9464; default "": no listener of its own, the web dashboard's HTTP
	// server serves /metrics (Daemon.MetricsHandler). Plain HTTP without authentication:
	// keep it on loopback or a trusted network.
	Listen string `yaml:"listen"`
}

// FlightConfig configures the flight recorder.
type FlightConfig struct {
	// Enabled records every control tick into the ring and writes recordings; default true.
	Enabled *bool `yaml:"enabled"`
	// Seconds of samples kept (and written), at the executor rate; default 10, at most 60.
	Seconds float64 `yaml:"seconds"`
	// Keep is how many recordings <data_dir>/flight/ keeps (the oldest are removed);
	// default 50, at most 10000.
	Keep int `yaml:"keep"`
}

// ArmConfig selects and configures the arm.
type ArmConfig struct {
	Driver  string `yaml:"driver"`   // sim|dynamixel|feetech|ros|pca9685|firmata|firmware; default sim
	Model   string `yaml:"model"`    // sim: so101|ur5|panda|path to a URDF; default so101
	SimSeed int64  `yaml:"sim_seed"` // sim: noise seed; default 1

	Port    string        `yaml:"port"`    // serial: device path, e.g. /dev/ttyUSB0; required
	Baud    int           `yaml:"baud"`    // serial: bits/s; default 1000000
	Timeout time.Duration `yaml:"timeout"` // serial: reply timeout per servo; default 5ms, at most 1s
	Servos  []ServoConfig `yaml:"servos"`  // serial: one per joint, in joint order; required
	// Series is the servos' control table: feetech sts (default) or scs; dynamixel x
	// (default, any X series), xl430 or xm430.
	Series string `yaml:"series"`
	// Retries (serial) is how many extra attempts a tick may spend on a servo whose reply
	// was lost or corrupted, 0..10; default the driver's: 2 (dynamixel), 1 (feetech).
	Retries *int `yaml:"retries"`
	// FastSyncRead (dynamixel) reads all servos with one Fast Sync Read (firmware ≥ 45);
	// default false (Sync Read).
	FastSyncRead bool `yaml:"fast_sync_read"`
	// PositionOnly (dynamixel) reads present position alone (4 bytes a servo instead of
	// 8); velocity is then a finite difference. Default false.
	PositionOnly bool `yaml:"position_only"`

	// ROS (driver ros): the arm's ROS driver's topics and joints (docs/ros.md).
	ROS ArmROSConfig `yaml:"ros"`
	// Firmware (driver firmware): joints and calibration of a firmware-bridge board.
	Firmware FirmwareConfig `yaml:"firmware"`

	// SimHand (sim only): a demo CSV whose joints name every arm joint. When a recording
	// switches torque off, a scripted hand drags the simulated arm along it, so a
	// kinesthetic demonstration can be recorded with no person; the arm starts at its
	// first sample. Default none.
	SimHand string `yaml:"sim_hand"`

	// PCA9685 (driver pca9685): hobby servos on a PCA9685 board over Linux I2C, and their
	// joints; see docs/hardware.md.
	PCA9685 gobot.PCA9685Config `yaml:"pca9685"`
	// Firmata (driver firmata): hobby servos on a StandardFirmata board on arm.port at
	// arm.baud (default 57600), and their joints.
	Firmata gobot.FirmataConfig `yaml:"firmata"`
}

// ArmROSConfig drives an arm through its ROS 1 driver (arm.driver: ros): joint states
// in, one command per control tick out. Zero fields take the stated defaults.
type ArmROSConfig struct {
	Master     string `yaml:"master"`      // ROS master URI; default $ROS_MASTER_URI, then http://127.0.0.1:11311
	Host       string `yaml:"host"`        // address other nodes reach us at; default $ROS_IP, $ROS_HOSTNAME, automatic
	Node       string `yaml:"node"`        // node name; default praxis_arm
	StateTopic string `yaml:"state_topic"` // sensor_msgs/JointState; default /joint_states
	// Controller is trajectory (trajectory_msgs/JointTrajectory, one point per tick, for
	// a JointTrajectoryController) or position (std_msgs/Float64MultiArray, for a
	// position group controller); default trajectory.
	Controller   string `yaml:"controller"`
	CommandTopic string `yaml:"command_topic"` // default /arm_controller/command or /joint_group_position_controller/command
	// RobotDescription is the parameter holding the URDF, for joints without limits
	// here; default /robot_description.
	RobotDescription string        `yaml:"robot_description"`
	StaleAfter       time.Duration `yaml:"stale_after"` // no joint state for this long faults the arm; default 200ms
	// Joints in command order; empty: every moving joint of the URDF. Limits left 0 come
	// from the URDF.
	Joints []ArmROSJoint `yaml:"joints"`
}

// ArmROSJoint is one joint of a ROS arm, with optional limits (rad, rad/s, rad/s²).
type ArmROSJoint struct {
	Name   string  `yaml:"name"`
	Min    float64 `yaml:"min"`
	Max    float64 `yaml:"max"`
	MaxVel float64 `yaml:"max_vel"`
	MaxAcc float64 `yaml:"max_acc"`
}

// ServoConfig maps one bus servo to a joint, with its calibration.
type ServoConfig struct {
	ID    int    `yaml:"id"`    // bus ID, 0..252
	Joint string `yaml:"joint"` // joint name
	// Offset is the tick at 0 rad, 0..65535; default half of Ticks when the YAML entry has
	// no offset key. An offset written in YAML is kept, 0 included (`bus calibrate` may
	// write 0); in Go, Offset 0 means the default unless set with SetOffset.
	Offset    float64 `yaml:"offset"`
	Direction int     `yaml:"direction"` // +1 or -1; default +1
	Ticks     int     `yaml:"ticks"`     // ticks per revolution, 2..32768; default 4096
	Min       float64 `yaml:"min"`       // lower position limit, rad
	Max       float64 `yaml:"max"`       // upper position limit, rad
	MaxVel    float64 `yaml:"max_vel"`   // rad/s; default 3
	MaxAcc    float64 `yaml:"max_acc"`   // rad/s²; default 20

	offsetSet bool // Offset was given (YAML key or SetOffset): 0 is not "default"
}

// SetOffset sets the tick at 0 rad and marks it given, so that 0 is kept.
func (s *ServoConfig) SetOffset(ticks float64) { s.Offset, s.offsetSet = ticks, true }

// offset returns the tick at 0 rad with the default applied.
func (s *ServoConfig) offset() float64 {
	if s.Offset == 0 && !s.offsetSet {
		return float64(max(s.Ticks, 2) / 2)
	}
	return s.Offset
}

// servoKeys are ServoConfig's YAML keys.
var servoKeys = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[ServoConfig]()
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" {
			m[k] = true
		}
	}
	return m
}()

// UnmarshalYAML decodes one arm.servos entry, rejecting unknown keys and remembering
// whether offset was given.
func (s *ServoConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain ServoConfig // no UnmarshalYAML: no recursion
	set := false
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !servoKeys[k.Value] {
				return fmt.Errorf("line %d: field %s not found in arm.servos[]", k.Line, k.Value)
			}
			set = set || k.Value == "offset"
		}
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = ServoConfig(p)
	s.offsetSet = set
	return nil
}

// servoJSON is ServoConfig with whether Offset was given, for the JSON the control
// process of executor.isolate receives (it applies the defaults again).
type servoJSON struct {
	servoPlain
	OffsetSet bool
}

type servoPlain ServoConfig // no JSON methods: no recursion

// MarshalJSON encodes s with whether its offset was given.
func (s ServoConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(servoJSON{servoPlain(s), s.offsetSet})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *ServoConfig) UnmarshalJSON(b []byte) error {
	var v servoJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = ServoConfig(v.servoPlain)
	s.offsetSet = v.OffsetSet
	return nil
}

// BusConfig converts a dynamixel or feetech arm section (defaults applied and
// validated) into the bus configuration busarm.Open and busarm.NewSim take. Offsets are
// passed as given, 0 included; Retries 0 becomes "none".
func (a ArmConfig) BusConfig() (busarm.Config, error) {
	c := busarm.Config{Driver: a.Driver, Port: a.Port, Baud: a.Baud, ReplyTimeout: a.Timeout,
		Series: a.Series, FastSyncRead: a.FastSyncRead, PositionOnly: a.PositionOnly, ExplicitOffsets: true}
	if a.Retries != nil {
		c.Retries = *a.Retries
		if c.Retries == 0 {
			c.Retries = -1
		}
	}
	for _, s := range a.Servos {
		bs := busarm.Servo{ID: s.ID, Joint: s.Joint, Direction: s.Direction, Ticks: s.Ticks,
			Min: s.Min, Max: s.Max, MaxVel: s.MaxVel, MaxAcc: s.MaxAcc}
		bs.Offset = s.offset()
		c.Servos = append(c.Servos, bs)
	}
	if err := c.Normalize(); err != nil {
		return busarm.Config{}, fmt.Errorf("arm: %w", err)
	}
	return c, nil
}

// ExecutorConfig tunes skill execution.
type ExecutorConfig struct {
	RateHz   float64 `yaml:"rate_hz"`   // control rate; default 500, at most 1000
	OpenLoop bool    `yaml:"open_loop"` // disable phase stopping and re-anchoring; default false
	ClipGoal bool    `yaml:"clip_goal"` // clip goals outside the limits instead of rejecting; default false
	// GoalTolerance is the largest joint distance to the goal (rad or m) at which a run
	// succeeds; default 0.01 (the executor's offset term cancels the SO-101's steady sag).
	GoalTolerance float64 `yaml:"goal_tolerance"`
	// RealtimePriority is the SCHED_FIFO priority (1..99) asked for the control thread;
	// default 50, 0 to not ask. Without root or CAP_SYS_NICE the request fails quietly
	// (logged) and the executor runs at normal priority.
	RealtimePriority *int `yaml:"realtime_priority"`
	// WatchdogOverruns consecutive ticks each woken a period or more late fail a run
	// ("watchdog: N consecutive overruns"); default 0.1 s worth of ticks (at least 5),
	// 1..1000.
	WatchdogOverruns int `yaml:"watchdog_overruns"`
	// Lead (s) commands each joint ahead of the plan by Lead times the plan's velocity,
	// for servos that take only a goal position and lag it (hobby and bus servos); 0..0.2,
	// default 0. 0.02-0.025 suits the simulated Dynamixel/Feetech buses (docs/sim.md).
	Lead float64 `yaml:"lead"`
	// LagTolerance (s) is the following delay phase stopping allows each joint before it
	// slows the plan (a servo lagging its goal is not the arm being held back); 0..0.2,
	// default 0. 0.03 suits the simulated buses with lead 0.025 (docs/sim.md).
	LagTolerance float64 `yaml:"lag_tolerance"`
	// Isolate runs the control loop, with the arm's driver, in a child process of its own
	// (internal/ctlproc): out of the daemon's garbage collector and scheduler, so that a
	// collection or a command flood cannot delay a tick (docs/realtime.md). The e-stop is
	// one store into memory the two processes share. Default false. Not with
	// arm.sim_hand (the scripted hand guides the simulated arm in this process).
	Isolate bool `yaml:"isolate"`
}

// RecorderConfig tunes demonstration capture.
type RecorderConfig struct {
	RateHz float64 `yaml:"rate_hz"` // sampling rate; default 100, at most the executor rate
}

// MQTTConfig configures the broker connection.
type MQTTConfig struct {
	Embedded     *bool   `yaml:"embedded"`      // run the embedded broker; default true
	Listen       string  `yaml:"listen"`        // embedded broker address; default 127.0.0.1:1883
	Broker       string  `yaml:"broker"`        // external broker URL (tcp://, ssl://) when embedded is false
	Username     string  `yaml:"username"`      // external broker user
	Password     string  `yaml:"password"`      // external broker password (prefer password_file)
	PasswordFile string  `yaml:"password_file"` // file holding the password
	Anonymous    bool    `yaml:"anonymous"`     // embedded: allow clients without credentials; default false
	TLSCert      string  `yaml:"tls_cert"`      // embedded: serve TLS with this certificate (PEM)
	TLSKey       string  `yaml:"tls_key"`       // embedded: and this key (PEM)
	CAFile       string  `yaml:"ca_file"`       // external: CA bundle to verify the broker (PEM)
	StateRateHz  float64 `yaml:"state_rate_hz"` // joint telemetry rate; default 20
	// Embedded broker limits (docs/mqtt.md, "Security model"); zero takes the default.
	MaxPacketSize  int           `yaml:"max_packet_size"` // bytes per packet; default 1048576 (1 MiB)
	ConnectTimeout time.Duration `yaml:"connect_timeout"` // TCP accept to CONNECT; default 5s
	MaxConnections int           `yaml:"max_connections"` // logged-in operators and observers; default 64
	// CommandRate (commands/s) bounds the commands (estop and cancel excepted) the daemon
	// takes (after a burst of 2000); beyond it they are answered busy. Default 1000.
	CommandRate float64 `yaml:"command_rate"`
	// ClientCommandRate (commands/s) and ClientCommandBurst: the embedded broker's limit
	// on each client's commands (estop excepted); beyond it they are dropped, and a client
	// with 1000 dropped in a second is disconnected. Defaults 50 and 200.
	ClientCommandRate  float64 `yaml:"client_command_rate"`
	ClientCommandBurst int     `yaml:"client_command_burst"`
}

// WebConfig configures the web dashboard (docs/dashboard.md): same users and roles as the
// embedded broker's credentials file.
type WebConfig struct {
	Enabled *bool  `yaml:"enabled"`  // serve the dashboard; default true
	Listen  string `yaml:"listen"`   // address; default 127.0.0.1:8080 (":0" picks a free port)
	TLSCert string `yaml:"tls_cert"` // serve HTTPS with this PEM certificate; default mqtt.tls_cert
	TLSKey  string `yaml:"tls_key"`  // and this PEM key; default mqtt.tls_key

	// listenDefault: Listen was not configured; when that default port is taken the
	// daemon logs it and serves without the dashboard instead of failing.
	listenDefault bool
}

// DefaultWebListen is the dashboard's default address.
const DefaultWebListen = "127.0.0.1:8080"

// DefaultDataDir returns $XDG_DATA_HOME/praxis, or ~/.local/share/praxis.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "praxis")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "praxis")
	}
	return "praxis-data"
}

// LoadConfig reads a YAML config file; unknown fields are errors (a typo must not pass
// silently). The result has defaults applied and is validated.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := ParseConfig(bytes.NewReader(b))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes YAML, applies defaults and validates. An empty document is the default config.
func ParseConfig(r io.Reader) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	c.ApplyDefaults()
	return c, c.Validate()
}

// ApplyDefaults fills every unset field with its documented default.
func (c *Config) ApplyDefaults() {
	t := true
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	deff := func(f *float64, v float64) {
		if *f == 0 {
			*f = v
		}
	}
	def(&c.RobotID, "arm1")
	def(&c.DataDir, DefaultDataDir())
	def(&c.LogLevel, "info")
	if c.Seed == nil {
		c.Seed = &t
	}
	def(&c.Arm.Driver, "sim")
	if c.Arm.Driver == "sim" {
		def(&c.Arm.Model, "so101")
		if c.Arm.SimSeed == 0 {
			c.Arm.SimSeed = 1
		}
	}
	if c.Arm.Baud == 0 && c.Arm.Driver == "firmata" {
		c.Arm.Baud = 57600 // StandardFirmata's
	}
	if c.Arm.Baud == 0 {
		c.Arm.Baud = 1_000_000
	}
	if c.Arm.Timeout == 0 {
		c.Arm.Timeout = 5 * time.Millisecond
	}
	switch c.Arm.Driver {
	case "feetech":
		def(&c.Arm.Series, "sts")
	case "dynamixel":
		def(&c.Arm.Series, "x")
	}
	if c.Arm.Driver == "firmware" {
		c.Arm.Firmware.defaults()
	}
	for i := range c.Arm.Servos {
		s := &c.Arm.Servos[i]
		if s.Ticks == 0 {
			s.Ticks = 4096
		}
		s.SetOffset(s.offset())
		if s.Direction == 0 {
			s.Direction = 1
		}
		deff(&s.MaxVel, 3)
		deff(&s.MaxAcc, 20)
	}
	deff(&c.Executor.RateHz, 500)
	deff(&c.Executor.GoalTolerance, 0.01)
	if c.Executor.RealtimePriority == nil {
		p := 50
		c.Executor.RealtimePriority = &p
	}
	deff(&c.Recorder.RateHz, 100)
	c.leaderDefaults()
	if c.MQTT.Embedded == nil {
		c.MQTT.Embedded = &t
	}
	def(&c.MQTT.Listen, "127.0.0.1:1883")
	deff(&c.MQTT.StateRateHz, 20)
	if c.Metrics.Enabled == nil {
		c.Metrics.Enabled = &t
	}
	if c.Flight.Enabled == nil {
		c.Flight.Enabled = &t
	}
	deff(&c.Flight.Seconds, 10)
	if c.Flight.Keep == 0 {
		c.Flight.Keep = 50
	}
	if c.Web.Enabled == nil {
		c.Web.Enabled = &t
	}
	if c.Web.Listen == "" {
		c.Web.Listen, c.Web.listenDefault = DefaultWebListen, true
	}
	if c.Web.TLSCert == "" && c.Web.TLSKey == "" && c.MQTT.TLSCert != "" && c.MQTT.TLSKey != "" {
		c.Web.TLSCert, c.Web.TLSKey = c.MQTT.TLSCert, c.MQTT.TLSKey
	}
}

// validateBus checks the serial options of a dynamixel or feetech arm.
func (a *ArmConfig) validateBus(bad func(field, format string, args ...any) error) error {
	switch {
	case a.Driver == "feetech" && a.Series != "sts" && a.Series != "scs":
		return bad("arm.series", "%q is not one of sts, scs (feetech)", a.Series)
	case a.Driver == "dynamixel" && a.Series != "x" && a.Series != "xl430" && a.Series != "xm430":
		return bad("arm.series", "%q is not one of x, xl430, xm430 (dynamixel)", a.Series)
	case a.Driver == "feetech" && a.FastSyncRead:
		return bad("arm.fast_sync_read", "only for driver dynamixel")
	case a.Driver == "feetech" && a.PositionOnly:
		return bad("arm.position_only", "only for driver dynamixel")
	case a.Timeout < 0 || a.Timeout > time.Second:
		return bad("arm.timeout", "%v is outside (0, 1s]", a.Timeout)
	case a.Retries != nil && (*a.Retries < 0 || *a.Retries > 10):
		return bad("arm.retries", "%d is outside 0..10", *a.Retries)
	}
	if a.Driver == "feetech" {
		probe := busarm.Config{Driver: busarm.Feetech, Baud: a.Baud, Servos: []busarm.Servo{{Joint: "probe"}}}
		if probe.Validate() != nil {
			return bad("arm.baud", "%d has no Feetech baud code (want 1000000, 500000, 250000, 128000, 115200, 76800, 57600 or 38400)", a.Baud)
		}
	}
	return nil
}

// validateHobby checks a pca9685 or firmata arm section (gobot's defaults applied);
// errors name the YAML path, e.g. arm.firmata.joints[1].channel.
func (a *ArmConfig) validateHobby() error {
	if a.SimHand != "" || len(a.Servos) > 0 {
		return fmt.Errorf("arm.servos/arm.sim_hand: not for driver %s (its joints are arm.%s.joints)", a.Driver, a.Driver)
	}
	var err error
	if a.Driver == "pca9685" {
		err = a.PCA9685.Validate()
	} else if a.Port == "" {
		return fmt.Errorf("arm.port: required for driver firmata")
	} else {
		a.Firmata.Baud = a.Baud
		err = a.Firmata.Validate()
	}
	if err != nil {
		return fmt.Errorf("arm.%s.%s", a.Driver, strings.TrimPrefix(err.Error(), gobot.ErrConfig.Error()+": "))
	}
	return nil
}

// Validate checks every field; the error names the first bad one by its YAML path.
func (c *Config) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...))
	}
	if c.RobotID == "" || strings.ContainsAny(c.RobotID, "/+#") {
		return bad("robot_id", "%q must be non-empty without '/', '+' or '#'", c.RobotID)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.Arm.Driver {
	case "sim":
	case "ros":
		if c.Arm.SimHand != "" {
			return bad("arm.sim_hand", "only for driver sim")
		}
		switch c.Arm.ROS.Controller {
		case "", "trajectory", "position":
		default:
			return bad("arm.ros.controller", "%q is not one of trajectory, position", c.Arm.ROS.Controller)
		}
		if c.Arm.ROS.StaleAfter < 0 {
			return bad("arm.ros.stale_after", "%v is negative", c.Arm.ROS.StaleAfter)
		}
		for i, j := range c.Arm.ROS.Joints {
			if j.Name == "" {
				return bad(fmt.Sprintf("arm.ros.joints[%d].name", i), "required")
			}
			if j.Min != 0 || j.Max != 0 {
				if !(j.Max > j.Min) {
					return bad(fmt.Sprintf("arm.ros.joints[%d].max", i), "%g is not above min %g", j.Max, j.Min)
				}
			}
		}
	case "dynamixel", "feetech":
		if c.Arm.SimHand != "" {
			return bad("arm.sim_hand", "only for driver sim")
		}
		if c.Arm.Port == "" {
			return bad("arm.port", "required for driver %s", c.Arm.Driver)
		}
		if len(c.Arm.Servos) == 0 {
			return bad("arm.servos", "required for driver %s", c.Arm.Driver)
		}
	case "pca9685", "firmata":
		if err := c.Arm.validateHobby(); err != nil {
			return err
		}
	case "firmware":
		if c.Arm.Port == "" {
			return bad("arm.port", "required for driver firmware")
		}
		if err := c.Arm.Firmware.validate(bad); err != nil {
			return err
		}
	default:
		return bad("arm.driver", "%q is not one of sim, dynamixel, feetech, ros, pca9685, firmata, firmware", c.Arm.Driver)
	}
	if c.Arm.Baud < 0 {
		return bad("arm.baud", "%d must be positive", c.Arm.Baud)
	}
	if c.Arm.Driver == "dynamixel" || c.Arm.Driver == "feetech" {
		if err := c.Arm.validateBus(bad); err != nil {
			return err
		}
	}
	seenID, seenJoint := map[int]bool{}, map[string]bool{}
	for i, s := range c.Arm.Servos {
		f := fmt.Sprintf("arm.servos[%d]", i)
		if s.ID < 0 || s.ID > 252 {
			return bad(f+".id", "%d is outside 0..252", s.ID)
		}
		if seenID[s.ID] {
			return bad(f+".id", "%d is used twice", s.ID)
		}
		seenID[s.ID] = true
		if s.Joint == "" {
			return bad(f+".joint", "required")
		}
		if seenJoint[s.Joint] {
			return bad(f+".joint", "%q is used twice", s.Joint)
		}
		seenJoint[s.Joint] = true
		if s.Direction != 1 && s.Direction != -1 {
			return bad(f+".direction", "%d must be 1 or -1", s.Direction)
		}
		if !(s.Offset >= 0 && s.Offset <= 65535) {
			return bad(f+".offset", "%g is outside 0..65535 ticks", s.Offset)
		}
		if s.Ticks < 2 || s.Ticks > 32768 {
			return bad(f+".ticks", "%d is outside 2..32768", s.Ticks)
		}
		if !(s.Min < s.Max) {
			return bad(f+".min", "min %g must be below max %g", s.Min, s.Max)
		}
		if s.MaxVel <= 0 || s.MaxAcc <= 0 {
			return bad(f+".max_vel", "max_vel and max_acc must be positive")
		}
	}
	if c.Executor.RateHz < 10 || c.Executor.RateHz > 1000 {
		return bad("executor.rate_hz", "%g is outside 10..1000", c.Executor.RateHz)
	}
	if p := *c.Executor.RealtimePriority; p < 0 || p > 99 {
		return bad("executor.realtime_priority", "%d is outside 0..99", p)
	}
	if c.Executor.WatchdogOverruns < 0 || c.Executor.WatchdogOverruns > 1000 {
		return bad("executor.watchdog_overruns", "%d is outside 1..1000", c.Executor.WatchdogOverruns)
	}
	if !(c.Executor.Lead >= 0 && c.Executor.Lead <= 0.2) {
		return bad("executor.lead", "%g s is outside [0, 0.2]", c.Executor.Lead)
	}
	if !(c.Executor.LagTolerance >= 0 && c.Executor.LagTolerance <= 0.2) {
		return bad("executor.lag_tolerance", "%g s is outside [0, 0.2]", c.Executor.LagTolerance)
	}
	if c.Executor.Isolate && c.Arm.SimHand != "" {
		return bad("executor.isolate", "the scripted hand of arm.sim_hand guides the simulated arm in this process; it cannot with the arm in a child process")
	}
	if !(c.Executor.GoalTolerance > 0 && c.Executor.GoalTolerance <= 0.5) {
		return bad("executor.goal_tolerance", "%g is outside (0, 0.5]", c.Executor.GoalTolerance)
	}
	if c.Recorder.RateHz < 1 || c.Recorder.RateHz > c.Executor.RateHz {
		return bad("recorder.rate_hz", "%g is outside 1..executor.rate_hz (%g)", c.Recorder.RateHz, c.Executor.RateHz)
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			return bad("metrics.listen", "%q is not host:port: %v", c.Metrics.Listen, err)
		}
		if !*c.Metrics.Enabled {
			return bad("metrics.listen", "set while metrics.enabled is false")
		}
	}
	if !(c.Flight.Seconds > 0 && c.Flight.Seconds <= 60) {
		return bad("flight.seconds", "%g is outside (0, 60]", c.Flight.Seconds)
	}
	if c.Flight.Keep < 1 || c.Flight.Keep > 10000 {
		return bad("flight.keep", "%d is outside 1..10000", c.Flight.Keep)
	}
	if !*c.MQTT.Embedded && c.MQTT.Broker == "" {
		return bad("mqtt.broker", "required when mqtt.embedded is false")
	}
	if (c.MQTT.TLSCert == "") != (c.MQTT.TLSKey == "") {
		return bad("mqtt.tls_cert", "tls_cert and tls_key go together")
	}
	if c.MQTT.MaxPacketSize != 0 && (c.MQTT.MaxPacketSize < 1024 || c.MQTT.MaxPacketSize > 268435460) {
		return bad("mqtt.max_packet_size", "%d is outside [1024, 268435460] bytes", c.MQTT.MaxPacketSize)
	}
	if c.MQTT.ConnectTimeout < 0 {
		return bad("mqtt.connect_timeout", "%v is negative", c.MQTT.ConnectTimeout)
	}
	if c.MQTT.MaxConnections < 0 {
		return bad("mqtt.max_connections", "%d is negative", c.MQTT.MaxConnections)
	}
	if c.MQTT.ClientCommandRate < 0 || math.IsNaN(c.MQTT.ClientCommandRate) || math.IsInf(c.MQTT.ClientCommandRate, 0) {
		return bad("mqtt.client_command_rate", "%g, want a positive number of commands/s", c.MQTT.ClientCommandRate)
	}
	if c.MQTT.ClientCommandBurst < 0 {
		return bad("mqtt.client_command_burst", "%d is negative", c.MQTT.ClientCommandBurst)
	}
	if c.MQTT.CommandRate < 0 || math.IsNaN(c.MQTT.CommandRate) || math.IsInf(c.MQTT.CommandRate, 0) {
		return bad("mqtt.command_rate", "%g, want a positive number of commands/s", c.MQTT.CommandRate)
	}
	if c.MQTT.StateRateHz <= 0 || c.MQTT.StateRateHz > 200 {
		return bad("mqtt.state_rate_hz", "%g is outside (0, 200]", c.MQTT.StateRateHz)
	}
	if (c.Web.TLSCert == "") != (c.Web.TLSKey == "") {
		return bad("web.tls_cert", "tls_cert and tls_key go together")
	}
	if _, _, err := net.SplitHostPort(c.Web.Listen); err != nil {
		return bad("web.listen", "%q is not host:port: %v", c.Web.Listen, err)
	}
	return c.validateLeader()
}
