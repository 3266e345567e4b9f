package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/sim/pty"
)

// simServeOpts are the flags of `praxis sim serve`.
type simServeOpts struct {
	bus, link, arm, ids, hand string
	baud                      int
	faults                    []string
}

// simServeSetup is what `sim serve` built from its flags, before serving.
type simServeSetup struct {
	arm    *simarm.Arm
	bus    busarm.Config
	faults []busarm.Fault
	hand   *sim.Hand
}

// newSimServeCmd is `praxis sim serve`: impersonate a simulated arm's servos on a pty.
func newSimServeCmd() *cobra.Command {
	var o simServeOpts
	var ros simServeROSOpts
	cmd := &cobra.Command{
		Use:   "serve (--bus dynamixel|feetech --link PATH | --ros [--master URI]) [--arm so101] [--baud N] [--ids 1,2,..] [--fault SPEC]... [--hand FILE.csv]",
		Short: "Impersonate a simulated arm's servo bus on a pseudo-terminal",
		Long: "serve creates a pseudo-terminal, links it at --link, and answers on it as the arm's\n" +
			"servos would (Dynamixel Protocol 2.0 X series, or Feetech STS3215), backed by a\n" +
			"real-time simulated arm: control tables, per-servo torque, replies paced at --baud\n" +
			"after each servo's return delay (500 µs as shipped; drivers set 0). Servo ids[i]\n" +
			"drives joint i with tick 2048 of 4096 at 0 rad. Servos start with torque off (the\n" +
			"arm is limp), as at power-up. It prints the driver config to use and runs until\n" +
			"SIGINT or SIGTERM.\n\n" +
			"--fault KIND:id=N[,n=K][,after=S] injects a fault (repeatable): drop (withhold the\n" +
			"next n replies), corrupt (bad checksum on the next n replies), silent (stop\n" +
			"answering), overload, overheat (raise the alarm); after delays it by S seconds\n" +
			"or a duration (300ms). Example: --fault silent:id=4 --fault drop:id=3,n=5.\n\n" +
			"--hand FILE.csv (header t,<joint names>, rad) scripts an operator's hand: each time\n" +
			"every servo's torque goes off it guides the arm along the file from its first\n" +
			"row, so a kinesthetic demonstration can be recorded over the bus.\n\n" +
			"--ros [--master URI] serves the arm as a ROS 1 robot driver node instead: it publishes\n" +
			"/joint_states and obeys /arm_controller/command (JointTrajectory) and\n" +
			"/joint_group_position_controller/command (Float64MultiArray); see docs/ros.md.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if ros.on {
				return runSimServeROS(ctx, o, ros, cmd.OutOrStdout(), nil)
			}
			return runSimServe(ctx, o, cmd.OutOrStdout(), nil)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.bus, "bus", "", "servo protocol: dynamixel or feetech (required)")
	fl.StringVar(&o.link, "link", "", "path of the symlink to the pty's slave end, e.g. /tmp/so101 (required)")
	fl.StringVar(&o.arm, "arm", "so101", "simulated arm: so101, ur5, panda or a .urdf path")
	fl.IntVar(&o.baud, "baud", busarm.DefaultBaud, "bus rate, bits/s, that paces the replies")
	fl.StringVar(&o.ids, "ids", "", "servo IDs in joint order, e.g. 1,2,3,4,5,6 or 1-6 (default 1..joints)")
	fl.StringArrayVar(&o.faults, "fault", nil, "inject a fault: KIND:id=N[,n=K][,after=S] (repeatable)")
	fl.StringVar(&o.hand, "hand", "", "demo CSV a scripted hand guides the arm along while torque is off")
	addSimServeROSFlags(&ros, fl)
	return cmd
}

// prepareSimServe validates the flags and builds the arm, bus config, faults and hand.
// Every error is bad input.
func prepareSimServe(o simServeOpts) (*simServeSetup, error) {
	if o.bus != busarm.Dynamixel && o.bus != busarm.Feetech {
		return nil, inputErrf("sim serve: --bus %q: want dynamixel or feetech", o.bus)
	}
	if o.link == "" {
		return nil, inputErrf("sim serve: --link is required (a path for the pty symlink, e.g. /tmp/so101)")
	}
	if o.baud <= 0 {
		return nil, inputErrf("sim serve: --baud %d: want bits/s > 0", o.baud)
	}
	arm, err := simarm.New(simarm.Config{Model: o.arm})
	if err != nil {
		return nil, inputErrf("sim serve: --arm: %w", err)
	}
	js := arm.Joints()
	var ids []int
	if o.ids != "" {
		if ids, err = parseIDs(o.ids, 252); err != nil {
			return nil, inputErrf("sim serve: --ids: %w", err)
		}
		if len(ids) != len(js) {
			return nil, inputErrf("sim serve: --ids: %d IDs for the %d joints of %s", len(ids), len(js), o.arm)
		}
	}
	cfg, err := busarm.ForJoints(o.bus, js, ids)
	if err != nil {
		return nil, inputErrf("sim serve: %w", err)
	}
	cfg.Baud = o.baud
	if err := cfg.Validate(); err != nil {
		return nil, inputErrf("sim serve: --baud: %w", err)
	}
	s := &simServeSetup{arm: arm, bus: cfg}
	for _, spec := range o.faults {
		f, err := busarm.ParseFault(spec)
		if err != nil {
			return nil, inputErrf("sim serve: --fault: %w", err)
		}
		ok := false
		for _, sv := range cfg.Servos {
			ok = ok || sv.ID == f.ID
		}
		if !ok {
			return nil, inputErrf("sim serve: --fault %s: no servo %d on the bus", spec, f.ID)
		}
		s.faults = append(s.faults, f)
	}
	if o.hand != "" {
		if s.hand, err = loadHand(o.hand, js); err != nil {
			return nil, inputErrf("sim serve: --hand: %w", err)
		}
	}
	return s, nil
}

// loadHand reads a demo CSV as a scripted hand for joints (matched by name; extra columns
// are ignored), with times relative to the first row.
func loadHand(path string, js []joint.Joint) (*sim.Hand, error) {
	d, err := demos.ReadCSV(path)
	if err != nil {
		return nil, err
	}
	col := make([]int, len(js))
	for i, j := range js {
		col[i] = indexOf(d.Joints, j.Name)
		if col[i] < 0 {
			return nil, fmt.Errorf("%s has no column for joint %q (columns: %s)", path, j.Name, strings.Join(d.Joints, ","))
		}
	}
	times := make([]float64, d.Len())
	pos := make([][]float64, d.Len())
	for k := range d.T {
		times[k] = d.T[k] - d.T[0]
		pos[k] = make([]float64, len(js))
		for i, c := range col {
			pos[k][i] = d.Y[k][c]
		}
	}
	return sim.NewHand(times, pos)
}

// runSimServe serves until ctx ends. ready, when not nil, is called with the running
// impersonator and the slave path once the link exists.
func runSimServe(ctx context.Context, o simServeOpts, out io.Writer, ready func(*busarm.Sim, *simarm.Arm, string)) error {
	s, err := prepareSimServe(o)
	if err != nil {
		return err
	}
	master, slave, err := pty.Open(o.link)
	if err != nil {
		return fmt.Errorf("sim serve: %w", err)
	}
	defer master.Close()
	defer removeLinkIfOurs(o.link, slave)
	bs, err := busarm.NewSim(master, busarm.SimConfig{Bus: s.bus, Arm: s.arm, Hand: s.hand, Faults: s.faults})
	if err != nil {
		return fmt.Errorf("sim serve: %w", err)
	}
	cfg := bs.Config()
	cfg.Port = o.link
	fmt.Fprintf(out, "praxis sim serve: %s arm as %d %s servos at %d bit/s\n", o.arm, len(cfg.Servos), o.bus, cfg.Baud)
	fmt.Fprintf(out, "slave: %s\nlink:  %s -> %s\n", slave, o.link, slave)
	for _, f := range s.faults {
		fmt.Fprintf(out, "fault: %s\n", f)
	}
	if s.hand != nil {
		fmt.Fprintf(out, "hand:  %s (%.2f s), starts each time every servo's torque goes off\n", o.hand, s.hand.Duration())
	}
	fmt.Fprintf(out, "driver config (praxis serve --config FILE):\n")
	if err := writeArmYAML(out, cfg, ""); err != nil {
		return err
	}
	fmt.Fprintln(out, "serving; SIGINT or SIGTERM stops")
	errc := make(chan error, 1)
	go func() { errc <- bs.Serve(ctx) }()
	if ready != nil {
		ready(bs, s.arm, slave)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("sim serve: %w", err)
	}
	fmt.Fprintln(out, "stopped")
	return nil
}

// removeLinkIfOurs removes link if it still points at slave.
func removeLinkIfOurs(link, slave string) {
	if dst, err := os.Readlink(link); err == nil && dst == slave {
		_ = os.Remove(link)
	}
}

// writeArmYAML writes cfg as the daemon config's `arm:` section, one servo per line,
// each line prefixed by indent.
func writeArmYAML(w io.Writer, cfg busarm.Config, indent string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%sarm:\n%s  driver: %s\n", indent, indent, cfg.Driver)
	if cfg.Port != "" {
		fmt.Fprintf(&b, "%s  port: %q\n", indent, cfg.Port)
	}
	fmt.Fprintf(&b, "%s  baud: %d\n%s  servos:\n", indent, cfg.Baud, indent)
	for _, s := range cfg.Servos {
		fmt.Fprintf(&b, "%s    - {id: %d, joint: %q, offset: %g, direction: %d, ticks: %d, min: %.5f, max: %.5f",
			indent, s.ID, s.Joint, s.Offset, s.Direction, s.Ticks, s.Min, s.Max)
		if s.MaxVel > 0 {
			fmt.Fprintf(&b, ", max_vel: %.4g", s.MaxVel)
		}
		if s.MaxAcc > 0 {
			fmt.Fprintf(&b, ", max_acc: %.4g", s.MaxAcc)
		}
		b.WriteString("}\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
