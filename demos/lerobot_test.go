package demos

import (
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// so100Info is meta/info.json of a LeRobot v2.1 SO-100 dataset as LeRobot documents the
// layout (lerobot/datasets: data_path pattern, features with dtype, shape and names).
const so100Info = `{
    "codebase_version": "v2.1",
    "robot_type": "so100",
    "total_episodes": 2,
    "total_frames": 8,
    "total_tasks": 1,
    "total_videos": 0,
    "total_chunks": 1,
    "chunks_size": 1000,
    "fps": 30,
    "splits": {"train": "0:2"},
    "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
    "video_path": null,
    "features": {
        "action": {"dtype": "float32", "shape": [3], "names": ["main_shoulder_pan", "main_shoulder_lift", "main_gripper"]},
        "observation.state": {"dtype": "float32", "shape": [3], "names": ["main_shoulder_pan", "main_shoulder_lift", "main_gripper"]},
        "timestamp": {"dtype": "float32", "shape": [1], "names": null},
        "frame_index": {"dtype": "int64", "shape": [1], "names": null},
        "episode_index": {"dtype": "int64", "shape": [1], "names": null},
        "index": {"dtype": "int64", "shape": [1], "names": null},
        "task_index": {"dtype": "int64", "shape": [1], "names": null}
    }
}`

// makeDataset writes a LeRobot dataset with the parquet library: info.json as given and
// episodes of 12 frames whose state is (10·k + ep, −20·k, 5·k) degrees at frame k.
func makeDataset(t *testing.T, info string, episodes int) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "meta", "info.json"), []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	idx := int64(0)
	for ep := range episodes {
		var rows []lerobotRow
		for k := range 12 {
			s := []float32{float32(10*k + ep), float32(-20 * k), float32(5 * k)}
			rows = append(rows, lerobotRow{State: s, Action: s, Timestamp: float32(k) / 30, FrameIndex: int64(k), EpisodeIndex: int64(ep), Index: idx})
			idx++
		}
		p := filepath.Join(root, "data", "chunk-000", "episode_00000"+string(rune('0'+ep))+".parquet")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := parquet.Write(f, rows); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return root
}

func TestLeRobotImportDegrees(t *testing.T) {
	d, err := OpenLeRobot(makeDataset(t, so100Info, 2))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.EpisodePath(1); !strings.HasSuffix(got, filepath.FromSlash("data/chunk-000/episode_000001.parquet")) {
		t.Fatalf("episode path %s", got)
	}
	demo, err := d.Episode(1, LeRobotImport{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(demo.Joints, ",") != "main_shoulder_pan,main_shoulder_lift,main_gripper" || demo.Len() != 12 {
		t.Fatalf("demo joints %v, %d samples", demo.Joints, demo.Len())
	}
	for k := range 12 {
		want := []float64{float64(10*k+1) * math.Pi / 180, float64(-20*k) * math.Pi / 180, float64(5*k) * math.Pi / 180}
		for j := range want {
			if math.Abs(demo.Y[k][j]-want[j]) > 1e-6 {
				t.Errorf("frame %d joint %d: %v rad, want %v", k, j, demo.Y[k][j], want[j])
			}
		}
		if math.Abs(demo.T[k]-float64(k)/30) > 1e-6 {
			t.Errorf("frame %d: t %v", k, demo.T[k])
		}
	}
}

func TestLeRobotImportRangeAndNames(t *testing.T) {
	info := strings.Replace(so100Info, `"names": ["main_shoulder_pan", "main_shoulder_lift", "main_gripper"]},
        "timestamp"`, `"names": {"motors": ["pan.pos", "lift.pos", "gripper.pos"]}},
        "timestamp"`, 1)
	d, err := OpenLeRobot(makeDataset(t, info, 1))
	if err != nil {
		t.Fatal(err)
	}
	rc := map[string]RangeCal{
		"pan":     {RangeMin: 1000, RangeMax: 3000},
		"lift":    {RangeMin: 1000, RangeMax: 3000, DriveMode: 1},
		"gripper": {RangeMin: 2000, RangeMax: 3000, ZeroTo100: true},
	}
	demo, err := d.Episode(0, LeRobotImport{Units: UnitsRange, Range: rc})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(demo.Joints, ",") != "pan,lift,gripper" {
		t.Fatalf("joints %v", demo.Joints)
	}
	// Frame 2: pan 20 → tick 2200 → (2200−2000)·2π/4096; lift −40 (inverted) → tick
	// 1000+0.7·2000 = 2400 → −(400)·2π/4096; gripper 10 → 2100 → (2100−2500)·2π/4096.
	k := 2 * math.Pi / 4096
	want := []float64{200 * k, -400 * k, -400 * k}
	for j, w := range want {
		if math.Abs(demo.Y[2][j]-w) > 1e-9 {
			t.Errorf("joint %s: %v rad, want %v", demo.Joints[j], demo.Y[2][j], w)
		}
	}
	if _, err := d.Episode(0, LeRobotImport{Units: UnitsRange}); err == nil || !strings.Contains(err.Error(), "pan") {
		t.Errorf("range without calibration: %v", err)
	}
}

func TestLeRobotExportRoundTrip(t *testing.T) {
	var ds []*Demo
	for ep := range 2 {
		d := &Demo{Joints: []string{"a", "b"}}
		for i := range 50 {
			tt := float64(i) * 0.01
			d.T = append(d.T, tt)
			d.Y = append(d.Y, []float64{math.Sin(tt) + float64(ep), -0.5 * tt})
		}
		ds = append(ds, d)
	}
	root := filepath.Join(t.TempDir(), "ds")
	if err := WriteLeRobot(root, ds, LeRobotExport{RobotType: "so101", Task: "wave"}); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLeRobot(root)
	if err != nil {
		t.Fatal(err)
	}
	if l.Info.FPS != 100 || l.Info.TotalEpisodes != 2 || l.Info.TotalFrames != 100 || l.Info.CodebaseVersion != "v2.1" {
		t.Fatalf("info %+v", l.Info)
	}
	for ep, want := range ds {
		got, err := l.Episode(ep, LeRobotImport{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Len() != want.Len() {
			t.Fatalf("episode %d: %d frames, want %d", ep, got.Len(), want.Len())
		}
		for i := range want.T {
			for j := range want.Joints {
				if math.Abs(got.Y[i][j]-want.Y[i][j]) > 1e-6 { // float32 degrees
					t.Fatalf("episode %d frame %d joint %d: %v, want %v", ep, i, j, got.Y[i][j], want.Y[i][j])
				}
			}
		}
	}
	// meta/episodes.jsonl, tasks.jsonl and episodes_stats.jsonl as LeRobot v2.1 reads them.
	f, err := os.Open(filepath.Join(root, "meta", "episodes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var e struct {
			EpisodeIndex int      `json:"episode_index"`
			Tasks        []string `json:"tasks"`
			Length       int      `json:"length"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.EpisodeIndex != n || e.Length != 50 || e.Tasks[0] != "wave" {
			t.Fatalf("episodes.jsonl line %d: %s (%v)", n, sc.Text(), err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d episodes listed", n)
	}
	b, err := os.ReadFile(filepath.Join(root, "meta", "episodes_stats.jsonl"))
	if err != nil || !strings.Contains(string(b), `"observation.state"`) {
		t.Fatalf("episodes_stats.jsonl: %v %s", err, b)
	}
	// Exporting over a non-empty directory is refused, nothing lost.
	if err := WriteLeRobot(root, ds, LeRobotExport{}); err == nil {
		t.Fatal("export over an existing dataset: want error")
	}
}

func TestLeRobotBadInput(t *testing.T) {
	if _, err := OpenLeRobot(t.TempDir()); !errors.Is(err, ErrLeRobot) {
		t.Errorf("empty dir: %v", err)
	}
	v3 := strings.Replace(so100Info, `"v2.1"`, `"v3.0"`, 1)
	if _, err := OpenLeRobot(makeDataset(t, v3, 1)); err == nil || !strings.Contains(err.Error(), "v3.0") {
		t.Errorf("v3.0: %v", err)
	}
	d, err := OpenLeRobot(makeDataset(t, so100Info, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Episode(5, LeRobotImport{}); err == nil {
		t.Error("missing episode: want error")
	}
	if _, err := d.Episode(0, LeRobotImport{Feature: "observation.images"}); !errors.Is(err, ErrLeRobot) {
		t.Errorf("unknown feature: %v", err)
	}
	if _, err := d.Episode(0, LeRobotImport{Units: "furlongs"}); err == nil {
		t.Error("unknown units: want error")
	}
}
