// Package fwpeer is a minimal in-process board for unit tests of the host side: it
// answers HELLO, CONFIG, ENABLE, COMMAND, HEARTBEAT and GET_STATS on a pseudo-terminal
// like the reference firmware, allocating nothing per frame, and can be told to misbehave
// (skip or repeat sequence numbers, answer late, speak another version). Behaviour on the
// pins is tested against the real firmware under simavr (package fwsim), not here.
package fwpeer

import (
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	fwwire "github.com/praxis-robotics/praxis/firmware-bridge/wire"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// Peer is a running fake board.
type Peer struct {
	Port string // the pty a host opens

	master *os.File
	hold   *os.File // a slave descriptor kept open: without one the master reads EIO
	done   chan struct{}

	Joints  uint8         // default 6
	Version atomic.Uint32 // protocol version it speaks; default fwwire.Version
	SkipSeq atomic.Bool   // skip one sequence number on the next reply
	DupNext atomic.Bool   // send the next reply twice
	Mute    atomic.Int32  // ignore this many frames

	mu    sync.Mutex
	adc   [fwwire.MaxJoints]uint16
	pulse [fwwire.MaxJoints]uint16
	mask  uint8
	seq   uint8
}

// Start opens a pty and serves it until Close.
func Start() (*Peer, error) {
	pm, path, err := pty.Open("")
	if err != nil {
		return nil, err
	}
	// A non-blocking descriptor goes through the runtime poller, so Close unblocks Read.
	fd, err := unix.Dup(int(pm.Fd()))
	pm.Close()
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	m := os.NewFile(uintptr(fd), "/dev/ptmx")
	hold, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, err
	}
	p := &Peer{Port: path, master: m, hold: hold, done: make(chan struct{}), Joints: 6}
	p.Version.Store(fwwire.Version)
	for i := range p.adc {
		p.adc[i] = 512
		p.pulse[i] = 1500
	}
	go p.serve()
	return p, nil
}

// SetADC sets the reading of joint i, counts.
func (p *Peer) SetADC(i int, v uint16) {
	p.mu.Lock()
	p.adc[i] = v
	p.mu.Unlock()
}

// Pulse returns the last commanded width of joint i, µs.
func (p *Peer) Pulse(i int) uint16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pulse[i]
}

func (p *Peer) serve() {
	defer close(p.done)
	var d fwwire.Decoder
	var f, r fwwire.Frame
	buf := make([]byte, 256)
	out := make([]byte, 0, 2*fwwire.MaxEncoded)
	for {
		n, err := p.master.Read(buf)
		if err != nil {
			return
		}
		for in := buf[:n]; len(in) > 0; {
			k, done, derr := d.Feed(in, &f)
			in = in[k:]
			if !done || derr != nil {
				continue
			}
			if p.Mute.Load() > 0 {
				p.Mute.Add(-1)
				continue
			}
			p.reply(&f, &r)
			if p.SkipSeq.Swap(false) {
				p.seq++
			}
			r.Seq, r.Ack = p.seq, f.Seq
			p.seq++
			out, _ = fwwire.Append(out[:0], &r)
			if p.DupNext.Swap(false) {
				out, _ = fwwire.Append(out, &r)
			}
			if _, err := p.master.Write(out); err != nil {
				return
			}
		}
	}
}

func (p *Peer) reply(f, r *fwwire.Frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch f.Type {
	case fwwire.Hello:
		v := uint8(p.Version.Load())
		if f.Version != v {
			*r = fwwire.Frame{Type: fwwire.Ack, Code: fwwire.BadVersion, Detail: v}
			return
		}
		*r = fwwire.Frame{Type: fwwire.HelloAck, Version: v, Caps: fwwire.Caps{FwMajor: 9, Joints: p.Joints,
			FeedbackMask: 1<<p.Joints - 1, PulseMin: 500, PulseMax: 2500, AdcMax: 1023, TimeoutMs: 250}}
	case fwwire.Config:
		*r = fwwire.Frame{Type: fwwire.Ack}
	case fwwire.Enable:
		p.mask = f.Mask
		*r = fwwire.Frame{Type: fwwire.Ack}
	case fwwire.GetStats:
		*r = fwwire.Frame{Type: fwwire.Stats}
	case fwwire.Command, fwwire.Heartbeat:
		if f.Type == fwwire.Command {
			if f.N != p.Joints {
				*r = fwwire.Frame{Type: fwwire.Ack, Code: fwwire.BadJoints, Detail: f.N}
				return
			}
			p.pulse = f.Pos
		}
		*r = fwwire.Frame{Type: fwwire.State, N: p.Joints, Mask: p.mask, Pos: p.adc}
		for i := range p.Joints {
			if p.mask&(1<<i) != 0 {
				r.Pulse[i] = p.pulse[i]
			}
		}
	default:
		*r = fwwire.Frame{Type: fwwire.Ack, Code: fwwire.BadType, Detail: uint8(f.Type)}
	}
}

// OpenHost opens the peer's pty as a host would, non-blocking (Close unblocks Read).
func (p *Peer) OpenHost() (*os.File, error) {
	fd, err := unix.Open(p.Port, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), p.Port), nil
}

// Close stops the peer.
func (p *Peer) Close() error {
	err := p.master.Close()
	<-p.done
	p.hold.Close()
	return err
}
