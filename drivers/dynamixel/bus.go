package dynamixel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/drivers/servo"
)

const (
	nChunks   = 8
	chunkSize = 512
)

type chunk struct {
	idx, n int
	err    error
}

// Bus is one half-duplex Dynamixel Protocol 2.0 bus over an io.ReadWriteCloser. It
// serialises exchanges (one at a time, guarded by a mutex). A goroutine, started by the
// first exchange, reads the port into fixed buffers so that reply timeouts work on any
// io.Reader; Close must therefore unblock a pending Read of rw (serial ports, pipes,
// files and net.Conn all do).
type Bus struct {
	rw      io.ReadWriteCloser
	timeout time.Duration

	mu      sync.Mutex
	start   sync.Once
	started atomic.Bool
	bufs    [nChunks][chunkSize]byte
	chunks  chan chunk
	free    chan int
	done    chan struct{}
	exited  chan struct{}
	stream  *dxlproto.Stream
	timer   *time.Timer
	tx      []byte
	rxErr   error // sticky error from the reader goroutine
	expired bool  // the reply timer fired; recv looks at what has arrived once more
	fl      interface{ ResetInputBuffer() error }
	closeMu sync.Once
	cerr    error
}

// NewBus wraps rw. replyTimeout bounds the wait for each reply (default 10 ms when ≤ 0).
// It does not touch rw until the first exchange.
func NewBus(rw io.ReadWriteCloser, replyTimeout time.Duration) *Bus {
	if replyTimeout <= 0 {
		replyTimeout = 10 * time.Millisecond
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	b := &Bus{
		rw: rw, timeout: replyTimeout,
		chunks: make(chan chunk, nChunks), free: make(chan int, nChunks),
		done: make(chan struct{}), exited: make(chan struct{}),
		stream: dxlproto.NewStream(0), timer: t, tx: make([]byte, 0, 1024),
	}
	for i := range nChunks {
		b.free <- i
	}
	b.fl, _ = rw.(interface{ ResetInputBuffer() error })
	return b
}

func (b *Bus) reader() {
	defer close(b.exited)
	for {
		var idx int
		select {
		case idx = <-b.free:
		case <-b.done:
			return
		}
		n, err := b.rw.Read(b.bufs[idx][:])
		select {
		case b.chunks <- chunk{idx, n, err}:
		case <-b.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// Close stops the reader and closes rw. Safe to call more than once.
func (b *Bus) Close() error {
	b.closeMu.Do(func() {
		close(b.done)
		b.cerr = b.rw.Close()
		b.start.Do(func() {}) // no reader may start after Close
		if b.started.Load() {
			<-b.exited
		}
	})
	return b.cerr
}

func (b *Bus) closed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// begin prepares an exchange: starts the reader once and drops stale input, in the
// port's buffer (as ROBOTIS's SDK clears the port before each packet) and in the
// reader's: a reply that came after its timeout must not answer this exchange.
func (b *Bus) begin() error {
	if b.closed() {
		return drivers.ErrClosed
	}
	if b.rxErr != nil {
		return b.rxErr
	}
	if b.fl != nil {
		if err := b.fl.ResetInputBuffer(); err != nil {
			return fmt.Errorf("dynamixel: flush input: %w", err)
		}
	}
	b.start.Do(func() { b.started.Store(true); go b.reader() })
	for {
		select {
		case c := <-b.chunks:
			b.free <- c.idx
			if c.err != nil {
				b.rxErr = fmt.Errorf("dynamixel: read port: %w", c.err)
				return b.rxErr
			}
			continue
		default:
		}
		break
	}
	b.stream.Reset()
	return nil
}

func (b *Bus) send(p []byte) error {
	for len(p) > 0 {
		n, err := b.rw.Write(p)
		if err != nil {
			return fmt.Errorf("dynamixel: write port: %w", err)
		}
		p = p[n:]
	}
	return nil
}

// arm (re)starts the reply timer.
func (b *Bus) armTimer(d time.Duration) { b.expired = false; b.timer.Reset(d) }

// recv returns the next packet. ErrTimeout when the timer fires; ErrCRC (with the
// unverified ID in p.ID) for a corrupted packet.
func (b *Bus) recv(ctx context.Context) (dxlproto.Packet, error) {
	for {
		p, err := b.stream.Next()
		switch {
		case err == nil:
			if p.Instruction != dxlproto.InstStatus {
				continue // an echo of our own instruction on a bus that echoes
			}
			return p, nil
		case errors.Is(err, dxlproto.ErrCRC):
			return p, ErrCRC
		case errors.Is(err, dxlproto.ErrLength):
			continue
		}
		if b.expired {
			// The timer has fired: what had arrived by then still counts (this
			// goroutine may have woken late), but nothing more is awaited.
			select {
			case c := <-b.chunks:
				if err := b.take(c); err != nil {
					return p, err
				}
				continue
			default:
				return p, ErrTimeout
			}
		}
		select {
		case c := <-b.chunks:
			if err := b.take(c); err != nil {
				return p, err
			}
		case <-b.timer.C:
			b.expired = true
		case <-ctx.Done():
			return p, ctx.Err()
		case <-b.done:
			return p, drivers.ErrClosed
		}
	}
}

// take feeds one chunk of the reader to the stream.
func (b *Bus) take(c chunk) error {
	b.stream.Write(b.bufs[c.idx][:c.n])
	b.free <- c.idx
	if c.err != nil {
		b.rxErr = fmt.Errorf("dynamixel: read port: %w", c.err)
		return b.rxErr
	}
	return nil
}

// exchange sends the packet in b.tx and waits for the status of id with want parameter
// bytes (-1: any). A status of id with another length is not an answer to this
// instruction (a late one to an earlier): it is skipped, and ErrReply is returned if
// nothing else arrives in time.
func (b *Bus) exchange(ctx context.Context, id byte, want int) (dxlproto.Packet, error) {
	if err := b.send(b.tx); err != nil {
		return dxlproto.Packet{}, err
	}
	b.armTimer(b.timeout)
	defer b.timer.Stop()
	bad := false
	for {
		p, err := b.recv(ctx)
		if err == ErrTimeout && bad {
			return p, ErrReply
		}
		if err != nil {
			return p, err
		}
		if p.ID != id {
			continue
		}
		if want >= 0 && len(p.Params) != want && p.Error.Code() == 0 {
			bad = true
			continue
		}
		if p.Error.Code() != 0 {
			return p, ErrStatus
		}
		return p, nil
	}
}

func (b *Bus) servoErr(id byte, p dxlproto.Packet, err error) error {
	if err == nil {
		return nil
	}
	var s *sentinel
	if !errors.As(err, &s) {
		return err // context, closed, transport
	}
	return &ServoError{ID: id, Status: p.Error, Err: err}
}

// Ping pings servo id and returns its model number and firmware version. Failures are
// a *ServoError wrapping ErrTimeout, ErrCRC, ErrReply or ErrStatus.
func (b *Bus) Ping(ctx context.Context, id byte) (model uint16, firmware byte, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(); err != nil {
		return 0, 0, err
	}
	b.tx = dxlproto.AppendPing(b.tx[:0], id)
	p, err := b.exchange(ctx, id, 3)
	if err == nil && len(p.Params) != 3 {
		err = ErrReply
	}
	if err != nil {
		return 0, 0, b.servoErr(id, p, err)
	}
	return uint16(p.Params[0]) | uint16(p.Params[1])<<8, p.Params[2], nil
}

// ReadRegister reads len(dst) bytes at control-table address addr of servo id into dst.
// Failures are a *ServoError (see Ping).
func (b *Bus) ReadRegister(ctx context.Context, id byte, addr uint16, dst []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readRegister(ctx, id, addr, dst)
}

func (b *Bus) readRegister(ctx context.Context, id byte, addr uint16, dst []byte) error {
	if err := b.begin(); err != nil {
		return err
	}
	b.tx = dxlproto.AppendRead(b.tx[:0], id, addr, uint16(len(dst)))
	p, err := b.exchange(ctx, id, len(dst))
	if err == nil && len(p.Params) != len(dst) {
		err = ErrReply
	}
	if err != nil {
		return b.servoErr(id, p, err)
	}
	copy(dst, p.Params)
	return nil
}

// WriteRegister writes data at control-table address addr of servo id and waits for its
// status. Failures are a *ServoError (see Ping); EEPROM writes with torque on give ErrStatus.
func (b *Bus) WriteRegister(ctx context.Context, id byte, addr uint16, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writeRegister(ctx, id, addr, data)
}

func (b *Bus) writeRegister(ctx context.Context, id byte, addr uint16, data []byte) error {
	if err := b.begin(); err != nil {
		return err
	}
	b.tx = dxlproto.AppendWrite(b.tx[:0], id, addr, data)
	p, err := b.exchange(ctx, id, 0)
	return b.servoErr(id, p, err)
}

// Found is a servo answering a Scan.
type Found struct {
	ID       byte
	Model    uint16 // model number (1060 = XL430-W250, 1020 = XM430-W350)
	Firmware byte
}

// Scan pings each of ids in turn and returns those that answered. Silent IDs are skipped;
// other errors (closed port, cancelled ctx) stop the scan and are returned with the
// servos found so far.
func (b *Bus) Scan(ctx context.Context, ids []byte) ([]Found, error) {
	var out []Found
	for _, id := range ids {
		m, fw, err := b.Ping(ctx, id)
		if err != nil {
			var se *ServoError
			if errors.As(err, &se) {
				continue
			}
			return out, err
		}
		out = append(out, Found{ID: id, Model: m, Firmware: fw})
	}
	return out, nil
}

// Scan pings ids over rw (waiting replyTimeout for each; default 10 ms) and returns the
// servos that answered with their model numbers. It takes ownership of rw and closes it.
func Scan(ctx context.Context, rw io.ReadWriteCloser, ids []byte, replyTimeout time.Duration) ([]Found, error) {
	b := NewBus(rw, replyTimeout)
	defer b.Close()
	return b.Scan(ctx, ids)
}

// ReadRegister reads len(dst) bytes at addr of servo id through bus (see Bus.ReadRegister).
func ReadRegister(ctx context.Context, bus *Bus, id byte, addr uint16, dst []byte) error {
	return bus.ReadRegister(ctx, id, addr, dst)
}

// WriteRegister writes data at addr of servo id through bus (see Bus.WriteRegister).
func WriteRegister(ctx context.Context, bus *Bus, id byte, addr uint16, data []byte) error {
	return bus.WriteRegister(ctx, id, addr, data)
}

// Identify pings servo id (servo.Bus).
func (b *Bus) Identify(ctx context.Context, id byte) (servo.Found, error) {
	m, fw, err := b.Ping(ctx, id)
	return servo.Found{ID: id, Model: m, Firmware: fw}, err
}

// BroadcastPing pings ID 0xFE (e-manual, Protocol 2.0, Ping: every servo answers, in
// turn) and collects the statuses until none arrives for the reply timeout (servo.Bus).
func (b *Bus) BroadcastPing(ctx context.Context) ([]servo.Found, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(); err != nil {
		return nil, err
	}
	b.tx = dxlproto.AppendPing(b.tx[:0], dxlproto.BroadcastID)
	if err := b.send(b.tx); err != nil {
		return nil, err
	}
	var out []servo.Found
	seen := map[byte]bool{}
	b.armTimer(b.timeout)
	defer b.timer.Stop()
	for {
		p, err := b.recv(ctx)
		switch {
		case err == ErrTimeout:
			return out, nil
		case err == ErrCRC:
			continue
		case err != nil:
			return out, err
		}
		if len(p.Params) == 3 && !seen[p.ID] {
			seen[p.ID] = true
			out = append(out, servo.Found{ID: p.ID, Model: uint16(p.Params[0]) | uint16(p.Params[1])<<8, Firmware: p.Params[2]})
		}
		b.timer.Stop()
		b.armTimer(b.timeout)
	}
}

var _ servo.Bus = (*Bus)(nil)
