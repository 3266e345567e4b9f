package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.bug.st/serial"

	"github.com/praxis-robotics/praxis/drivers/dynamixel"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	"github.com/praxis-robotics/praxis/drivers/feetech"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// busFlags are the flags every `praxis bus` subcommand shares.
type busFlags struct {
	port, bus string
	baud      int
	timeout   time.Duration
}

func (f *busFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.port, "port", "", "serial device, e.g. /dev/ttyUSB0 or a `praxis sim serve` link (required)")
	fl.StringVar(&f.bus, "bus", busarm.Feetech, "servo protocol: feetech (STS3215, SO-101) or dynamixel (X series)")
	fl.IntVar(&f.baud, "baud", busarm.DefaultBaud, "bus rate, bits/s")
	fl.DurationVar(&f.timeout, "timeout", 20*time.Millisecond, "wait for each reply")
}

// check validates the shared flags (bad input).
func (f *busFlags) check(what string) error {
	if f.port == "" {
		return inputErrf("bus %s: --port is required", what)
	}
	if f.bus != busarm.Dynamixel && f.bus != busarm.Feetech {
		return inputErrf("bus %s: --bus %q: want dynamixel or feetech", what, f.bus)
	}
	if f.baud <= 0 {
		return inputErrf("bus %s: --baud %d: want bits/s > 0", what, f.baud)
	}
	if f.timeout <= 0 {
		return inputErrf("bus %s: --timeout %v: want > 0", what, f.timeout)
	}
	return nil
}

// newBusCmd is `praxis bus`: operator tools for a servo bus.
func newBusCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bus",
		Short: "Servo bus tools: scan, read and write registers, set up and calibrate an arm",
	}
	c.AddCommand(newBusScanCmd(), newBusReadCmd(), newBusWriteCmd(), newBusCalibrateCmd(), newBusSetupCmd())
	return c
}

// parseIDs parses "1,2,5-8" into IDs in the given order, each 0..max, no repeats.
func parseIDs(s string, max int) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q: want an ID or a range like 1-20", item)
		}
		if a < 0 || b > max || a > b {
			return nil, fmt.Errorf("%q: want IDs in 0..%d, low to high", item, max)
		}
		for id := a; id <= b; id++ {
			if seen[id] {
				return nil, fmt.Errorf("ID %d given twice", id)
			}
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

func maxID(bus string) int {
	if bus == busarm.Feetech {
		return ftproto.MaxID
	}
	return dxlproto.MaxID
}

// modelName names a model number for humans.
func modelName(bus string, m uint16) string {
	switch {
	case bus == busarm.Feetech && m == ftproto.ModelSTS3215:
		return "STS3215"
	case bus == busarm.Dynamixel && m == dxlproto.ModelXL430W250:
		return "XL430-W250"
	case bus == busarm.Dynamixel && m == dxlproto.ModelXM430W350:
		return "XM430-W350"
	}
	return "unknown"
}

func openPort(port string, baud int) (serial.Port, error) {
	p, err := serial.Open(port, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("open %s at %d bit/s: %w", port, baud, err)
	}
	return p, nil
}

// openRegBus opens the port and returns the protocol's register bus (servo.Bus: one
// interface for both protocols).
func openRegBus(f busFlags) (servo.Bus, error) {
	p, err := openPort(f.port, f.baud)
	if err != nil {
		return nil, err
	}
	if f.bus == busarm.Dynamixel {
		return dynamixel.NewBus(p, f.timeout), nil
	}
	return feetech.NewBus(p, ftproto.STS, f.timeout), nil
}

// scanBus pings ids and returns the servos that answer. A garbled reply is retried once:
// someone is there. Status bits in a reply still mean a servo answered.
func scanBus(ctx context.Context, r servo.Bus, ids []int) ([]servo.Found, error) {
	var out []servo.Found
	for _, id := range ids {
		f, err := r.Identify(ctx, byte(id))
		if errors.Is(err, dynamixel.ErrCRC) || errors.Is(err, feetech.ErrChecksum) {
			f, err = r.Identify(ctx, byte(id))
		}
		var de *dynamixel.ServoError
		var fe *feetech.ServoError
		switch {
		case errors.As(err, &de):
			continue
		case errors.As(err, &fe) && fe.Status == 0:
			continue // silent or garbled: nobody there at this baud
		case err != nil && !errors.As(err, &fe):
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}

func newBusScanCmd() *cobra.Command {
	var (
		f          busFlags
		bauds, ids string
	)
	cmd := &cobra.Command{
		Use:   "scan --port P [--bus feetech|dynamixel] [--baud N | --bauds 57600,1000000,...] [--ids 1-20]",
		Short: "Find servo IDs and model numbers, across baud rates",
		Long: "scan pings each ID at each baud rate and prints the servos that answer:\n" +
			"baud, ID, model number and name, firmware. Without --baud or --bauds it tries the\n" +
			"common rates of the bus (feetech: 1000000,500000,115200,57600; dynamixel:\n" +
			"57600,115200,1000000,2000000). Each silent ID costs --timeout. Exit status 1 when\n" +
			"no servo answers.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check("scan"); err != nil {
				return err
			}
			idList, err := parseIDs(ids, maxID(f.bus))
			if err != nil {
				return inputErrf("bus scan: --ids: %w", err)
			}
			var rates []int
			switch {
			case cmd.Flags().Changed("bauds") && cmd.Flags().Changed("baud"):
				return inputErrf("bus scan: give --baud or --bauds, not both")
			case cmd.Flags().Changed("bauds"):
				for _, s := range strings.Split(bauds, ",") {
					b, err := strconv.Atoi(strings.TrimSpace(s))
					if err != nil || b <= 0 {
						return inputErrf("bus scan: --bauds: %q is not a rate in bits/s", s)
					}
					rates = append(rates, b)
				}
			case cmd.Flags().Changed("baud"):
				rates = []int{f.baud}
			case f.bus == busarm.Feetech:
				rates = []int{1000000, 500000, 115200, 57600}
			default:
				rates = []int{57600, 115200, 1000000, 2000000}
			}
			out := cmd.OutOrStdout()
			total := 0
			fmt.Fprintf(out, "%-8s %-4s %-6s %-11s %s\n", "BAUD", "ID", "MODEL", "NAME", "FIRMWARE")
			for _, b := range rates {
				g := f
				g.baud = b
				r, err := openRegBus(g)
				if err != nil {
					return fmt.Errorf("bus scan: %w", err)
				}
				found, err := scanBus(cmd.Context(), r, idList)
				r.Close()
				for _, s := range found {
					fmt.Fprintf(out, "%-8d %-4d %-6d %-11s %d\n", b, s.ID, s.Model, modelName(f.bus, s.Model), s.Firmware)
				}
				total += len(found)
				if err != nil {
					return fmt.Errorf("bus scan at %d bit/s: %w", b, err)
				}
			}
			if total == 0 {
				return fmt.Errorf("bus scan: no %s servo answered on %s (IDs %s, %d rate(s))", f.bus, f.port, ids, len(rates))
			}
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&bauds, "bauds", "", "comma-separated rates to try, bits/s")
	fl.StringVar(&ids, "ids", "1-20", "IDs to ping: 1,2,5-8; 0-253 for all")
	return cmd
}

// regFlags are the flags of bus read and write.
type regFlags struct {
	busFlags
	id, addr, length int
}

func (r *regFlags) register(cmd *cobra.Command) {
	r.busFlags.register(cmd)
	fl := cmd.Flags()
	fl.IntVar(&r.id, "id", -1, "servo ID (required)")
	fl.IntVar(&r.addr, "addr", -1, "control-table address (required)")
	fl.IntVar(&r.length, "len", 1, "register width, bytes: 1, 2 or 4 (little-endian)")
}

func (r *regFlags) check(what string) error {
	if err := r.busFlags.check(what); err != nil {
		return err
	}
	if r.id < 0 || r.id > maxID(r.bus) {
		return inputErrf("bus %s: --id %d: want a servo ID 0..%d", what, r.id, maxID(r.bus))
	}
	maxAddr := 65535
	if r.bus == busarm.Feetech {
		maxAddr = 255
	}
	if r.addr < 0 || r.addr+r.length-1 > maxAddr {
		return inputErrf("bus %s: --addr %d: want an address 0..%d", what, r.addr, maxAddr)
	}
	if r.length != 1 && r.length != 2 && r.length != 4 {
		return inputErrf("bus %s: --len %d: want 1, 2 or 4", what, r.length)
	}
	return nil
}

func newBusReadCmd() *cobra.Command {
	var r regFlags
	cmd := &cobra.Command{
		Use:   "read --port P --id N --addr A [--len 1|2|4] [--bus ..] [--baud N]",
		Short: "Read one register of one servo and print its value",
		Long: "read prints the register's value as an unsigned little-endian integer. Feetech\n" +
			"positions and speeds are sign-magnitude (bit 15), not two's complement.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.check("read"); err != nil {
				return err
			}
			b, err := openRegBus(r.busFlags)
			if err != nil {
				return fmt.Errorf("bus read: %w", err)
			}
			defer b.Close()
			buf := make([]byte, r.length)
			if err := b.ReadRegister(cmd.Context(), byte(r.id), uint16(r.addr), buf); err != nil {
				return fmt.Errorf("bus read: %w", err)
			}
			var v uint64
			for i := len(buf) - 1; i >= 0; i-- {
				v = v<<8 | uint64(buf[i])
			}
			fmt.Fprintln(cmd.OutOrStdout(), v)
			return nil
		},
	}
	r.register(cmd)
	return cmd
}

func newBusWriteCmd() *cobra.Command {
	var (
		r     regFlags
		value string
	)
	cmd := &cobra.Command{
		Use:   "write --port P --id N --addr A --value V [--len 1|2|4] [--bus ..] [--baud N]",
		Short: "Write one register of one servo and wait for its acknowledgement",
		Long: "write stores V (decimal, 0x hex, or negative for two's complement) little-endian.\n" +
			"EEPROM registers (ID, baud, return delay, limits) need torque off; Feetech also\n" +
			"needs the lock register (55) at 0 first and back at 1 after, to persist.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.check("write"); err != nil {
				return err
			}
			if !cmd.Flags().Changed("value") {
				return inputErrf("bus write: --value is required")
			}
			v, err := strconv.ParseInt(value, 0, 64)
			bits := uint(8 * r.length)
			if err != nil || v < -(1<<(bits-1)) || v > (1<<bits)-1 {
				return inputErrf("bus write: --value %q: want an integer that fits %d byte(s)", value, r.length)
			}
			data := make([]byte, r.length)
			for i := range data {
				data[i] = byte(uint64(v) >> (8 * i))
			}
			b, err := openRegBus(r.busFlags)
			if err != nil {
				return fmt.Errorf("bus write: %w", err)
			}
			defer b.Close()
			if err := b.WriteRegister(cmd.Context(), byte(r.id), uint16(r.addr), data); err != nil {
				return fmt.Errorf("bus write: %w", err)
			}
			return nil
		},
	}
	r.register(cmd)
	cmd.Flags().StringVar(&value, "value", "", "value to write (required)")
	return cmd
}

func newBusCalibrateCmd() *cobra.Command {
	var (
		f                busFlags
		ids, joints, out string
		ticks            int
		margin, seconds  float64
		nonInteractive   bool
		lrOut, lrIn      string
		apply            bool
	)
	cmd := &cobra.Command{
		Use:   "calibrate --port P [--bus ..] [--ids 1-6] [--joints a,b,..] -o CAL.yaml [--lerobot-out CAL.json] [--non-interactive --seconds S] | --from-lerobot CAL.json [--apply] -o CAL.yaml",
		Short: "Measure each joint's zero tick and range with torque off; write the arm config",
		Long: "calibrate switches torque off and asks the operator (on stdin) to move every joint\n" +
			"through its whole range, sampling positions, then to put the arm in its zero pose\n" +
			"(the URDF's zero: for the SO-101, arm straight up, gripper closed). It writes the\n" +
			"daemon's `arm:` section to -o: per servo id, joint, offset (the tick at 0 rad),\n" +
			"direction (+1; flip it by hand where a joint turns the wrong way), ticks, and\n" +
			"min/max (rad) = the observed range shrunk by --margin. With --non-interactive it\n" +
			"samples for --seconds and takes the final pose as the zero pose. Torque stays off.\n" +
			"--lerobot-out also writes LeRobot's calibration file (per motor: id, drive_mode,\n" +
			"homing_offset read from the servo, range_min/range_max = the observed range, ticks).\n" +
			"--from-lerobot reads such a file instead of measuring: the arm config gets each\n" +
			"joint's zero at the middle of its range (LeRobot's degrees convention) and the range\n" +
			"as limits; --apply also writes the homing offsets and position limits to the servos,\n" +
			"as LeRobot's write_calibration does.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check("calibrate"); err != nil {
				return err
			}
			idList, err := parseIDs(ids, maxID(f.bus))
			if err != nil {
				return inputErrf("bus calibrate: --ids: %w", err)
			}
			names := busarm.SO101Joints
			if joints != "" {
				names = strings.Split(joints, ",")
			}
			if len(names) != len(idList) {
				return inputErrf("bus calibrate: %d joint names for %d IDs (give --joints a,b,.. in ID order)", len(names), len(idList))
			}
			if lrIn != "" {
				return calibrateFromLeRobot(cmd, f, lrIn, out, apply)
			}
			if apply {
				return inputErrf("bus calibrate: --apply goes with --from-lerobot")
			}
			if out == "" && lrOut == "" {
				return inputErrf("bus calibrate: -o CAL.yaml (or --lerobot-out CAL.json) is required")
			}
			if ticks < 2 || ticks > 32768 {
				return inputErrf("bus calibrate: --ticks %d: want 2..32768", ticks)
			}
			if !(margin >= 0) || margin > 1 {
				return inputErrf("bus calibrate: --margin %v: want 0..1 rad", margin)
			}
			if nonInteractive && !(seconds > 0 && seconds <= 3600) {
				return inputErrf("bus calibrate: --seconds %v: want 0 < S ≤ 3600", seconds)
			}
			cfg := busarm.Config{Driver: f.bus, Baud: f.baud, ReplyTimeout: f.timeout}
			for i, id := range idList {
				cfg.Servos = append(cfg.Servos, busarm.Servo{ID: id, Joint: strings.TrimSpace(names[i]), Ticks: ticks})
			}
			if err := cfg.Normalize(); err != nil {
				return inputErrf("bus calibrate: %w", err)
			}
			res, ranges, err := calibrate(cmd.Context(), f.port, cfg, margin, nonInteractive, seconds, cmd.InOrStdin(), cmd.OutOrStdout())
			if err != nil {
				return fmt.Errorf("bus calibrate: %w", err)
			}
			res.Port = f.port
			if out != "" {
				if err := writeCalibration(cmd, out, res); err != nil {
					return fmt.Errorf("bus calibrate: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			}
			if lrOut != "" {
				if err := writeLeRobotOut(cmd, f, res, ranges, lrOut); err != nil {
					return fmt.Errorf("bus calibrate: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", lrOut)
			}
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&ids, "ids", "1-6", "servo IDs in joint order")
	fl.StringVar(&joints, "joints", "", "joint names in ID order (default the SO-101's: "+strings.Join(busarm.SO101Joints, ",")+")")
	fl.StringVarP(&out, "output", "o", "", "calibration file to write, YAML (the daemon's arm: section)")
	fl.StringVar(&lrOut, "lerobot-out", "", "also write LeRobot's calibration file, JSON")
	fl.StringVar(&lrIn, "from-lerobot", "", "read LeRobot's calibration file instead of measuring")
	fl.BoolVar(&apply, "apply", false, "with --from-lerobot: write homing offsets and limits to the servos")
	fl.IntVar(&ticks, "ticks", busarm.DefaultTicks, "ticks per revolution")
	fl.Float64Var(&margin, "margin", 0.03, "shrink each observed range by this much at both ends, rad")
	fl.BoolVar(&nonInteractive, "non-interactive", false, "no prompts: sample for --seconds, then take the pose as zero")
	fl.Float64Var(&seconds, "seconds", 10, "sampling time with --non-interactive, s")
	return cmd
}

// calibrate runs the guided procedure on the arm cfg describes (default calibration:
// offset ticks/2, direction +1) and returns cfg with offsets and limits measured.
func calibrate(ctx context.Context, port string, cfg busarm.Config, margin float64, nonInteractive bool, seconds float64, in io.Reader, out io.Writer) (busarm.Config, [][2]int, error) {
	res, lo, hi, err := calibrateTicks(ctx, port, cfg, margin, nonInteractive, seconds, in, out)
	var ranges [][2]int
	for i := range lo {
		ranges = append(ranges, [2]int{lo[i], hi[i]})
	}
	return res, ranges, err
}

// calibrateTicks is calibrate, also returning the observed range of each servo, ticks.
func calibrateTicks(ctx context.Context, port string, cfg busarm.Config, margin float64, nonInteractive bool, seconds float64, in io.Reader, out io.Writer) (busarm.Config, []int, []int, error) {
	arm, err := busarm.Open(port, cfg)
	if err != nil {
		return cfg, nil, nil, err
	}
	defer arm.Close()
	if err := arm.Setup(ctx); err != nil {
		return cfg, nil, nil, fmt.Errorf("setup: %w", err)
	}
	if err := arm.SetTorque(ctx, false); err != nil {
		return cfg, nil, nil, fmt.Errorf("torque off: %w", err)
	}
	n := len(cfg.Servos)
	lo, hi := make([]int, n), make([]int, n)
	for i := range lo {
		lo[i], hi[i] = math.MaxInt, math.MinInt
	}
	st := joint.NewState(n)
	sample := func() error {
		if err := arm.Read(ctx, &st); err != nil {
			return err
		}
		for i, s := range cfg.Servos {
			t := s.TicksAt(st.Pos[i])
			lo[i], hi[i] = min(lo[i], t), max(hi[i], t)
		}
		return nil
	}
	// enter reports each line read from in; it is closed at EOF.
	enter := make(chan struct{})
	if !nonInteractive {
		go func() {
			sc := bufio.NewScanner(in)
			for sc.Scan() {
				enter <- struct{}{}
			}
			close(enter)
		}()
	}
	fmt.Fprintf(out, "torque is off on %d servos.\n", n)
	var until <-chan time.Time
	if nonInteractive {
		fmt.Fprintf(out, "sampling for %g s: move each joint through its whole range, then to the zero pose\n", seconds)
		t := time.NewTimer(time.Duration(seconds * float64(time.Second)))
		defer t.Stop()
		until = t.C
	} else {
		fmt.Fprintln(out, "step 1/2: move each joint slowly through its WHOLE range, one by one; press Enter when done")
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	misses := 0
sampling:
	for {
		select {
		case <-ctx.Done():
			return cfg, nil, nil, ctx.Err()
		case <-until:
			break sampling
		case _, ok := <-enter:
			if !ok {
				return cfg, nil, nil, errors.New("stdin closed before step 1 was confirmed (use --non-interactive --seconds S to run unattended)")
			}
			break sampling
		case <-tick.C:
			if err := sample(); err != nil {
				if misses++; misses > 25 {
					return cfg, nil, nil, fmt.Errorf("reading positions: %w", err)
				}
				continue
			}
			misses = 0
		}
	}
	if !nonInteractive {
		fmt.Fprintln(out, "step 2/2: put the arm in its zero pose (SO-101: upright, gripper closed) and press Enter")
		select {
		case <-ctx.Done():
			return cfg, nil, nil, ctx.Err()
		case _, ok := <-enter:
			if !ok {
				return cfg, nil, nil, errors.New("stdin closed before step 2 was confirmed")
			}
		}
	}
	// Zero pose: the mean of a few reads.
	zero := make([]float64, n)
	const k = 5
	for range k {
		if err := arm.Read(ctx, &st); err != nil {
			return cfg, nil, nil, fmt.Errorf("reading the zero pose: %w", err)
		}
		for i := range zero {
			zero[i] += st.Pos[i] / k
		}
	}
	res := cfg
	res.Servos = append([]busarm.Servo(nil), cfg.Servos...)
	fmt.Fprintf(out, "%-14s %4s %7s %7s %7s %9s %9s\n", "JOINT", "ID", "OFFSET", "LO", "HI", "MIN_RAD", "MAX_RAD")
	for i := range res.Servos {
		s := &res.Servos[i]
		z := cfg.Servos[i].TicksAt(zero[i])
		lo[i], hi[i] = min(lo[i], z), max(hi[i], z)
		s.Offset = float64(z)
		s.Min = s.Radians(lo[i]) + margin
		s.Max = s.Radians(hi[i]) - margin
		fmt.Fprintf(out, "%-14s %4d %7d %7d %7d %9.4f %9.4f\n", s.Joint, s.ID, z, lo[i], hi[i], s.Min, s.Max)
		if !(s.Min < s.Max) {
			return cfg, nil, nil, fmt.Errorf("joint %s (servo %d) moved only %d ticks (%.3f rad), not more than twice the %.3f rad margin: move it through its whole range",
				s.Joint, s.ID, hi[i]-lo[i], s.Radians(hi[i])-s.Radians(lo[i]), margin)
		}
		if z == 0 {
			fmt.Fprintf(out, "warning: joint %s: zero pose at tick 0, which the daemon config reads as the default (ticks/2); re-centre the servo horn\n", s.Joint)
		}
	}
	return res, lo, hi, nil
}

// writeCalibration writes cfg as a daemon config file (the arm: section), atomically.
func writeCalibration(cmd *cobra.Command, path string, cfg busarm.Config) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by praxis bus calibrate on %s\n", time.Now().UTC().Format(time.RFC3339))
	b.WriteString("# offset: tick at 0 rad; min/max: observed range less the margin, rad.\n")
	if err := writeArmYAML(&b, cfg, ""); err != nil {
		return err
	}
	return writeOutput(cmd, path, func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
}

// searchBauds are the rates `bus setup` looks for a factory-fresh servo at (LeRobot's
// scan rates for Feetech; the X series' factory 57 600 and common rates for Dynamixel).
func searchBauds(bus string) []int {
	if bus == busarm.Feetech {
		return []int{1000000, 500000, 250000, 128000, 115200, 57600, 38400}
	}
	return []int{57600, 1000000, 115200, 2000000, 9600}
}

func newBusSetupCmd() *cobra.Command {
	var (
		f                   busFlags
		ids, joints, bauds  string
		homing, nonInteract bool
	)
	cmd := &cobra.Command{
		Use:   "setup --port P [--bus ..] [--ids 1-6] [--joints a,b,..] [--baud 1000000] [--homing]",
		Short: "Assign servo IDs one servo at a time, set baud and return delay; or write homing offsets",
		Long: "setup assigns IDs as LeRobot's setup_motors does: for each joint, last first, it asks\n" +
			"the operator to connect that servo alone to the controller, finds it with a broadcast\n" +
			"ping at each of --search-bauds, switches its torque off (Feetech: unlocks its EEPROM),\n" +
			"writes its ID (from --ids), return delay 0 and the baud code of --baud. Press Enter\n" +
			"after each connection. With --homing, all servos connected, it instead asks for every\n" +
			"joint in the middle of its range and writes each servo's Homing Offset so that the\n" +
			"middle reads tick 2047: the joint's zero (offset 2047 in the arm config).",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check("setup"); err != nil {
				return err
			}
			idList, err := parseIDs(ids, maxID(f.bus))
			if err != nil {
				return inputErrf("bus setup: --ids: %w", err)
			}
			names := busarm.SO101Joints
			if joints != "" {
				names = strings.Split(joints, ",")
			}
			if len(names) != len(idList) {
				return inputErrf("bus setup: %d joint names for %d IDs (give --joints a,b,.. in ID order)", len(names), len(idList))
			}
			code, err := busarm.BaudCode(f.bus, f.baud)
			if err != nil {
				return inputErrf("bus setup: --baud: %w", err)
			}
			rates := searchBauds(f.bus)
			if bauds != "" {
				rates = nil
				for _, s := range strings.Split(bauds, ",") {
					b, err := strconv.Atoi(strings.TrimSpace(s))
					if err != nil || b <= 0 {
						return inputErrf("bus setup: --search-bauds: %q is not a rate in bits/s", s)
					}
					rates = append(rates, b)
				}
			}
			out := cmd.OutOrStdout()
			sc := bufio.NewScanner(cmd.InOrStdin())
			wait := func(prompt string) error {
				fmt.Fprintln(out, prompt)
				if nonInteract {
					return nil
				}
				if !sc.Scan() {
					return errors.New("stdin closed before the step was confirmed (use --non-interactive to run unattended)")
				}
				return nil
			}
			ctx := cmd.Context()
			if homing {
				if err := wait("put every joint in the middle of its range and press Enter"); err != nil {
					return fmt.Errorf("bus setup: %w", err)
				}
				b, err := openRegBus(f)
				if err != nil {
					return fmt.Errorf("bus setup: %w", err)
				}
				defer b.Close()
				bids := make([]byte, len(idList))
				for i, id := range idList {
					bids[i] = byte(id)
				}
				h, err := busarm.HalfTurnHoming(ctx, b, f.bus, bids)
				if err != nil {
					return fmt.Errorf("bus setup: homing: %w", err)
				}
				for i, id := range idList {
					fmt.Fprintf(out, "%s (servo %d): homing offset %d\n", strings.TrimSpace(names[i]), id, h[byte(id)])
				}
				return nil
			}
			for k := len(idList) - 1; k >= 0; k-- {
				name, id := strings.TrimSpace(names[k]), idList[k]
				if err := wait(fmt.Sprintf("connect the controller board to the '%s' servo only and press Enter", name)); err != nil {
					return fmt.Errorf("bus setup: %w", err)
				}
				found := false
				for _, rate := range rates {
					g := f
					g.baud = rate
					b, err := openRegBus(g)
					if err != nil {
						return fmt.Errorf("bus setup: %w", err)
					}
					was, err := busarm.AssignID(ctx, b, f.bus, byte(id), code)
					b.Close()
					if errors.Is(err, busarm.ErrNoServo) {
						continue
					}
					if err != nil {
						return fmt.Errorf("bus setup: %s: %w", name, err)
					}
					fmt.Fprintf(out, "'%s' servo: ID %d at %d bit/s -> ID %d at %d bit/s, return delay 0\n", name, was.ID, rate, id, f.baud)
					found = true
					break
				}
				if !found {
					return fmt.Errorf("bus setup: %s: no servo answered a broadcast ping on %s at %v bit/s", name, f.port, rates)
				}
			}
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&ids, "ids", "1-6", "servo IDs to assign, in joint order")
	fl.StringVar(&joints, "joints", "", "joint names in ID order (default the SO-101's: "+strings.Join(busarm.SO101Joints, ",")+")")
	fl.StringVar(&bauds, "search-bauds", "", "rates to look for each servo at, bits/s (default: the bus's factory and common rates)")
	fl.BoolVar(&homing, "homing", false, "write half-turn homing offsets (joints in mid-range) instead of assigning IDs")
	fl.BoolVar(&nonInteract, "non-interactive", false, "no prompts: the servo is already connected")
	return cmd
}

// calibrateFromLeRobot converts a LeRobot calibration file into the arm config (and with
// apply writes it to the servos).
func calibrateFromLeRobot(cmd *cobra.Command, f busFlags, in, out string, apply bool) error {
	if out == "" && !apply {
		return inputErrf("bus calibrate: --from-lerobot needs -o CAL.yaml or --apply")
	}
	file, err := os.Open(in)
	if err != nil {
		return inputErrf("bus calibrate: --from-lerobot: %w", err)
	}
	cal, err := busarm.ReadLeRobotCalibration(file)
	file.Close()
	if err != nil {
		return inputErrf("bus calibrate: %s: %w", in, err)
	}
	cfg, err := cal.ArmConfig(f.bus)
	if err != nil {
		return inputErrf("bus calibrate: %s: %w", in, err)
	}
	cfg.Port, cfg.Baud = f.port, f.baud
	if apply {
		b, err := openRegBus(f)
		if err != nil {
			return fmt.Errorf("bus calibrate: %w", err)
		}
		err = busarm.ApplyLeRobot(cmd.Context(), b, f.bus, cal)
		b.Close()
		if err != nil {
			return fmt.Errorf("bus calibrate: apply: %w", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote homing offsets and position limits of %d servos\n", len(cal))
	}
	if out != "" {
		if err := writeCalibration(cmd, out, cfg); err != nil {
			return fmt.Errorf("bus calibrate: %w", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
	}
	return nil
}

// writeLeRobotOut writes LeRobot's calibration file for a measured arm: homing offsets
// read from the servos, ranges as observed.
func writeLeRobotOut(cmd *cobra.Command, f busFlags, res busarm.Config, ranges [][2]int, path string) error {
	b, err := openRegBus(f)
	if err != nil {
		return err
	}
	stored, err := busarm.ReadLeRobot(cmd.Context(), b, res)
	b.Close()
	if err != nil {
		return fmt.Errorf("reading homing offsets: %w", err)
	}
	for i := range stored {
		stored[i].RangeMin, stored[i].RangeMax = ranges[i][0], ranges[i][1]
	}
	return writeOutput(cmd, path, func(w io.Writer) error { return stored.Write(w) })
}
