package dxlproto

// Stream reassembles packets from a byte stream that may split them across reads, carry
// garbage between them, corrupt them or cut them short. Feed it with Write (or Free plus
// Commit) and take packets with Next. Not safe for concurrent use.
type Stream struct {
	buf  []byte
	r, w int
	// Skipped counts bytes discarded while hunting for a header (garbage, bad packets).
	Skipped int
}

// NewStream returns a Stream with a buffer of size bytes (at least MaxLength).
func NewStream(size int) *Stream {
	if size < MaxLength {
		size = MaxLength
	}
	return &Stream{buf: make([]byte, size)}
}

// Reset discards every buffered byte.
func (s *Stream) Reset() { s.r, s.w = 0, 0 }

// Buffered returns the number of bytes held and not yet decoded.
func (s *Stream) Buffered() int { return s.w - s.r }

func (s *Stream) compact() {
	if s.r == 0 {
		return
	}
	copy(s.buf, s.buf[s.r:s.w])
	s.w -= s.r
	s.r = 0
}

// Free returns the unused tail of the buffer, to read into directly; Commit(n) then adds
// its first n bytes. It compacts first, so it is empty only when the buffer is full.
func (s *Stream) Free() []byte {
	s.compact()
	return s.buf[s.w:]
}

// Commit adds the first n bytes of the slice last returned by Free.
func (s *Stream) Commit(n int) {
	if n > 0 && s.w+n <= len(s.buf) {
		s.w += n
	}
}

// Write appends p. When p does not fit it keeps the newest bytes, counts the dropped
// ones in Skipped and returns ErrBuffer along with len(p).
func (s *Stream) Write(p []byte) (int, error) {
	free := s.Free()
	if len(p) <= len(free) {
		s.w += copy(free, p)
		return len(p), nil
	}
	// Overflow: drop the oldest bytes.
	total := s.w + len(p)
	drop := total - len(s.buf)
	if drop >= s.w {
		s.Skipped += s.w + (len(p) - len(s.buf))
		s.w = copy(s.buf, p[len(p)-len(s.buf):])
		return len(p), ErrBuffer
	}
	copy(s.buf, s.buf[drop:s.w])
	s.w -= drop
	s.Skipped += drop
	s.w += copy(s.buf[s.w:], p)
	return len(p), ErrBuffer
}

// Next returns the next whole packet; its Params are a view valid until the next call
// to Write, Free or Next. ErrShort means more bytes are needed. ErrCRC or ErrLength mean
// a bad packet was skipped (p.ID holds its unverified ID for ErrCRC); call Next again to
// continue with the bytes after its header.
func (s *Stream) Next() (Packet, error) {
	for {
		b := s.buf[s.r:s.w]
		i := findHeader(b)
		if i < 0 {
			// Keep a possible partial header at the end.
			keep := min(len(b), 3)
			for keep > 0 && !isHeaderPrefix(b[len(b)-keep:]) {
				keep--
			}
			s.Skipped += len(b) - keep
			s.r = s.w - keep
			return Packet{}, ErrShort
		}
		s.Skipped += i
		s.r += i
		p, n, err := Decode(s.buf[s.r:s.w])
		switch err {
		case nil:
			s.r += n
			return p, nil
		case ErrShort:
			return Packet{}, ErrShort
		case ErrHeader:
			s.r++
			s.Skipped++
			continue
		default: // ErrCRC, ErrLength
			s.r++
			s.Skipped++
			return p, err
		}
	}
}

func isHeaderPrefix(b []byte) bool {
	for i, x := range b {
		if x != header[i] {
			return false
		}
	}
	return true
}

// findHeader returns the index of the first FF FF FD 00 in b, or -1.
func findHeader(b []byte) int {
	for i := 0; i+4 <= len(b); i++ {
		if b[i] == 0xFF && b[i+1] == 0xFF && b[i+2] == 0xFD && b[i+3] == 0x00 {
			return i
		}
	}
	return -1
}
