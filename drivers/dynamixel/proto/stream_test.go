package dxlproto

import (
	"bytes"
	"errors"
	"testing"
)

// drain feeds chunks to a stream and collects every packet ID and error.
func drain(s *Stream, chunks ...[]byte) (ids []byte, errs []error) {
	for _, c := range chunks {
		s.Write(c)
		for {
			p, err := s.Next()
			if errors.Is(err, ErrShort) {
				break
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ids = append(ids, p.ID)
		}
	}
	return ids, errs
}

func TestStream(t *testing.T) {
	a := AppendStatus(nil, 1, 0, []byte{1, 2, 3, 4})
	b := AppendStatus(nil, 2, 0, []byte{0xFF, 0xFF, 0xFD, 0})
	c := AppendStatus(nil, 3, 0x80, nil)
	corrupt := append([]byte(nil), b...)
	corrupt[9] ^= 0x40
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, tc := range []struct {
		name    string
		chunks  [][]byte
		ids     []byte
		nerrs   int
		skipped bool
	}{
		{"back to back", [][]byte{cat(a, b, c)}, []byte{1, 2, 3}, 0, false},
		{"garbage before and between", [][]byte{cat([]byte{0, 0xFF, 0xFF, 0x13}, a, []byte{0xFF, 0xFF, 0xFD}, b)}, []byte{1, 2}, 0, true},
		{"header split at every byte", split(cat(a, b, c), 1), []byte{1, 2, 3}, 0, false},
		{"split in threes", split(cat(a, b, c), 3), []byte{1, 2, 3}, 0, false},
		{"bad crc then good", [][]byte{cat(a, corrupt, c)}, []byte{1, 3}, 1, true},
		{"truncated reply then next", [][]byte{cat(a[:9], b, c)}, []byte{2, 3}, 1, true},
		{"truncated at the end waits", [][]byte{cat(a, b[:len(b)-1])}, []byte{1}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStream(0)
			ids, errs := drain(s, tc.chunks...)
			if !bytes.Equal(ids, tc.ids) {
				t.Errorf("ids = %v, want %v", ids, tc.ids)
			}
			if len(errs) != tc.nerrs {
				t.Errorf("errors = %v, want %d", errs, tc.nerrs)
			}
			if (s.Skipped > 0) != tc.skipped {
				t.Errorf("Skipped = %d", s.Skipped)
			}
		})
	}
}

func TestStreamOverflowKeepsNewest(t *testing.T) {
	s := NewStream(MaxLength)
	s.Write(make([]byte, MaxLength-5))
	a := AppendStatus(nil, 7, 0, []byte{1})
	if _, err := s.Write(a); !errors.Is(err, ErrBuffer) {
		t.Fatalf("overflow: err = %v, want ErrBuffer", err)
	}
	p, err := s.Next()
	if err != nil || p.ID != 7 {
		t.Fatalf("after overflow: %+v %v", p, err)
	}
}

func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}
