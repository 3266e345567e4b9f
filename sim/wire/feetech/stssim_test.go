package stssim

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// plant is an ideal plant: commanded positions are reached at once, limp joints stay.
type plant struct {
	mu     sync.Mutex
	pos    []float64
	torque []bool
}

func (p *plant) Read(_ context.Context, s *joint.State) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.Resize(len(p.pos))
	copy(s.Pos, p.pos)
	return nil
}

func (p *plant) Command(_ context.Context, c joint.Command) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.pos {
		if p.torque[i] {
			p.pos[i] = c.Pos[i]
		}
	}
	return nil
}

func (p *plant) SetJointTorque(i int, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.torque[i] = on
	return nil
}

type host struct {
	t   *testing.T
	c   net.Conn
	dec ftproto.Decoder
}

func (h *host) send(id, inst byte, params ...byte) {
	var b [ftproto.MaxPacket]byte
	n, err := ftproto.Encode(b[:], id, inst, params)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.c.Write(b[:n]); err != nil {
		h.t.Fatal(err)
	}
}

// recv returns the next packet, or ok=false when none arrives within 500 ms (a loaded
// 2-core machine has held the simulator back for more than 50 ms).
func (h *host) recv() (ftproto.Packet, bool) {
	for {
		if p, ok := h.dec.Next(); ok {
			p.Params = append([]byte(nil), p.Params...)
			return p, true
		}
		h.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := h.c.Read(h.dec.Space())
		h.dec.Commit(n)
		if err != nil {
			return ftproto.Packet{}, false
		}
	}
}

func start(t *testing.T, baud int) (*Bus, *plant, *host) {
	a, b := net.Pipe()
	p := &plant{pos: []float64{0, 0.5, -0.5}, torque: make([]bool, 3)}
	sim, err := New(a, p, Config{Baud: baud, Servos: []Servo{{ID: 1, Offset: 2048}, {ID: 2, Offset: 2048}, {ID: 7, Offset: 2048, Direction: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sim.Serve(context.Background()) }()
	t.Cleanup(func() {
		if t.Failed() {
			b.Close() // unblock a reply the test never read
		}
		sim.Close()
		if err := <-done; err != nil && !t.Failed() {
			t.Error(err)
		}
		b.Close()
	})
	return sim, p, &host{t: t, c: b}
}

func TestProtocol(t *testing.T) {
	sim, p, h := start(t, 1000000)
	// Ping and model number.
	h.send(7, ftproto.InstPing)
	if r, ok := h.recv(); !ok || r.ID != 7 || r.Inst != 0 || len(r.Params) != 0 {
		t.Fatalf("ping reply %+v %v", r, ok)
	}
	h.send(1, ftproto.InstRead, ftproto.RegModel, 2)
	if r, ok := h.recv(); !ok || !bytes.Equal(r.Params, []byte{0x09, 0x03}) {
		t.Fatalf("model %+v", r)
	}
	// A broadcast ping is answered by every servo in ID order; unknown IDs stay silent.
	h.send(ftproto.BroadcastID, ftproto.InstPing)
	for _, id := range []byte{1, 2, 7} {
		if r, ok := h.recv(); !ok || r.ID != id {
			t.Fatalf("broadcast ping: reply %+v %v, want servo %d", r, ok, id)
		}
	}
	h.send(9, ftproto.InstPing)
	if r, ok := h.recv(); ok {
		t.Fatalf("unexpected reply %+v", r)
	}
	// Sync read replies come in request order with present positions.
	h.send(ftproto.BroadcastID, ftproto.InstSyncRead, ftproto.RegPresentPosition, 2, 7, 1, 2)
	want := map[byte]int{7: 2048 + 326, 1: 2048, 2: 2048 + 326}
	for _, id := range []byte{7, 1, 2} {
		r, ok := h.recv()
		if !ok || r.ID != id || int(ftproto.STS.Word(r.Params)) != want[id] {
			t.Fatalf("sync read reply for %d: %+v %v", id, r, ok)
		}
	}
	// A goal written with torque off does not move the limp servo; torque on takes it up
	// (servo 1); torque on without a goal holds (servo 2); then goals move the plant.
	h.send(ftproto.BroadcastID, ftproto.InstSyncWrite, ftproto.RegGoalPosition, 2, 1, 0x00, 0x0C)
	h.send(1, ftproto.InstPing)
	h.recv()
	if p.pos[0] != 0 {
		t.Fatalf("limp servo moved to %v", p.pos[0])
	}
	h.send(ftproto.BroadcastID, ftproto.InstSyncWrite, ftproto.RegTorqueEnable, 1, 1, 1, 2, 1, 7, 1)
	h.send(ftproto.BroadcastID, ftproto.InstSyncWrite, ftproto.RegGoalPosition, 2, 7, 0x00, 0x0C)
	h.send(1, ftproto.InstPing)
	h.recv()
	p.mu.Lock()
	got := append([]float64(nil), p.pos...)
	p.mu.Unlock()
	if d := got[0] - 1.5707963; d > 1e-3 || d < -1e-3 || got[1] != 0.5 || got[2]+1.5707963 > 1e-3 {
		t.Fatalf("plant at %v", got)
	}
	// Reg write + action.
	h.send(2, ftproto.InstRegWrite, ftproto.RegGoalPosition, 0x00, 0x08)
	if r, ok := h.recv(); !ok || r.ID != 2 {
		t.Fatalf("reg write ack %+v", r)
	}
	h.send(ftproto.BroadcastID, ftproto.InstAction)
	h.send(2, ftproto.InstPing)
	h.recv()
	if p.pos[1] != 0 {
		t.Fatalf("action: %v", p.pos[1])
	}
	// EEPROM writes persist only while unlocked.
	h.send(1, ftproto.InstWrite, ftproto.RegReturnDelay, 0)
	h.recv()
	if v, _ := sim.EEPROM(1, ftproto.RegReturnDelay); v != 250 {
		t.Fatal("locked EEPROM persisted")
	}
	h.send(1, ftproto.InstWrite, ftproto.RegMaxAngle, 0x00, 0x0A)
	h.recv()
	h.send(1, ftproto.InstWrite, ftproto.RegLockSTS, 0)
	h.recv()
	h.send(1, ftproto.InstWrite, ftproto.RegMaxAngle, 0x00, 0x09)
	h.recv()
	if v, _ := sim.EEPROM(1, ftproto.RegMaxAngle+1); v != 0x09 {
		t.Fatalf("unlocked EEPROM not persisted: %#x", v)
	}
	// The angle limit clamps goals: 0x0C00 > 0x0900.
	h.send(1, ftproto.InstWrite, ftproto.RegGoalPosition, 0x00, 0x0C)
	h.recv()
	h.send(1, ftproto.InstRead, ftproto.RegPresentPosition, 2)
	if r, _ := h.recv(); ftproto.STS.Word(r.Params) != 0x0900 {
		t.Fatalf("clamped position %#x", ftproto.STS.Word(r.Params))
	}
}

func TestFaults(t *testing.T) {
	sim, _, h := start(t, 1000000)
	sim.DropNext(1, 1)
	h.send(1, ftproto.InstPing)
	if _, ok := h.recv(); ok {
		t.Fatal("dropped reply arrived")
	}
	h.send(1, ftproto.InstPing)
	if _, ok := h.recv(); !ok {
		t.Fatal("second ping unanswered")
	}
	sim.CorruptNext(2, 1)
	h.send(2, ftproto.InstPing)
	if _, ok := h.recv(); ok || h.dec.Corrupt != 1 {
		t.Fatalf("corrupted reply: corrupt=%d", h.dec.Corrupt)
	}
	sim.SetSilent(7, true)
	h.send(ftproto.BroadcastID, ftproto.InstSyncRead, ftproto.RegPresentPosition, 2, 1, 7, 2)
	if r1, _ := h.recv(); r1.ID != 1 {
		t.Fatalf("first reply %d", r1.ID)
	}
	if r2, _ := h.recv(); r2.ID != 2 {
		t.Fatalf("silent servo answered: %d", r2.ID)
	}
	sim.SetStatus(2, ftproto.StatusOverload)
	h.send(2, ftproto.InstRead, ftproto.RegStatus, 1)
	if r, _ := h.recv(); r.Inst != byte(ftproto.StatusOverload) || r.Params[0] != byte(ftproto.StatusOverload) {
		t.Fatalf("status reply %+v", r)
	}
}

func TestPacing(t *testing.T) {
	const baud = 115200
	_, _, h := start(t, baud)
	t0 := time.Now()
	for range 5 {
		h.send(ftproto.BroadcastID, ftproto.InstSyncRead, ftproto.RegPresentPosition, 4, 1, 2, 7)
		for range 3 {
			if _, ok := h.recv(); !ok {
				t.Fatal("missing reply")
			}
		}
	}
	// 5 × (11 request + 3 × 10 reply bytes) × 10 bit at 115200 bit/s.
	min := time.Duration(5*(11+30)*10) * time.Second / baud
	if el := time.Since(t0); el < min {
		t.Fatalf("5 sync reads took %v, faster than the wire allows (%v)", el, min)
	}
}

func TestConfig(t *testing.T) {
	a, _ := net.Pipe()
	p := &plant{pos: []float64{0}, torque: []bool{false}}
	for _, cfg := range []Config{{}, {Servos: []Servo{{ID: 254}}}, {Baud: 12345, Servos: []Servo{{ID: 1}}}} {
		if _, err := New(a, p, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
