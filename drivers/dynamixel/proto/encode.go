package dxlproto

// begin appends the header, id, a placeholder length and the instruction.
func begin(dst []byte, id byte, inst Instruction) []byte {
	return append(dst, 0xFF, 0xFF, 0xFD, 0x00, id, 0, 0, byte(inst))
}

// stuff appends b to dst, inserting FD after every FF FF FD that ends at or after
// region (the index of the first parameter byte).
func stuff(dst []byte, region int, b ...byte) []byte {
	for _, x := range b {
		dst = append(dst, x)
		n := len(dst)
		if x == 0xFD && n-region >= 3 && dst[n-2] == 0xFF && dst[n-3] == 0xFF {
			dst = append(dst, 0xFD)
		}
	}
	return dst
}

// finish fills in the length of the packet starting at start and appends its CRC.
func finish(dst []byte, start int) []byte {
	n := len(dst) - start - HeaderLen + 2
	dst[start+5] = byte(n)
	dst[start+6] = byte(n >> 8)
	crc := CRC(0, dst[start:])
	return append(dst, byte(crc), byte(crc>>8))
}

// AppendPacket appends the encoding of p (stuffed, with length and CRC) to dst. A status
// packet (InstStatus) carries p.Error before its parameters. It allocates only when dst
// lacks capacity.
func AppendPacket(dst []byte, p Packet) []byte {
	start := len(dst)
	dst = begin(dst, p.ID, p.Instruction)
	region := len(dst)
	if p.Instruction == InstStatus {
		dst = stuff(dst, region, byte(p.Error))
	}
	dst = stuff(dst, region, p.Params...)
	return finish(dst, start)
}

// AppendPing appends a ping to id (BroadcastID pings every servo).
func AppendPing(dst []byte, id byte) []byte {
	return finish(begin(dst, id, InstPing), len(dst))
}

// AppendRead appends a read of n bytes from control-table address addr of servo id.
func AppendRead(dst []byte, id byte, addr, n uint16) []byte {
	start := len(dst)
	dst = begin(dst, id, InstRead)
	dst = stuff(dst, len(dst), byte(addr), byte(addr>>8), byte(n), byte(n>>8))
	return finish(dst, start)
}

// AppendWrite appends a write of data at control-table address addr of servo id.
func AppendWrite(dst []byte, id byte, addr uint16, data []byte) []byte {
	start := len(dst)
	dst = begin(dst, id, InstWrite)
	region := len(dst)
	dst = stuff(dst, region, byte(addr), byte(addr>>8))
	dst = stuff(dst, region, data...)
	return finish(dst, start)
}

// AppendSyncRead appends a sync read of n bytes at addr from every servo in ids; each
// replies with its own status packet, in the order of ids.
func AppendSyncRead(dst []byte, addr, n uint16, ids []byte) []byte {
	return appendSyncRead(dst, InstSyncRead, addr, n, ids)
}

// AppendFastSyncRead appends a fast sync read of n bytes at addr from every servo in ids;
// they answer together with one combined status packet (see FastSlot).
func AppendFastSyncRead(dst []byte, addr, n uint16, ids []byte) []byte {
	return appendSyncRead(dst, InstFastSyncRead, addr, n, ids)
}

func appendSyncRead(dst []byte, inst Instruction, addr, n uint16, ids []byte) []byte {
	start := len(dst)
	dst = begin(dst, BroadcastID, inst)
	region := len(dst)
	dst = stuff(dst, region, byte(addr), byte(addr>>8), byte(n), byte(n>>8))
	dst = stuff(dst, region, ids...)
	return finish(dst, start)
}

// AppendSyncWrite appends a sync write of n bytes at addr: servo ids[i] gets
// data[i*n:(i+1)*n]. It returns ErrParams, leaving dst unchanged, when len(data) is not
// len(ids)*n.
func AppendSyncWrite(dst []byte, addr, n uint16, ids, data []byte) ([]byte, error) {
	if len(data) != len(ids)*int(n) {
		return dst, ErrParams
	}
	start := len(dst)
	dst = begin(dst, BroadcastID, InstSyncWrite)
	region := len(dst)
	dst = stuff(dst, region, byte(addr), byte(addr>>8), byte(n), byte(n>>8))
	for i, id := range ids {
		dst = stuff(dst, region, id)
		dst = stuff(dst, region, data[i*int(n):(i+1)*int(n)]...)
	}
	return finish(dst, start), nil
}

// BulkRead is one item of a bulk read: Len bytes at Addr of servo ID.
type BulkRead struct {
	ID   byte
	Addr uint16
	Len  uint16
}

// AppendBulkRead appends a bulk read; each servo replies with its own status packet, in order.
func AppendBulkRead(dst []byte, items []BulkRead) []byte {
	start := len(dst)
	dst = begin(dst, BroadcastID, InstBulkRead)
	region := len(dst)
	for _, it := range items {
		dst = stuff(dst, region, it.ID, byte(it.Addr), byte(it.Addr>>8), byte(it.Len), byte(it.Len>>8))
	}
	return finish(dst, start)
}

// AppendStatus appends a status packet from servo id with error byte e and params.
func AppendStatus(dst []byte, id byte, e StatusError, params []byte) []byte {
	return AppendPacket(dst, Packet{ID: id, Instruction: InstStatus, Error: e, Params: params})
}

// FastReply is one servo's slot in a fast sync read status.
type FastReply struct {
	ID    byte
	Error StatusError
	Data  []byte
}

// AppendFastSyncStatus appends the combined status of a fast sync read: for each reply
// [error, id, data, crc], where each inner CRC covers that slot's error, id and data and
// the last slot's CRC is the packet CRC. All replies must carry the same data length, else
// ErrParams and dst unchanged.
func AppendFastSyncStatus(dst []byte, replies []FastReply) ([]byte, error) {
	if len(replies) == 0 {
		return dst, ErrParams
	}
	for _, r := range replies {
		if len(r.Data) != len(replies[0].Data) {
			return dst, ErrParams
		}
	}
	start := len(dst)
	dst = begin(dst, BroadcastID, InstStatus)
	// Never byte-stuffed (e-manual, Protocol 2.0, Fast Sync Read): the host knows the
	// packet's length from the instruction it sent.
	for i, r := range replies {
		dst = append(dst, byte(r.Error), r.ID)
		dst = append(dst, r.Data...)
		if i < len(replies)-1 {
			crc := CRC(crcByte(crcByte(0, byte(r.Error)), r.ID), r.Data)
			dst = append(dst, byte(crc), byte(crc>>8))
		}
	}
	return finish(dst, start), nil
}
