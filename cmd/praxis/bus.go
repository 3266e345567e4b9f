package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// STUB: replaced by the real command.
func newBusCmd() *cobra.Command {
	return &cobra.Command{
		Use:  "bus",
		RunE: func(*cobra.Command, []string) error { return errors.New("bus: not implemented") },
	}
}
