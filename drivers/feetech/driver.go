package feetech

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/praxis-robotics/praxis/drivers"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// JointConfig maps one joint to one servo and calibrates it:
// rad = Direction · (ticks − Offset) · 2π / Resolution.
type JointConfig struct {
	Name       string       // joint name, unique, required
	ID         byte         // servo ID 0..253, unique, required
	Offset     int          // ticks at 0 rad (2048 for a mid-range-centred STS3215); no default
	Direction  int          // +1 or -1; 0 means +1
	Resolution int          // ticks per revolution; default 4096 (STS), 1024 (SCS)
	Limits     joint.Limits // rad, rad/s; zero Min and Max mean the servo's whole tick range
	// StallTorque is the torque at 100 % load, N·m; 0 leaves State.Eff at 0.
	StallTorque float64
}

// Config configures a Driver. The zero values of optional fields are replaced by their
// documented defaults.
type Config struct {
	Series ftproto.Series // ftproto.STS (default) or ftproto.SCS
	Baud   int            // bits/s for Open; default 1 000 000; must have an ftproto baud code
	Joints []JointConfig  // in arm order; required
	// ReplyTimeout bounds the wait for each reply; default 20 ms.
	ReplyTimeout time.Duration
	// Retries is how many extra single-servo reads a tick may spend on each servo whose
	// reply was missed or corrupted; default 1, negative means none.
	Retries int
	// FaultAfter is how many consecutive ticks a servo may stay unreadable before the arm
	// faults (drivers.ErrFault) until the next Setup; default 3.
	FaultAfter int
	// ReadLoad adds present load (60..61) to each tick's read, for State.Eff.
	ReadLoad bool
	// WriteLimits makes Setup write the joint limits to the servos' EEPROM angle limits.
	WriteLimits bool
	// Watchdog is the initial software watchdog timeout (see SetWatchdog); 0 disables it.
	Watchdog time.Duration
	// WatchdogTorqueOff makes an expired watchdog switch torque off instead of holding.
	WatchdogTorqueOff bool
	// Clock timestamps State.Time; default clock.NewReal() (as drivers/dynamixel).
	Clock clock.Clock
}

func (c *Config) validate() error {
	if c.Series != ftproto.STS && c.Series != ftproto.SCS {
		return fmt.Errorf("feetech: Config.Series: unknown series %d", c.Series)
	}
	if c.Baud == 0 {
		c.Baud = 1000000
	}
	if _, ok := ftproto.BaudCode(c.Baud); !ok {
		return fmt.Errorf("feetech: Config.Baud: %d bit/s has no Feetech baud code", c.Baud)
	}
	if c.ReplyTimeout < 0 {
		return fmt.Errorf("feetech: Config.ReplyTimeout: negative %v", c.ReplyTimeout)
	}
	if c.ReplyTimeout == 0 {
		c.ReplyTimeout = 20 * time.Millisecond
	}
	if c.Retries == 0 {
		c.Retries = 1
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	if c.FaultAfter <= 0 {
		c.FaultAfter = 3
	}
	if c.Clock == nil {
		c.Clock = clock.NewReal()
	}
	if c.Watchdog < 0 {
		return fmt.Errorf("feetech: Config.Watchdog: negative %v", c.Watchdog)
	}
	if len(c.Joints) == 0 {
		return errors.New("feetech: Config.Joints: no joints")
	}
	js := make([]JointConfig, len(c.Joints))
	copy(js, c.Joints)
	c.Joints = js
	names, ids := map[string]bool{}, map[byte]bool{}
	for i := range js {
		j := &js[i]
		f := fmt.Sprintf("feetech: Config.Joints[%d]", i)
		if j.Name == "" {
			return fmt.Errorf("%s.Name: empty", f)
		}
		if names[j.Name] {
			return fmt.Errorf("%s.Name: duplicate %q", f, j.Name)
		}
		if j.ID > ftproto.MaxID {
			return fmt.Errorf("%s.ID: %d above %d", f, j.ID, ftproto.MaxID)
		}
		if ids[j.ID] {
			return fmt.Errorf("%s.ID: duplicate %d", f, j.ID)
		}
		names[j.Name], ids[j.ID] = true, true
		if j.Direction == 0 {
			j.Direction = 1
		}
		if j.Direction != 1 && j.Direction != -1 {
			return fmt.Errorf("%s.Direction: %d, want +1 or -1", f, j.Direction)
		}
		if j.Resolution == 0 {
			j.Resolution = 4096
			if c.Series == ftproto.SCS {
				j.Resolution = 1024
			}
		}
		if j.Resolution < 2 || j.Resolution > 32768 {
			return fmt.Errorf("%s.Resolution: %d ticks/rev out of 2..32768", f, j.Resolution)
		}
		lo, hi := j.rad(0), j.rad(j.Resolution-1)
		if lo > hi {
			lo, hi = hi, lo
		}
		if j.Limits.Min == 0 && j.Limits.Max == 0 {
			j.Limits.Min, j.Limits.Max = lo, hi
		}
		if !(j.Limits.Min < j.Limits.Max) || math.IsNaN(j.Limits.Min) || math.IsNaN(j.Limits.Max) {
			return fmt.Errorf("%s.Limits: Min %g not below Max %g", f, j.Limits.Min, j.Limits.Max)
		}
		if j.Limits.Min < lo-1e-9 || j.Limits.Max > hi+1e-9 {
			return fmt.Errorf("%s.Limits: [%g, %g] rad outside the servo range [%g, %g] rad", f, j.Limits.Min, j.Limits.Max, lo, hi)
		}
		if j.StallTorque < 0 {
			return fmt.Errorf("%s.StallTorque: negative", f)
		}
	}
	return nil
}

// Cal returns the joint's calibration (the one servo.Calibration of every bus driver).
func (j *JointConfig) Cal() servo.Calibration {
	return servo.AtTick(j.Offset, j.Direction, j.Resolution)
}

func (j *JointConfig) rad(ticks int) float64 { return j.Cal().Radians(int32(ticks)) }

func (j *JointConfig) ticks(rad float64) int { return int(j.Cal().Ticks(rad)) }

// Driver is an arm made of Feetech servos on one bus. It implements drivers.Arm,
// drivers.Compliant and drivers.Watchdog (in software). Methods are safe for concurrent
// use; bus transactions are serialised.
type Driver struct {
	cfg    Config
	joints []joint.Joint
	ids    []byte
	idx    [256]int16 // servo ID -> joint index, -1 when none
	rw     io.ReadWriteCloser

	mu      sync.Mutex // guards everything below and the bus
	bus     *Bus
	closed  bool
	fault   error           // sticky arm fault, cleared by Setup
	raw     []int           // last present position per joint, ticks
	got     []bool          // reply received this tick
	silent  []int           // consecutive unreadable ticks
	perr    []error         // this tick's per-servo error
	stats   *servo.Counters // per-servo traffic of Read and Command
	data    []byte          // sync write payload
	rdLen   byte            // bytes per servo per tick read
	tripped bool            // watchdog expired since the last Command
	onTrip  func()          // test hook, called after the watchdog acted

	kick   chan struct{}
	wdSet  chan time.Duration
	quit   chan struct{}
	wdDone chan struct{}
}

// New makes a Driver on rw (which it owns and closes) after validating cfg; errors name
// the bad field. It does not touch the bus: call Setup before the first Read.
func New(rw io.ReadWriteCloser, cfg Config) (*Driver, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if rw == nil {
		return nil, errors.New("feetech: nil bus")
	}
	n := len(cfg.Joints)
	d := &Driver{
		cfg: cfg, rw: rw, bus: NewBus(rw, cfg.Series, cfg.ReplyTimeout),
		joints: make([]joint.Joint, n), ids: make([]byte, n),
		raw: make([]int, n), got: make([]bool, n), silent: make([]int, n), perr: make([]error, n),
		data: make([]byte, 2*n), rdLen: 4,
		kick: make(chan struct{}, 1), wdSet: make(chan time.Duration), quit: make(chan struct{}), wdDone: make(chan struct{}),
	}
	if cfg.ReadLoad {
		d.rdLen = 6
	}
	for i := range d.idx {
		d.idx[i] = -1
	}
	for i, j := range cfg.Joints {
		d.joints[i] = joint.Joint{Name: j.Name, Type: joint.Revolute, Limits: j.Limits}
		d.ids[i] = j.ID
		d.idx[j.ID] = int16(i)
		d.raw[i] = j.Offset
	}
	d.stats = servo.NewCounters(d.ids, joint.Names(d.joints))
	go d.watchdog(cfg.Watchdog)
	return d, nil
}

// Open validates cfg, opens the serial port at cfg.Baud (8N1) and returns New's Driver on it.
func Open(port string, cfg Config) (*Driver, error) {
	c := cfg
	if err := c.validate(); err != nil {
		return nil, err
	}
	p, err := serial.Open(port, &serial.Mode{BaudRate: c.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("feetech: open %s: %w", port, err)
	}
	d, err := New(p, cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	return d, nil
}

// Joints returns the joints in arm order, limits in rad.
func (d *Driver) Joints() []joint.Joint {
	out := make([]joint.Joint, len(d.joints))
	copy(out, d.joints)
	return out
}

func (d *Driver) lock() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return drivers.ErrClosed
	}
	return nil
}

func (d *Driver) named(err error) error {
	var se *ServoError
	if errors.As(err, &se) && se.Joint == "" {
		if i := d.idx[se.ID]; i >= 0 {
			se.Joint = d.joints[i].Name
		}
	}
	return err
}

// Setup pings every servo, sets their return delay to 0, with Config.WriteLimits writes the
// angle limits to EEPROM (unlocking and relocking it), reads the arm, and switches torque
// on holding the present position. It clears a sticky fault. Errors name the servos that failed.
func (d *Driver) Setup(ctx context.Context) error {
	if err := d.lock(); err != nil {
		return err
	}
	defer d.mu.Unlock()
	var errs []error
	for _, id := range d.ids {
		if err := d.bus.Ping(ctx, id); err != nil {
			errs = append(errs, d.named(err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("feetech: setup: %w", errors.Join(errs...))
	}
	for i, id := range d.ids {
		if err := d.bus.WriteRegister(ctx, id, ftproto.RegReturnDelay, []byte{0}); err != nil {
			return fmt.Errorf("feetech: setup: return delay: %w", d.named(err))
		}
		if !d.cfg.WriteLimits {
			continue
		}
		j := &d.cfg.Joints[i]
		lo, hi := j.ticks(j.Limits.Min), j.ticks(j.Limits.Max)
		if lo > hi {
			lo, hi = hi, lo
		}
		var w [4]byte
		d.cfg.Series.PutWord(w[0:], uint16(max(lo, 0)))
		d.cfg.Series.PutWord(w[2:], uint16(min(hi, j.Resolution-1)))
		lr := d.cfg.Series.LockReg()
		if err := d.bus.WriteRegister(ctx, id, uint16(lr), []byte{0}); err != nil {
			return fmt.Errorf("feetech: setup: unlock eeprom: %w", d.named(err))
		}
		err := d.bus.WriteRegister(ctx, id, ftproto.RegMinAngle, w[:])
		if lerr := d.bus.WriteRegister(ctx, id, uint16(lr), []byte{1}); err == nil {
			err = lerr
		}
		if err != nil {
			return fmt.Errorf("feetech: setup: angle limits: %w", d.named(err))
		}
	}
	d.fault = nil
	for i := range d.silent {
		d.silent[i] = 0
	}
	st := joint.NewState(len(d.ids))
	if err := d.read(ctx, &st); err != nil {
		return fmt.Errorf("feetech: setup: read: %w", err)
	}
	if err := d.setTorque(true); err != nil {
		return fmt.Errorf("feetech: setup: torque on: %w", err)
	}
	return nil
}

// ServoStats implements servo.StatsReporter: the traffic of Read and Command per servo.
func (d *Driver) ServoStats() []servo.Stats { return d.stats.Stats() }

// Read fills s with positions (rad), velocities (rad/s) and, with Config.ReadLoad and a
// StallTorque, efforts (N·m): one sync read per call (per-servo reads on SCS, which has no
// sync read). A missed or corrupted reply is retried up to Config.Retries times; servos
// still unreadable keep their last value and are reported as *ServoError (errors.Join of
// several). Status bits are reported the same way (wrapping ErrStatus) with fresh data.
// A servo unreadable for Config.FaultAfter ticks faults the arm: every later Read and
// Command fails wrapping drivers.ErrFault until Setup. Allocation-free when s is sized.
func (d *Driver) Read(ctx context.Context, s *joint.State) error {
	if err := d.lock(); err != nil {
		return err
	}
	defer d.mu.Unlock()
	return d.read(ctx, s)
}

func (d *Driver) read(ctx context.Context, s *joint.State) error {
	if d.fault != nil {
		return d.fault
	}
	s.Resize(len(d.ids))
	for i := range d.got {
		d.got[i], d.perr[i] = false, nil
	}
	b := d.bus
	if err := b.begin(); err != nil {
		return err
	}
	corrupt0 := b.dec.Corrupt
	if d.cfg.Series == ftproto.STS {
		n, err := ftproto.EncodeSyncRead(b.tx[:], ftproto.RegPresentPosition, d.rdLen, d.ids)
		if err != nil {
			return err
		}
		for i := range d.ids {
			d.stats.Transaction(i)
		}
		if err := b.send(b.tx[:n]); err != nil {
			for i := range d.ids {
				d.stats.Error(i)
			}
			return err
		}
		left := len(d.ids)
		for left > 0 {
			// Servos answer one after another: the timeout runs from the previous reply.
			p, err := b.recv(ctx, time.Now().Add(d.cfg.ReplyTimeout))
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				break
			}
			i := d.idx[p.ID]
			if i < 0 || d.got[i] || len(p.Params) != int(d.rdLen) {
				continue
			}
			d.take(int(i), p, s)
			left--
			if int(i) == len(d.ids)-1 {
				break // replies come in request order: the missing ones are lost
			}
		}
	}
	missing := error(ErrTimeout)
	if b.dec.Corrupt != corrupt0 {
		missing = ErrChecksum // a corrupted reply was dropped this tick
	}
	var buf [6]byte
	for i, id := range d.ids {
		if d.got[i] {
			continue
		}
		tries := d.cfg.Retries
		if d.cfg.Series == ftproto.SCS {
			tries++ // the first per-servo read is the tick's read, not a retry
		}
		var err error = &ServoError{ID: id, Err: missing}
		for t := 0; t < tries; t++ {
			d.stats.Transaction(i)
			if d.cfg.Series == ftproto.STS || t > 0 {
				d.stats.Retry(i)
			}
			err = d.bus.ReadRegister(ctx, id, ftproto.RegPresentPosition, buf[:d.rdLen])
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var se *ServoError
			if err == nil || (errors.As(err, &se) && se.Status != 0) {
				d.take(i, ftproto.Packet{ID: id, Inst: byte(statusOf(err)), Params: buf[:d.rdLen]}, s)
				break
			}
		}
		if !d.got[i] {
			d.perr[i] = d.named(err)
		}
	}
	s.Time = d.cfg.Clock.Now()
	var first error
	nerr := 0
	for i := range d.ids {
		if !d.got[i] {
			d.silent[i]++
			if d.silent[i] >= d.cfg.FaultAfter && d.fault == nil {
				d.fault = fmt.Errorf("feetech: arm faulted, servo %d (%s) unreadable for %d ticks (%w): %w",
					d.ids[i], d.joints[i].Name, d.silent[i], drivers.ErrFault, d.perr[i])
			}
		} else {
			d.silent[i] = 0
		}
		if d.perr[i] != nil {
			d.stats.Error(i)
			nerr++
			if first == nil {
				first = d.perr[i]
			}
		}
	}
	if d.fault != nil {
		return d.fault
	}
	if nerr > 1 {
		return errors.Join(d.perr...)
	}
	return first
}

func statusOf(err error) ftproto.Status {
	var se *ServoError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// take decodes one present-state reply of joint i into s.
func (d *Driver) take(i int, p ftproto.Packet, s *joint.State) {
	j := &d.cfg.Joints[i]
	w := d.cfg.Series
	raw := ftproto.DecodeSignMag(w.Word(p.Params[0:]), ftproto.SignBitPos)
	if d.cfg.Series == ftproto.SCS {
		raw = int(w.Word(p.Params[0:])) // SCS positions are unsigned
	}
	d.raw[i] = raw
	cal := j.Cal()
	s.Pos[i] = cal.Radians(int32(raw))
	// Present_Speed counts ticks per second: one LSB is one tick's angle per second.
	s.Vel[i] = cal.Velocity(int32(ftproto.DecodeSignMag(w.Word(p.Params[2:]), ftproto.SignBitPos)), cal.TickRadians())
	s.Eff[i] = 0
	if len(p.Params) >= 6 && j.StallTorque > 0 {
		s.Eff[i] = cal.Dir() * float64(ftproto.DecodeSignMag(w.Word(p.Params[4:]), ftproto.SignBitLoad)) / 1000 * j.StallTorque
	}
	d.got[i] = true
	if p.Inst != 0 {
		d.perr[i] = &ServoError{ID: p.ID, Joint: d.joints[i].Name, Status: ftproto.Status(p.Inst), Err: ErrStatus}
	}
}

// Command sends goal positions (rad, clamped to the joint limits) to all servos in one
// sync write (no replies); c.Vel is ignored. It feeds the watchdog. Fails after a fault.
func (d *Driver) Command(ctx context.Context, c joint.Command) error {
	if len(c.Pos) != len(d.ids) {
		return fmt.Errorf("feetech: command has %d positions, arm has %d joints", len(c.Pos), len(d.ids))
	}
	if err := d.lock(); err != nil {
		return err
	}
	defer d.mu.Unlock()
	if d.fault != nil {
		return d.fault
	}
	for i := range d.ids {
		j := &d.cfg.Joints[i]
		q := c.Pos[i]
		if math.IsNaN(q) {
			return fmt.Errorf("feetech: joint %s: NaN position", j.Name)
		}
		// Clamped, and rounded to a tick inside the limits.
		d.putGoal(i, int(j.Cal().TicksWithin(j.Limits.Clamp(q), j.Limits.Min, j.Limits.Max)))
	}
	err := d.syncWrite(ftproto.RegGoalPosition, 2, d.data)
	for i := range d.ids {
		d.stats.Transaction(i)
		if err != nil {
			d.stats.Error(i)
		}
	}
	if err != nil {
		return err
	}
	d.tripped = false
	select {
	case d.kick <- struct{}{}:
	default:
	}
	return nil
}

func (d *Driver) putGoal(i, t int) {
	if d.cfg.Series == ftproto.SCS {
		d.cfg.Series.PutWord(d.data[2*i:], uint16(max(t, 0)))
		return
	}
	d.cfg.Series.PutWord(d.data[2*i:], ftproto.EncodeSignMag(t, ftproto.SignBitPos))
}

func (d *Driver) syncWrite(addr, n byte, data []byte) error {
	m, err := ftproto.EncodeSyncWrite(d.bus.tx[:], addr, n, d.ids, data)
	if err != nil {
		return err
	}
	return d.bus.send(d.bus.tx[:m])
}

// SetTorque switches all servos' torque (one sync write). Switching on first sets each
// goal to the last read position, so the arm holds where it is instead of jumping.
func (d *Driver) SetTorque(ctx context.Context, on bool) error {
	if err := d.lock(); err != nil {
		return err
	}
	defer d.mu.Unlock()
	return d.setTorque(on)
}

func (d *Driver) setTorque(on bool) error {
	if on {
		if err := d.hold(); err != nil {
			return err
		}
	}
	var v [32]byte
	vals := v[:0]
	if len(d.ids) > len(v) {
		vals = make([]byte, 0, len(d.ids))
	}
	for range d.ids {
		if on {
			vals = append(vals, 1)
		} else {
			vals = append(vals, 0)
		}
	}
	return d.syncWrite(ftproto.RegTorqueEnable, 1, vals)
}

// hold writes the last read positions as goals.
func (d *Driver) hold() error {
	for i := range d.ids {
		d.putGoal(i, d.raw[i])
	}
	return d.syncWrite(ftproto.RegGoalPosition, 2, d.data)
}

// SetWatchdog arms the software watchdog (Feetech servos have no bus watchdog): when no
// Command arrives for timeout, the driver holds the last read positions (or, with
// Config.WatchdogTorqueOff, switches torque off). 0 disables it. The next Command resumes.
func (d *Driver) SetWatchdog(ctx context.Context, timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("feetech: watchdog: negative timeout %v", timeout)
	}
	select {
	case d.wdSet <- timeout:
		return nil
	case <-d.wdDone:
		return drivers.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Tripped reports whether the watchdog has expired since the last Command.
func (d *Driver) Tripped() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tripped
}

func (d *Driver) watchdog(timeout time.Duration) {
	defer close(d.wdDone)
	t := time.NewTimer(time.Hour)
	t.Stop()
	if timeout > 0 {
		t.Reset(timeout)
	}
	for {
		select {
		case <-d.quit:
			t.Stop()
			return
		case timeout = <-d.wdSet:
			t.Stop()
			if timeout > 0 {
				t.Reset(timeout)
			}
		case <-d.kick:
			if timeout > 0 {
				t.Reset(timeout)
			}
		case <-t.C:
			d.mu.Lock()
			if !d.closed && timeout > 0 {
				if d.cfg.WatchdogTorqueOff {
					_ = d.setTorque(false)
				} else {
					_ = d.hold()
				}
				d.tripped = true
			}
			hook := d.onTrip
			d.mu.Unlock()
			if hook != nil {
				hook()
			}
		}
	}
}

// ReadRegister reads len(dst) bytes at addr of servo id (for bus tools). Failures are a
// *ServoError or drivers.ErrClosed.
func (d *Driver) ReadRegister(ctx context.Context, id, addr byte, dst []byte) error {
	if err := d.lock(); err != nil {
		return err
	}
	defer d.mu.Unlock()
	return d.named(d.bus.ReadRegister(ctx, id, uint16(addr), dst))
}

// WriteRegister writes data at addr of servo id and waits for the acknowledgement (none
// for broadcast). EEPROM registers need the lock register cleared first.
func (d *Driver) WriteRegister(ctx context.Context, id, addr byte, data []byte) error {
	if err := d.lock(); err != nil {
		return err
	}
	defer d.mu.Unlock()
	return d.named(d.bus.WriteRegister(ctx, id, uint16(addr), data))
}

// Close stops the watchdog and closes the bus; the servos keep their last goal. Later
// calls fail with drivers.ErrClosed; a second Close returns nil.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	close(d.quit)
	<-d.wdDone
	return d.rw.Close()
}

var (
	_ drivers.Arm       = (*Driver)(nil)
	_ drivers.Compliant = (*Driver)(nil)
	_ drivers.Watchdog  = (*Driver)(nil)
)
