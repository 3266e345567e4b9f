package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
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
	Recorder RecorderConfig `yaml:"recorder"`
	MQTT     MQTTConfig     `yaml:"mqtt"`
}

// ArmConfig selects and configures the arm.
type ArmConfig struct {
	Driver  string `yaml:"driver"`   // sim|dynamixel|feetech; default sim
	Model   string `yaml:"model"`    // sim: so101|ur5|panda|path to a URDF; default so101
	SimSeed int64  `yaml:"sim_seed"` // sim: noise seed; default 1

	Port    string        `yaml:"port"`    // serial: device path, e.g. /dev/ttyUSB0
	Baud    int           `yaml:"baud"`    // serial: bits/s; default 1000000
	Timeout time.Duration `yaml:"timeout"` // serial: reply timeout; default 5ms
	Servos  []ServoConfig `yaml:"servos"`  // serial: one per joint, in joint order
	Series  string        `yaml:"series"`  // feetech: sts|scs; dynamixel: x (default)

	// SimHand (sim only): a demo CSV whose joints name every arm joint. When a recording
	// switches torque off, a scripted hand drags the simulated arm along it, so a
	// kinesthetic demonstration can be recorded with no person; the arm starts at its
	// first sample. Default none.
	SimHand string `yaml:"sim_hand"`
}

// ServoConfig maps one bus servo to a joint, with its calibration.
type ServoConfig struct {
	ID        int     `yaml:"id"`        // bus ID, 0..252
	Joint     string  `yaml:"joint"`     // joint name
	Offset    float64 `yaml:"offset"`    // ticks at 0 rad; default half the resolution
	Direction int     `yaml:"direction"` // +1 or -1; default +1
	Ticks     int     `yaml:"ticks"`     // ticks per revolution; default 4096
	Min       float64 `yaml:"min"`       // lower position limit, rad
	Max       float64 `yaml:"max"`       // upper position limit, rad
	MaxVel    float64 `yaml:"max_vel"`   // rad/s; default 3
	MaxAcc    float64 `yaml:"max_acc"`   // rad/s²; default 20
}

// ExecutorConfig tunes skill execution.
type ExecutorConfig struct {
	RateHz   float64 `yaml:"rate_hz"`   // control rate; default 500, at most 1000
	OpenLoop bool    `yaml:"open_loop"` // disable phase stopping and re-anchoring; default false
	ClipGoal bool    `yaml:"clip_goal"` // clip goals outside the limits instead of rejecting; default false
	// GoalTolerance is the largest joint distance to the goal (rad or m) at which a run
	// succeeds; default 0.05 (the SO-101's servos droop under gravity by up to ~0.05 rad).
	GoalTolerance float64 `yaml:"goal_tolerance"`
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
}

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
	if c.Arm.Baud == 0 {
		c.Arm.Baud = 1_000_000
	}
	if c.Arm.Timeout == 0 {
		c.Arm.Timeout = 5 * time.Millisecond
	}
	for i := range c.Arm.Servos {
		s := &c.Arm.Servos[i]
		if s.Ticks == 0 {
			s.Ticks = 4096
		}
		if s.Offset == 0 {
			s.Offset = float64(s.Ticks / 2)
		}
		if s.Direction == 0 {
			s.Direction = 1
		}
		deff(&s.MaxVel, 3)
		deff(&s.MaxAcc, 20)
	}
	deff(&c.Executor.RateHz, 500)
	deff(&c.Executor.GoalTolerance, 0.05)
	deff(&c.Recorder.RateHz, 100)
	if c.MQTT.Embedded == nil {
		c.MQTT.Embedded = &t
	}
	def(&c.MQTT.Listen, "127.0.0.1:1883")
	deff(&c.MQTT.StateRateHz, 20)
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
	default:
		return bad("arm.driver", "%q is not one of sim, dynamixel, feetech", c.Arm.Driver)
	}
	if c.Arm.Baud < 0 {
		return bad("arm.baud", "%d must be positive", c.Arm.Baud)
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
	if !(c.Executor.GoalTolerance > 0 && c.Executor.GoalTolerance <= 0.5) {
		return bad("executor.goal_tolerance", "%g is outside (0, 0.5]", c.Executor.GoalTolerance)
	}
	if c.Recorder.RateHz < 1 || c.Recorder.RateHz > c.Executor.RateHz {
		return bad("recorder.rate_hz", "%g is outside 1..executor.rate_hz (%g)", c.Recorder.RateHz, c.Executor.RateHz)
	}
	if !*c.MQTT.Embedded && c.MQTT.Broker == "" {
		return bad("mqtt.broker", "required when mqtt.embedded is false")
	}
	if (c.MQTT.TLSCert == "") != (c.MQTT.TLSKey == "") {
		return bad("mqtt.tls_cert", "tls_cert and tls_key go together")
	}
	if c.MQTT.StateRateHz <= 0 || c.MQTT.StateRateHz > 200 {
		return bad("mqtt.state_rate_hz", "%g is outside (0, 200]", c.MQTT.StateRateHz)
	}
	return nil
}
