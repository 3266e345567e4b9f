package feetech

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/drivers/servo"
)

// Sentinel errors; per-servo failures come wrapped in a *ServoError.
var (
	// ErrTimeout: a servo did not reply within the reply timeout. Wraps drivers.ErrTimeout.
	ErrTimeout = fmt.Errorf("feetech: no reply: %w", drivers.ErrTimeout)
	// ErrChecksum: a reply arrived corrupted (bad checksum or length) and no good one followed.
	ErrChecksum = fmt.Errorf("feetech: %w", ftproto.ErrChecksum)
	// ErrStatus: a servo reported status error bits (see ServoError.Status). Wraps drivers.ErrFault.
	ErrStatus = fmt.Errorf("feetech: status error: %w", drivers.ErrFault)
	// ErrReply: a reply had the wrong size for the request.
	ErrReply = errors.New("feetech: malformed reply")
)

// ServoError is a failure of one servo. Err is ErrTimeout, ErrChecksum, ErrStatus or ErrReply.
type ServoError struct {
	ID     byte           // servo ID
	Joint  string         // joint name, empty outside a Driver
	Status ftproto.Status // status bits the servo reported, 0 if none
	Err    error
}

// Error reads like "feetech: servo 3 (elbow): status error: overload".
func (e *ServoError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "feetech: servo %d", e.ID)
	if e.Joint != "" {
		fmt.Fprintf(&b, " (%s)", e.Joint)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "feetech: "))
	}
	if e.Status != 0 {
		b.WriteString(": " + e.Status.String())
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *ServoError) Unwrap() error { return e.Err }

type deadliner interface{ SetReadDeadline(time.Time) error }
type timeouter interface{ SetReadTimeout(time.Duration) error }

// flusher discards input the port has received but nobody has read (go.bug.st/serial:
// tcflush TCIFLUSH).
type flusher interface{ ResetInputBuffer() error }

// Bus runs request/reply transactions on one Feetech bus. It is not safe for concurrent
// use; a Driver serialises its own use. Only Close closes rw.
type Bus struct {
	rw      io.ReadWriter
	series  ftproto.Series
	timeout time.Duration
	dl      deadliner
	to      timeouter
	fl      flusher
	dec     ftproto.Decoder
	tx      [2 * ftproto.MaxPacket]byte
}

// NewBus wraps rw. timeout bounds the wait for each reply (default 20 ms when <= 0).
// Reads are bounded by SetReadDeadline (files, net.Conn) or SetReadTimeout (go.bug.st
// serial ports) when rw has one; otherwise rw's Read must not block forever.
func NewBus(rw io.ReadWriter, series ftproto.Series, timeout time.Duration) *Bus {
	if timeout <= 0 {
		timeout = 20 * time.Millisecond
	}
	b := &Bus{rw: rw, series: series, timeout: timeout}
	b.dl, _ = rw.(deadliner)
	if b.dl == nil {
		b.to, _ = rw.(timeouter)
	}
	b.fl, _ = rw.(flusher)
	return b
}

// begin starts a transaction: it drops whatever arrived since the last one (a reply that
// came after its timeout would otherwise be read as the answer to this request), as
// Feetech's SDK (rFlushSCS) and ROBOTIS's (clearPort) clear the port before each packet.
func (b *Bus) begin() error {
	b.dec.Reset()
	if b.fl != nil {
		if err := b.fl.ResetInputBuffer(); err != nil {
			return fmt.Errorf("feetech: flush input: %w", err)
		}
	}
	return nil
}

func (b *Bus) send(p []byte) error {
	for len(p) > 0 {
		n, err := b.rw.Write(p)
		if err != nil {
			return fmt.Errorf("feetech: write: %w", err)
		}
		p = p[n:]
	}
	return nil
}

// pollGrace is the read deadline of the last look at the port after a reply's deadline
// has passed, for ports bounded by SetReadDeadline (a past deadline reads nothing).
const pollGrace = 100 * time.Microsecond

// recv returns the next good packet before deadline. Timeouts return ErrTimeout, or
// ErrChecksum when corrupted bytes were seen meanwhile.
func (b *Bus) recv(ctx context.Context, deadline time.Time) (ftproto.Packet, error) {
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	corrupt := b.dec.Corrupt
	expired, polled := false, false
	for {
		if p, ok := b.dec.Next(); ok {
			return p, nil
		}
		if err := ctx.Err(); err != nil {
			return ftproto.Packet{}, err
		}
		left := time.Until(deadline)
		if (left <= 0 || expired) && !polled {
			// Past the deadline: look once more at what has arrived before calling it a
			// timeout. This thread may have been descheduled past the deadline while the
			// reply sat in the port's buffer: that reply was on time.
			polled, expired, left = true, false, 0
		} else if left <= 0 || expired {
			if err := ctx.Err(); err != nil {
				return ftproto.Packet{}, err
			}
			if b.dec.Corrupt != corrupt || b.dec.Buffered() > 0 {
				b.dec.Reset()
				return ftproto.Packet{}, ErrChecksum
			}
			return ftproto.Packet{}, ErrTimeout
		}
		switch {
		case b.dl != nil:
			dl := deadline
			if polled {
				dl = time.Now().Add(pollGrace) // a deadline already past would not read at all
			}
			if err := b.dl.SetReadDeadline(dl); err != nil {
				return ftproto.Packet{}, fmt.Errorf("feetech: read deadline: %w", err)
			}
		case b.to != nil:
			if err := b.to.SetReadTimeout(left); err != nil { // 0: poll
				return ftproto.Packet{}, fmt.Errorf("feetech: read timeout: %w", err)
			}
		}
		n, err := b.rw.Read(b.dec.Space())
		b.dec.Commit(n)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			expired = true // our own deadline passed
		} else if err != nil {
			return ftproto.Packet{}, fmt.Errorf("feetech: read: %w", err)
		}
	}
}

// reply waits for the status packet of id with want parameter bytes (-1: any).
func (b *Bus) reply(ctx context.Context, id byte, want int) (ftproto.Packet, error) {
	deadline := time.Now().Add(b.timeout)
	var bad *ftproto.Packet
	for {
		p, err := b.recv(ctx, deadline)
		if errors.Is(err, ErrTimeout) && bad != nil {
			return *bad, ErrReply
		}
		if err != nil {
			return p, err
		}
		if p.ID != id {
			continue // a stray or late reply of another servo
		}
		if want >= 0 && len(p.Params) != want {
			// Not an answer to this request (a late reply to an earlier one, say):
			// keep waiting, and report it if nothing better comes.
			bad = &p
			continue
		}
		if p.Inst != 0 {
			return p, ErrStatus
		}
		return p, nil
	}
}

func servoErr(id byte, p ftproto.Packet, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	se := &ServoError{ID: id, Err: err}
	if errors.Is(err, ErrStatus) {
		se.Status = ftproto.Status(p.Inst)
	}
	return se
}

// Ping checks that servo id answers. Failures are a *ServoError.
func (b *Bus) Ping(ctx context.Context, id byte) error {
	n, err := ftproto.EncodePing(b.tx[:], id)
	if err != nil {
		return err
	}
	if err := b.begin(); err != nil {
		return err
	}
	if err := b.send(b.tx[:n]); err != nil {
		return err
	}
	p, err := b.reply(ctx, id, 0)
	return servoErr(id, p, err)
}

// ReadRegister reads len(dst) bytes at addr of servo id into dst. Failures are a
// *ServoError; with ErrStatus, dst is still filled.
func (b *Bus) ReadRegister(ctx context.Context, id byte, addr uint16, dst []byte) error {
	if len(dst) == 0 || len(dst) > ftproto.MaxParams || int(addr)+len(dst) > 256 {
		return fmt.Errorf("feetech: read of %d bytes at %d: %w", len(dst), addr, ftproto.ErrParams)
	}
	n, err := ftproto.EncodeRead(b.tx[:], id, byte(addr), byte(len(dst)))
	if err != nil {
		return err
	}
	if err := b.begin(); err != nil {
		return err
	}
	if err := b.send(b.tx[:n]); err != nil {
		return err
	}
	p, err := b.reply(ctx, id, len(dst))
	if err == nil || errors.Is(err, ErrStatus) {
		copy(dst, p.Params)
	}
	return servoErr(id, p, err)
}

// WriteRegister writes data at addr of servo id and waits for its acknowledgement, or
// writes without waiting when id is ftproto.BroadcastID. Failures are a *ServoError.
func (b *Bus) WriteRegister(ctx context.Context, id byte, addr uint16, data []byte) error {
	if int(addr)+len(data) > 256 {
		return fmt.Errorf("feetech: servo %d: write %d bytes at %d: %w", id, len(data), addr, ftproto.ErrParams)
	}
	n, err := ftproto.EncodeWrite(b.tx[:], id, byte(addr), data)
	if err != nil {
		return fmt.Errorf("feetech: servo %d: write %d bytes at %d: %w", id, len(data), addr, err)
	}
	if err := b.begin(); err != nil {
		return err
	}
	if err := b.send(b.tx[:n]); err != nil {
		return err
	}
	if id == ftproto.BroadcastID {
		return nil
	}
	p, err := b.reply(ctx, id, 0)
	return servoErr(id, p, err)
}

// Found is one servo answering a Scan.
type Found struct {
	ID    byte
	Model uint16 // model number (STS3215: 777); 0 if the ping answered but the read failed
}

// Scan pings each of ids (all of 0..253 when none are given) on an STS bus and returns the
// servos that answer, with their model numbers; each silent ID costs a 20 ms timeout.
// Only I/O errors and ctx end it early.
func Scan(ctx context.Context, rw io.ReadWriter, ids ...byte) ([]Found, error) {
	b := NewBus(rw, ftproto.STS, 20*time.Millisecond)
	if len(ids) == 0 {
		for i := 0; i <= ftproto.MaxID; i++ {
			ids = append(ids, byte(i))
		}
	}
	var out []Found
	for _, id := range ids {
		err := b.Ping(ctx, id)
		var se *ServoError
		if err != nil && !errors.As(err, &se) {
			return out, err
		}
		if err != nil && se.Status == 0 {
			continue
		}
		f := Found{ID: id}
		var w [2]byte
		if b.ReadRegister(ctx, id, ftproto.RegModel, w[:]) == nil {
			f.Model = b.series.Word(w[:])
		}
		out = append(out, f)
	}
	return out, nil
}

// Identify pings servo id and reads its model number and firmware major version
// (servo.Bus). A servo that answers the ping but not the reads is returned with zeros.
func (b *Bus) Identify(ctx context.Context, id byte) (servo.Found, error) {
	f := servo.Found{ID: id}
	if err := b.Ping(ctx, id); err != nil {
		var se *ServoError
		if !errors.As(err, &se) || se.Status == 0 {
			return f, err
		}
	}
	var w [2]byte
	if b.ReadRegister(ctx, id, ftproto.RegModel, w[:]) == nil {
		f.Model = b.series.Word(w[:])
	}
	var fw [1]byte
	if b.ReadRegister(ctx, id, ftproto.RegFirmwareMajor, fw[:]) == nil {
		f.Firmware = fw[0]
	}
	return f, nil
}

// BroadcastPing pings ID 0xFE: every servo answers, one after another (as LeRobot's ID
// set-up uses it). It collects replies until none arrives for the reply timeout, then
// reads each one's model number (servo.Bus).
func (b *Bus) BroadcastPing(ctx context.Context) ([]servo.Found, error) {
	n, err := ftproto.EncodePing(b.tx[:], ftproto.BroadcastID)
	if err != nil {
		return nil, err
	}
	if err := b.begin(); err != nil {
		return nil, err
	}
	if err := b.send(b.tx[:n]); err != nil {
		return nil, err
	}
	var out []servo.Found
	seen := map[byte]bool{}
	for {
		p, err := b.recv(ctx, time.Now().Add(b.timeout))
		if errors.Is(err, ErrTimeout) || errors.Is(err, ErrChecksum) {
			break
		}
		if err != nil {
			return out, err
		}
		if len(p.Params) == 0 && !seen[p.ID] {
			seen[p.ID] = true
			out = append(out, servo.Found{ID: p.ID})
		}
	}
	for i := range out {
		var w [2]byte
		if b.ReadRegister(ctx, out[i].ID, ftproto.RegModel, w[:]) == nil {
			out[i].Model = b.series.Word(w[:])
		}
	}
	return out, nil
}

// Close closes the port when it is an io.Closer.
func (b *Bus) Close() error {
	if c, ok := b.rw.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

var _ servo.Bus = (*Bus)(nil)
