package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.bug.st/serial"

	fwlink "github.com/praxis-robotics/praxis/firmware-bridge/link"
	fwwire "github.com/praxis-robotics/praxis/firmware-bridge/wire"
)

// newFirmwareCmd is `praxis firmware`: tools for firmware-bridge boards
// (firmware-bridge/PROTOCOL.md).
func newFirmwareCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "firmware",
		Short: "Find and inspect firmware-bridge boards (hobby-servo arms on a microcontroller)",
	}
	c.AddCommand(newFirmwareScanCmd())
	return c
}

func newFirmwareScanCmd() *cobra.Command {
	var (
		port, bauds string
		timeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "scan [--port P] [--bauds 115200,1000000] [--timeout 3s]",
		Short: "Find firmware-bridge boards: protocol, firmware version, joints, feedback",
		Long: "scan says HELLO on each port at each rate and prints the boards that answer:\n" +
			"port, baud, protocol and firmware version, joints, which joints have feedback,\n" +
			"pulse range and heartbeat timeout. Without --port it tries /dev/ttyUSB* and\n" +
			"/dev/ttyACM*. An Arduino resets when its port opens and sits in its bootloader for\n" +
			"about a second: --timeout is per port and rate. The servos are not touched (no\n" +
			"ENABLE, no COMMAND). Exit status 1 when no board answers.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rates []int
			for _, s := range strings.Split(bauds, ",") {
				b, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || b <= 0 {
					return inputErrf("firmware scan: --bauds: %q is not a rate in bits/s", s)
				}
				rates = append(rates, b)
			}
			if timeout <= 0 {
				return inputErrf("firmware scan: --timeout %v must be positive", timeout)
			}
			ports := []string{port}
			if port == "" {
				ports = nil
				for _, g := range []string{"/dev/ttyUSB*", "/dev/ttyACM*"} {
					m, _ := filepath.Glob(g)
					ports = append(ports, m...)
				}
				sort.Strings(ports)
				if len(ports) == 0 {
					return fmt.Errorf("firmware scan: no /dev/ttyUSB* or /dev/ttyACM* port; give --port")
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%-16s %-8s %-6s %-9s %-6s %-9s %-10s %s\n", "PORT", "BAUD", "PROTO", "FIRMWARE", "JOINTS", "FEEDBACK", "PULSE_US", "TIMEOUT_MS")
			found := 0
			for _, p := range ports {
				for _, b := range rates {
					caps, err := helloBoard(cmd.Context(), p, b, timeout)
					if err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "firmware scan: %s at %d bit/s: %v\n", p, b, err)
						continue
					}
					found++
					fmt.Fprintf(out, "%-16s %-8d %-6d %-9s %-6d %-9s %-10s %d\n", p, b, fwwire.Version,
						fmt.Sprintf("%d.%d", caps.FwMajor, caps.FwMinor), caps.Joints,
						fmt.Sprintf("0x%02X", caps.FeedbackMask), fmt.Sprintf("%d-%d", caps.PulseMin, caps.PulseMax), caps.TimeoutMs)
					break // one rate answered: the board is found
				}
			}
			if found == 0 {
				return fmt.Errorf("firmware scan: no firmware-bridge board answered on %s at %s bit/s", strings.Join(ports, ", "), bauds)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&port, "port", "", "serial port, e.g. /dev/ttyACM0 (default: try /dev/ttyUSB* and /dev/ttyACM*)")
	fl.StringVar(&bauds, "bauds", "115200,1000000", "comma-separated rates to try, bits/s")
	fl.DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for an answer per port and rate")
	return cmd
}

// helloBoard opens port at baud and shakes hands without changing the board's settings
// (the firmware timeout sent back is the one the board reports).
func helloBoard(ctx context.Context, port string, baud int, timeout time.Duration) (fwwire.Caps, error) {
	p, err := serial.Open(port, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return fwwire.Caps{}, err
	}
	_ = p.ResetInputBuffer()
	l, err := fwlink.New(p, fwlink.Config{Heartbeat: -1, FirmwareTimeout: -1, ReplyTimeout: 200 * time.Millisecond})
	if err != nil {
		p.Close()
		return fwwire.Caps{}, err
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return l.Hello(ctx)
}
