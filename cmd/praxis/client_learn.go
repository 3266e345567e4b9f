package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// learnFromDaemon is `praxis learn --from-daemon`: ask the daemon to fit skill name from
// demos recorded in its data directory, and follow the fit to its end. basis 0 means
// the daemon's default.
func learnFromDaemon(cmd *cobra.Command, o *connOpts, name string, demoNames []string, basis int) error {
	for i, d := range demoNames {
		if strings.TrimSpace(d) == "" {
			return inputErrf("learn --from-daemon: demo %d: empty name", i+1)
		}
	}
	if _, err := o.config(); err != nil {
		return err
	}
	s, err := o.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer s.Close()
	out := cmd.OutOrStdout()
	req := mqttapi.LearnRequest{ID: newCmdID(), Skill: name, Demos: demoNames, Basis: basis}
	fmt.Fprintf(out, "learn %s: sending skill %s from %d demo(s): %s\n", req.ID, name, len(demoNames), strings.Join(demoNames, ", "))
	bar := newProgressBar(out, "learn "+req.ID)
	final, err := s.cli.Learn(cmd.Context(), req, func(e mqttapi.Event) {
		switch e.Type {
		case mqttapi.Progress:
			bar.set(e.Progress)
		case mqttapi.Rejected:
		default:
			bar.done()
			printEvent(out, "learn", e)
		}
	})
	bar.done()
	if err == nil {
		skill := final.Skill
		if skill == "" {
			skill = name
		}
		if final.Version > 0 {
			fmt.Fprintf(out, "learned skill %s version %d on the daemon\n", skill, final.Version)
		} else {
			fmt.Fprintf(out, "learned skill %s on the daemon\n", skill)
		}
		printFitErrors(out, final.FitError)
		if final.Warning != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", final.Warning)
		}
		return nil
	}
	switch final.Type {
	case mqttapi.Failed, mqttapi.Aborted:
		return fmt.Errorf("learn %s %s: %s", name, final.Type, final.Reason)
	}
	return s.cmdError("learn "+name, err)
}

// printFitErrors writes the per-joint reproduction error of a learned skill as
// `praxis learn` does (nothing when fit is empty).
func printFitErrors(w io.Writer, fit []mqttapi.JointFitError) {
	if len(fit) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "joint\trmse\tmax\tend\t(rad or m)")
	for _, e := range fit {
		fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%.4g\t\n", e.Joint, e.RMSE, e.Max, e.End)
	}
	tw.Flush()
}
