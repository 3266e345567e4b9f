package main

import (
	"github.com/praxis-robotics/praxis/motion/clock"
	"os"
	"os/signal"
	"syscall"

	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/spf13/cobra"
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
			return d.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "YAML configuration file (docs/config.md); default: built-in defaults")
	cmd.Flags().StringVar(&dataDir, "data", "", "data directory (overrides data_dir); default $XDG_DATA_HOME/praxis")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	return cmd
}
