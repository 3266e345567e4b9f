package feetech

import (
	"context"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// junkBus accepts every write and answers each with the same bytes.
type junkBus struct {
	reply, left []byte
}

func (j *junkBus) Write(b []byte) (int, error) { j.left = j.reply; return len(b), nil }
func (j *junkBus) Read(b []byte) (int, error) {
	if len(j.left) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(b, j.left)
	j.left = j.left[n:]
	return n, nil
}
func (j *junkBus) SetReadDeadline(time.Time) error { return nil }
func (j *junkBus) Close() error                    { return nil }

// FuzzRead feeds arbitrary bytes as the servos' replies: Read must not panic, must
// return finite values, and must fail only with per-servo errors or an arm fault.
func FuzzRead(f *testing.F) {
	f.Add(cat(pkt(1, 0, 0x00, 0x08, 0, 0), pkt(2, 0, 0x00, 0x04, 0x64, 0x80)))
	f.Add(cat(pkt(2, 0x20, 0xFF, 0xFF, 0xFF, 0xFF), []byte{0xFF, 0xFF, 0x01}))
	f.Add(pkt(1, 0, 1, 2, 3))
	f.Fuzz(func(t *testing.T, reply []byte) {
		cfg := twoJoints()
		cfg.ReadLoad = len(reply)%2 == 0
		cfg.Joints[1].StallTorque = 2
		d, err := New(&junkBus{reply: reply}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		s := joint.NewState(2)
		for range 4 {
			err := d.Read(context.Background(), &s)
			var se *ServoError
			if err != nil && !errors.As(err, &se) && !errors.Is(err, drivers.ErrFault) {
				t.Fatalf("unexpected error %v", err)
			}
			for i := range s.Pos {
				if math.IsNaN(s.Pos[i]) || math.IsInf(s.Pos[i], 0) || math.IsNaN(s.Vel[i]) || math.IsNaN(s.Eff[i]) {
					t.Fatalf("state %+v", s)
				}
			}
		}
	})
}
