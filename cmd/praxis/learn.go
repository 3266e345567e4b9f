package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/skilllib"
)

// newLearnCmd is `praxis learn`: fit a skill to demo CSV files, write the skill file.
func newLearnCmd() *cobra.Command {
	var (
		name, out, formulation string
		clean                  string
		basis                  int
		fromDaemon             bool
		conn                   connOpts
	)
	cmd := &cobra.Command{
		Use:   "learn DEMO.csv [MORE.csv ...] --name NAME [--basis N] [--formulation F] [-o SKILL.json]",
		Short: "Fit a skill (a DMP) to one or more demonstration CSV files",
		Long: "learn fits one DMP to the demonstrations (CSV: header t,<joint names...>, t in s,\n" +
			"positions in rad or m; several demos must share joint names) and writes the skill\n" +
			"file (docs/skill-format.md) to -o, or to stdout. A fit summary goes to stderr.\n" +
			"--clean auto (the default) cleans raw recordings (a sidecar NAME.json beside the CSV\n" +
			"says source \"recorded\": low-pass, trim the still ends, resample) as the daemon does, so\n" +
			"the same demos give the same skill offline and on the daemon; always / never force it.\n" +
			"\n`praxis learn --from-daemon --name NAME DEMO [MORE ...] [--basis N]`: the arguments name\n" +
			"demos recorded by the running daemon (`praxis record`); the daemon fits and stores the\n" +
			"skill (cmd/learn); -o and --formulation do not apply. " + clientCmdGroupNote,
		Args: argsBad(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return inputErrf("learn: --name is required")
			}
			if fromDaemon {
				fl := cmd.Flags()
				if fl.Changed("output") || fl.Changed("formulation") || fl.Changed("clean") {
					return inputErrf("learn --from-daemon: -o, --formulation and --clean apply only to offline learning")
				}
				if fl.Changed("basis") && basis < 1 {
					return inputErrf("learn: --basis %d: want 1 or more", basis)
				}
				if !fl.Changed("basis") {
					basis = 0 // the daemon's default
				}
				return learnFromDaemon(cmd, &conn, name, args, basis)
			}
			f := dmp.Formulation(formulation)
			if f != dmp.Pastor2009 && f != dmp.Ijspeert2013 {
				return inputErrf("learn: --formulation %q: want %s or %s", formulation, dmp.Pastor2009, dmp.Ijspeert2013)
			}
			if basis < 2 {
				return inputErrf("learn: --basis %d: want 2 or more", basis)
			}
			mode := skilllib.CleanMode(clean)
			if mode != skilllib.CleanAuto && mode != skilllib.CleanAlways && mode != skilllib.CleanNever {
				return inputErrf("learn: --clean %q: want auto, always or never", clean)
			}
			s, err := skilllib.LearnFiles(cmd.Context(), args, skilllib.FileOptions{
				LearnOptions: skilllib.LearnOptions{
					Name:          name,
					Fit:           dmp.Options{Basis: basis, Formulation: f},
					PraxisVersion: praxisVersion(),
				},
				Clean: mode,
			})
			if err != nil {
				var pe *fs.PathError
				if errors.As(err, &pe) || errors.Is(err, demos.ErrBadCSV) || errors.Is(err, skilllib.ErrJointMismatch) ||
					errors.Is(err, dmp.ErrInvalidDemo) || errors.Is(err, dmp.ErrInvalidOptions) ||
					errors.Is(err, skilllib.ErrTooBig) {
					return inputErr(err)
				}
				return err
			}
			data, err := skilllib.Marshal(s)
			if err != nil {
				return err
			}
			if err := writeOutput(cmd, out, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return err
			}
			printFitSummary(cmd.ErrOrStderr(), s)
			for _, a := range args { // read again only to warn: learning succeeded
				if d, err := demos.ReadCSV(a); err == nil {
					if w := demos.Check(d); w != "" {
						fmt.Fprintf(cmd.ErrOrStderr(), "warning: demo %s: %s\n", a, w)
					}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "skill name (required)")
	fl.IntVar(&basis, "basis", dmp.DefaultBasis, "number of basis functions per joint")
	fl.StringVar(&formulation, "formulation", string(dmp.Pastor2009), "DMP formulation: pastor2009 or ijspeert2013")
	fl.StringVarP(&out, "output", "o", "", "write the skill file here instead of stdout")
	fl.StringVar(&clean, "clean", string(skilllib.CleanAuto), "clean demos before fitting: auto (raw recordings only), always, never")
	fl.BoolVar(&fromDaemon, "from-daemon", false, "the arguments are demo names recorded by the running daemon, which learns the skill")
	conn.register(fl)
	return cmd
}

// printFitSummary writes the per-joint reproduction error of a fresh skill.
func printFitSummary(w io.Writer, s *skilllib.Skill) {
	fmt.Fprintf(w, "learned %q: %d joints, %d basis functions, %s, tau %.3f s, dt %.6g s, %d demo(s)\n",
		s.Name, len(s.Joints), s.Provenance.Basis, s.DMP.Formulation, s.DMP.Tau, s.DT, len(s.Provenance.Demos))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "joint\trmse\tmax\tend\t(rad or m)")
	for _, e := range s.Provenance.FitError {
		fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%.4g\t\n", e.Joint, e.RMSE, e.Max, e.End)
	}
	tw.Flush()
}

// writeOutput runs write against stdout when path is empty, else against path, written
// through a temporary file and renamed so that a failure leaves no half-written file.
func writeOutput(cmd *cobra.Command, path string, write func(io.Writer) error) error {
	if path == "" {
		return write(cmd.OutOrStdout())
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return inputErrf("-o %s: directory %s does not exist", path, dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// praxisVersion names this build for skill provenance: the module version and, when
// built from a checkout, the VCS revision.
func praxisVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev + dirty
	}
	return v
}
