package gobot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"gobot.io/x/gobot/v2/drivers/i2c"
	"gobot.io/x/gobot/v2/platforms/adaptors"
	"gobot.io/x/gobot/v2/system"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// PCA9685 registers and bits (NXP PCA9685 datasheet, section 7.3).
const (
	regMode1     = 0x00
	regLED0OnL   = 0x06 // LEDn_ON_L = 0x06 + 4n, then ON_H, OFF_L, OFF_H
	regPreScale  = 0xFE
	mode1AI      = 0x20 // register auto-increment
	mode1Restart = 0x80
	oscHz        = 25e6 // internal oscillator
)

// PCA9685Config configures a PCA9685 arm. Zero fields take the stated defaults.
type PCA9685Config struct {
	// Bus is the Linux I2C bus N (/dev/i2c-N); nil means 1, the Raspberry Pi header's bus.
	Bus         *int    `yaml:"bus"`
	Address     int     `yaml:"address"`      // the board's I2C address 0x40..0x7F; default 0x40
	FrequencyHz float64 `yaml:"frequency_hz"` // PWM frequency, 24..1526 Hz; default 50 (analog hobby servos)
	// FeedbackHz is how often the ADS1115 feedback channels are sampled, 1..500 Hz; default
	// 100. Each single-shot conversion takes ~1.2 ms at 860 samples/s.
	FeedbackHz float64      `yaml:"feedback_hz"`
	Joints     []ServoJoint `yaml:"joints"` // one per joint, in joint order; required
	// Connector reaches the I2C bus; nil means gobot's Linux I2C adaptor on /dev/i2c-<Bus>.
	// Tests pass a fake.
	Connector i2c.Connector `yaml:"-"`
}

// Validate applies the defaults to c and checks it; the error names the bad field.
func (c *PCA9685Config) Validate() error {
	if c.Bus == nil {
		one := 1
		c.Bus = &one
	}
	if c.Address == 0 {
		c.Address = 0x40
	}
	if c.FrequencyHz == 0 {
		c.FrequencyHz = 50
	}
	if c.FeedbackHz == 0 {
		c.FeedbackHz = 100
	}
	switch {
	case *c.Bus < 0:
		return fmt.Errorf("%w: bus: %d is negative", ErrConfig, *c.Bus)
	case c.Address < 0x40 || c.Address > 0x7F:
		return fmt.Errorf("%w: address: 0x%x is outside 0x40..0x7f", ErrConfig, c.Address)
	case !(c.FrequencyHz >= 24 && c.FrequencyHz <= 1526):
		return fmt.Errorf("%w: frequency_hz: %g is outside 24..1526", ErrConfig, c.FrequencyHz)
	case !(c.FeedbackHz >= 1 && c.FeedbackHz <= 500):
		return fmt.Errorf("%w: feedback_hz: %g is outside 1..500", ErrConfig, c.FeedbackHz)
	}
	c.Joints = append([]ServoJoint(nil), c.Joints...)
	for i := range c.Joints {
		if fb := c.Joints[i].Feedback; fb != nil {
			cp := *fb
			c.Joints[i].Feedback = &cp
		}
	}
	if err := normalize(c.Joints, pulseDefaults{500, 2500}, 1, false); err != nil {
		return err
	}
	// Every pulse must fit in one PWM period.
	period := 1e6 / c.FrequencyHz
	for i, j := range c.Joints {
		if j.MaxPulse >= period {
			return fmt.Errorf("%w: joints[%d].max_pulse: %g µs does not fit the %.0f µs period at %g Hz", ErrConfig, i, j.MaxPulse, period, c.FrequencyHz)
		}
	}
	return nil
}

// PreScale returns the PRE_SCALE register value for a PWM frequency (datasheet 7.3.5):
// round(25 MHz / (4096 · f)) − 1.
func PreScale(hz float64) byte { return byte(math.Round(oscHz/(4096*hz)) - 1) }

// PCA9685 is an arm of hobby servos on a PCA9685 board. Safe for concurrent use.
type PCA9685 struct {
	*servoArm
	drv     *i2c.PCA9685Driver
	conn    i2c.Connection
	adcs    map[int]*i2c.ADS1x15Driver
	tickUs  float64 // µs per PWM count at the programmed prescale
	counts  []int   // OFF count last written per joint, -1: never
	buf     []byte  // LEDn_ON_L..OFF_H
	finish  func() error
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

// OpenPCA9685 validates cfg, opens the I2C bus, runs gobot's PCA9685 start-up (all
// outputs off, MODE2 totem-pole, wake, restart), sets the PWM frequency and register
// auto-increment, starts the ADS1115 feedback sampling if any joint has it, and commands
// every joint's start position (measured, or Home). Errors name the bus and address.
func OpenPCA9685(cfg PCA9685Config) (*PCA9685, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bus := *cfg.Bus
	where := fmt.Sprintf("/dev/i2c-%d address 0x%02x", bus, cfg.Address)
	conn := cfg.Connector
	finish := func() error { return nil }
	if conn == nil {
		ad := adaptors.NewI2cBusAdaptor(system.NewAccesser(), func(int) error { return nil }, bus)
		if err := ad.Connect(); err != nil {
			return nil, fmt.Errorf("gobot: pca9685: %s: %w", where, err)
		}
		conn, finish = ad, ad.Finalize
	}
	p := &PCA9685{servoArm: newServoArm(cfg.Joints), adcs: map[int]*i2c.ADS1x15Driver{}, finish: finish,
		counts: make([]int, len(cfg.Joints)), buf: make([]byte, 4), stop: make(chan struct{})}
	for i := range p.counts {
		p.counts[i] = -1
	}
	fail := func(what string, err error) (*PCA9685, error) {
		finish()
		return nil, fmt.Errorf("gobot: pca9685: %s: %s: %w (I2C enabled? wiring? address?)", where, what, err)
	}
	p.drv = i2c.NewPCA9685Driver(conn, i2c.WithBus(bus), i2c.WithAddress(cfg.Address))
	if err := p.drv.Start(); err != nil {
		return fail("start", err)
	}
	if err := p.drv.SetPWMFreq(float32(cfg.FrequencyHz)); err != nil {
		return fail("set frequency", err)
	}
	c, err := conn.GetI2cConnection(cfg.Address, bus)
	if err != nil {
		return fail("connection", err)
	}
	p.conn = c
	m1, err := c.ReadByteData(regMode1)
	if err != nil {
		return fail("read MODE1", err)
	}
	if err := c.WriteByteData(regMode1, m1&^mode1Restart|mode1AI); err != nil {
		return fail("set auto-increment", err)
	}
	ps, err := c.ReadByteData(regPreScale)
	if err != nil {
		return fail("read PRE_SCALE", err)
	}
	p.tickUs = (float64(ps) + 1) / oscHz * 1e6
	for _, j := range cfg.Joints {
		if fb := j.Feedback; fb != nil && p.adcs[fb.Address] == nil {
			d := i2c.NewADS1115Driver(conn, i2c.WithBus(bus), i2c.WithAddress(fb.Address), i2c.WithADS1x15DataRate(860))
			if err := d.Start(); err != nil {
				return fail(fmt.Sprintf("ADS1115 at 0x%02x", fb.Address), err)
			}
			p.adcs[fb.Address] = d
		}
	}
	if len(p.adcs) > 0 {
		if err := p.sample(); err != nil {
			return fail("first feedback sample", err)
		}
		p.stopped.Add(1)
		go p.sampler(time.Duration(float64(time.Second) / cfg.FeedbackHz))
	}
	if err := p.Command(context.Background(), p.home()); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// sample reads every feedback channel once.
func (p *PCA9685) sample() error {
	for i, j := range p.cfg {
		if j.Feedback == nil {
			continue
		}
		v, err := p.adcs[j.Feedback.Address].ReadWithDefaults(j.Feedback.Channel)
		if err != nil {
			return fmt.Errorf("joint %q: ADS1115 0x%02x channel %d: %w", j.Name, j.Feedback.Address, j.Feedback.Channel, err)
		}
		p.setSample(i, v)
	}
	return nil
}

// sampler refreshes the feedback readings every period until Close.
func (p *PCA9685) sampler(period time.Duration) {
	defer p.stopped.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		if err := p.sample(); err != nil {
			p.fbErr.Store(&err)
		} else {
			p.fbErr.Store(nil)
		}
	}
}

// Command clamps c into the joint limits and writes the pulse of every channel whose
// 12-bit OFF count changed (LEDn_ON = 0, LEDn_OFF = pulse/tick), one auto-incremented
// write each. It allocates nothing.
func (p *PCA9685) Command(_ context.Context, c joint.Command) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.plan(c); err != nil {
		return err
	}
	for i, j := range p.cfg {
		n := int(math.Round(p.pulse[i] / p.tickUs))
		n = min(max(n, 0), 4095)
		if n == p.counts[i] {
			continue
		}
		p.buf[0], p.buf[1], p.buf[2], p.buf[3] = 0, 0, byte(n), byte(n>>8)
		if err := p.conn.WriteBlockData(byte(regLED0OnL+4*j.Channel), p.buf); err != nil {
			p.counts[i] = -1
			return fmt.Errorf("gobot: pca9685: joint %q channel %d: %w", j.Name, j.Channel, err)
		}
		p.counts[i] = n
	}
	return nil
}

// SetTorque switches the servos limp (on=false: every channel fully off, so the arm can be
// moved by hand for a kinesthetic demonstration) or holds them where they are measured
// (on=true). Torque off needs feedback on every joint (ErrNoTorqueOff).
func (p *PCA9685) SetTorque(ctx context.Context, on bool) error {
	if err := p.checkLimp(); err != nil {
		return err
	}
	if on {
		c, err := p.hold()
		if err != nil {
			return err
		}
		return p.Command(ctx, c)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return drivers.ErrClosed
	}
	for i, j := range p.cfg {
		p.counts[i] = -1                                       // rewritten by the next Command
		p.buf[0], p.buf[1], p.buf[2], p.buf[3] = 0, 0, 0, 0x10 // LEDn_OFF_H bit 4: full off
		if err := p.conn.WriteBlockData(byte(regLED0OnL+4*j.Channel), p.buf); err != nil {
			return fmt.Errorf("gobot: pca9685: joint %q channel %d: torque off: %w", j.Name, j.Channel, err)
		}
	}
	return nil
}

// Close stops feedback sampling, switches every output fully off (gobot's PCA9685 halt:
// ALL_LED_OFF_H full-off bit, so the servos go limp) and releases the bus.
func (p *PCA9685) Close() error {
	var err error
	p.once.Do(func() {
		close(p.stop)
		p.stopped.Wait()
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		err = errors.Join(p.drv.Halt(), p.finish())
		if err != nil {
			err = fmt.Errorf("gobot: pca9685: close: %w", err)
		}
	})
	return err
}
