package demos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/praxis-robotics/praxis/drivers/servo"
)

// LeRobot datasets (huggingface/lerobot, codebase v2.0 and v2.1): a directory with
// meta/info.json (fps, features with their names, data_path pattern), meta/episodes.jsonl,
// meta/tasks.jsonl and one Parquet file per episode at data_path, e.g.
// data/chunk-000/episode_000000.parquet, whose rows are frames with the columns
// observation.state and action (lists of float32, one value per motor), timestamp (s),
// frame_index, episode_index, index and task_index.

// ErrLeRobot: the directory is not a LeRobot dataset this package reads.
var ErrLeRobot = errors.New("demos: lerobot dataset")

// Units of a LeRobot feature's values.
const (
	UnitsDegrees = "degrees" // LeRobot's use_degrees (MotorNormMode.DEGREES): joint angle, °
	UnitsRadians = "radians" // already rad (or m)
	// UnitsRange is LeRobot's default normalisation: −100..100 over the calibrated range
	// (MotorNormMode.RANGE_M100_100), 0..100 for grippers (RANGE_0_100); converting it
	// needs the arm's LeRobot calibration (RangeCal per joint).
	UnitsRange = "range"
)

// LeRobotFeature is one entry of info.json's features.
type LeRobotFeature struct {
	Dtype string          `json:"dtype"`
	Shape []int           `json:"shape"`
	Names json.RawMessage `json:"names"`
}

// LeRobotInfo is meta/info.json (the fields this package uses or writes).
type LeRobotInfo struct {
	CodebaseVersion string                    `json:"codebase_version"`
	RobotType       string                    `json:"robot_type"`
	TotalEpisodes   int                       `json:"total_episodes"`
	TotalFrames     int                       `json:"total_frames"`
	TotalTasks      int                       `json:"total_tasks"`
	TotalVideos     int                       `json:"total_videos"`
	TotalChunks     int                       `json:"total_chunks"`
	ChunksSize      int                       `json:"chunks_size"`
	FPS             float64                   `json:"fps"`
	Splits          map[string]string         `json:"splits"`
	DataPath        string                    `json:"data_path"`
	VideoPath       *string                   `json:"video_path"`
	Features        map[string]LeRobotFeature `json:"features"`
}

// LeRobotDataset is an opened LeRobot dataset directory.
type LeRobotDataset struct {
	Root string
	Info LeRobotInfo
}

// OpenLeRobot reads root/meta/info.json and checks that it is a v2.x dataset with a
// data_path; errors wrap ErrLeRobot and say what is missing.
func OpenLeRobot(root string) (*LeRobotDataset, error) {
	b, err := os.ReadFile(filepath.Join(root, "meta", "info.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLeRobot, err)
	}
	d := &LeRobotDataset{Root: root}
	if err := json.Unmarshal(b, &d.Info); err != nil {
		return nil, fmt.Errorf("%w: meta/info.json: %v", ErrLeRobot, err)
	}
	v := d.Info.CodebaseVersion
	if !strings.HasPrefix(v, "v2.") {
		return nil, fmt.Errorf("%w: codebase_version %q: this reader knows the v2.x layout (one Parquet file per episode)", ErrLeRobot, v)
	}
	if d.Info.DataPath == "" {
		return nil, fmt.Errorf("%w: meta/info.json has no data_path", ErrLeRobot)
	}
	if !(d.Info.FPS > 0) {
		return nil, fmt.Errorf("%w: meta/info.json: fps %v", ErrLeRobot, d.Info.FPS)
	}
	if d.Info.ChunksSize <= 0 {
		d.Info.ChunksSize = 1000
	}
	return d, nil
}

// Names returns the motor names of a feature as LeRobot's dataset visualiser reads them
// (visualize_dataset_html.py): info.json features.<f>.names as a list; an object (such as
// {"motors": [...]}) gives its first entry's value, in file order, until a list; absent,
// null or empty names give generated ones, "<feature>_0", "<feature>_1", ... for the
// feature's shape. A ".pos" suffix (LeRobot's "shoulder_pan.pos") is dropped. Errors name
// the feature.
func (d *LeRobotDataset) Names(feature string) ([]string, error) {
	f, ok := d.Info.Features[feature]
	if !ok {
		return nil, fmt.Errorf("%w: no feature %q in meta/info.json", ErrLeRobot, feature)
	}
	names, err := firstList(f.Names)
	if err != nil {
		return nil, fmt.Errorf("%w: feature %q: names %s: %v", ErrLeRobot, feature, f.Names, err)
	}
	if len(names) == 0 {
		if len(f.Shape) != 1 || f.Shape[0] <= 0 {
			return nil, fmt.Errorf("%w: feature %q: no names and shape %v, want one dimension to name its values", ErrLeRobot, feature, f.Shape)
		}
		for i := range f.Shape[0] {
			names = append(names, feature+"_"+strconv.Itoa(i))
		}
		return names, nil
	}
	if len(f.Shape) == 1 && f.Shape[0] != len(names) {
		return nil, fmt.Errorf("%w: feature %q: %d names for shape %v", ErrLeRobot, feature, len(names), f.Shape)
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".pos")
	}
	return names, nil
}

// firstList decodes a names value: a list of strings, or an object whose first entry (in
// document order) is, recursively, such a value. Absent, null, [] and {} give nil.
func firstList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	switch raw[0] {
	case '[':
		var names []string
		if err := json.Unmarshal(raw, &names); err != nil {
			return nil, errors.New("want a list of motor names")
		}
		return names, nil
	case '{':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.Token() // {
		if !dec.More() {
			return nil, nil
		}
		if _, err := dec.Token(); err != nil { // the first key
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		return firstList(v)
	}
	return nil, errors.New("want a list of motor names or an object holding one")
}

// EpisodePath returns the Parquet file of episode ep (data_path with episode_chunk =
// ep / chunks_size and episode_index = ep filled in).
func (d *LeRobotDataset) EpisodePath(ep int) string {
	p := d.Info.DataPath
	p = strings.ReplaceAll(p, "{episode_chunk:03d}", fmt.Sprintf("%03d", ep/d.Info.ChunksSize))
	p = strings.ReplaceAll(p, "{episode_index:06d}", fmt.Sprintf("%06d", ep))
	return filepath.Join(d.Root, filepath.FromSlash(p))
}

// RangeCal is one joint's LeRobot calibration as the import needs it (the fields of a
// LeRobot calibration file, ticks): the range the normalisation spans and the drive mode.
// LeRobot's value is turned back into ticks with LeRobot's own inverse
// (lerobot/motors/motors_bus.py, _normalize), then into rad with the joint's
// servo.Calibration as `praxis bus calibrate --from-lerobot` configures the arm: zero at
// the middle of the range (rounded to a tick, as the driver does), direction −1 for
// drive mode 1.
type RangeCal struct {
	RangeMin, RangeMax float64 // ticks
	// DriveMode 1 inverts: the drive mode LeRobot applies in software (the file's
	// drive_mode on Feetech; 0 on Dynamixel, whose servos reverse themselves).
	DriveMode  int
	ZeroTo100  bool    // gripper: 0..100 (RANGE_0_100) rather than −100..100
	Resolution float64 // ticks per revolution; 0 means 4096
}

// Cal returns the joint's servo calibration: tick round((RangeMin+RangeMax)/2) at 0 rad.
func (c RangeCal) Cal() servo.Calibration {
	dir := 1
	if c.DriveMode == 1 {
		dir = -1
	}
	return servo.AtTick(int(math.Round((c.RangeMin+c.RangeMax)/2)), dir, int(c.Resolution))
}

// Radians converts a normalised LeRobot value (RANGE_M100_100, or RANGE_0_100 when
// ZeroTo100) to rad. LeRobot: norm = (ticks − min)/(max − min)·200 − 100, negated for
// drive mode 1 (0..100: ·100, and 100 − norm).
func (c RangeCal) Radians(v float64) float64 {
	var frac float64 // 0..1 of the range
	if c.ZeroTo100 {
		if c.DriveMode == 1 {
			v = 100 - v
		}
		frac = v / 100
	} else {
		if c.DriveMode == 1 {
			v = -v
		}
		frac = (v + 100) / 200
	}
	return c.Cal().RadiansAt(c.RangeMin + frac*(c.RangeMax-c.RangeMin))
}

// Degrees converts a LeRobot DEGREES value to rad. LeRobot: deg = (ticks − mid)·360 /
// (resolution − 1), mid = (min + max)/2, with no drive mode applied; a joint that LeRobot
// keeps in RANGE_0_100 even with use_degrees (the gripper: ZeroTo100) goes by Radians.
func (c RangeCal) Degrees(v float64) float64 {
	if c.ZeroTo100 {
		return c.Radians(v)
	}
	res := float64(c.Cal().Res())
	return c.Cal().RadiansAt((c.RangeMin+c.RangeMax)/2 + v*(res-1)/360)
}

// LeRobotImport says how to turn a LeRobot episode into a demo.
type LeRobotImport struct {
	Feature string // column to take positions from; default "observation.state"
	Units   string // UnitsDegrees (default), UnitsRadians or UnitsRange
	// Range is the calibration per joint name, required for UnitsRange. With UnitsDegrees
	// it is optional: a joint without one is taken as LeRobot's degrees of a 4096-tick
	// servo about its mid-range and unreversed, rad = deg·(4095/4096)·π/180.
	Range map[string]RangeCal
}

// Episode reads episode ep and returns it as a demo: joints named from the feature's
// names, t from the timestamp column (frame_index / fps when absent), positions converted
// to rad. Errors name the file and what is wrong.
func (d *LeRobotDataset) Episode(ep int, opt LeRobotImport) (*Demo, error) {
	if opt.Feature == "" {
		opt.Feature = "observation.state"
	}
	if opt.Units == "" {
		opt.Units = UnitsDegrees
	}
	names, err := d.Names(opt.Feature)
	if err != nil {
		return nil, err
	}
	conv := make([]func(float64) float64, len(names))
	for j, n := range names {
		switch opt.Units {
		case UnitsDegrees:
			conv[j] = opt.Range[n].Degrees // the zero RangeCal: mid-range tick 0, 4096 ticks
		case UnitsRadians:
			conv[j] = func(v float64) float64 { return v }
		case UnitsRange:
			c, ok := opt.Range[n]
			if !ok {
				return nil, fmt.Errorf("demos: lerobot: units %s: no calibration for joint %q", UnitsRange, n)
			}
			conv[j] = c.Radians
		default:
			return nil, fmt.Errorf("demos: lerobot: units %q: want %s, %s or %s", opt.Units, UnitsDegrees, UnitsRadians, UnitsRange)
		}
	}
	path := d.EpisodePath(ep)
	cols, err := readParquetColumns(path, opt.Feature, "timestamp", "frame_index")
	if err != nil {
		return nil, err
	}
	vals := cols[opt.Feature]
	if vals == nil {
		return nil, fmt.Errorf("demos: lerobot: %s: no column %q", path, opt.Feature)
	}
	demo := &Demo{Joints: names}
	for i, row := range vals {
		if len(row) != len(names) {
			return nil, fmt.Errorf("demos: lerobot: %s: frame %d: %d values in %s, want %d", path, i, len(row), opt.Feature, len(names))
		}
		var t float64
		switch {
		case cols["timestamp"] != nil && len(cols["timestamp"][i]) == 1:
			t = cols["timestamp"][i][0]
		case cols["frame_index"] != nil && len(cols["frame_index"][i]) == 1:
			t = cols["frame_index"][i][0] / d.Info.FPS
		default:
			t = float64(i) / d.Info.FPS
		}
		y := make([]float64, len(names))
		for j, v := range row {
			y[j] = conv[j](v)
		}
		demo.T = append(demo.T, t)
		demo.Y = append(demo.Y, y)
	}
	if err := demo.Validate(); err != nil {
		return nil, fmt.Errorf("demos: lerobot: %s: %w", path, err)
	}
	return demo, nil
}

// readParquetColumns returns, for each named top-level column present in the file, one
// []float64 per row (a list column gives its elements, a scalar column one value).
func readParquetColumns(path string, names ...string) (map[string][][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("demos: lerobot: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("demos: lerobot: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("demos: lerobot: %s: %w", path, err)
	}
	// Leaf column index → wanted top-level name.
	owner := map[int]string{}
	for i, p := range pf.Schema().Columns() {
		for _, n := range names {
			if len(p) > 0 && p[0] == n {
				owner[i] = n
			}
		}
	}
	out := map[string][][]float64{}
	for _, n := range owner {
		out[n] = make([][]float64, 0, pf.NumRows())
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	rows := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(rows)
		for _, row := range rows[:n] {
			cur := map[string][]float64{}
			for _, v := range row {
				name, ok := owner[v.Column()]
				if !ok {
					continue
				}
				if _, seen := cur[name]; !seen {
					cur[name] = []float64{}
				}
				if v.IsNull() {
					continue
				}
				x, ok := valueFloat(v)
				if !ok {
					return nil, fmt.Errorf("demos: lerobot: %s: column %q holds %v values, want numbers", path, name, v.Kind())
				}
				cur[name] = append(cur[name], x)
			}
			for name := range out {
				out[name] = append(out[name], cur[name])
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("demos: lerobot: %s: %w", path, err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}

func valueFloat(v parquet.Value) (float64, bool) {
	switch v.Kind() {
	case parquet.Float:
		return float64(v.Float()), true
	case parquet.Double:
		return v.Double(), true
	case parquet.Int32:
		return float64(v.Int32()), true
	case parquet.Int64:
		return float64(v.Int64()), true
	}
	return 0, false
}

// lerobotRow is one frame as LeRobot v2.1 stores it.
type lerobotRow struct {
	State        []float32 `parquet:"observation.state,list"`
	Action       []float32 `parquet:"action,list"`
	Timestamp    float32   `parquet:"timestamp"`
	FrameIndex   int64     `parquet:"frame_index"`
	EpisodeIndex int64     `parquet:"episode_index"`
	Index        int64     `parquet:"index"`
	TaskIndex    int64     `parquet:"task_index"`
}

// LeRobotExport configures WriteLeRobot.
type LeRobotExport struct {
	RobotType string // info.json robot_type; default "praxis"
	Task      string // the one task's text; default "praxis demonstration"
	Units     string // UnitsDegrees (default; LeRobot's, of a 4096-tick servo) or UnitsRadians
	// FPS of the dataset, a whole number as LeRobot's info.json has it; default the first
	// demo's sample rate rounded to a whole number. Demos are resampled to it.
	FPS float64
}

// WriteLeRobot writes ds as a new LeRobot v2.1 dataset in root (which must not exist or
// be empty): meta/info.json, meta/episodes.jsonl, meta/tasks.jsonl,
// meta/episodes_stats.jsonl and one Parquet file per demo, state only (no video);
// action repeats observation.state (a kinesthetic demo has no separate command). All
// demos must have the same joints.
func WriteLeRobot(root string, ds []*Demo, opt LeRobotExport) error {
	if len(ds) == 0 {
		return errors.New("demos: lerobot export: no demos")
	}
	if opt.RobotType == "" {
		opt.RobotType = "praxis"
	}
	if opt.Task == "" {
		opt.Task = "praxis demonstration"
	}
	// LeRobot's degrees of a 4096-tick servo zeroed mid-range: (ticks − mid)·360/4095,
	// the inverse of the import's (RangeCal.Degrees).
	scale := 180 / math.Pi * 4096 / 4095
	switch opt.Units {
	case "", UnitsDegrees:
		opt.Units = UnitsDegrees
	case UnitsRadians:
		scale = 1
	default:
		return fmt.Errorf("demos: lerobot export: units %q: want %s or %s", opt.Units, UnitsDegrees, UnitsRadians)
	}
	joints := ds[0].Joints
	for i, d := range ds {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("demos: lerobot export: demo %d: %w", i, err)
		}
		if strings.Join(d.Joints, ",") != strings.Join(joints, ",") {
			return fmt.Errorf("demos: lerobot export: demo %d has joints %v, demo 0 %v", i, d.Joints, joints)
		}
	}
	if opt.FPS == 0 {
		opt.FPS = max(1, math.Round(1/ds[0].SamplePeriod()))
	}
	if !(opt.FPS > 0) || math.IsInf(opt.FPS, 0) || opt.FPS != math.Trunc(opt.FPS) {
		return fmt.Errorf("demos: lerobot export: fps %v: want a whole number of frames per second (LeRobot's info.json fps is an integer)", opt.FPS)
	}
	if ents, err := os.ReadDir(root); err == nil && len(ents) > 0 {
		return fmt.Errorf("demos: lerobot export: %s is not empty", root)
	}
	if err := os.MkdirAll(filepath.Join(root, "meta"), 0o755); err != nil {
		return fmt.Errorf("demos: lerobot export: %w", err)
	}
	info := LeRobotInfo{
		CodebaseVersion: "v2.1", RobotType: opt.RobotType, TotalEpisodes: len(ds), TotalTasks: 1,
		TotalChunks: (len(ds)-1)/1000 + 1, ChunksSize: 1000, FPS: opt.FPS,
		Splits:   map[string]string{"train": "0:" + strconv.Itoa(len(ds))},
		DataPath: "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
	}
	names, _ := json.Marshal(joints)
	vec := LeRobotFeature{Dtype: "float32", Shape: []int{len(joints)}, Names: names}
	scalar := func(t string) LeRobotFeature {
		return LeRobotFeature{Dtype: t, Shape: []int{1}, Names: json.RawMessage("null")}
	}
	info.Features = map[string]LeRobotFeature{
		"observation.state": vec, "action": vec, "timestamp": scalar("float32"),
		"frame_index": scalar("int64"), "episode_index": scalar("int64"), "index": scalar("int64"), "task_index": scalar("int64"),
	}
	var episodes, stats bytes.Buffer
	index := int64(0)
	d0 := &LeRobotDataset{Root: root, Info: info}
	for ep, d := range ds {
		r, err := Resample(d, 1/opt.FPS)
		if err != nil {
			return fmt.Errorf("demos: lerobot export: demo %d: %w", ep, err)
		}
		rows := make([]lerobotRow, r.Len())
		st := newStats(len(joints))
		for i := range rows {
			v := make([]float32, len(joints))
			for j := range v {
				v[j] = float32(r.Y[i][j] * scale)
			}
			st.add(v)
			rows[i] = lerobotRow{State: v, Action: v, Timestamp: float32(float64(i) / opt.FPS),
				FrameIndex: int64(i), EpisodeIndex: int64(ep), Index: index, TaskIndex: 0}
			index++
		}
		path := d0.EpisodePath(ep)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("demos: lerobot export: %w", err)
		}
		var buf bytes.Buffer
		if err := parquet.Write(&buf, rows); err != nil {
			return fmt.Errorf("demos: lerobot export: episode %d: %w", ep, err)
		}
		if err := writeFileAtomic(path, buf.Bytes()); err != nil {
			return fmt.Errorf("demos: lerobot export: %w", err)
		}
		line, _ := json.Marshal(map[string]any{"episode_index": ep, "tasks": []string{opt.Task}, "length": len(rows)})
		episodes.Write(append(line, '\n'))
		line, _ = json.Marshal(map[string]any{"episode_index": ep, "stats": st.json(len(rows), ep, index-int64(len(rows)), opt.FPS)})
		stats.Write(append(line, '\n'))
		info.TotalFrames += len(rows)
	}
	infoJSON, _ := json.MarshalIndent(info, "", "    ")
	task, _ := json.Marshal(map[string]any{"task_index": 0, "task": opt.Task})
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"episodes.jsonl", episodes.Bytes()}, {"episodes_stats.jsonl", stats.Bytes()},
		{"tasks.jsonl", append(task, '\n')}, {"info.json", append(infoJSON, '\n')},
	} {
		if err := writeFileAtomic(filepath.Join(root, "meta", f.name), f.data); err != nil {
			return fmt.Errorf("demos: lerobot export: %w", err)
		}
	}
	return nil
}

// stats accumulates LeRobot's per-episode feature statistics (min, max, mean, std, count).
type stats struct {
	min, max, sum, sum2 []float64
	n                   int
}

func newStats(k int) *stats {
	s := &stats{min: make([]float64, k), max: make([]float64, k), sum: make([]float64, k), sum2: make([]float64, k)}
	for j := range k {
		s.min[j], s.max[j] = math.Inf(1), math.Inf(-1)
	}
	return s
}

func (s *stats) add(v []float32) {
	for j, x := range v {
		f := float64(x)
		s.min[j], s.max[j] = math.Min(s.min[j], f), math.Max(s.max[j], f)
		s.sum[j] += f
		s.sum2[j] += f * f
	}
	s.n++
}

func (s *stats) vec() map[string]any {
	mean, std := make([]float64, len(s.sum)), make([]float64, len(s.sum))
	for j := range s.sum {
		mean[j] = s.sum[j] / float64(s.n)
		std[j] = math.Sqrt(math.Max(0, s.sum2[j]/float64(s.n)-mean[j]*mean[j]))
	}
	return map[string]any{"min": s.min, "max": s.max, "mean": mean, "std": std, "count": []int{s.n}}
}

// json returns the episode's stats object: the state and action features and the
// scalar columns.
func (s *stats) json(n, ep int, first int64, fps float64) map[string]any {
	lin := func(a, b float64) map[string]any { // stats of a, a+1·d, ..., n values evenly spaced to b
		mean := (a + b) / 2
		var v float64
		if n > 1 {
			step := (b - a) / float64(n-1)
			v = step * step * float64(n*n-1) / 12
		}
		return map[string]any{"min": []float64{a}, "max": []float64{b}, "mean": []float64{mean}, "std": []float64{math.Sqrt(v)}, "count": []int{n}}
	}
	last := float64(n - 1)
	return map[string]any{
		"observation.state": s.vec(), "action": s.vec(),
		"timestamp":     lin(0, last/fps),
		"frame_index":   lin(0, last),
		"episode_index": lin(float64(ep), float64(ep)),
		"index":         lin(float64(first), float64(first)+last),
		"task_index":    lin(0, 0),
	}
}
