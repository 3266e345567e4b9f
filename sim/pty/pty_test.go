package pty

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestRoundTripBinary(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttySIM")
	m, path, err := Open(link)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, _ := os.Readlink(link); got != path {
		t.Fatalf("link points to %q, want %q", got, path)
	}
	s, err := os.OpenFile(link, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Bytes a line discipline would mangle: CR, LF, XON/XOFF, ^C, 0xFF.
	msg := []byte{0xff, 0xff, 0xfd, 0x00, '\r', '\n', 0x11, 0x13, 0x03, 0x7f, 0x00}
	if _, err := s.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(m, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("slave->master got % x, want % x", got, msg)
	}
	if _, err := m.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(s, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("master->slave got % x, want % x", got, msg)
	}
}
