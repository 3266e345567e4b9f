package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/skilllib"
)

// newRolloutCmd is `praxis rollout`: integrate a skill offline and write the trajectory.
func newRolloutCmd() *cobra.Command {
	var (
		start, goal, out string
		duration, dt     float64
	)
	cmd := &cobra.Command{
		Use:   "rollout SKILL.json [--start q1,q2,..] [--goal q1,q2,..] [--duration S] [--dt S] [-o OUT.csv]",
		Short: "Integrate a skill offline and write the joint trajectory as CSV",
		Long: "rollout runs the skill's DMP from start to goal and writes positions as CSV\n" +
			"(header t,<joint names...>) to -o, or to stdout. Defaults: the demonstrated start,\n" +
			"goal and duration, and the demos' sample period. --start and --goal take either one\n" +
			"value per joint in the skill's order (0.1,-0.5,...) or name=value items\n" +
			"(elbow=1.2,wrist=0.3; other joints keep their default). A given --start starts at rest.",
		Args: argsBad(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := skilllib.Load(args[0])
			if err != nil {
				return inputErr(err)
			}
			fl := cmd.Flags()
			var startV, goalV []float64
			if fl.Changed("start") {
				if startV, err = parseJointList("--start", start, s.Joints, s.DMP.Start); err != nil {
					return inputErrf("rollout: %w", err)
				}
			}
			if fl.Changed("goal") {
				if goalV, err = parseJointList("--goal", goal, s.Joints, s.DMP.Goal); err != nil {
					return inputErrf("rollout: %w", err)
				}
			}
			if !fl.Changed("duration") {
				duration = s.DMP.Tau
			} else if !(duration > 0) || math.IsInf(duration, 0) {
				return inputErrf("rollout: --duration %v: want a finite number of seconds > 0", duration)
			}
			if !fl.Changed("dt") {
				dt = s.DT
			} else if !(dt > 0) || math.IsInf(dt, 0) {
				return inputErrf("rollout: --dt %v: want a finite number of seconds > 0", dt)
			}
			if dt > duration {
				return inputErrf("rollout: --dt %v s is longer than the duration %v s", dt, duration)
			}
			tr, err := s.DMP.Rollout(startV, goalV, duration, dt)
			if err != nil {
				if errors.Is(err, dmp.ErrInvalidArgument) {
					return inputErrf("rollout: %w", err)
				}
				return fmt.Errorf("rollout: %w", err)
			}
			return writeOutput(cmd, out, func(w io.Writer) error {
				return demos.WriteSamples(w, s.Joints, tr.T, tr.Pos)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&start, "start", "", "start positions, rad or m: q1,q2,.. in joint order, or name=value,.. (default: the demo's)")
	fl.StringVar(&goal, "goal", "", "goal positions, rad or m: q1,q2,.. in joint order, or name=value,.. (default: the demo's)")
	fl.Float64Var(&duration, "duration", 0, "duration, s (default: the demo's)")
	fl.Float64Var(&dt, "dt", 0, "sample period, s (default: the demo's)")
	fl.StringVarP(&out, "output", "o", "", "write the CSV here instead of stdout")
	return cmd
}

// parseJointList parses a --start/--goal value against the skill's joints: either one
// number per joint in order, or name=value items overriding def (rad or m). Errors name
// the flag and the 1-based item.
func parseJointList(flag, value string, joints []string, def []float64) ([]float64, error) {
	if strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("%s: empty list, want %d values (%s) or name=value items", flag, len(joints), strings.Join(joints, ","))
	}
	items := strings.Split(value, ",")
	named := strings.Contains(value, "=")
	var out []float64
	if named {
		if len(def) != len(joints) {
			return nil, fmt.Errorf("%s: the skill has no default for every joint; give all %d values", flag, len(joints))
		}
		out = append([]float64(nil), def...)
	} else if len(items) != len(joints) {
		return nil, fmt.Errorf("%s: %d values, want %d (one per joint: %s)", flag, len(items), len(joints), strings.Join(joints, ","))
	} else {
		out = make([]float64, len(joints))
	}
	seen := make(map[string]int)
	for i, item := range items {
		item = strings.TrimSpace(item)
		num, j := item, i
		if named {
			name, v, ok := strings.Cut(item, "=")
			if !ok {
				return nil, fmt.Errorf("%s item %d %q: want name=value (do not mix with plain values)", flag, i+1, item)
			}
			name = strings.TrimSpace(name)
			j = indexOf(joints, name)
			if j < 0 {
				return nil, fmt.Errorf("%s item %d: unknown joint %q (joints: %s)", flag, i+1, name, strings.Join(joints, ","))
			}
			if prev, dup := seen[name]; dup {
				return nil, fmt.Errorf("%s item %d: joint %q given twice (also item %d)", flag, i+1, name, prev)
			}
			seen[name] = i + 1
			num = strings.TrimSpace(v)
		}
		x, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return nil, fmt.Errorf("%s item %d: %q is not a number", flag, i+1, num)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s item %d: %q is not a finite number", flag, i+1, num)
		}
		out[j] = x
	}
	return out, nil
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}
