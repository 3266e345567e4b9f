package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/internal/flight"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

func newFlightCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "flight",
		Short: "Read the flight recorder's files: the last seconds before a fault, abort or e-stop",
	}
	c.AddCommand(newFlightShowCmd(), newFlightListCmd(), newFlightDumpCmd())
	return c
}

// newFlightDumpCmd is `praxis flight dump [--reason TEXT]`: the running daemon writes its
// flight recorder's present content to a file now (cmd/flight; operators only).
func newFlightDumpCmd() *cobra.Command {
	var reason string
	c := clientCommand(&cobra.Command{
		Use:   "dump [--reason TEXT]",
		Short: "Ask the running daemon to write its flight recorder's present content to a file now",
		Long: "flight dump sends cmd/flight and prints the file the daemon wrote (in <data>/flight, trigger\n" +
			"request), its samples and seconds; `praxis flight show` reads it. Operators only. " + clientCmdGroupNote,
		Args: argsBad(cobra.NoArgs),
	}, func(cmd *cobra.Command, _ []string, s *session) error {
		e, err := s.cli.Flight(cmd.Context(), mqttapi.FlightRequest{ID: newCmdID(), Reason: reason})
		if err != nil {
			return s.cmdError("flight dump", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "flight dump %s: %s: wrote %s in the daemon's data directory (%d samples, %s s)\n",
			e.ID, e.Type, e.Path, e.Samples, strconv.FormatFloat(e.Seconds, 'f', 2, 64))
		return nil
	})
	c.Flags().StringVar(&reason, "reason", "", "why, kept in the recording's header (default \"requested by cmd/flight\")")
	return c
}

func newFlightShowCmd() *cobra.Command {
	var csv bool
	var out string
	c := &cobra.Command{
		Use:   "show FILE [--csv [-o OUT.csv]]",
		Short: "Summarise a flight recording, or export it as CSV",
		Long: "Prints the recording's reason, time, duration, samples and rate, and per joint the largest\n" +
			"tracking error (|measured − planned|) and command step. With --csv, writes the samples as\n" +
			"CSV instead (header t,<joint>_measured,<joint>_velocity,<joint>_planned,<joint>_command,...;\n" +
			"t in s from the trigger) to -o or stdout. FILE may also be a name in <data>/flight.",
		Args: argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out != "" && !csv {
				return inputErrf("-o needs --csv")
			}
			path := args[0]
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && flight.ValidName(path) {
				path = filepath.Join(daemon.DefaultDataDir(), daemon.FlightDir, path)
			}
			r, err := flight.Read(path)
			if err != nil {
				return inputErr(err)
			}
			if !csv {
				return flight.Summarize(r).WriteText(cmd.OutOrStdout(), path)
			}
			if out == "" {
				return flight.WriteCSV(cmd.OutOrStdout(), r)
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := flight.WriteCSV(f, r); err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", out, err)
			}
			return f.Close()
		},
	}
	c.Flags().BoolVar(&csv, "csv", false, "export the samples as CSV")
	c.Flags().StringVarP(&out, "output", "o", "", "with --csv: write the CSV here instead of stdout")
	return c
}

func newFlightListCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "list [--data DIR]",
		Short: "List the flight recordings in <data>/flight, newest first",
		Args:  argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := flight.List(filepath.Join(dir, daemon.FlightDir))
			if err != nil {
				return err
			}
			return listFlights(cmd.OutOrStdout(), list)
		},
	}
	dataDirFlag(c, &dir)
	return c
}

func listFlights(w io.Writer, list []flight.Info) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no flight recordings")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tTIME\tTRIGGER\tREASON\tSECONDS\tSAMPLES")
	for _, in := range list {
		tm := ""
		if !in.Time.IsZero() {
			tm = in.Time.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", in.Name, tm, in.Trigger, in.Reason,
			strconv.FormatFloat(in.Seconds, 'f', 3, 64), in.Samples)
	}
	return tw.Flush()
}
