package dxlproto

// Decode decodes the packet at the start of b and returns it with its encoded length n.
// It verifies header, length and CRC, then removes byte stuffing IN PLACE in b, so the
// returned Params are a view into b. A status from the broadcast ID (the combined reply
// of a Fast Sync Read or Fast Bulk Read) is never byte-stuffed (e-manual, Protocol 2.0,
// Fast Sync Read), so its parameters are taken as they are. Errors: ErrShort (b ends early), ErrHeader, ErrLength,
// ErrCRC (then b is unchanged and p.ID holds the unverified ID byte).
func Decode(b []byte) (p Packet, n int, err error) {
	for i := 0; i < 4 && i < len(b); i++ {
		if b[i] != header[i] {
			return p, 0, ErrHeader
		}
	}
	if len(b) < HeaderLen {
		return p, 0, ErrShort
	}
	id := b[4]
	if id > MaxID && id != BroadcastID {
		return p, 0, ErrHeader
	}
	l := int(b[5]) | int(b[6])<<8
	n = HeaderLen + l
	if l < 3 || n > MaxLength {
		return p, 0, ErrLength
	}
	if len(b) < n {
		return p, 0, ErrShort
	}
	p.ID = id
	if got, want := CRC(0, b[:n-2]), uint16(b[n-2])|uint16(b[n-1])<<8; got != want {
		return p, 0, ErrCRC
	}
	p.Instruction = Instruction(b[7])
	params := b[8 : n-2]
	if !(id == BroadcastID && p.Instruction == InstStatus) {
		params = unstuff(params)
	}
	if p.Instruction == InstStatus {
		if len(params) < 1 {
			return Packet{ID: id}, 0, ErrLength
		}
		p.Error = StatusError(params[0])
		params = params[1:]
	}
	p.Params = params
	return p, n, nil
}

var header = [4]byte{0xFF, 0xFF, 0xFD, 0x00}

// unstuff removes the FD that follows each FF FF FD in b, in place, and returns the prefix.
func unstuff(b []byte) []byte {
	w := 0
	pending := false // the last written bytes end an FF FF FD whose stuffing byte is due
	for r := 0; r < len(b); r++ {
		x := b[r]
		if pending {
			pending = false
			if x == 0xFD {
				continue
			}
		}
		b[w] = x
		w++
		if x == 0xFD && w >= 3 && b[w-2] == 0xFF && b[w-3] == 0xFF {
			pending = true
		}
	}
	return b[:w]
}

// le16 reads a little-endian uint16.
func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

// ParseRead splits the params of a read instruction into address and byte count.
func ParseRead(params []byte) (addr, n uint16, err error) {
	if len(params) != 4 {
		return 0, 0, ErrParams
	}
	return le16(params), le16(params[2:]), nil
}

// ParseWrite splits the params of a write instruction into address and data (a view).
func ParseWrite(params []byte) (addr uint16, data []byte, err error) {
	if len(params) < 3 {
		return 0, nil, ErrParams
	}
	return le16(params), params[2:], nil
}

// ParseSyncRead splits the params of a sync read or fast sync read into address, byte
// count and IDs (a view).
func ParseSyncRead(params []byte) (addr, n uint16, ids []byte, err error) {
	if len(params) < 5 {
		return 0, 0, nil, ErrParams
	}
	return le16(params), le16(params[2:]), params[4:], nil
}

// ParseSyncWrite splits the params of a sync write into address, byte count per servo and
// the number of servos; SyncWriteSlot returns each servo's part.
func ParseSyncWrite(params []byte) (addr, n uint16, count int, err error) {
	if len(params) < 4 {
		return 0, 0, 0, ErrParams
	}
	addr, n = le16(params), le16(params[2:])
	body := len(params) - 4
	if n == 0 || body == 0 || body%(int(n)+1) != 0 {
		return 0, 0, 0, ErrParams
	}
	return addr, n, body / (int(n) + 1), nil
}

// SyncWriteSlot returns the ID and data (a view) of slot i of sync write params already
// checked by ParseSyncWrite with byte count n. It returns ErrParams when i is out of range.
func SyncWriteSlot(params []byte, n uint16, i int) (id byte, data []byte, err error) {
	stride := int(n) + 1
	off := 4 + i*stride
	if i < 0 || len(params) < 4 || off+stride > len(params) {
		return 0, nil, ErrParams
	}
	return params[off], params[off+1 : off+stride], nil
}

// ParseBulkRead returns the number of items in bulk read params.
func ParseBulkRead(params []byte) (count int, err error) {
	if len(params) == 0 || len(params)%5 != 0 {
		return 0, ErrParams
	}
	return len(params) / 5, nil
}

// BulkReadItem returns item i of bulk read params; ErrParams when out of range.
func BulkReadItem(params []byte, i int) (BulkRead, error) {
	off := i * 5
	if i < 0 || off+5 > len(params) {
		return BulkRead{}, ErrParams
	}
	return BulkRead{ID: params[off], Addr: le16(params[off+1:]), Len: le16(params[off+3:])}, nil
}

// FastCount returns how many servo slots a fast sync read status p holds for data
// length n; ErrLength when the params do not divide into slots.
func FastCount(p *Packet, n int) (int, error) {
	stride := n + 4
	l := len(p.Params) + 3
	if n < 0 || l%stride != 0 {
		return 0, ErrLength
	}
	return l / stride, nil
}

// FastSlot returns servo slot i of a fast sync read status p with data length n: its ID,
// error byte and data (a view). Inner CRCs are not checked: the packet CRC covers them.
func FastSlot(p *Packet, n, i int) (id byte, e StatusError, data []byte, err error) {
	c, err := FastCount(p, n)
	if err != nil {
		return 0, 0, nil, err
	}
	if i < 0 || i >= c {
		return 0, 0, nil, ErrParams
	}
	off := i * (n + 4)
	if i == 0 {
		e = p.Error
	} else {
		e = StatusError(p.Params[off-1])
	}
	return p.Params[off], e, p.Params[off+1 : off+1+n], nil
}
