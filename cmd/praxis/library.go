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
	"time"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/skilllib"
)

// The library commands work on the daemon's data directory directly (no daemon needed):
// every write is atomic and versions are never overwritten, so they are safe while the
// daemon runs; its retained skill list refreshes on the next `praxis skills`.

// dataDirFlag adds --data to c. When it is not given, the command uses $PRAXIS_DATA,
// else the data directory of the daemon this user runs for the default robot, else the
// daemon's default (resolveDataDir).
func dataDirFlag(c *cobra.Command, dir *string) {
	c.Flags().StringVar(dir, "data", "", "the daemon's data directory (default: $"+daemon.EnvData+
		", else that of the running daemon of robot "+mqttapi.DefaultRobotID+", else "+daemon.DefaultDataDir()+")")
	prev := c.PreRunE
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		*dir = resolveDataDir(*dir, mqttapi.DefaultRobotID)
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
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
		Short: "List, delete and rename the daemon's demonstrations; import CSV demos or LeRobot datasets; export to LeRobot",
	}
	c.AddCommand(newDemosListCmd(), newDemosDeleteCmd(), newDemosRenameCmd(), newDemosImportCmd(), newDemosExportCmd())
	return c
}

// demosErr maps the demo sentinels to exit statuses: a missing, taken or busy name is
// the caller's input.
func demosErr(err error) error {
	if errors.Is(err, demos.ErrNotFound) || errors.Is(err, demos.ErrExists) || errors.Is(err, demos.ErrBeingRecorded) {
		return inputErr(err)
	}
	if err != nil && strings.Contains(err.Error(), "demo name") { // checkName's errors
		return inputErr(err)
	}
	return err
}

func newDemosDeleteCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a stored demonstration (its CSV and sidecar); refused while it is being recorded",
		Args:  argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := demos.Delete(filepath.Join(dir, daemon.DemosDir), args[0]); err != nil {
				return demosErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted demo %s\n", args[0])
			return nil
		},
	}
	dataDirFlag(c, &dir)
	return c
}

func newDemosRenameCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "rename OLD NEW",
		Short: "Rename a stored demonstration; refused when NEW exists or either is being recorded",
		Args:  argsBad(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := demos.Rename(filepath.Join(dir, daemon.DemosDir), args[0], args[1]); err != nil {
				return demosErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "renamed demo %s to %s\n", args[0], args[1])
			return nil
		},
	}
	dataDirFlag(c, &dir)
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
	var (
		dir, name, episodes, feature, units, calib, zeroTo100 string
		lerobot                                               bool
	)
	c := &cobra.Command{
		Use:   "import DEMO.csv [--name NAME] | import DATASET --lerobot [--episodes 0,2-4] [--units degrees|radians|range --calibration CAL.json]",
		Short: "Copy a CSV demo (t,<joints...>) or LeRobot dataset episodes into the data directory",
		Long: "import copies a CSV demo into the data directory, ready for learn --from-daemon.\n" +
			"With --lerobot, the argument is a LeRobot v2.x dataset directory (meta/info.json,\n" +
			"data/chunk-000/episode_000000.parquet, ...): each chosen episode becomes a demo\n" +
			"NAME_epN (NAME defaults to the directory's name) with the joints named after the\n" +
			"feature's names (a .pos suffix dropped) and positions converted to rad from\n" +
			"--units: degrees (LeRobot's use_degrees), radians, or range (LeRobot's default\n" +
			"−100..100 normalisation, 0..100 for the joints in --range-0-100), which needs the\n" +
			"arm's LeRobot calibration file (--calibration): zero at the middle of each range.",
		Args: argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(dir); err != nil {
				return inputErrf("data directory %s: %v", dir, err)
			}
			ddir := filepath.Join(dir, daemon.DemosDir)
			if err := os.MkdirAll(ddir, 0o755); err != nil {
				return err
			}
			if !lerobot {
				sc, err := demos.Import(ddir, args[0], name)
				if err != nil {
					return inputErr(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "imported demo %s: %d samples, %.3g s, joints %s\n",
					sc.Name, sc.Samples, sc.DurationS, strings.Join(sc.Joints, ","))
				return nil
			}
			return importLeRobot(cmd, ddir, args[0], name, episodes, demos.LeRobotImport{Feature: feature, Units: units}, calib, zeroTo100)
		},
	}
	dataDirFlag(c, &dir)
	fl := c.Flags()
	fl.StringVar(&name, "name", "", "demo name (default: the file's base name); with --lerobot the prefix of NAME_epN")
	fl.BoolVar(&lerobot, "lerobot", false, "the argument is a LeRobot v2.x dataset directory")
	fl.StringVar(&episodes, "episodes", "", "with --lerobot: episodes to import, e.g. 0,2-4 (default all)")
	fl.StringVar(&feature, "feature", "observation.state", "with --lerobot: the column to take positions from (observation.state or action)")
	fl.StringVar(&units, "units", demos.UnitsDegrees, "with --lerobot: units of the values: degrees, radians or range")
	fl.StringVar(&calib, "calibration", "", "the arm's LeRobot calibration file, JSON (required with --units range; with degrees, zero and direction per joint)")
	fl.StringVar(&zeroTo100, "range-0-100", "gripper", "with --calibration: joints normalised 0..100 (comma-separated; LeRobot keeps the gripper so even with use_degrees)")
	return c
}

// importLeRobot imports episodes of a LeRobot dataset as demos.
func importLeRobot(cmd *cobra.Command, ddir, root, prefix, episodes string, opt demos.LeRobotImport, calib, zeroTo100 string) error {
	ds, err := demos.OpenLeRobot(root)
	if err != nil {
		return inputErr(err)
	}
	if prefix == "" {
		prefix = filepath.Base(filepath.Clean(root))
	}
	total := ds.Info.TotalEpisodes
	var eps []int
	if episodes == "" {
		for i := range total {
			eps = append(eps, i)
		}
	} else {
		eps, err = parseIDs(episodes, max(total-1, 0))
		if err != nil {
			return inputErrf("demos import: --episodes: %v (the dataset has %d episodes)", err, total)
		}
	}
	if opt.Units == demos.UnitsRange && calib == "" {
		return inputErrf("demos import: --units range needs --calibration CAL.json (the arm's LeRobot calibration)")
	}
	if calib != "" { // degrees too: LeRobot's inverse about each range's middle
		f, err := os.Open(calib)
		if err != nil {
			return inputErrf("demos import: --calibration: %v", err)
		}
		cal, err := busarm.ReadLeRobotCalibration(f)
		f.Close()
		if err != nil {
			return inputErrf("demos import: %s: %v", calib, err)
		}
		g := map[string]bool{}
		for _, n := range strings.Split(zeroTo100, ",") {
			g[strings.TrimSpace(n)] = true
		}
		opt.Range = map[string]demos.RangeCal{}
		for _, m := range cal {
			opt.Range[m.Name] = demos.RangeCal{RangeMin: float64(m.RangeMin), RangeMax: float64(m.RangeMax), DriveMode: m.DriveMode, ZeroTo100: g[m.Name]}
		}
	}
	// Read every episode first: a bad one stores nothing.
	var got []*demos.Demo
	for _, ep := range eps {
		d, err := ds.Episode(ep, opt)
		if err != nil {
			return inputErr(err)
		}
		got = append(got, d)
	}
	now := time.Now()
	for i, d := range got {
		n := fmt.Sprintf("%s_ep%d", prefix, eps[i])
		sc, err := demos.ImportDemo(ddir, d, n, now, fmt.Sprintf("LeRobot dataset %s, episode %d, %s in %s", filepath.Base(root), eps[i], opt.Feature, opt.Units))
		if err != nil {
			return inputErr(err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "imported demo %s: %d samples, %.3g s, joints %s\n",
			sc.Name, sc.Samples, sc.DurationS, strings.Join(sc.Joints, ","))
	}
	return nil
}

func newDemosExportCmd() *cobra.Command {
	var (
		dir, out, units, robot, task string
		fps                          float64
	)
	c := &cobra.Command{
		Use:   "export NAME [NAME...] --lerobot DIR [--units degrees|radians] [--fps N] [--robot-type T] [--task TEXT]",
		Short: "Write stored demos as a LeRobot v2.1 dataset (state only, no video)",
		Long: "export writes the named demos of the data directory as a new LeRobot v2.1 dataset in\n" +
			"DIR: meta/info.json, episodes.jsonl, tasks.jsonl, episodes_stats.jsonl and one\n" +
			"Parquet file per demo with observation.state and action (the same values: a\n" +
			"demonstration has no separate command), resampled to --fps (default the first\n" +
			"demo's rate, rounded to whole frames per second), in degrees (LeRobot's use_degrees) or radians. DIR must not exist or\n" +
			"be empty.",
		Args: argsBad(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return inputErrf("demos export: --lerobot DIR is required (the only export format)")
			}
			ddir := filepath.Join(dir, daemon.DemosDir)
			var ds []*demos.Demo
			for _, n := range args {
				d, err := demos.ReadCSV(filepath.Join(ddir, n+".csv"))
				if err != nil {
					return inputErrf("demos export: demo %s: %v", n, err)
				}
				ds = append(ds, d)
			}
			if err := demos.WriteLeRobot(out, ds, demos.LeRobotExport{RobotType: robot, Task: task, Units: units, FPS: fps}); err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote LeRobot dataset %s: %d episodes\n", out, len(ds))
			return nil
		},
	}
	dataDirFlag(c, &dir)
	fl := c.Flags()
	fl.StringVar(&out, "lerobot", "", "dataset directory to write (required)")
	fl.StringVar(&units, "units", demos.UnitsDegrees, "units of the values written: degrees or radians")
	fl.Float64Var(&fps, "fps", 0, "frames per second (default the first demo's sample rate)")
	fl.StringVar(&robot, "robot-type", "praxis", "info.json robot_type, e.g. so101")
	fl.StringVar(&task, "task", "praxis demonstration", "the task text of every episode")
	return c
}
