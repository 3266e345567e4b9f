package dynamixel_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/dynamixel"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/motion/joint"
)

func twoServos() dynamixel.Config {
	return dynamixel.Config{
		Servos: []dynamixel.Servo{
			{ID: 1, Joint: "shoulder", Limits: joint.Limits{Min: -2, Max: 2}},
			{ID: 2, Joint: "elbow", Cal: dynamixel.Calibration{Direction: -1, Offset: 100}},
		},
		ReplyTimeout: 50 * time.Millisecond, // only missing replies wait for it
		FaultTicks:   3,
	}
}

func le32(v int32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

// state is the 8-byte reply to a read of 128..135: velocity raw, position ticks.
func state(vel, pos int32) []byte { return append(le32(vel), le32(pos)...) }

func status(id byte, e dxlproto.StatusError, params []byte) []byte {
	return dxlproto.AppendStatus(nil, id, e, params)
}

func syncWrite(addr, n uint16, ids []byte, data []byte) []byte {
	b, err := dxlproto.AppendSyncWrite(nil, addr, n, ids, data)
	if err != nil {
		panic(err)
	}
	return b
}

var ids12 = []byte{1, 2}

func TestConfigValidation(t *testing.T) {
	base := twoServos()
	for _, c := range []struct {
		field string
		edit  func(*dynamixel.Config)
	}{
		{"Servos", func(c *dynamixel.Config) { c.Servos = nil }},
		{"Servos[1].ID", func(c *dynamixel.Config) { c.Servos[1].ID = 1 }},
		{"Servos[1].ID", func(c *dynamixel.Config) { c.Servos[1].ID = 253 }},
		{"Servos[0].Joint", func(c *dynamixel.Config) { c.Servos[0].Joint = "" }},
		{"Servos[1].Joint", func(c *dynamixel.Config) { c.Servos[1].Joint = "shoulder" }},
		{"Servos[0].Cal.Direction", func(c *dynamixel.Config) { c.Servos[0].Cal.Direction = 2 }},
		{"Servos[0].Limits", func(c *dynamixel.Config) { c.Servos[0].Limits.Min = 3 }},
		{"Model", func(c *dynamixel.Config) { c.Model = "ax12" }},
		{"ReplyTimeout", func(c *dynamixel.Config) { c.ReplyTimeout = -1 }},
		{"Baud", func(c *dynamixel.Config) { c.Baud = -1 }},
	} {
		cfg := base
		cfg.Servos = append([]dynamixel.Servo(nil), base.Servos...)
		c.edit(&cfg)
		_, err := dynamixel.New(newPlayback(t), cfg)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: err = %v, want one naming the field", c.field, err)
		}
	}
}

func TestSetupTranscript(t *testing.T) {
	cfg := twoServos()
	cal2 := cfg.Servos[1].Cal
	p := newPlayback(t,
		step{dxlproto.AppendPing(nil, 1), status(1, 0, []byte{0x24, 0x04, 46})},
		step{dxlproto.AppendRead(nil, 1, 9, 3), status(1, 0, []byte{0, 0, 3})}, // already set up
		step{dxlproto.AppendPing(nil, 2), status(2, 0, []byte{0x24, 0x04, 46})},
		step{dxlproto.AppendRead(nil, 2, 9, 3), status(2, 0, []byte{250, 0, 1})}, // factory settings
		step{dxlproto.AppendWrite(nil, 2, 64, []byte{0}), status(2, 0, nil)},
		step{dxlproto.AppendWrite(nil, 2, 9, []byte{0}), status(2, 0, nil)},
		step{dxlproto.AppendWrite(nil, 2, 11, []byte{3}), status(2, 0, nil)},
		// Torque on holds the present position: read, goal = present, torque on.
		step{dxlproto.AppendSyncRead(nil, 128, 8, ids12), append(status(1, 0, state(0, 3072)), status(2, 0, state(0, 1000))...)},
		step{syncWrite(116, 4, ids12, append(le32(3072), le32(1000)...)), nil},
		step{syncWrite(64, 1, ids12, []byte{1, 1}), nil},
	)
	a, err := dynamixel.New(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := joint.NewState(2)
	// One more tick to check the conversion.
	p.mu.Lock()
	p.steps = append(p.steps, step{dxlproto.AppendSyncRead(nil, 128, 8, ids12), append(status(1, 0, state(10, 3072)), status(2, 0, state(-4, 1000))...)})
	p.mu.Unlock()
	if err := a.Read(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Pos[0]-math.Pi/2) > 1e-9 || math.Abs(s.Pos[1]-cal2.Radians(1000)) > 1e-9 || s.Pos[1] <= 0 {
		t.Fatalf("positions %v", s.Pos)
	}
	if want := 10 * dxlproto.XSeries.VelocityUnit; math.Abs(s.Vel[0]-want) > 1e-9 || s.Vel[1] <= 0 {
		t.Fatalf("velocities %v, want %v and positive", s.Vel, want)
	}
}

func TestCommandTranscript(t *testing.T) {
	cfg := twoServos()
	// 5 rad is clamped to the shoulder's 2 rad limit, and rounded to the tick below it: the
	// nearest tick to 2 rad lies beyond the limit.
	c0 := cfg.Servos[0].Cal
	if c0.Radians(c0.Ticks(2)) <= 2 || c0.Radians(c0.Ticks(2)-1) > 2 {
		t.Fatal("the case needs the nearest tick to 2 rad beyond it")
	}
	want := append(le32(c0.Ticks(2)-1), le32(cfg.Servos[1].Cal.Ticks(0.25))...)
	p := newPlayback(t, step{syncWrite(116, 4, ids12, want), nil})
	a, _ := dynamixel.New(p, cfg)
	defer a.Close()
	if err := a.Command(context.Background(), joint.Command{Pos: []float64{5, 0.25}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Command(context.Background(), joint.Command{Pos: []float64{math.NaN(), 0}}); err == nil {
		t.Fatal("NaN command: want error")
	}
	if err := a.Command(context.Background(), joint.Command{Pos: []float64{0}}); err == nil {
		t.Fatal("short command: want error")
	}
}

func TestReadRetriesMissingAndCorrupt(t *testing.T) {
	bad := status(2, 0, state(0, 2048))
	bad[10] ^= 0xFF
	p := newPlayback(t,
		// servo 2 silent on the first try, corrupted on the second, fine on the third
		step{dxlproto.AppendSyncRead(nil, 128, 8, ids12), status(1, 0, state(0, 2048))},
		step{dxlproto.AppendSyncRead(nil, 128, 8, []byte{2}), bad},
		step{dxlproto.AppendSyncRead(nil, 128, 8, []byte{2}), status(2, 0, state(0, 2148))},
	)
	a, _ := dynamixel.New(p, twoServos())
	defer a.Close()
	s := joint.NewState(2)
	if err := a.Read(context.Background(), &s); err != nil {
		t.Fatalf("read with retries: %v", err)
	}
	if s.Pos[0] != 0 || s.Pos[1] != 0 {
		t.Fatalf("positions %v, want 0 0", s.Pos)
	}
}

func TestSilentServoFaults(t *testing.T) {
	cfg := twoServos()
	cfg.Retries = -1 // no retries: one sync read per tick
	var steps []step
	for range 3 {
		steps = append(steps, step{dxlproto.AppendSyncRead(nil, 128, 8, ids12), status(1, 0, state(0, 2048))})
	}
	p := newPlayback(t, steps...)
	a, _ := dynamixel.New(p, cfg)
	defer a.Close()
	s := joint.NewState(2)
	for tick := 1; tick <= 3; tick++ {
		err := a.Read(context.Background(), &s)
		var te *dynamixel.TickError
		if !errors.As(err, &te) || !te.Failed(2) || te.Failed(1) || !errors.Is(err, dynamixel.ErrTimeout) || !errors.Is(err, drivers.ErrTimeout) {
			t.Fatalf("tick %d: err = %v, want a TickError naming servo 2 only, wrapping ErrTimeout", tick, err)
		}
		if !strings.Contains(err.Error(), "servo 2 (elbow): no reply") {
			t.Fatalf("tick %d: message %q", tick, err)
		}
		if got := errors.Is(err, drivers.ErrFault); got != (tick == 3) {
			t.Fatalf("tick %d: ErrFault = %v", tick, got)
		}
	}
	// Latched: no bus traffic, same fault.
	if err := a.Read(context.Background(), &s); !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("after fault: %v", err)
	}
	if err := a.Command(context.Background(), joint.Command{Pos: []float64{0, 0}}); !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("command after fault: %v", err)
	}
}

func TestHardwareAlertSurfaced(t *testing.T) {
	p := newPlayback(t,
		step{dxlproto.AppendSyncRead(nil, 128, 8, ids12), append(status(1, 0x80, state(0, 2048)), status(2, 0, state(0, 2048))...)},
		step{dxlproto.AppendRead(nil, 1, 70, 1), status(1, 0x80, []byte{dxlproto.HWOverload | dxlproto.HWOverheating})},
	)
	a, _ := dynamixel.New(p, twoServos())
	defer a.Close()
	s := joint.NewState(2)
	err := a.Read(context.Background(), &s)
	var se *dynamixel.ServoError
	if !errors.As(err, &se) || se.ID != 1 || se.Hardware != dxlproto.HWOverload|dxlproto.HWOverheating {
		t.Fatalf("err = %v, want servo 1 with overload and overheating bits", err)
	}
	if !errors.Is(err, drivers.ErrFault) || !errors.Is(err, dynamixel.ErrHardware) {
		t.Fatalf("err = %v, want ErrHardware wrapping drivers.ErrFault", err)
	}
	if !strings.Contains(err.Error(), "servo 1 (shoulder): hardware alert: overheating, overload") {
		t.Fatalf("message %q", err)
	}
}

func TestWatchdogAndTorqueOff(t *testing.T) {
	p := newPlayback(t,
		step{syncWrite(98, 1, ids12, []byte{0, 0}), nil},
		step{syncWrite(98, 1, ids12, []byte{5, 5}), nil},
		step{syncWrite(64, 1, ids12, []byte{0, 0}), nil},
	)
	a, _ := dynamixel.New(p, twoServos())
	defer a.Close()
	if err := a.SetWatchdog(context.Background(), 90*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := drivers.SetTorque(context.Background(), a, false); err != nil {
		t.Fatal(err)
	}
	if err := a.SetWatchdog(context.Background(), 3*time.Second); err == nil {
		t.Fatal("watchdog of 3 s: want error")
	}
}

func TestScanAndRegisters(t *testing.T) {
	p := newPlayback(t,
		step{dxlproto.AppendPing(nil, 1), status(1, 0, []byte{0x24, 0x04, 46})},
		step{dxlproto.AppendPing(nil, 2), nil},
		step{dxlproto.AppendPing(nil, 3), status(3, 0, []byte{0xFC, 0x03, 45})},
		step{dxlproto.AppendRead(nil, 3, 132, 4), status(3, 0, le32(1234))},
		step{dxlproto.AppendWrite(nil, 3, 65, []byte{1}), status(3, 0, nil)},
		step{dxlproto.AppendWrite(nil, 3, 11, []byte{1}), status(3, dxlproto.ErrCodeAccess, nil)},
	)
	b := dynamixel.NewBus(p, 50*time.Millisecond)
	defer b.Close()
	found, err := b.Scan(context.Background(), []byte{1, 2, 3})
	if err != nil || len(found) != 2 || found[0] != (dynamixel.Found{ID: 1, Model: 1060, Firmware: 46}) || found[1].Model != 1020 {
		t.Fatalf("Scan = %+v, %v", found, err)
	}
	var buf [4]byte
	if err := dynamixel.ReadRegister(context.Background(), b, 3, 132, buf[:]); err != nil || buf != [4]byte(le32(1234)) {
		t.Fatalf("ReadRegister = % X, %v", buf, err)
	}
	if err := dynamixel.WriteRegister(context.Background(), b, 3, 65, []byte{1}); err != nil {
		t.Fatal(err)
	}
	err = dynamixel.WriteRegister(context.Background(), b, 3, 11, []byte{1})
	if !errors.Is(err, dynamixel.ErrStatus) || !strings.Contains(err.Error(), "servo 3: status error: access error") {
		t.Fatalf("EEPROM write refused: err = %v", err)
	}
}

// responder answers every sync read of 128..135 with canned replies, allocation-free.
type responder struct {
	mu     sync.Mutex
	cond   *sync.Cond
	reply  []byte
	out    []byte
	closed bool
}

func (r *responder) Write(b []byte) (int, error) {
	r.mu.Lock()
	if len(b) > 7 && dxlproto.Instruction(b[7]) == dxlproto.InstSyncRead {
		r.out = append(r.out, r.reply...)
		r.cond.Broadcast()
	}
	r.mu.Unlock()
	return len(b), nil
}

func (r *responder) Read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.out) == 0 && !r.closed {
		r.cond.Wait()
	}
	if r.closed {
		return 0, errors.New("closed")
	}
	n := copy(b, r.out)
	r.out = r.out[:copy(r.out, r.out[n:])]
	return n, nil
}

func (r *responder) Close() error {
	r.mu.Lock()
	r.closed = true
	r.cond.Broadcast()
	r.mu.Unlock()
	return nil
}

func TestReadCommandZeroAllocs(t *testing.T) {
	r := &responder{out: make([]byte, 0, 1024)}
	r.cond = sync.NewCond(&r.mu)
	for id := byte(1); id <= 6; id++ {
		r.reply = append(r.reply, status(id, 0, state(int32(id), 2048+int32(id)))...)
	}
	cfg := dynamixel.Config{}
	for id := byte(1); id <= 6; id++ {
		cfg.Servos = append(cfg.Servos, dynamixel.Servo{ID: id, Joint: "j" + string('0'+rune(id))})
	}
	a, err := dynamixel.New(r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := joint.NewState(6)
	c := joint.NewCommand(6)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		if err := a.Command(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := a.Read(ctx, &s); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Read+Command allocate %v per tick, want 0", allocs)
	}
	if s.Pos[5] != (dynamixel.Calibration{}).Radians(2054) {
		t.Fatalf("pos %v", s.Pos)
	}
}

// TestFastSyncReadReplyNotUnstuffed: a Fast Sync Read reply is never byte-stuffed
// (e-manual, Protocol 2.0, Fast Sync Read), so data FF FF FD FD from a real servo must
// reach the driver as four bytes, not three.
func TestFastSyncReadReplyNotUnstuffed(t *testing.T) {
	cfg := twoServos()
	cfg.FastSyncRead, cfg.PositionOnly = true, true
	raw := []byte{0xFF, 0xFF, 0xFD, 0xFD}
	reply, err := dxlproto.AppendFastSyncStatus(nil, []dxlproto.FastReply{{ID: 1, Data: raw}, {ID: 2, Data: le32(2048)}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(reply), string(raw)) {
		t.Fatalf("reply % X does not carry the data unstuffed", reply)
	}
	p := newPlayback(t, step{dxlproto.AppendFastSyncRead(nil, 132, 4, ids12), reply})
	a, err := dynamixel.New(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := joint.NewState(2)
	if err := a.Read(context.Background(), &s); err != nil {
		t.Fatalf("read: %v", err)
	}
	u := uint32(0xFDFDFFFF)
	want0 := cfg.Servos[0].Cal.Radians(int32(u))
	want1 := cfg.Servos[1].Cal.Radians(2048)
	if s.Pos[0] != want0 || s.Pos[1] != want1 {
		t.Fatalf("positions %v, want [%v %v]", s.Pos, want0, want1)
	}
}
