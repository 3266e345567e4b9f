// Command praxis is the Praxis robot-control daemon and the operator's command line.
// This file only wires subcommands; each lives in its own file.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/internal/daemon"
)

// Exit statuses: 0 success, 1 a runtime failure, 2 bad input (file, flag or argument).
const (
	exitFailure  = 1
	exitBadInput = 2
)

// badInput marks an error as the caller's fault (exit status 2).
type badInput struct{ err error }

func (b badInput) Error() string { return b.err.Error() }
func (b badInput) Unwrap() error { return b.err }

// inputErr wraps err as bad input; nil stays nil.
func inputErr(err error) error {
	if err == nil {
		return nil
	}
	return badInput{err}
}

// inputErrf formats a bad-input error.
func inputErrf(format string, a ...any) error { return badInput{fmt.Errorf(format, a...)} }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "praxis",
		Short:         "Teach robot arms skills by demonstration and replay them as DMPs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	root.AddCommand(
		newServeCmd(),
		newLearnCmd(),
		newRolloutCmd(),
		newSimCmd(),
		newBenchCmd(),
		newBusCmd(),
		newFirmwareCmd(),
	)
	root.AddCommand(newClientCmds()...)
	root.AddCommand(newDemosCmd())
	root.AddCommand(newFlightCmd())
	root.AddCommand(newVersionCmd())
	return root
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == daemon.ControlArg {
		// The control process of a daemon with executor.isolate (not a command).
		os.Exit(daemon.ControlMain())
	}
	root := newRootCmd()
	err := root.Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "praxis:", err)
	var bi badInput
	if errors.As(err, &bi) || isUsageError(err) {
		os.Exit(exitBadInput)
	}
	os.Exit(exitFailure)
}

// isUsageError reports cobra's flag and argument errors, which are bad input too.
func isUsageError(err error) bool {
	var fe *flagError
	return errors.As(err, &fe)
}

// flagError wraps cobra's flag-parsing errors (set by FlagErrorFunc on each command).
type flagError struct{ err error }

func (f *flagError) Error() string { return f.err.Error() }
func (f *flagError) Unwrap() error { return f.err }

// argsBad wraps a cobra argument validator so that its errors count as bad input.
func argsBad(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error { return inputErr(v(cmd, args)) }
}
