// Package shmchan is a small lock-free channel between two processes through shared
// memory: a single-producer single-consumer ring of fixed-size messages plus a few
// atomic words (an e-stop latch, a heartbeat). It lets a control loop run in its own
// process, away from the daemon's garbage collector and scheduler, while the daemon
// feeds it commands: neither side ever blocks on the other or allocates.
//
// The memory is a memfd (Linux) mapped by both processes; the creator passes the file
// to the other process (e.g. exec.Cmd.ExtraFiles) and that one calls Open on it.
package shmchan

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"
)

// Msg is one message: a kind, a sequence number, the sender's CLOCK_MONOTONIC time in
// ns (so the receiver can measure delivery latency) and up to 8 values.
type Msg struct {
	Kind   uint64
	Seq    uint64
	SentNs int64
	N      uint64 // values used in Val
	Val    [8]float64
}

const (
	magic     = 0x7072617869736368 // "praxisch"
	hdrSize   = 256                // header: magic, slots, e-stop, heartbeat; head and tail on their own cache lines
	offMagic  = 0
	offSlots  = 8
	offEStop  = 64
	offBeat   = 72
	offBeatNs = 80
	offHead   = 128 // consumer's index
	offTail   = 192 // producer's index
	msgSize   = int(unsafe.Sizeof(Msg{}))
)

// ErrBadMemory is returned by Open for memory that is not a channel made by Create.
var ErrBadMemory = errors.New("shmchan: not a channel")

// Chan is one end of a channel. Push is for the one producer, Pop for the one consumer:
// calls to Push must not overlap (serialise several producers with a lock on the producing
// side), nor calls to Pop; the atomic words may be used by either side at any time.
type Chan struct {
	mem   []byte
	slots uint64
	f     *os.File
}

// Size returns the bytes of shared memory a channel of slots messages takes.
func Size(slots int) int { return hdrSize + slots*msgSize }

func (c *Chan) word(off int) *atomic.Uint64 { return (*atomic.Uint64)(unsafe.Pointer(&c.mem[off])) }

func (c *Chan) slot(i uint64) *Msg {
	return (*Msg)(unsafe.Pointer(&c.mem[hdrSize+int(i%c.slots)*msgSize]))
}

// File returns the shared memory's file, to hand to the other process.
func (c *Chan) File() *os.File { return c.f }

// Push appends m; it returns false, without blocking, when the ring is full.
func (c *Chan) Push(m *Msg) bool {
	tail := c.word(offTail).Load()
	if tail-c.word(offHead).Load() >= c.slots {
		return false
	}
	*c.slot(tail) = *m
	c.word(offTail).Store(tail + 1) // publishes the slot
	return true
}

// Pop takes the oldest message into m; it returns false, without blocking, when the
// ring is empty.
func (c *Chan) Pop(m *Msg) bool {
	head := c.word(offHead).Load()
	if head == c.word(offTail).Load() {
		return false
	}
	*m = *c.slot(head)
	c.word(offHead).Store(head + 1) // frees the slot
	return true
}

// Len returns the number of messages waiting.
func (c *Chan) Len() int { return int(c.word(offTail).Load() - c.word(offHead).Load()) }

// SetEStop latches (true) or clears the e-stop word.
func (c *Chan) SetEStop(on bool) {
	var v uint64
	if on {
		v = 1
	}
	c.word(offEStop).Store(v)
}

// EStopWord returns the e-stop word itself (non-zero: latched), for a reader that polls it
// with one atomic load (motion.Config.Latch).
func (c *Chan) EStopWord() *atomic.Uint64 { return c.word(offEStop) }

// EStop reads the e-stop word.
func (c *Chan) EStop() bool { return c.word(offEStop).Load() != 0 }

// Beat records a heartbeat: a counter (e.g. ticks) and a CLOCK_MONOTONIC time, ns.
func (c *Chan) Beat(n uint64, ns int64) {
	c.word(offBeatNs).Store(uint64(ns))
	c.word(offBeat).Store(n)
}

// Heartbeat returns the last Beat.
func (c *Chan) Heartbeat() (n uint64, ns int64) {
	return c.word(offBeat).Load(), int64(c.word(offBeatNs).Load())
}

func newChan(mem []byte, f *os.File) (*Chan, error) {
	c := &Chan{mem: mem, f: f}
	if len(mem) < hdrSize || c.word(offMagic).Load() != magic {
		return nil, ErrBadMemory
	}
	c.slots = c.word(offSlots).Load()
	if c.slots == 0 || len(mem) < Size(int(c.slots)) {
		return nil, fmt.Errorf("%w: %d slots in %d bytes", ErrBadMemory, c.slots, len(mem))
	}
	return c, nil
}

// format writes the header of a new channel into mem.
func format(mem []byte, slots int) {
	c := &Chan{mem: mem}
	c.word(offSlots).Store(uint64(slots))
	c.word(offMagic).Store(magic)
}
