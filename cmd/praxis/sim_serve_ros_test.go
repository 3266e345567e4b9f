package main

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	rosarm "github.com/praxis-robotics/praxis/drivers/ros"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/rostest"
	"github.com/praxis-robotics/praxis/motion/joint"
	rossim "github.com/praxis-robotics/praxis/sim/wire/ros"
)

func TestSimServeROSRejectsBusFlags(t *testing.T) {
	err := runSimServeROS(context.Background(), simServeOpts{arm: "so101", bus: "feetech"}, simServeROSOpts{on: true}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "--ros") {
		t.Errorf("--ros with --bus: %v", err)
	}
	err = runSimServeROS(context.Background(), simServeOpts{arm: "so101"}, simServeROSOpts{on: true, master: "ftp://x"}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "--master") {
		t.Errorf("bad --master: %v", err)
	}
}

// TestSimServeROSDrivenByTheDriver serves the simulated SO-101 as a ROS node and drives it
// with the ROS arm driver through a real master (Float64MultiArray commands).
func TestSimServeROSDrivenByTheDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rosmaster")
	}
	m := rostest.StartMaster(t)
	ctx, cancel := context.WithCancel(context.Background())
	var buf bytes.Buffer
	up := make(chan *simarm.Arm, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runSimServeROS(ctx, simServeOpts{arm: "so101"}, simServeROSOpts{on: true, master: m.URI, host: "127.0.0.1", node: "sim", rate: 200}, &buf,
			func(_ *rossim.Robot, a *simarm.Arm) { up <- a })
	}()
	var sa *simarm.Arm
	select {
	case sa = <-up:
	case err := <-errc:
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("sim serve: %v", err)
		}
	}()
	out := buf.String()
	if !strings.Contains(out, "/joint_states") || !strings.Contains(out, "shoulder_pan,shoulder_lift") {
		t.Errorf("output:\n%s", out)
	}
	octx, ocancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ocancel()
	var js []rosarm.Joint
	for _, j := range sa.Joints() {
		js = append(js, rosarm.Joint{Name: j.Name}) // limits from /robot_description
	}
	a, err := rosarm.Open(octx, rosarm.Config{Master: m.URI, Host: "127.0.0.1", Controller: rosarm.Position, Joints: js})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.WaitState(octx); err != nil {
		t.Fatal(err)
	}
	st := joint.NewState(len(js))
	cmd := joint.Command{Pos: make([]float64, len(js))}
	target := []float64{0.2, -0.1, 0.3, 0, 0, 0.1}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := a.Read(octx, &st); err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i := range target {
			worst = max(worst, math.Abs(st.Pos[i]-target[i]))
		}
		if worst < 0.02 {
			break
		}
		copy(cmd.Pos, target)
		if err := a.Command(octx, cmd); err != nil {
			t.Fatal(err)
		}
		select {
		case <-octx.Done():
			t.Fatalf("arm at %v, target %v", st.Pos, target)
		case <-tick.C:
		}
	}
}
