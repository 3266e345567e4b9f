// Package dxlsim impersonates a chain of Dynamixel X-series servos speaking Protocol 2.0
// on an io.ReadWriter (a pseudo-terminal master, a net.Pipe end). Each servo has the
// model's whole control table (table.go, from the ROBOTIS e-manual) with its documented
// initial values, ranges and access rules; the motion behind it comes from a Plant.
// Replies are paced at the servo's baud rate (10 bits per byte) after its return delay,
// so a driver on the other end sees the timing of a real bus. Faults can be injected per
// servo.
//
// Behaviour, each after the e-manual (Protocol 2.0 and the X-series control table):
// status errors 0x07 (access: undefined or read-only address, EEPROM while torque is on),
// 0x05 (data length: a write that covers part of a field), 0x04 (data range), 0x06 (data
// limit: a goal beyond its limit); Status Return Level; Homing Offset (Present Position =
// actual position + Homing Offset); an ID change answered from the old ID; Reg Write and
// Action; Bulk Write; Reboot; Factory Reset (0xFF, 0x01, 0x02); Bus Watchdog; indirect addresses;
// Fast Sync Read replies never byte-stuffed. Not modelled: Drive Mode's reverse and
// time-based profile bits, operating modes other than position control (goals of other
// modes are stored only), Protocol Type 1, Secondary ID status rules beyond "no reply".
package dxlsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Plant is the physics behind the servos: joint i is the servo Config.IDs[i].
// If it also has SetJointTorque(i int, on bool) error, torque changes reach it.
type Plant interface {
	drivers.Reader
	drivers.Commander
}

// TorquePlant is a Plant that can make single joints limp.
type TorquePlant interface {
	SetJointTorque(i int, on bool) error
}

// Config configures a simulated chain. Zero fields take the stated defaults.
type Config struct {
	IDs []byte // servo IDs at power-up, in joint order; required
	// Cal maps each servo's actual (encoder) position ticks to the plant's radians, before
	// the Homing Offset the servo adds itself; default the zero value (2048 ticks = 0 rad).
	Cal      []dxlproto.Calibration
	Plant    Plant  // required
	Model    uint16 // model number: 1060 (XL430-W250, default) or 1020 (XM430-W350) tables
	Firmware byte   // firmware version; default 46
	// Baud is the Baud Rate register at power-up, bits/s (one of the X series' rates); it
	// paces the replies; default 1 000 000.
	Baud int
	// ReturnDelay is the Return Delay Time at power-up, units of 2 µs; default 250 (500 µs,
	// the factory value).
	ReturnDelay byte
	// Clock times Realtime Tick (120: ms since power-up or reboot, wrapping to 0 after
	// 32 767); default the real clock. Wire pacing always runs on real time.
	Clock clock.Clock
}

type servo struct {
	idx      int // joint index
	reg      [tableSize]byte
	rd       [tableSize]byte // reply scratch (indirect data resolved)
	silent   bool
	drop     int
	corrupt  int
	pendAddr int // registered write, -1 when none
	pendData []byte
	boot     time.Duration // Config.Clock reading at power-up or reboot
}

func (v *servo) id() byte { return v.reg[aID] }

// Sim is a simulated servo chain. Fault injection and inspection methods are safe to call
// while Serve runs.
type Sim struct {
	rw     io.ReadWriter
	cfg    Config
	lay    *layout
	mu     sync.Mutex
	servos []*servo
	st     joint.State
	cmd    joint.Command
	stream *dxlproto.Stream
	out    []byte
	busEnd time.Time
	lastRx time.Time
	cancel context.CancelFunc
	done   chan struct{}
	counts map[dxlproto.Instruction]int
	ubuf   []*servo // unicast's result, reused
}

// New validates cfg and returns a simulator on rw; it does not read rw before Serve.
func New(rw io.ReadWriter, cfg Config) (*Sim, error) {
	if len(cfg.IDs) == 0 {
		return nil, errors.New("dxlsim: config: IDs is empty")
	}
	if cfg.Plant == nil {
		return nil, errors.New("dxlsim: config: Plant is nil")
	}
	if cfg.Cal != nil && len(cfg.Cal) != len(cfg.IDs) {
		return nil, fmt.Errorf("dxlsim: config: Cal has %d entries, IDs %d", len(cfg.Cal), len(cfg.IDs))
	}
	if cfg.Cal == nil {
		cfg.Cal = make([]dxlproto.Calibration, len(cfg.IDs))
	}
	if cfg.Model == 0 {
		cfg.Model = dxlproto.ModelXL430W250
	}
	if cfg.Firmware == 0 {
		cfg.Firmware = 46
	}
	if cfg.Baud == 0 {
		cfg.Baud = 1_000_000
	}
	code, ok := BaudCode(cfg.Baud)
	if !ok {
		return nil, fmt.Errorf("dxlsim: config: Baud %d is not an X-series rate (%v)", cfg.Baud, baudRates)
	}
	if cfg.ReturnDelay == 0 {
		cfg.ReturnDelay = 250
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewReal()
	}
	if cfg.ReturnDelay == 255 {
		return nil, errors.New("dxlsim: config: ReturnDelay 255 outside 0..254")
	}
	s := &Sim{
		rw: rw, cfg: cfg, lay: newLayout(cfg.Model),
		st: joint.NewState(len(cfg.IDs)), cmd: joint.NewCommand(len(cfg.IDs)),
		stream: dxlproto.NewStream(0), out: make([]byte, 0, 4096), done: make(chan struct{}),
		counts: map[dxlproto.Instruction]int{},
	}
	seen := map[byte]bool{}
	now := cfg.Clock.Now()
	for i, id := range cfg.IDs {
		if id > dxlproto.MaxID || seen[id] {
			return nil, fmt.Errorf("dxlsim: config: ID %d invalid or repeated", id)
		}
		seen[id] = true
		v := &servo{idx: i, pendAddr: -1, boot: now}
		s.factory(v, 0xFF)
		v.reg[aID] = id
		v.reg[aBaud] = code
		v.reg[aReturnDelay] = cfg.ReturnDelay
		s.servos = append(s.servos, v)
	}
	// Present position starts where the plant is; goal equals present.
	if err := s.refresh(context.Background()); err != nil {
		return nil, fmt.Errorf("dxlsim: plant read: %w", err)
	}
	for _, v := range s.servos {
		s.powerUp(v, now)
	}
	return s, nil
}

// factory writes the factory values into v's EEPROM area; option is Factory Reset's
// parameter: 0xFF resets everything, 0x01 all but ID, 0x02 all but ID and Baud Rate.
func (s *Sim) factory(v *servo, option byte) {
	id, baud := v.reg[aID], v.reg[aBaud]
	for _, f := range s.lay.spec.fields {
		if f.rom() {
			putN(v.reg[f.addr:], f.size, f.def)
		}
	}
	putN(v.reg[aModelNumber:], 2, int64(s.lay.spec.number))
	v.reg[aFirmware] = s.cfg.Firmware
	switch option {
	case 0x01:
		v.reg[aID] = id
	case 0x02:
		v.reg[aID], v.reg[aBaud] = id, baud
	}
}

// powerUp sets v's RAM area to its initial values, as at power-on or after a reboot:
// torque off, goal at the present position. Caller holds mu (or is New) and has refreshed.
func (s *Sim) powerUp(v *servo, now time.Duration) {
	for _, f := range s.lay.spec.fields {
		if !f.rom() && !f.ro {
			putN(v.reg[f.addr:], f.size, f.def)
		}
	}
	v.reg[aRegistered], v.reg[aHardwareError] = 0, 0
	copy(v.reg[aGoalPWM:][:2], v.reg[aPWMLimit:][:2])
	if s.lay.spec.number == dxlproto.ModelXM430W350 {
		copy(v.reg[aGoalCurrent:][:2], v.reg[aCurrentLimit:][:2])
	}
	copy(v.reg[aGoalPosition:][:4], v.reg[aPresentPos:][:4])
	copy(v.reg[aPosTraj:][:4], v.reg[aPresentPos:][:4])
	v.pendAddr = -1
	v.boot = now
}

func put32(b []byte, v int32) { putN(b, 4, int64(v)) }
func get32(b []byte) int32    { return int32(getN(b, 4, true)) }

// refresh copies the plant's state into every present-value register. Caller holds mu
// (or is New).
func (s *Sim) refresh(ctx context.Context) error {
	if err := s.cfg.Plant.Read(ctx, &s.st); err != nil {
		return err
	}
	unit := dxlproto.XSeries.VelocityUnit
	now := s.cfg.Clock.Now()
	for _, v := range s.servos {
		c := s.cfg.Cal[v.idx]
		home := get32(v.reg[aHomingOffset:])
		// e-manual, Homing Offset(20): Present Position = Actual Position + Homing Offset.
		put32(v.reg[aPresentPos:], c.Ticks(s.st.Pos[v.idx])+home)
		vel := c.VelocityRaw(s.st.Vel[v.idx], unit)
		put32(v.reg[aPresentVel:], vel)
		moving := byte(0)
		if int64(abs32(vel)) > getN(v.reg[aMovingThresh:], 4, false) {
			moving = 1
		}
		v.reg[aMoving] = moving
		// e-manual, Realtime Tick(120): 1 ms units, 0..32 767, then back to 0.
		putN(v.reg[aRealtimeTick:], 2, (now-v.boot).Milliseconds()%32768)
		putN(v.reg[aPresentVolt:], 2, s.lay.spec.voltage)
		v.reg[aPresentTemp] = 30
	}
	return nil
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// command sends every goal to the plant: Goal Position − Homing Offset is the actual
// target. A servo with torque off is sent its last measured position (a plant that can
// make the joint limp ignores it).
func (s *Sim) command(ctx context.Context) error {
	for _, v := range s.servos {
		s.cmd.Vel[v.idx] = 0
		if v.reg[aTorqueEnable] == 0 {
			s.cmd.Pos[v.idx] = s.st.Pos[v.idx] // hold where it was last measured
			continue
		}
		home := get32(v.reg[aHomingOffset:])
		s.cmd.Pos[v.idx] = s.cfg.Cal[v.idx].Radians(get32(v.reg[aGoalPosition:]) - home)
		copy(v.reg[aPosTraj:][:4], v.reg[aGoalPosition:][:4])
	}
	return s.cfg.Plant.Command(ctx, s.cmd)
}

// Serve answers instructions until ctx ends or rw fails. It returns ctx.Err() or the
// read/write error. A reader goroutine stays blocked in rw.Read until rw is closed. EIO
// (a pty master whose slave is closed) is not an error: it waits for a host to open it.
func (s *Sim) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	defer close(s.done)
	defer cancel()
	type chunk struct {
		b   []byte
		err error
	}
	in := make(chan chunk, 4)
	freeBufs := make(chan []byte, 4)
	for range 4 {
		freeBufs <- make([]byte, 1024)
	}
	go func() {
		for {
			var buf []byte
			select {
			case buf = <-freeBufs:
			case <-ctx.Done():
				return
			}
			n, err := s.rw.Read(buf)
			if errors.Is(err, syscall.EIO) {
				// A pty master reads EIO while no host has the slave open: wait for one,
				// as a real servo waits for the host to reopen the port.
				freeBufs <- buf
				select {
				case <-time.After(time.Millisecond):
					continue
				case <-ctx.Done():
					return
				}
			}
			select {
			case in <- chunk{buf[:n], err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			s.mu.Lock()
			s.checkWatchdog(ctx)
			s.mu.Unlock()
		case c := <-in:
			s.stream.Write(c.b)
			freeBufs <- c.b[:cap(c.b)]
			if c.err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("dxlsim: read: %w", c.err)
			}
			for {
				p, err := s.stream.Next()
				if errors.Is(err, dxlproto.ErrShort) {
					break
				}
				if err != nil || p.Instruction == dxlproto.InstStatus {
					continue // a servo ignores corrupted packets and other servos' replies
				}
				n := len(p.Params) + dxlproto.MinPacket // wire length, ignoring stuffing
				if err := s.handle(ctx, p, n); err != nil {
					if ctx.Err() != nil {
						return ctx.Err() // closed under us while stopping
					}
					return err
				}
			}
		}
	}
}

// Close stops Serve and waits for it to return.
func (s *Sim) Close() error {
	s.mu.Lock()
	c := s.cancel
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	c()
	<-s.done
	return nil
}

func (s *Sim) checkWatchdog(ctx context.Context) {
	tripped := false
	for _, v := range s.servos {
		wd := int8(v.reg[aBusWatchdog])
		// e-manual, Bus Watchdog(98): it watches the bus only while torque is on.
		if wd <= 0 || v.reg[aTorqueEnable] == 0 || s.lastRx.IsZero() || time.Since(s.lastRx) < time.Duration(wd)*dxlproto.WatchdogUnit*time.Millisecond {
			continue
		}
		// Tripped (e-manual, Bus Watchdog(98)): stop where it is, show -1, refuse goal
		// changes until a host writes 0.
		if !tripped {
			_ = s.refresh(ctx)
			tripped = true
		}
		v.reg[aBusWatchdog] = 0xFF
		copy(v.reg[aGoalPosition:][:4], v.reg[aPresentPos:][:4])
	}
	if tripped {
		_ = s.command(ctx)
	}
}

// byteTime is the wire time of one byte at v's baud rate (10 bits).
func byteTime(v *servo) time.Duration {
	return time.Duration(10 * int64(time.Second) / int64(baudRates[v.reg[aBaud]&7]))
}

// Status Return Level (68): 0 answers ping only, 1 ping and reads, 2 every instruction.
const (
	levelPing  = 0
	levelRead  = 1
	levelWrite = 2
)

// handle executes one instruction packet of wire length n and sends the replies.
func (s *Sim) handle(ctx context.Context, p dxlproto.Packet, n int) error {
	now := time.Now()
	s.mu.Lock()
	s.lastRx = now
	s.counts[p.Instruction]++
	start := s.busEnd
	if now.After(start) {
		start = now
	}
	instrEnd := start.Add(time.Duration(n) * byteTime(s.servos[0]))
	s.busEnd = instrEnd
	s.out = s.out[:0]
	type span struct {
		from, to int
		at       time.Time
	}
	var spans [dxlproto.MaxID + 2]span
	ns := 0
	t := instrEnd
	var afterReply []func() // state changes that follow the status (reboot, reset)
	// reply appends the status of v (built by f) at its due time, if v's Status Return
	// Level allows a reply to an instruction of level lvl.
	// The Status Return Level in force when the instruction arrived decides.
	var srl [dxlproto.MaxID + 1]byte
	for _, v := range s.servos {
		srl[v.idx] = v.reg[aStatusReturn]
	}
	reply := func(v *servo, lvl byte, f func([]byte) []byte) {
		if v.silent || srl[v.idx] < lvl || ns == len(spans) {
			return
		}
		if v.drop > 0 {
			v.drop--
			return
		}
		from := len(s.out)
		s.out = f(s.out)
		if v.corrupt > 0 {
			v.corrupt--
			s.out[len(s.out)-3] ^= 0x5A
		}
		bt := byteTime(v)
		t = t.Add(time.Duration(v.reg[aReturnDelay]) * 2 * time.Microsecond)
		spans[ns] = span{from, len(s.out), t}
		ns++
		t = t.Add(time.Duration(len(s.out)-from) * bt)
	}
	status := func(v *servo) dxlproto.StatusError {
		if v.reg[aHardwareError] != 0 {
			return dxlproto.AlertBit
		}
		return 0
	}
	plain := func(v *servo, e dxlproto.StatusError, lvl byte) {
		id := v.id() // the ID the instruction reached, before any change it makes
		reply(v, lvl, func(b []byte) []byte { return dxlproto.AppendStatus(b, id, status(v)|e, nil) })
	}
	var err error
	switch p.Instruction {
	case dxlproto.InstPing:
		for _, v := range s.servos {
			if p.ID == v.id() || p.ID == dxlproto.BroadcastID {
				reply(v, levelPing, func(b []byte) []byte {
					return dxlproto.AppendStatus(b, v.id(), status(v), []byte{v.reg[0], v.reg[1], v.reg[aFirmware]})
				})
			}
		}
	case dxlproto.InstRead:
		addr, cnt, perr := dxlproto.ParseRead(p.Params)
		for _, v := range s.unicast(p.ID) {
			if perr != nil {
				plain(v, dxlproto.ErrCodeDataLength, levelRead)
				continue
			}
			if e := s.checkRead(addr, cnt); e != 0 {
				plain(v, e, levelRead)
				continue
			}
			if err == nil {
				err = s.refresh(ctx)
			}
			data := s.view(v, addr, cnt)
			reply(v, levelRead, func(b []byte) []byte { return dxlproto.AppendStatus(b, v.id(), status(v), data) })
		}
	case dxlproto.InstWrite, dxlproto.InstRegWrite:
		addr, data, perr := dxlproto.ParseWrite(p.Params)
		for _, v := range s.targets(p.ID) {
			e := dxlproto.StatusError(dxlproto.ErrCodeDataLength)
			if perr == nil {
				e = s.check(v, addr, data)
			}
			id := v.id()
			if e == 0 && p.Instruction == dxlproto.InstWrite {
				e = s.apply(v, addr, data)
			} else if e == 0 {
				v.pendAddr, v.pendData = int(addr), append(v.pendData[:0], data...)
				v.reg[aRegistered] = 1
			}
			if p.ID == id {
				reply(v, levelWrite, func(b []byte) []byte { return dxlproto.AppendStatus(b, id, status(v)|e, nil) })
			}
		}
		err = s.command(ctx)
	case dxlproto.InstAction:
		for _, v := range s.targets(p.ID) {
			id := v.id()
			var e dxlproto.StatusError = dxlproto.ErrCodeInstruction // no registered write
			if v.pendAddr >= 0 {
				e = s.check(v, uint16(v.pendAddr), v.pendData)
				if e == 0 {
					e = s.apply(v, uint16(v.pendAddr), v.pendData)
				}
				v.pendAddr, v.reg[aRegistered] = -1, 0
			}
			if p.ID == id {
				reply(v, levelWrite, func(b []byte) []byte { return dxlproto.AppendStatus(b, id, status(v)|e, nil) })
			}
		}
		err = s.command(ctx)
	case dxlproto.InstReboot:
		for _, v := range s.targets(p.ID) {
			if p.ID == v.id() {
				plain(v, 0, levelWrite)
			}
			afterReply = append(afterReply, func() { s.reboot(ctx, v) })
		}
	case dxlproto.InstFactoryReset:
		opt := byte(0)
		if len(p.Params) == 1 {
			opt = p.Params[0]
		}
		for _, v := range s.targets(p.ID) {
			var e dxlproto.StatusError
			switch {
			case len(p.Params) != 1:
				e = dxlproto.ErrCodeDataLength
			case opt != 0xFF && opt != 0x01 && opt != 0x02:
				e = dxlproto.ErrCodeDataRange
			case p.ID == dxlproto.BroadcastID && opt == 0xFF:
				// e-manual, Protocol 2.0, Factory Reset: not executed for a broadcast
				// with option 0xFF (it would give every servo ID 1).
				e = dxlproto.ErrCodeDataRange
			}
			if p.ID == v.id() {
				plain(v, e, levelWrite)
			}
			if e == 0 {
				afterReply = append(afterReply, func() {
					s.factory(v, opt)
					s.reboot(ctx, v)
				})
			}
		}
	case dxlproto.InstSyncWrite:
		addr, cnt, k, perr := dxlproto.ParseSyncWrite(p.Params)
		if perr != nil {
			break
		}
		for j := range k {
			id, data, _ := dxlproto.SyncWriteSlot(p.Params, cnt, j)
			for _, v := range s.unicast(id) {
				if s.check(v, addr, data) == 0 {
					s.apply(v, addr, data)
				}
			}
		}
		err = s.command(ctx)
	case dxlproto.InstBulkWrite:
		// e-manual, Protocol 2.0, Bulk Write: per servo [ID, address (2), length (2),
		// data]; no status packet.
		for b := p.Params; len(b) >= 5; {
			id, addr, n := b[0], uint16(b[1])|uint16(b[2])<<8, int(b[3])|int(b[4])<<8
			if len(b) < 5+n {
				break
			}
			data := b[5 : 5+n]
			for _, v := range s.unicast(id) {
				if s.check(v, addr, data) == 0 {
					s.apply(v, addr, data)
				}
			}
			b = b[5+n:]
		}
		err = s.command(ctx)
	case dxlproto.InstSyncRead, dxlproto.InstFastSyncRead:
		addr, cnt, ids, perr := dxlproto.ParseSyncRead(p.Params)
		if perr != nil {
			break
		}
		e := s.checkRead(addr, cnt)
		if e == 0 {
			err = s.refresh(ctx)
		}
		if p.Instruction == dxlproto.InstSyncRead {
			for _, id := range ids {
				for _, v := range s.unicast(id) {
					if e != 0 {
						plain(v, e, levelRead)
						continue
					}
					data := s.view(v, addr, cnt)
					reply(v, levelRead, func(b []byte) []byte {
						return dxlproto.AppendStatus(b, v.id(), status(v), data)
					})
				}
			}
			break
		}
		if e == 0 {
			s.fastReply(ids, addr, cnt, status, &t, func(from int, at time.Time) {
				spans[ns] = span{from, len(s.out), at}
				ns++
			})
		}
	case dxlproto.InstBulkRead:
		k, perr := dxlproto.ParseBulkRead(p.Params)
		if perr != nil {
			break
		}
		err = s.refresh(ctx)
		for j := range k {
			it, _ := dxlproto.BulkReadItem(p.Params, j)
			for _, v := range s.unicast(it.ID) {
				if e := s.checkRead(it.Addr, it.Len); e != 0 {
					plain(v, e, levelRead)
					continue
				}
				data := s.view(v, it.Addr, it.Len)
				reply(v, levelRead, func(b []byte) []byte {
					return dxlproto.AppendStatus(b, v.id(), status(v), data)
				})
			}
		}
	default:
		for _, v := range s.unicast(p.ID) {
			plain(v, dxlproto.ErrCodeInstruction, levelWrite)
		}
	}
	if ns > 0 {
		s.busEnd = t
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("dxlsim: plant: %w", err)
	}
	for k := range ns {
		if err := s.pace(s.out[spans[k].from:spans[k].to], spans[k].at, byteTime(s.servos[0])); err != nil {
			return err
		}
	}
	if len(afterReply) > 0 {
		s.mu.Lock()
		for _, f := range afterReply {
			f()
		}
		s.mu.Unlock()
	}
	return nil
}

// reboot restarts v: RAM back to its initial values, torque off, errors cleared; the
// EEPROM area is kept. Caller holds mu.
func (s *Sim) reboot(ctx context.Context, v *servo) {
	_ = s.refresh(ctx)
	wasOn := v.reg[aTorqueEnable] != 0
	s.powerUp(v, s.cfg.Clock.Now())
	if tp, ok := s.cfg.Plant.(TorquePlant); ok && wasOn {
		_ = tp.SetJointTorque(v.idx, false)
	}
	_ = s.command(ctx)
}

// unicast returns the servos whose ID is id (several when IDs collide, none for broadcast).
func (s *Sim) unicast(id byte) []*servo {
	out := s.ubuf[:0]
	for _, v := range s.servos {
		if v.id() == id {
			out = append(out, v)
		}
	}
	s.ubuf = out
	return out
}

// targets returns the servos an instruction to id reaches: by ID, by Secondary ID (they
// execute without replying), or all for broadcast.
func (s *Sim) targets(id byte) []*servo {
	var out []*servo
	for _, v := range s.servos {
		if id == dxlproto.BroadcastID || v.id() == id || (v.reg[aSecondaryID] <= dxlproto.MaxID && v.reg[aSecondaryID] == id) {
			out = append(out, v)
		}
	}
	return out
}

// checkRead returns the status error of a read of cnt bytes at addr: Access Error (0x07)
// when it starts at an undefined address or runs past the table (e-manual, Protocol 2.0,
// Status Packet: "read a value in an address that ... has not been defined").
func (s *Sim) checkRead(addr, cnt uint16) dxlproto.StatusError {
	if cnt == 0 {
		return dxlproto.ErrCodeDataLength
	}
	if _, ok := s.lay.at(int(addr)); !ok || int(addr)+int(cnt) > tableSize {
		return dxlproto.ErrCodeAccess
	}
	return 0
}

// view returns cnt bytes at addr of v as a read sees them (Indirect Data resolved), in
// v's scratch buffer.
func (s *Sim) view(v *servo, addr, cnt uint16) []byte {
	b := v.rd[addr : addr+cnt]
	copy(b, v.reg[addr:addr+cnt])
	end := addr + cnt
	if end > aIndData1 && addr < aIndData1+28 || end > aIndData29 {
		for a := max(addr, aIndData1); a < min(end, aIndData1+28); a++ {
			b[a-addr] = v.reg[indirect(v, a)]
		}
		for a := max(addr, aIndData29); a < min(end, aIndData29+28); a++ {
			b[a-addr] = v.reg[indirect(v, a)]
		}
	}
	return b
}

// indirect returns the address Indirect Data at a points to (Indirect Address n).
func indirect(v *servo, a uint16) uint16 {
	var at uint16
	if a >= aIndData29 {
		at = aIndAddr29 + 2*(a-aIndData29)
	} else {
		at = aIndAddr1 + 2*(a-aIndData1)
	}
	t := uint16(getN(v.reg[at:], 2, false))
	if t >= tableSize {
		return a
	}
	return t
}

func isIndirectData(a int) bool {
	return (a >= aIndData1 && a < aIndData1+28) || (a >= aIndData29 && a < aIndData29+28)
}

// check returns the status error a write of data at addr of v earns, without changing
// anything (e-manual, Protocol 2.0, Status Packet error table).
func (s *Sim) check(v *servo, addr uint16, data []byte) dxlproto.StatusError {
	end := int(addr) + len(data)
	if len(data) == 0 {
		return dxlproto.ErrCodeDataLength
	}
	torque := v.reg[aTorqueEnable] != 0
	for a := int(addr); a < end; {
		f, ok := s.lay.at(a)
		if !ok || f.ro {
			return dxlproto.ErrCodeAccess // undefined or read-only address
		}
		if f.rom() && torque {
			return dxlproto.ErrCodeAccess // EEPROM is locked while torque is on
		}
		if isIndirectData(a) {
			if t, ok := s.lay.at(int(indirect(v, uint16(a)))); !ok || t.ro || (t.rom() && torque) {
				return dxlproto.ErrCodeAccess
			}
		}
		if a != int(f.addr) || a+int(f.size) > end {
			return dxlproto.ErrCodeDataLength // part of a field
		}
		a += int(f.size)
	}
	for a := int(addr); a < end; {
		f, _ := s.lay.at(a)
		val := getN(data[a-int(addr):], f.size, f.signed)
		if f.lo <= f.hi && (val < f.lo || val > f.hi) {
			return dxlproto.ErrCodeDataRange
		}
		if e := s.checkLimit(v, f, val); e != 0 {
			return e
		}
		a += int(f.size)
	}
	return 0
}

// checkLimit applies the goal limits set by other fields: Data Limit Error (0x06).
func (s *Sim) checkLimit(v *servo, f field, val int64) dxlproto.StatusError {
	bound := func(lo, hi int64) dxlproto.StatusError {
		if val < lo || val > hi {
			return dxlproto.ErrCodeDataLimit
		}
		return 0
	}
	if f.limit != limNone && int8(v.reg[aBusWatchdog]) == -1 {
		// e-manual, Bus Watchdog(98): after a Bus Watchdog Error the goal values are read
		// only, and writing one returns a Data Range Error, until 0 is written to 98.
		return dxlproto.ErrCodeDataRange
	}
	switch f.limit {
	case limPosition:
		switch v.reg[aOperatingMode] {
		case dxlproto.PositionMode:
			return bound(getN(v.reg[aMinPosition:], 4, false), getN(v.reg[aMaxPosition:], 4, false))
		case 4, 5: // extended position, current-based position
			if val < -1048575 || val > 1048575 {
				return dxlproto.ErrCodeDataRange
			}
		}
	case limVelocity:
		l := getN(v.reg[aVelocityLimit:], 4, false)
		return bound(-l, l)
	case limPWM:
		l := getN(v.reg[aPWMLimit:], 2, false)
		return bound(-l, l)
	case limCurrent:
		l := getN(v.reg[aCurrentLimit:], 2, false)
		return bound(-l, l)
	}
	return 0
}

// apply stores a checked write and runs its side effects. Caller holds mu.
func (s *Sim) apply(v *servo, addr uint16, data []byte) dxlproto.StatusError {
	wasOn := v.reg[aTorqueEnable] != 0
	for k, b := range data {
		a := int(addr) + k
		if isIndirectData(a) {
			v.reg[indirect(v, uint16(a))] = b
		}
		v.reg[a] = b
	}
	on := v.reg[aTorqueEnable] != 0
	if on != wasOn {
		if on && v.reg[aHardwareError] != 0 {
			v.reg[aTorqueEnable] = 0
			return dxlproto.ErrCodeResultFail
		}
		if tp, ok := s.cfg.Plant.(TorquePlant); ok {
			_ = tp.SetJointTorque(v.idx, on)
		}
	}
	return 0
}

// fastReply appends the combined fast sync read status. A silent servo cuts the packet
// short after the servos before it, as a broken chain does.
func (s *Sim) fastReply(ids []byte, addr, cnt uint16, status func(*servo) dxlproto.StatusError, t *time.Time, add func(int, time.Time)) {
	var rs [dxlproto.MaxID + 1]dxlproto.FastReply
	k := 0
	cut := -1
	corrupt := false
	var first *servo
	for _, id := range ids {
		vs := s.unicast(id)
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		if first == nil {
			first = v
		}
		if v.silent || v.drop > 0 || v.reg[aStatusReturn] < levelRead {
			if v.drop > 0 {
				v.drop--
			}
			if cut < 0 {
				cut = k
			}
		}
		if v.corrupt > 0 {
			v.corrupt--
			corrupt = true
		}
		rs[k] = dxlproto.FastReply{ID: id, Error: status(v), Data: s.view(v, addr, cnt)}
		k++
	}
	if k == 0 || cut == 0 {
		return
	}
	from := len(s.out)
	s.out, _ = dxlproto.AppendFastSyncStatus(s.out, rs[:k])
	if cut > 0 {
		// keep header, instruction and the slots before the silent servo
		s.out = s.out[:from+dxlproto.HeaderLen+1+cut*(int(cnt)+4)]
	}
	if corrupt {
		s.out[len(s.out)-3] ^= 0x5A
	}
	at := t.Add(time.Duration(first.reg[aReturnDelay]) * 2 * time.Microsecond)
	add(from, at)
	*t = at.Add(time.Duration(len(s.out)-from) * byteTime(first))
}

// pace writes b so that its last byte leaves no earlier than at+len(b)·bt: chunks
// of 16 bytes, each written when its wire time has passed.
func (s *Sim) pace(b []byte, at time.Time, bt time.Duration) error {
	const chunk = 16
	for off := 0; off < len(b); off += chunk {
		k := min(chunk, len(b)-off)
		waitUntil(at.Add(time.Duration(off+k) * bt))
		if _, err := s.rw.Write(b[off : off+k]); err != nil {
			return fmt.Errorf("dxlsim: write: %w", err)
		}
	}
	return nil
}

// waitUntil sleeps most of the way, then spins: Go timers overshoot by tens of µs.
func waitUntil(t time.Time) {
	d := time.Until(t)
	if d > 300*time.Microsecond {
		time.Sleep(d - 200*time.Microsecond)
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}

func (s *Sim) servo(id byte) (*servo, error) {
	vs := s.unicast(id)
	if len(vs) == 0 {
		return nil, fmt.Errorf("dxlsim: no servo %d", id)
	}
	return vs[0], nil
}

// DropNextReplies makes servo id skip its next n replies (a lost packet).
func (s *Sim) DropNextReplies(id byte, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.servo(id)
	if err == nil {
		v.drop = n
	}
	return err
}

// CorruptNextReplies makes servo id flip bits in its next n replies (CRC mismatch).
func (s *Sim) CorruptNextReplies(id byte, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.servo(id)
	if err == nil {
		v.corrupt = n
	}
	return err
}

// SetSilent makes servo id stop (true) or resume (false) answering.
func (s *Sim) SetSilent(id byte, silent bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.servo(id)
	if err == nil {
		v.silent = silent
	}
	return err
}

// SetHardwareError sets servo id's Hardware Error Status bits (dxlproto.HW*); non-zero
// raises the alert bit in its statuses and switches its torque off, as the shutdown
// settings of a real servo do. Zero clears it (a reboot, on real hardware).
func (s *Sim) SetHardwareError(id byte, bits byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.servo(id)
	if err != nil {
		return err
	}
	v.reg[aHardwareError] = bits
	if bits != 0 && v.reg[aTorqueEnable] != 0 {
		v.reg[aTorqueEnable] = 0
		if tp, ok := s.cfg.Plant.(TorquePlant); ok {
			_ = tp.SetJointTorque(v.idx, false)
		}
	}
	return nil
}

// Register returns a copy of n bytes at addr of the control table of the servo whose ID
// is now id, as a read would return them.
func (s *Sim) Register(id byte, addr uint16, n int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.servo(id)
	if err != nil {
		return nil, err
	}
	if int(addr)+n > tableSize || n < 0 {
		return nil, fmt.Errorf("dxlsim: register %d+%d out of range", addr, n)
	}
	if err := s.refresh(context.Background()); err != nil {
		return nil, fmt.Errorf("dxlsim: plant: %w", err)
	}
	return append([]byte(nil), s.view(v, addr, uint16(n))...), nil
}

// Count returns how many instruction packets of kind inst were handled.
func (s *Sim) Count(inst dxlproto.Instruction) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[inst]
}
