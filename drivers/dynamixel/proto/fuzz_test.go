package dxlproto

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode: Decode never panics, and a decoded packet re-encodes to bytes that decode
// to the same packet; the instruction parsers never panic on its params.
func FuzzDecode(f *testing.F) {
	for _, c := range cases {
		f.Add(wireBytes(f, c.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := Decode(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("n = %d > len %d", n, len(b))
		}
		enc := AppendPacket(nil, p)
		q, m, err := Decode(append([]byte(nil), enc...))
		if err != nil || m != len(enc) || q.ID != p.ID || q.Instruction != p.Instruction || q.Error != p.Error || !bytes.Equal(q.Params, p.Params) {
			t.Fatalf("re-decode: %+v %v, want %+v", q, err, p)
		}
		ParseRead(p.Params)
		ParseWrite(p.Params)
		ParseSyncRead(p.Params)
		if _, sn, cnt, err := ParseSyncWrite(p.Params); err == nil {
			for i := range cnt {
				if _, _, err := SyncWriteSlot(p.Params, sn, i); err != nil {
					t.Fatalf("slot %d of %d: %v", i, cnt, err)
				}
			}
		}
		if cnt, err := ParseBulkRead(p.Params); err == nil {
			for i := range cnt {
				if _, err := BulkReadItem(p.Params, i); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// FuzzFastSlot: slots of any status packet never panic and stay inside the params.
func FuzzFastSlot(f *testing.F) {
	f.Add(mustSW(AppendFastSyncStatus(nil, []FastReply{{1, 0, []byte{1, 2, 3, 4}}, {2, 0x80, []byte{5, 6, 7, 8}}})), 4)
	f.Add(AppendStatus(nil, 1, 0, []byte{1, 2}), 8)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		p, _, err := Decode(b)
		if err != nil {
			return
		}
		c, err := FastCount(&p, n)
		if err != nil {
			return
		}
		for i := range c {
			if _, _, d, err := FastSlot(&p, n, i); err != nil || len(d) != n {
				t.Fatalf("slot %d/%d: %d bytes, %v", i, c, len(d), err)
			}
		}
	})
}

// FuzzStream: whatever the bytes and however they are split, the stream never panics,
// and a valid packet appended after the garbage is always found.
func FuzzStream(f *testing.F) {
	f.Add([]byte{0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x30}, uint8(3))
	f.Add(AppendStatus(nil, 1, 0, []byte{0xFF, 0xFF, 0xFD}), uint8(1))
	f.Fuzz(func(t *testing.T, garbage []byte, chunk uint8) {
		s := NewStream(0)
		marker := AppendStatus(nil, 0xFC, 0x80, []byte{0xAA, 0x55})
		all := append(append([]byte(nil), garbage...), marker...)
		step := int(chunk)%16 + 1
		found := false
		for len(all) > 0 {
			k := min(step, len(all))
			s.Write(all[:k])
			all = all[k:]
			for {
				p, err := s.Next()
				if errors.Is(err, ErrShort) {
					break
				}
				if err == nil && p.ID == 0xFC && p.Error == 0x80 && bytes.Equal(p.Params, []byte{0xAA, 0x55}) {
					found = true
				}
			}
		}
		// A garbage prefix may hold a header whose length swallows the marker; only
		// require the marker when the garbage has no header.
		if !found && findHeader(append(garbage, 0xFF, 0xFF, 0xFD, 0x00)[:len(garbage)+3]) < 0 && len(garbage) < MaxLength/2 {
			t.Fatalf("marker packet lost after %d garbage bytes", len(garbage))
		}
	})
}
