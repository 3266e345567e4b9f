package rosarm

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/rostest"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim/models"
	rossim "github.com/praxis-robotics/praxis/sim/wire/ros"
)

// The test binary doubles as the robot's driver process (so it can be killed for real):
// with ROSARM_TEST_ROBOT=host:port it serves a simulated SO-101 on that master.
func TestMain(m *testing.M) {
	if addr := os.Getenv("ROSARM_TEST_ROBOT"); addr != "" {
		os.Exit(robotMain(addr))
	}
	os.Exit(m.Run())
}

func robotMain(master string) int {
	arm, err := simarm.New(simarm.Config{Model: "so101"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	urdf, _ := models.URDF("so101")
	r, err := rossim.New(rossim.Config{Master: master, Host: "127.0.0.1", Plant: arm, RobotDescription: string(urdf)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := r.Serve(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// robot is the simulated robot's process.
type robot struct {
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startRobot(t *testing.T, m *rostest.Master) *robot {
	t.Helper()
	r := &robot{cmd: exec.Command(os.Args[0], "-test.run=^$"), out: &syncBuf{}, done: make(chan struct{})}
	r.cmd.Env = append(m.Env(), "ROSARM_TEST_ROBOT="+m.Addr)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(r.kill)
	return r
}

// kill ends the robot's process with SIGKILL: no unregistration, as in a crash.
func (r *robot) kill() {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.done
}

// The end-to-end runs use 100 Hz, a common ROS arm rate, and tolerate overruns: the race
// detector on a busy 2-core machine stalls the loop for tens of ms (the 500 Hz figure
// is in BenchmarkStateToCommand).
const period = 10 * time.Millisecond

// staleTest is the staleness timeout of the end-to-end tests: the robot is another
// process on a machine the suite loads fully, so it may be descheduled for more than the
// 200 ms default without being dead; a killed robot is still detected within it.
const staleTest = time.Second

func execConfig(ev chan motion.Event) motion.Config {
	return motion.Config{Rate: 100, Events: ev, WatchdogOverruns: 50}
}

var so101 = []string{"shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"}

// reach fits a DMP moving from start to goal over dur s (minimum jerk).
func reach(t *testing.T, start, goal []float64, dur float64) *dmp.DMP {
	t.Helper()
	d := dmp.Demo{Joints: so101}
	for i := range 200 {
		u := float64(i) / 199
		s := u * u * u * (10 - 15*u + 6*u*u)
		y := make([]float64, len(start))
		for j := range y {
			y[j] = start[j] + (goal[j]-start[j])*s
		}
		d.T = append(d.T, u*dur)
		d.Y = append(d.Y, y)
	}
	m, _, err := dmp.Fit(d, dmp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openArm(t *testing.T, ctx context.Context, cfg Config) *Arm {
	t.Helper()
	a, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func waitState(t *testing.T, a *Arm, r *robot) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitState(ctx); err != nil {
		t.Fatalf("%v\nrobot output:\n%s", err, r.out.String())
	}
}

// runTo runs a reach from the measured position to goal and returns the result.
func runTo(t *testing.T, ex *motion.Executor, a *Arm, id string, goal []float64, during func(*motion.Job)) (motion.Result, error) {
	t.Helper()
	st := joint.NewState(len(so101))
	if err := a.Read(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	job, err := ex.Start(motion.Request{ID: id, Skill: reach(t, st.Pos, goal, 1.5), Joints: so101})
	if err != nil {
		t.Fatal(err)
	}
	if during != nil {
		during(job)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return job.Wait(ctx)
}

// waitProgress waits for a progress event of run id at fraction ≥ f.
func waitProgress(t *testing.T, ev <-chan motion.Event, id string, f float64) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.RunID == id && e.Kind == motion.EventProgress && e.Fraction >= f {
				return
			}
			if e.RunID == id && e.Result != nil {
				t.Fatalf("run ended before %.0f%%: %+v", 100*f, *e.Result)
			}
		case <-timeout:
			t.Fatalf("no progress to %.0f%%", 100*f)
		}
	}
}

func checkReached(t *testing.T, a *Arm, res motion.Result, err error, goal []float64) {
	t.Helper()
	if err != nil || res.Outcome != motion.Succeeded {
		t.Fatalf("run: %v %+v", err, res)
	}
	st := joint.NewState(len(so101))
	if err := a.Read(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	for i, g := range goal {
		if math.Abs(st.Pos[i]-g) > 0.02 {
			t.Errorf("joint %s at %.4f, goal %.4f", so101[i], st.Pos[i], g)
		}
	}
	if res.LimitViolations != 0 {
		t.Errorf("%d commands outside the limits", res.LimitViolations)
	}
}

// TestEndToEndTrajectoryController drives the simulated robot through a real master with
// JointTrajectory commands and limits from /robot_description; kills the robot's process
// mid-run (the run fails saying why) and restarts it (the next run succeeds).
func TestEndToEndTrajectoryController(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rosmaster and a robot process")
	}
	m := rostest.StartMaster(t)
	r := startRobot(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cfgJoints []Joint
	for _, n := range so101 {
		cfgJoints = append(cfgJoints, Joint{Name: n}) // limits from the URDF
	}
	// The robot sets /robot_description when it starts; Open retries until it can read it.
	a := openArm(t, ctx, Config{Master: m.URI, Host: "127.0.0.1", Joints: cfgJoints, Period: period, StaleAfter: staleTest})
	js := a.Joints()
	if js[1].Limits.Min >= js[1].Limits.Max || js[1].Limits.MaxVel <= 0 {
		t.Fatalf("limits from the URDF: %+v", js[1])
	}
	waitState(t, a, r)
	ev := make(chan motion.Event, 256)
	ex, err := motion.New(a, execConfig(ev))
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()

	goal := []float64{0.3, -0.2, 0.4, 0.1, -0.3, 0.2}
	res, err := runTo(t, ex, a, "r1", goal, nil)
	checkReached(t, a, res, err, goal)

	// The joint states are on the topic for any ROS tool.
	if _, err := exec.LookPath("rostopic"); err == nil {
		ectx, ecancel := context.WithTimeout(ctx, 20*time.Second)
		out, err := m.Command(ectx, "rostopic", "echo", "-n", "1", "/joint_states").CombinedOutput()
		ecancel()
		if err != nil || !strings.Contains(string(out), "shoulder_pan") || !strings.Contains(string(out), "position: [0.3") {
			t.Errorf("rostopic echo: %v\n%s", err, out)
		}
	}

	// The commands are real trajectory_msgs/JointTrajectory for rostopic (the Debian
	// package's definition): hold the pose, streaming, until rostopic has seen one.
	if _, err := exec.LookPath("rostopic"); err == nil {
		echoCommand(t, m, a, "/arm_controller/command", "- shoulder_pan\n  - shoulder_lift", "time_from_start", "10000000")
	}

	// Kill the robot mid-run: the run fails with the reason.
	goal2 := []float64{-0.3, 0.2, -0.4, -0.1, 0.3, 0.1}
	res, err = runTo(t, ex, a, "r2", goal2, func(*motion.Job) {
		waitProgress(t, ev, "r2", 0.2)
		r.kill()
	})
	if err == nil || res.Outcome != motion.Failed || !strings.Contains(res.Reason, fmt.Sprintf("no joint state for %d ms on /joint_states", staleTest.Milliseconds())) {
		t.Fatalf("run with the robot killed: %v %+v", err, res)
	}
	t.Logf("failed as expected: %s", res.Reason)

	// Restart the robot: the next run succeeds.
	r = startRobot(t, m)
	waitState(t, a, r)
	res, err = runTo(t, ex, a, "r3", goal2, nil)
	checkReached(t, a, res, err, goal2)
}

// TestEndToEndPositionControllerMasterRestart uses Float64MultiArray commands with limits
// from the config, then restarts the master and the robot: the driver registers again.
func TestEndToEndPositionControllerMasterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rosmaster and a robot process")
	}
	m := rostest.StartMaster(t)
	r := startRobot(t, m)
	sa, err := simarm.New(simarm.Config{Model: "so101"})
	if err != nil {
		t.Fatal(err)
	}
	var cfgJoints []Joint
	for _, j := range sa.Joints() {
		cfgJoints = append(cfgJoints, Joint{Name: j.Name, Limits: j.Limits})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := openArm(t, ctx, Config{Master: m.URI, Host: "127.0.0.1", Controller: Position, Joints: cfgJoints, CheckEvery: 100 * time.Millisecond, Period: period, StaleAfter: staleTest})
	waitState(t, a, r)
	ex, err := motion.New(a, execConfig(make(chan motion.Event, 64)))
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	goal := []float64{0.2, 0.3, -0.3, 0.2, 0.1, 0.3}
	res, err := runTo(t, ex, a, "p1", goal, nil)
	checkReached(t, a, res, err, goal)

	r.kill()
	m.Restart()
	r = startRobot(t, m)
	waitState(t, a, r)
	// The supervisor checks the master every CheckEvery; on a loaded machine the states may
	// flow again before it has counted its reconnection.
	for deadline := time.Now().Add(10 * time.Second); a.Stats().Reconnects < 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if a.Stats().Reconnects < 1 {
		t.Errorf("no reconnection after the master restarted: %+v", a.Stats())
	}
	// The reconnection re-subscribes: wait for states through the new subscription before
	// the run (a run started in between saw a 1 s gap beside two CPU hogs).
	n0 := a.Stats().Received
	for deadline := time.Now().Add(20 * time.Second); a.Stats().Received < n0+50 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if got := a.Stats().Received - n0; got < 50 {
		t.Fatalf("only %d joint states in 20 s after the reconnection", got)
	}
	goal = []float64{-0.2, 0.1, 0.3, -0.2, -0.1, 0.1}
	res, err = runTo(t, ex, a, "p2", goal, nil)
	checkReached(t, a, res, err, goal)
}

// echoCommand streams hold commands until `rostopic echo -n 1 topic` prints a message,
// and checks it contains every want.
func echoCommand(t *testing.T, m *rostest.Master, a *Arm, topic string, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out syncBuf
	cmd := m.Command(ctx, "rostopic", "echo", "-n", "1", topic)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	st := joint.NewState(len(so101))
	hold := joint.Command{Pos: make([]float64, len(so101))}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			for _, w := range want {
				if err != nil || !strings.Contains(out.String(), w) {
					t.Errorf("rostopic echo %s: %v, want %q in:\n%s", topic, err, w, out.String())
				}
			}
			return
		case <-tick.C:
			if a.Read(ctx, &st) == nil {
				copy(hold.Pos, st.Pos)
				_ = a.Command(ctx, hold)
			}
		}
	}
}
