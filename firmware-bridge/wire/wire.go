// Package fwwire is the frame codec of the Praxis firmware bridge (PROTOCOL.md): COBS
// framing with 0x00 delimiters, CRC-16/CCITT-FALSE, little-endian fields. It is pure
// (no I/O), imports only the standard library, and allocates nothing when encoding into
// a caller-owned buffer or decoding into a caller-owned Frame.
package fwwire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the protocol version this codec speaks (HELLO / HELLO_ACK).
const Version = 1

// MaxJoints is the most joints a frame can carry.
const MaxJoints = 8

// MaxRaw is the longest unstuffed frame (header + payload + CRC), bytes.
const MaxRaw = 3 + 3 + 4*2*MaxJoints + 2

// MaxEncoded is the longest frame on the wire including the COBS overhead and the
// trailing 0x00 delimiter, bytes.
const MaxEncoded = MaxRaw + MaxRaw/254 + 2

// Type is a frame type; host-to-device types are below 0x80, device-to-host above.
type Type uint8

// Frame types (PROTOCOL.md, "Frames").
const (
	Hello     Type = 0x01 // host: protocol version
	Config    Type = 0x02 // host: heartbeat timeout and action
	Enable    Type = 0x03 // host: per-joint servo enable mask
	Command   Type = 0x04 // host: pulse widths, optional slew rates
	Heartbeat Type = 0x05 // host: keep-alive and state poll
	GetStats  Type = 0x06 // host: ask for the device's link counters
	HelloAck  Type = 0x81 // device: version and capabilities
	Ack       Type = 0x82 // device: status of Config / Enable
	State     Type = 0x83 // device: positions and outputs
	Fault     Type = 0x84 // device: unsolicited fault or error report
	Stats     Type = 0x86 // device: link counters
)

func (t Type) String() string {
	switch t {
	case Hello:
		return "HELLO"
	case Config:
		return "CONFIG"
	case Enable:
		return "ENABLE"
	case Command:
		return "COMMAND"
	case Heartbeat:
		return "HEARTBEAT"
	case GetStats:
		return "GET_STATS"
	case HelloAck:
		return "HELLO_ACK"
	case Ack:
		return "ACK"
	case State:
		return "STATE"
	case Fault:
		return "FAULT"
	case Stats:
		return "STATS"
	}
	return fmt.Sprintf("type 0x%02x", uint8(t))
}

// Code is a status or fault code (ACK and FAULT frames).
type Code uint8

// Status and fault codes (PROTOCOL.md, "Codes").
const (
	OK         Code = 0 // success
	BadVersion Code = 1 // HELLO with an unsupported version; detail = device version
	BadLength  Code = 2 // payload length does not fit the type; detail = type
	BadType    Code = 3 // unknown frame type; detail = type
	Range      Code = 4 // a command was outside the firmware limits and clamped; detail = joint
	Timeout    Code = 5 // heartbeat timeout: the servos were stopped; detail = action
	NotReady   Code = 6 // frame before a HELLO; detail = type
	BadJoints  Code = 7 // joint count or mask names joints the device lacks; detail = count
	Reset      Code = 8 // the device has (re)started; detail = reset cause (MCUSR)
	Overrun    Code = 9 // receive buffer overrun, bytes were lost; detail = 0
)

func (c Code) String() string {
	names := [...]string{"ok", "bad version", "bad length", "bad type", "range", "heartbeat timeout",
		"not ready", "bad joints", "reset", "overrun"}
	if int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("code %d", uint8(c))
}

// Action is what the firmware does to the servos on a heartbeat timeout.
type Action uint8

// Timeout actions.
const (
	Detach Action = 0 // stop the pulses: hobby servos go limp
	Hold   Action = 1 // keep the last pulse widths: servos hold position
)

// Capability flags (HELLO_ACK Flags).
const (
	CapSlew    uint8 = 1 << 0 // COMMAND slew rates (speed limits, µs/s) are honoured
	CapCurrent uint8 = 1 << 1 // STATE may carry currents
	CapVelFb   uint8 = 1 << 2 // STATE may carry measured velocities
)

// Flags of COMMAND and STATE frames.
const (
	FlagSlew     uint8 = 1 << 0 // COMMAND: slew rates follow the pulse widths (in Frame.Vel, µs/s)
	FlagVel      uint8 = 1 << 0 // STATE: measured velocities present (Frame.Vel, counts/s); same bit as FlagSlew
	FlagCur      uint8 = 1 << 1 // STATE: Cur present
	FlagTimedOut uint8 = 1 << 7 // STATE: the heartbeat timeout has fired since the last COMMAND/ENABLE
)

// NoFeedback is the STATE position of a joint without a sensor.
const NoFeedback = 0xFFFF

// Caps are the device's capabilities (HELLO_ACK).
type Caps struct {
	FwMajor, FwMinor uint8  // firmware version
	Joints           uint8  // servo channels, 1..MaxJoints
	FeedbackMask     uint8  // bit i: joint i has a position sensor
	Flags            uint8  // Cap* bits
	PulseMin         uint16 // shortest pulse the firmware emits, µs
	PulseMax         uint16 // longest pulse the firmware emits, µs
	AdcMax           uint16 // full-scale sensor reading, counts
	TimeoutMs        uint16 // current heartbeat timeout, ms (0: disabled)
}

// LinkStats are the device's link counters (STATS), each wrapping at 65535.
type LinkStats struct {
	RxFrames  uint16 // valid frames received
	CRCErrors uint16 // frames dropped for a bad CRC
	Framing   uint16 // frames dropped for bad COBS or length
	Lost      uint16 // host frames missing by sequence number
	Dups      uint16 // host frames received twice (ignored)
	Overruns  uint16 // receive buffer overruns
	Timeouts  uint16 // heartbeat timeouts fired
}

// Frame is any frame; which fields count depends on Type (PROTOCOL.md). It is a plain
// value: decode into a reused Frame to allocate nothing.
type Frame struct {
	Type Type
	Seq  uint8 // sender's sequence number, +1 per frame sent
	Ack  uint8 // last sequence number received from the peer (replies: the request's Seq)

	Version uint8     // HELLO, HELLO_ACK
	Caps    Caps      // HELLO_ACK
	Timeout uint16    // CONFIG: heartbeat timeout, ms (0 disables)
	Action  Action    // CONFIG
	Mask    uint8     // ENABLE: joints to drive; STATE: joints being driven
	Code    Code      // ACK, FAULT
	Detail  uint8     // ACK, FAULT
	Stats   LinkStats // STATS

	N     uint8             // COMMAND, STATE: joint count
	Flags uint8             // COMMAND, STATE: Flag* bits
	Pos   [MaxJoints]uint16 // COMMAND: pulse width, µs; STATE: sensor reading, counts
	Vel   [MaxJoints]uint16 // COMMAND: slew limit, µs/s (0: none); STATE: signed counts/s
	Pulse [MaxJoints]uint16 // STATE: pulse width being emitted, µs (0: off)
	Cur   [MaxJoints]uint16 // STATE: current, mA
}

// Errors; decode errors wrap ErrFrame, so callers count them with errors.Is.
var (
	ErrFrame    = errors.New("fwwire: bad frame")
	ErrCRC      = fmt.Errorf("%w: crc mismatch", ErrFrame)
	ErrCOBS     = fmt.Errorf("%w: bad cobs", ErrFrame)
	ErrLength   = fmt.Errorf("%w: bad length", ErrFrame)
	ErrType     = fmt.Errorf("%w: unknown type", ErrFrame)
	ErrTooLong  = fmt.Errorf("%w: too long", ErrFrame)
	ErrJoints   = errors.New("fwwire: joint count out of range")
	ErrBufSmall = errors.New("fwwire: buffer too small")
)

// CRC16 is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor;
// check value 0x29B1 for "123456789").
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// Append encodes f, COBS-stuffs it and appends it with its 0x00 delimiter to dst. It
// allocates nothing when dst has MaxEncoded bytes of spare capacity.
func Append(dst []byte, f *Frame) ([]byte, error) {
	var raw [MaxRaw]byte
	n, err := Marshal(raw[:], f)
	if err != nil {
		return dst, err
	}
	return AppendCOBS(dst, raw[:n]), nil
}

// Marshal writes f's unstuffed bytes (header, payload, CRC) into b and returns the
// length. b must hold MaxRaw bytes.
func Marshal(b []byte, f *Frame) (int, error) {
	if len(b) < MaxRaw {
		return 0, ErrBufSmall
	}
	b[0], b[1], b[2] = byte(f.Type), f.Seq, f.Ack
	n := 3
	u16 := func(v uint16) { binary.LittleEndian.PutUint16(b[n:], v); n += 2 }
	arr := func(a *[MaxJoints]uint16, k int) {
		for i := range k {
			u16(a[i])
		}
	}
	switch f.Type {
	case Hello:
		b[n] = f.Version
		n++
	case HelloAck:
		c := &f.Caps
		b[n], b[n+1], b[n+2], b[n+3], b[n+4], b[n+5] = f.Version, c.FwMajor, c.FwMinor, c.Joints, c.FeedbackMask, c.Flags
		n += 6
		u16(c.PulseMin)
		u16(c.PulseMax)
		u16(c.AdcMax)
		u16(c.TimeoutMs)
	case Config:
		u16(f.Timeout)
		b[n] = byte(f.Action)
		n++
	case Enable:
		b[n] = f.Mask
		n++
	case Command:
		if f.N < 1 || f.N > MaxJoints {
			return 0, fmt.Errorf("%w: %d", ErrJoints, f.N)
		}
		b[n], b[n+1] = f.N, f.Flags&FlagSlew
		n += 2
		arr(&f.Pos, int(f.N))
		if f.Flags&FlagSlew != 0 {
			arr(&f.Vel, int(f.N))
		}
	case Heartbeat, GetStats:
	case Ack, Fault:
		b[n], b[n+1] = byte(f.Code), f.Detail
		n += 2
	case State:
		if f.N > MaxJoints {
			return 0, fmt.Errorf("%w: %d", ErrJoints, f.N)
		}
		fl := f.Flags & (FlagVel | FlagCur | FlagTimedOut)
		b[n], b[n+1], b[n+2] = fl, f.Mask, f.N
		n += 3
		arr(&f.Pos, int(f.N))
		arr(&f.Pulse, int(f.N))
		if fl&FlagVel != 0 {
			arr(&f.Vel, int(f.N))
		}
		if fl&FlagCur != 0 {
			arr(&f.Cur, int(f.N))
		}
	case Stats:
		s := &f.Stats
		for _, v := range [...]uint16{s.RxFrames, s.CRCErrors, s.Framing, s.Lost, s.Dups, s.Overruns, s.Timeouts} {
			u16(v)
		}
	default:
		return 0, fmt.Errorf("%w: 0x%02x", ErrType, uint8(f.Type))
	}
	binary.LittleEndian.PutUint16(b[n:], CRC16(b[:n]))
	return n + 2, nil
}

// Unmarshal decodes unstuffed bytes (header, payload, CRC) into f. The CRC is checked
// first; fields f's type does not use are left as they were.
func Unmarshal(b []byte, f *Frame) error {
	if len(b) < 5 {
		return fmt.Errorf("%w: %d bytes", ErrLength, len(b))
	}
	body := b[:len(b)-2]
	if CRC16(body) != binary.LittleEndian.Uint16(b[len(b)-2:]) {
		return ErrCRC
	}
	t := Type(body[0])
	p := body[3:]
	want := func(k int) error {
		if len(p) != k {
			return fmt.Errorf("%w: %s payload %d bytes, want %d", ErrLength, t, len(p), k)
		}
		return nil
	}
	u16 := func(i int) uint16 { return binary.LittleEndian.Uint16(p[i:]) }
	arr := func(a *[MaxJoints]uint16, off, k int) {
		for i := range k {
			a[i] = u16(off + 2*i)
		}
	}
	var err error
	switch t {
	case Hello:
		if err = want(1); err == nil {
			f.Version = p[0]
		}
	case HelloAck:
		if err = want(14); err == nil {
			f.Version = p[0]
			f.Caps = Caps{FwMajor: p[1], FwMinor: p[2], Joints: p[3], FeedbackMask: p[4], Flags: p[5],
				PulseMin: u16(6), PulseMax: u16(8), AdcMax: u16(10), TimeoutMs: u16(12)}
		}
	case Config:
		if err = want(3); err == nil {
			f.Timeout, f.Action = u16(0), Action(p[2])
		}
	case Enable:
		if err = want(1); err == nil {
			f.Mask = p[0]
		}
	case Command:
		if len(p) < 2 {
			return want(2)
		}
		k, fl := int(p[0]), p[1]
		if k < 1 || k > MaxJoints {
			return fmt.Errorf("%w: %d", ErrJoints, k)
		}
		words := k
		if fl&FlagSlew != 0 {
			words += k
		}
		if err = want(2 + 2*words); err == nil {
			f.N, f.Flags = uint8(k), fl&FlagSlew
			arr(&f.Pos, 2, k)
			if fl&FlagSlew != 0 {
				arr(&f.Vel, 2+2*k, k)
			}
		}
	case Heartbeat, GetStats:
		err = want(0)
	case Ack, Fault:
		if err = want(2); err == nil {
			f.Code, f.Detail = Code(p[0]), p[1]
		}
	case State:
		if len(p) < 3 {
			return want(3)
		}
		fl, k := p[0], int(p[2])
		if k > MaxJoints {
			return fmt.Errorf("%w: %d", ErrJoints, k)
		}
		words := 2 * k
		if fl&FlagVel != 0 {
			words += k
		}
		if fl&FlagCur != 0 {
			words += k
		}
		if err = want(3 + 2*words); err == nil {
			f.Flags, f.Mask, f.N = fl, p[1], uint8(k)
			arr(&f.Pos, 3, k)
			arr(&f.Pulse, 3+2*k, k)
			off := 3 + 4*k
			if fl&FlagVel != 0 {
				arr(&f.Vel, off, k)
				off += 2 * k
			}
			if fl&FlagCur != 0 {
				arr(&f.Cur, off, k)
			}
		}
	case Stats:
		if err = want(14); err == nil {
			f.Stats = LinkStats{u16(0), u16(2), u16(4), u16(6), u16(8), u16(10), u16(12)}
		}
	default:
		return fmt.Errorf("%w: 0x%02x", ErrType, uint8(t))
	}
	if err != nil {
		return err
	}
	f.Type, f.Seq, f.Ack = t, body[1], body[2]
	return nil
}

// AppendCOBS appends the COBS encoding of src and a 0x00 delimiter to dst.
func AppendCOBS(dst, src []byte) []byte {
	code := len(dst)
	dst = append(dst, 0)
	run := byte(1)
	for _, c := range src {
		if c == 0 {
			dst[code] = run
			code = len(dst)
			dst = append(dst, 0)
			run = 1
			continue
		}
		dst = append(dst, c)
		run++
		if run == 0xFF {
			dst[code] = run
			code = len(dst)
			dst = append(dst, 0)
			run = 1
		}
	}
	dst[code] = run
	return append(dst, 0)
}

// DecodeCOBS unstuffs one frame (without its delimiter) into dst and returns the length.
func DecodeCOBS(dst, src []byte) (int, error) {
	n := 0
	for i := 0; i < len(src); {
		code := int(src[i])
		if code == 0 || i+code > len(src) {
			return 0, ErrCOBS
		}
		i++
		for k := 1; k < code; k++ {
			if n >= len(dst) {
				return 0, ErrTooLong
			}
			dst[n] = src[i]
			n++
			i++
		}
		if code != 0xFF && i < len(src) {
			if n >= len(dst) {
				return 0, ErrTooLong
			}
			dst[n] = 0
			n++
		}
	}
	return n, nil
}

// Decoder splits a byte stream at 0x00 delimiters and decodes each frame. Bytes before
// the first delimiter after a reset may be a partial frame: they fail once, then the
// decoder is in step. The zero Decoder is ready; it allocates nothing.
type Decoder struct {
	buf  [MaxEncoded]byte
	n    int
	over bool // the current frame outgrew buf; drop it at the delimiter
}

// Feed consumes bytes from p up to and including the first delimiter. It returns how
// many bytes it used and, when it reached a delimiter, done=true and the decode result
// in f / err (a non-nil err wraps ErrFrame). Empty frames (0x00 0x00) are skipped.
func (d *Decoder) Feed(p []byte, f *Frame) (used int, done bool, err error) {
	for i, c := range p {
		if c != 0 {
			if d.n < len(d.buf) {
				d.buf[d.n] = c
				d.n++
			} else {
				d.over = true
			}
			continue
		}
		if d.n == 0 && !d.over {
			continue
		}
		n, over := d.n, d.over
		d.n, d.over = 0, false
		if over {
			return i + 1, true, ErrTooLong
		}
		var raw [MaxEncoded]byte
		k, err := DecodeCOBS(raw[:], d.buf[:n])
		if err != nil {
			return i + 1, true, err
		}
		return i + 1, true, Unmarshal(raw[:k], f)
	}
	return len(p), false, nil
}

// Reset drops a partly received frame.
func (d *Decoder) Reset() { d.n, d.over = 0, false }
