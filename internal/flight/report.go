package flight

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"
)

// JointSummary is one joint's figures over a recording.
type JointSummary struct {
	Joint string `json:"joint"`
	// MaxTrackingError is the max over samples of |Measured[k] − Planned[k−1]|: the
	// measurement against the plan the arm was following (the executor's tracking error;
	// the first sample is compared with its own plan), rad or m.
	MaxTrackingError float64 `json:"max_tracking_error"`
	// MaxCommandStep is the max over samples of |Command[k] − Command[k−1]|, rad or m per
	// sample.
	MaxCommandStep float64 `json:"max_command_step"`
}

// Summary is what `praxis flight show` prints.
type Summary struct {
	Header
	Start, End float64 // time of the first and last sample, s from the trigger
	Joints     []JointSummary
}

// Summarize computes r's summary; r must have passed Check.
func Summarize(r *Recording) Summary {
	s := Summary{Header: r.Header}
	if len(r.T) > 0 {
		s.Start, s.End = r.T[0], r.T[len(r.T)-1]
	}
	for i, j := range r.Joints {
		js := JointSummary{Joint: j}
		for k := range r.T {
			p := r.Planned[max(k-1, 0)][i]
			js.MaxTrackingError = max(js.MaxTrackingError, math.Abs(r.Measured[k][i]-p))
			if k > 0 {
				js.MaxCommandStep = max(js.MaxCommandStep, math.Abs(r.Command[k][i]-r.Command[k-1][i]))
			}
		}
		s.Joints = append(s.Joints, js)
	}
	return s
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// WriteText prints s for people, under a first line naming the file.
func (s Summary) WriteText(w io.Writer, file string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "flight recording\t%s\n", file)
	fmt.Fprintf(tw, "reason\t%s (trigger %s)\n", s.Reason, s.Trigger)
	if s.RunID != "" || s.Skill != "" {
		fmt.Fprintf(tw, "run\t%s (skill %s)\n", s.RunID, s.Skill)
	}
	if s.Robot != "" {
		fmt.Fprintf(tw, "robot\t%s\n", s.Robot)
	}
	fmt.Fprintf(tw, "time\t%s\n", s.Time.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(tw, "duration\t%s s (from %s s to %s s before the trigger)\n", num(s.Seconds), num(-s.Start), num(-s.End))
	fmt.Fprintf(tw, "samples\t%d at %s Hz\n", s.Samples, num(s.RateHz))
	fmt.Fprintf(tw, "\njoint\tmax tracking error (rad)\tmax command step (rad)\n")
	for _, j := range s.Joints {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", j.Joint, num(j.MaxTrackingError), num(j.MaxCommandStep))
	}
	return tw.Flush()
}

// CSVHeader is the CSV export's header: t, then for each joint <joint>_measured,
// <joint>_velocity, <joint>_planned, <joint>_command.
func CSVHeader(joints []string) []string {
	h := []string{"t"}
	for _, j := range joints {
		h = append(h, j+"_measured", j+"_velocity", j+"_planned", j+"_command")
	}
	return h
}

// WriteCSV exports r as CSV: the CSVHeader line, then one row per sample, t in s from
// the trigger, values in rad (or m) and rad/s, shortest exact decimal form.
func WriteCSV(w io.Writer, r *Recording) error {
	bw := bufio.NewWriter(w)
	for i, h := range CSVHeader(r.Joints) {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(h)
	}
	bw.WriteByte('\n')
	var buf []byte
	for k, t := range r.T {
		buf = strconv.AppendFloat(buf[:0], t, 'g', -1, 64)
		for i := range r.Joints {
			for _, v := range []float64{r.Measured[k][i], r.Velocity[k][i], r.Planned[k][i], r.Command[k][i]} {
				buf = append(buf, ',')
				buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
			}
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
