package dxlsim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/armtest"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
)

type client struct {
	t      *testing.T
	conn   net.Conn
	stream *dxlproto.Stream
}

// harness starts a simulator with servos ids on a net.Pipe.
func harness(t *testing.T, ids []byte) (*Sim, *armtest.Arm, *client) {
	t.Helper()
	a, b := net.Pipe()
	plant := newLagPlant(t, len(ids), 20*time.Millisecond)
	sim, err := New(a, Config{IDs: ids, Plant: plant})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- sim.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		a.Close()
		b.Close()
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	})
	return sim, plant, &client{t: t, conn: b, stream: dxlproto.NewStream(0)}
}

func (c *client) send(p []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(p); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next status, or an error (ErrCRC, or a timeout after d).
func (c *client) next(d time.Duration) (dxlproto.Packet, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 256)
	for {
		p, err := c.stream.Next()
		if err == nil {
			p.Params = append([]byte(nil), p.Params...)
			return p, nil
		}
		if !errors.Is(err, dxlproto.ErrShort) {
			return p, err
		}
		n, err := c.conn.Read(buf)
		if err != nil {
			return p, err
		}
		c.stream.Write(buf[:n])
	}
}

func (c *client) must() dxlproto.Packet {
	c.t.Helper()
	p, err := c.next(time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

func TestPingReadWrite(t *testing.T) {
	sim, plant, c := harness(t, []byte{1, 2})
	c.send(dxlproto.AppendPing(nil, 2))
	p := c.must()
	if p.ID != 2 || p.Error != 0 || !bytes.Equal(p.Params, []byte{0x24, 0x04, 46}) {
		t.Fatalf("ping reply %+v, want model 1060 fw 46", p)
	}
	// EEPROM write while torque is off works; return delay 0.
	c.send(dxlproto.AppendWrite(nil, 1, 9, []byte{0}))
	if p := c.must(); p.ID != 1 || p.Error != 0 {
		t.Fatalf("write status %+v", p)
	}
	if r, _ := sim.Register(1, 9, 1); r[0] != 0 {
		t.Fatalf("return delay = %d, want 0", r[0])
	}
	// Torque on, then EEPROM is locked.
	c.send(dxlproto.AppendWrite(nil, 1, 64, []byte{1}))
	c.must()
	c.send(dxlproto.AppendWrite(nil, 1, 11, []byte{1}))
	if p := c.must(); p.Error.Code() != dxlproto.ErrCodeAccess {
		t.Fatalf("EEPROM write with torque on: error %v, want access error", p.Error)
	}
	// Goal position moves the plant; read present position back.
	goal := dxlproto.Calibration{}.Ticks(0.5)
	c.send(dxlproto.AppendWrite(nil, 1, 116, le32(goal)))
	c.must()
	if g := plant.Commands(); len(g) == 0 || g[len(g)-1].Pos[0] < 0.499 || g[len(g)-1].Pos[0] > 0.501 {
		t.Fatalf("plant goals %v, want 0.5 last", g)
	}
	c.send(dxlproto.AppendRead(nil, 1, 132, 4))
	p = c.must()
	if len(p.Params) != 4 {
		t.Fatalf("read reply %+v", p)
	}
	// Unknown instruction: instruction error.
	c.send(dxlproto.AppendPacket(nil, dxlproto.Packet{ID: 2, Instruction: 0x7F}))
	if p := c.must(); p.Error.Code() != dxlproto.ErrCodeInstruction {
		t.Fatalf("unknown instruction: error %v", p.Error)
	}
}

func le32(v int32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func TestSyncReadPacedAndFaults(t *testing.T) {
	ids := []byte{1, 2, 3, 4, 5, 6}
	sim, _, c := harness(t, ids)
	c.send(dxlproto.AppendWrite(nil, dxlproto.BroadcastID, 9, []byte{0}))
	// Broadcast write: no reply. Sync read 8 bytes from 6 servos:
	// 20 bytes out + 6 × 19 bytes back = 134 bytes = 1.34 ms at 1 Mbps.
	t0 := time.Now()
	c.send(dxlproto.AppendSyncRead(nil, 128, 8, ids))
	for _, id := range ids {
		if p := c.must(); p.ID != id || len(p.Params) != 8 {
			t.Fatalf("reply %+v, want servo %d with 8 bytes", p, id)
		}
	}
	if el := time.Since(t0); el < 1340*time.Microsecond {
		t.Fatalf("sync read took %v, faster than the 1.34 ms wire time", el)
	}
	sim.DropNextReplies(2, 1)
	sim.CorruptNextReplies(4, 1)
	sim.SetSilent(6, true)
	c.send(dxlproto.AppendSyncRead(nil, 132, 4, ids))
	var got []byte
	crc := 0
	for {
		p, err := c.next(300 * time.Millisecond)
		if errors.Is(err, dxlproto.ErrCRC) {
			crc++
			continue
		}
		if err != nil {
			break
		}
		got = append(got, p.ID)
	}
	if !bytes.Equal(got, []byte{1, 3, 5}) || crc != 1 {
		t.Fatalf("replies from %v with %d crc errors; want 1 3 5 and one crc error", got, crc)
	}
	// Overload: alert bit in every status, torque off.
	sim.SetSilent(6, false)
	sim.SetHardwareError(3, dxlproto.HWOverload)
	c.send(dxlproto.AppendRead(nil, 3, 70, 1))
	if p := c.must(); !p.Error.Alert() || p.Params[0] != dxlproto.HWOverload {
		t.Fatalf("overload: %+v", p)
	}
}

func TestFastSyncRead(t *testing.T) {
	ids := []byte{1, 2, 3}
	sim, _, c := harness(t, ids)
	c.send(dxlproto.AppendFastSyncRead(nil, 128, 8, ids))
	p := c.must()
	if n, err := dxlproto.FastCount(&p, 8); err != nil || n != 3 {
		t.Fatalf("fast sync read: %d slots, %v", n, err)
	}
	for k, want := range ids {
		if id, _, _, _ := dxlproto.FastSlot(&p, 8, k); id != want {
			t.Fatalf("slot %d: id %d, want %d", k, id, want)
		}
	}
	sim.SetSilent(2, true)
	c.send(dxlproto.AppendFastSyncRead(nil, 128, 8, ids))
	if _, err := c.next(300 * time.Millisecond); err == nil {
		t.Fatal("fast sync read with a silent servo: want a truncated, undecodable reply")
	}
}

func TestConfigErrors(t *testing.T) {
	p := newLagPlant(t, 1, time.Millisecond)
	for _, cfg := range []Config{{}, {IDs: []byte{1}}, {IDs: []byte{1, 1}, Plant: p}, {IDs: []byte{1}, Plant: p, Baud: -1}} {
		if _, err := New(nil, cfg); err == nil {
			t.Errorf("New(%+v): want error", cfg)
		}
	}
}
