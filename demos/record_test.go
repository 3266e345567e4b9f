package demos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// fakeArm is a scripted arm: joint j is at script(t, j) at clock time t (s). Reads
// numbered in [failFrom, failTo) fail. It records commands.
type fakeArm struct {
	clk      *clock.Fake
	joints   []joint.Joint
	script   func(t float64, j int) float64
	stamp    time.Duration // when nonzero, State.Time = clock time + stamp
	mu       sync.Mutex
	reads    int
	failFrom int
	failTo   int
	cmds     [][]float64
}

var errFakeRead = errors.New("fake: bus timeout")

func newFakeArm(clk *clock.Fake, n int) *fakeArm {
	a := &fakeArm{clk: clk, script: func(t float64, j int) float64 { return math.Sin(t + float64(j)) }}
	for j := 0; j < n; j++ {
		a.joints = append(a.joints, joint.Joint{Name: fmt.Sprintf("j%d", j+1)})
	}
	return a
}

func (a *fakeArm) Joints() []joint.Joint { return a.joints }

func (a *fakeArm) Read(ctx context.Context, s *joint.State) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := a.reads
	a.reads++
	if i >= a.failFrom && i < a.failTo {
		return errFakeRead
	}
	now := a.clk.Now()
	t := now.Seconds()
	for j := range s.Pos {
		s.Pos[j] = a.script(t, j)
	}
	if a.stamp != 0 {
		s.Time = now + a.stamp
	}
	return nil
}

func (a *fakeArm) Command(ctx context.Context, c joint.Command) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cmds = append(a.cmds, append([]float64(nil), c.Pos...))
	return nil
}

// compliantArm adds drivers.Compliant and logs torque switches and commands in order.
type compliantArm struct {
	*fakeArm
	log []string
}

func (c *compliantArm) SetTorque(ctx context.Context, on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, fmt.Sprintf("torque %v", on))
	return nil
}

func (c *compliantArm) Command(ctx context.Context, cmd joint.Command) error {
	c.mu.Lock()
	c.log = append(c.log, "command")
	c.mu.Unlock()
	return c.fakeArm.Command(ctx, cmd)
}

type rig struct {
	dir string
	clk *clock.Fake
	ft  *FakeTicker
	rec *Recorder
}

func newRig(t *testing.T, arm Arm, clk *clock.Fake, mod func(*RecorderConfig)) *rig {
	t.Helper()
	r := &rig{dir: t.TempDir(), clk: clk}
	cfg := RecorderConfig{
		Dir: r.dir, Arm: arm, Robot: "test-arm", Clock: clk,
		NewTicker: func(p time.Duration) Ticker {
			if p != 10*time.Millisecond {
				t.Errorf("ticker period %v, want 10ms", p)
			}
			r.ft = NewFakeTicker(clk, p) // one per recording: Stop ends it
			return r.ft
		},
		Now: func() time.Time { return time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) },
	}
	if mod != nil {
		mod(&cfg)
	}
	rec, err := NewRecorder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.rec = rec
	return r
}

func TestRecorderRealTimestamps(t *testing.T) {
	clk := &clock.Fake{}
	clk.Set(5 * time.Second) // the epoch is arbitrary: t must start at 0
	arm := newFakeArm(clk, 3)
	r := newRig(t, arm, clk, nil)
	if err := r.rec.Start(context.Background(), "wave", Sidecar{Notes: "hello"}); err != nil {
		t.Fatal(err)
	}
	var want []float64
	for i := 0; i < 50; i++ {
		if i%7 == 3 {
			clk.Advance(3 * time.Millisecond) // jitter: t must follow the clock, not i/rate
		}
		if got := r.ft.Tick(1); got != 1 {
			t.Fatalf("tick %d delivered %d", i, got)
		}
		want = append(want, (clk.Now() - 5*time.Second - 10*time.Millisecond).Seconds())
	}
	if n, secs := r.rec.Progress(); n != 50 || secs != want[49] {
		t.Errorf("Progress = %d, %v; want 50, %v", n, secs, want[49])
	}
	res, err := r.rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 50 || res.ReadErrors != 0 || res.Dropped != 0 || res.Path != filepath.Join(r.dir, "wave.csv") {
		t.Errorf("result %+v", res)
	}
	if res.Duration != time.Duration(math.Round(want[49]*1e9)) {
		t.Errorf("duration %v, want %v s", res.Duration, want[49])
	}
	d, err := ReadCSV(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Joints, ",") != "j1,j2,j3" || d.Len() != 50 {
		t.Fatalf("demo joints %v, %d samples", d.Joints, d.Len())
	}
	for i, ti := range d.T {
		if ti != want[i] {
			t.Fatalf("t[%d] = %v, want %v", i, ti, want[i])
		}
		abs := ti + 5.01
		for j := range 3 {
			if got, w := d.Y[i][j], math.Sin(abs+float64(j)); math.Abs(got-w) > 1e-12 {
				t.Fatalf("y[%d][%d] = %v, want %v", i, j, got, w)
			}
		}
	}
	sc, err := ReadSidecar(res.Sidecar)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Samples != 50 || sc.DurationS != want[49] || sc.RateHz != 100 || sc.Robot != "test-arm" ||
		sc.Notes != "hello" || sc.Source != SourceRecorded || sc.Name != "wave" || sc.Recovered ||
		!sc.Started.Equal(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("sidecar %+v", sc)
	}
	left, _ := filepath.Glob(filepath.Join(r.dir, "*.part"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if r.rec.Done() != nil {
		t.Error("Done not nil after Stop")
	}
	if _, err := r.rec.Stop(); !errors.Is(err, ErrNotRecording) {
		t.Errorf("second Stop: %v", err)
	}
}

func TestRecorderUsesArmTimestampsAndSkipsRepeats(t *testing.T) {
	clk := &clock.Fake{}
	arm := newFakeArm(clk, 2)
	arm.stamp = time.Hour
	r := newRig(t, arm, clk, nil)
	if err := r.rec.Start(context.Background(), "stamped", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	r.ft.Tick(20)
	// The arm answers with the same sample twice: the repeat is skipped.
	r.ft.Period = 0
	r.ft.Tick(1)
	r.ft.Period = 10 * time.Millisecond
	r.ft.Tick(10)
	res, err := r.rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 30 || res.Duplicates != 1 {
		t.Errorf("samples %d duplicates %d, want 30 and 1", res.Samples, res.Duplicates)
	}
	d, err := ReadCSV(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if d.T[0] != 0 || math.Abs(d.T[29]-0.29) > 1e-12 {
		t.Errorf("t from %v to %v, want 0 to 0.29", d.T[0], d.T[29])
	}
}

func TestRecorderRefusesExistingName(t *testing.T) {
	clk := &clock.Fake{}
	r := newRig(t, newFakeArm(clk, 1), clk, nil)
	for _, f := range []string{"a.csv", "b.csv.part", "c.json"} {
		if err := os.WriteFile(filepath.Join(r.dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		err := r.rec.Start(context.Background(), name, Sidecar{})
		if !errors.Is(err, ErrExists) {
			t.Errorf("Start(%q) = %v, want ErrExists", name, err)
		}
	}
	for _, name := range []string{"", "../x", ".hidden", "a b", "x.csv"} {
		if err := r.rec.Start(context.Background(), name, Sidecar{}); err == nil {
			t.Errorf("Start(%q) accepted a bad name", name)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(r.dir, "a.csv")); string(b) != "x" {
		t.Error("existing demo changed")
	}
	if err := r.rec.Start(context.Background(), "ok", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	if err := r.rec.Start(context.Background(), "other", Sidecar{}); !errors.Is(err, ErrRecording) {
		t.Errorf("second Start: %v, want ErrRecording", err)
	}
	r.ft.Tick(12)
	if _, err := r.rec.Stop(); err != nil {
		t.Fatal(err)
	}
	// A finished demo's name is taken too.
	if err := r.rec.Start(context.Background(), "ok", Sidecar{}); !errors.Is(err, ErrExists) {
		t.Errorf("Start over a finished demo: %v", err)
	}
}

func TestRecorderTooShortKeepsNothing(t *testing.T) {
	clk := &clock.Fake{}
	r := newRig(t, newFakeArm(clk, 1), clk, nil)
	if err := r.rec.Start(context.Background(), "short", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	r.ft.Tick(MinSamples - 1)
	if _, err := r.rec.Stop(); !errors.Is(err, ErrTooShort) {
		t.Fatalf("Stop = %v, want ErrTooShort", err)
	}
	ents, _ := os.ReadDir(r.dir)
	if len(ents) != 0 {
		t.Errorf("left %d files", len(ents))
	}
}

func TestRecorderReadErrors(t *testing.T) {
	clk := &clock.Fake{}
	arm := newFakeArm(clk, 2)
	arm.failFrom, arm.failTo = 5, 8 // three in a row: counted, not fatal
	r := newRig(t, arm, clk, func(c *RecorderConfig) { c.MaxReadErrors = 4 })
	if err := r.rec.Start(context.Background(), "flaky", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	r.ft.Tick(30)
	select {
	case <-r.rec.Done():
		t.Fatal("recording ended on non-fatal read errors")
	default:
	}
	res, err := r.rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 27 || res.ReadErrors != 3 || !errors.Is(res.LastReadErr, errFakeRead) {
		t.Errorf("samples %d read errors %d last %v; want 27, 3, fake error", res.Samples, res.ReadErrors, res.LastReadErr)
	}

	// Four in a row end the recording, which is kept.
	arm.reads, arm.failFrom, arm.failTo = 0, 20, 1000
	if err := r.rec.Start(context.Background(), "dead", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	if n := r.ft.Tick(100); n != 24 {
		t.Errorf("ticker delivered %d ticks before the recorder stopped, want 24", n)
	}
	<-r.rec.Done()
	res, err = r.rec.Stop()
	if !errors.Is(err, ErrReadFailures) || !strings.Contains(err.Error(), "bus timeout") {
		t.Fatalf("Stop = %v, want ErrReadFailures naming the cause", err)
	}
	if res.Samples != 20 || res.Path != filepath.Join(r.dir, "dead.csv") {
		t.Errorf("result %+v", res)
	}
	if d, err := ReadCSV(res.Path); err != nil || d.Len() != 20 {
		t.Errorf("kept demo: %v", err)
	}
}

func TestRecorderContextCancelKeeps(t *testing.T) {
	clk := &clock.Fake{}
	r := newRig(t, newFakeArm(clk, 1), clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.rec.Start(ctx, "cancelled", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	r.ft.Tick(15)
	cancel()
	<-r.rec.Done()
	res, err := r.rec.Stop()
	if err != nil || res.Samples != 15 {
		t.Fatalf("Stop = %+v, %v", res, err)
	}
}

func TestKinestheticTeaching(t *testing.T) {
	clk := &clock.Fake{}
	arm := &compliantArm{fakeArm: newFakeArm(clk, 2)}
	r := newRig(t, arm, clk, func(c *RecorderConfig) { c.Kinesthetic = true })
	if err := r.rec.Start(context.Background(), "taught", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(arm.log, "|"); got != "torque false" {
		t.Fatalf("after Start: %q, want torque off", got)
	}
	r.ft.Tick(40)
	res, err := r.rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(arm.log, "|"); got != "torque false|torque true|command" {
		t.Errorf("calls %q, want torque off, torque on, hold", got)
	}
	// The hold command is the position measured at the end.
	tEnd := clk.Now().Seconds()
	if len(arm.cmds) != 1 || arm.cmds[0][0] != math.Sin(tEnd) || arm.cmds[0][1] != math.Sin(tEnd+1) {
		t.Errorf("hold %v, want [sin(%v) sin(%v)]", arm.cmds, tEnd, tEnd+1)
	}
	if res.Teaching != TeachingKinesthetic || res.TorqueNote != "" {
		t.Errorf("teaching %q note %q", res.Teaching, res.TorqueNote)
	}
	if sc, err := ReadSidecar(res.Sidecar); err != nil || sc.Teaching != TeachingKinesthetic {
		t.Errorf("sidecar teaching: %v %v", sc, err)
	}
}

func TestKinestheticTeachingRestoresTorqueOnReadFailure(t *testing.T) {
	clk := &clock.Fake{}
	arm := &compliantArm{fakeArm: newFakeArm(clk, 1)}
	arm.failFrom, arm.failTo = 15, 1<<30
	r := newRig(t, arm, clk, func(c *RecorderConfig) { c.Kinesthetic = true; c.MaxReadErrors = 2 })
	if err := r.rec.Start(context.Background(), "t2", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	r.ft.Tick(100)
	<-r.rec.Done()
	res, err := r.rec.Stop()
	if !errors.Is(err, ErrReadFailures) {
		t.Fatalf("Stop: %v", err)
	}
	if got := strings.Join(arm.log, "|"); got != "torque false|torque true|command" {
		t.Errorf("calls %q", got)
	}
	// The fresh read failed: hold at the last recorded sample.
	if want := math.Sin(0.15); len(arm.cmds) != 1 || arm.cmds[0][0] != want {
		t.Errorf("hold %v, want %v", arm.cmds, want)
	}
	if res.Samples != 15 {
		t.Errorf("samples %d", res.Samples)
	}
}

func TestLeaderArmRecordsWithoutTorqueControl(t *testing.T) {
	clk := &clock.Fake{}
	arm := newFakeArm(clk, 2) // no SetTorque
	r := newRig(t, arm, clk, func(c *RecorderConfig) { c.Kinesthetic = true })
	if err := r.rec.Start(context.Background(), "leader", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	r.ft.Tick(20)
	res, err := r.rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 20 || res.Teaching != TeachingLeader || !strings.Contains(res.TorqueNote, "leader") {
		t.Errorf("result %+v", res)
	}
	if len(arm.cmds) != 0 {
		t.Errorf("leader arm was commanded: %v", arm.cmds)
	}
	if sc, _ := ReadSidecar(res.Sidecar); sc == nil || sc.Teaching != TeachingLeader {
		t.Errorf("sidecar %+v", sc)
	}
}

func TestRecorderSyncsEverySecondAndRecovers(t *testing.T) {
	clk := &clock.Fake{}
	synced := make(chan int, 100)
	r := newRig(t, newFakeArm(clk, 3), clk, func(c *RecorderConfig) {
		c.onSync = func(n int, _ float64) { synced <- n }
	})
	if err := r.rec.Start(context.Background(), "crash", Sidecar{Notes: "n"}); err != nil {
		t.Fatal(err)
	}
	r.ft.Tick(150) // 1.5 s
	if n := <-synced; n < 100 || n > 102 {
		t.Fatalf("first fsync after %d samples, want about 1 s = 101", n)
	}
	// Simulate a crash: what is on disk now, plus a torn line, is all there is.
	part, err := os.ReadFile(filepath.Join(r.dir, "crash.csv.part"))
	if err != nil {
		t.Fatal(err)
	}
	sidecar, err := os.ReadFile(filepath.Join(r.dir, "crash.json.part"))
	if err != nil {
		t.Fatal(err)
	}
	crashed := t.TempDir()
	torn := append(bytes.Clone(part), "1.51,0.99"...)
	os.WriteFile(filepath.Join(crashed, "crash.csv.part"), torn, 0o644)
	os.WriteFile(filepath.Join(crashed, "crash.json.part"), sidecar, 0o644)
	// A finished demo and other debris that Recover must leave alone.
	finished := "t,a\n" + strings.Repeat("0,0\n", 1) + "x\n"
	os.WriteFile(filepath.Join(crashed, "done.csv"), []byte(finished), 0o644)
	os.WriteFile(filepath.Join(crashed, "done.csv.part"), part, 0o644)
	os.WriteFile(filepath.Join(crashed, "tiny.csv.part"), []byte("t,a\n0,1\n0.01,2\n"), 0o644)

	got, err := Recover(crashed)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("recovered %+v", got)
	}
	c, done, tiny := got[0], got[1], got[2]
	if c.Name != "crash" || c.Err != nil || c.Samples < 100 || c.DroppedBytes != len("1.51,0.99") {
		t.Errorf("crash: %+v", c)
	}
	if !errors.Is(done.Err, ErrExists) || tiny.Err != nil || !tiny.Removed || tiny.Path != "" {
		t.Errorf("done: %+v; tiny: %+v", done, tiny)
	}
	if _, err := os.Stat(filepath.Join(crashed, "tiny.csv.part")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tiny.csv.part not removed: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(crashed, "done.csv")); string(b) != finished {
		t.Error("Recover touched a finished demo")
	}
	d, err := ReadCSV(filepath.Join(crashed, "crash.csv"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ReadSidecar(filepath.Join(crashed, "crash.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Recovered || sc.Samples != d.Len() || sc.Notes != "n" || sc.Robot != "test-arm" || sc.DurationS != d.Duration() {
		t.Errorf("recovered sidecar %+v", sc)
	}
	if _, err := os.Stat(filepath.Join(crashed, "crash.json.part")); !os.IsNotExist(err) {
		t.Error("crash.json.part left behind")
	}
	// The live recording is unaffected and finishes with all samples.
	res, err := r.rec.Stop()
	if err != nil || res.Samples != 150 {
		t.Fatalf("Stop = %+v, %v", res, err)
	}
	full, err := ReadCSV(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.T {
		if d.T[i] != full.T[i] || d.Y[i][2] != full.Y[i][2] {
			t.Fatalf("recovered row %d differs from the full recording", i)
		}
	}
}

func TestRecoverWithoutSidecar(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("t,a,b\n")
	for i := range 20 {
		fmt.Fprintf(&b, "%v,%v,%v\n", float64(i)*0.01, i, -i)
	}
	b.WriteString("0.2,1,\x00\x00\x00\n") // garbage after a crash: dropped
	b.WriteString("0.21,1,2\n")
	os.WriteFile(filepath.Join(dir, "x.csv.part"), []byte(b.String()), 0o644)
	got, err := Recover(dir)
	if err != nil || len(got) != 1 || got[0].Err != nil || got[0].Samples != 20 {
		t.Fatalf("Recover = %+v, %v", got, err)
	}
	sc, err := ReadSidecar(filepath.Join(dir, "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(sc.RateHz-100) > 1e-6 || sc.Samples != 20 || !sc.Recovered || strings.Join(sc.Joints, ",") != "a,b" {
		t.Errorf("sidecar %+v", sc)
	}
}

func TestNewRecorderValidates(t *testing.T) {
	dir := t.TempDir()
	arm := newFakeArm(&clock.Fake{}, 1)
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	cases := []struct {
		field string
		cfg   RecorderConfig
	}{
		{"Dir", RecorderConfig{Arm: arm}},
		{"Dir", RecorderConfig{Dir: file, Arm: arm}},
		{"Dir", RecorderConfig{Dir: filepath.Join(dir, "nope"), Arm: arm}},
		{"Arm", RecorderConfig{Dir: dir}},
		{"Rate", RecorderConfig{Dir: dir, Arm: arm, Rate: 1001}},
		{"Rate", RecorderConfig{Dir: dir, Arm: arm, Rate: -1}},
		{"SyncEvery", RecorderConfig{Dir: dir, Arm: arm, SyncEvery: 2 * time.Second}},
		{"MaxReadErrors", RecorderConfig{Dir: dir, Arm: arm, MaxReadErrors: -1}},
		{"Buffer", RecorderConfig{Dir: dir, Arm: arm, Buffer: time.Millisecond}},
	}
	for _, c := range cases {
		_, err := NewRecorder(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: err = %v", c.field, err)
		}
	}
	r, err := NewRecorder(RecorderConfig{Dir: dir, Arm: arm})
	if err != nil || r.cfg.Rate != 100 || r.cfg.SyncEvery != time.Second || r.cfg.MaxReadErrors != 10 {
		t.Errorf("defaults: %+v %v", r, err)
	}
}

func TestTickAllocatesNothing(t *testing.T) {
	clk := &clock.Fake{}
	cfg := RecorderConfig{Dir: t.TempDir(), Arm: newFakeArm(clk, 7), Rate: 1000, Clock: clk, SyncEvery: time.Second, Buffer: 2 * time.Second, MaxReadErrors: 10}
	rec, err := newRecording(cfg, "a", filepath.Join(cfg.Dir, "a"), Sidecar{Joints: joint.Names(cfg.Arm.Joints())})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.f.Close()
	ctx := context.Background()
	allocs := testing.AllocsPerRun(500, func() {
		clk.Advance(time.Millisecond)
		if !rec.tick(ctx) {
			t.Fatal("tick failed")
		}
	})
	if allocs != 0 {
		t.Errorf("tick allocates %v times", allocs)
	}
	if rec.count.Load() != 501 {
		t.Errorf("count %d", rec.count.Load())
	}
	// A full ring drops samples and counts them rather than blocking the sampler.
	cfg.Buffer, cfg.Rate = 100*time.Millisecond, 100
	small, err := newRecording(cfg, "b", filepath.Join(cfg.Dir, "b"), Sidecar{Joints: joint.Names(cfg.Arm.Joints())})
	if err != nil {
		t.Fatal(err)
	}
	defer small.f.Close()
	for range 12 {
		clk.Advance(10 * time.Millisecond)
		small.tick(ctx)
	}
	if small.head.Load() != 10 || small.dropped != 2 {
		t.Errorf("ring holds %d, dropped %d; want 10 and 2", small.head.Load(), small.dropped)
	}
	buf := make([]byte, 0, 4096)
	row := []float64{0.123, 1.0 / 3, -2e-9, 4, 5, 6, 7, 8}
	if a := testing.AllocsPerRun(100, func() { buf = appendRow(buf[:0], row) }); a != 0 {
		t.Errorf("appendRow allocates %v times", a)
	}
	if got := string(buf); got != "0.123,0.3333333333333333,-2e-09,4,5,6,7,8\n" {
		t.Errorf("row %q", got)
	}
}

func TestRecorderRealTicker(t *testing.T) {
	arm := &realArm{n: 2, clk: clock.NewReal()}
	synced := make(chan int, 100)
	rec, err := NewRecorder(RecorderConfig{
		Dir: t.TempDir(), Arm: arm, Clock: arm.clk, SyncEvery: 100 * time.Millisecond,
		onSync: func(n int, _ float64) { synced <- n },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(context.Background(), "real", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 30; n = <-synced {
	}
	res, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ReadCSV(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	// Real 100 Hz ticks: the median interval is 10 ms within timer slack.
	if p := d.SamplePeriod(); math.Abs(p-0.01) > 0.002 {
		t.Errorf("median period %v s, want 0.01", p)
	}
}

// realArm reads the real clock; nothing else.
type realArm struct {
	n   int
	clk *clock.Real
}

func (a *realArm) Joints() []joint.Joint {
	js := make([]joint.Joint, a.n)
	for i := range js {
		js[i].Name = fmt.Sprintf("q%d", i)
	}
	return js
}

func (a *realArm) Read(ctx context.Context, s *joint.State) error {
	for i := range s.Pos {
		s.Pos[i] = a.clk.Now().Seconds()
	}
	return nil
}

var _ drivers.Compliant = (*compliantArm)(nil)

// TestRecoverKilledAtStart: a recording killed within its first moments (header, a few
// rows, the pending sidecar) leaves nothing usable; recovery removes it so the name can
// be recorded again, instead of blocking it as "already exists" without listing it.
func TestRecoverKilledAtStart(t *testing.T) {
	clk := &clock.Fake{}
	arm := newFakeArm(clk, 2)
	r := newRig(t, arm, clk, nil)
	if err := r.rec.Start(context.Background(), "early", Sidecar{}); err != nil {
		t.Fatal(err)
	}
	r.ft.Tick(3)
	// What a kill -9 leaves on disk now: copy the directory as it is.
	crashed := t.TempDir()
	ents, _ := os.ReadDir(r.dir)
	var names []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(r.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(crashed, e.Name()), b, 0o644)
		names = append(names, e.Name())
	}
	r.rec.Stop() // too short to keep: refused, and removed by the recorder itself
	if !slices.Contains(names, "early.csv.part") || !slices.Contains(names, "early.json.part") {
		t.Fatalf("files of a starting recording: %v", names)
	}
	os.WriteFile(filepath.Join(crashed, "orphan.json.part"), []byte("{}"), 0o644)
	got, err := Recover(crashed)
	if err != nil || len(got) != 1 || !got[0].Removed || got[0].Err != nil || got[0].Path != "" {
		t.Fatalf("Recover = %+v, %v", got, err)
	}
	if left, _ := os.ReadDir(crashed); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	rec, err := NewRecorder(RecorderConfig{Dir: crashed, Arm: arm, Clock: clk,
		NewTicker: func(p time.Duration) Ticker { return NewFakeTicker(clk, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(context.Background(), "early", Sidecar{}); err != nil {
		t.Fatalf("the name stays blocked: %v", err)
	}
	rec.Stop()
}
