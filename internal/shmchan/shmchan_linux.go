//go:build linux

package shmchan

import (
	"fmt"
	"os"
	_ "unsafe" // go:linkname

	"golang.org/x/sys/unix"
)

// Create makes a channel of slots messages (1..65536) in a new memfd mapped into this
// process. Close unmaps it and closes the file.
func Create(slots int) (*Chan, error) {
	if slots < 1 || slots > 1<<16 {
		return nil, fmt.Errorf("shmchan: %d slots: want 1..65536", slots)
	}
	fd, err := unix.MemfdCreate("praxis-shmchan", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("shmchan: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "praxis-shmchan")
	size := Size(slots)
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("shmchan: size: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("shmchan: mmap: %w", err)
	}
	format(mem, slots)
	return newChan(mem, f)
}

// Open maps a channel made by Create in another process, from its file.
func Open(f *os.File) (*Chan, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("shmchan: %w", err)
	}
	if st.Size() < hdrSize || st.Size() > int64(Size(1<<16)) {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadMemory, st.Size())
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shmchan: mmap: %w", err)
	}
	c, err := newChan(mem, f)
	if err != nil {
		_ = unix.Munmap(mem)
		return nil, err
	}
	return c, nil
}

// Close unmaps the memory and closes the file; the other side's mapping stays valid.
func (c *Chan) Close() error {
	err := unix.Munmap(c.mem)
	c.mem = nil
	if c.f != nil {
		if e := c.f.Close(); err == nil {
			err = e
		}
	}
	return err
}

// MonoNs returns CLOCK_MONOTONIC in ns, the time base of Msg.SentNs and Beat across
// processes. It reads the clock through the vDSO, as the runtime does, not with a system
// call: a system call is a scheduling point, where a busy Go process may hold the
// goroutine back for milliseconds.
func MonoNs() int64 { return nanotime() }

// nanotime is the runtime's CLOCK_MONOTONIC reading (vDSO on Linux).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
