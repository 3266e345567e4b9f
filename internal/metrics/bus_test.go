//go:build linux

package metrics

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// TestBusMetrics drives a bus arm over the simulated Dynamixel and Feetech buses (the real
// wire protocol on a pty) and checks the per-servo metrics, scraped over HTTP, against the
// reads and writes made and the faults injected.
func TestBusMetrics(t *testing.T) {
	for _, driver := range []string{busarm.Dynamixel, busarm.Feetech} {
		t.Run(driver, func(t *testing.T) {
			m, path, err := pty.Open("")
			if err != nil {
				t.Skipf("no pty: %v", err)
			}
			arm, err := simarm.New(simarm.Config{Model: "so101", Clock: busarm.NewSimClock(0)})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := busarm.ForJoints(driver, arm.Joints(), nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := busarm.NewSim(m, busarm.SimConfig{Bus: cfg, Arm: arm})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- s.Serve(ctx) }()
			defer func() {
				cancel()
				if err := <-errc; err != nil {
					t.Errorf("serve: %v", err)
				}
				m.Close()
			}()
			cfg.ReplyTimeout = 150 * time.Millisecond
			a, err := busarm.Open(path, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if err := a.Setup(ctx); err != nil {
				t.Fatalf("setup: %v", err)
			}
			rep, ok := a.(servo.StatsReporter)
			if !ok {
				t.Fatalf("%T does not report servo stats", a)
			}
			met := New(Sources{Bus: rep})
			srv := httptest.NewServer(met.Handler())
			defer srv.Close()
			before, err := Scrape(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			st := joint.NewState(len(a.Joints()))
			const reads, writes = 20, 10
			for range reads {
				if err := a.Read(ctx, &st); err != nil {
					t.Fatalf("read: %v", err)
				}
			}
			cmd := joint.Command{Pos: append([]float64(nil), st.Pos...), Vel: make([]float64, len(st.Pos))}
			for range writes {
				if err := a.Command(ctx, cmd); err != nil {
					t.Fatalf("command: %v", err)
				}
			}
			// Servo 3 withholds its next reply: the next read retries it once, and succeeds.
			if err := s.Inject(busarm.Fault{Kind: busarm.FaultDrop, ID: 3, N: 1}); err != nil {
				t.Fatal(err)
			}
			if err := a.Read(ctx, &st); err != nil {
				t.Fatalf("read with one reply dropped: %v", err)
			}
			// Servo 5 goes silent: the read fails for it after the retries.
			if err := s.Inject(busarm.Fault{Kind: busarm.FaultSilent, ID: 5}); err != nil {
				t.Fatal(err)
			}
			if err := a.Read(ctx, &st); err == nil {
				t.Fatal("read with servo 5 silent: no error")
			}
			after, err := Scrape(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			retries := 2 // the drivers' default retries
			if driver == busarm.Feetech {
				retries = 1
			}
			for i, j := range a.Joints() {
				id := i + 1
				lab := []string{`servo="` + itoa(id) + `"`, `joint="` + j.Name + `"`}
				d := func(name string) float64 { return after.Sum(name, lab...) - before.Sum(name, lab...) }
				wantTx, wantRetry, wantErr := float64(reads+writes+2), 0.0, 0.0
				switch id {
				case 3:
					wantTx, wantRetry = wantTx+1, 1
				case 5:
					wantTx, wantRetry, wantErr = wantTx+float64(retries), float64(retries), 1
				}
				if tx, r, e := d("praxis_bus_transactions_total"), d("praxis_bus_retries_total"), d("praxis_bus_errors_total"); tx != wantTx || r != wantRetry || e != wantErr {
					t.Errorf("servo %d (%s): transactions +%v, retries +%v, errors +%v; want +%v, +%v, +%v",
						id, j.Name, tx, r, e, wantTx, wantRetry, wantErr)
				}
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
