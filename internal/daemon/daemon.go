// Package daemon wires the Praxis daemon (`praxis serve`): configuration, the arm, the
// executor, the recorder, the skill library, the embedded broker, the MQTT API and the web
// dashboard (internal/web, fed by the read side in inspect.go).
//
// One goroutine (the loop) owns the daemon's mutable state: the current run, the current
// recording, the e-stop latch as the daemon reports it. The core.Service methods (called by the front ends: mqttapi) send
// it requests and wait for short answers; long work (runs, fits, the end of a recording)
// goes on in the background and reports through the Server. Runs are rejected, not
// queued, while another run or a recording is active ("busy: ...").
package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/drivers"
	"github.com/praxis-robotics/praxis/drivers/gobot"
	rosarm "github.com/praxis-robotics/praxis/drivers/ros"
	"github.com/praxis-robotics/praxis/drivers/servo"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/busarm"
	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/ctlproc"
	"github.com/praxis-robotics/praxis/internal/metrics"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/rosnode"
	"github.com/praxis-robotics/praxis/internal/seed"
	"github.com/praxis-robotics/praxis/motion"
	"github.com/praxis-robotics/praxis/motion/clock"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	"github.com/praxis-robotics/praxis/skilllib"
)

// Data directory layout.
const (
	SkillsDir  = "skills"  // <data>/skills: the skill library (skilllib.Store)
	DemosDir   = "demos"   // <data>/demos: recorded demonstrations
	SeedMarker = ".seeded" // <data>/.seeded: the seed skills were installed once; never again
)

// SetupTimeout bounds the servos' Setup when the daemon opens a bus arm.
const SetupTimeout = 10 * time.Second

// ResetSetupTimeout bounds the probe read and the Setup when cmd/reset recovers a faulted
// bus arm; it keeps the answer within the CLI's default 5 s --timeout.
const ResetSetupTimeout = 4 * time.Second

// setupper is an arm whose connect-time setup can run again (the bus arms, busarm.Arm):
// it pings every servo, clears a latched fault and holds the present pose with torque on.
type setupper interface {
	Setup(ctx context.Context) error
}

// Options are the daemon's dependencies beyond its Config. Zero fields take defaults.
type Options struct {
	Logger      *slog.Logger // default: text to stderr at Config.LogLevel
	Stdout      io.Writer    // first-start credentials notice; default os.Stdout
	ArmOverride drivers.Arm  // use this arm instead of building one from Config.Arm (tests)
	Clock       clock.Clock  // clock of the simulated arm, or of a simulated firmware board (and of the executor when it is a clock.Sleeper other than the real one); default the real clock
	Version     string       // praxis version recorded in learned skills
	// WebListener serves the dashboard on this listener instead of opening web.listen
	// (tests); it is closed when the daemon stops. Ignored when web.enabled is false.
	WebListener net.Listener
	// FlightLog, when set, is the flight recorder the dashboard lists; nil hides its tab.
	FlightLog core.FlightLog
}

// Daemon is `praxis serve`. Build it with New, then Run it.
type Daemon struct {
	cfg Config
	opt Options
	log *slog.Logger

	ready chan struct{} // closed once serving; the accessors are valid after it
	// Set before ready is closed, read-only afterwards.
	brokerURL string
	creds     broker.Credentials
	sim       *simarm.Arm
	arm       drivers.Arm
	store     *skilllib.Store
	demosDir  string
	webURL    string // the dashboard's URL; "" when not served

	runs runRing // the recent runs, for the dashboard

	exec   atomic.Pointer[executor] // for EStop, which must not wait for the loop
	ctlPID int                      // the control process (executor.isolate)
	// estopInBroker: the embedded broker latches every cmd/estop as it takes it, so the
	// MQTT API's EStop only answers (latching again could undo a reset that overtook it).
	estopInBroker bool
	estopped      atomic.Bool // e-stop latched (the loop clears it on reset)

	reqs     chan func(*state) // Service calls, run by the loop
	estopSig chan struct{}     // e-stop: wake the loop (buffer 1)
	loopDone chan struct{}

	// Observability (docs/observability.md); made by New.
	met         *metrics.Metrics // nil when metrics.enabled is false
	loop        *motion.Counters // the executor's counters (read by met)
	flights     *flightLog
	metricsAddr string // the metrics listener's address, once listening ("" when none)
}

// metricsT is the metrics type, for the hooks below.
type metricsT = metrics.Metrics

// metric calls f with the metrics when they are enabled.
func (d *Daemon) metric(f func(*metricsT)) {
	if d.met != nil {
		f(d.met)
	}
}

// MetricsHandler serves the Prometheus metrics (the web dashboard mounts it at /metrics);
// with metrics.enabled false it answers 404. Valid from New.
func (d *Daemon) MetricsHandler() http.Handler {
	if d.met == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "metrics are disabled (metrics.enabled: false)", http.StatusNotFound)
		})
	}
	return d.met.Handler()
}

// MetricsAddr is the address of the metrics-only listener (metrics.listen), once it
// listens (valid after Ready); "" when there is none.
func (d *Daemon) MetricsAddr() string { return d.metricsAddr }

// Flights is the flight log (core.FlightLog) for front ends: list, read, dump on demand.
// Valid from New; it lists and reads <data_dir>/flight at any time, and dumps once the
// daemon runs.
func (d *Daemon) Flights() core.FlightLog { return d.flights }

// New validates cfg (defaults applied) and returns a daemon; it touches nothing.
func New(cfg Config, opt Options) (*Daemon, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("daemon: config: %w", err)
	}
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	if opt.Logger == nil {
		var lv slog.Level
		_ = lv.UnmarshalText([]byte(cfg.LogLevel))
		opt.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	}
	if opt.Clock == nil {
		opt.Clock = clock.NewReal()
	}
	d := &Daemon{cfg: cfg, opt: opt, log: opt.Logger,
		ready: make(chan struct{}), reqs: make(chan func(*state)),
		estopSig: make(chan struct{}, 1), loopDone: make(chan struct{}), loop: motion.NewCounters()}
	if *cfg.Metrics.Enabled {
		d.met = metrics.New(metrics.Sources{Loop: d.loop})
	}
	d.flights = newFlightLog(d)
	return d, nil
}

// Config returns the validated configuration with defaults applied.
func (d *Daemon) Config() Config { return d.cfg }

// Ready is closed once the daemon serves commands.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// BrokerURL is the URL the daemon's MQTT connection uses (valid after Ready).
func (d *Daemon) BrokerURL() string { return d.brokerURL }

// WebURL is the dashboard's base URL, e.g. http://127.0.0.1:8080/ (valid after Ready;
// "" when the dashboard is not served).
func (d *Daemon) WebURL() string { return d.webURL }

// EStopLatched reports whether the e-stop is latched (set the moment any front end's
// e-stop reaches the daemon, cleared by a reset).
func (d *Daemon) EStopLatched() bool { return d.estopped.Load() }

// Credentials are the embedded broker's users (valid after Ready; empty otherwise).
func (d *Daemon) Credentials() broker.Credentials { return d.creds }

// ControlPID is the control process's id with executor.isolate (valid after Ready), else 0.
func (d *Daemon) ControlPID() int { return d.ctlPID }

// SimArm is the simulated arm, or nil with another driver (valid after Ready).
func (d *Daemon) SimArm() *simarm.Arm { return d.sim }

// Arm is the arm in use (valid after Ready).
func (d *Daemon) Arm() drivers.Arm { return d.arm }

// Run opens the data directory, the arm, the broker and the MQTT server, serves until
// ctx is done, then shuts down safely: the run is cancelled and the arm halted, a
// recording is finished and flushed, the offline status published. It returns nil after
// a clean shutdown.
func (d *Daemon) Run(ctx context.Context) (err error) {
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	data := d.cfg.DataDir
	skillsDir, demosDir := filepath.Join(data, SkillsDir), filepath.Join(data, DemosDir)
	for _, dir := range []string{data, skillsDir, demosDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("daemon: data_dir: %w", err)
		}
	}
	recs, err := demos.Recover(demosDir)
	if err != nil {
		return fmt.Errorf("daemon: recover demos: %w", err)
	}
	for _, r := range recs {
		switch {
		case r.Err != nil:
			d.log.Warn("demo left unrecovered", "demo", r.Name, "err", r.Err)
		case r.Removed:
			d.log.Warn("removed a recording interrupted before it held a usable demo", "demo", r.Name, "samples", r.Samples)
		default:
			d.log.Warn("recovered interrupted recording", "demo", r.Name, "samples", r.Samples, "dropped_bytes", r.DroppedBytes)
		}
	}
	store, err := skilllib.OpenStore(skillsDir)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	if err := d.seed(store); err != nil {
		return err
	}
	d.store, d.demosDir = store, demosDir

	exEvents := make(chan motion.Event, 1024)
	var (
		arm  drivers.Arm
		hand *sim.Hand
		proc *ctlproc.Proc // the control process (executor.isolate)
	)
	if d.cfg.Executor.Isolate {
		if proc, err = d.startControl(ctx, exEvents); err != nil {
			return err
		}
		d.ctlPID = proc.Pid()
		closers = append(closers, func() {
			if err := proc.Close(); err != nil {
				d.log.Warn("control process", "err", err)
			}
		})
		arm = proc.Arm()
	} else {
		if arm, hand, err = d.openArm(ctx); err != nil {
			return err
		}
		closers = append(closers, func() { arm.Close() })
	}
	d.arm = arm
	if rep, ok := arm.(servo.StatsReporter); ok && d.met != nil {
		d.met.AddBus(rep)
	}
	if d.cfg.Metrics.Listen != "" {
		stop, err := d.serveMetrics()
		if err != nil {
			return err
		}
		closers = append(closers, stop)
	}

	var user, pass string
	var tlsConf *tls.Config
	firstStart := false // the credentials were generated now (printed)
	if *d.cfg.MQTT.Embedded {
		b, err := broker.Open(broker.Config{Address: d.cfg.MQTT.Listen, DataDir: data,
			Anonymous: d.cfg.MQTT.Anonymous, TLSCert: d.cfg.MQTT.TLSCert, TLSKey: d.cfg.MQTT.TLSKey,
			MaxPacketSize: d.cfg.MQTT.MaxPacketSize, ConnectTimeout: d.cfg.MQTT.ConnectTimeout,
			MaxConnections: d.cfg.MQTT.MaxConnections,
			CommandRate:    d.cfg.MQTT.ClientCommandRate, CommandBurst: d.cfg.MQTT.ClientCommandBurst,
			// The e-stop latches as the broker takes it, ahead of any backlog of messages.
			EStop: func(topic string) {
				if topic == "praxis/"+d.cfg.RobotID+"/cmd/"+core.CmdEStop {
					d.estopLatch()
				}
			},
			// Commands the broker drops beyond a client's rate never reach the daemon:
			// count them here, as shed.
			Dropped: func(topic string) {
				if cmd, ok := strings.CutPrefix(topic, "praxis/"+d.cfg.RobotID+"/cmd/"); ok {
					d.refused(cmd, true)
				}
			},
			Logger: d.log.With("component", "broker")})
		if err != nil {
			return fmt.Errorf("daemon: mqtt.listen: %w", err)
		}
		d.estopInBroker = true
		closers = append(closers, func() {
			// What the daemon published last (its final events, the offline status)
			// reaches the subscribers before the broker stops.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := b.Drain(ctx); err != nil {
				d.log.Warn("broker: stopping with messages not acknowledged by subscribers")
			}
			b.Close()
		})
		d.creds = b.Credentials()
		host, port, _ := net.SplitHostPort(b.Addr())
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		scheme := "tcp://"
		if d.cfg.MQTT.TLSCert != "" {
			scheme = "ssl://"
			if tlsConf, err = caConfig(d.cfg.MQTT.TLSCert, "mqtt.tls_cert"); err != nil {
				return err
			}
		}
		d.brokerURL = scheme + net.JoinHostPort(host, port)
		if u, ok := d.creds.Get(broker.DaemonUser); ok {
			user, pass = u.Username, u.Password
		}
		if b.CredentialsCreated() {
			d.printCredentials(b)
			firstStart = true
		}
	} else {
		d.brokerURL = d.cfg.MQTT.Broker
		user, pass = d.cfg.MQTT.Username, d.cfg.MQTT.Password
		if d.cfg.MQTT.PasswordFile != "" {
			p, err := os.ReadFile(d.cfg.MQTT.PasswordFile)
			if err != nil {
				return fmt.Errorf("daemon: mqtt.password_file: %w", err)
			}
			pass = strings.TrimRight(string(p), "\r\n")
		}
		if d.cfg.MQTT.CAFile != "" {
			if tlsConf, err = caConfig(d.cfg.MQTT.CAFile, "mqtt.ca_file"); err != nil {
				return err
			}
		}
	}

	var sleeper clock.Sleeper
	if s, ok := d.opt.Clock.(clock.Sleeper); ok && d.opt.ArmOverride == nil && (d.cfg.Arm.Driver == "sim" || d.cfg.Arm.Driver == "firmware") {
		if _, real := d.opt.Clock.(*clock.Real); !real {
			sleeper = s
		}
	}
	prio := *d.cfg.Executor.RealtimePriority
	if sleeper != nil {
		prio = 0 // a fake clock never sleeps: a SCHED_FIFO thread would starve the others
	} else {
		sleeper = clock.NewRealSleeper(0) // the executor's default, shared with the flight log
	}
	var ring *motion.FlightRecorder
	if *d.cfg.Flight.Enabled {
		var src flightSource
		if proc != nil {
			src = childFlight{proc}
		} else {
			if ring, err = motion.NewFlightRecorder(joint.Names(arm.Joints()), d.cfg.Executor.RateHz, d.cfg.Flight.Seconds); err != nil {
				return fmt.Errorf("daemon: flight: %w", err)
			}
			src = localFlight{rec: ring, clk: sleeper}
		}
		d.flights.armed.Store(&src)
	}
	d.flights.start()
	closers = append(closers, d.flights.stop) // after the loop has stopped (closers run in reverse)
	tap := newTapArm(arm)
	var ex executor
	if proc != nil {
		// The control process's loop reads the arm there: telemetry takes what it read.
		tap.remote = proc.Arm().(snapshotter)
		ex = childExec{proc}
		stop := make(chan struct{})
		go d.mirrorCounters(proc, stop)
		closers = append(closers, func() { close(stop) })
	} else {
		lx, err := motion.New(tap, motion.Config{Rate: d.cfg.Executor.RateHz, Events: exEvents,
			ClipGoal: d.cfg.Executor.ClipGoal, GoalTolerance: d.cfg.Executor.GoalTolerance, Clock: sleeper,
			RealTimePriority: prio, WatchdogOverruns: d.cfg.Executor.WatchdogOverruns, Lead: d.cfg.Executor.Lead, LagTolerance: d.cfg.Executor.LagTolerance,
			Counters: d.loop, Flight: ring})
		if err != nil {
			return fmt.Errorf("daemon: executor: %w", err)
		}
		ex = localExec{lx}
	}
	if rt, why := ex.RealTime(); prio > 0 && !rt {
		d.log.Info("control thread runs without SCHED_FIFO (needs root or CAP_SYS_NICE)", "priority", prio, "err", why)
	} else if rt {
		d.log.Info("control thread runs SCHED_FIFO", "priority", prio)
	}
	closers = append(closers, func() { ex.Close() })
	d.exec.Store(&ex)
	rec, err := demos.NewRecorder(demos.RecorderConfig{Dir: demosDir, Arm: tap, Robot: d.cfg.RobotID,
		Rate: d.cfg.Recorder.RateHz, Kinesthetic: true})
	if err != nil {
		return fmt.Errorf("daemon: recorder: %w", err)
	}

	var lead *leaderCapture
	if d.cfg.Leader != nil {
		la, err := d.openLeader(ctx)
		if err != nil {
			return err
		}
		closers = append(closers, func() { la.Close() })
		fol, err := newLeadFollower(tap, &d.estopped, d.cfg.Recorder.RateHz)
		if err != nil {
			return err
		}
		if lead, err = newLeaderCapture(la, fol, demos.RecorderConfig{Dir: demosDir, Robot: d.cfg.RobotID,
			Rate: d.cfg.Recorder.RateHz}); err != nil {
			return err
		}
	}

	st := &state{d: d, store: store, ex: ex, exEvents: exEvents, rec: rec, arm: arm, tap: tap, hand: hand,
		lead: lead, demosDir: demosDir, learnDone: make(chan learnResult, 16), recDone: make(chan recResult, 1)}
	srv, err := mqttapi.NewServer(mqttapi.ServerConfig{Broker: d.brokerURL, Username: user, Password: pass,
		TLS: tlsConf, RobotID: d.cfg.RobotID, StateRate: d.cfg.MQTT.StateRateHz, CheckDuplicate: !*d.cfg.MQTT.Embedded, CommandRate: d.cfg.MQTT.CommandRate,
		ClearRetained: !*d.cfg.MQTT.Embedded,
		Logger:        d.log.With("component", "mqtt"),
		Refused:       d.refused}, mqttService{(*service)(d)})
	if err != nil {
		return fmt.Errorf("daemon: mqtt: %w", err)
	}
	hub := &core.Hub{}
	hub.Add(srv)
	if d.cfg.ROS.Enabled {
		fan := newEventFan()
		hub.Add(fan)
		rc := d.cfg.ROS
		rc.Robot, rc.Logger = d.cfg.RobotID, d.log.With("component", "ros")
		rc.Core = &rosCore{svc: (*service)(d), refused: d.refused, names: joint.Names(arm.Joints()), tap: tap, events: fan}
		node, err := rosnode.New(rc)
		if err != nil {
			return fmt.Errorf("daemon: ros: %w", err)
		}
		rosCtx, stopROS := context.WithCancel(context.Background())
		rosDone := make(chan struct{})
		go func() {
			defer close(rosDone)
			if err := node.Run(rosCtx); err != nil && rosCtx.Err() == nil {
				d.log.Error("ros front end stopped", "err", err)
			}
		}()
		closers = append(closers, func() { stopROS(); <-rosDone })
	}
	ws, err := d.openWeb(arm)
	if err != nil {
		return err
	}
	if ws != nil {
		hub.Add(ws)
	}
	st.srv = hub
	loopCtx, stopLoop := context.WithCancel(context.Background())
	go st.loop(loopCtx)
	closers = append(closers, func() { stopLoop(); <-d.loopDone })
	if err := srv.Start(ctx); err != nil {
		srv.Close()
		if ws != nil {
			ws.Close()
		}
		return fmt.Errorf("daemon: mqtt %s: %w", d.brokerURL, err)
	}
	if ws != nil {
		// Started after MQTT; closed before the broker (closers run in reverse).
		ws.Start()
		closers = append(closers, func() { ws.Close() })
		d.log.Info("dashboard", "url", d.webURL)
		if firstStart {
			fmt.Fprintf(d.opt.Stdout, "Dashboard: %s (log in as operator or observer with the passwords above)\n", d.webURL)
		}
	}
	st.publishStatus()
	close(d.ready)
	d.log.Info("serving", "robot_id", d.cfg.RobotID, "broker", d.brokerURL, "data_dir", data,
		"arm", d.cfg.Arm.Driver, "dashboard", d.webURL)

	var exited <-chan struct{} // the control process's end (executor.isolate)
	if proc != nil {
		exited = proc.Exited()
	}
	var runErr error
	select {
	case <-ctx.Done():
		d.log.Info("shutting down")
	case <-exited:
		// The arm's driver died with it: stop, so that a supervisor (systemd's
		// Restart=on-failure) starts the daemon and its control process again.
		runErr = fmt.Errorf("daemon: %w", proc.Err())
		d.log.Error("control process exited: shutting down", "err", proc.Err())
	}
	stopLoop() // the loop halts the arm and finishes a recording before it exits
	<-d.loopDone
	srv.Close() // offline status
	d.log.Info("stopped")
	return runErr
}

// seed installs the example skills on the first start only (SeedMarker).
func (d *Daemon) seed(store *skilllib.Store) error {
	if !*d.cfg.Seed {
		return nil
	}
	marker := filepath.Join(d.cfg.DataDir, SeedMarker)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	names, err := seed.Install(store, d.opt.Version)
	if err != nil {
		return fmt.Errorf("daemon: seed: %w", err)
	}
	if err := os.WriteFile(marker, []byte("seed skills installed; delete this file to reinstall missing ones\n"), 0o644); err != nil {
		return fmt.Errorf("daemon: seed marker: %w", err)
	}
	d.log.Info("installed example skills", "skills", names)
	return nil
}

// openArm builds the configured arm (or takes ArmOverride) and the scripted sim hand. A
// bus arm (dynamixel, feetech) is opened on arm.port and set up: every servo pinged,
// return delay 0, torque on holding the present pose; a servo that does not answer fails
// it with an error naming the servo.
func (d *Daemon) openArm(ctx context.Context) (drivers.Arm, *sim.Hand, error) {
	var hand *sim.Hand
	var initial []float64
	if d.cfg.Arm.SimHand != "" {
		demo, err := demos.ReadCSV(d.cfg.Arm.SimHand)
		if err != nil {
			return nil, nil, fmt.Errorf("daemon: arm.sim_hand: %w", err)
		}
		hand, initial, err = handFor(demo, d.cfg.Arm.Model)
		if err != nil {
			return nil, nil, fmt.Errorf("daemon: arm.sim_hand %s: %w", d.cfg.Arm.SimHand, err)
		}
	}
	if d.opt.ArmOverride != nil {
		if s, ok := d.opt.ArmOverride.(*simarm.Arm); ok {
			d.sim = s
		}
		return d.opt.ArmOverride, hand, nil
	}
	switch d.cfg.Arm.Driver {
	case "sim":
		a, err := simarm.New(simarm.Config{Model: d.cfg.Arm.Model, Clock: d.opt.Clock, Seed: d.cfg.Arm.SimSeed, Initial: initial})
		if err != nil {
			return nil, nil, fmt.Errorf("daemon: arm: %w", err)
		}
		d.sim = a
		return a, hand, nil
	case "ros":
		a, err := d.openROSArm(ctx)
		return a, nil, err
	case "pca9685":
		a, err := gobot.OpenPCA9685(d.cfg.Arm.PCA9685)
		if err != nil {
			return nil, nil, fmt.Errorf("daemon: arm: %w", err)
		}
		return a, nil, nil
	case "firmata":
		a, err := gobot.OpenFirmata(d.cfg.Arm.Port, d.cfg.Arm.Firmata)
		if err != nil {
			return nil, nil, fmt.Errorf("daemon: arm: %w", err)
		}
		return a, nil, nil
	case "firmware":
		a, err := d.openFirmwareArm(ctx)
		return a, nil, err
	default: // dynamixel, feetech
		a, err := d.openBusArm(ctx)
		return a, nil, err
	}
}

// openROSArm connects to the arm's ROS driver (arm.driver ros) and waits for its first
// joint states (bounded by SetupTimeout).
func (d *Daemon) openROSArm(ctx context.Context) (drivers.Arm, error) {
	rc := d.cfg.Arm.ROS
	cfg := rosarm.Config{Master: rc.Master, Host: rc.Host, Name: rc.Node, StateTopic: rc.StateTopic,
		Controller: rc.Controller, CommandTopic: rc.CommandTopic, RobotDescription: rc.RobotDescription,
		StaleAfter: rc.StaleAfter, Period: time.Duration(float64(time.Second) / d.cfg.Executor.RateHz),
		Logger: d.log.With("component", "ros-arm")}
	for _, j := range rc.Joints {
		cfg.Joints = append(cfg.Joints, rosarm.Joint{Name: j.Name,
			Limits: joint.Limits{Min: j.Min, Max: j.Max, MaxVel: j.MaxVel, MaxAcc: j.MaxAcc}})
	}
	octx, cancel := context.WithTimeout(ctx, SetupTimeout)
	defer cancel()
	a, err := rosarm.Open(octx, cfg)
	if err != nil {
		master, _ := rosarm.ResolveMaster(rc.Master)
		return nil, fmt.Errorf("daemon: arm (ros, master %s): %w", master, err)
	}
	d.log.Info("ROS arm ready", "joints", joint.Names(a.Joints()), "state_topic", rc.StateTopic)
	return a, nil
}

// openBusArm opens and sets up the servo-bus arm of d.cfg.Arm.
func (d *Daemon) openBusArm(ctx context.Context) (drivers.Arm, error) {
	ac := d.cfg.Arm
	bc, err := ac.BusConfig()
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	a, err := busarm.Open(bc.Port, bc)
	if err != nil {
		return nil, fmt.Errorf("daemon: arm.port: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, SetupTimeout)
	defer cancel()
	if err := a.Setup(sctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("daemon: arm: %s servos on %s at %d bit/s did not set up (check power, wiring, arm.baud and each servo's id): %w",
			ac.Driver, ac.Port, bc.Baud, err)
	}
	d.log.Info("bus arm ready", "driver", ac.Driver, "port", ac.Port, "baud", bc.Baud, "servos", len(bc.Servos))
	return a, nil
}

// handFor maps a demo onto the joints of a sim model: the hand and the first sample
// (the arm's initial position).
func handFor(demo *demos.Demo, model string) (*sim.Hand, []float64, error) {
	probe, err := simarm.New(simarm.Config{Model: model})
	if err != nil {
		return nil, nil, err
	}
	defer probe.Close()
	js := probe.Joints()
	idx := make([]int, len(js))
	for i, j := range js {
		idx[i] = -1
		for k, n := range demo.Joints {
			if n == j.Name {
				idx[i] = k
			}
		}
		if idx[i] < 0 {
			return nil, nil, fmt.Errorf("no column for arm joint %q (have %v)", j.Name, demo.Joints)
		}
	}
	times := make([]float64, demo.Len())
	pos := make([][]float64, demo.Len())
	for k := range demo.T {
		times[k] = demo.T[k] - demo.T[0]
		pos[k] = make([]float64, len(js))
		for i, c := range idx {
			pos[k][i] = js[i].Limits.Clamp(demo.Y[k][c])
		}
	}
	h, err := sim.NewHand(times, pos)
	if err != nil {
		return nil, nil, err
	}
	return h, pos[0], nil
}

func caConfig(path, field string) (*tls.Config, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("daemon: %s: %w", field, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("daemon: %s: %s holds no PEM certificate", field, path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func (d *Daemon) printCredentials(b *broker.Broker) {
	w := d.opt.Stdout
	path := filepath.Join(d.cfg.DataDir, broker.CredentialsFile)
	fmt.Fprintf(w, "Praxis: generated MQTT credentials (shown once; kept in %s, mode 0600):\n", path)
	for _, u := range b.Credentials().Users {
		if u.Role == broker.RoleDaemon {
			continue // the daemon's own password stays in the file (docs/mqtt.md)
		}
		fmt.Fprintf(w, "  %-14s %-9s password %s\n", u.Username, "("+u.Role+")", u.Password)
	}
	op, _ := b.Credentials().Get(broker.OperatorUser)
	fmt.Fprintf(w, "Command the robot as operator, e.g.:\n  mosquitto_pub -h %s -p %s -u %s -P '%s' -q 1 -t praxis/%s/cmd/run -m '{\"id\":\"r1\",\"skill\":\"wave\"}'\n",
		hostOf(b.Addr()), portOf(b.Addr()), op.Username, op.Password, d.cfg.RobotID)
	fmt.Fprintf(w, "Watch as observer: mosquitto_sub -h %s -p %s -u observer -P '<password>' -t 'praxis/%s/#' -v\n",
		hostOf(b.Addr()), portOf(b.Addr()), d.cfg.RobotID)
}

func hostOf(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

// call runs f on the loop and returns its error; it fails promptly once the loop is gone.
func (d *Daemon) call(f func(*state) error) error {
	reply := make(chan error, 1)
	select {
	case d.reqs <- func(s *state) { reply <- f(s) }:
	case <-d.loopDone:
		return core.Reject("", "daemon shutting down")
	}
	select {
	case err := <-reply:
		return err
	case <-d.loopDone:
		return core.Reject("", "daemon shutting down")
	}
}

// service implements core.Service on the daemon's loop.
type service Daemon

func (s *service) d() *Daemon { return (*Daemon)(s) }

// count counts a command the daemon answered, by its error (nil: accepted); it returns err.
func (s *service) count(cmd string, err error) error {
	s.d().metric(func(m *metricsT) {
		if err != nil {
			m.Command(cmd, metrics.Rejected)
		} else {
			m.Command(cmd, metrics.Accepted)
		}
	})
	return err
}

// CommandRefused counts, in praxis_commands_total, a command a front end refused without
// calling the Service: shed under a flood, or rejected as undecodable. The Service counts
// every command it is called for; a front end (the web dashboard) calls this for the rest.
func (d *Daemon) CommandRefused(cmd string, shed bool) { d.refused(cmd, shed) }

// refused counts a command a front end refused without calling the service
// (mqttapi.ServerConfig.Refused, broker.Config.Dropped, the ROS front end).
func (d *Daemon) refused(cmd string, shed bool) {
	d.metric(func(m *metricsT) {
		if shed {
			m.Command(cmd, metrics.Shed)
		} else {
			m.Command(cmd, metrics.Rejected)
		}
	})
}

func (s *service) Run(r core.RunRequest) error {
	return s.count(core.CmdRun, s.d().call(func(st *state) error { return st.startRun(r) }))
}

func (s *service) Cancel(id string) error {
	return s.count(core.CmdCancel, s.d().call(func(st *state) error { return st.cancel(id) }))
}

// EStop latches the executor's e-stop at once (it wins within one control tick) and wakes
// the loop, which stops a recording and publishes the status. It never blocks.
func (s *service) EStop() {
	s.count(core.CmdEStop, nil)
	s.d().estopLatch()
}

// mqttService is the Service the MQTT API calls: the daemon's, except that with the
// embedded broker EStop only counts and answers, since the broker latched the e-stop as it
// took the message (broker.Config.EStop); latching again could undo a reset that overtook it.
type mqttService struct{ *service }

// EStop implements core.Service.
func (m mqttService) EStop() {
	if m.d().estopInBroker {
		m.count(core.CmdEStop, nil)
		return
	}
	m.service.EStop()
}

// DumpFlight implements mqttapi.FlightDumper (cmd/flight): the flight recorder's present
// content written now, as the dashboard's dump does (trigger request); the path is
// relative to the data directory. Refused when the recorder is off (flight.enabled).
func (m mqttService) DumpFlight(reason string) (core.FlightInfo, string, error) {
	fl := m.d().flightLog()
	if fl == nil {
		return core.FlightInfo{}, "", m.count(core.CmdFlight, core.Reject("", "the flight recorder is off (flight.enabled: false)"))
	}
	if reason == "" {
		reason = "requested by cmd/flight"
	}
	info, err := fl.DumpFlight(reason)
	if err != nil {
		return info, "", m.count(core.CmdFlight, err)
	}
	return info, FlightDir + "/" + info.Name, m.count(core.CmdFlight, nil)
}

// Reset clears the e-stop. When the arm can be set up again (a bus arm), no run or
// recording holds it, and it failed since it was last set up (a failed run or telemetry
// read) or fails a probe read now (a servo went silent, faulting the arm), it first
// re-runs the arm's Setup, off the loop: on success the answer says Recovered; on failure the reset is
// refused with the error (naming the servo) and the e-stop is left as it was.
func (s *service) Reset() (core.ResetResult, error) {
	res, err := s.reset()
	return res, s.count(core.CmdReset, err)
}

func (s *service) reset() (core.ResetResult, error) {
	d := s.d()
	var su setupper
	var failed error
	if err := d.call(func(st *state) error { su, failed = st.beginReset(); return nil }); err != nil {
		return core.ResetResult{}, err
	}
	var res core.ResetResult
	var setupErr error
	if su != nil {
		res.Recovered, setupErr = d.recoverArm(su, failed)
	}
	if err := d.call(func(st *state) error {
		was, err := st.reset(res.Recovered, setupErr)
		res.NotLatched = !was
		return err
	}); err != nil {
		return core.ResetResult{}, err
	}
	return res, nil
}

// recoverArm runs su's Setup when failed (the arm's last failure) is not nil or a probe
// read fails now. It reports whether Setup ran and succeeded, or Setup's error.
func (d *Daemon) recoverArm(su setupper, failed error) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ResetSetupTimeout)
	defer cancel()
	if failed == nil {
		st := joint.NewState(len(d.arm.Joints()))
		if failed = d.arm.Read(ctx, &st); failed == nil {
			return false, nil
		}
	}
	d.log.Warn("reset: the arm failed; setting it up again", "err", failed)
	if err := su.Setup(ctx); err != nil {
		return false, err
	}
	d.log.Info("reset: arm set up again")
	return true, nil
}

func (s *service) Record(r core.RecordRequest) error {
	return s.count(core.CmdRecord, s.d().call(func(st *state) error { return st.record(r) }))
}

func (s *service) Learn(r core.LearnRequest) error {
	return s.count(core.CmdLearn, s.d().call(func(st *state) error { return st.learn(r) }))
}

func (s *service) Skills() ([]core.SkillInfo, error) {
	var out []core.SkillInfo
	err := s.d().call(func(st *state) error {
		var err error
		out, err = st.skills()
		return err
	})
	return out, s.count(core.CmdSkills, err)
}

// ListSkills implements mqttapi.SkillLister: Skills, not counted as a command.
func (s *service) ListSkills() ([]core.SkillInfo, error) {
	var out []core.SkillInfo
	err := s.d().call(func(st *state) error {
		var err error
		out, err = st.skills()
		return err
	})
	return out, err
}

var (
	_ core.Service         = (*service)(nil)
	_ core.Service         = mqttService{}
	_ mqttapi.FlightDumper = mqttService{}
)

func (d *Daemon) estopLatch() {
	d.estopped.Store(true)
	if ex := d.exec.Load(); ex != nil {
		(*ex).EStop()
	}
	select {
	case d.estopSig <- struct{}{}:
	default:
	}
}

// serveMetrics starts the metrics-only HTTP listener (metrics.listen) serving /metrics; it
// returns its shutdown.
func (d *Daemon) serveMetrics() (func(), error) {
	ln, err := net.Listen("tcp", d.cfg.Metrics.Listen)
	if err != nil {
		return nil, fmt.Errorf("daemon: metrics.listen: %w", err)
	}
	d.metricsAddr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/metrics", d.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics listener stopped", "err", err)
		}
	}()
	d.log.Info("serving metrics", "url", "http://"+d.metricsAddr+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
