// Package dxlsim impersonates a chain of Dynamixel X-series servos speaking Protocol 2.0
// on an io.ReadWriter (a pseudo-terminal master, a net.Pipe end). Each servo has a
// control table; the motion behind it comes from a Plant. Replies are paced at the
// configured baud rate (10 bits per byte) after each servo's return delay, so a driver
// on the other end sees the timing of a real bus. Faults can be injected per servo.
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
	IDs         []byte                 // servo IDs, in joint order; required
	Cal         []dxlproto.Calibration // per servo; default zero value (2048 ticks = 0 rad)
	Plant       Plant                  // required
	Model       uint16                 // model number; default 1060 (XL430-W250)
	Firmware    byte                   // firmware version; default 46
	Baud        int                    // bits/s used to pace replies; default 1 000 000
	ReturnDelay byte                   // initial return delay, units of 2 µs; default 250 (500 µs) as shipped
}

const tableSize = 256

type servo struct {
	id       byte
	reg      [tableSize]byte
	silent   bool
	drop     int
	corrupt  int
	wdTipped bool
}

// Sim is a simulated servo chain. Fault injection and inspection methods are safe to call
// while Serve runs.
type Sim struct {
	rw     io.ReadWriter
	cfg    Config
	byteT  time.Duration
	mu     sync.Mutex
	servos []*servo
	byID   map[byte]*servo
	st     joint.State
	cmd    joint.Command
	stream *dxlproto.Stream
	out    []byte
	busEnd time.Time
	lastRx time.Time
	cancel context.CancelFunc
	done   chan struct{}
	counts map[dxlproto.Instruction]int
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
	if cfg.Baud < 0 {
		return nil, fmt.Errorf("dxlsim: config: Baud %d is negative", cfg.Baud)
	}
	if cfg.ReturnDelay == 0 {
		cfg.ReturnDelay = 250
	}
	s := &Sim{
		rw: rw, cfg: cfg, byteT: time.Duration(10 * int64(time.Second) / int64(cfg.Baud)),
		byID: map[byte]*servo{}, st: joint.NewState(len(cfg.IDs)), cmd: joint.NewCommand(len(cfg.IDs)),
		stream: dxlproto.NewStream(0), out: make([]byte, 0, 4096), done: make(chan struct{}),
		counts: map[dxlproto.Instruction]int{},
	}
	for _, id := range cfg.IDs {
		if id > dxlproto.MaxID || s.byID[id] != nil {
			return nil, fmt.Errorf("dxlsim: config: ID %d invalid or repeated", id)
		}
		v := &servo{id: id}
		m := dxlproto.XSeries
		put16(v.reg[dxlproto.AddrModelNumber:], cfg.Model)
		v.reg[dxlproto.AddrFirmwareVersion] = cfg.Firmware
		v.reg[dxlproto.AddrID] = id
		v.reg[dxlproto.AddrBaudRate] = 3
		v.reg[m.ReturnDelay] = cfg.ReturnDelay
		v.reg[m.OperatingMode] = dxlproto.PositionMode
		put32(v.reg[m.MaxPositionLimit:], 4095)
		put32(v.reg[m.VelocityLimit:], 265)
		s.servos = append(s.servos, v)
		s.byID[id] = v
	}
	// Present position starts where the plant is; goal equals present.
	if err := s.refresh(context.Background()); err != nil {
		return nil, fmt.Errorf("dxlsim: plant read: %w", err)
	}
	for _, v := range s.servos {
		copy(v.reg[dxlproto.XSeries.GoalPosition:][:4], v.reg[dxlproto.XSeries.PresentPosition:][:4])
	}
	return s, nil
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }
func put32(b []byte, v int32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
func get32(b []byte) int32 {
	return int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
}

// refresh copies the plant's state into every present-value register. Caller holds mu
// (or is New).
func (s *Sim) refresh(ctx context.Context) error {
	if err := s.cfg.Plant.Read(ctx, &s.st); err != nil {
		return err
	}
	m := dxlproto.XSeries
	for i, v := range s.servos {
		c := s.cfg.Cal[i]
		put32(v.reg[m.PresentPosition:], c.Ticks(s.st.Pos[i]))
		put32(v.reg[m.PresentVelocity:], c.VelocityRaw(s.st.Vel[i], m.VelocityUnit))
	}
	return nil
}

// command sends every goal register to the plant; a servo with torque off is sent its
// present position unless the plant can make it limp itself.
func (s *Sim) command(ctx context.Context) error {
	m := dxlproto.XSeries
	_, limp := s.cfg.Plant.(TorquePlant)
	for i, v := range s.servos {
		at := m.GoalPosition
		if v.reg[m.TorqueEnable] == 0 && !limp {
			at = m.PresentPosition
		}
		s.cmd.Pos[i] = s.cfg.Cal[i].Radians(get32(v.reg[at:]))
		s.cmd.Vel[i] = 0
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
	m := dxlproto.XSeries
	tripped := false
	for _, v := range s.servos {
		wd := int8(v.reg[m.BusWatchdog])
		if wd <= 0 || s.lastRx.IsZero() || time.Since(s.lastRx) < time.Duration(wd)*dxlproto.WatchdogUnit*time.Millisecond {
			continue
		}
		// Tripped: stop where it is, refuse goal changes until cleared with 0.
		if !tripped {
			_ = s.refresh(ctx)
			tripped = true
		}
		v.reg[m.BusWatchdog] = 0xFF
		copy(v.reg[m.GoalPosition:][:4], v.reg[m.PresentPosition:][:4])
	}
	if tripped {
		_ = s.command(ctx)
	}
}

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
	instrEnd := start.Add(time.Duration(n) * s.byteT)
	s.busEnd = instrEnd
	s.out = s.out[:0]
	type span struct {
		from, to int
		at       time.Time
	}
	var spans [dxlproto.MaxID + 1]span
	ns := 0
	t := instrEnd
	// reply appends the status of v (built by f) at its due time.
	reply := func(v *servo, f func([]byte) []byte) {
		if v.silent {
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
		t = t.Add(time.Duration(v.reg[dxlproto.XSeries.ReturnDelay]) * 2 * time.Microsecond)
		spans[ns] = span{from, len(s.out), t}
		ns++
		t = t.Add(time.Duration(len(s.out)-from) * s.byteT)
	}
	status := func(v *servo) dxlproto.StatusError {
		if v.reg[dxlproto.XSeries.HardwareError] != 0 {
			return dxlproto.AlertBit
		}
		return 0
	}
	var err error
	switch p.Instruction {
	case dxlproto.InstPing:
		for _, v := range s.servos {
			if p.ID == v.id || p.ID == dxlproto.BroadcastID {
				reply(v, func(b []byte) []byte {
					return dxlproto.AppendStatus(b, v.id, status(v), []byte{v.reg[0], v.reg[1], v.reg[dxlproto.AddrFirmwareVersion]})
				})
			}
		}
	case dxlproto.InstRead:
		v := s.byID[p.ID]
		if v == nil {
			break
		}
		addr, cnt, perr := dxlproto.ParseRead(p.Params)
		if perr == nil && int(addr)+int(cnt) <= tableSize {
			err = s.refresh(ctx)
			reply(v, func(b []byte) []byte {
				return dxlproto.AppendStatus(b, v.id, status(v), v.reg[addr:addr+cnt])
			})
		} else {
			reply(v, func(b []byte) []byte {
				return dxlproto.AppendStatus(b, v.id, status(v)|dxlproto.ErrCodeDataLength, nil)
			})
		}
	case dxlproto.InstWrite:
		addr, data, perr := dxlproto.ParseWrite(p.Params)
		for _, v := range s.servos {
			if p.ID != v.id && p.ID != dxlproto.BroadcastID {
				continue
			}
			e := dxlproto.StatusError(dxlproto.ErrCodeDataLength)
			if perr == nil {
				e = s.write(ctx, v, addr, data)
			}
			if p.ID == v.id {
				reply(v, func(b []byte) []byte { return dxlproto.AppendStatus(b, v.id, status(v)|e, nil) })
			}
		}
		err = s.command(ctx)
	case dxlproto.InstSyncWrite:
		addr, cnt, k, perr := dxlproto.ParseSyncWrite(p.Params)
		if perr != nil {
			break
		}
		for j := range k {
			id, data, _ := dxlproto.SyncWriteSlot(p.Params, cnt, j)
			if v := s.byID[id]; v != nil {
				s.write(ctx, v, addr, data)
			}
		}
		err = s.command(ctx)
	case dxlproto.InstSyncRead, dxlproto.InstFastSyncRead:
		addr, cnt, ids, perr := dxlproto.ParseSyncRead(p.Params)
		if perr != nil || int(addr)+int(cnt) > tableSize {
			break
		}
		err = s.refresh(ctx)
		if p.Instruction == dxlproto.InstSyncRead {
			for _, id := range ids {
				if v := s.byID[id]; v != nil {
					reply(v, func(b []byte) []byte {
						return dxlproto.AppendStatus(b, v.id, status(v), v.reg[addr:addr+cnt])
					})
				}
			}
			break
		}
		s.fastReply(ids, addr, cnt, status, &t, func(from int, at time.Time) {
			spans[ns] = span{from, len(s.out), at}
			ns++
		})
	case dxlproto.InstBulkRead:
		k, perr := dxlproto.ParseBulkRead(p.Params)
		if perr != nil {
			break
		}
		err = s.refresh(ctx)
		for j := range k {
			it, _ := dxlproto.BulkReadItem(p.Params, j)
			v := s.byID[it.ID]
			if v == nil || int(it.Addr)+int(it.Len) > tableSize {
				continue
			}
			reply(v, func(b []byte) []byte {
				return dxlproto.AppendStatus(b, v.id, status(v), v.reg[it.Addr:it.Addr+it.Len])
			})
		}
	default:
		if v := s.byID[p.ID]; v != nil {
			reply(v, func(b []byte) []byte {
				return dxlproto.AppendStatus(b, v.id, status(v)|dxlproto.ErrCodeInstruction, nil)
			})
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
		if err := s.pace(s.out[spans[k].from:spans[k].to], spans[k].at); err != nil {
			return err
		}
	}
	return nil
}

// fastReply appends the combined fast sync read status. A silent servo cuts the packet
// short after the servos before it, as a broken chain does.
func (s *Sim) fastReply(ids []byte, addr, cnt uint16, status func(*servo) dxlproto.StatusError, t *time.Time, add func(int, time.Time)) {
	var rs [dxlproto.MaxID + 1]dxlproto.FastReply
	k := 0
	cut := -1
	corrupt := false
	for _, id := range ids {
		v := s.byID[id]
		if v == nil {
			continue
		}
		if v.silent || v.drop > 0 {
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
		rs[k] = dxlproto.FastReply{ID: id, Error: status(v), Data: v.reg[addr : addr+cnt]}
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
	v := s.byID[ids[0]]
	at := t.Add(time.Duration(v.reg[dxlproto.XSeries.ReturnDelay]) * 2 * time.Microsecond)
	add(from, at)
	*t = at.Add(time.Duration(len(s.out)-from) * s.byteT)
}

// write applies data at addr of v, with access rules; it returns the status error code.
func (s *Sim) write(ctx context.Context, v *servo, addr uint16, data []byte) dxlproto.StatusError {
	m := dxlproto.XSeries
	end := int(addr) + len(data)
	switch {
	case end > tableSize:
		return dxlproto.ErrCodeDataLength
	case int(addr) < int(dxlproto.AddrID), addr <= m.HardwareError && end > int(m.HardwareError), end > 120:
		return dxlproto.ErrCodeAccess
	case int(addr) < int(m.TorqueEnable) && v.reg[m.TorqueEnable] != 0:
		return dxlproto.ErrCodeAccess // EEPROM is locked while torque is on
	}
	if v.reg[m.BusWatchdog] == 0xFF && addr <= m.GoalPosition+3 && end > int(m.GoalPosition) &&
		!(addr == m.BusWatchdog) {
		return dxlproto.ErrCodeResultFail // goal refused until the watchdog is cleared
	}
	wasOn := v.reg[m.TorqueEnable] != 0
	copy(v.reg[addr:], data)
	on := v.reg[m.TorqueEnable] != 0
	if on != wasOn {
		if on && v.reg[m.HardwareError] != 0 {
			v.reg[m.TorqueEnable] = 0
			return dxlproto.ErrCodeResultFail
		}
		if tp, ok := s.cfg.Plant.(TorquePlant); ok {
			_ = tp.SetJointTorque(s.index(v.id), on)
		}
	}
	return 0
}

func (s *Sim) index(id byte) int {
	for i, v := range s.servos {
		if v.id == id {
			return i
		}
	}
	return -1
}

// pace writes b so that its last byte leaves no earlier than at+len(b)·byteTime: chunks
// of 16 bytes, each written when its wire time has passed.
func (s *Sim) pace(b []byte, at time.Time) error {
	const chunk = 16
	for off := 0; off < len(b); off += chunk {
		k := min(chunk, len(b)-off)
		waitUntil(at.Add(time.Duration(off+k) * s.byteT))
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
	v := s.byID[id]
	if v == nil {
		return nil, fmt.Errorf("dxlsim: no servo %d", id)
	}
	return v, nil
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
	m := dxlproto.XSeries
	v.reg[m.HardwareError] = bits
	if bits != 0 && v.reg[m.TorqueEnable] != 0 {
		v.reg[m.TorqueEnable] = 0
		if tp, ok := s.cfg.Plant.(TorquePlant); ok {
			_ = tp.SetJointTorque(s.index(id), false)
		}
	}
	return nil
}

// Register returns a copy of n bytes at addr of servo id's control table.
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
	return append([]byte(nil), v.reg[addr:int(addr)+n]...), nil
}

// Count returns how many instruction packets of kind inst were handled.
func (s *Sim) Count(inst dxlproto.Instruction) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[inst]
}
