package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// STUB: replaced by the real command.
func newBenchCmd() *cobra.Command {
	return &cobra.Command{
		Use:  "bench",
		RunE: func(*cobra.Command, []string) error { return errors.New("bench: not implemented") },
	}
}
