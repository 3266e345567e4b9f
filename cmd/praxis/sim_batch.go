package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/seed"
	"github.com/praxis-robotics/praxis/internal/simrun"
	"github.com/praxis-robotics/praxis/skilllib"
)

// newSimBatchCmd is `praxis sim batch`: many simulated runs and their distribution.
func newSimBatchCmd() *cobra.Command {
	var (
		arm, reportJSON, bus string
		random               int
		seedN                uint64
		rate, tolerance      float64
	)
	cmd := &cobra.Command{
		Use:   "batch [SKILL.json ...] [--random N] [--seed S] [--arm so101] [--bus dynamixel|feetech] [--rate HZ] [--goal-tolerance RAD] [--report-json FILE]",
		Short: "Run skills on the simulated arm many times and report the distribution of outcomes",
		Long: "batch runs each skill (default: the seed skills wave, reach, pick_place) once at its own goal,\n" +
			"then --random more runs (default 50), each skill in turn to a random goal inside the joint\n" +
			"limits (10% away from them), as `praxis sim run` does, and prints the distribution of final\n" +
			"errors and of overtimes (duration past the plan and its approach), and of the runs' real\n" +
			"elapsed (wall) time and how far it goes past the plan and its approach. --report-json writes\n" +
			"every run's report (the keys of sim run's) and the summary. Exit status 1 when a run fails.\n\n" +
			"--bus dynamixel|feetech puts the arm behind that simulated servo bus on a pseudo-terminal\n" +
			"and runs the executor on the real driver (wire protocol, 4096-tick quantisation, bus\n" +
			"timing), at --rate 100 Hz unless given, in real time: one run after the other, each taking\n" +
			"about its duration.",
		RunE: func(cmd *cobra.Command, args []string) error {
			var skills []*skilllib.Skill
			for _, a := range args {
				s, err := skilllib.Load(a)
				if err != nil {
					return inputErr(err)
				}
				skills = append(skills, s)
			}
			if len(skills) == 0 {
				for _, n := range seed.Names() {
					s, err := seed.Learn(n, praxisVersion())
					if err != nil {
						return err
					}
					skills = append(skills, s)
				}
			}
			if random < 0 {
				return inputErrf("sim batch: --random %d: want 0 or more", random)
			}
			if bus != "" && bus != busarm.Dynamixel && bus != busarm.Feetech {
				return inputErrf("sim batch: --bus %q: want %s or %s", bus, busarm.Dynamixel, busarm.Feetech)
			}
			if !(tolerance >= 0) || math.IsInf(tolerance, 0) {
				return inputErrf("sim batch: --goal-tolerance %v: want a positive number of radians (0: the default, 0.01)", tolerance)
			}
			rep, err := simrun.Batch(cmd.Context(), simrun.BatchOptions{Skills: skills, Random: random, Seed: seedN, Arm: arm, Rate: rate, Bus: bus,
				GoalTolerance: tolerance})
			if err != nil {
				return inputErr(err)
			}
			if reportJSON != "" {
				if err := writeOutput(cmd, reportJSON, func(w io.Writer) error {
					e := json.NewEncoder(w)
					e.SetIndent("", "  ")
					return e.Encode(rep)
				}); err != nil {
					return err
				}
			}
			s := rep.Summary
			if s.Bus != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "bus %s\n", s.Bus)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "runs %d, succeeded %d\nfinal_error rad: p50 %.5f p95 %.5f max %.5f\ntrue_final_error rad: p50 %.5f p95 %.5f max %.5f\novertime s: p50 %.3f p95 %.3f max %.3f\n",
				s.Count, s.Succeeded, s.FinalError.P50, s.FinalError.P95, s.FinalError.Max,
				s.TrueFinalError.P50, s.TrueFinalError.P95, s.TrueFinalError.Max, s.Overtime.P50, s.Overtime.P95, s.Overtime.Max)
			fmt.Fprintf(cmd.OutOrStdout(), "wall s: p50 %.3f p95 %.3f max %.3f\nwall_overtime s: p50 %.3f p95 %.3f max %.3f\n",
				s.Wall.P50, s.Wall.P95, s.Wall.Max, s.WallOvertime.P50, s.WallOvertime.P95, s.WallOvertime.Max)
			if s.Succeeded != s.Count {
				return fmt.Errorf("sim batch: %d of %d runs did not succeed", s.Count-s.Succeeded, s.Count)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&arm, "arm", "so101", "so101, ur5, panda or a .urdf file")
	fl.IntVar(&random, "random", 50, "runs to random goals after the skills' own")
	fl.Uint64Var(&seedN, "seed", 1, "seed of the random goals")
	fl.StringVar(&bus, "bus", "", "run over a simulated servo bus: dynamixel or feetech (real time)")
	fl.Float64Var(&rate, "rate", 0, "control rate, Hz (default 500, or 100 over a bus)")
	fl.Float64Var(&tolerance, "goal-tolerance", 0, "the executor's goal tolerance, rad (default 0.01, as the daemon's executor.goal_tolerance)")
	fl.StringVar(&reportJSON, "report-json", "", "write every report and the summary as JSON here")
	return cmd
}
