package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	rosarm "github.com/praxis-robotics/praxis/drivers/ros"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/sim/models"
	rossim "github.com/praxis-robotics/praxis/sim/wire/ros"
)

// simServeROSOpts are the flags of `praxis sim serve --ros`.
type simServeROSOpts struct {
	on         bool
	master     string
	host, node string
	rate       float64
}

// addSimServeROSFlags adds --ros, --master, --ros-host, --node and --rate to sim serve.
func addSimServeROSFlags(o *simServeROSOpts, fl interface {
	BoolVar(*bool, string, bool, string)
	StringVar(*string, string, string, string)
	Float64Var(*float64, string, float64, string)
}) {
	fl.BoolVar(&o.on, "ros", false, "serve the arm as a ROS 1 robot driver node instead of a servo bus")
	fl.StringVar(&o.master, "master", "", "with --ros: ROS master URI (default $ROS_MASTER_URI, then http://127.0.0.1:11311)")
	fl.StringVar(&o.host, "ros-host", "", "with --ros: address other nodes reach this node at (default $ROS_IP, then automatic)")
	fl.StringVar(&o.node, "node", rossim.DefaultName, "with --ros: node name")
	fl.Float64Var(&o.rate, "rate", rossim.DefaultRate, "with --ros: joint state (and control) rate, Hz")
}

// runSimServeROS serves a simulated arm as a ROS robot driver node until ctx ends.
// ready, when not nil, is called with the robot and the arm once the node is starting.
func runSimServeROS(ctx context.Context, o simServeOpts, r simServeROSOpts, out io.Writer, ready func(*rossim.Robot, *simarm.Arm)) error {
	if o.bus != "" || o.link != "" || len(o.faults) > 0 || o.hand != "" || o.ids != "" {
		return inputErrf("sim serve: --ros serves a ROS node: --bus, --link, --ids, --fault and --hand do not apply")
	}
	master, err := rosarm.ResolveMaster(r.master)
	if err != nil {
		return inputErrf("sim serve: --master: %w", err)
	}
	arm, err := simarm.New(simarm.Config{Model: o.arm})
	if err != nil {
		return inputErrf("sim serve: --arm: %w", err)
	}
	var urdf []byte
	if b, err := models.URDF(o.arm); err == nil {
		urdf = b
	}
	rob, err := rossim.New(rossim.Config{Master: master, Host: rosarm.ResolveHost(r.host), Name: r.node,
		Plant: arm, Rate: r.rate, RobotDescription: string(urdf)})
	if err != nil {
		return inputErrf("sim serve: %w", err)
	}
	fmt.Fprintf(out, "praxis sim serve: %s arm as ROS node /%s on master http://%s\n", o.arm, r.node, master)
	fmt.Fprintf(out, "joint states:  %s (sensor_msgs/JointState, %g Hz)\n", rossim.DefaultStateTopic, r.rate)
	fmt.Fprintf(out, "trajectory:    %s (trajectory_msgs/JointTrajectory)\n", rossim.DefaultTrajectoryTopic)
	fmt.Fprintf(out, "positions:     %s (std_msgs/Float64MultiArray, in joint order)\n", rossim.DefaultPositionTopic)
	fmt.Fprintf(out, "joints:        %s\n", strings.Join(rob.Names(), ","))
	if urdf != nil {
		fmt.Fprintf(out, "/robot_description: the %s URDF\n", o.arm)
	}
	fmt.Fprintln(out, "serving; SIGINT or SIGTERM stops")
	if ready != nil {
		ready(rob, arm)
	}
	if err := rob.Serve(ctx); err != nil {
		return fmt.Errorf("sim serve: %w", err)
	}
	fmt.Fprintln(out, "stopped")
	return nil
}
