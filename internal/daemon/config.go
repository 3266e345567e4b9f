package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/praxis-robotics/praxis/internal/busarm"
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
	Driver  string `yaml:"driver"`   // sim|dynamixel|feetech|firmware; default sim
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

	// Firmware (driver firmware): joints and calibration of a firmware-bridge board.
	Firmware FirmwareConfig `yaml:"firmware"`

	// SimHand (sim only): a demo CSV whose joints name every arm joint. When a recording
	// switches torque off, a scripted hand drags the simulated arm along it, so a
	// kinesthetic demonstration can be recorded with no person; the arm starts at its
	// first sample. Default none.
	SimHand string `yaml:"sim_hand"`
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
	// succeeds; default 0.02 (the executor's offset term cancels the SO-101's steady sag).
	GoalTolerance float64 `yaml:"goal_tolerance"`
	// RealtimePriority is the SCHED_FIFO priority (1..99) asked for the control thread;
	// default 50, 0 to not ask. Without root or CAP_SYS_NICE the request fails quietly
	// (logged) and the executor runs at normal priority.
	RealtimePriority *int `yaml:"realtime_priority"`
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
	deff(&c.Executor.GoalTolerance, 0.02)
	if c.Executor.RealtimePriority == nil {
		p := 50
		c.Executor.RealtimePriority = &p
	}
	deff(&c.Recorder.RateHz, 100)
	if c.MQTT.Embedded == nil {
		c.MQTT.Embedded = &t
	}
	def(&c.MQTT.Listen, "127.0.0.1:1883")
	deff(&c.MQTT.StateRateHz, 20)
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
	case "firmware":
		if c.Arm.Port == "" {
			return bad("arm.port", "required for driver firmware")
		}
		if err := c.Arm.Firmware.validate(bad); err != nil {
			return err
		}
	default:
		return bad("arm.driver", "%q is not one of sim, dynamixel, feetech, firmware", c.Arm.Driver)
	}
	if c.Arm.Baud < 0 {
		return bad("arm.baud", "%d must be positive", c.Arm.Baud)
	}
	if c.Arm.Driver != "sim" {
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
