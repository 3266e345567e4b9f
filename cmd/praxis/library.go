package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/skilllib"
)

// The library commands work on the daemon's data directory directly (no daemon needed):
// every write is atomic and versions are never overwritten, so they are safe while the
// daemon runs; its retained skill list refreshes on the next `praxis skills`.

// dataDirFlag adds --data (default: the daemon's default data directory) to c.
func dataDirFlag(c *cobra.Command, dir *string) {
	c.Flags().StringVar(dir, "data", daemon.DefaultDataDir(), "the daemon's data directory")
}

func openLibrary(dir string) (*skilllib.Store, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, inputErrf("data directory %s: %v", dir, err)
	}
	return skilllib.OpenStore(filepath.Join(dir, daemon.SkillsDir))
}

// libraryErr maps the store's sentinels to exit statuses: a missing or taken name, or a
// broken file, is the caller's input.
func libraryErr(err error) error {
	if errors.Is(err, skilllib.ErrNotFound) || errors.Is(err, skilllib.ErrExists) ||
		errors.Is(err, skilllib.ErrInvalid) || errors.Is(err, skilllib.ErrUnsupportedFormat) ||
		errors.Is(err, skilllib.ErrCorrupt) {
		return inputErr(err)
	}
	return err
}

// newSkillsLibraryCmds returns the `praxis skills` subcommands that manage the library.
func newSkillsLibraryCmds() []*cobra.Command {
	return []*cobra.Command{newSkillsExportCmd(), newSkillsImportCmd(), newSkillsDeleteCmd(),
		newSkillsRenameCmd(), newSkillsCheckCmd()}
}

func newSkillsExportCmd() *cobra.Command {
	var dir, out string
	var version int
	c := &cobra.Command{
		Use:   "export NAME [--version N] [-o FILE]",
		Short: "Write one stored skill version (default the latest) as a skill file",
		Args:  argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openLibrary(dir)
			if err != nil {
				return err
			}
			s, err := st.Get(args[0], version)
			if err != nil {
				return libraryErr(err)
			}
			data, err := skilllib.Marshal(s)
			if err != nil {
				return err
			}
			if err := writeOutput(cmd, out, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %s version %d to %s\n", s.Name, s.Version, out)
			}
			return nil
		},
	}
	dataDirFlag(c, &dir)
	c.Flags().IntVar(&version, "version", 0, "version to export (0: the latest)")
	c.Flags().StringVarP(&out, "output", "o", "", "skill file to write (default stdout)")
	return c
}

func newSkillsImportCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "import SKILL.json",
		Short: "Store a skill file as the next version of its name",
		Args:  argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openLibrary(dir)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return inputErr(err)
			}
			defer f.Close()
			s, err := st.Import(f, filepath.Base(args[0]))
			if err != nil {
				return libraryErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s version %d\n", s.Name, s.Version)
			return nil
		},
	}
	dataDirFlag(c, &dir)
	return c
}

func newSkillsDeleteCmd() *cobra.Command {
	var dir string
	var version int
	c := &cobra.Command{
		Use:   "delete NAME [--version N]",
		Short: "Delete one version of a skill, or all of them",
		Args:  argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openLibrary(dir)
			if err != nil {
				return err
			}
			if err := st.Delete(args[0], version); err != nil {
				return libraryErr(err)
			}
			what := "every version"
			if version > 0 {
				what = fmt.Sprintf("version %d", version)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s of %s\n", what, args[0])
			return nil
		},
	}
	dataDirFlag(c, &dir)
	c.Flags().IntVar(&version, "version", 0, "version to delete (0: every version)")
	return c
}

func newSkillsRenameCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "rename OLD NEW",
		Short: "Give every version of a skill a new name",
		Args:  argsBad(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openLibrary(dir)
			if err != nil {
				return err
			}
			if err := st.Rename(args[0], args[1]); err != nil {
				return libraryErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "renamed %s to %s\n", args[0], args[1])
			return nil
		},
	}
	dataDirFlag(c, &dir)
	return c
}

func newSkillsCheckCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "check",
		Short: "Verify every stored skill file (checksum and format); exit 1 when any is broken",
		Args:  argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openLibrary(dir)
			if err != nil {
				return err
			}
			infos, probs, err := st.List()
			if err != nil {
				return err
			}
			n := 0
			for _, in := range infos {
				n += len(in.Versions)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d skills, %d good versions\n", len(infos), n)
			for _, p := range probs {
				fmt.Fprintf(w, "BROKEN %s: %v\n", p.Path, p.Err)
			}
			if len(probs) > 0 {
				return fmt.Errorf("skills check: %d broken file(s), left in place and never loaded", len(probs))
			}
			return nil
		},
	}
	dataDirFlag(c, &dir)
	return c
}

// newDemosCmd groups the demonstration commands that work on the data directory.
func newDemosCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "demos",
		Short: "List the daemon's demonstrations, or import CSV demos into its data directory",
	}
	c.AddCommand(newDemosListCmd(), newDemosImportCmd())
	return c
}

func newDemosListCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the stored demonstrations (from their sidecars)",
		Args:  argsBad(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listDemos(cmd.OutOrStdout(), filepath.Join(dir, daemon.DemosDir))
		},
	}
	dataDirFlag(c, &dir)
	return c
}

// listDemos prints one line per demo CSV in dir, with its sidecar's figures when present.
func listDemos(w io.Writer, dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".csv"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSAMPLES\tDURATION\tRATE\tSOURCE\tJOINTS")
	for _, n := range names {
		sc, err := demos.ReadSidecar(filepath.Join(dir, n+".json"))
		if err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t(no sidecar: %v)\n", n, err)
			continue
		}
		src := sc.Source
		if sc.Recovered {
			src += " (recovered)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3g s\t%.4g Hz\t%s\t%s\n", n, sc.Samples, sc.DurationS, sc.RateHz, src, strings.Join(sc.Joints, ","))
	}
	return tw.Flush()
}

func newDemosImportCmd() *cobra.Command {
	var dir, name string
	c := &cobra.Command{
		Use:   "import DEMO.csv [--name NAME]",
		Short: "Copy a CSV demo (t,<joints...>) into the data directory, ready for learn --from-daemon",
		Args:  argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(dir); err != nil {
				return inputErrf("data directory %s: %v", dir, err)
			}
			ddir := filepath.Join(dir, daemon.DemosDir)
			if err := os.MkdirAll(ddir, 0o755); err != nil {
				return err
			}
			sc, err := demos.Import(ddir, args[0], name)
			if err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported demo %s: %d samples, %.3g s, joints %s\n",
				sc.Name, sc.Samples, sc.DurationS, strings.Join(sc.Joints, ","))
			return nil
		},
	}
	dataDirFlag(c, &dir)
	c.Flags().StringVar(&name, "name", "", "demo name (default: the file's base name)")
	return c
}
