package fwarm

import (
	"context"
	"errors"
	"math"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/firmware-bridge/fwsim"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Wire bounds from PROTOCOL.md section 6: COMMAND (21 bytes) + STATE (34 bytes), 10 bits
// a byte.
func wireBoundPerSec(baud int) float64 { return float64(baud) / (55 * 10) }

func benchBoard(b *testing.B, baud int) (*fwsim.Board, *Arm) {
	brd, err := fwsim.Start(fwsim.Config{Baud: baud, NoPlant: true})
	if errors.Is(err, fwsim.ErrToolchain) {
		b.Skipf("cannot run the firmware: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { brd.Close() })
	cfg := so101Config(b)
	cfg.Heartbeat = -1
	a, err := Open(brd.Port, baud, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	return brd, a
}

// BenchmarkExchange: COMMAND→STATE exchanges for 6 joints. exchanges/s is host-inclusive
// (pty, scheduling) in wall time; board-ms/exchange is the simulated time from the
// COMMAND's first bit to the STATE's last (UART at the baud rate plus firmware), the
// figure to hold against the wire bound.
func BenchmarkExchange(b *testing.B) {
	for _, baud := range []int{115200, 1000000} {
		b.Run(strconv.Itoa(baud), func(b *testing.B) {
			brd, a := benchBoard(b, baud)
			ctx := context.Background()
			c := joint.Command{Pos: make([]float64, 6)}
			s0, _ := brd.Wait(ctx, func(*fwsim.Snapshot) bool { return true })
			rx0 := len(s0.Rx)
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				c.Pos[0] = 0.1 * float64(i%2)
				if err := a.Command(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
			wall := time.Since(start)
			b.StopTimer()
			n := b.N
			// Pair each COMMAND delimiter into the MCU with the next STATE delimiter out.
			s, _ := brd.Wait(ctx, func(s *fwsim.Snapshot) bool { return len(s.Tx) > 0 && len(s.Rx) >= rx0+n })
			var sum float64
			k := 0
			j := 0
			for _, rx := range s.Rx[rx0:] {
				for j < len(s.Tx) && s.Tx[j] <= rx {
					j++
				}
				if j == len(s.Tx) {
					break
				}
				sum += float64(s.Tx[j] - rx)
				k++
			}
			cmdWire := 21 * 10 / float64(baud) // s
			board := cmdWire + sum/float64(max(k, 1))/fwsim.CPUHz
			b.ReportMetric(float64(n)/wall.Seconds(), "exchanges/s")
			b.ReportMetric(board*1e3, "board-ms/exchange")
			b.ReportMetric(1/board, "board-exchanges/s")
			b.ReportMetric(wireBoundPerSec(baud), "wire-bound/s")
		})
	}
}

// BenchmarkCommandToPulse: simulated time from a COMMAND's first bit on the wire to the
// end of the first pulse at the new width, over all 6 joints (the servo frame is 20 ms).
func BenchmarkCommandToPulse(b *testing.B) {
	for _, baud := range []int{115200, 1000000} {
		b.Run(strconv.Itoa(baud), func(b *testing.B) {
			brd, a := benchBoard(b, baud)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := joint.Command{Pos: make([]float64, 6)}
			cmdWire := uint64(21 * 10 * fwsim.CPUHz / baud)
			var sum, worst float64
			var all []float64
			samples := 0
			for i := 0; b.Loop(); i++ {
				q := 0.2 * float64(1-2*(i%2))
				for j := range c.Pos {
					c.Pos[j] = q
				}
				s0, _ := brd.Wait(ctx, func(*fwsim.Snapshot) bool { return true })
				n0 := len(s0.Rx)
				if err := a.Command(ctx, c); err != nil {
					b.Fatal(err)
				}
				want := make([]float64, 6)
				for j, jc := range a.cfg.Joints {
					want[j] = expectUs(jc, min(max(q, jc.Min), jc.Max))
				}
				match := func(j int) func(fwsim.Pulse) bool {
					return func(p fwsim.Pulse) bool { return math.Abs(p.Us()-want[j]) <= pulseTolUs }
				}
				s, err := brd.Wait(ctx, func(s *fwsim.Snapshot) bool {
					if len(s.Rx) <= n0 {
						return false
					}
					for j := range 6 {
						if _, ok := s.First(j, s.Rx[n0], match(j)); !ok {
							return false
						}
					}
					return true
				})
				if err != nil {
					b.Fatalf("%v: want %v µs, last pulses %+v", err, want, s.Last)
				}
				rx := s.Rx[n0] - cmdWire // first bit of the COMMAND
				for j := range 6 {
					p, _ := s.First(j, s.Rx[n0], match(j))
					lat := float64(p.Rise+p.Width-rx) / fwsim.CPUHz
					sum += lat
					all = append(all, lat)
					worst = max(worst, lat)
					samples++
				}
			}
			sort.Float64s(all)
			b.ReportMetric(all[len(all)/2]*1e3, "p50-ms")
			b.ReportMetric(all[len(all)*99/100]*1e3, "p99-ms")
			b.ReportMetric(sum/float64(samples)*1e3, "mean-ms")
			b.ReportMetric(worst*1e3, "max-ms")
		})
	}
}
