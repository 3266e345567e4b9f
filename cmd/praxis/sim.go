package main

import "github.com/spf13/cobra"

// newSimCmd groups the simulator commands: run a skill on a simulated arm, or impersonate
// an arm's servo bus on a pseudo-terminal.
func newSimCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sim",
		Short: "Run skills on the simulated arm, or serve it on a simulated servo bus",
	}
	c.AddCommand(newSimRunCmd(), newSimServeCmd(), newSimBatchCmd())
	return c
}
