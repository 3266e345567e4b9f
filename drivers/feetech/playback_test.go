package feetech

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// step is one exchange: the bytes the driver must write, then the bytes the bus answers.
type step struct{ write, reply []byte }

// playback is a scripted bus. It fails the test on any unexpected write and, at cleanup,
// when scripted bytes are left unused. A read with nothing queued times out at once.
type playback struct {
	t      testing.TB
	steps  []step
	next   int
	cycle  bool // replay steps forever (benchmarks, alloc tests)
	queued []byte
	wbuf   []byte
	closed bool
}

func newPlayback(t testing.TB, steps ...step) *playback {
	p := &playback{t: t, steps: steps}
	t.Cleanup(func() {
		if p.cycle {
			return
		}
		if p.next != len(p.steps) || len(p.queued) > 0 || len(p.wbuf) > 0 {
			t.Errorf("playback: %d of %d steps used, %d reply bytes and %d written bytes left", p.next, len(p.steps), len(p.queued), len(p.wbuf))
		}
	})
	return p
}

func (p *playback) Write(b []byte) (int, error) {
	p.wbuf = append(p.wbuf, b...)
	for {
		if p.next == len(p.steps) {
			if !p.cycle {
				if len(p.wbuf) > 0 {
					p.t.Errorf("playback: unexpected write % X", p.wbuf)
					p.wbuf = p.wbuf[:0]
				}
				return len(b), nil
			}
			p.next = 0
		}
		w := p.steps[p.next].write
		if len(p.wbuf) < len(w) {
			if !bytes.HasPrefix(w, p.wbuf) {
				p.t.Errorf("playback step %d: wrote % X, want % X", p.next, p.wbuf, w)
				p.wbuf = p.wbuf[:0]
			}
			return len(b), nil
		}
		if !bytes.Equal(p.wbuf[:len(w)], w) {
			p.t.Errorf("playback step %d: wrote % X, want % X", p.next, p.wbuf[:len(w)], w)
		}
		p.wbuf = append(p.wbuf[:0], p.wbuf[len(w):]...)
		p.queued = append(p.queued, p.steps[p.next].reply...)
		p.next++
		if len(p.wbuf) == 0 {
			return len(b), nil
		}
	}
}

func (p *playback) Read(b []byte) (int, error) {
	if len(p.queued) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(b, p.queued)
	p.queued = append(p.queued[:0], p.queued[n:]...)
	return n, nil
}

func (p *playback) SetReadDeadline(time.Time) error { return nil }
func (p *playback) Close() error                    { p.closed = true; return nil }

func pkt(id, inst byte, params ...byte) []byte {
	b := make([]byte, ftproto.MaxPacket)
	n, err := ftproto.Encode(b, id, inst, params)
	if err != nil {
		panic(err)
	}
	return b[:n]
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func twoJoints() Config {
	return Config{
		ReplyTimeout: time.Second, // playback never makes the driver wait
		Joints: []JointConfig{
			{Name: "shoulder", ID: 1, Offset: 2048},
			{Name: "elbow", ID: 2, Offset: 2048, Direction: -1},
		},
	}
}

var syncRead12 = []byte{0xFF, 0xFF, 0xFE, 0x06, 0x82, 0x38, 0x04, 0x01, 0x02, 0x3A}

func TestSyncReadBytes(t *testing.T) {
	if !bytes.Equal(syncRead12, pkt(ftproto.BroadcastID, ftproto.InstSyncRead, 0x38, 4, 1, 2)) {
		t.Fatalf("transcript constant wrong: % X", pkt(ftproto.BroadcastID, ftproto.InstSyncRead, 0x38, 4, 1, 2))
	}
}

func TestPlaybackSetupReadCommand(t *testing.T) {
	pb := newPlayback(t,
		step{pkt(1, ftproto.InstPing), pkt(1, 0)},
		step{pkt(2, ftproto.InstPing), pkt(2, 0)},
		step{pkt(1, ftproto.InstWrite, 7, 0), pkt(1, 0)},
		step{pkt(2, ftproto.InstWrite, 7, 0), pkt(2, 0)},
		step{syncRead12, cat(pkt(1, 0, 0x00, 0x0C, 0, 0), pkt(2, 0, 0x00, 0x04, 0x64, 0x80))},
		// hold: goals = present (3072, 1024), then torque on
		step{pkt(0xFE, 0x83, 42, 2, 1, 0x00, 0x0C, 2, 0x00, 0x04), nil},
		step{pkt(0xFE, 0x83, 40, 1, 1, 1, 2, 1), nil},
		// Read
		step{syncRead12, cat(pkt(1, 0, 0x00, 0x08, 0, 0), pkt(2, 0, 0x00, 0x04, 0x64, 0x80))},
		// Command [0, π/2]: literal bytes
		step{[]byte{0xFF, 0xFF, 0xFE, 0x0A, 0x83, 0x2A, 0x02, 0x01, 0x00, 0x08, 0x02, 0x00, 0x04, 0x39}, nil},
	)
	cfg := twoJoints()
	fake := &clock.Fake{}
	cfg.Clock = fake
	d, err := New(pb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	s := joint.NewState(2)
	fake.Set(7 * time.Second)
	if err := d.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if s.Time != 7*time.Second {
		t.Fatalf("State.Time %v, want the injected clock's 7s", s.Time)
	}
	k := 2 * math.Pi / 4096
	if s.Pos[0] != 0 || math.Abs(s.Pos[1]-math.Pi/2) > 1e-12 || s.Vel[0] != 0 || math.Abs(s.Vel[1]-100*k) > 1e-12 {
		t.Fatalf("state %+v", s)
	}
	if err := d.Command(ctx, joint.Command{Pos: []float64{0, math.Pi / 2}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil || !pb.closed {
		t.Fatalf("close: %v, bus closed %v", err, pb.closed)
	}
	if err := d.Read(ctx, &s); !errors.Is(err, drivers.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestPlaybackRetryAndFault(t *testing.T) {
	cfg := twoJoints()
	cfg.FaultAfter = 2
	good1 := pkt(1, 0, 0x00, 0x08, 0, 0)
	read2 := pkt(2, ftproto.InstRead, 56, 4)
	pb := newPlayback(t,
		// tick 1: servo 2's reply is corrupted; the retry succeeds.
		step{syncRead12, cat(good1, func() []byte { b := pkt(2, 0, 0, 8, 0, 0); b[len(b)-1]++; return b }())},
		step{read2, pkt(2, 0, 0x00, 0x07, 0, 0)},
		// tick 2: servo 2 silent, retry silent too: per-servo error.
		step{syncRead12, good1},
		step{read2, nil},
		// tick 3: silent again: the arm faults.
		step{syncRead12, good1},
		step{read2, nil},
		// tick 4: servo 1 reports overload (after Setup would clear; here: fault is sticky).
	)
	d, err := New(pb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	s := joint.NewState(2)
	if err := d.Read(ctx, &s); err != nil {
		t.Fatalf("tick 1: %v", err)
	}
	if want := -float64(0x700-2048) * 2 * math.Pi / 4096; math.Abs(s.Pos[1]-want) > 1e-12 {
		t.Fatalf("tick 1: elbow %v, want %v", s.Pos[1], want)
	}
	err = d.Read(ctx, &s)
	var se *ServoError
	if !errors.As(err, &se) || se.ID != 2 || se.Joint != "elbow" || !errors.Is(err, drivers.ErrTimeout) || errors.Is(err, drivers.ErrFault) {
		t.Fatalf("tick 2: %v", err)
	}
	if !strings.Contains(err.Error(), "feetech: servo 2 (elbow): no reply") {
		t.Fatalf("tick 2 message: %q", err)
	}
	err = d.Read(ctx, &s)
	if !errors.Is(err, drivers.ErrFault) || !errors.As(err, &se) || se.ID != 2 {
		t.Fatalf("tick 3: %v", err)
	}
	if err := d.Command(ctx, joint.Command{Pos: []float64{0, 0}}); !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("command after fault: %v", err)
	}
}

func TestPlaybackStatusBits(t *testing.T) {
	pb := newPlayback(t,
		step{syncRead12, cat(pkt(1, byte(ftproto.StatusOverload|ftproto.StatusOverheat), 0x00, 0x08, 0, 0), pkt(2, 0, 0x00, 0x08, 0, 0))},
	)
	d, _ := New(pb, twoJoints())
	defer d.Close()
	s := joint.NewState(2)
	err := d.Read(context.Background(), &s)
	var se *ServoError
	if !errors.As(err, &se) || se.ID != 1 || se.Status != ftproto.StatusOverload|ftproto.StatusOverheat || !errors.Is(err, ErrStatus) || !errors.Is(err, drivers.ErrFault) {
		t.Fatalf("err = %v", err)
	}
	if err.Error() != "feetech: servo 1 (shoulder): status error: drivers: hardware fault: overheat|overload" {
		t.Fatalf("message %q", err)
	}
}

func TestSCSPerServoReads(t *testing.T) {
	cfg := twoJoints()
	cfg.Series = ftproto.SCS
	cfg.Joints[0].Offset, cfg.Joints[1].Offset = 512, 512
	pb := newPlayback(t,
		step{pkt(1, ftproto.InstRead, 56, 4), pkt(1, 0, 0x03, 0x00, 0, 0)}, // big-endian 768
		step{pkt(2, ftproto.InstRead, 56, 4), pkt(2, 0, 0x02, 0x00, 0, 0)},
		step{pkt(0xFE, 0x83, 42, 2, 1, 0x02, 0x00, 2, 0x01, 0x00), nil}, // 512, 256 big-endian
	)
	d, err := New(pb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := joint.NewState(2)
	if err := d.Read(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Pos[0]-math.Pi/2) > 1e-12 || s.Pos[1] != 0 {
		t.Fatalf("pos %v", s.Pos)
	}
	if err := d.Command(context.Background(), joint.Command{Pos: []float64{0, math.Pi / 2}}); err != nil {
		t.Fatal(err)
	}
}

func TestZeroAllocs(t *testing.T) {
	pb := newPlayback(t,
		step{syncRead12, cat(pkt(1, 0, 0x00, 0x08, 0, 0), pkt(2, 0, 0x00, 0x04, 0x64, 0x80))},
		step{pkt(0xFE, 0x83, 42, 2, 1, 0x00, 0x08, 2, 0x00, 0x04), nil},
	)
	pb.cycle = true
	d, _ := New(pb, twoJoints())
	defer d.Close()
	ctx := context.Background()
	s := joint.NewState(2)
	c := joint.Command{Pos: []float64{0, math.Pi / 2}}
	a := testing.AllocsPerRun(200, func() {
		if err := d.Read(ctx, &s); err != nil {
			t.Fatal(err)
		}
		if err := d.Command(ctx, c); err != nil {
			t.Fatal(err)
		}
	})
	if a != 0 {
		t.Fatalf("Read+Command allocate %v per tick", a)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Joints = nil }, "Config.Joints: no joints"},
		{func(c *Config) { c.Baud = 9601 }, "Config.Baud"},
		{func(c *Config) { c.Series = 7 }, "Config.Series"},
		{func(c *Config) { c.ReplyTimeout = -1 }, "Config.ReplyTimeout"},
		{func(c *Config) { c.Joints[1].Name = "shoulder" }, "Config.Joints[1].Name: duplicate"},
		{func(c *Config) { c.Joints[1].ID = 1 }, "Config.Joints[1].ID: duplicate"},
		{func(c *Config) { c.Joints[0].ID = 254 }, "Config.Joints[0].ID"},
		{func(c *Config) { c.Joints[0].Direction = 2 }, "Config.Joints[0].Direction"},
		{func(c *Config) { c.Joints[0].Limits = joint.Limits{Min: 1, Max: 0.5} }, "Config.Joints[0].Limits"},
		{func(c *Config) { c.Joints[0].Limits = joint.Limits{Min: -4, Max: 0} }, "outside the servo range"},
		{func(c *Config) { c.Joints[0].Name = "" }, "Config.Joints[0].Name: empty"},
	} {
		cfg := twoJoints()
		c.mut(&cfg)
		_, err := New(newPlayback(t), cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error containing %q, got %v", c.want, err)
		}
	}
	if _, err := Open("/nonexistent/tty", Config{}); err == nil || !strings.Contains(err.Error(), "Config.Joints") {
		t.Errorf("Open validates before touching hardware: %v", err)
	}
}

func BenchmarkReadCommandPlayback(b *testing.B) {
	pb := newPlayback(b,
		step{syncRead12, cat(pkt(1, 0, 0x00, 0x08, 0, 0), pkt(2, 0, 0x00, 0x04, 0x64, 0x80))},
		step{pkt(0xFE, 0x83, 42, 2, 1, 0x00, 0x08, 2, 0x00, 0x04), nil},
	)
	pb.cycle = true
	d, _ := New(pb, twoJoints())
	defer d.Close()
	ctx := context.Background()
	s := joint.NewState(2)
	c := joint.Command{Pos: []float64{0, math.Pi / 2}}
	b.ReportAllocs()
	for b.Loop() {
		d.Read(ctx, &s)
		d.Command(ctx, c)
	}
}
