package gobot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"go.bug.st/serial"
	"gobot.io/x/gobot/v2/platforms/firmata/client"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// FirmataConfig configures an arm of servos on a board running StandardFirmata. Zero
// fields take the stated defaults.
type FirmataConfig struct {
	Baud int `yaml:"-"` // serial bits/s; default 57600 (StandardFirmata's)
	// ConnectTimeout bounds the handshake (version, firmware, capabilities, analog
	// mapping) and the first analog sample; default 10 s (an Arduino resets for ~2 s
	// when its port opens).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Joints: Channel is the servo's digital pin 0..15; MinPulse/MaxPulse default to
	// StandardFirmata's 544/2400 µs and MinPulse must be at least 544 (Arduino's Servo
	// library reads smaller values as degrees). Feedback.Channel is the analog input
	// A0..A15 (readings 0..1023).
	Joints []ServoJoint `yaml:"joints"`
	// sampled, when set (tests), receives the joint index of every analog sample stored.
	sampled chan<- int
}

// Validate applies the defaults to c and checks it; pins or analog channels above 15
// fail wrapping ErrPinRange.
func (c *FirmataConfig) Validate() error {
	if c.Baud == 0 {
		c.Baud = 57600
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.Baud < 0 || c.ConnectTimeout < 0 {
		return fmt.Errorf("%w: baud %d and connect_timeout %v must be positive", ErrConfig, c.Baud, c.ConnectTimeout)
	}
	c.Joints = append([]ServoJoint(nil), c.Joints...)
	for i := range c.Joints {
		if fb := c.Joints[i].Feedback; fb != nil {
			cp := *fb
			c.Joints[i].Feedback = &cp
		}
	}
	if err := normalize(c.Joints, pulseDefaults{544, 2400}, 544, true); err != nil {
		return err
	}
	for i, j := range c.Joints {
		if j.Feedback != nil && j.Feedback.Address != 0 {
			return fmt.Errorf("%w: joints[%d].feedback.address: an ADS1115 address is for PCA9685 arms; a Firmata feedback is an analog channel", ErrConfig, i)
		}
	}
	return nil
}

// Firmata is an arm of hobby servos on a StandardFirmata board. Safe for concurrent use.
type Firmata struct {
	*servoArm
	c      *client.Client
	port   io.ReadWriteCloser
	us     []int  // microseconds last written per joint, -1: never
	buf    []byte // analog messages of one tick
	analog []int  // analog channel per joint, -1: none
	once   sync.Once
}

// OpenFirmata opens a serial port (e.g. /dev/ttyACM0) and connects as ConnectFirmata.
func OpenFirmata(port string, cfg FirmataConfig) (*Firmata, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := serial.Open(port, &serial.Mode{BaudRate: cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("gobot: firmata: open %s: %w", port, err)
	}
	f, err := ConnectFirmata(p, cfg)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("gobot: firmata: %s: %w", port, err)
	}
	return f, nil
}

// ConnectFirmata validates cfg, runs gobot's Firmata handshake on port (reset, protocol
// version, firmware name, capability and analog-mapping queries), checks every joint's
// pin supports servo mode and every feedback channel exists, then per joint sends
// SERVO_CONFIG (pulse range) and SET_PIN_MODE servo, enables REPORT_ANALOG for feedback
// channels, and commands each joint's start position (measured, or Home). Servo pulses
// are written as analog messages in µs (StandardFirmata passes values ≥ 544 to
// Servo.writeMicroseconds). Close closes port.
func ConnectFirmata(port io.ReadWriteCloser, cfg FirmataConfig) (*Firmata, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Firmata{servoArm: newServoArm(cfg.Joints), c: client.New(), port: port,
		us: make([]int, len(cfg.Joints)), buf: make([]byte, 0, 3*len(cfg.Joints)), analog: make([]int, len(cfg.Joints))}
	f.c.ConnectTimeout = cfg.ConnectTimeout
	if err := f.c.Connect(port); err != nil {
		return nil, fmt.Errorf("gobot: firmata: handshake: %w (is StandardFirmata flashed, at %d baud?)", err, cfg.Baud)
	}
	fail := func(err error) (*Firmata, error) {
		f.c.Disconnect()
		return nil, err
	}
	// A firmware query round trip orders us after everything the board sent in reply to
	// the handshake (gobot's reader owns the pin table until then).
	if err := f.roundTrip(cfg.ConnectTimeout); err != nil {
		return fail(err)
	}
	pins := f.c.Pins()
	for i, j := range cfg.Joints {
		f.us[i], f.analog[i] = -1, -1
		if j.Channel >= len(pins) || !slices.Contains(pins[j.Channel].SupportedModes, client.Servo) {
			return fail(fmt.Errorf("gobot: firmata: joint %q: pin %d does not support servo mode on this board (%d pins)", j.Name, j.Channel, len(pins)))
		}
		if fb := j.Feedback; fb != nil {
			for p := range pins {
				if pins[p].AnalogChannel == fb.Channel && slices.Contains(pins[p].SupportedModes, client.Analog) {
					f.analog[i] = p
				}
			}
			if f.analog[i] < 0 {
				return fail(fmt.Errorf("gobot: firmata: joint %q: the board has no analog input A%d", j.Name, fb.Channel))
			}
		}
	}
	first := make(chan int, len(cfg.Joints))
	for i, j := range cfg.Joints {
		if err := f.c.ServoConfig(j.Channel, int(j.MaxPulse), int(j.MinPulse)); err != nil {
			return fail(fmt.Errorf("gobot: firmata: joint %q: servo config: %w", j.Name, err))
		}
		if err := f.c.SetPinMode(j.Channel, client.Servo); err != nil {
			return fail(fmt.Errorf("gobot: firmata: joint %q: pin mode: %w", j.Name, err))
		}
		if j.Feedback == nil {
			continue
		}
		i, ch := i, j.Feedback.Channel
		seen := false
		err := f.c.On(fmt.Sprintf("AnalogRead%d", ch), func(v any) {
			n, ok := v.(int)
			if !ok {
				return
			}
			f.setSample(i, float64(n))
			if cfg.sampled != nil {
				cfg.sampled <- i
			}
			if !seen {
				seen = true
				first <- i
			}
		})
		if err == nil {
			err = f.c.SetPinMode(f.analog[i], client.Analog)
		}
		if err == nil {
			err = f.c.ReportAnalog(ch, 1)
		}
		if err != nil {
			return fail(fmt.Errorf("gobot: firmata: joint %q: analog A%d: %w", j.Name, ch, err))
		}
	}
	deadline := time.After(cfg.ConnectTimeout)
	for _, j := range cfg.Joints {
		if j.Feedback == nil {
			continue
		}
		select {
		case <-first:
		case <-deadline:
			for i, j := range cfg.Joints {
				if _, ok := f.measured(i); j.Feedback != nil && !ok {
					return fail(fmt.Errorf("gobot: firmata: joint %q: no analog sample from A%d within %v", j.Name, j.Feedback.Channel, cfg.ConnectTimeout))
				}
			}
		}
	}
	if err := f.Command(context.Background(), f.home()); err != nil {
		return fail(err)
	}
	return f, nil
}

// roundTrip sends a firmware query and waits for the reply, asking again every 2 s (a
// reply garbled while gobot's handshake reader winds down is then not fatal).
func (f *Firmata) roundTrip(timeout time.Duration) error {
	done := make(chan struct{})
	if err := f.c.Once("FirmwareQuery", func(any) { close(done) }); err != nil {
		return err
	}
	deadline := time.After(timeout)
	again := time.NewTicker(2 * time.Second)
	defer again.Stop()
	for {
		if err := f.c.FirmwareQuery(); err != nil {
			return fmt.Errorf("gobot: firmata: firmware query: %w", err)
		}
		select {
		case <-done:
			return nil
		case <-again.C:
		case <-deadline:
			return fmt.Errorf("gobot: firmata: no reply to a firmware query within %v", timeout)
		}
	}
}

// Command clamps c into the joint limits and sends, in one write, an analog message
// (0xE0|pin, µs LSB, µs MSB, as gobot's AnalogWrite) for every joint whose pulse
// changed. It allocates nothing.
func (f *Firmata) Command(_ context.Context, c joint.Command) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.plan(c); err != nil {
		return err
	}
	f.buf = f.buf[:0]
	for i, j := range f.cfg {
		us := int(math.Round(f.pulse[i]))
		if us == f.us[i] {
			continue
		}
		f.buf = append(f.buf, client.AnalogMessage|byte(j.Channel), byte(us&0x7F), byte(us>>7&0x7F))
		f.us[i] = us
	}
	if len(f.buf) == 0 {
		return nil
	}
	if _, err := f.port.Write(f.buf); err != nil {
		for i := range f.us {
			f.us[i] = -1
		}
		return fmt.Errorf("gobot: firmata: write: %w", err)
	}
	return nil
}

// SetTorque switches the servos limp (on=false: pin mode OUTPUT detaches every servo, so
// the arm can be moved by hand for a kinesthetic demonstration) or attaches them again
// holding where they are measured (on=true: SERVO_CONFIG, SET_PIN_MODE servo, the measured
// pulse). Torque off needs feedback on every joint (ErrNoTorqueOff).
func (f *Firmata) SetTorque(ctx context.Context, on bool) error {
	if err := f.checkLimp(); err != nil {
		return err
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return drivers.ErrClosed
	}
	for i, j := range f.cfg {
		f.us[i] = -1 // rewritten by the next Command
		var err error
		if on {
			if err = f.c.ServoConfig(j.Channel, int(j.MaxPulse), int(j.MinPulse)); err == nil {
				err = f.c.SetPinMode(j.Channel, client.Servo)
			}
		} else {
			err = f.c.SetPinMode(j.Channel, client.Output)
		}
		if err != nil {
			f.mu.Unlock()
			return fmt.Errorf("gobot: firmata: joint %q: torque %v: %w", j.Name, on, err)
		}
	}
	f.mu.Unlock()
	if !on {
		return nil
	}
	c, err := f.hold()
	if err != nil {
		return err
	}
	return f.Command(ctx, c)
}

// Close stops the analog reports, detaches every servo (pin mode OUTPUT, so the pulses
// stop and the servos go limp) and closes the port.
func (f *Firmata) Close() error {
	var err error
	f.once.Do(func() {
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		var errs []error
		for _, j := range f.cfg {
			if j.Feedback != nil {
				errs = append(errs, f.c.ReportAnalog(j.Feedback.Channel, 0))
			}
			errs = append(errs, f.c.SetPinMode(j.Channel, client.Output))
		}
		errs = append(errs, f.c.Disconnect())
		if err = errors.Join(errs...); err != nil {
			err = fmt.Errorf("gobot: firmata: close: %w", err)
		}
	})
	return err
}
