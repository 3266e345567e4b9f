// Package ftproto is the Feetech serial servo protocol (STS/SMS and SCS series): packet
// encoding into caller buffers, decoding from byte slices, a resynchronising stream
// decoder, word and sign-magnitude encodings. Pure, standard library only, and
// allocation-free.
//
// Wire format (instruction and status packets alike):
//
//	FF FF ID LEN INST|ERR P1 .. Pn CHK     LEN = n+2, CHK = ^(ID+LEN+INST+P1+..+Pn)
//
// STS/SMS words are little-endian; SCS words are big-endian.
package ftproto

import "errors"

// Protocol constants.
const (
	Header      = 0xFF // both header bytes
	BroadcastID = 0xFE // addresses every servo; servos never reply to it
	MaxID       = 0xFD // highest unicast ID accepted by this codec (0..253)
	Overhead    = 6    // FF FF ID LEN INST CHK
	MaxParams   = 250  // longest parameter block accepted by this codec, bytes
	MaxPacket   = Overhead + MaxParams
)

// Instruction codes.
const (
	InstPing      = 0x01
	InstRead      = 0x02
	InstWrite     = 0x03
	InstRegWrite  = 0x04
	InstAction    = 0x05
	InstSyncRead  = 0x82 // STS/SMS only
	InstSyncWrite = 0x83
	// InstRecovery restores the EEPROM parameters to factory values, the ID excepted
	// (Feetech SDK INST_RECOVERY); answered like a write.
	InstRecovery = 0x06
	// InstReboot restarts the servo; never answered (Feetech SDK reBoot only sends).
	InstReboot = 0x08
	// InstReset clears the multi-turn count (Feetech SDK INST_RESET); answered like a write.
	InstReset = 0x0A
)

// Errors returned by the codec. Callers branch on them with errors.Is.
var (
	// ErrChecksum: the packet's checksum byte does not match its contents.
	ErrChecksum = errors.New("ftproto: checksum mismatch")
	// ErrIncomplete: the bytes end before the packet does; feed more.
	ErrIncomplete = errors.New("ftproto: incomplete packet")
	// ErrHeader: the bytes do not start with FF FF.
	ErrHeader = errors.New("ftproto: bad header")
	// ErrLength: the length byte is impossible (below 2 or above MaxParams+2).
	ErrLength = errors.New("ftproto: bad length")
	// ErrID: the ID byte is 0xFF, or a unicast-only packet addresses broadcast.
	ErrID = errors.New("ftproto: bad id")
	// ErrBuffer: the destination buffer is too small for the packet.
	ErrBuffer = errors.New("ftproto: buffer too small")
	// ErrParams: the parameter block does not match the instruction's layout.
	ErrParams = errors.New("ftproto: bad parameters")
)

// Series selects a servo family. It fixes the byte order of 16-bit words.
type Series uint8

// Series values.
const (
	STS Series = iota // STS/SMS (e.g. STS3215): little-endian words, sync read supported
	SCS               // SCS (e.g. SCS0009, SCS15): big-endian words, no sync read
)

// String returns "sts" or "scs".
func (s Series) String() string {
	if s == SCS {
		return "scs"
	}
	return "sts"
}

// PutWord stores v in b[0:2] in the series' byte order. b must hold 2 bytes.
func (s Series) PutWord(b []byte, v uint16) {
	_ = b[1]
	if s == SCS {
		b[0], b[1] = byte(v>>8), byte(v)
		return
	}
	b[0], b[1] = byte(v), byte(v>>8)
}

// Word reads b[0:2] in the series' byte order. b must hold 2 bytes.
func (s Series) Word(b []byte) uint16 {
	_ = b[1]
	if s == SCS {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return uint16(b[0]) | uint16(b[1])<<8
}

// Sign bits of sign-magnitude registers.
const (
	SignBitPos  = 15 // present/goal position and speed (STS)
	SignBitLoad = 10 // present load
)

// EncodeSignMag encodes v as sign-magnitude with the sign at bit; the magnitude saturates
// at the bits below it.
func EncodeSignMag(v int, bit uint) uint16 {
	bit &= 15
	max := 1<<bit - 1
	neg := v < 0
	if neg {
		v = -v
	}
	if v > max || v < 0 { // v < 0 after negation only for the most negative int
		v = max
	}
	r := uint16(v)
	if neg && v != 0 {
		r |= 1 << bit
	}
	return r
}

// DecodeSignMag decodes a sign-magnitude word with the sign at bit; bits above it are ignored.
func DecodeSignMag(raw uint16, bit uint) int {
	bit &= 15
	m := int(raw & (1<<bit - 1))
	if raw&(1<<bit) != 0 {
		return -m
	}
	return m
}

// Status error bits of a status packet (SCServo SDK naming).
type Status uint8

// Status bits.
const (
	StatusVoltage  Status = 1 << 0 // input voltage out of range
	StatusAngle    Status = 1 << 1 // position sensor / angle error
	StatusOverheat Status = 1 << 2 // temperature above limit
	StatusCurrent  Status = 1 << 3 // over-current
	StatusOverload Status = 1 << 5 // overload (torque limit exceeded)
)

var statusNames = [8]string{"voltage", "angle", "overheat", "current", "bit4", "overload", "bit6", "bit7"}

// String names the set bits, e.g. "overload|overheat"; "ok" when none.
func (s Status) String() string {
	if s == 0 {
		return "ok"
	}
	out := ""
	for i := 0; i < 8; i++ {
		if s&(1<<i) != 0 {
			if out != "" {
				out += "|"
			}
			out += statusNames[i]
		}
	}
	return out
}

// Packet is a decoded packet. Params aliases the decoded bytes: copy it to keep it.
type Packet struct {
	ID     byte
	Inst   byte // instruction code, or the error byte (a Status) of a status packet
	Params []byte
}

// Checksum returns the inverted byte sum of b (ID through the last parameter).
func Checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return ^s
}

// Encode writes the packet FF FF id len inst params chk into dst and returns its length.
// It fails with ErrBuffer when dst is short, ErrParams when params exceed MaxParams.
func Encode(dst []byte, id, inst byte, params []byte) (int, error) {
	if len(params) > MaxParams {
		return 0, ErrParams
	}
	if id == 0xFF {
		return 0, ErrID
	}
	n := Overhead + len(params)
	if len(dst) < n {
		return 0, ErrBuffer
	}
	dst[0], dst[1], dst[2], dst[3], dst[4] = Header, Header, id, byte(len(params)+2), inst
	copy(dst[5:], params)
	dst[n-1] = Checksum(dst[2 : n-1])
	return n, nil
}

// EncodeStatus writes a status packet (a servo's reply) with error byte st.
func EncodeStatus(dst []byte, id byte, st Status, params []byte) (int, error) {
	return Encode(dst, id, byte(st), params)
}

// EncodePing writes a ping for id.
func EncodePing(dst []byte, id byte) (int, error) { return Encode(dst, id, InstPing, nil) }

// EncodeAction writes an action (executes registered writes); usually id is BroadcastID.
func EncodeAction(dst []byte, id byte) (int, error) { return Encode(dst, id, InstAction, nil) }

// EncodeRead writes a read of n bytes at addr of servo id.
func EncodeRead(dst []byte, id, addr, n byte) (int, error) {
	p := [2]byte{addr, n}
	return Encode(dst, id, InstRead, p[:])
}

// EncodeWrite writes a write of data at addr of servo id.
func EncodeWrite(dst []byte, id, addr byte, data []byte) (int, error) {
	return encodeAddr(dst, id, InstWrite, addr, data)
}

// EncodeRegWrite writes a registered write (applied on Action) of data at addr of id.
func EncodeRegWrite(dst []byte, id, addr byte, data []byte) (int, error) {
	return encodeAddr(dst, id, InstRegWrite, addr, data)
}

func encodeAddr(dst []byte, id, inst, addr byte, data []byte) (int, error) {
	if len(data) == 0 || len(data)+1 > MaxParams {
		return 0, ErrParams
	}
	n := Overhead + 1 + len(data)
	if len(dst) < n {
		return 0, ErrBuffer
	}
	dst[0], dst[1], dst[2], dst[3], dst[4], dst[5] = Header, Header, id, byte(len(data)+3), inst, addr
	copy(dst[6:], data)
	dst[n-1] = Checksum(dst[2 : n-1])
	return n, nil
}

// EncodeSyncRead writes a broadcast sync read of n bytes at addr from each of ids; the
// servos answer with one status packet each, in the order of ids.
func EncodeSyncRead(dst []byte, addr, n byte, ids []byte) (int, error) {
	if len(ids) == 0 || len(ids)+2 > MaxParams || n == 0 {
		return 0, ErrParams
	}
	sz := Overhead + 2 + len(ids)
	if len(dst) < sz {
		return 0, ErrBuffer
	}
	dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], dst[6] = Header, Header, BroadcastID, byte(len(ids)+4), InstSyncRead, addr, n
	copy(dst[7:], ids)
	dst[sz-1] = Checksum(dst[2 : sz-1])
	return sz, nil
}

// EncodeSyncWrite writes a broadcast sync write of n bytes at addr: data holds n bytes per
// id, in the order of ids. No servo replies.
func EncodeSyncWrite(dst []byte, addr, n byte, ids, data []byte) (int, error) {
	if len(ids) == 0 || n == 0 || len(data) != len(ids)*int(n) || 2+len(ids)*(int(n)+1) > MaxParams {
		return 0, ErrParams
	}
	sz := Overhead + 2 + len(ids)*(int(n)+1)
	if len(dst) < sz {
		return 0, ErrBuffer
	}
	dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], dst[6] = Header, Header, BroadcastID, byte(sz-4), InstSyncWrite, addr, n
	o := 7
	for i, id := range ids {
		dst[o] = id
		copy(dst[o+1:o+1+int(n)], data[i*int(n):])
		o += int(n) + 1
	}
	dst[sz-1] = Checksum(dst[2 : sz-1])
	return sz, nil
}

// Decode decodes the one packet that starts at b[0] and returns it with the number of
// bytes it used. Errors: ErrHeader, ErrID, ErrLength, ErrIncomplete (b is a prefix of a
// packet), ErrChecksum.
func Decode(b []byte) (Packet, int, error) {
	if len(b) < 1 || b[0] != Header || (len(b) >= 2 && b[1] != Header) {
		if len(b) == 0 {
			return Packet{}, 0, ErrIncomplete
		}
		return Packet{}, 0, ErrHeader
	}
	if len(b) < 4 {
		if len(b) == 3 && b[2] == 0xFF {
			return Packet{}, 0, ErrID
		}
		return Packet{}, 0, ErrIncomplete
	}
	if b[2] == 0xFF {
		return Packet{}, 0, ErrID
	}
	l := int(b[3])
	if l < 2 || l > MaxParams+2 {
		return Packet{}, 0, ErrLength
	}
	n := l + 4
	if len(b) < n {
		return Packet{}, 0, ErrIncomplete
	}
	if Checksum(b[2:n-1]) != b[n-1] {
		return Packet{}, 0, ErrChecksum
	}
	return Packet{ID: b[2], Inst: b[4], Params: b[5 : n-1]}, n, nil
}

// ReadReq is the parameter block of a read instruction.
type ReadReq struct{ Addr, Len byte }

// ParseRead decodes the parameters of a read; ErrParams when they are not [addr, len>0].
func ParseRead(p []byte) (ReadReq, error) {
	if len(p) != 2 || p[1] == 0 {
		return ReadReq{}, ErrParams
	}
	return ReadReq{Addr: p[0], Len: p[1]}, nil
}

// WriteReq is the parameter block of a write or registered write. Data aliases the packet.
type WriteReq struct {
	Addr byte
	Data []byte
}

// ParseWrite decodes the parameters of a write; ErrParams when there is no data.
func ParseWrite(p []byte) (WriteReq, error) {
	if len(p) < 2 {
		return WriteReq{}, ErrParams
	}
	return WriteReq{Addr: p[0], Data: p[1:]}, nil
}

// SyncReadReq is the parameter block of a sync read. IDs aliases the packet.
type SyncReadReq struct {
	Addr, Len byte
	IDs       []byte
}

// ParseSyncRead decodes the parameters of a sync read; ErrParams when malformed.
func ParseSyncRead(p []byte) (SyncReadReq, error) {
	if len(p) < 3 || p[1] == 0 {
		return SyncReadReq{}, ErrParams
	}
	return SyncReadReq{Addr: p[0], Len: p[1], IDs: p[2:]}, nil
}

// SyncWriteReq is the parameter block of a sync write. Body aliases the packet: Count
// entries of one ID byte followed by Len data bytes.
type SyncWriteReq struct {
	Addr, Len byte
	Body      []byte
}

// ParseSyncWrite decodes the parameters of a sync write; ErrParams when the body is not a
// whole number of entries.
func ParseSyncWrite(p []byte) (SyncWriteReq, error) {
	if len(p) < 2 || p[1] == 0 {
		return SyncWriteReq{}, ErrParams
	}
	body := p[2:]
	if len(body) == 0 || len(body)%(int(p[1])+1) != 0 {
		return SyncWriteReq{}, ErrParams
	}
	return SyncWriteReq{Addr: p[0], Len: p[1], Body: body}, nil
}

// Count returns the number of entries.
func (s SyncWriteReq) Count() int { return len(s.Body) / (int(s.Len) + 1) }

// Entry returns the ID and data of entry i (0 <= i < Count()).
func (s SyncWriteReq) Entry(i int) (id byte, data []byte) {
	o := i * (int(s.Len) + 1)
	return s.Body[o], s.Body[o+1 : o+1+int(s.Len)]
}
