package ctlproc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/seed"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// The test binary is also the child: started with the argument below it serves a
// simulated SO-101 on the real clock (its model named by the arm configuration).
const childArg = "ctlproc-test-child"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		err := Serve(func(ctx context.Context, cfg []byte) (drivers.Arm, error) {
			if string(cfg) == "fail" {
				return nil, errors.New("no such arm")
			}
			if string(cfg) == "stats" { // a bus arm's counters, fixed
				a, err := simarm.New(simarm.Config{})
				return statsArm{a}, err
			}
			return simarm.New(simarm.Config{Model: string(cfg)})
		})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == parentArg {
		// A parent that starts a control process, prints its pid and waits to be killed.
		exe, _ := os.Executable()
		p, err := Start(context.Background(), Options{Path: exe, Args: []string{childArg}, Arm: []byte("so101"), Exec: ExecConfig{Rate: 100}})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		fmt.Println(p.Pid())
		runtime.GC() // the forking thread must outlive whatever the runtime does meanwhile
		select {}
	}
	os.Exit(m.Run())
}

const parentArg = "ctlproc-test-parent"

// TestChildDiesWithParent: a daemon killed with SIGKILL (no chance to close anything)
// takes its control process with it, so no loop outlives the daemon that commands it.
func TestChildDiesWithParent(t *testing.T) {
	exe, _ := os.Executable()
	parent := exec.Command(exe, parentArg)
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil || pid <= 0 {
		parent.Process.Kill()
		t.Fatalf("parent printed no child pid: %v", err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("control process %d not running: %v", pid, err)
	}
	parent.Process.Kill()
	parent.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return // gone (reaped by init)
		}
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(b), ") Z ") {
			return // a zombie: dead, waiting for init to reap it
		}
		if time.Now().After(deadline) {
			t.Fatalf("control process %d still alive 10 s after its parent was killed", pid)
		}
	}
}

func start(t *testing.T, events chan motion.Event) *Proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), Options{Path: exe, Args: []string{childArg}, Arm: []byte("so101"),
		Exec: ExecConfig{Rate: 200, FlightSeconds: 2}, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func request(t *testing.T, id string) motion.Request {
	t.Helper()
	sk, err := seed.Learn("wave", "test")
	if err != nil {
		t.Fatal(err)
	}
	return motion.Request{ID: id, Skill: &sk.DMP, Joints: sk.Joints, Duration: 1}
}

// TestRunInChild: a run started from the parent runs in the child on the child's arm, its
// events and result arrive in the parent, and the arm, the counters and the flight
// recorder are read across the boundary.
func TestRunInChild(t *testing.T) {
	evs := make(chan motion.Event, 256)
	p := start(t, evs)
	arm := p.Arm()
	if js := arm.Joints(); len(js) != 6 || js[0].Name != "shoulder_pan" {
		t.Fatalf("joints %+v: want the SO-101's six", js)
	}
	if _, ok := arm.(drivers.Compliant); !ok {
		t.Fatal("the simulated arm switches torque; its proxy must too")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := joint.NewState(6)
	if err := arm.Read(ctx, &s); err != nil || len(s.Pos) != 6 {
		t.Fatalf("read %+v: %v", s, err)
	}
	req := request(t, "r1")
	job, err := p.Start(req)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-job.Done():
	case <-ctx.Done():
		t.Fatal("run did not end")
	}
	res, _ := job.Result()
	if res.Outcome != motion.Succeeded || res.FinalError > 0.01 || res.RunID != "r1" {
		t.Fatalf("result %+v: want r1 succeeded within 0.01 rad", res)
	}
	if err := arm.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	for i, name := range req.Joints {
		k := slices.Index(joint.Names(arm.Joints()), name)
		if d := math.Abs(s.Pos[k] - req.Skill.Goal[i]); d > 0.01 {
			t.Errorf("%s at %.4f, goal %.4f", name, s.Pos[k], req.Skill.Goal[i])
		}
	}
	var kinds []motion.EventKind
	for len(kinds) == 0 || kinds[len(kinds)-1] != motion.EventSucceeded {
		select {
		case ev := <-evs:
			kinds = append(kinds, ev.Kind)
		case <-ctx.Done():
			t.Fatalf("events %v: no succeeded", kinds)
		}
	}
	if kinds[0] != motion.EventStarted {
		t.Errorf("events %v: want started first", kinds)
	}
	c, err := p.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ticks uint64
	for _, n := range c.PeriodError.Counts {
		ticks += n
	}
	if ticks < 100 { // 1 s at 200 Hz and the approach, less what a loaded machine skips
		t.Errorf("period-error histogram holds %d ticks, want a 1 s run's (≥ 100)", ticks)
	}
	mirror := motion.NewCounters()
	mirror.Mirror(c)
	if n, _, _ := mirror.PeriodError.Snapshot(); n != ticks {
		t.Errorf("mirrored counters hold %d ticks, want %d", n, ticks)
	}
	w, err := p.FlightWritten(ctx)
	if err != nil || w < ticks {
		t.Fatalf("flight recorder wrote %d samples (%v), want one a tick (%d)", w, err, ticks)
	}
	snap, now, err := p.FlightSnapshot(ctx)
	// The ring keeps the last 2 s at 200 Hz: every sample written, up to 400 (the loop is
	// idle now, so none is overwritten while the copy is made).
	if want := int(min(w, 400)); err != nil || len(snap.T) < want || len(snap.Measured[0]) != 6 || snap.T[len(snap.T)-1] > now {
		t.Fatalf("flight snapshot %d samples of %d joints, last at %v, now %v (%v): want the %d written (up to the 2 s ring)",
			len(snap.T), len(snap.Measured[0]), snap.T[len(snap.T)-1], now, err, want)
	}
}

// TestEStopThroughSharedMemory: the parent's EStop is one store the child's control
// thread reads at its next tick: the run aborts with reason e-stop within two ticks of the
// store (measured on the child's run: its last tick), later starts are refused with
// motion.ErrEStopped (errors.Is across the process boundary), and Reset clears it.
func TestEStopThroughSharedMemory(t *testing.T) {
	evs := make(chan motion.Event, 256)
	p := start(t, evs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := request(t, "r2")
	req.Duration = 5
	job, err := p.Start(req)
	if err != nil {
		t.Fatal(err)
	}
	for ev := range evs { // let it get going
		if ev.Kind == motion.EventProgress && ev.Time > 0.3 {
			break
		}
	}
	p.EStop()
	if !p.EStopped() {
		t.Fatal("EStopped false right after EStop")
	}
	select {
	case <-job.Done():
	case <-ctx.Done():
		t.Fatal("run did not end after the e-stop")
	}
	res, _ := job.Result()
	if res.Outcome != motion.Aborted || res.Reason != motion.ReasonEStop {
		t.Fatalf("result %+v: want aborted by the e-stop", res)
	}
	if _, err := p.Start(request(t, "r3")); !errors.Is(err, motion.ErrEStopped) {
		t.Fatalf("start while latched: %v, want motion.ErrEStopped", err)
	}
	p.Reset()
	job, err = p.Start(request(t, "r4"))
	if err != nil {
		t.Fatalf("start after reset: %v", err)
	}
	if err := p.Cancel(); err != nil {
		t.Fatal(err)
	}
	<-job.Done()
	if res, _ := job.Result(); res.Outcome != motion.Aborted || res.Reason != motion.ReasonCancelled {
		t.Fatalf("cancelled run: %+v", res)
	}
	if err := p.Cancel(); !errors.Is(err, motion.ErrNotRunning) {
		t.Fatalf("cancel with nothing running: %v, want motion.ErrNotRunning", err)
	}
}

// TestChildKilled: a child that dies mid-run fails the run (a fault naming the exit) and
// every later call with ErrExited, and never hangs the parent.
func TestChildKilled(t *testing.T) {
	p := start(t, nil)
	req := request(t, "r5")
	req.Duration = 5
	job, err := p.Start(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-job.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("run not ended 10 s after its process was killed")
	}
	res, _ := job.Result()
	if res.Outcome != motion.Failed || !errors.Is(res.Err, motion.ErrFault) || !errors.Is(res.Err, ErrExited) {
		t.Fatalf("result %+v (err %v): want failed with a fault, the process exited", res, res.Err)
	}
	s := joint.NewState(6)
	if err := p.Arm().Read(context.Background(), &s); !errors.Is(err, ErrExited) {
		t.Fatalf("read after the exit: %v, want ErrExited", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("close after the exit: %v", err)
	}
}

// TestOpenFails: the child's failure to open the arm is Start's error, and no process is
// left behind.
func TestOpenFails(t *testing.T) {
	exe, _ := os.Executable()
	_, err := Start(context.Background(), Options{Path: exe, Args: []string{childArg}, Arm: []byte("fail"), Exec: ExecConfig{Rate: 100}})
	if err == nil || err.Error() != "no such arm" {
		t.Fatalf("start with an arm that fails to open: %v, want its error", err)
	}
}

type statsArm struct{ *simarm.Arm }

func (statsArm) ServoStats() []servo.Stats {
	return []servo.Stats{{ID: 1, Joint: "shoulder_pan", Transactions: 42, Retries: 2, Errors: 1}}
}

// TestServoStatsCross: a bus arm's per-servo counters in the child reach the daemon's
// metrics through the proxy arm; an arm without them reports none.
func TestServoStatsCross(t *testing.T) {
	exe, _ := os.Executable()
	for _, tc := range []struct {
		arm  string
		want []servo.Stats
	}{
		{"stats", []servo.Stats{{ID: 1, Joint: "shoulder_pan", Transactions: 42, Retries: 2, Errors: 1}}},
		{"so101", nil},
	} {
		p, err := Start(context.Background(), Options{Path: exe, Args: []string{childArg}, Arm: []byte(tc.arm), Exec: ExecConfig{Rate: 100}})
		if err != nil {
			t.Fatal(err)
		}
		rep, ok := p.Arm().(servo.StatsReporter)
		if !ok {
			t.Fatal("the proxy arm does not report servo stats")
		}
		if got := rep.ServoStats(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: servo stats %+v, want %+v", tc.arm, got, tc.want)
		}
		p.Close()
	}
}

// BenchmarkRead measures one call to the control process: a read of its arm (the
// simulated SO-101) from the parent, as the daemon's recorder and telemetry make it.
func BenchmarkRead(b *testing.B) {
	exe, _ := os.Executable()
	p, err := Start(context.Background(), Options{Path: exe, Args: []string{childArg}, Arm: []byte("so101"), Exec: ExecConfig{Rate: 100}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	arm, s := p.Arm(), joint.NewState(6)
	for b.Loop() {
		if err := arm.Read(context.Background(), &s); err != nil {
			b.Fatal(err)
		}
	}
}
