// Package fwlink is the host side of a firmware-bridge session (PROTOCOL.md) over any
// io.ReadWriteCloser: sequence numbers, request/reply matching, heartbeats, counters, and
// re-handshake when the board resets. One request is in flight at a time; requests from
// several goroutines are serialised. Requests allocate nothing.
package fwlink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	fwwire "github.com/praxis-robotics/praxis/firmware-bridge/wire"
)

// Errors callers branch on.
var (
	ErrTimeout  = errors.New("fwlink: no reply")
	ErrClosed   = errors.New("fwlink: closed")
	ErrRejected = errors.New("fwlink: rejected by the device")
	ErrVersion  = errors.New("fwlink: protocol version mismatch")
	// ErrBoardTimeout: the board's heartbeat timeout fired during the session (it heard
	// nothing valid for Config.FirmwareTimeout and detached or held the servos). The request
	// that learns of it fails with it once, and every Command fails with it until Enable or
	// a handshake (Handshake, or the driver's Setup) resumes.
	ErrBoardTimeout = errors.New("fwlink: board heartbeat timeout")
)

// Config configures New. Zero fields take the stated defaults.
//
// With heartbeats and the firmware timeout on, ReplyTimeout + 2 × Heartbeat must be
// shorter than FirmwareTimeout: the link holds the request slot while it waits for a reply,
// so when one frame is lost the board hears nothing for up to one idle gap (at most
// Heartbeat), the reply wait and another idle gap; one lost frame must never trip the
// board (PROTOCOL.md section 3). With heartbeats off the caller paces the link and owns
// that rule.
type Config struct {
	ReplyTimeout    time.Duration // wait for a reply; default DefaultReplyTimeout (100 ms, less for short firmware timeouts)
	Heartbeat       time.Duration // the longest the link stays silent while idle (it polls); default 50 ms; negative: never
	FirmwareTimeout time.Duration // the board stops the servos after this much silence; default 250 ms; negative: off
	TimeoutAction   fwwire.Action // what the board does on timeout; default Detach
}

// Counters are the host side's link counters.
type Counters struct {
	TxFrames   uint64 // frames sent
	RxFrames   uint64 // valid frames received
	CRCErrors  uint64 // frames dropped for a bad CRC
	Framing    uint64 // frames dropped for bad COBS, length or type
	Lost       uint64 // device frames missing by sequence number
	Dups       uint64 // device frames received twice
	Stale      uint64 // replies that matched no request in flight (late or duplicated)
	Timeouts   uint64 // requests that got no reply in time
	Faults     uint64 // FAULT frames received
	Resets     uint64 // board resets seen (FAULT reset, or NOT_READY)
	Handshakes uint64 // completed handshakes
	Overflow   uint64 // received frames dropped because nobody was waiting
	// BoardTimeouts counts the board's heartbeat timeouts that fired while the session
	// drove servos (FAULT heartbeat timeout or the STATE timed-out flag), each reported once
	// as ErrBoardTimeout.
	BoardTimeouts uint64
}

type counters struct {
	tx, rx, crc, framing, lost, dups, stale, timeouts, faults, resets, handshakes, overflow, boardTimeouts atomic.Uint64
}

// Link is one session with a board. Safe for concurrent use.
type Link struct {
	rw  io.ReadWriteCloser
	cfg Config

	mu       sync.Mutex // one request in flight; guards the fields below
	seq      uint8
	txbuf    []byte
	timer    *time.Timer
	caps     fwwire.Caps
	session  bool  // handshake done and no reset seen since
	mask     uint8 // enable mask the host wants
	needMask bool  // re-send the mask with the next COMMAND
	armed    bool  // the board drives servos for this session: a heartbeat timeout now is a fault
	halted   bool  // a board timeout was reported: Command fails until Enable or a handshake
	req      fwwire.Frame

	frames    chan fwwire.Frame
	lastTx    atomic.Int64 // UnixNano of the last frame sent
	lastRx    atomic.Uint32
	resetSeen atomic.Bool
	lastFault atomic.Uint32 // code<<8 | detail of the last FAULT
	boardTO   atomic.Bool   // a FAULT heartbeat timeout arrived and was not yet looked at
	c         counters

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New starts a session on rw (already open). It sends nothing until Handshake.
func New(rw io.ReadWriteCloser, cfg Config) (*Link, error) {
	if rw == nil {
		return nil, errors.New("fwlink: nil port")
	}
	if cfg.ReplyTimeout < 0 {
		return nil, fmt.Errorf("fwlink: ReplyTimeout %v must not be negative", cfg.ReplyTimeout)
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 50 * time.Millisecond
	}
	if cfg.FirmwareTimeout == 0 {
		cfg.FirmwareTimeout = 250 * time.Millisecond
	}
	if cfg.ReplyTimeout == 0 {
		cfg.ReplyTimeout = DefaultReplyTimeout(cfg.FirmwareTimeout, cfg.Heartbeat)
	}
	if cfg.FirmwareTimeout > 65535*time.Millisecond {
		return nil, fmt.Errorf("fwlink: FirmwareTimeout %v above 65.535 s", cfg.FirmwareTimeout)
	}
	if cfg.TimeoutAction > fwwire.Hold {
		return nil, fmt.Errorf("fwlink: TimeoutAction %d is neither Detach nor Hold", cfg.TimeoutAction)
	}
	if cfg.Heartbeat > 0 && cfg.FirmwareTimeout > 0 && cfg.Heartbeat >= cfg.FirmwareTimeout {
		return nil, fmt.Errorf("fwlink: Heartbeat %v must be shorter than FirmwareTimeout %v", cfg.Heartbeat, cfg.FirmwareTimeout)
	}
	if cfg.Heartbeat > 0 && cfg.FirmwareTimeout > 0 && cfg.ReplyTimeout+2*cfg.Heartbeat >= cfg.FirmwareTimeout {
		return nil, fmt.Errorf("fwlink: ReplyTimeout %v plus twice Heartbeat %v must be shorter than FirmwareTimeout %v (one lost frame would trip the board)",
			cfg.ReplyTimeout, cfg.Heartbeat, cfg.FirmwareTimeout)
	}
	l := &Link{rw: rw, cfg: cfg, txbuf: make([]byte, 0, fwwire.MaxEncoded),
		frames: make(chan fwwire.Frame, 16), stop: make(chan struct{})}
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
	l.wg.Add(1)
	go l.reader()
	if cfg.Heartbeat > 0 {
		l.wg.Add(1)
		go l.heartbeat()
	}
	return l, nil
}

// reader decodes frames from the port and hands them to the request in flight.
func (l *Link) reader() {
	defer l.wg.Done()
	var d fwwire.Decoder
	var f fwwire.Frame
	buf := make([]byte, 256)
	have := false
	var last uint8
	for {
		n, err := l.rw.Read(buf)
		for p := buf[:n]; len(p) > 0; {
			k, done, derr := d.Feed(p, &f)
			p = p[k:]
			if !done {
				continue
			}
			switch {
			case errors.Is(derr, fwwire.ErrCRC):
				l.c.crc.Add(1)
				continue
			case derr != nil:
				l.c.framing.Add(1)
				continue
			}
			l.c.rx.Add(1)
			if f.Type == fwwire.Fault {
				l.c.faults.Add(1)
				l.lastFault.Store(uint32(f.Code)<<8 | uint32(f.Detail))
				if f.Code == fwwire.Timeout {
					l.boardTO.Store(true)
				}
				if f.Code == fwwire.Reset {
					l.c.resets.Add(1)
					l.resetSeen.Store(true)
					have = false
				}
			}
			if have && f.Seq == last {
				l.c.dups.Add(1)
				continue
			}
			if have {
				l.c.lost.Add(uint64(f.Seq - last - 1))
			}
			have, last = true, f.Seq
			l.lastRx.Store(uint32(f.Seq))
			select {
			case l.frames <- f:
			default:
				l.c.overflow.Add(1)
			}
		}
		if err != nil {
			select {
			case <-l.stop:
				return
			default:
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return
			}
			// A pty with no peer reports EIO; wait for the port to come back.
			select {
			case <-l.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// DefaultReplyTimeout is the reply timeout a zero Config.ReplyTimeout takes: 100 ms, or
// two thirds of firmwareTimeout − 2 × heartbeat when that is less (the last third is the
// margin for scheduling delays); with the heartbeat or the firmware timeout off, 100 ms.
func DefaultReplyTimeout(firmwareTimeout, heartbeat time.Duration) time.Duration {
	d := 100 * time.Millisecond
	if heartbeat > 0 && firmwareTimeout > 0 {
		if room := firmwareTimeout - 2*heartbeat; room > 0 {
			d = min(d, room*2/3)
		}
	}
	return d
}

// heartbeat polls the board once nothing has been sent for 3/4 of cfg.Heartbeat, checking
// every quarter period, so the link is never silent for longer than cfg.Heartbeat while
// idle (scheduling delays aside).
func (l *Link) heartbeat() {
	defer l.wg.Done()
	t := time.NewTicker(l.cfg.Heartbeat / 4)
	defer t.Stop()
	var st fwwire.Frame
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		live := l.session
		l.mu.Unlock()
		if !live || time.Since(time.Unix(0, l.lastTx.Load())) < l.cfg.Heartbeat*3/4 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.cfg.ReplyTimeout)
		_ = l.Poll(ctx, &st)
		cancel()
	}
}

// transact sends l.req and waits for the reply of type want (ACK also ends the wait).
// Called with l.mu held.
func (l *Link) transact(ctx context.Context, want fwwire.Type, reply *fwwire.Frame) error {
	select {
	case <-l.stop:
		return ErrClosed
	default:
	}
	// Anything queued now answers an older request.
	for drained := false; !drained; {
		select {
		case <-l.frames:
			l.c.stale.Add(1)
		default:
			drained = true
		}
	}
	l.req.Seq = l.seq
	l.seq++
	l.req.Ack = uint8(l.lastRx.Load())
	buf, err := fwwire.Append(l.txbuf[:0], &l.req)
	if err != nil {
		return fmt.Errorf("fwlink: %w", err)
	}
	if _, err := l.rw.Write(buf); err != nil {
		return fmt.Errorf("fwlink: write: %w", err)
	}
	l.c.tx.Add(1)
	l.lastTx.Store(time.Now().UnixNano())
	l.timer.Reset(l.cfg.ReplyTimeout)
	defer l.timer.Stop()
	for {
		select {
		case f := <-l.frames:
			if f.Ack != l.req.Seq || f.Type == fwwire.Fault {
				if f.Type != fwwire.Fault {
					l.c.stale.Add(1)
				}
				if f.Type == fwwire.Fault && f.Code == fwwire.Reset {
					l.session = false
				}
				continue
			}
			if f.Type == fwwire.Ack && f.Code == fwwire.NotReady {
				if l.session {
					l.c.resets.Add(1)
				}
				l.session = false
				return fmt.Errorf("%w: %s before handshake", ErrRejected, l.req.Type)
			}
			if f.Type == fwwire.Ack && f.Code != fwwire.OK {
				return fmt.Errorf("%w: %s: %s (detail %d)", ErrRejected, l.req.Type, f.Code, f.Detail)
			}
			if f.Type != want {
				l.c.stale.Add(1)
				continue
			}
			*reply = f
			return nil
		case <-l.timer.C:
			l.c.timeouts.Add(1)
			return fmt.Errorf("%w: %s seq %d within %v", ErrTimeout, l.req.Type, l.req.Seq, l.cfg.ReplyTimeout)
		case <-ctx.Done():
			return fmt.Errorf("fwlink: %s: %w", l.req.Type, ctx.Err())
		case <-l.stop:
			return ErrClosed
		}
	}
}

// Handshake says HELLO, checks the version and sends the heartbeat configuration. It
// returns the board's capabilities.
func (l *Link) Handshake(ctx context.Context) (fwwire.Caps, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.handshake(ctx)
	return l.caps, err
}

// Hello says HELLO (repeating it until the board answers or ctx ends) and returns the
// board's capabilities, without configuring anything: for discovery.
func (l *Link) Hello(ctx context.Context) (fwwire.Caps, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.hello(ctx)
	return l.caps, err
}

func (l *Link) hello(ctx context.Context) error {
	l.resetSeen.Store(false)
	var r fwwire.Frame
	// A board that has just reset may still be in its bootloader: say HELLO until it
	// answers or ctx ends.
	var err error
	for {
		l.req = fwwire.Frame{Type: fwwire.Hello, Version: fwwire.Version}
		err = l.transact(ctx, fwwire.HelloAck, &r)
		if !errors.Is(err, ErrTimeout) || ctx.Err() != nil {
			break
		}
		if _, ok := ctx.Deadline(); !ok {
			break
		}
	}
	if err != nil {
		if errors.Is(err, ErrRejected) {
			return fmt.Errorf("%w: host speaks %d: %v", ErrVersion, fwwire.Version, err)
		}
		return err
	}
	// Frames arrive in order: a FAULT reset seen so far predates this HELLO_ACK.
	l.resetSeen.Store(false)
	if r.Version != fwwire.Version {
		return fmt.Errorf("%w: board speaks %d, host %d", ErrVersion, r.Version, fwwire.Version)
	}
	if r.Caps.Joints < 1 || r.Caps.Joints > fwwire.MaxJoints {
		return fmt.Errorf("fwlink: board reports %d joints", r.Caps.Joints)
	}
	l.caps = r.Caps
	return nil
}

func (l *Link) handshake(ctx context.Context) error {
	if err := l.hello(ctx); err != nil {
		return err
	}
	var r fwwire.Frame
	ms := uint16(0)
	if l.cfg.FirmwareTimeout > 0 {
		ms = uint16(l.cfg.FirmwareTimeout / time.Millisecond)
	}
	// CONFIG is idempotent: on a lost reply say it again until ctx ends (without a
	// deadline: once), as HELLO is repeated.
	for {
		l.req = fwwire.Frame{Type: fwwire.Config, Timeout: ms, Action: l.cfg.TimeoutAction}
		err := l.transact(ctx, fwwire.Ack, &r)
		if err == nil {
			break
		}
		if _, ok := ctx.Deadline(); !ok || !errors.Is(err, ErrTimeout) || ctx.Err() != nil {
			return err
		}
	}
	l.caps.TimeoutMs = ms
	l.session = true
	l.needMask = true
	// A timeout that fired before this handshake belongs to an earlier session; this one
	// drives no servo until its first COMMAND or ENABLE.
	l.boardTO.Store(false)
	l.armed, l.halted = false, false
	l.c.handshakes.Add(1)
	return nil
}

// ensure re-handshakes if the board has reset. Called with l.mu held.
func (l *Link) ensure(ctx context.Context) error {
	if l.resetSeen.Load() {
		l.session = false
	}
	if l.session {
		return nil
	}
	return l.handshake(ctx)
}

// do runs one request, re-handshaking and retrying once if the board had reset.
func (l *Link) do(ctx context.Context, fill func(), want fwwire.Type, reply *fwwire.Frame) error {
	if err := l.ensure(ctx); err != nil {
		return err
	}
	fill()
	err := l.transact(ctx, want, reply)
	if err != nil && !l.session {
		if herr := l.handshake(ctx); herr != nil {
			return herr
		}
		fill()
		err = l.transact(ctx, want, reply)
	}
	return err
}

// Caps returns the capabilities from the last handshake.
func (l *Link) Caps() fwwire.Caps {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.caps
}

// Enable sets which joints are driven (bit i: joint i). The mask is re-sent after a
// board reset with the next Command, never on its own.
func (l *Link) Enable(ctx context.Context, mask uint8) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mask = mask
	var r fwwire.Frame
	err := l.do(ctx, func() { l.req = fwwire.Frame{Type: fwwire.Enable, Mask: mask} }, fwwire.Ack, &r)
	if err == nil {
		// ENABLE cleared the board's timed-out flag: a timeout from now on is this
		// session's fault, when there are servos to stop.
		l.needMask = false
		l.boardTO.Store(false)
		l.armed, l.halted = mask != 0, false
	}
	return err
}

// boardTimedOut reports a heartbeat timeout of the board (a FAULT heartbeat timeout, or
// the timed-out flag of st) while the session drove servos: once, counted, as an error
// wrapping ErrBoardTimeout; the link is then halted. Called with l.mu held.
func (l *Link) boardTimedOut(st *fwwire.Frame) error {
	fired := l.boardTO.Swap(false) || st.Flags&fwwire.FlagTimedOut != 0
	if !fired || !l.armed {
		return nil
	}
	l.armed, l.halted = false, true
	l.c.boardTimeouts.Add(1)
	what := "detached"
	if l.cfg.TimeoutAction == fwwire.Hold {
		what = "held"
	}
	return fmt.Errorf("%w: the board heard nothing valid for its %v timeout and %s the servos; enable them again to resume",
		ErrBoardTimeout, l.cfg.FirmwareTimeout, what)
}

// Command sends pulse widths (µs, one per board joint) and optional slew limits (µs/s,
// nil: none) and fills st with the STATE reply.
func (l *Link) Command(ctx context.Context, pulse, slew []uint16, st *fwwire.Frame) error {
	if len(pulse) < 1 || len(pulse) > fwwire.MaxJoints || (slew != nil && len(slew) != len(pulse)) {
		return fmt.Errorf("fwlink: command with %d pulses and %d slew rates", len(pulse), len(slew))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.halted {
		return fmt.Errorf("%w: servos stopped since the board timed out; enable them again (Enable, a handshake or the driver's Setup)", ErrBoardTimeout)
	}
	fill := func() {
		l.req = fwwire.Frame{Type: fwwire.Command, N: uint8(len(pulse))}
		copy(l.req.Pos[:], pulse)
		if slew != nil {
			l.req.Flags = fwwire.FlagSlew
			copy(l.req.Vel[:], slew)
		}
	}
	if err := l.do(ctx, fill, fwwire.State, st); err != nil {
		return err
	}
	if err := l.boardTimedOut(st); err != nil {
		return err
	}
	// After a board reset (a new handshake) the board drives fewer joints than the host
	// wants: enable them again now that they have a target. A heartbeat timeout during
	// the session is never ridden through this way: boardTimedOut reported it above.
	if l.needMask || st.Mask != l.mask {
		var r fwwire.Frame
		l.req = fwwire.Frame{Type: fwwire.Enable, Mask: l.mask}
		if err := l.transact(ctx, fwwire.Ack, &r); err != nil {
			return err
		}
		st.Mask = l.mask
	}
	l.needMask = false
	l.armed = l.mask != 0
	return nil
}

// Poll sends a HEARTBEAT and fills st with the STATE reply.
func (l *Link) Poll(ctx context.Context, st *fwwire.Frame) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.do(ctx, func() { l.req = fwwire.Frame{Type: fwwire.Heartbeat} }, fwwire.State, st); err != nil {
		return err
	}
	return l.boardTimedOut(st)
}

// Resume ends the halt after a board timeout without sending anything: the next Command
// then enables the servos again at its widths (Enable does the same at the current ones).
func (l *Link) Resume() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.halted = false
}

// Configure changes the firmware timeout (0: off) and action on the board.
func (l *Link) Configure(ctx context.Context, timeout time.Duration, action fwwire.Action) error {
	if timeout < 0 || timeout > 65535*time.Millisecond || action > fwwire.Hold {
		return fmt.Errorf("fwlink: firmware timeout %v / action %d out of range", timeout, action)
	}
	if h := l.cfg.Heartbeat; timeout > 0 && h > 0 && l.cfg.ReplyTimeout+2*h >= timeout {
		return fmt.Errorf("fwlink: firmware timeout %v must exceed ReplyTimeout %v plus twice Heartbeat %v (one lost frame would trip the board)",
			timeout, l.cfg.ReplyTimeout, h)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg.FirmwareTimeout, l.cfg.TimeoutAction = timeout, action
	if timeout == 0 {
		l.cfg.FirmwareTimeout = -1
	}
	var r fwwire.Frame
	return l.do(ctx, func() {
		l.req = fwwire.Frame{Type: fwwire.Config, Timeout: uint16(timeout / time.Millisecond), Action: action}
	}, fwwire.Ack, &r)
}

// DeviceStats asks the board for its counters.
func (l *Link) DeviceStats(ctx context.Context) (fwwire.LinkStats, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var r fwwire.Frame
	err := l.do(ctx, func() { l.req = fwwire.Frame{Type: fwwire.GetStats} }, fwwire.Stats, &r)
	return r.Stats, err
}

// LastFault returns the code and detail of the last FAULT frame (OK if none).
func (l *Link) LastFault() (fwwire.Code, uint8) {
	v := l.lastFault.Load()
	return fwwire.Code(v >> 8), uint8(v)
}

// Counters returns the host side's counters.
func (l *Link) Counters() Counters {
	c := &l.c
	return Counters{TxFrames: c.tx.Load(), RxFrames: c.rx.Load(), CRCErrors: c.crc.Load(), Framing: c.framing.Load(),
		Lost: c.lost.Load(), Dups: c.dups.Load(), Stale: c.stale.Load(), Timeouts: c.timeouts.Load(),
		Faults: c.faults.Load(), Resets: c.resets.Load(), Handshakes: c.handshakes.Load(), Overflow: c.overflow.Load(),
		BoardTimeouts: c.boardTimeouts.Load()}
}

// Close stops the session and closes the port; the board's heartbeat timeout then
// stops the servos. Closing twice is fine.
func (l *Link) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.stop)
		err = l.rw.Close()
		l.wg.Wait()
	})
	return err
}
