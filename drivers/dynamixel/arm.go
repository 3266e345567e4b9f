package dynamixel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"go.bug.st/serial"

	"github.com/praxis-robotics/praxis/drivers"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Calibration maps ticks to radians for one servo (see dxlproto.Calibration).
type Calibration = dxlproto.Calibration

// Servo is one servo of the chain and the joint it drives.
type Servo struct {
	ID     byte         // bus ID, 0..252
	Joint  string       // joint name, unique
	Cal    Calibration  // ticks↔rad; the zero value centres 0 rad at tick 2048, 4096 ticks/rev
	Limits joint.Limits // rad, rad/s, rad/s²; commands are clamped to [Min, Max] when Min < Max
}

// Config configures an Arm. Zero fields take the stated defaults.
type Config struct {
	Baud         int           // bits/s for Open; default 1 000 000
	Servos       []Servo       // the chain, in joint order; required
	Model        string        // control table: "" or "x" (default), "xl430", "xm430"
	ReplyTimeout time.Duration // wait for each reply; default 10 ms
	Retries      int           // extra attempts per tick for servos that failed; default 2, -1 for none
	FaultTicks   int           // consecutive failed ticks of one servo that fault the arm; default 10
	FastSyncRead bool          // read all servos with one fast sync read (firmware ≥ 45) instead of sync read
	// PositionOnly reads present position alone (4 bytes a servo instead of 8), for the
	// fastest loop; State.Vel is then a finite difference of successive reads, rad/s.
	PositionOnly bool
	WriteLimits  bool        // Setup writes position and velocity limits to EEPROM (torque off while it does)
	Clock        clock.Clock // timestamps of State.Time; default clock.NewReal()
}

const stateLen = 8 // present velocity (4) + present position (4), from address 128

// readSpan returns the first address and byte count of each tick's read.
func (a *Arm) readSpan() (addr, n uint16) {
	if a.cfg.PositionOnly {
		return a.model.PresentPosition, 4
	}
	return a.model.PresentVelocity, stateLen
}

func (c *Config) validate() (dxlproto.Model, error) {
	if c.Baud == 0 {
		c.Baud = 1_000_000
	}
	if c.Baud < 0 {
		return dxlproto.Model{}, fmt.Errorf("dynamixel: config: Baud %d is negative", c.Baud)
	}
	m, ok := dxlproto.LookupModel(c.Model)
	if !ok {
		return m, fmt.Errorf("dynamixel: config: Model %q unknown (want x, xl430 or xm430)", c.Model)
	}
	if len(c.Servos) == 0 {
		return m, errors.New("dynamixel: config: Servos is empty")
	}
	if c.ReplyTimeout == 0 {
		c.ReplyTimeout = 10 * time.Millisecond
	}
	if c.ReplyTimeout < 0 {
		return m, fmt.Errorf("dynamixel: config: ReplyTimeout %v is negative", c.ReplyTimeout)
	}
	switch {
	case c.Retries == 0:
		c.Retries = 2
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.FaultTicks == 0 {
		c.FaultTicks = 10
	}
	if c.FaultTicks < 0 {
		return m, fmt.Errorf("dynamixel: config: FaultTicks %d is negative", c.FaultTicks)
	}
	if c.Clock == nil {
		c.Clock = clock.NewReal()
	}
	ids := map[byte]bool{}
	names := map[string]bool{}
	for i, s := range c.Servos {
		switch {
		case s.ID > dxlproto.MaxID:
			return m, fmt.Errorf("dynamixel: config: Servos[%d].ID %d above %d", i, s.ID, dxlproto.MaxID)
		case ids[s.ID]:
			return m, fmt.Errorf("dynamixel: config: Servos[%d].ID %d repeated", i, s.ID)
		case s.Joint == "":
			return m, fmt.Errorf("dynamixel: config: Servos[%d].Joint is empty", i)
		case names[s.Joint]:
			return m, fmt.Errorf("dynamixel: config: Servos[%d].Joint %q repeated", i, s.Joint)
		case s.Cal.Direction != 0 && s.Cal.Direction != 1 && s.Cal.Direction != -1:
			return m, fmt.Errorf("dynamixel: config: Servos[%d].Cal.Direction %d is not ±1", i, s.Cal.Direction)
		case s.Cal.Resolution < 0:
			return m, fmt.Errorf("dynamixel: config: Servos[%d].Cal.Resolution %d is negative", i, s.Cal.Resolution)
		case s.Limits.Min > s.Limits.Max, math.IsNaN(s.Limits.Min), math.IsNaN(s.Limits.Max):
			return m, fmt.Errorf("dynamixel: config: Servos[%d].Limits: Min %v above Max %v", i, s.Limits.Min, s.Limits.Max)
		case s.Limits.MaxVel < 0 || s.Limits.MaxAcc < 0:
			return m, fmt.Errorf("dynamixel: config: Servos[%d].Limits: negative MaxVel or MaxAcc", i)
		}
		ids[s.ID] = true
		names[s.Joint] = true
	}
	return m, nil
}

// Arm is a chain of Dynamixel X-series servos driven as one arm. It implements
// drivers.Arm, drivers.Compliant and drivers.Watchdog. Methods are safe for concurrent
// use (exchanges are serialised); Read and Command allocate nothing on success.
type Arm struct {
	cfg    Config
	model  dxlproto.Model
	bus    *Bus
	joints []joint.Joint
	ids    []byte
	index  [256]int16 // ID → servo index, -1 when not ours

	// Per-tick state, guarded by bus.mu.
	pos, vel []float64
	got      []bool
	status   []dxlproto.StatusError
	why      []error // reason of this tick's failure per servo, nil when fine
	misses   []int
	pending  []byte
	data     []byte
	fault    *TickError
	// PositionOnly: the previous read's positions and time, for the velocity estimate.
	prevPos  []float64
	prevTime time.Duration

	stats *servo.Counters // per-servo traffic of Read and Command
}

// New returns an Arm on rw (a serial port or a test fake) after validating cfg; errors
// name the bad field. It does not touch rw: call Setup before the first Read.
func New(rw io.ReadWriteCloser, cfg Config) (*Arm, error) {
	m, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if rw == nil {
		return nil, errors.New("dynamixel: nil port")
	}
	return newArm(rw, cfg, m), nil
}

func newArm(rw io.ReadWriteCloser, cfg Config, m dxlproto.Model) *Arm {
	n := len(cfg.Servos)
	a := &Arm{
		cfg: cfg, model: m, bus: NewBus(rw, cfg.ReplyTimeout),
		pos: make([]float64, n), vel: make([]float64, n), got: make([]bool, n),
		status: make([]dxlproto.StatusError, n), why: make([]error, n), misses: make([]int, n),
		pending: make([]byte, 0, n), data: make([]byte, 4*n), ids: make([]byte, n),
		prevPos: make([]float64, n),
	}
	for i := range a.index {
		a.index[i] = -1
	}
	for i, s := range cfg.Servos {
		a.ids[i] = s.ID
		a.index[s.ID] = int16(i)
		a.joints = append(a.joints, joint.Joint{Name: s.Joint, Type: joint.Revolute, Limits: s.Limits})
	}
	a.stats = servo.NewCounters(a.ids, joint.Names(a.joints))
	return a
}

// ServoStats implements servo.StatsReporter: the traffic of Read and Command per servo.
func (a *Arm) ServoStats() []servo.Stats { return a.stats.Stats() }

// Open validates cfg, opens the serial port (8N1 at cfg.Baud) and returns an Arm on it.
// Call Setup next.
func Open(port string, cfg Config) (*Arm, error) {
	m, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	p, err := serial.Open(port, &serial.Mode{BaudRate: cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("dynamixel: open %s: %w", port, err)
	}
	return newArm(p, cfg, m), nil
}

// Bus returns the arm's bus, for register access and scans (e.g. `praxis bus read`).
func (a *Arm) Bus() *Bus { return a.bus }

// Joints returns the joints in servo order.
func (a *Arm) Joints() []joint.Joint { return a.joints }

// Close closes the port. Servos keep their torque state; enable SetWatchdog so they stop
// when the host goes away.
func (a *Arm) Close() error { return a.bus.Close() }

func (a *Arm) servoError(i int, err error) ServoError {
	return ServoError{ID: a.ids[i], Joint: a.cfg.Servos[i].Joint, Status: a.status[i], Err: err}
}

// eachServo runs f for each servo, up to 1+Retries times while it times out or reads a
// corrupted reply, and collects the failures in a *TickError.
func (a *Arm) eachServo(ctx context.Context, op string, f func(i int) error) error {
	var te *TickError
	for i := range a.ids {
		var err error
		for range 1 + a.cfg.Retries {
			if err = f(i); err == nil {
				break
			}
			var se *ServoError
			if !errors.As(err, &se) || se.Err == ErrStatus || se.Err == ErrModel {
				break // not worth retrying
			}
		}
		if err != nil {
			var se *ServoError
			if !errors.As(err, &se) {
				return fmt.Errorf("dynamixel: %s: servo %d (%s): %w", op, a.ids[i], a.cfg.Servos[i].Joint, err)
			}
			if te == nil {
				te = &TickError{Op: op}
			}
			s := *se
			s.Joint = a.cfg.Servos[i].Joint
			te.Servos = append(te.Servos, s)
		}
	}
	if te != nil {
		return te
	}
	return nil
}

// Setup does connect-time setup: ping every servo (checking the model number when the
// model names one), set return delay 0 and position mode where they differ (turning
// torque off for it), write limits when cfg.WriteLimits, then hold the present position
// with torque on. It clears a latched fault. Failures are a *TickError naming the servos.
func (a *Arm) Setup(ctx context.Context) error {
	var b3 [3]byte
	var b4 [4]byte
	m := a.model
	err := a.eachServo(ctx, "setup", func(i int) error {
		id := a.ids[i]
		model, _, err := a.bus.Ping(ctx, id)
		if err != nil {
			return err
		}
		if m.Number != 0 && model != m.Number {
			return &ServoError{ID: id, Err: ErrModel}
		}
		if err := a.bus.ReadRegister(ctx, id, m.ReturnDelay, b3[:]); err != nil {
			return err
		}
		needEEPROM := b3[0] != 0 || b3[2] != dxlproto.PositionMode || a.cfg.WriteLimits
		if !needEEPROM {
			return nil
		}
		if err := a.bus.WriteRegister(ctx, id, m.TorqueEnable, []byte{0}); err != nil {
			return err
		}
		if b3[0] != 0 {
			if err := a.bus.WriteRegister(ctx, id, m.ReturnDelay, []byte{0}); err != nil {
				return err
			}
		}
		if b3[2] != dxlproto.PositionMode {
			if err := a.bus.WriteRegister(ctx, id, m.OperatingMode, []byte{dxlproto.PositionMode}); err != nil {
				return err
			}
		}
		if a.cfg.WriteLimits {
			s := a.cfg.Servos[i]
			lo, hi := s.Cal.Ticks(s.Limits.Min), s.Cal.Ticks(s.Limits.Max)
			if lo > hi {
				lo, hi = hi, lo
			}
			// Position mode accepts limits 0..Resolution−1 only (e-manual: Max/Min
			// Position Limit range 0 ~ 4,095; beyond is a Data Range Error).
			lo, hi = max(lo, 0), min(hi, s.Cal.Res()-1)
			if s.Limits.Min < s.Limits.Max {
				if err := a.bus.WriteRegister(ctx, id, m.MaxPositionLimit, put32(b4[:], hi)); err != nil {
					return err
				}
				if err := a.bus.WriteRegister(ctx, id, m.MinPositionLimit, put32(b4[:], lo)); err != nil {
					return err
				}
			}
			if s.Limits.MaxVel > 0 {
				v := dxlproto.Calibration{}.VelocityRaw(s.Limits.MaxVel, m.VelocityUnit)
				if err := a.bus.WriteRegister(ctx, id, m.VelocityLimit, put32(b4[:], v)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.bus.mu.Lock()
	a.fault = nil
	clear(a.misses)
	a.bus.mu.Unlock()
	return a.SetTorque(ctx, true)
}

func put32(b []byte, v int32) []byte {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	return b[:4]
}

func get32(b []byte) int32 {
	return int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
}

// SetTorque switches every servo's torque. On first sets each goal to its present
// position, so the arm holds still instead of jumping. Failures are a *TickError.
func (a *Arm) SetTorque(ctx context.Context, on bool) error {
	a.bus.mu.Lock()
	defer a.bus.mu.Unlock()
	if on {
		if err := a.readLocked(ctx, "torque on"); err != nil {
			return err
		}
		for i, s := range a.cfg.Servos {
			put32(a.data[4*i:], s.Cal.Ticks(a.pos[i]))
		}
		if err := a.syncWrite(a.model.GoalPosition, 4, a.data); err != nil {
			return err
		}
	}
	v := byte(0)
	if on {
		v = 1
	}
	for i := range a.ids {
		a.data[i] = v
	}
	return a.syncWrite(a.model.TorqueEnable, 1, a.data[:len(a.ids)])
}

// SetWatchdog enables the servos' bus watchdog: with no instruction for timeout (rounded
// up to 20 ms, at most 2.54 s) they stop. Zero disables it. A tripped watchdog is cleared.
func (a *Arm) SetWatchdog(ctx context.Context, timeout time.Duration) error {
	if timeout < 0 || timeout > 127*dxlproto.WatchdogUnit*time.Millisecond {
		return fmt.Errorf("dynamixel: watchdog timeout %v outside 0..2.54s", timeout)
	}
	units := byte((timeout + dxlproto.WatchdogUnit*time.Millisecond - 1) / (dxlproto.WatchdogUnit * time.Millisecond))
	a.bus.mu.Lock()
	defer a.bus.mu.Unlock()
	for i := range a.ids {
		a.data[i] = 0
	}
	if err := a.syncWrite(a.model.BusWatchdog, 1, a.data[:len(a.ids)]); err != nil {
		return err
	}
	if units == 0 {
		return nil
	}
	for i := range a.ids {
		a.data[i] = units
	}
	return a.syncWrite(a.model.BusWatchdog, 1, a.data[:len(a.ids)])
}

// syncWrite sends one sync write to every servo (no replies). Caller holds bus.mu.
func (a *Arm) syncWrite(addr, n uint16, data []byte) error {
	if err := a.bus.begin(); err != nil {
		return err
	}
	var err error
	a.bus.tx, err = dxlproto.AppendSyncWrite(a.bus.tx[:0], addr, n, a.ids, data)
	if err != nil {
		return fmt.Errorf("dynamixel: sync write: %w", err)
	}
	return a.bus.send(a.bus.tx)
}

// Command sends every goal position (rad, clamped to each joint's limits) in one sync
// write. c.Vel is ignored. It fails on a length mismatch, a NaN, a latched fault or a
// port error; it cannot see whether servos received it.
func (a *Arm) Command(ctx context.Context, c joint.Command) error {
	if len(c.Pos) != len(a.ids) {
		return fmt.Errorf("dynamixel: command has %d positions, arm has %d joints", len(c.Pos), len(a.ids))
	}
	a.bus.mu.Lock()
	defer a.bus.mu.Unlock()
	if a.fault != nil {
		return a.fault
	}
	for i, s := range a.cfg.Servos {
		q := c.Pos[i]
		if math.IsNaN(q) {
			return fmt.Errorf("dynamixel: command: joint %s: NaN position", s.Joint)
		}
		t := s.Cal.Ticks(q)
		if s.Limits.Min < s.Limits.Max {
			// Clamped, and rounded to a tick inside the limits.
			t = s.Cal.TicksWithin(s.Limits.Clamp(q), s.Limits.Min, s.Limits.Max)
		}
		put32(a.data[4*i:], t)
	}
	err := a.syncWrite(a.model.GoalPosition, 4, a.data)
	for i := range a.ids {
		a.stats.Transaction(i)
		if err != nil {
			a.stats.Error(i)
		}
	}
	return err
}

// Read fills s (resized to the joint count) with present positions (rad) and velocities
// (rad/s) from one sync read (or fast sync read), retrying servos that failed. A failed
// servo keeps its last position. Failures are a *TickError listing the servos; a servo
// silent for FaultTicks ticks latches a fault (wrapping drivers.ErrFault) until Setup.
func (a *Arm) Read(ctx context.Context, s *joint.State) error {
	a.bus.mu.Lock()
	defer a.bus.mu.Unlock()
	if a.fault != nil {
		return a.fault
	}
	err := a.readLocked(ctx, "read")
	s.Resize(len(a.ids))
	s.Time = a.cfg.Clock.Now()
	if a.cfg.PositionOnly {
		if dt := (s.Time - a.prevTime).Seconds(); a.prevTime > 0 && dt > 0 {
			for i := range a.vel {
				a.vel[i] = (a.pos[i] - a.prevPos[i]) / dt
			}
		}
		copy(a.prevPos, a.pos)
		a.prevTime = s.Time
	}
	copy(s.Pos, a.pos)
	copy(s.Vel, a.vel)
	clear(s.Eff)
	return err
}

// readLocked reads every servo, with retries, and updates pos, vel and misses.
func (a *Arm) readLocked(ctx context.Context, op string) error {
	clear(a.got)
	clear(a.why)
	clear(a.status)
	for attempt := 0; attempt <= a.cfg.Retries; attempt++ {
		a.pending = a.pending[:0]
		for i, id := range a.ids {
			if !a.got[i] {
				a.pending = append(a.pending, id)
			}
		}
		if len(a.pending) == 0 {
			break
		}
		for _, id := range a.pending {
			i := int(a.index[id])
			a.stats.Transaction(i)
			if attempt > 0 {
				a.stats.Retry(i)
			}
		}
		var err error
		if a.cfg.FastSyncRead && attempt == 0 {
			err = a.fastSyncRead(ctx)
		} else {
			err = a.syncRead(ctx)
		}
		if err != nil {
			for _, id := range a.pending {
				a.stats.Error(int(a.index[id]))
			}
			return err // transport, context or closed: not a servo's fault
		}
	}
	var te *TickError
	alerts := false
	for i := range a.ids {
		if a.got[i] {
			a.misses[i] = 0
			if a.status[i].Alert() {
				alerts = true
			}
			continue
		}
		a.misses[i]++
		a.stats.Error(i)
		if te == nil {
			te = &TickError{Op: op}
		}
		te.Servos = append(te.Servos, a.servoError(i, a.why[i]))
		if a.cfg.FaultTicks > 0 && a.misses[i] >= a.cfg.FaultTicks {
			te.Fault = true
		}
	}
	if alerts {
		var hw [1]byte
		for i := range a.ids {
			if !a.got[i] || !a.status[i].Alert() {
				continue
			}
			a.stats.Error(i)
			if te == nil {
				te = &TickError{Op: op}
			}
			se := a.servoError(i, ErrHardware)
			if err := a.bus.readRegister(ctx, a.ids[i], a.model.HardwareError, hw[:]); err == nil {
				se.Hardware = hw[0]
			}
			te.Servos = append(te.Servos, se)
		}
	}
	if te == nil {
		return nil
	}
	if te.Fault {
		a.fault = te
	}
	return te
}

func (a *Arm) store(i int, e dxlproto.StatusError, data []byte) {
	s := a.cfg.Servos[i]
	if a.cfg.PositionOnly {
		a.pos[i] = s.Cal.Radians(get32(data))
	} else {
		a.vel[i] = s.Cal.Velocity(get32(data), a.model.VelocityUnit)
		a.pos[i] = s.Cal.Radians(get32(data[4:]))
	}
	a.status[i] = e
	a.got[i] = true
	a.why[i] = nil
}

// syncRead reads the pending servos; per-servo failures land in why.
func (a *Arm) syncRead(ctx context.Context) error {
	b := a.bus
	if err := b.begin(); err != nil {
		return err
	}
	addr, n := a.readSpan()
	b.tx = dxlproto.AppendSyncRead(b.tx[:0], addr, n, a.pending)
	if err := b.send(b.tx); err != nil {
		return err
	}
	b.armTimer(b.timeout)
	defer b.timer.Stop()
	left := len(a.pending)
	for left > 0 {
		p, err := b.recv(ctx)
		switch {
		case err == ErrTimeout:
			for _, id := range a.pending {
				if i := a.index[id]; !a.got[i] && a.why[i] == nil {
					a.why[i] = ErrTimeout
				}
			}
			return nil
		case err == ErrCRC:
			if i := a.index[p.ID]; i >= 0 && !a.got[i] {
				a.why[i] = ErrCRC
			}
			continue
		case err != nil:
			return err
		}
		i := a.index[p.ID]
		if i < 0 || a.got[i] {
			continue
		}
		if len(p.Params) != int(n) {
			a.why[i] = ErrReply
			continue
		}
		if p.Error.Code() != 0 {
			a.status[i] = p.Error
			a.why[i] = ErrStatus
			left--
			continue
		}
		a.store(int(i), p.Error, p.Params)
		left--
		b.armTimer(b.timeout)
	}
	return nil
}

// fastSyncRead reads all pending servos with one combined reply.
func (a *Arm) fastSyncRead(ctx context.Context) error {
	b := a.bus
	if err := b.begin(); err != nil {
		return err
	}
	addr, span := a.readSpan()
	b.tx = dxlproto.AppendFastSyncRead(b.tx[:0], addr, span, a.pending)
	if err := b.send(b.tx); err != nil {
		return err
	}
	b.armTimer(b.timeout)
	defer b.timer.Stop()
	for {
		p, err := b.recv(ctx)
		switch {
		case err == ErrTimeout || err == ErrCRC:
			for _, id := range a.pending {
				a.why[a.index[id]] = err
			}
			return nil
		case err != nil:
			return err
		}
		if p.ID != dxlproto.BroadcastID {
			continue
		}
		n, err := dxlproto.FastCount(&p, int(span))
		if err != nil {
			for _, id := range a.pending {
				a.why[a.index[id]] = ErrReply
			}
			return nil
		}
		for k := range n {
			id, e, data, _ := dxlproto.FastSlot(&p, int(span), k)
			i := a.index[id]
			if i < 0 {
				continue
			}
			if e.Code() != 0 {
				a.status[i] = e
				a.why[i] = ErrStatus
				continue
			}
			a.store(int(i), e, data)
		}
		return nil
	}
}

var (
	_ drivers.Arm       = (*Arm)(nil)
	_ drivers.Compliant = (*Arm)(nil)
	_ drivers.Watchdog  = (*Arm)(nil)
)
