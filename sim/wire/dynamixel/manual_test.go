package dxlsim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/motion/clock"
)

// Citations: "XL430" is the ROBOTIS e-manual page of the XL430-W250 (Control Table of
// EEPROM Area / RAM Area and the field descriptions), "XM430" that of the XM430-W350,
// "P2" the e-manual's DYNAMIXEL Protocol 2.0 page (Status Packet error table,
// instructions).

func simWith(t *testing.T, cfg Config) (*Sim, *client) {
	t.Helper()
	a, b := net.Pipe()
	if cfg.Plant == nil {
		cfg.Plant = newLagPlant(t, len(cfg.IDs), 20*time.Millisecond)
	}
	sim, err := New(a, cfg)
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
	return sim, &client{t: t, conn: b, stream: dxlproto.NewStream(0)}
}

func leN(v int64, n int) []byte {
	b := make([]byte, n)
	for i := range n {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func (c *client) read(id byte, addr, n uint16) dxlproto.Packet {
	c.t.Helper()
	c.send(dxlproto.AppendRead(nil, id, addr, n))
	return c.must()
}

func (c *client) write(id byte, addr uint16, data []byte) dxlproto.Packet {
	c.t.Helper()
	c.send(dxlproto.AppendWrite(nil, id, addr, data))
	return c.must()
}

func TestPowerUpControlTable(t *testing.T) {
	type f struct {
		addr uint16
		n    uint16
		want int64
		name string
	}
	common := []f{
		{7, 1, 1, "ID"}, {8, 1, 1, "Baud Rate (57 600)"}, {9, 1, 250, "Return Delay Time"},
		{10, 1, 0, "Drive Mode"}, {11, 1, 3, "Operating Mode"}, {12, 1, 255, "Secondary ID"},
		{13, 1, 2, "Protocol Type"}, {20, 4, 0, "Homing Offset"}, {24, 4, 10, "Moving Threshold"},
		{36, 2, 885, "PWM Limit"}, {48, 4, 4095, "Max Position Limit"}, {52, 4, 0, "Min Position Limit"},
		{63, 1, 52, "Shutdown"}, {64, 1, 0, "Torque Enable"}, {65, 1, 0, "LED"},
		{68, 1, 2, "Status Return Level"}, {69, 1, 0, "Registered Instruction"},
		{70, 1, 0, "Hardware Error Status"}, {78, 2, 100, "Velocity P Gain"}, {82, 2, 0, "Position I Gain"},
		{88, 2, 0, "Feedforward 2nd Gain"}, {90, 2, 0, "Feedforward 1st Gain"}, {98, 1, 0, "Bus Watchdog"},
		{108, 4, 0, "Profile Acceleration"}, {112, 4, 0, "Profile Velocity"}, {116, 4, 2048, "Goal Position = present"},
		{122, 1, 0, "Moving"}, {132, 4, 2048, "Present Position"}, {168, 2, 224, "Indirect Address 1"},
		{222, 2, 251, "Indirect Address 28"}, {578, 2, 634, "Indirect Address 29"}, {632, 2, 661, "Indirect Address 56"},
	}
	for _, tc := range []struct {
		cite  string
		model uint16
		own   []f
	}{
		{"XL430, Control Table of EEPROM/RAM Area", dxlproto.ModelXL430W250, []f{
			{0, 2, 1060, "Model Number"}, {31, 1, 72, "Temperature Limit"}, {32, 2, 140, "Max Voltage Limit"},
			{34, 2, 60, "Min Voltage Limit"}, {44, 4, 265, "Velocity Limit"}, {60, 1, 0, "Startup Configuration"},
			{76, 2, 1000, "Velocity I Gain"}, {80, 2, 4000, "Position D Gain"}, {84, 2, 640, "Position P Gain"},
			{100, 2, 885, "Goal PWM = PWM Limit"}}},
		{"XM430, Control Table of EEPROM/RAM Area", dxlproto.ModelXM430W350, []f{
			{0, 2, 1020, "Model Number"}, {31, 1, 80, "Temperature Limit"}, {32, 2, 160, "Max Voltage Limit"},
			{34, 2, 95, "Min Voltage Limit"}, {38, 2, 1193, "Current Limit"}, {44, 4, 350, "Velocity Limit"},
			{76, 2, 1920, "Velocity I Gain"}, {80, 2, 0, "Position D Gain"}, {84, 2, 800, "Position P Gain"},
			{102, 2, 1193, "Goal Current = Current Limit"}}},
	} {
		t.Run(tc.cite, func(t *testing.T) {
			clk := &clock.Fake{}
			clk.Set(90 * time.Second) // the bus was up long before this servo's power came on
			_, c := simWith(t, Config{IDs: []byte{1}, Model: tc.model, Baud: 57600, Clock: clk})
			for _, fd := range append(append([]f(nil), common...), tc.own...) {
				p := c.read(1, fd.addr, fd.n)
				if p.Error != 0 || len(p.Params) != int(fd.n) {
					t.Errorf("%s (%d): status %v, %d bytes", fd.name, fd.addr, p.Error, len(p.Params))
					continue
				}
				if got := getN(p.Params, fd.n, fd.n == 4); got != fd.want {
					t.Errorf("%s (%d) = %d at power-up, want %d (%s)", fd.name, fd.addr, got, fd.want, tc.cite)
				}
			}
			// Live readings are plausible, not zero.
			volt := getN(c.read(1, 144, 2).Params, 2, false)
			lo, hi := getN(c.read(1, 34, 2).Params, 2, false), getN(c.read(1, 32, 2).Params, 2, false)
			if volt < lo || volt > hi {
				t.Errorf("Present Input Voltage %d outside the voltage limits %d..%d", volt, lo, hi)
			}
			if temp := c.read(1, 146, 1).Params[0]; temp < 15 || temp > 60 {
				t.Errorf("Present Temperature %d °C", temp)
			}
			// Realtime Tick (120): ms since power-up (or reboot), 0..32 767, then 0 again.
			tick := func() int64 { return getN(c.read(1, 120, 2).Params, 2, false) }
			for _, st := range []struct {
				advance time.Duration
				want    int64
			}{
				{1234 * time.Millisecond, 1234}, {31533 * time.Millisecond, 32767},
				{time.Millisecond, 0}, {40 * time.Second, 7232},
			} {
				clk.Advance(st.advance)
				if got := tick(); got != st.want {
					t.Errorf("Realtime Tick %d after +%v, want %d (%s, Realtime Tick)", got, st.advance, st.want, tc.cite)
				}
			}
			c.send(dxlproto.AppendPacket(nil, dxlproto.Packet{ID: 1, Instruction: dxlproto.InstReboot}))
			if p := c.must(); p.Error != 0 {
				t.Fatalf("reboot: status %v", p.Error)
			}
			// The sim reboots after its reply; the next request is served after the reboot.
			if got := tick(); got != 0 {
				t.Errorf("Realtime Tick %d right after a reboot, want 0", got)
			}
			clk.Advance(5 * time.Millisecond)
			if got := tick(); got != 5 {
				t.Errorf("Realtime Tick %d 5 ms after a reboot, want 5", got)
			}
		})
	}
}

func TestManualBehaviour(t *testing.T) {
	type step struct {
		inst    []byte
		from    byte                 // ID the status must come from; 0: no status expected
		err     dxlproto.StatusError // error code expected
		checkID byte                 // servo whose register to check afterwards (by its new ID)
		addr    uint16
		want    []byte
	}
	w := func(id byte, addr uint16, data ...byte) []byte { return dxlproto.AppendWrite(nil, id, addr, data) }
	r := func(id byte, addr, n uint16) []byte { return dxlproto.AppendRead(nil, id, addr, n) }
	pkt := func(id byte, inst dxlproto.Instruction, params ...byte) []byte {
		return dxlproto.AppendPacket(nil, dxlproto.Packet{ID: id, Instruction: inst, Params: params})
	}
	for _, tc := range []struct {
		cite  string
		steps []step
	}{
		{"P2 Status Packet 0x07 Access Error: read of an undefined address", []step{
			{inst: r(1, 14, 1), from: 1, err: dxlproto.ErrCodeAccess},
			{inst: r(1, 660, 4), from: 1, err: dxlproto.ErrCodeAccess},
		}},
		{"P2 Status Packet 0x07 Access Error: write to a read-only address", []step{
			{inst: w(1, 132, 0, 0, 0, 0), from: 1, err: dxlproto.ErrCodeAccess},
			{inst: w(1, 0, 1, 0), from: 1, err: dxlproto.ErrCodeAccess},
		}},
		{"XM430 Control Table Description: EEPROM written only while Torque Enable is 0 (0x07)", []step{
			{inst: w(1, 64, 1), from: 1},
			{inst: w(1, 9, 0), from: 1, err: dxlproto.ErrCodeAccess, checkID: 1, addr: 9, want: []byte{250}},
			{inst: w(1, 64, 0), from: 1},
			{inst: w(1, 9, 0), from: 1, checkID: 1, addr: 9, want: []byte{0}},
		}},
		{"P2 Status Packet 0x05 Data Length Error: 2 bytes into a 4-byte field", []step{
			{inst: w(1, 116, 0, 8), from: 1, err: dxlproto.ErrCodeDataLength, checkID: 1, addr: 116, want: []byte{0, 8, 0, 0}},
		}},
		{"P2 Status Packet 0x04 Data Range Error: Return Delay Time 255 (range 0 ~ 254)", []step{
			{inst: w(1, 9, 255), from: 1, err: dxlproto.ErrCodeDataRange, checkID: 1, addr: 9, want: []byte{250}},
			{inst: w(1, 68, 3), from: 1, err: dxlproto.ErrCodeDataRange},
		}},
		{"P2 Status Packet 0x06 Data Limit Error: Goal Position beyond Max Position Limit(48)", []step{
			{inst: w(1, 48, 0x00, 0x0C, 0, 0), from: 1}, // max 3072
			{inst: w(1, 116, 0x01, 0x0C, 0, 0), from: 1, err: dxlproto.ErrCodeDataLimit},
			{inst: w(1, 116, 0x00, 0x0C, 0, 0), from: 1, checkID: 1, addr: 116, want: []byte{0x00, 0x0C, 0, 0}},
			{inst: w(1, 104, 0x0A, 0x01, 0, 0), from: 1, err: dxlproto.ErrCodeDataLimit}, // 266 > Velocity Limit 265
		}},
		{"XL430 Homing Offset(20): Present Position = Actual Position + Homing Offset", []step{
			{inst: w(1, 20, 0x00, 0x04, 0, 0), from: 1, checkID: 1, addr: 132, want: []byte{0x00, 0x0C, 0, 0}},       // 2048+1024
			{inst: w(1, 20, 0x00, 0xFC, 0xFF, 0xFF), from: 1, checkID: 1, addr: 132, want: []byte{0x00, 0x04, 0, 0}}, // 2048−1024
		}},
		{"XL430 ID(7): a new ID takes effect; the status comes from the ID addressed", []step{
			{inst: w(1, 7, 9), from: 1, checkID: 9, addr: 7, want: []byte{9}},
			{inst: dxlproto.AppendPing(nil, 9), from: 9},
			{inst: r(1, 7, 1)}, // no servo 1 any more: the ping below answers first
			{inst: dxlproto.AppendPing(nil, 9), from: 9},
		}},
		{"XL430 Status Return Level(68): 1 answers ping and read only, 0 ping only", []step{
			{inst: w(1, 68, 1), from: 1},
			{inst: w(1, 65, 1)}, // no status to a write
			{inst: r(1, 65, 1), from: 1, checkID: 1, addr: 65, want: []byte{1}},
			{inst: w(1, 68, 0)},
			{inst: r(1, 65, 1)},
			{inst: dxlproto.AppendPing(nil, 1), from: 1},
		}},
		{"P2 Reg Write / Action; XL430 Registered Instruction(69)", []step{
			{inst: pkt(1, dxlproto.InstRegWrite, 65, 0, 1), from: 1, checkID: 1, addr: 69, want: []byte{1}},
			{inst: r(1, 65, 1), from: 1, checkID: 1, addr: 65, want: []byte{0}},
			{inst: pkt(1, dxlproto.InstAction), from: 1, checkID: 1, addr: 65, want: []byte{1}},
			{inst: pkt(1, dxlproto.InstAction), from: 1, err: dxlproto.ErrCodeInstruction, checkID: 1, addr: 69, want: []byte{0}},
		}},
		{"P2 Reboot: RAM back to initial values, EEPROM kept", []step{
			{inst: w(1, 9, 0), from: 1},
			{inst: w(1, 65, 1), from: 1},
			{inst: w(1, 64, 1), from: 1},
			{inst: pkt(1, dxlproto.InstReboot), from: 1},
			{inst: dxlproto.AppendPing(nil, 1), from: 1, checkID: 1, addr: 64, want: []byte{0, 0}},
			{inst: r(1, 9, 1), from: 1, checkID: 1, addr: 9, want: []byte{0}},
		}},
		{"P2 Factory Reset 0x02: all but ID and Baud Rate; 0xFF all, ID back to 1", []step{
			{inst: w(1, 7, 5), from: 1},
			{inst: w(5, 9, 0), from: 5},
			{inst: pkt(5, dxlproto.InstFactoryReset, 0x02), from: 5},
			{inst: r(5, 9, 1), from: 5, checkID: 5, addr: 9, want: []byte{250}},
			{inst: pkt(dxlproto.BroadcastID, dxlproto.InstFactoryReset, 0xFF)}, // refused for broadcast
			{inst: dxlproto.AppendPing(nil, 5), from: 5},
			{inst: pkt(5, dxlproto.InstFactoryReset, 0xFF), from: 5},
			{inst: dxlproto.AppendPing(nil, 1), from: 1, checkID: 1, addr: 7, want: []byte{1}},
			{inst: pkt(1, dxlproto.InstFactoryReset, 0x03), from: 1, err: dxlproto.ErrCodeDataRange},
		}},
		{"P2 Bulk Write: each servo its own address and data, no status", []step{
			{inst: pkt(dxlproto.BroadcastID, dxlproto.InstBulkWrite, 1, 65, 0, 1, 0, 1, 2, 68, 0, 1, 0, 1)},
			{inst: r(1, 65, 1), from: 1, checkID: 1, addr: 65, want: []byte{1}},
			{inst: r(2, 68, 1), from: 2, checkID: 2, addr: 68, want: []byte{1}},
		}},
		{"XL430 Indirect Address/Data: Indirect Data n reads the address in Indirect Address n", []step{
			{inst: w(1, 168, 132, 0, 133, 0, 134, 0, 135, 0), from: 1},
			{inst: r(1, 224, 4), from: 1, checkID: 1, addr: 224, want: []byte{0x00, 0x08, 0, 0}},
			{inst: w(1, 170, 10, 0), from: 1, err: dxlproto.ErrCodeDataRange}, // range 64 ~ 661
			{inst: w(1, 170, 122, 0), from: 1},                                // Indirect Address 2 → Moving (read only)
			{inst: w(1, 225, 1), from: 1, err: dxlproto.ErrCodeAccess},
		}},
	} {
		t.Run(tc.cite, func(t *testing.T) {
			sim, c := simWith(t, Config{IDs: []byte{1, 2}})
			for k, st := range tc.steps {
				c.send(st.inst)
				if st.from != 0 {
					p := c.must()
					if p.ID != st.from || p.Error.Code() != byte(st.err) {
						t.Fatalf("step %d: status from %d error %v; want from %d error %v", k, p.ID, p.Error, st.from, st.err)
					}
				}
				if st.want != nil {
					got, err := sim.Register(st.checkID, st.addr, len(st.want))
					if err != nil || !bytes.Equal(got, st.want) {
						t.Fatalf("step %d: servo %d @%d = % X (%v), want % X", k, st.checkID, st.addr, got, err, st.want)
					}
				}
			}
		})
	}
}

// TestBusWatchdog: XL430 Bus Watchdog(98): with torque on, no instruction for longer than
// the set time stops the servo and shows −1; goal writes then earn a Data Range Error until
// 0 is written.
func TestBusWatchdog(t *testing.T) {
	sim, c := simWith(t, Config{IDs: []byte{1}})
	if p := c.write(1, 98, []byte{1}); p.Error != 0 { // 20 ms, torque off: not watching
		t.Fatalf("watchdog: %v", p.Error)
	}
	// Torque off: the watchdog does not trip however long the bus is idle. The first
	// torque-on write below must succeed, so no trip happened while torque was off.
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) {
		if r, _ := sim.Register(1, 98, 1); r[0] != 1 {
			t.Fatalf("watchdog tripped with torque off: %d", int8(r[0]))
		}
	}
	if p := c.write(1, 64, []byte{1}); p.Error != 0 {
		t.Fatalf("torque on: %v", p.Error)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		r, _ := sim.Register(1, 98, 1)
		if int8(r[0]) == -1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("watchdog did not trip within 5 s of an idle bus with torque on")
		}
	}
	if p := c.write(1, 104, le32(10)); p.Error.Code() != dxlproto.ErrCodeDataRange {
		t.Fatalf("goal velocity after a trip: %v, want data range error", p.Error)
	}
	if p := c.write(1, 98, []byte{0}); p.Error != 0 {
		t.Fatalf("clear: %v", p.Error)
	}
	if p := c.write(1, 116, le32(2100)); p.Error != 0 {
		t.Fatalf("goal after clearing: %v", p.Error)
	}
}

// TestFastSyncReadNeverStuffed: P2 Fast Sync Read: the combined status is not
// byte-stuffed even when the data hold FF FF FD.
func TestFastSyncReadNeverStuffed(t *testing.T) {
	_, c := simWith(t, Config{IDs: []byte{1, 2}})
	for _, id := range []byte{1, 2} {
		// Homing Offset −131073 is FF FF FD FF little-endian (inside ±1 044 479).
		if p := c.write(id, 20, []byte{0xFF, 0xFF, 0xFD, 0xFF}); p.Error != 0 {
			t.Fatalf("homing offset: %v", p.Error)
		}
	}
	c.send(dxlproto.AppendFastSyncRead(nil, 20, 4, []byte{1, 2}))
	// Raw bytes: 7 header + inst + (err id 4 data crc2) + (err id 4 data) + crc 2 = 24.
	raw := make([]byte, 0, 64)
	buf := make([]byte, 64)
	c.conn.SetReadDeadline(time.Now().Add(time.Second))
	for len(raw) < 24 {
		n, err := c.conn.Read(buf)
		if err != nil {
			t.Fatalf("after % X: %v", raw, err)
		}
		raw = append(raw, buf[:n]...)
	}
	if len(raw) != 24 || !bytes.Equal(raw[10:14], []byte{0xFF, 0xFF, 0xFD, 0xFF}) {
		t.Fatalf("fast sync reply % X: want 24 bytes with FF FF FD FF unstuffed", raw)
	}
	p, _, err := dxlproto.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		if _, _, d, err := dxlproto.FastSlot(&p, 4, k); err != nil || !bytes.Equal(d, []byte{0xFF, 0xFF, 0xFD, 0xFF}) {
			t.Fatalf("slot %d: % X %v", k, d, err)
		}
	}
}
