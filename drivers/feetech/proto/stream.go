package ftproto

// Decoder extracts packets from a byte stream. It resynchronises on the next FF FF header
// after garbage, bad checksums, impossible lengths and truncated packets, and counts what
// it dropped. The zero value is ready; it never allocates.
type Decoder struct {
	buf  [2 * MaxPacket]byte
	r, w int
	// Skipped counts bytes dropped while resynchronising.
	Skipped int
	// Corrupt counts header-aligned packets dropped for a bad checksum or length.
	Corrupt int
}

// Reset drops all buffered bytes (e.g. after a reply timeout); counters are kept.
func (d *Decoder) Reset() { d.r, d.w = 0, 0 }

// Buffered returns the number of bytes held but not yet decoded.
func (d *Decoder) Buffered() int { return d.w - d.r }

// Space returns the free tail of the buffer, at least MaxPacket bytes, for reading into
// directly; report what was filled with Commit.
func (d *Decoder) Space() []byte {
	d.compact()
	return d.buf[d.w:]
}

// Commit adds n bytes written into the slice returned by Space; n is clamped to fit.
func (d *Decoder) Commit(n int) {
	if n < 0 {
		n = 0
	}
	if n > len(d.buf)-d.w {
		n = len(d.buf) - d.w
	}
	d.w += n
}

// Write copies as much of p as fits and returns how much that was; call Next until it
// reports no packet before writing the rest. It never fails.
func (d *Decoder) Write(p []byte) (int, error) {
	d.compact()
	n := copy(d.buf[d.w:], p)
	d.w += n
	return n, nil
}

func (d *Decoder) compact() {
	if d.r == 0 {
		return
	}
	if d.r == d.w {
		d.r, d.w = 0, 0
		return
	}
	if len(d.buf)-d.w >= MaxPacket {
		return
	}
	copy(d.buf[:], d.buf[d.r:d.w])
	d.w -= d.r
	d.r = 0
}

// Next returns the next valid packet and true, or false when more bytes are needed.
// The packet's Params alias the decoder's buffer until the next Write, Space or Reset.
func (d *Decoder) Next() (Packet, bool) {
	for d.r < d.w {
		b := d.buf[d.r:d.w]
		if b[0] != Header {
			d.r++
			d.Skipped++
			continue
		}
		p, n, err := Decode(b)
		switch err {
		case nil:
			d.r += n
			return p, true
		case ErrIncomplete:
			return Packet{}, false
		case ErrChecksum, ErrLength:
			d.Corrupt++
		}
		d.r++
		d.Skipped++
	}
	return Packet{}, false
}
