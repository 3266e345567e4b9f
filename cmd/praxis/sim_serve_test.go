//go:build linux

package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/daemon"
)

// servedSim is a `praxis sim serve` running in-process on a temp link.
type servedSim struct {
	link, slave string
	sim         *busarm.Sim
	arm         *simarm.Arm
	out         string // what serve printed before serving
}

// startSimServe runs `sim serve` in-process with o (link defaulted to a temp path) until
// the test ends.
func startSimServe(t *testing.T, o simServeOpts) *servedSim {
	t.Helper()
	if o.link == "" {
		o.link = filepath.Join(t.TempDir(), "bus")
	}
	if o.arm == "" {
		o.arm = "so101"
	}
	if o.baud == 0 {
		o.baud = busarm.DefaultBaud
	}
	ctx, cancel := context.WithCancel(context.Background())
	var buf bytes.Buffer
	type up struct {
		s     *busarm.Sim
		a     *simarm.Arm
		slave string
	}
	ready := make(chan up, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runSimServe(ctx, o, &buf, func(s *busarm.Sim, a *simarm.Arm, slave string) { ready <- up{s, a, slave} })
	}()
	var u up
	select {
	case u = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("sim serve: %v", err)
	}
	s := &servedSim{link: o.link, slave: u.slave, sim: u.s, arm: u.a, out: buf.String()}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("sim serve: %v", err)
		}
	})
	return s
}

func TestSimServePrintsUsableConfig(t *testing.T) {
	for _, bus := range []string{busarm.Dynamixel, busarm.Feetech} {
		t.Run(bus, func(t *testing.T) {
			s := startSimServe(t, simServeOpts{bus: bus, ids: "11-16", faults: []string{"drop:id=13,n=2"}})
			if !strings.Contains(s.out, "slave: "+s.slave) || !strings.Contains(s.out, "fault: drop:id=13,n=2") {
				t.Errorf("output lacks the slave path or the fault:\n%s", s.out)
			}
			i, j := strings.Index(s.out, "arm:\n"), strings.Index(s.out, "serving;")
			if i < 0 || j < i {
				t.Fatalf("no arm: section in the output:\n%s", s.out)
			}
			c, err := daemon.ParseConfig(strings.NewReader(s.out[i:j]))
			if err != nil {
				t.Fatalf("printed config does not parse as a daemon config: %v\n%s", err, s.out[i:j])
			}
			if c.Arm.Driver != bus || c.Arm.Port != s.link || c.Arm.Baud != 1_000_000 || len(c.Arm.Servos) != 6 {
				t.Fatalf("arm config %+v, want driver %s port %s baud 1000000 and 6 servos", c.Arm, bus, s.link)
			}
			for k, sv := range c.Arm.Servos {
				if sv.ID != 11+k || sv.Joint != busarm.SO101Joints[k] || sv.Offset != 2048 || sv.Ticks != 4096 || sv.Direction != 1 {
					t.Errorf("servo %d: %+v, want id %d joint %s offset 2048", k, sv, 11+k, busarm.SO101Joints[k])
				}
				if lim := s.arm.Joints()[k].Limits; math.Abs(sv.Min-lim.Min) > 1e-5 || math.Abs(sv.Max-lim.Max) > 1e-5 {
					t.Errorf("servo %d: limits [%v, %v], arm's [%v, %v]", k, sv.Min, sv.Max, lim.Min, lim.Max)
				}
			}
		})
	}
}

func TestSimServeBadInput(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "bus")
	badCSV := writeFile(t, dir, "bad.csv", "t,a,b\n0,1,2\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--link", link}, "--bus"},
		{[]string{"--bus", "can", "--link", link}, "--bus \"can\""},
		{[]string{"--bus", "feetech"}, "--link is required"},
		{[]string{"--bus", "feetech", "--link", link, "--baud", "9600"}, "9600"},
		{[]string{"--bus", "feetech", "--link", link, "--baud", "-1"}, "--baud"},
		{[]string{"--bus", "feetech", "--link", link, "--arm", "r2d2"}, "--arm"},
		{[]string{"--bus", "feetech", "--link", link, "--ids", "1-5"}, "5 IDs for the 6 joints"},
		{[]string{"--bus", "feetech", "--link", link, "--ids", "1,x"}, "--ids"},
		{[]string{"--bus", "dynamixel", "--link", link, "--fault", "melt:id=1"}, "kind \"melt\""},
		{[]string{"--bus", "dynamixel", "--link", link, "--fault", "silent:id=9"}, "no servo 9"},
		{[]string{"--bus", "dynamixel", "--link", link, "--hand", filepath.Join(dir, "none.csv")}, "--hand"},
		{[]string{"--bus", "dynamixel", "--link", link, "--hand", badCSV}, "--hand"},
		{[]string{"--bus", "dynamixel", "--link", link, "extra"}, "unknown command"},
	} {
		_, stderr, status := offlineRun(t, append([]string{"sim", "serve"}, tc.args...)...)
		if status != exitBadInput || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("sim serve %v: status %d, stderr %q; want 2 and one line with %q", tc.args, status, stderr, tc.want)
		}
	}
}
