// Package stssim impersonates a chain of Feetech STS3215 servos on one serial bus
// (an io.ReadWriter: a pseudo-terminal master or a net.Pipe end), so that the real
// feetech driver can be tested end to end. Each servo has a control table; goal writes
// drive a Plant (the physics), present-state reads come from it. Output is paced at the
// configured baud (10 bits per byte) plus each servo's return delay, and the host's own
// transmissions occupy the simulated wire too, so throughput matches a real half-duplex
// bus. Faults can be injected per servo: dropped, corrupted or absent replies and status
// error bits.
//
// Semantics modelled: ping, read, write, reg write + action, sync read (replies in the
// order of the request's IDs), sync write; no reply to broadcast. Torque starts off;
// goal writes while torque is off are stored but do not move the plant; torque on holds
// the present position. EEPROM registers (addresses below 40) take effect at once and
// persist (see EEPROM) only while the lock register is 0.
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

// Servo configures one simulated servo and its calibration against the plant:
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
	// ReturnDelay is each servo's initial return delay register (units of 2 µs); default 0.
	ReturnDelay byte
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
		s := &servo{cfg: c, pendAddr: -1, goalRad: b.state.Pos[i]}
		t := &s.tab
		t[ftproto.RegFirmwareMajor], t[ftproto.RegFirmwareMinor] = 3, 10
		ftproto.STS.PutWord(t[ftproto.RegModel:], ftproto.ModelSTS3215)
		t[ftproto.RegID], t[ftproto.RegBaud], t[ftproto.RegReturnDelay] = c.ID, code, cfg.ReturnDelay
		ftproto.STS.PutWord(t[ftproto.RegMinAngle:], 0)
		ftproto.STS.PutWord(t[ftproto.RegMaxAngle:], uint16(c.Resolution-1))
		t[ftproto.RegLockSTS] = 1
		t[ftproto.RegVoltage], t[ftproto.RegTemperature] = 74, 30
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

// Register returns byte addr of servo id's control table, false for an unknown ID or address.
func (b *Bus) Register(id, addr byte) (byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.byID[id]
	if s == nil || int(addr) >= ftproto.TableSize {
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
			if s := b.byID[id]; s != nil && !s.silent {
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
				if err := b.reply(s, s.tab[sr.Addr:sr.Addr+sr.Len]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var targets []*servo
	if p.ID == ftproto.BroadcastID {
		for _, s := range b.servos {
			if !s.silent {
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
	switch p.Inst {
	case ftproto.InstPing:
		if answer {
			return b.reply(targets[0], nil)
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
			return b.reply(s, s.tab[r.Addr:r.Addr+r.Len])
		}
	case ftproto.InstWrite, ftproto.InstRegWrite:
		w, err := ftproto.ParseWrite(p.Params)
		if err != nil || int(w.Addr)+len(w.Data) > ftproto.TableSize {
			return nil
		}
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
		if answer {
			return b.reply(targets[0], nil)
		}
	case ftproto.InstAction:
		for _, s := range targets {
			if s.pendAddr >= 0 {
				b.write(s, s.pendAddr, s.pendData)
				s.pendAddr = -1
			}
		}
		return b.apply(ctx)
	}
	return nil
}

// write stores data at addr of s with register semantics.
func (b *Bus) write(s *servo, addr int, data []byte) {
	i := b.index(s)
	for k, v := range data {
		a := addr + k
		switch a {
		case ftproto.RegModel, ftproto.RegModel + 1, ftproto.RegFirmwareMajor, ftproto.RegFirmwareMinor,
			ftproto.RegStatus, ftproto.RegMoving:
			continue // read-only
		}
		if a >= ftproto.RegPresentPosition && a < ftproto.RegStatus {
			continue // present-state registers are read-only
		}
		s.tab[a] = v
		if a < ftproto.RegTorqueEnable && s.tab[ftproto.RegLockSTS] == 0 {
			s.eeprom[a] = v
		}
	}
	end := addr + len(data)
	if addr <= ftproto.RegTorqueEnable && end > ftproto.RegTorqueEnable {
		on := s.tab[ftproto.RegTorqueEnable] != 0
		if on && !s.torque {
			// Torque on holds the present position.
			s.goalRad = b.state.Pos[i]
			ftproto.STS.PutWord(s.tab[ftproto.RegGoalPosition:], ftproto.EncodeSignMag(b.ticks(s, s.goalRad), ftproto.SignBitPos))
		}
		s.torque = on
		if t, ok := b.plant.(torquer); ok {
			_ = t.SetJointTorque(i, on)
		}
	}
	if addr < ftproto.RegGoalPosition+2 && end > ftproto.RegGoalPosition {
		raw := ftproto.DecodeSignMag(ftproto.STS.Word(s.tab[ftproto.RegGoalPosition:]), ftproto.SignBitPos)
		lo := int(ftproto.STS.Word(s.tab[ftproto.RegMinAngle:]))
		hi := int(ftproto.STS.Word(s.tab[ftproto.RegMaxAngle:]))
		if lo < hi {
			raw = min(max(raw, lo), hi)
		}
		if s.torque {
			s.goalRad = float64(s.cfg.Direction*(raw-s.cfg.Offset)) * 2 * math.Pi / float64(s.cfg.Resolution)
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

func (b *Bus) ticks(s *servo, rad float64) int {
	return int(math.Round(rad*float64(s.cfg.Resolution)/(2*math.Pi)))*s.cfg.Direction + s.cfg.Offset
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
		k := 2 * math.Pi / float64(s.cfg.Resolution)
		st.PutWord(s.tab[ftproto.RegPresentPosition:], ftproto.EncodeSignMag(b.ticks(s, b.state.Pos[i]), ftproto.SignBitPos))
		st.PutWord(s.tab[ftproto.RegPresentSpeed:], ftproto.EncodeSignMag(int(math.Round(float64(s.cfg.Direction)*b.state.Vel[i]/k)), ftproto.SignBitPos))
		load := 0
		if i < len(b.state.Eff) {
			load = int(math.Round(float64(s.cfg.Direction) * b.state.Eff[i] * 1000))
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
func (b *Bus) reply(s *servo, params []byte) error {
	n, err := ftproto.EncodeStatus(b.out[:], s.cfg.ID, s.status, params)
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
