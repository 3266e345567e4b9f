package ftproto

import (
	"bytes"
	"errors"
	"testing"
)

// cases is run both ways: encode must produce wire, Decode(wire) must produce the packet.
var cases = []struct {
	name   string
	encode func(dst []byte) (int, error)
	wire   []byte
	pkt    Packet
}{
	{"ping", func(d []byte) (int, error) { return EncodePing(d, 1) },
		[]byte{0xFF, 0xFF, 0x01, 0x02, 0x01, 0xFB}, Packet{1, InstPing, []byte{}}},
	{"read pos+speed", func(d []byte) (int, error) { return EncodeRead(d, 1, 56, 4) },
		[]byte{0xFF, 0xFF, 0x01, 0x04, 0x02, 0x38, 0x04, 0xBC}, Packet{1, InstRead, []byte{0x38, 4}}},
	{"write goal 2048", func(d []byte) (int, error) { return EncodeWrite(d, 1, 42, []byte{0x00, 0x08}) },
		[]byte{0xFF, 0xFF, 0x01, 0x05, 0x03, 0x2A, 0x00, 0x08, 0xC4}, Packet{1, InstWrite, []byte{0x2A, 0, 8}}},
	{"reg write", func(d []byte) (int, error) { return EncodeRegWrite(d, 3, 42, []byte{0x08, 0x00}) },
		[]byte{0xFF, 0xFF, 0x03, 0x05, 0x04, 0x2A, 0x08, 0x00, 0xC1}, Packet{3, InstRegWrite, []byte{0x2A, 8, 0}}},
	{"action", func(d []byte) (int, error) { return EncodeAction(d, BroadcastID) },
		[]byte{0xFF, 0xFF, 0xFE, 0x02, 0x05, 0xFA}, Packet{BroadcastID, InstAction, []byte{}}},
	{"sync write", func(d []byte) (int, error) {
		return EncodeSyncWrite(d, 42, 2, []byte{1, 2}, []byte{0x00, 0x08, 0xFF, 0x0F})
	}, []byte{0xFF, 0xFF, 0xFE, 0x0A, 0x83, 0x2A, 0x02, 0x01, 0x00, 0x08, 0x02, 0xFF, 0x0F, 0x2F},
		Packet{BroadcastID, InstSyncWrite, []byte{0x2A, 2, 1, 0, 8, 2, 0xFF, 0x0F}}},
	{"sync read", func(d []byte) (int, error) { return EncodeSyncRead(d, 56, 4, []byte{1, 2, 3}) },
		[]byte{0xFF, 0xFF, 0xFE, 0x07, 0x82, 0x38, 0x04, 0x01, 0x02, 0x03, 0x36},
		Packet{BroadcastID, InstSyncRead, []byte{0x38, 4, 1, 2, 3}}},
	{"status pos 2048 speed -16", func(d []byte) (int, error) {
		return EncodeStatus(d, 1, 0, []byte{0x00, 0x08, 0x10, 0x80})
	}, []byte{0xFF, 0xFF, 0x01, 0x06, 0x00, 0x00, 0x08, 0x10, 0x80, 0x60}, Packet{1, 0, []byte{0, 8, 0x10, 0x80}}},
	{"status overload", func(d []byte) (int, error) { return EncodeStatus(d, 1, StatusOverload, nil) },
		[]byte{0xFF, 0xFF, 0x01, 0x02, 0x20, 0xDC}, Packet{1, byte(StatusOverload), []byte{}}},
	{"status model 777", func(d []byte) (int, error) { return EncodeStatus(d, 1, 0, []byte{0x09, 0x03}) },
		[]byte{0xFF, 0xFF, 0x01, 0x04, 0x00, 0x09, 0x03, 0xEE}, Packet{1, 0, []byte{0x09, 0x03}}},
}

func TestCasesBothWays(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf [MaxPacket]byte
			n, err := c.encode(buf[:])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], c.wire) {
				t.Fatalf("encode = % X, want % X", buf[:n], c.wire)
			}
			p, m, err := Decode(c.wire)
			if err != nil || m != len(c.wire) {
				t.Fatalf("decode: n=%d err=%v", m, err)
			}
			if p.ID != c.pkt.ID || p.Inst != c.pkt.Inst || !bytes.Equal(p.Params, c.pkt.Params) {
				t.Fatalf("decode = %+v, want %+v", p, c.pkt)
			}
			// Every strict prefix is incomplete; a flipped checksum is caught.
			for i := 0; i < len(c.wire); i++ {
				if _, _, err := Decode(c.wire[:i]); err != ErrIncomplete {
					t.Fatalf("prefix %d: err = %v, want ErrIncomplete", i, err)
				}
			}
			bad := append([]byte(nil), c.wire...)
			bad[len(bad)-1] ^= 0x01
			if _, _, err := Decode(bad); err != ErrChecksum {
				t.Fatalf("flipped checksum: err = %v", err)
			}
			if _, err := c.encode(buf[:n-1]); err != ErrBuffer {
				t.Fatalf("short dst: err = %v, want ErrBuffer", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	sw, err := ParseSyncWrite(cases[5].pkt.Params)
	if err != nil || sw.Addr != 42 || sw.Len != 2 || sw.Count() != 2 {
		t.Fatalf("sync write %+v %v", sw, err)
	}
	if id, d := sw.Entry(1); id != 2 || STS.Word(d) != 0x0FFF {
		t.Fatalf("entry 1 = %d % X", id, d)
	}
	sr, err := ParseSyncRead(cases[6].pkt.Params)
	if err != nil || sr.Addr != 56 || sr.Len != 4 || !bytes.Equal(sr.IDs, []byte{1, 2, 3}) {
		t.Fatalf("sync read %+v %v", sr, err)
	}
	if r, err := ParseRead([]byte{56, 4}); err != nil || r != (ReadReq{56, 4}) {
		t.Fatalf("read %+v %v", r, err)
	}
	if w, err := ParseWrite([]byte{40, 1}); err != nil || w.Addr != 40 || !bytes.Equal(w.Data, []byte{1}) {
		t.Fatalf("write %+v %v", w, err)
	}
	for _, p := range [][]byte{nil, {1}, {42, 2, 1, 0}, {42, 0, 1}} {
		if _, err := ParseSyncWrite(p); err != ErrParams {
			t.Errorf("ParseSyncWrite(% X) err = %v", p, err)
		}
	}
	for _, p := range [][]byte{nil, {1, 2}, {56, 0, 1}} {
		if _, err := ParseSyncRead(p); err != ErrParams {
			t.Errorf("ParseSyncRead(% X) err = %v", p, err)
		}
	}
	if _, err := ParseRead([]byte{56, 0}); err != ErrParams {
		t.Error("read of 0 bytes accepted")
	}
	if _, err := ParseWrite([]byte{56}); err != ErrParams {
		t.Error("write without data accepted")
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want error
	}{
		{[]byte{0x00}, ErrHeader},
		{[]byte{0xFF, 0x00}, ErrHeader},
		{[]byte{0xFF, 0xFF, 0xFF}, ErrID},
		{[]byte{0xFF, 0xFF, 0x01, 0x01}, ErrLength},
		{[]byte{0xFF, 0xFF, 0x01, 0xFF}, ErrLength},
		{nil, ErrIncomplete},
	} {
		if _, _, err := Decode(c.in); err != c.want {
			t.Errorf("Decode(% X) = %v, want %v", c.in, err, c.want)
		}
	}
	if _, err := EncodeSyncWrite(make([]byte, 64), 42, 2, []byte{1, 2}, []byte{1, 2, 3}); err != ErrParams {
		t.Errorf("mismatched sync write data: %v", err)
	}
	if _, err := Encode(make([]byte, 8), 0xFF, 1, nil); err != ErrID {
		t.Errorf("id 0xFF: %v", err)
	}
}

func TestWordsAndSignMag(t *testing.T) {
	for _, c := range []struct {
		s    Series
		v    uint16
		wire [2]byte
	}{{STS, 0x0800, [2]byte{0x00, 0x08}}, {SCS, 0x0800, [2]byte{0x08, 0x00}}, {STS, 0x8123, [2]byte{0x23, 0x81}}, {SCS, 0x8123, [2]byte{0x81, 0x23}}} {
		var b [2]byte
		c.s.PutWord(b[:], c.v)
		if b != c.wire || c.s.Word(c.wire[:]) != c.v {
			t.Errorf("%v %#x: put % X, want % X", c.s, c.v, b, c.wire)
		}
	}
	for _, c := range []struct {
		v   int
		bit uint
		raw uint16
	}{{0, 15, 0}, {100, 15, 100}, {-100, 15, 0x8064}, {32767, 15, 0x7FFF}, {-32767, 15, 0xFFFF},
		{500, 10, 500}, {-500, 10, 0x400 | 500}, {1023, 10, 1023}, {-1, 10, 0x401}} {
		if got := EncodeSignMag(c.v, c.bit); got != c.raw {
			t.Errorf("EncodeSignMag(%d,%d) = %#x, want %#x", c.v, c.bit, got, c.raw)
		}
		if got := DecodeSignMag(c.raw, c.bit); got != c.v {
			t.Errorf("DecodeSignMag(%#x,%d) = %d, want %d", c.raw, c.bit, got, c.v)
		}
	}
	if EncodeSignMag(40000, 15) != 0x7FFF || EncodeSignMag(-2000, 10) != 0x7FF {
		t.Error("sign-magnitude does not saturate")
	}
	if s := (StatusOverload | StatusOverheat).String(); s != "overheat|overload" {
		t.Errorf("status string %q", s)
	}
}

func TestDecoderResync(t *testing.T) {
	var stream []byte
	stream = append(stream, 0x00, 0x13, 0xFF) // garbage, a lone FF
	stream = append(stream, cases[0].wire...)
	bad := append([]byte(nil), cases[7].wire...)
	bad[6] ^= 0x40 // corrupted payload
	stream = append(stream, bad...)
	stream = append(stream, cases[7].wire[:5]...) // truncated reply ...
	stream = append(stream, cases[8].wire...)     // ... followed by a good one
	stream = append(stream, 0xFF, 0xFF, 0xFF)     // extra FF before a header
	stream = append(stream, cases[9].wire...)
	want := []Packet{cases[0].pkt, cases[8].pkt, cases[9].pkt}
	// Feed in every chunk size, so that packets are split at every offset.
	for chunk := 1; chunk <= len(stream); chunk++ {
		var d Decoder
		var got []Packet
		for i := 0; i < len(stream); i += chunk {
			end := min(i+chunk, len(stream))
			d.Write(stream[i:end])
			for {
				p, ok := d.Next()
				if !ok {
					break
				}
				p.Params = append([]byte{}, p.Params...)
				got = append(got, p)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: got %d packets %+v, want %d", chunk, len(got), got, len(want))
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].Inst != want[i].Inst || !bytes.Equal(got[i].Params, want[i].Params) {
				t.Fatalf("chunk %d: packet %d = %+v, want %+v", chunk, i, got[i], want[i])
			}
		}
		if d.Corrupt < 1 || d.Skipped == 0 || d.Buffered() != 0 {
			t.Fatalf("chunk %d: corrupt=%d skipped=%d buffered=%d", chunk, d.Corrupt, d.Skipped, d.Buffered())
		}
	}
}

func TestNoAllocs(t *testing.T) {
	var buf [MaxPacket]byte
	ids := []byte{1, 2, 3, 4, 5, 6}
	data := make([]byte, 12)
	var d Decoder
	reply := cases[7].wire
	a := testing.AllocsPerRun(200, func() {
		n, _ := EncodeSyncWrite(buf[:], 42, 2, ids, data)
		p, _, _ := Decode(buf[:n])
		sw, _ := ParseSyncWrite(p.Params)
		sw.Entry(sw.Count() - 1)
		EncodeSyncRead(buf[:], 56, 4, ids)
		d.Write(reply)
		d.Next()
		_ = STS.Word(reply[5:]) + uint16(DecodeSignMag(0x8001, 15))
	})
	if a != 0 {
		t.Fatalf("codec allocates %v per run", a)
	}
}

func BenchmarkEncodeSyncWrite6(b *testing.B) {
	var buf [MaxPacket]byte
	ids, data := []byte{1, 2, 3, 4, 5, 6}, make([]byte, 12)
	b.ReportAllocs()
	for b.Loop() {
		EncodeSyncWrite(buf[:], 42, 2, ids, data)
	}
}

func BenchmarkDecoderStatus6(b *testing.B) {
	var stream []byte
	for i := 0; i < 6; i++ {
		stream = append(stream, cases[7].wire...)
	}
	var d Decoder
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		d.Write(stream)
		for n := 0; n < 6; n++ {
			if _, ok := d.Next(); !ok {
				b.Fatal("missing packet")
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range cases {
		f.Add(c.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := Decode(b)
		if err != nil {
			return
		}
		if n < Overhead || n > len(b) || len(p.Params) != n-Overhead {
			t.Fatalf("n=%d len=%d params=%d", n, len(b), len(p.Params))
		}
		var out [MaxPacket]byte
		m, err := Encode(out[:], p.ID, p.Inst, p.Params)
		if err != nil || !bytes.Equal(out[:m], b[:n]) {
			t.Fatalf("re-encode % X != % X (%v)", out[:m], b[:n], err)
		}
		switch p.Inst {
		case InstSyncWrite:
			if sw, err := ParseSyncWrite(p.Params); err == nil {
				for i := 0; i < sw.Count(); i++ {
					sw.Entry(i)
				}
			}
		case InstSyncRead:
			ParseSyncRead(p.Params)
		}
	})
}

func FuzzDecoder(f *testing.F) {
	for _, c := range cases {
		f.Add(c.wire, byte(3))
	}
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x02, 0x01, 0xFB, 0xFF, 0xFF, 0x01, 0xF0}, byte(1))
	f.Fuzz(func(t *testing.T, b []byte, chunk byte) {
		c := int(chunk%16) + 1
		var d Decoder
		total := 0
		for i := 0; i < len(b); i += c {
			part := b[i:min(i+c, len(b))]
			for len(part) > 0 {
				n, _ := d.Write(part)
				part = part[n:]
				for {
					p, ok := d.Next()
					if !ok {
						break
					}
					total += len(p.Params) + Overhead
				}
			}
		}
		if total+d.Skipped+d.Buffered() != len(b) {
			t.Fatalf("bytes not accounted: packets %d + skipped %d + buffered %d != %d", total, d.Skipped, d.Buffered(), len(b))
		}
	})
}

func FuzzParseSyncWrite(f *testing.F) {
	f.Add(cases[5].pkt.Params)
	f.Add([]byte{42, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		sw, err := ParseSyncWrite(p)
		if err != nil {
			if !errors.Is(err, ErrParams) {
				t.Fatal(err)
			}
			return
		}
		ids := make([]byte, sw.Count())
		data := make([]byte, 0, len(p))
		for i := range ids {
			var d []byte
			ids[i], d = sw.Entry(i)
			data = append(data, d...)
		}
		var out [2 * MaxPacket]byte
		n, err := EncodeSyncWrite(out[:], sw.Addr, sw.Len, ids, data)
		if err == nil && !bytes.Equal(out[7:n-1], p[2:]) {
			t.Fatalf("round trip % X != % X", out[7:n-1], p[2:])
		}
	})
}

func FuzzSignMag(f *testing.F) {
	f.Add(uint16(0x8064), byte(15))
	f.Add(uint16(0x0401), byte(10))
	f.Fuzz(func(t *testing.T, raw uint16, bit byte) {
		b := uint(bit % 16)
		v := DecodeSignMag(raw, b)
		mask := uint16(1)<<(b+1) - 1
		if b == 15 {
			mask = 0xFFFF
		}
		want := raw & mask
		if v == 0 {
			want &^= 1 << b // -0 encodes as +0
		}
		if got := EncodeSignMag(v, b); got != want {
			t.Fatalf("raw %#x bit %d: decoded %d re-encoded %#x, want %#x", raw, b, v, got, want)
		}
	})
}
