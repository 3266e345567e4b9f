package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/drivers"
	fwarm "github.com/praxis-robotics/praxis/firmware-bridge/driver"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// Limits the leader's follower takes for joints whose own give none: motion.Config's
// DefaultMaxVel (rad/s) and DefaultMaxAcc (rad/s²), as the executor uses them.
const (
	leaderDefaultMaxVel = 1.0
	leaderDefaultMaxAcc = 5.0
)

// errTeleopHalted is the follower's answer to a teleoperation command once the e-stop is
// latched or the recording is stopping: the command is not sent.
var errTeleopHalted = errors.New("daemon: teleop: follower halted (e-stop or stop)")

// isBusDriver reports whether driver names a servo-bus arm.
func isBusDriver(driver string) bool { return driver == "dynamixel" || driver == "feetech" }

// isLeaderDriver reports whether driver can be a leader: a servo bus, or a firmware-bridge
// board whose potentiometers read the joints (firmware-bridge/PROTOCOL.md).
func isLeaderDriver(driver string) bool { return isBusDriver(driver) || driver == "firmware" }

// portJoints are the joint names an arm section declares, for drivers configured by
// joint (bus servos, firmware channels); nil for the others.
func portJoints(a ArmConfig) []string {
	var names []string
	switch {
	case isBusDriver(a.Driver):
		for _, s := range a.Servos {
			names = append(names, s.Joint)
		}
	case a.Driver == "firmware":
		for _, j := range a.Firmware.Joints {
			names = append(names, j.Name)
		}
	}
	return names
}

// leaderDefaults fills the leader section's defaults as arm's are filled (a bus or
// firmware driver only: any other is reported by validateLeader).
func (c *Config) leaderDefaults() {
	if c.Leader == nil || !isLeaderDriver(c.Leader.Driver) {
		return
	}
	tmp := Config{Arm: *c.Leader}
	tmp.ApplyDefaults()
	*c.Leader = tmp.Arm
}

// validateLeader checks the leader section with arm's rules (errors name leader.<field>)
// and against the arm: another port, and every joint of a bus arm on the leader.
func (c *Config) validateLeader() error {
	l := c.Leader
	if l == nil {
		return nil
	}
	if !isLeaderDriver(l.Driver) {
		return fmt.Errorf("leader.driver: %q is not one of dynamixel, feetech, firmware (a leader is a servo-bus arm or a firmware-bridge board with potentiometers)", l.Driver)
	}
	tmp := *c
	tmp.Arm, tmp.Leader = *l, nil
	if err := tmp.Validate(); err != nil {
		msg := err.Error()
		if rest, ok := strings.CutPrefix(msg, "arm."); ok {
			return errors.New("leader." + rest)
		}
		return fmt.Errorf("leader: %s", msg)
	}
	armJoints := portJoints(c.Arm)
	if armJoints != nil && l.Port == c.Arm.Port {
		return fmt.Errorf("leader.port: %s is arm.port too (the leader is a second bus or board)", l.Port)
	}
	have := map[string]bool{}
	for _, n := range portJoints(*l) {
		have[n] = true
	}
	field := "leader.servos"
	if l.Driver == "firmware" {
		field = "leader.firmware.joints"
	}
	for _, n := range armJoints {
		if !have[n] {
			return fmt.Errorf("%s: no joint %q of the arm (the leader needs every joint of the arm)", field, n)
		}
	}
	return nil
}

// openLeader opens the leader (a bus arm or a firmware board), sets it up (every servo
// pinged, return delay 0; the board's handshake) and switches its torque off, so that a
// person can move it.
func (d *Daemon) openLeader(ctx context.Context) (busarm.Arm, error) {
	lc := *d.cfg.Leader
	sctx, cancel := context.WithTimeout(ctx, SetupTimeout)
	defer cancel()
	var a busarm.Arm
	baud := lc.Baud
	if lc.Driver == "firmware" {
		fa, err := fwarm.Open(lc.Port, lc.Baud, lc.fwarmConfig())
		if err != nil {
			return nil, fmt.Errorf("daemon: leader.port: %w", err)
		}
		if err := fa.Setup(sctx); err != nil {
			fa.Close()
			return nil, fmt.Errorf("daemon: leader: firmware board on %s at %d bit/s did not set up (check the port, leader.baud and that the board runs the firmware-bridge firmware): %w",
				lc.Port, lc.Baud, err)
		}
		a = fa
	} else {
		bc, err := lc.BusConfig()
		if err != nil {
			return nil, fmt.Errorf("daemon: leader: %s", strings.TrimPrefix(err.Error(), "arm: "))
		}
		ba, err := busarm.Open(bc.Port, bc)
		if err != nil {
			return nil, fmt.Errorf("daemon: leader.port: %w", err)
		}
		if err := ba.Setup(sctx); err != nil {
			ba.Close()
			return nil, fmt.Errorf("daemon: leader: %s servos on %s at %d bit/s did not set up (check power, wiring, leader.baud and each servo's id): %w",
				lc.Driver, lc.Port, bc.Baud, err)
		}
		a, baud = ba, bc.Baud
	}
	if err := drivers.SetTorque(sctx, a, false); err != nil {
		a.Close()
		return nil, fmt.Errorf("daemon: leader: torque off: %w", err)
	}
	d.log.Info("leader arm ready, torque off", "driver", lc.Driver, "port", lc.Port, "baud", baud, "joints", len(a.Joints()))
	return a, nil
}

// leadFollower is the follower (the daemon's arm) as teleoperation drives it: every
// command passes motion's SafetyFilter (position, velocity and acceleration limits at
// the recorder's period), and none is sent once the e-stop is latched or the recording
// is stopping. Read passes through the tap, so telemetry shows what it read. One
// goroutine (the recording's) calls Read and Command.
type leadFollower struct {
	arm      *tapArm
	estopped *atomic.Bool // the daemon's e-stop latch
	halted   atomic.Bool  // the recording is stopping: no more commands
	filt     *motion.SafetyFilter
	lim      []joint.Limits
	names    []string
	period   float64 // s
	cmd      joint.Command
	primed   bool // filt starts from the measured pose read since begin
}

func newLeadFollower(arm *tapArm, estopped *atomic.Bool, rateHz float64) (*leadFollower, error) {
	js := arm.Joints()
	lim := make([]joint.Limits, len(js))
	for i, j := range js {
		l := j.Limits
		if j.Type == joint.Continuous {
			l.Min, l.Max = math.Inf(-1), math.Inf(1)
		} else if !(l.Max > l.Min) {
			return nil, fmt.Errorf("daemon: leader: arm joint %q has no position range [%v, %v]", j.Name, l.Min, l.Max)
		}
		if !(l.MaxVel > 0) {
			l.MaxVel = leaderDefaultMaxVel
		}
		if !(l.MaxAcc > 0) {
			l.MaxAcc = leaderDefaultMaxAcc
		}
		lim[i] = l
	}
	filt, err := motion.NewSafetyFilter(lim, make([]float64, len(js)))
	if err != nil {
		return nil, fmt.Errorf("daemon: leader: %w", err)
	}
	return &leadFollower{arm: arm, estopped: estopped, filt: filt, lim: lim, names: joint.Names(js),
		period: 1 / rateHz, cmd: joint.NewCommand(len(js))}, nil
}

// Joints returns the arm's joints.
func (f *leadFollower) Joints() []joint.Joint { return f.arm.Joints() }

// begin readies the follower for a recording: the filter restarts from the next read.
func (f *leadFollower) begin() {
	f.primed = false
	f.halted.Store(false)
}

// Read reads the arm; the first read after begin restarts the filter at rest there.
func (f *leadFollower) Read(ctx context.Context, s *joint.State) error {
	if err := f.arm.Read(ctx, s); err != nil {
		return err
	}
	if !f.primed && len(s.Pos) == len(f.lim) {
		f.filt.Reset(s.Pos)
		f.primed = true
	}
	return nil
}

// Command sends c's positions through the safety filter, or nothing (errTeleopHalted)
// once the e-stop is latched or the recording stops. It allocates nothing.
func (f *leadFollower) Command(ctx context.Context, c joint.Command) error {
	if f.estopped.Load() || f.halted.Load() {
		return errTeleopHalted
	}
	if !f.primed {
		return errors.New("daemon: teleop: follower commanded before it was read")
	}
	if err := f.filt.Filter(c.Pos, 0, f.period, &f.cmd, f.names); err != nil {
		return err
	}
	if err := f.arm.Command(ctx, f.cmd); err != nil {
		return err
	}
	f.filt.Accept(f.cmd)
	return nil
}

// hold commands the arm to stay where it is now (a fresh read, clamped into the limits),
// as the executor's halt does. It bypasses the halt gate: call it once the recording's
// goroutine has ended.
func (f *leadFollower) hold(ctx context.Context) error {
	st := joint.NewState(len(f.lim))
	if err := f.arm.Read(ctx, &st); err != nil {
		return fmt.Errorf("hold: read: %w", err)
	}
	cmd := joint.Command{Pos: make([]float64, len(f.lim))}
	for i, q := range st.Pos {
		cmd.Pos[i] = f.lim[i].Clamp(q)
	}
	if err := f.arm.Command(ctx, cmd); err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	return nil
}

// leaderCapture is teleoperated recording: the leader arm drives the follower through
// demos.Teleop at the recorder's rate, and its own Recorder samples the Teleop, i.e. the
// follower's measured trajectory (sidecar teaching "leader").
type leaderCapture struct {
	leader busarm.Arm
	fol    *leadFollower
	tel    *demos.Teleop
	rec    *demos.Recorder
}

func newLeaderCapture(leader busarm.Arm, fol *leadFollower, rc demos.RecorderConfig) (*leaderCapture, error) {
	tel, err := demos.NewTeleop(demos.TeleopConfig{Leader: leader, Follower: fol, Rate: rc.Rate})
	if err != nil {
		return nil, fmt.Errorf("daemon: leader: %w", err)
	}
	rc.Arm, rc.Kinesthetic = tel, false
	rec, err := demos.NewRecorder(rc)
	if err != nil {
		return nil, fmt.Errorf("daemon: leader recorder: %w", err)
	}
	return &leaderCapture{leader: leader, fol: fol, tel: tel, rec: rec}, nil
}

// start begins recording demo name: the leader's torque off again (Teleop.Begin), the
// follower's filter restarted, then the recorder started.
func (lc *leaderCapture) start(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lc.fol.begin()
	if err := lc.tel.Begin(ctx); err != nil {
		return err
	}
	return lc.rec.Start(context.Background(), name, demos.Sidecar{Teaching: demos.TeachingLeader})
}

// halt stops the follower's commands at once; stop does the rest.
func (lc *leaderCapture) halt() { lc.fol.halted.Store(true) }

// stop ends the recording: no further follower command, the recorder stopped (file
// complete), then the follower held where it is (a failed hold is noted in the result's
// TorqueNote, as the kinesthetic recorder notes its own).
func (lc *leaderCapture) stop() (demos.Result, error) {
	lc.halt()
	res, err := lc.rec.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if herr := lc.fol.hold(ctx); herr != nil {
		res.TorqueNote = strings.TrimPrefix(res.TorqueNote+"; follower "+herr.Error(), "; ")
	}
	return res, err
}

// curRec is the recorder of the current (or last) recording.
func (s *state) curRec() *demos.Recorder {
	if s.recLeader && s.lead != nil {
		return s.lead.rec
	}
	return s.rec
}

// recordLeader starts a teleoperated recording (the caller checked busy and the name).
func (s *state) recordLeader(r core.RecordRequest) error {
	if err := s.lead.start(r.Demo); err != nil {
		if errors.Is(err, demos.ErrExists) {
			return core.Reject("demo", "demo %q already exists", r.Demo)
		}
		return core.Reject("", "record with leader: %v", err)
	}
	s.recID, s.recDemo, s.recStopping, s.recLeader = r.ID, r.Demo, false, true
	s.recDoneCh = s.lead.rec.Done()
	s.d.log.Info("recording from the leader arm", "demo", r.Demo, "id", r.ID, "rate_hz", s.d.cfg.Recorder.RateHz)
	s.publishStatus()
	return nil
}

// stopLeader ends a teleoperated recording: the follower's commands stop at once (on the
// loop), the rest (flush, hold) goes on off the loop; the result comes back on recDone.
func (s *state) stopLeader(estop bool) {
	s.lead.halt()
	id, demo, lead := s.recID, s.recDemo, s.lead
	go func() {
		res, err := lead.stop()
		p50, p99, ticks := lead.tel.Latency()
		s.d.log.Info("teleoperation ended", "demo", demo, "ticks", ticks,
			"leader_read_to_follower_command_p50", p50, "p99", p99)
		s.recDone <- recResult{id: id, demo: demo, res: res, err: err, estop: estop, warning: demoWarning(res.Path)}
	}()
}
