package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// newRunCmd is `praxis run SKILL`: replay a skill on the daemon's arm and follow it.
func newRunCmd() *cobra.Command {
	var (
		o        connOpts
		goal, id string
		duration float64
		version  int
	)
	c := &cobra.Command{
		Use:   "run SKILL [--goal q1,q2,..|name=v,..] [--duration S] [--version N] [--id ID]",
		Short: "Run a skill on the daemon's arm and follow it to its end",
		Long: "run sends cmd/run and prints the run's events as they come, with a progress bar (one\n" +
			"updating line on a terminal, plain lines otherwise), and the final error (rad) on success.\n" +
			"--goal takes one value per joint in the skill's order (fetched from the daemon) or\n" +
			"name=value items (other joints keep the skill's goal). Ctrl-C cancels the run; a second\n" +
			"Ctrl-C stops waiting. Exit status: 0 succeeded, 1 failed or aborted, 2 rejected.\n" +
			clientCmdGroupNote,
		Args: argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			req := mqttapi.RunRequest{ID: id, Skill: args[0], Version: version}
			if fl.Changed("duration") {
				if !(duration > 0) || math.IsInf(duration, 0) {
					return inputErrf("run: --duration %v: want a finite number of seconds > 0", duration)
				}
				req.Duration = duration
			}
			if fl.Changed("version") && version < 1 {
				return inputErrf("run: --version %d: want 1 or more (omit it for the newest)", version)
			}
			if fl.Changed("id") && strings.TrimSpace(id) == "" {
				return inputErrf("run: --id: empty")
			}
			if req.ID == "" {
				req.ID = newCmdID()
			}
			var positional []float64
			if fl.Changed("goal") {
				var err error
				if req.Goal, positional, err = parseGoal(goal); err != nil {
					return inputErrf("run: %w", err)
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
			if positional != nil {
				if req.Goal, err = s.positionalGoal(cmd.Context(), req.Skill, positional); err != nil {
					return err
				}
			}
			return s.run(cmd, req)
		},
	}
	fl := c.Flags()
	fl.StringVar(&goal, "goal", "", "goal, rad or m: q1,q2,.. in the skill's joint order, or name=value,.. (default: the skill's)")
	fl.Float64Var(&duration, "duration", 0, "run duration, s (default: the skill's)")
	fl.IntVar(&version, "version", 0, "skill version (default: the newest)")
	fl.StringVar(&id, "id", "", "request id, echoed in every event (default: random)")
	o.register(fl)
	return c
}

// parseGoal parses --goal: name=value items into a map, or plain values (returned as a
// list, to be matched to the skill's joints). Errors name the 1-based item.
func parseGoal(value string) (named map[string]float64, positional []float64, err error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil, errors.New("--goal: empty list, want q1,q2,.. or name=value,..")
	}
	items := strings.Split(value, ",")
	isNamed := strings.Contains(value, "=")
	if isNamed {
		named = make(map[string]float64, len(items))
	}
	for i, item := range items {
		num := strings.TrimSpace(item)
		var name string
		if isNamed {
			n, v, ok := strings.Cut(item, "=")
			name = strings.TrimSpace(n)
			if !ok || name == "" {
				return nil, nil, fmt.Errorf("--goal item %d %q: want name=value (do not mix with plain values)", i+1, item)
			}
			if _, dup := named[name]; dup {
				return nil, nil, fmt.Errorf("--goal item %d: joint %q given twice", i+1, name)
			}
			num = strings.TrimSpace(v)
		}
		x, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("--goal item %d: %q is not a number", i+1, num)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil, fmt.Errorf("--goal item %d: %q is not a finite number", i+1, num)
		}
		if isNamed {
			named[name] = x
		} else {
			positional = append(positional, x)
		}
	}
	return named, positional, nil
}

// positionalGoal maps goal values by position to the joints of skill, as listed by the
// daemon. A wrong count or unknown skill is bad input, found before the run is sent.
func (s *session) positionalGoal(ctx context.Context, skill string, values []float64) (map[string]float64, error) {
	list, err := s.cli.Skills(ctx)
	if err != nil {
		return nil, s.cmdError("run: listing skills for --goal", err)
	}
	var names []string
	for _, sk := range list {
		names = append(names, sk.Name)
		if sk.Name != skill {
			continue
		}
		if len(sk.Joints) == 0 {
			return nil, inputErrf("run: --goal: the daemon lists no joints for skill %q; use name=value items", skill)
		}
		if len(values) != len(sk.Joints) {
			return nil, inputErrf("run: --goal: %d values, want %d (one per joint of %q: %s)",
				len(values), len(sk.Joints), skill, strings.Join(sk.Joints, ","))
		}
		goal := make(map[string]float64, len(values))
		for i, j := range sk.Joints {
			goal[j] = values[i]
		}
		return goal, nil
	}
	return nil, inputErrf("run: unknown skill %q (the daemon has: %s)", skill, orDash(strings.Join(names, ", ")))
}

// run sends req and prints its events until the terminal one. Ctrl-C sends cmd/cancel
// for the run over a second connection; a second Ctrl-C stops waiting.
func (s *session) run(cmd *cobra.Command, req mqttapi.RunRequest) error {
	out := cmd.OutOrStdout()
	ctx, stop := context.WithCancel(cmd.Context())
	defer stop()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	go func() {
		select {
		case <-sig:
		case <-ctx.Done():
			return
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "\ninterrupted: cancelling run %s (Ctrl-C again to stop waiting)\n", req.ID)
		go s.cancelElsewhere(ctx, cmd.ErrOrStderr(), req.ID)
		select {
		case <-sig:
			stop()
		case <-ctx.Done():
		}
	}()

	bar := newProgressBar(out, "run "+req.ID)
	fmt.Fprintf(out, "run %s: sending %s\n", req.ID, describeRun(req))
	final, err := s.cli.Run(ctx, req, func(e mqttapi.Event) {
		if e.Type == mqttapi.Progress {
			bar.set(e.Progress)
			return
		}
		if e.Type == mqttapi.Rejected {
			return // reported as the error
		}
		bar.done()
		printEvent(out, "run", e)
	})
	bar.done()
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) && cmd.Context().Err() == nil {
		return fmt.Errorf("run %s: stopped waiting; the run may still be going: check `praxis status`", req.ID)
	}
	switch final.Type {
	case mqttapi.Failed:
		return fmt.Errorf("run %s failed: %s", req.ID, cliWording(final.Reason))
	case mqttapi.Aborted:
		return fmt.Errorf("run %s aborted: %s", req.ID, cliWording(final.Reason))
	}
	return s.cmdError("run "+req.Skill, err)
}

// cancelElsewhere cancels run id over a fresh connection (the session's is busy
// following the run) and reports the outcome on w.
func (s *session) cancelElsewhere(ctx context.Context, w io.Writer, id string) {
	c, err := mqttapi.Dial(ctx, s.cfg)
	if err != nil {
		fmt.Fprintf(w, "cancel %s: %v\n", id, s.opts.dialError(s.cfg, err))
		return
	}
	defer c.Close()
	if _, err := c.Cancel(ctx, id); err != nil {
		fmt.Fprintf(w, "cancel %s: %v\n", id, s.cmdError("cancel", err))
	}
}

// describeRun summarises a run request for the first output line.
func describeRun(r mqttapi.RunRequest) string {
	var b strings.Builder
	b.WriteString("skill " + r.Skill)
	if r.Version > 0 {
		fmt.Fprintf(&b, " v%d", r.Version)
	}
	if len(r.Goal) > 0 {
		fmt.Fprintf(&b, ", goal %s", formatGoal(r.Goal))
	}
	if r.Duration > 0 {
		fmt.Fprintf(&b, ", duration %g s", r.Duration)
	}
	return b.String()
}

// formatGoal prints a goal map sorted by joint name.
func formatGoal(g map[string]float64) string {
	names := make([]string, 0, len(g))
	for n := range g {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%g", n, g[n])
	}
	return strings.Join(parts, ",")
}

// printEvent writes one non-progress event as a line: "<what> <id>: <type> ...".
func printEvent(w io.Writer, what string, e mqttapi.Event) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", what, e.ID, e.Type)
	if e.Skill != "" {
		fmt.Fprintf(&b, " skill %s", e.Skill)
		if e.Version > 0 {
			fmt.Fprintf(&b, " v%d", e.Version)
		}
	}
	if e.Demo != "" {
		fmt.Fprintf(&b, " demo %s", e.Demo)
	}
	if e.Type == mqttapi.Succeeded && e.Cmd != mqttapi.CmdLearn && e.Cmd != mqttapi.CmdRecord {
		fmt.Fprintf(&b, ", final error %.4g rad", e.FinalError)
	}
	if e.Reason != "" {
		b.WriteString(": " + cliWording(e.Reason))
	}
	fmt.Fprintln(w, b.String())
}

// progressBar shows a phase in [0, 1]: one updating line on a terminal, else a plain
// line at every tenth.
type progressBar struct {
	w     io.Writer
	label string
	tty   bool
	drawn bool // a terminal line is open
	last  int  // last tenth printed (plain mode), -1 for none

	lastPct int // percentage on the terminal line
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, tty: isTerminal(w), last: -1}
}

// set shows progress p (clamped to [0, 1]).
func (b *progressBar) set(p float64) {
	if math.IsNaN(p) {
		return
	}
	p = math.Max(0, math.Min(1, p))
	if b.tty {
		pct := int(p * 100)
		if b.drawn && pct == b.lastPct {
			return // the daemon repeats progress while it converges: skip equal redraws
		}
		b.lastPct = pct
		const width = 30
		n := int(p * width)
		fmt.Fprintf(b.w, "\r%s [%s%s] %3.0f%%", b.label, strings.Repeat("#", n), strings.Repeat(" ", width-n), p*100)
		b.drawn = true
		return
	}
	if tenth := int(p * 10); tenth > b.last {
		b.last = tenth
		fmt.Fprintf(b.w, "%s: progress %.0f%%\n", b.label, p*100)
	}
}

// done ends an open terminal line so that the next output starts on its own line.
func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
