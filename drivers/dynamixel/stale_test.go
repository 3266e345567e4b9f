//go:build linux

package dynamixel_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"github.com/praxis-robotics/praxis/drivers/dynamixel"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// scripted is a hand-driven servo on a pty master and a Bus on the slave through
// go.bug.st/serial, as Open makes it.
func scripted(t *testing.T, timeout time.Duration) (master, slave *os.File, bus *dynamixel.Bus) {
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
	bus = dynamixel.NewBus(p, timeout)
	t.Cleanup(func() { bus.Close(); s.Close(); m.Close() })
	return m, s, bus
}

// answerOnce reads one instruction of n bytes on master and writes the packets.
func answerOnce(master *os.File, n int, packets ...[]byte) <-chan error {
	errc := make(chan error, 1)
	go func() {
		if _, err := io.ReadFull(master, make([]byte, n)); err != nil {
			errc <- err
			return
		}
		for _, p := range packets {
			if _, err := master.Write(p); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	return errc
}

var pingReply = dxlproto.AppendStatus(nil, 1, 0, []byte{0x06, 0x04, 46}) // XL430, firmware 46

// TestBusDropsStaleInput: a status that came after its exchange timed out is dropped
// before the next instruction is sent (ROBOTIS's SDK clears the port the same way), so a
// stale error status of the same servo is not the answer to a new ping.
func TestBusDropsStaleInput(t *testing.T) {
	master, slave, bus := scripted(t, 500*time.Millisecond)
	ctx := context.Background()
	stale := dxlproto.AppendStatus(nil, 1, dxlproto.ErrCodeDataRange, []byte{0x06, 0x04, 46})
	if _, err := master.Write(stale); err != nil {
		t.Fatal(err)
	}
	// Wait until the stale status sits in the port's input queue (the pty moves it on a
	// kernel worker).
	deadline := time.Now().Add(10 * time.Second)
	for {
		q, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		if q >= len(stale) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d stale bytes reached the port in 10 s", q, len(stale))
		}
		time.Sleep(time.Millisecond) // polling the queue: there is no event to wait on
	}
	done := answerOnce(master, len(dxlproto.AppendPing(nil, 1)), pingReply)
	if m, fw, err := bus.Ping(ctx, 1); err != nil || m != 1030 || fw != 46 {
		t.Fatalf("ping after a stale error status: model %d firmware %d, %v; want 1030, 46, nil", m, fw, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestBusSkipsReplyOfWrongShape: a status of the right servo but the wrong length (a
// late answer to an earlier instruction) is skipped; ErrReply only when nothing else comes.
func TestBusSkipsReplyOfWrongShape(t *testing.T) {
	master, _, bus := scripted(t, 300*time.Millisecond)
	ctx := context.Background()
	late := dxlproto.AppendStatus(nil, 1, 0, []byte{1, 2, 3, 4, 5, 6, 7, 8}) // a sync read's 8 bytes
	n := len(dxlproto.AppendPing(nil, 1))
	done := answerOnce(master, n, late, pingReply)
	if _, _, err := bus.Ping(ctx, 1); err != nil {
		t.Fatalf("ping answered by a late 8-byte status, then its own: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done = answerOnce(master, n, late)
	if _, _, err := bus.Ping(ctx, 1); !errors.Is(err, dynamixel.ErrReply) {
		t.Fatalf("ping answered only by an 8-byte status: %v, want ErrReply", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
