package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/simrun"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/skilllib"
)

// newSimRunCmd is `praxis sim run`: run a skill on the simulated arm faster than real
// time and report how it went (see docs/sim.md, "praxis sim run").
func newSimRunCmd() *cobra.Command {
	var (
		arm, goal, from, reportJSON, out string
		duration, rate                   float64
		perturbs                         []string
		openLoop                         bool
	)
	cmd := &cobra.Command{
		Use: "run SKILL.json [--arm so101|ur5|panda|FILE.urdf] [--goal ..] [--from ..] [--duration S] " +
			"[--perturb SPEC]... [--open-loop] [--rate HZ] [--report-json FILE] [-o TRACE.csv]",
		Short: "Run a skill on the simulated arm, faster than real time, and report the outcome",
		Long: "run executes the skill with the real executor on a simulated arm driven by a fake clock\n" +
			"(deterministic, faster than real time) and prints a summary; --report-json writes the report\n" +
			"(final_error, max_tracking_error, max_speed_ratio, limit_violations, duration, timing, ...).\n" +
			"Skill joints are matched by name to the arm's; other arm joints hold still. The arm starts at\n" +
			"the skill's start unless --from gives one value per arm joint (or name=value items).\n" +
			"--goal takes one value per skill joint or name=value items. A goal outside the joint limits\n" +
			"is refused (exit 2). --perturb KIND:key=value,.. (repeatable), e.g.\n" +
			"hold:joint=elbow_flex,at=0.4,for=0.5 (at: fraction of the duration, for: s).\n" +
			"-o writes a trace CSV: t,cmd_<arm joint>...,pos_<arm joint>... one row per command.\n" +
			"Exit status 1 when the run does not succeed.",
		Args: argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := skilllib.Load(args[0])
			if err != nil {
				return inputErr(err)
			}
			fl := cmd.Flags()
			o := simrun.Options{Skill: s, Arm: arm, OpenLoop: openLoop, Trace: out != ""}
			if fl.Changed("goal") {
				if o.Goal, err = parseJointList("--goal", goal, s.Joints, s.DMP.Goal); err != nil {
					return inputErrf("sim run: %w", err)
				}
			}
			if fl.Changed("duration") {
				if !(duration > 0) || math.IsInf(duration, 0) {
					return inputErrf("sim run: --duration %v: want a finite number of seconds > 0", duration)
				}
				o.Duration = duration
			}
			if fl.Changed("rate") {
				if !(rate > 0 && rate <= 1000) {
					return inputErrf("sim run: --rate %v: want Hz in (0, 1000]", rate)
				}
				o.Rate = rate
			}
			if fl.Changed("from") {
				// The arm's joints and the default start, to parse --from against.
				a, err := simarm.New(simarm.Config{Model: arm})
				if err != nil {
					return inputErrf("sim run: --arm %s: %w", arm, err)
				}
				js := a.Joints()
				_ = a.Close()
				names := joint.Names(js)
				def := make([]float64, len(js))
				for i, j := range js {
					def[i] = j.Limits.Clamp(0)
					if k := indexOf(s.Joints, j.Name); k >= 0 {
						def[i] = s.DMP.Start[k]
					}
				}
				if o.From, err = parseJointList("--from", from, names, def); err != nil {
					return inputErrf("sim run: %w", err)
				}
			}
			for _, spec := range perturbs {
				p, err := sim.ParsePerturbation(spec)
				if err != nil {
					return inputErrf("sim run: --perturb: %w", err)
				}
				o.Perturbations = append(o.Perturbations, p)
			}
			rep, tr, err := simrun.Run(cmd.Context(), o)
			if err != nil {
				if errors.Is(err, simrun.ErrBadInput) {
					return inputErrf("sim run: %w", err)
				}
				return fmt.Errorf("sim run: %w", err)
			}
			if reportJSON != "" {
				if err := writeOutput(cmd, reportJSON, func(w io.Writer) error {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					return enc.Encode(rep)
				}); err != nil {
					return err
				}
			}
			if out != "" {
				if err := writeOutput(cmd, out, tr.WriteCSV); err != nil {
					return err
				}
			}
			fmt.Fprint(cmd.OutOrStdout(), rep.Summary())
			if rep.Outcome != "succeeded" {
				return fmt.Errorf("sim run: %s %s: %s", rep.Skill, rep.Outcome, strings.TrimSpace(rep.Reason))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&arm, "arm", "so101", "simulated arm: so101, ur5, panda or a .urdf file")
	fl.StringVar(&goal, "goal", "", "goal, rad or m: q1,q2,.. in the skill's joint order, or name=value,.. (default: the skill's)")
	fl.StringVar(&from, "from", "", "initial arm position, rad or m: one value per ARM joint, or name=value,.. (default: the skill's start)")
	fl.Float64Var(&duration, "duration", 0, "run duration, s (default: the skill's)")
	fl.StringArrayVar(&perturbs, "perturb", nil, "perturbation KIND:key=value,.. (repeatable), e.g. hold:joint=elbow_flex,at=0.4,for=0.5")
	fl.BoolVar(&openLoop, "open-loop", false, "disable feedback correction (phase stopping, re-anchoring), for comparison")
	fl.Float64Var(&rate, "rate", 500, "control rate, Hz, in (0, 1000]")
	fl.StringVar(&reportJSON, "report-json", "", "write the report as JSON here")
	fl.StringVarP(&out, "output", "o", "", "write the trace CSV here")
	return cmd
}
