//go:build linux

package feetech

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// scriptedPort is a hand-driven servo on a pty master and the driver's Bus on the slave,
// opened with go.bug.st/serial as Open does.
type scriptedPort struct {
	master *os.File
	slave  *os.File // a second handle on the slave, to see its input queue
	bus    *Bus
}

func newScriptedPort(t *testing.T, timeout time.Duration) *scriptedPort {
	t.Helper()
	m, path, err := pty.Open("")
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: 1000000})
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(); s.Close(); m.Close() })
	return &scriptedPort{master: m, slave: s, bus: NewBus(p, ftproto.STS, timeout)}
}

// queued waits until the slave's input queue holds n bytes (the pty moves them on a
// kernel worker, not at once).
func (sp *scriptedPort) queued(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q, err := unix.IoctlGetInt(int(sp.slave.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d bytes reached the port in 10 s", q, n)
		}
		time.Sleep(time.Millisecond) // polling the queue: no event to wait on
	}
}

// answer reads one request of n bytes from the master and writes the packets.
func (sp *scriptedPort) answer(t *testing.T, n int, packets ...[]byte) <-chan error {
	errc := make(chan error, 1)
	go func() {
		req := make([]byte, n)
		if _, err := io.ReadFull(sp.master, req); err != nil {
			errc <- err
			return
		}
		for _, p := range packets {
			if _, err := sp.master.Write(p); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	return errc
}

func status(t *testing.T, id byte, st ftproto.Status, params []byte) []byte {
	b := make([]byte, ftproto.MaxPacket)
	n, err := ftproto.EncodeStatus(b, id, st, params)
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

// TestBusDropsStaleInput: a reply that arrived after its transaction timed out sits in
// the port's buffer; the next transaction clears the port before sending (as Feetech's
// SDK does), so the stale reply (here an overload status of the same servo) is not taken
// as the answer.
func TestBusDropsStaleInput(t *testing.T) {
	sp := newScriptedPort(t, 500*time.Millisecond)
	stale := status(t, 1, ftproto.StatusOverload, nil)
	if _, err := sp.master.Write(stale); err != nil {
		t.Fatal(err)
	}
	sp.queued(t, len(stale))
	done := sp.answer(t, 6, status(t, 1, 0, nil))
	if err := sp.bus.Ping(context.Background(), 1); err != nil {
		t.Fatalf("ping with a stale overload status in the buffer: %v, want the fresh reply", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestBusSkipsReplyOfWrongShape: a status of the right servo with the wrong length is not
// the answer to this request (a late reply to an earlier one still on the wire): the bus
// keeps waiting for the real one, and reports ErrReply only when none comes.
func TestBusSkipsReplyOfWrongShape(t *testing.T) {
	sp := newScriptedPort(t, 300*time.Millisecond)
	late := status(t, 1, 0, []byte{1, 2, 3, 4}) // a sync read's 4 bytes
	done := sp.answer(t, 6, late, status(t, 1, 0, nil))
	if err := sp.bus.Ping(context.Background(), 1); err != nil {
		t.Fatalf("ping answered by a late 4-byte reply, then its own: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done = sp.answer(t, 6, late)
	err := sp.bus.Ping(context.Background(), 1)
	if !errors.Is(err, ErrReply) {
		t.Fatalf("ping answered only by a 4-byte reply: %v, want ErrReply", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
