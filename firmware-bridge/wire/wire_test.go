package fwwire

import (
	"bytes"
	"encoding/hex"
	"errors"
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

func TestCRCCheckValue(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("CRC-16/CCITT-FALSE check = %#04x, want 0x29b1", got)
	}
}

func TestExamplesEncode(t *testing.T) {
	for _, e := range examples {
		got, err := Append(nil, &e.f)
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		if want := unhex(t, e.wire); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got % X\nwant % X", e.name, got, want)
		}
	}
}

func TestExamplesDecode(t *testing.T) {
	for _, e := range examples {
		var d Decoder
		var f Frame
		b := unhex(t, e.wire)
		used, done, err := d.Feed(b, &f)
		if err != nil || !done || used != len(b) {
			t.Fatalf("%s: used %d of %d, done %v, err %v", e.name, used, len(b), done, err)
		}
		if f != e.f {
			t.Errorf("%s:\n got %+v\nwant %+v", e.name, f, e.f)
		}
	}
}

func TestCOBSEdges(t *testing.T) {
	cases := []struct{ raw, enc string }{ // from Cheshire & Baker / Wikipedia's COBS examples
		{"00", "01 01 00"},
		{"00 00", "01 01 01 00"},
		{"11 22 00 33", "03 11 22 02 33 00"},
		{"11 22 33 44", "05 11 22 33 44 00"},
		{"11 00 00 00", "02 11 01 01 01 00"},
	}
	for _, c := range cases {
		raw, enc := unhex(t, c.raw), unhex(t, c.enc)
		if got := AppendCOBS(nil, raw); !bytes.Equal(got, enc) {
			t.Errorf("encode % X = % X, want % X", raw, got, enc)
		}
		var out [16]byte
		n, err := DecodeCOBS(out[:], enc[:len(enc)-1])
		if err != nil || !bytes.Equal(out[:n], raw) {
			t.Errorf("decode % X = % X, %v; want % X", enc, out[:n], err, raw)
		}
	}
	// 254 non-zero bytes: one 0xFF group, then the final 0x01 group.
	long := bytes.Repeat([]byte{7}, 254)
	enc := AppendCOBS(nil, long)
	if len(enc) != 257 || enc[0] != 0xFF || enc[255] != 0x01 || enc[256] != 0 {
		t.Fatalf("254-byte block encoded as %d bytes, head %X tail % X", len(enc), enc[0], enc[254:])
	}
	var out [300]byte
	if n, err := DecodeCOBS(out[:], enc[:256]); err != nil || !bytes.Equal(out[:n], long) {
		t.Fatalf("254-byte block round trip: n=%d err=%v", n, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := unhex(t, examples[0].wire) // HELLO
	flip := append([]byte(nil), good...)
	flip[4] ^= 0x10 // a CRC byte
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"crc", flip, ErrCRC},
		{"short", []byte{0x02, 0x01, 0x00}, ErrLength},
		{"cobs overrun", []byte{0x09, 0x01, 0x02, 0x00}, ErrCOBS},
		{"too long", append(bytes.Repeat([]byte{1}, MaxEncoded+5), 0), ErrTooLong},
		{"unknown type", AppendCOBS(nil, withCRC(0x42, 0, 0)), ErrType},
		{"hello length", AppendCOBS(nil, withCRC(0x01, 0, 0, 1, 2)), ErrLength},
		{"command joints", AppendCOBS(nil, withCRC(0x04, 0, 0, 9, 0)), ErrJoints},
		{"state length", AppendCOBS(nil, withCRC(0x83, 0, 0, 0, 0, 1, 1)), ErrLength},
	}
	for _, c := range cases {
		var d Decoder
		var f Frame
		_, done, err := d.Feed(c.in, &f)
		if !done || !errors.Is(err, c.want) {
			t.Errorf("%s: done %v err %v, want %v", c.name, done, err, c.want)
		}
		if !errors.Is(err, ErrFrame) && !errors.Is(err, ErrJoints) {
			t.Errorf("%s: %v does not wrap ErrFrame", c.name, err)
		}
	}
}

func withCRC(b ...byte) []byte {
	c := CRC16(b)
	return append(b, byte(c), byte(c>>8))
}

// TestStreamResync: garbage, a torn frame and a corrupted frame between good frames
// cost exactly the damaged frames.
func TestStreamResync(t *testing.T) {
	var stream []byte
	stream = append(stream, 0x13, 0x37, 0x00) // line noise before the first delimiter
	for _, e := range examples[:4] {
		stream = append(stream, unhex(t, e.wire)...)
	}
	bad := unhex(t, examples[5].wire)
	bad[6] ^= 0xFF
	stream = append(stream, bad...)
	stream = append(stream, unhex(t, examples[5].wire)...)
	var d Decoder
	var f Frame
	var okTypes []Type
	errs := 0
	for p := stream; len(p) > 0; {
		n, done, err := d.Feed(p, &f)
		p = p[n:]
		if !done {
			continue
		}
		if err != nil {
			errs++
			continue
		}
		okTypes = append(okTypes, f.Type)
	}
	want := []Type{Hello, HelloAck, Config, Enable, Command}
	if errs != 2 || len(okTypes) != len(want) {
		t.Fatalf("errors %d (want 2), frames %v (want %v)", errs, okTypes, want)
	}
	for i := range want {
		if okTypes[i] != want[i] {
			t.Fatalf("frames %v, want %v", okTypes, want)
		}
	}
}

func TestMarshalRejects(t *testing.T) {
	if _, err := Append(nil, &Frame{Type: Command, N: 0}); !errors.Is(err, ErrJoints) {
		t.Errorf("command with 0 joints: %v", err)
	}
	if _, err := Append(nil, &Frame{Type: Command, N: 9}); !errors.Is(err, ErrJoints) {
		t.Errorf("command with 9 joints: %v", err)
	}
	if _, err := Append(nil, &Frame{Type: 0x55}); !errors.Is(err, ErrType) {
		t.Errorf("unknown type: %v", err)
	}
}

func TestZeroAllocs(t *testing.T) {
	cmd := examples[5].f
	st := examples[8].f
	buf := make([]byte, 0, 2*MaxEncoded)
	var d Decoder
	var f Frame
	allocs := testing.AllocsPerRun(200, func() {
		b, _ := Append(buf[:0], &cmd)
		b, _ = Append(b, &st)
		for p := b; len(p) > 0; {
			n, _, _ := d.Feed(p, &f)
			p = p[n:]
		}
	})
	if allocs != 0 {
		t.Fatalf("encode+decode allocated %.1f times per run, want 0", allocs)
	}
}

func FuzzDecode(f *testing.F) {
	for _, e := range examples {
		f.Add(unhex(f, e.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		var fr Frame
		for p := b; len(p) > 0; {
			n, done, err := d.Feed(p, &fr)
			if n <= 0 {
				t.Fatalf("Feed used %d bytes", n)
			}
			p = p[n:]
			if !done || err != nil {
				continue
			}
			// A frame that decodes re-encodes to a frame that decodes to the same value.
			enc, err := Append(nil, &fr)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", fr, err)
			}
			var d2 Decoder
			var g Frame
			if _, ok, err := d2.Feed(enc, &g); !ok || err != nil || !sameFrame(&fr, &g) {
				t.Fatalf("round trip %+v -> % X -> %+v, %v", fr, enc, g, err)
			}
		}
	})
}

// sameFrame compares the fields the type carries (Unmarshal leaves the rest alone).
func sameFrame(a, b *Frame) bool {
	var ra, rb [MaxRaw]byte
	na, ea := Marshal(ra[:], a)
	nb, eb := Marshal(rb[:], b)
	return ea == nil && eb == nil && bytes.Equal(ra[:na], rb[:nb])
}

func BenchmarkEncodeCommand6(b *testing.B) {
	f := examples[5].f
	buf := make([]byte, 0, MaxEncoded)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Append(buf[:0], &f)
	}
}

func BenchmarkDecodeState6(b *testing.B) {
	in := unhex(b, examples[8].wire)
	var d Decoder
	var f Frame
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(in, &f)
	}
}
