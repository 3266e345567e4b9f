//go:build linux

// Package pty opens Linux pseudo-terminals in raw mode without socat, so that a simulated
// serial device can sit on one end and a real serial driver on the other.
package pty

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Open creates a pseudo-terminal pair. The caller uses master (the device side) and hands
// slavePath to the program that expects a serial port. Both ends are raw (no echo, no line
// discipline). If link is not empty, a symlink link -> slavePath is made (replacing an old one).
func Open(link string) (master *os.File, slavePath string, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("pty: open /dev/ptmx: %w", err)
	}
	fail := func(e error) (*os.File, string, error) { m.Close(); return nil, "", e }
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fail(fmt.Errorf("pty: unlock: %w", err))
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fail(fmt.Errorf("pty: number: %w", err))
	}
	slavePath = "/dev/pts/" + strconv.Itoa(n)
	if err := makeRaw(int(m.Fd())); err != nil {
		return fail(fmt.Errorf("pty: raw master: %w", err))
	}
	// Make the slave raw too, so that a client opening it sees bytes unchanged even
	// before it configures the port itself.
	s, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fail(fmt.Errorf("pty: open %s: %w", slavePath, err))
	}
	err = makeRaw(int(s.Fd()))
	s.Close()
	if err != nil {
		return fail(fmt.Errorf("pty: raw %s: %w", slavePath, err))
	}
	if link != "" {
		_ = os.Remove(link)
		if err := os.Symlink(slavePath, link); err != nil {
			return fail(fmt.Errorf("pty: link %s: %w", link, err))
		}
	}
	return m, slavePath, nil
}

func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
