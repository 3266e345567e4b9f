package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// STUB: replaced by the real command.
func newLearnCmd() *cobra.Command {
	return &cobra.Command{
		Use:  "learn",
		RunE: func(*cobra.Command, []string) error { return errors.New("learn: not implemented") },
	}
}
