package dxlproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSW(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// cases is the one table run both ways: encode == wire, Decode(wire) == want.
// Wire bytes with a CRC from the ROBOTIS e-Manual examples are marked "manual".
var cases = []struct {
	name string
	enc  func([]byte) []byte
	want Packet
	wire string
}{
	{"ping (manual)", func(b []byte) []byte { return AppendPing(b, 1) },
		Packet{ID: 1, Instruction: InstPing, Params: []byte{}}, "FFFFFD00 01 0300 01 194E"},
	{"ping status (manual)", func(b []byte) []byte { return AppendStatus(b, 1, 0, []byte{0x06, 0x04, 0x26}) },
		Packet{ID: 1, Instruction: InstStatus, Params: []byte{0x06, 0x04, 0x26}}, "FFFFFD00 01 0700 55 00 060426 655D"},
	{"read (manual)", func(b []byte) []byte { return AppendRead(b, 1, 132, 4) },
		Packet{ID: 1, Instruction: InstRead, Params: []byte{0x84, 0, 4, 0}}, "FFFFFD00 01 0700 02 84000400 1D15"},
	{"read status (manual)", func(b []byte) []byte { return AppendStatus(b, 1, 0, []byte{0xA6, 0, 0, 0}) },
		Packet{ID: 1, Instruction: InstStatus, Params: []byte{0xA6, 0, 0, 0}}, "FFFFFD00 01 0800 55 00 A6000000 8CC0"},
	{"write (manual)", func(b []byte) []byte { return AppendWrite(b, 1, 116, []byte{0, 2, 0, 0}) },
		Packet{ID: 1, Instruction: InstWrite, Params: []byte{0x74, 0, 0, 2, 0, 0}}, "FFFFFD00 01 0900 03 7400 00020000 CA89"},
	{"write status (manual)", func(b []byte) []byte { return AppendStatus(b, 1, 0, nil) },
		Packet{ID: 1, Instruction: InstStatus, Params: []byte{}}, "FFFFFD00 01 0400 55 00 A10C"},
	{"sync read (manual)", func(b []byte) []byte { return AppendSyncRead(b, 132, 4, []byte{1, 2}) },
		Packet{ID: 0xFE, Instruction: InstSyncRead, Params: []byte{0x84, 0, 4, 0, 1, 2}}, "FFFFFD00 FE 0900 82 8400 0400 0102 CEFA"},
	{"sync write (manual)", func(b []byte) []byte {
		return mustSW(AppendSyncWrite(b, 116, 4, []byte{1, 2}, []byte{0x96, 0, 0, 0, 0xAA, 0, 0, 0}))
	}, Packet{ID: 0xFE, Instruction: InstSyncWrite, Params: []byte{0x74, 0, 4, 0, 1, 0x96, 0, 0, 0, 2, 0xAA, 0, 0, 0}},
		"FFFFFD00 FE 1100 83 7400 0400 01 96000000 02 AA000000 8287"},
	{"bulk read (manual)", func(b []byte) []byte {
		return AppendBulkRead(b, []BulkRead{{1, 144, 2}, {2, 146, 1}})
	}, Packet{ID: 0xFE, Instruction: InstBulkRead, Params: []byte{1, 0x90, 0, 2, 0, 2, 0x92, 0, 1, 0}},
		"FFFFFD00 FE 0D00 92 01 9000 0200 02 9200 0100 1A05"},
	{"fast sync read", func(b []byte) []byte { return AppendFastSyncRead(b, 132, 4, []byte{3, 7}) },
		Packet{ID: 0xFE, Instruction: InstFastSyncRead, Params: []byte{0x84, 0, 4, 0, 3, 7}}, "FFFFFD00 FE 0900 8A 8400 0400 0307 @"},
	{"fast sync status", func(b []byte) []byte {
		return mustSW(AppendFastSyncStatus(b, []FastReply{{3, 0, []byte{1, 2, 3, 4}}, {7, 0x80, []byte{5, 6, 7, 8}}}))
	}, Packet{ID: 0xFE, Instruction: InstStatus, Params: []byte{3, 1, 2, 3, 4, 0xBB, 0x9E, 0x80, 7, 5, 6, 7, 8}},
		"FFFFFD00 FE 1100 55 00 03 01020304 BB9E 80 07 05060708 @"},
	{"status with alert and error", func(b []byte) []byte { return AppendStatus(b, 5, 0x84, nil) },
		Packet{ID: 5, Instruction: InstStatus, Error: 0x84, Params: []byte{}}, "FFFFFD00 05 0400 55 84 @"},
	{"stuffing in write", func(b []byte) []byte { return AppendWrite(b, 1, 116, []byte{0xFF, 0xFF, 0xFD, 0xFD}) },
		Packet{ID: 1, Instruction: InstWrite, Params: []byte{0x74, 0, 0xFF, 0xFF, 0xFD, 0xFD}}, "FFFFFD00 01 0A00 03 7400 FFFFFDFD FD @"},
	{"stuffing twice in status", func(b []byte) []byte {
		return AppendStatus(b, 2, 0, []byte{0xFF, 0xFF, 0xFD, 0xFF, 0xFF, 0xFF, 0xFD})
	}, Packet{ID: 2, Instruction: InstStatus, Params: []byte{0xFF, 0xFF, 0xFD, 0xFF, 0xFF, 0xFF, 0xFD}},
		"FFFFFD00 02 0D00 55 00 FFFFFDFD FFFFFFFDFD @"},
}

// wireBytes decodes a case's hex; "@" stands for the CRC of everything before it.
func wireBytes(t testing.TB, s string) []byte {
	if strings.HasSuffix(s, "@") {
		b := unhex(t, strings.TrimSuffix(s, "@"))
		c := CRC(0, b)
		return append(b, byte(c), byte(c>>8))
	}
	return unhex(t, s)
}

func TestCasesBothWays(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wire := wireBytes(t, c.wire)
			got := c.enc(make([]byte, 0, 64))
			if !bytes.Equal(got, wire) {
				t.Fatalf("encode:\n got % X\nwant % X", got, wire)
			}
			in := append([]byte(nil), wire...)
			in = append(in, 0xAB) // a trailing byte must not be consumed
			p, n, err := Decode(in)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if n != len(wire) {
				t.Fatalf("decode consumed %d bytes, want %d", n, len(wire))
			}
			if !reflect.DeepEqual(p, c.want) {
				t.Fatalf("decode:\n got %+v\nwant %+v", p, c.want)
			}
			if again := AppendPacket(nil, p); !bytes.Equal(again, wire) {
				t.Fatalf("AppendPacket(decoded) = % X, want % X", again, wire)
			}
		})
	}
}

func TestCRCTable(t *testing.T) {
	// First and last entries of the table printed in the ROBOTIS e-Manual.
	want := map[int]uint16{0: 0x0000, 1: 0x8005, 2: 0x800F, 3: 0x000A, 8: 0x8033, 255: 0x0202}
	for i, w := range want {
		if crcTable[i] != w {
			t.Errorf("crcTable[%d] = %#04x, want %#04x", i, crcTable[i], w)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := wireBytes(t, "FFFFFD00 01 0400 55 00 A10C")
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	for _, c := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"partial header", good[:3], ErrShort},
		{"truncated", good[:len(good)-1], ErrShort},
		{"bad header", unhex(t, "FFFE FD00 01 0400 55 00 A10C"), ErrHeader},
		{"bad id", unhex(t, "FFFFFD00 FF 0400 55 00 A10C"), ErrHeader},
		{"length too small", unhex(t, "FFFFFD00 01 0200 55 00"), ErrLength},
		{"length too large", unhex(t, "FFFFFD00 01 FFFF 55 00"), ErrLength},
		{"crc", bad, ErrCRC},
	} {
		_, _, err := Decode(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if p, _, _ := Decode(bad); p.ID != 1 {
		t.Errorf("crc error: ID = %d, want the unverified 1", p.ID)
	}
	if _, err := AppendSyncWrite(nil, 116, 4, []byte{1, 2}, make([]byte, 7)); !errors.Is(err, ErrParams) {
		t.Errorf("sync write with short data: err = %v, want ErrParams", err)
	}
}

func TestFastSlots(t *testing.T) {
	wire := mustSW(AppendFastSyncStatus(nil, []FastReply{
		{1, 0, []byte{1, 0, 0, 0, 9, 9, 9, 9}}, {2, 0x80, []byte{0xFF, 0xFF, 0xFD, 0, 0, 0, 0, 0}}, {3, 0x01, []byte{3, 0, 0, 0, 0, 0, 0, 0}},
	}))
	p, _, err := Decode(wire)
	if err != nil {
		t.Fatal(err)
	}
	n, err := FastCount(&p, 8)
	if err != nil || n != 3 {
		t.Fatalf("FastCount = %d, %v; want 3", n, err)
	}
	wantIDs, wantErr := []byte{1, 2, 3}, []StatusError{0, 0x80, 1}
	for i := range 3 {
		id, e, data, err := FastSlot(&p, 8, i)
		if err != nil || id != wantIDs[i] || e != wantErr[i] || len(data) != 8 {
			t.Errorf("slot %d = %d %v %x %v", i, id, e, data, err)
		}
	}
	if _, _, d, _ := FastSlot(&p, 8, 1); !bytes.Equal(d[:3], []byte{0xFF, 0xFF, 0xFD}) {
		t.Errorf("slot 1 data: % X", d)
	}
	if _, _, _, err := FastSlot(&p, 8, 3); err == nil {
		t.Error("slot 3 of 3: want error")
	}
	if _, err := FastCount(&p, 7); err == nil {
		t.Error("FastCount with the wrong data length: want error")
	}
}

func TestStatusErrorString(t *testing.T) {
	for e, want := range map[StatusError]string{0: "ok", 0x80: "hardware alert", 0x84: "hardware alert, data range error", 0x07: "access error", 0x09: "unknown error 9"} {
		if got := e.String(); got != want {
			t.Errorf("%#x: %q, want %q", byte(e), got, want)
		}
	}
	if got := HardwareString(HWOverload | HWOverheating); got != "overheating, overload" {
		t.Errorf("HardwareString = %q", got)
	}
}

func TestParseHelpers(t *testing.T) {
	sw := mustSW(AppendSyncWrite(nil, 116, 4, []byte{1, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	p, _, _ := Decode(sw)
	addr, n, count, err := ParseSyncWrite(p.Params)
	if err != nil || addr != 116 || n != 4 || count != 2 {
		t.Fatalf("ParseSyncWrite = %d %d %d %v", addr, n, count, err)
	}
	id, data, err := SyncWriteSlot(p.Params, n, 1)
	if err != nil || id != 2 || !bytes.Equal(data, []byte{5, 6, 7, 8}) {
		t.Fatalf("SyncWriteSlot(1) = %d % X %v", id, data, err)
	}
	br := AppendBulkRead(nil, []BulkRead{{1, 132, 4}, {9, 70, 1}})
	p, _, _ = Decode(br)
	if c, err := ParseBulkRead(p.Params); err != nil || c != 2 {
		t.Fatalf("ParseBulkRead = %d %v", c, err)
	}
	if it, err := BulkReadItem(p.Params, 1); err != nil || it != (BulkRead{9, 70, 1}) {
		t.Fatalf("BulkReadItem = %+v %v", it, err)
	}
	if _, _, _, err := ParseSyncWrite([]byte{116, 0, 4, 0, 1, 2}); err == nil {
		t.Error("ParseSyncWrite of a partial slot: want error")
	}
}

func TestCalibration(t *testing.T) {
	c := Calibration{}
	if got := c.Ticks(0); got != 2048 {
		t.Errorf("Ticks(0) = %d, want 2048", got)
	}
	if got := c.Radians(3072); got < 1.5707 || got > 1.5709 {
		t.Errorf("Radians(3072) = %v, want π/2", got)
	}
	r := Calibration{Offset: 100, Direction: -1, Resolution: 4096}
	for _, q := range []float64{-2, -0.5, 0, 0.7, 3} {
		if got := r.Radians(r.Ticks(q)); got-q > 0.002 || q-got > 0.002 {
			t.Errorf("round trip %v -> %v", q, got)
		}
	}
	if r.Ticks(0.1) >= r.Ticks(0) {
		t.Error("direction -1: ticks must fall as rad rises")
	}
}

func TestZeroAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	ids := []byte{1, 2, 3, 4, 5, 6}
	data := make([]byte, 24)
	wire := AppendSyncRead(nil, 128, 8, ids)
	st := AppendStatus(nil, 3, 0, make([]byte, 8))
	fast := mustSW(AppendFastSyncStatus(nil, []FastReply{{1, 0, data[:8]}, {2, 0, data[8:16]}}))
	s := NewStream(0)
	allocs := testing.AllocsPerRun(200, func() {
		buf = AppendSyncRead(buf[:0], 128, 8, ids)
		buf, _ = AppendSyncWrite(buf[:0], 116, 4, ids, data)
		buf = AppendFastSyncRead(buf[:0], 128, 8, ids)
		buf = AppendStatus(buf[:0], 1, 0, data)
		buf, _ = AppendFastSyncStatus(buf[:0], []FastReply{{1, 0, data[:4]}})
		if _, _, err := Decode(wire); err != nil {
			t.Fatal(err)
		}
		if p, _, err := Decode(fast); err != nil {
			t.Fatal(err)
		} else if _, _, _, err := FastSlot(&p, 8, 1); err != nil {
			t.Fatal(err)
		}
		s.Write(st[:5])
		s.Write(st[5:])
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("codec allocates %v per run, want 0", allocs)
	}
}

func BenchmarkEncodeSyncWrite6(b *testing.B) {
	buf := make([]byte, 0, 256)
	ids := []byte{1, 2, 3, 4, 5, 6}
	data := make([]byte, 24)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendSyncWrite(buf[:0], 116, 4, ids, data)
	}
}

func BenchmarkDecodeStatus(b *testing.B) {
	wire := AppendStatus(nil, 3, 0, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamSixReplies(b *testing.B) {
	var wire []byte
	for id := byte(1); id <= 6; id++ {
		wire = AppendStatus(wire, id, 0, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	}
	s := NewStream(0)
	b.ReportAllocs()
	for b.Loop() {
		s.Write(wire)
		for range 6 {
			if _, err := s.Next(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestFastSyncStatusNeverStuffed: the e-manual (Protocol 2.0, Fast Sync Read) says the
// combined reply is never byte-stuffed. Data FF FF FD FD must go on the wire as is, and
// a decoder must not remove the second FD (which belongs to the data).
func TestFastSyncStatusNeverStuffed(t *testing.T) {
	data := []byte{0xFF, 0xFF, 0xFD, 0xFD}
	wire := mustSW(AppendFastSyncStatus(nil, []FastReply{{1, 0, data}, {2, 0, []byte{0xFF, 0xFF, 0xFD, 0x00}}}))
	// header 7 + inst 1 + (err id data crc) 8 + (err id data) 6 + crc 2
	if len(wire) != 7+1+8+6+2 {
		t.Fatalf("fast status is %d bytes (% X), want 24: stuffed?", len(wire), wire)
	}
	if !bytes.Equal(wire[10:14], data) {
		t.Fatalf("slot 0 data on the wire % X, want % X", wire[10:14], data)
	}
	p, n, err := Decode(append([]byte(nil), wire...))
	if err != nil || n != len(wire) {
		t.Fatalf("Decode: n=%d err=%v", n, err)
	}
	for i, want := range [][]byte{data, {0xFF, 0xFF, 0xFD, 0x00}} {
		if _, _, d, err := FastSlot(&p, 4, i); err != nil || !bytes.Equal(d, want) {
			t.Errorf("slot %d data % X (%v), want % X", i, d, err, want)
		}
	}
	// A unicast status with the same bytes is stuffed and unstuffed.
	st := AppendStatus(nil, 1, 0, data)
	if q, _, err := Decode(st); err != nil || !bytes.Equal(q.Params, data) || len(st) != 11+4+1 {
		t.Fatalf("unicast status: % X decoded %+v %v", st, q, err)
	}
}
