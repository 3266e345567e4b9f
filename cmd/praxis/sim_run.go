package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// STUB: replaced by the real command.
func newSimRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:  "run",
		RunE: func(*cobra.Command, []string) error { return errors.New("run: not implemented") },
	}
}
