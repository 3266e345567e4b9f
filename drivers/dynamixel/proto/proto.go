package dxlproto

import (
	"errors"
	"strings"
)

// Instruction is the instruction byte of a packet.
type Instruction byte

// Instructions of Protocol 2.0.
const (
	InstPing         Instruction = 0x01
	InstRead         Instruction = 0x02
	InstWrite        Instruction = 0x03
	InstRegWrite     Instruction = 0x04
	InstAction       Instruction = 0x05
	InstFactoryReset Instruction = 0x06
	InstReboot       Instruction = 0x08
	InstClear        Instruction = 0x10
	InstStatus       Instruction = 0x55
	InstSyncRead     Instruction = 0x82
	InstSyncWrite    Instruction = 0x83
	InstFastSyncRead Instruction = 0x8A
	InstBulkRead     Instruction = 0x92
	InstBulkWrite    Instruction = 0x93
)

// Packet geometry and special IDs.
const (
	HeaderLen   = 7    // FF FF FD 00 ID LEN_L LEN_H
	MinPacket   = 10   // header, instruction, CRC
	MinStatus   = 11   // header, 0x55, error, CRC
	BroadcastID = 0xFE // every servo executes; only sync/bulk reads and ping reply
	MaxID       = 0xFC // highest unicast ID (252)
	// MaxLength is the largest packet this codec accepts (header + LEN), bytes.
	MaxLength = 4096
)

// Sentinel errors of the codec; callers branch on them with errors.Is.
var (
	// ErrShort: the bytes end before the packet does (truncated or not yet received).
	ErrShort = errors.New("dxlproto: short packet")
	// ErrHeader: the bytes do not start with FF FF FD 00.
	ErrHeader = errors.New("dxlproto: bad header")
	// ErrLength: the length field is impossible (too small, too large, or inconsistent).
	ErrLength = errors.New("dxlproto: bad length")
	// ErrCRC: the CRC-16 does not match the packet.
	ErrCRC = errors.New("dxlproto: crc mismatch")
	// ErrParams: the parameters do not fit the instruction (e.g. odd sync write data).
	ErrParams = errors.New("dxlproto: bad parameters")
	// ErrBuffer: the destination buffer cannot hold the result.
	ErrBuffer = errors.New("dxlproto: buffer too small")
)

// Status error field codes (bits 0..6 of the status error byte).
const (
	ErrCodeResultFail  = 0x01 // the instruction failed
	ErrCodeInstruction = 0x02 // undefined instruction, or action without reg write
	ErrCodeCRC         = 0x03 // the servo saw a CRC mismatch
	ErrCodeDataRange   = 0x04 // data out of range
	ErrCodeDataLength  = 0x05 // data shorter than the field
	ErrCodeDataLimit   = 0x06 // data beyond the limit
	ErrCodeAccess      = 0x07 // write to read-only, read from write-only, EEPROM while torque on
	// AlertBit is set in every status while the servo has a hardware error (see address 70).
	AlertBit = 0x80
)

// StatusError is the error byte of a status packet.
type StatusError byte

// Alert reports the hardware alert bit (0x80): read Hardware Error Status for details.
func (e StatusError) Alert() bool { return e&AlertBit != 0 }

// Code returns the error number (bits 0..6); zero means success.
func (e StatusError) Code() byte { return byte(e) &^ AlertBit }

// String describes the error byte, e.g. "alert, data range error"; "ok" when zero.
func (e StatusError) String() string {
	var b strings.Builder
	if e.Alert() {
		b.WriteString("hardware alert")
	}
	if c := e.Code(); c != 0 {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(codeName(c))
	}
	if b.Len() == 0 {
		return "ok"
	}
	return b.String()
}

func codeName(c byte) string {
	switch c {
	case ErrCodeResultFail:
		return "result fail"
	case ErrCodeInstruction:
		return "instruction error"
	case ErrCodeCRC:
		return "crc error"
	case ErrCodeDataRange:
		return "data range error"
	case ErrCodeDataLength:
		return "data length error"
	case ErrCodeDataLimit:
		return "data limit error"
	case ErrCodeAccess:
		return "access error"
	}
	return "unknown error " + itoa(int(c))
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

// Packet is one decoded or to-be-encoded packet. For status packets Instruction is
// InstStatus and Error holds the error byte; Params never include the error byte.
// Params is a view: into the decoded bytes after Decode, owned by the caller for encoding.
type Packet struct {
	ID          byte
	Instruction Instruction
	Error       StatusError
	Params      []byte
}

// IsStatus reports whether p is a status (reply) packet.
func (p *Packet) IsStatus() bool { return p.Instruction == InstStatus }
