package demos

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Alignment defaults.
const (
	DefaultAlignDT   = 0.01 // s: demos are resampled to this period before warping
	DefaultAlignBand = 0.1  // Sakoe–Chiba band half-width, as a fraction of the longer demo
)

// AlignOptions configures Align. Zero fields take the defaults.
type AlignOptions struct {
	DT   float64 // resampling period before warping, s; default 0.01
	Band float64 // band half-width as a fraction of the longer demo, (0, 1]; default 0.1
}

// Spread is how far one aligned demo lies from the mean trajectory, per joint (rad or m).
type Spread struct {
	Mean []float64 // mean absolute distance over the phase
	Max  []float64 // largest absolute distance
}

// Alignment is a set of demos of one skill warped onto a common time base.
type Alignment struct {
	Joints    []string  // joint order of every aligned demo (that of demos[0])
	Phase     []float64 // common normalised time base, 0 to 1
	Duration  float64   // duration of the reference demo, s
	Reference int       // index of the reference: the demo of median duration
	Demos     []*Demo   // aligned demos, same order as given; T = Phase·Duration
	Mean      *Demo     // mean of the aligned demos
	Spread    []Spread  // per demo, distance from Mean
	Residual  []float64 // per demo, RMS joint-space distance to the reference after warping (rad or m)
	Durations []float64 // original durations, s
}

// Align warps every demo onto the reference (the median-duration demo) with dynamic time
// warping in a Sakoe–Chiba band (O(n·w) time and memory), after resampling each to
// opts.DT. Each aligned demo holds, per reference sample, the mean of the samples warped
// onto it. Demos must have the same joints (any order; output follows demos[0]); the
// error names the differing joints. Inputs are not modified.
func Align(demos []*Demo, opts AlignOptions) (*Alignment, error) {
	if opts.DT == 0 {
		opts.DT = DefaultAlignDT
	}
	if opts.Band == 0 {
		opts.Band = DefaultAlignBand
	}
	if !(opts.DT > 0) || !(opts.Band > 0 && opts.Band <= 1) {
		return nil, fmt.Errorf("demos: align: DT %v s and Band %v, want > 0 and (0, 1]", opts.DT, opts.Band)
	}
	if len(demos) == 0 {
		return nil, errors.New("demos: align: no demos")
	}
	joints := demos[0].Joints
	seqs := make([][][]float64, len(demos))
	durs := make([]float64, len(demos))
	for k, d := range demos {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("demos: align: demo %d: %w", k, err)
		}
		if err := sameJoints(joints, d.Joints); err != nil {
			return nil, fmt.Errorf("demos: align: demo %d: %w", k, err)
		}
		r, err := Resample(d, opts.DT)
		if err != nil {
			return nil, fmt.Errorf("demos: align: demo %d: %w", k, err)
		}
		idx := make([]int, len(joints))
		for j, name := range joints {
			idx[j] = slices.Index(d.Joints, name)
		}
		seq := make([][]float64, r.Len())
		for i, row := range r.Y {
			seq[i] = make([]float64, len(joints))
			for j, c := range idx {
				seq[i][j] = row[c]
			}
		}
		seqs[k] = seq
		durs[k] = d.Duration()
	}
	order := make([]int, len(demos))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return durs[order[a]] < durs[order[b]] })
	ref := order[(len(order)-1)/2]
	m := len(seqs[ref])
	nj := len(joints)

	a := &Alignment{
		Joints: append([]string(nil), joints...), Phase: make([]float64, m),
		Duration: durs[ref], Reference: ref, Durations: durs,
		Demos: make([]*Demo, len(demos)), Residual: make([]float64, len(demos)), Spread: make([]Spread, len(demos)),
	}
	for i := range a.Phase {
		a.Phase[i] = float64(i) / float64(m-1)
	}
	newDemo := func() *Demo {
		d := &Demo{Joints: append([]string(nil), joints...), T: make([]float64, m), Y: make([][]float64, m)}
		flat := make([]float64, m*nj)
		for i := range d.T {
			d.T[i] = a.Phase[i] * a.Duration
			d.Y[i] = flat[i*nj : (i+1)*nj : (i+1)*nj]
		}
		return d
	}
	for k, seq := range seqs {
		out := newDemo()
		if k == ref {
			for i := range seq {
				copy(out.Y[i], seq[i])
			}
		} else {
			w := int(math.Ceil(opts.Band * float64(max(m, len(seq)))))
			path := dtw(seqs[ref], seq, w)
			counts := make([]int, m)
			for _, p := range path {
				for j := range nj {
					out.Y[p[0]][j] += seq[p[1]][j]
				}
				counts[p[0]]++
			}
			for i := range out.Y {
				for j := range nj {
					out.Y[i][j] /= float64(counts[i])
				}
			}
		}
		var ss float64
		for i := range out.Y {
			ss += sqDist(out.Y[i], seqs[ref][i])
		}
		a.Residual[k] = math.Sqrt(ss / float64(m))
		a.Demos[k] = out
	}

	a.Mean = newDemo()
	for _, d := range a.Demos {
		for i := range d.Y {
			for j := range nj {
				a.Mean.Y[i][j] += d.Y[i][j] / float64(len(a.Demos))
			}
		}
	}
	for k, d := range a.Demos {
		s := Spread{Mean: make([]float64, nj), Max: make([]float64, nj)}
		for i := range d.Y {
			for j := range nj {
				e := math.Abs(d.Y[i][j] - a.Mean.Y[i][j])
				s.Mean[j] += e / float64(m)
				s.Max[j] = max(s.Max[j], e)
			}
		}
		a.Spread[k] = s
	}
	return a, nil
}

// sameJoints fails naming the joints one list has and the other lacks.
func sameJoints(want, have []string) error {
	var missing, extra []string
	for _, n := range want {
		if !slices.Contains(have, n) {
			missing = append(missing, n)
		}
	}
	for _, n := range have {
		if !slices.Contains(want, n) {
			extra = append(extra, n)
		}
	}
	if len(missing) > 0 || len(extra) > 0 || len(want) != len(have) {
		return fmt.Errorf("joints differ from demo 0's: lacks %q, has extra %q (demo 0: %q, this: %q)", missing, extra, want, have)
	}
	return nil
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// dtw returns the minimal-cost warping path between ref (rows) and q (columns) under
// Euclidean distance, as (ref index, q index) pairs from (0,0) to the last pair, with
// steps (1,0), (0,1), (1,1), restricted to |j − i·(n−1)/(m−1)| ≤ w.
func dtw(ref, q [][]float64, w int) [][2]int {
	m, n := len(ref), len(q)
	slope := float64(n-1) / float64(m-1)
	w = max(w, int(math.Ceil(slope))+1)
	width := 2*w + 1
	lo := make([]int, m)
	cost := make([]float64, m*width)
	for i := range cost {
		cost[i] = math.Inf(1)
	}
	at := func(i, j int) float64 {
		if i < 0 || j < 0 || j < lo[i] || j-lo[i] >= width {
			return math.Inf(1)
		}
		return cost[i*width+j-lo[i]]
	}
	for i := 0; i < m; i++ {
		c := int(math.Round(float64(i) * slope))
		lo[i] = max(0, c-w)
		hi := min(n-1, c+w)
		for j := lo[i]; j <= hi; j++ {
			d := math.Sqrt(sqDist(ref[i], q[j]))
			best := 0.0
			if i > 0 || j > 0 {
				best = min(at(i-1, j-1), at(i-1, j), at(i, j-1))
			}
			cost[i*width+j-lo[i]] = d + best
		}
	}
	path := make([][2]int, 0, m+n)
	i, j := m-1, n-1
	for {
		path = append(path, [2]int{i, j})
		if i == 0 && j == 0 {
			break
		}
		diag, up, left := at(i-1, j-1), at(i-1, j), at(i, j-1)
		switch {
		case diag <= up && diag <= left:
			i, j = i-1, j-1
		case up <= left:
			i--
		default:
			j--
		}
	}
	slices.Reverse(path)
	return path
}
