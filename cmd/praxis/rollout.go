package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// STUB: replaced by the real command.
func newRolloutCmd() *cobra.Command {
	return &cobra.Command{
		Use:  "rollout",
		RunE: func(*cobra.Command, []string) error { return errors.New("rollout: not implemented") },
	}
}
