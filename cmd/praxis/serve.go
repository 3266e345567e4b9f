package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/motion/clock"
)

// newServeCmd is `praxis serve [--config FILE] [--data DIR]`: the daemon. SIGINT and
// SIGTERM stop it safely (run cancelled and halted, recording flushed, offline status);
// it then exits 0.
func newServeCmd() *cobra.Command {
	var cfgPath, dataDir string
	cmd := &cobra.Command{
		Use:   "serve [--config FILE] [--data DIR]",
		Short: "Run the daemon: arm, skill library and MQTT API (default: simulated SO-101, embedded broker)",
		Long: "Run the Praxis daemon. With no config it drives a simulated SO-101 in real time, serves an\n" +
			"embedded MQTT broker on 127.0.0.1:1883 and keeps skills and demos in $XDG_DATA_HOME/praxis.\n" +
			"While it serves, $XDG_RUNTIME_DIR/praxis/<robot_id>.json names its data directory and broker,\n" +
			"so that this user's operator commands find them without --data (docs/cli.md).\n" +
			"Configuration fields: docs/config.md. MQTT API: docs/mqtt.md.",
		Args: argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg daemon.Config
			if cfgPath != "" {
				c, err := daemon.LoadConfig(cfgPath)
				if err != nil {
					return inputErr(err)
				}
				cfg = c
			}
			if dataDir != "" {
				cfg.DataDir = dataDir
			}
			d, err := daemon.New(cfg, daemon.Options{Stdout: cmd.OutOrStdout()})
			if err != nil {
				return inputErr(err)
			}
			// More Ps than CPUs and a less eager collector keep the control thread from
			// waiting for a P (docs/realtime.md); GOMAXPROCS / GOGC in the environment win.
			clock.TuneRuntime()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// While serving, the runtime file tells this user's operator commands where the
			// data directory (credentials) and the broker are (docs/cli.md).
			written := make(chan func(), 1)
			go func() {
				select {
				case <-d.Ready():
				case <-ctx.Done():
					written <- nil
					return
				}
				data, _ := filepath.Abs(d.Config().DataDir)
				remove, err := daemon.WriteRuntime(daemon.Runtime{PID: os.Getpid(), RobotID: d.Config().RobotID,
					DataDir: data, Broker: d.BrokerURL(), Started: time.Now()})
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "praxis serve: %v (operator commands then need --data)\n", err)
				}
				written <- remove
			}()
			err = d.Run(ctx)
			stop()
			if remove := <-written; remove != nil {
				remove()
			}
			return err
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "YAML configuration file (docs/config.md); default: built-in defaults")
	cmd.Flags().StringVar(&dataDir, "data", "", "data directory (overrides data_dir); default $XDG_DATA_HOME/praxis")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	return cmd
}
