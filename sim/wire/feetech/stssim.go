// Package stssim impersonates a chain of Feetech STS3215 servos on one serial bus
// (an io.ReadWriter: a pseudo-terminal master or a net.Pipe end), so that the real
// feetech driver can be tested end to end. Each servo has a control table; goal writes
// drive a Plant (the physics), present-state reads come from it. Output is paced at the
// configured baud (10 bits per byte) plus each servo's return delay, and the host's own
// transmissions occupy the simulated wire too, so throughput matches a real half-duplex
// bus. Faults can be injected per servo: dropped, corrupted or absent replies and status
// error bits.
//
// The memory table is the STS3215's, addresses 0..86, as Feetech's SDK (SMS_STS.h) and
// LeRobot's feetech tables list it, with the STS3215's factory values. Semantics
// modelled: ping (a broadcast ping is answered by every servo, one after another, as
// LeRobot's ID set-up relies on), read, write, reg write + action, sync read (replies
// in the order of the request's IDs), sync write, recovery 0x06 (EEPROM back to factory
// values but the ID), reboot 0x08 (never answered; EEPROM reloaded from what was
// persisted, SRAM back to power-up values) and reset 0x0A (answered; no multi-turn count
// to clear); no other broadcast is answered, and unknown instructions get no reply.
// Response_Status_Level 0 answers only ping and read. A write of ID is answered from the
// old ID, then the servo answers to the new one. Homing_Offset (sign-magnitude, bit 11)
// shifts positions as LeRobot documents: Present_Position = Actual − Homing_Offset, and a
// goal G drives the actual position to G + Homing_Offset; positions wrap to one turn.
// Torque starts off; a goal written while torque is off is kept and taken up when torque
// comes on (Feetech's examples write the goal first), otherwise torque on holds the
// present position. Goals are clamped to Min/Max_Position_Limit. EEPROM registers
// (addresses below 40) take effect at once and persist (see EEPROM) only while the lock
// register (55) is 0. Read-only registers ignore writes.
package stssim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	servocal "github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Plant is the physics behind the servos: joint i is driven by Config.Servos[i]. If it
// also has SetJointTorque(i int, on bool) error, torque switching is forwarded to it.
type Plant interface {
	drivers.Reader
	drivers.Commander
}

type torquer interface {
	SetJointTorque(i int, on bool) error
}

// Servo configures one simulated servo and its calibration against the plant (the one
// servo.Calibration, with Offset the actual tick at 0 rad, before Homing_Offset):
// ticks = Offset + Direction · rad · Resolution / 2π.
type Servo struct {
	ID         byte // 0..253, unique
	Offset     int  // ticks at 0 rad
	Direction  int  // +1 or -1; 0 means +1
	Resolution int  // ticks per revolution; default 4096
}

// Config configures the bus.
type Config struct {
	Servos []Servo // servo i drives plant joint i; required
	// Baud paces the output, bits/s; default 1 000 000. It is also the baud register value.
	Baud int
	// ReturnDelay is each servo's initial return delay register (units of 2 µs); default
	// 0, which New turns into 250 (500 µs), the factory value. Use NoReturnDelay for 0.
	ReturnDelay byte
	// NoReturnDelay starts every servo with return delay 0 (as after LeRobot's set-up).
	NoReturnDelay bool
}

type servo struct {
	cfg      Servo
	tab      [ftproto.TableSize]byte
	eeprom   [ftproto.TableSize]byte
	drop     int
	corrupt  int
	silent   bool
	status   ftproto.Status
	pendAddr int // registered write, -1 when none
	pendData []byte
	goalRad  float64
	torque   bool
	goalSet  bool // a goal was written while torque was off
	cal      servocal.Calibration
}

// Bus is a simulated servo chain. Create with New, run with Serve, stop with Close.
type Bus struct {
	rw    io.ReadWriter
	plant Plant
	baud  int

	mu     sync.Mutex
	servos []*servo
	byID   [256]*servo
	state  joint.State
	cmd    joint.Command
	busy   time.Time // simulated wire busy until
	out    [ftproto.MaxPacket]byte
	count  map[byte]int // instructions handled, by instruction code

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New validates cfg and builds the bus on rw; it does no I/O. Errors name the bad field.
func New(rw io.ReadWriter, plant Plant, cfg Config) (*Bus, error) {
	if rw == nil || plant == nil {
		return nil, errors.New("stssim: nil bus or plant")
	}
	if cfg.Baud == 0 {
		cfg.Baud = 1000000
	}
	code, ok := ftproto.BaudCode(cfg.Baud)
	if !ok {
		return nil, fmt.Errorf("stssim: Config.Baud: %d has no baud code", cfg.Baud)
	}
	if len(cfg.Servos) == 0 {
		return nil, errors.New("stssim: Config.Servos: none")
	}
	rd := cfg.ReturnDelay
	if rd == 0 && !cfg.NoReturnDelay {
		rd = factory[ftproto.RegReturnDelay]
	}
	b := &Bus{rw: rw, plant: plant, baud: cfg.Baud, done: make(chan struct{}), count: map[byte]int{}}
	n := len(cfg.Servos)
	b.state = joint.NewState(n)
	b.cmd = joint.NewCommand(n)
	b.cmd.Vel = nil
	if err := plant.Read(context.Background(), &b.state); err != nil {
		return nil, fmt.Errorf("stssim: plant: %w", err)
	}
	for i, c := range cfg.Servos {
		if c.ID > ftproto.MaxID || b.byID[c.ID] != nil {
			return nil, fmt.Errorf("stssim: Config.Servos[%d].ID: %d invalid or duplicate", i, c.ID)
		}
		if c.Direction == 0 {
			c.Direction = 1
		}
		if c.Resolution == 0 {
			c.Resolution = 4096
		}
		s := &servo{cfg: c, pendAddr: -1, goalRad: b.state.Pos[i], cal: servocal.AtTick(c.Offset, c.Direction, c.Resolution)}
		t := &s.tab
		*t = factory
		t[ftproto.RegID], t[ftproto.RegBaud], t[ftproto.RegReturnDelay] = c.ID, code, rd
		ftproto.STS.PutWord(t[ftproto.RegMaxAngle:], uint16(c.Resolution-1))
		s.eeprom = *t
		b.servos = append(b.servos, s)
		b.byID[c.ID] = s
	}
	return b, nil
}

// DropNext makes servo id withhold its next n replies (it still obeys the requests).
func (b *Bus) DropNext(id byte, n int) { b.with(id, func(s *servo) { s.drop = n }) }

// CorruptNext makes servo id send its next n replies with a wrong checksum.
func (b *Bus) CorruptNext(id byte, n int) { b.with(id, func(s *servo) { s.corrupt = n }) }

// SetSilent makes servo id ignore the bus entirely (a dead or unplugged servo), or revives it.
func (b *Bus) SetSilent(id byte, silent bool) { b.with(id, func(s *servo) { s.silent = silent }) }

// SetStatus sets the error bits servo id reports in every reply and its status register.
func (b *Bus) SetStatus(id byte, st ftproto.Status) {
	b.with(id, func(s *servo) { s.status = st; s.tab[ftproto.RegStatus] = byte(st) })
}

// Register returns byte addr of servo id's control table as a read would now return it
// (present state refreshed from the plant), false for an unknown ID or address.
func (b *Bus) Register(id, addr byte) (byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.byID[id]
	if s == nil || int(addr) >= ftproto.TableSize {
		return 0, false
	}
	if b.refresh(context.Background()) != nil {
		return 0, false
	}
	return s.tab[addr], true
}

// EEPROM returns byte addr of servo id's persisted EEPROM copy, false when unknown.
func (b *Bus) EEPROM(id, addr byte) (byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.byID[id]
	if s == nil || int(addr) >= ftproto.TableSize {
		return 0, false
	}
	return s.eeprom[addr], true
}

// Count returns how many instructions with code inst the bus has handled.
func (b *Bus) Count(inst byte) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count[inst]
}

func (b *Bus) with(id byte, f func(*servo)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.byID[id]; s != nil {
		f(s)
	}
}

// Serve answers requests until ctx ends, Close is called or rw fails; it returns nil on
// ctx end or Close. Call it once.
func (b *Bus) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	b.mu.Lock()
	b.cancel = cancel
	b.mu.Unlock()
	defer close(b.done)
	defer cancel()
	dl, _ := b.rw.(interface{ SetReadDeadline(time.Time) error })
	stop := context.AfterFunc(ctx, func() {
		if dl != nil {
			dl.SetReadDeadline(time.Unix(1, 0))
		} else if c, ok := b.rw.(io.Closer); ok {
			c.Close()
		}
	})
	defer stop()
	var dec ftproto.Decoder
	for {
		n, err := b.rw.Read(dec.Space())
		now := time.Now()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, syscall.EIO) {
			// A pty master reads EIO while no one holds the slave open: wait for the
			// host to (re)open its port.
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("stssim: read: %w", err)
		}
		dec.Commit(n)
		for {
			p, ok := dec.Next()
			if !ok {
				break
			}
			// The host's packet occupied the wire for its length.
			if b.busy.Before(now) {
				b.busy = now
			}
			b.busy = b.busy.Add(b.wire(len(p.Params) + ftproto.Overhead))
			if err := b.handle(ctx, p); err != nil {
				return err
			}
		}
	}
}

// Close stops Serve and waits for it; it closes rw if rw is an io.Closer without
// SetReadDeadline. Safe to call more than once, and before Serve.
func (b *Bus) Close() error {
	b.mu.Lock()
	cancel := b.cancel
	b.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-b.done
	return nil
}

func (b *Bus) wire(nbytes int) time.Duration {
	return time.Duration(nbytes) * 10 * time.Second / time.Duration(b.baud)
}

// factory is the STS3215's memory table at power-up: the values Feetech ships (FD
// debugging software's memory table of an STS3215, firmware 3.10) at the addresses of
// Feetech's SDK (SMS_STS.h) and LeRobot's STS_SMS_SERIES_CONTROL_TABLE.
var factory = func() (t [ftproto.TableSize]byte) {
	w := func(a int, v uint16) { ftproto.STS.PutWord(t[a:], v) }
	t[ftproto.RegFirmwareMajor], t[ftproto.RegFirmwareMinor] = 3, 10
	w(ftproto.RegModel, ftproto.ModelSTS3215)
	t[ftproto.RegID], t[ftproto.RegBaud], t[ftproto.RegReturnDelay] = 1, 0, 250
	t[ftproto.RegResponseLevel] = 1
	w(ftproto.RegMinAngle, 0)
	w(ftproto.RegMaxAngle, 4095)
	t[ftproto.RegMaxTemperature], t[ftproto.RegMaxVoltage], t[ftproto.RegMinVoltage] = 70, 140, 40
	w(ftproto.RegMaxTorque, 1000)
	t[18], t[19], t[20] = 12, 44, 47 // Phase, Unloading_Condition, LED_Alarm_Condition
	t[ftproto.RegPCoefficient], t[ftproto.RegDCoefficient], t[ftproto.RegICoefficient] = 32, 32, 0
	w(24, 16)                          // Minimum_Startup_Force
	t[26], t[27] = 1, 1                // CW/CCW_Dead_Zone
	w(28, 500)                         // Protection_Current
	t[30] = 1                          // Angular_Resolution
	t[34], t[35], t[36] = 20, 200, 80  // Protective_Torque, Protection_Time, Overload_Torque
	t[37], t[38], t[39] = 10, 200, 200 // velocity P, Over_Current_Protection_Time, velocity I
	w(ftproto.RegTorqueLimit, 1000)
	t[ftproto.RegLockSTS] = 1
	t[ftproto.RegVoltage], t[ftproto.RegTemperature] = 74, 30
	t[80], t[81], t[82], t[83], t[84] = 1, 32, 1, 20, 254 // factory area
	t[ftproto.RegMaxAcceleration], t[86] = 254, 0
	return t
}()

// readOnly reports the registers a write cannot change.
func readOnly(a int) bool {
	switch {
	case a <= 4: // firmware version, model number
		return true
	case a >= ftproto.RegPresentPosition && a < ftproto.RegPresentPosition+17: // 56..72: present state
		return true
	}
	return false
}

// handle executes one host packet and sends the replies.
func (b *Bus) handle(ctx context.Context, p ftproto.Packet) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count[p.Inst]++
	switch p.Inst {
	case ftproto.InstSyncWrite:
		sw, err := ftproto.ParseSyncWrite(p.Params)
		if err != nil {
			return nil
		}
		for i := 0; i < sw.Count(); i++ {
			id, data := sw.Entry(i)
			if s := b.byID[id]; s != nil && !s.silent && int(sw.Addr)+len(data) <= ftproto.TableSize {
				b.write(s, int(sw.Addr), data)
			}
		}
		return b.apply(ctx)
	case ftproto.InstSyncRead:
		sr, err := ftproto.ParseSyncRead(p.Params)
		if err != nil || int(sr.Addr)+int(sr.Len) > ftproto.TableSize {
			return nil
		}
		if err := b.refresh(ctx); err != nil {
			return err
		}
		for _, id := range sr.IDs {
			if s := b.byID[id]; s != nil && !s.silent {
				if err := b.reply(s, s.cfg.ID, s.tab[sr.Addr:sr.Addr+sr.Len]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var targets []*servo
	if p.ID == ftproto.BroadcastID {
		for id := range ftproto.MaxID + 1 { // in ID order, as they answer a broadcast ping
			if s := b.byID[id]; s != nil && !s.silent {
				targets = append(targets, s)
			}
		}
	} else if s := b.byID[p.ID]; s != nil && !s.silent {
		targets = append(targets, s)
	}
	if len(targets) == 0 {
		return nil
	}
	answer := p.ID != ftproto.BroadcastID
	// Response_Status_Level 0: only ping and read are answered.
	acks := func(s *servo) bool { return answer && s.tab[ftproto.RegResponseLevel] != 0 }
	switch p.Inst {
	case ftproto.InstPing:
		for _, s := range targets {
			if err := b.reply(s, s.cfg.ID, nil); err != nil {
				return err
			}
		}
	case ftproto.InstRead:
		r, err := ftproto.ParseRead(p.Params)
		if err != nil || int(r.Addr)+int(r.Len) > ftproto.TableSize {
			return nil
		}
		if err := b.refresh(ctx); err != nil {
			return err
		}
		if answer {
			s := targets[0]
			return b.reply(s, s.cfg.ID, s.tab[r.Addr:r.Addr+r.Len])
		}
	case ftproto.InstWrite, ftproto.InstRegWrite:
		w, err := ftproto.ParseWrite(p.Params)
		if err != nil || int(w.Addr)+len(w.Data) > ftproto.TableSize {
			return nil
		}
		if err := b.refresh(ctx); err != nil {
			return err
		}
		from := targets[0].cfg.ID // a new ID is answered from the old one
		for _, s := range targets {
			if p.Inst == ftproto.InstWrite {
				b.write(s, int(w.Addr), w.Data)
			} else {
				s.pendAddr, s.pendData = int(w.Addr), append(s.pendData[:0], w.Data...)
			}
		}
		if err := b.apply(ctx); err != nil {
			return err
		}
		if acks(targets[0]) {
			return b.reply(targets[0], from, nil)
		}
	case ftproto.InstRecovery, ftproto.InstReset:
		// Feetech SDK Recovery / Reset: sent, then Ack (a status packet unless broadcast
		// or Response_Status_Level 0). Reset clears the multi-turn count, which this
		// position-mode model does not keep, so it changes nothing here.
		if err := b.refresh(ctx); err != nil {
			return err
		}
		if p.Inst == ftproto.InstRecovery {
			for _, s := range targets {
				b.recover(s)
			}
		}
		if acks(targets[0]) {
			return b.reply(targets[0], targets[0].cfg.ID, nil)
		}
	case ftproto.InstReboot:
		// Feetech SDK reBoot only sends: a rebooting servo never answers.
		if err := b.refresh(ctx); err != nil {
			return err
		}
		for _, s := range targets {
			b.reboot(s)
		}
		return b.apply(ctx)
	case ftproto.InstAction:
		if err := b.refresh(ctx); err != nil {
			return err
		}
		for _, s := range targets {
			if s.pendAddr >= 0 {
				b.write(s, s.pendAddr, s.pendData)
				s.pendAddr = -1
			}
		}
		if err := b.apply(ctx); err != nil {
			return err
		}
		if acks(targets[0]) {
			return b.reply(targets[0], targets[0].cfg.ID, nil)
		}
	default:
		// Any other instruction is ignored without a reply: the STS status byte has no
		// instruction-error bit to report it with (memory table, status bits).
	}
	return nil
}

// factoryTable returns s's control table as shipped: the STS3215 factory values with
// s's ID and its Max_Position_Limit one turn.
func factoryTable(s *servo) [ftproto.TableSize]byte {
	t := factory
	t[ftproto.RegID] = s.cfg.ID
	ftproto.STS.PutWord(t[ftproto.RegMaxAngle:], uint16(s.cfg.Resolution-1))
	return t
}

// recover restores s's EEPROM area (addresses below 40), live and persisted, to the
// factory values, its ID excepted (Feetech SCS protocol, RESTORE PARAMS 0x06).
func (b *Bus) recover(s *servo) {
	f := factoryTable(s)
	for a := range ftproto.RegTorqueEnable {
		if a != ftproto.RegID {
			s.tab[a], s.eeprom[a] = f[a], f[a]
		}
	}
}

// reboot restarts s: the EEPROM area is reloaded from what was persisted (writes made
// while locked are lost, an unsaved ID change reverts), the SRAM area (40 on) returns to
// its power-up values, so torque is off and Lock is 1, and a registered write is dropped.
func (b *Bus) reboot(s *servo) {
	i := b.index(s)
	copy(s.tab[:ftproto.RegTorqueEnable], s.eeprom[:ftproto.RegTorqueEnable])
	copy(s.tab[ftproto.RegTorqueEnable:], factory[ftproto.RegTorqueEnable:])
	s.tab[ftproto.RegStatus] = byte(s.status)
	s.pendAddr, s.goalSet = -1, false
	if s.torque {
		s.torque = false
		if t, ok := b.plant.(torquer); ok {
			_ = t.SetJointTorque(i, false)
		}
	}
	s.goalRad = b.state.Pos[i]
	if id := s.tab[ftproto.RegID]; id != s.cfg.ID && id <= ftproto.MaxID && b.byID[id] == nil {
		b.byID[s.cfg.ID], b.byID[id] = nil, s
		s.cfg.ID = id
	} else {
		s.tab[ftproto.RegID] = s.cfg.ID
	}
	pos := ftproto.EncodeSignMag(b.present(s, b.state.Pos[i]), ftproto.SignBitPos)
	ftproto.STS.PutWord(s.tab[ftproto.RegGoalPosition:], pos)
}

// homing returns s's Homing_Offset, ticks.
func homing(s *servo) int {
	return ftproto.DecodeSignMag(ftproto.STS.Word(s.tab[ftproto.RegHomingOffset:]), ftproto.SignBitHoming)
}

func wrap(t, res int) int { return ((t % res) + res) % res }

// present returns the Present_Position of s at plant angle rad: Actual − Homing_Offset,
// within one turn.
func (b *Bus) present(s *servo, rad float64) int {
	return wrap(int(s.cal.Ticks(rad))-homing(s), s.cfg.Resolution)
}

// goalRadians returns the plant angle a goal register value drives s to.
func (b *Bus) goalRadians(s *servo, goal int) float64 {
	res := s.cfg.Resolution
	actual := wrap(goal+homing(s), res)
	// The actual tick nearest the calibration's zero turn.
	z := int(s.cal.Zero())
	for actual-z > res/2 {
		actual -= res
	}
	for z-actual > res/2 {
		actual += res
	}
	return s.cal.Radians(int32(actual))
}

// write stores data at addr of s with register semantics. Caller has refreshed.
func (b *Bus) write(s *servo, addr int, data []byte) {
	i := b.index(s)
	for k, v := range data {
		a := addr + k
		if readOnly(a) {
			continue
		}
		s.tab[a] = v
		if a < ftproto.RegTorqueEnable && s.tab[ftproto.RegLockSTS] == 0 {
			s.eeprom[a] = v
		}
	}
	end := addr + len(data)
	if addr < ftproto.RegGoalPosition+2 && end > ftproto.RegGoalPosition {
		raw := ftproto.DecodeSignMag(ftproto.STS.Word(s.tab[ftproto.RegGoalPosition:]), ftproto.SignBitPos)
		lo := int(ftproto.STS.Word(s.tab[ftproto.RegMinAngle:]))
		hi := int(ftproto.STS.Word(s.tab[ftproto.RegMaxAngle:]))
		if lo < hi {
			raw = min(max(raw, lo), hi)
		}
		if s.torque {
			s.goalRad = b.goalRadians(s, raw)
		} else {
			s.goalSet = true
		}
	}
	if addr <= ftproto.RegTorqueEnable && end > ftproto.RegTorqueEnable {
		on := s.tab[ftproto.RegTorqueEnable] != 0
		if on && !s.torque {
			if s.goalSet {
				// A goal written while torque was off is taken up now.
				raw := ftproto.DecodeSignMag(ftproto.STS.Word(s.tab[ftproto.RegGoalPosition:]), ftproto.SignBitPos)
				s.goalRad = b.goalRadians(s, raw)
			} else {
				// Otherwise torque on holds the present position.
				s.goalRad = b.state.Pos[i]
				ftproto.STS.PutWord(s.tab[ftproto.RegGoalPosition:], ftproto.EncodeSignMag(b.present(s, s.goalRad), ftproto.SignBitPos))
			}
		}
		if !on {
			s.goalSet = false
		}
		s.torque = on
		if t, ok := b.plant.(torquer); ok {
			_ = t.SetJointTorque(i, on)
		}
	}
	if id := s.tab[ftproto.RegID]; id != s.cfg.ID && b.byID[id] == nil && id <= ftproto.MaxID {
		b.byID[s.cfg.ID], b.byID[id] = nil, s
		s.cfg.ID = id
	} else {
		s.tab[ftproto.RegID] = s.cfg.ID
	}
}

func (b *Bus) index(s *servo) int {
	for i, x := range b.servos {
		if x == s {
			return i
		}
	}
	return -1
}

// apply commands the plant with every torqued servo's goal (others hold their position).
func (b *Bus) apply(ctx context.Context) error {
	for i, s := range b.servos {
		if s.torque {
			b.cmd.Pos[i] = s.goalRad
		} else {
			b.cmd.Pos[i] = b.state.Pos[i]
		}
	}
	if err := b.plant.Command(ctx, b.cmd); err != nil {
		return fmt.Errorf("stssim: plant: %w", err)
	}
	return nil
}

// refresh reads the plant into the present-state registers.
func (b *Bus) refresh(ctx context.Context) error {
	if err := b.plant.Read(ctx, &b.state); err != nil {
		return fmt.Errorf("stssim: plant: %w", err)
	}
	for i, s := range b.servos {
		st := ftproto.STS
		k := s.cal.TickRadians()
		pos := b.present(s, b.state.Pos[i])
		st.PutWord(s.tab[ftproto.RegPresentPosition:], ftproto.EncodeSignMag(pos, ftproto.SignBitPos))
		if !s.torque && !s.goalSet {
			// With torque off the goal follows the present position, so that torque on
			// without a new goal holds still.
			st.PutWord(s.tab[ftproto.RegGoalPosition:], ftproto.EncodeSignMag(pos, ftproto.SignBitPos))
		}
		vel := int(math.Round(s.cal.Dir() * b.state.Vel[i] / k))
		st.PutWord(s.tab[ftproto.RegPresentSpeed:], ftproto.EncodeSignMag(vel, ftproto.SignBitPos))
		load := 0
		if i < len(b.state.Eff) {
			load = int(math.Round(s.cal.Dir() * b.state.Eff[i] * 1000))
		}
		st.PutWord(s.tab[ftproto.RegPresentLoad:], ftproto.EncodeSignMag(load, ftproto.SignBitLoad))
		moving := byte(0)
		if math.Abs(b.state.Vel[i]) > k {
			moving = 1
		}
		s.tab[ftproto.RegMoving] = moving
	}
	return nil
}

// reply sends one status packet of s, paced: it leaves the wire after the return delay
// and the packet's transmission time, counted from when the wire was last free.
func (b *Bus) reply(s *servo, id byte, params []byte) error {
	n, err := ftproto.EncodeStatus(b.out[:], id, s.status, params)
	if err != nil {
		return nil
	}
	b.busy = b.busy.Add(time.Duration(s.tab[ftproto.RegReturnDelay]) * 2 * time.Microsecond)
	if s.drop > 0 {
		s.drop--
		return nil
	}
	if s.corrupt > 0 {
		s.corrupt--
		b.out[n-1] ^= 0x5A
	}
	b.busy = b.busy.Add(b.wire(n))
	waitUntil(b.busy)
	if _, err := b.rw.Write(b.out[:n]); err != nil {
		return fmt.Errorf("stssim: write: %w", err)
	}
	return nil
}

// waitUntil sleeps coarsely, then yields until t: Go timers overshoot by tens of µs,
// which would cap a 1 Mbps bus well below its wire rate.
func waitUntil(t time.Time) {
	if d := time.Until(t); d > 2*time.Millisecond {
		time.Sleep(d - time.Millisecond)
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}
