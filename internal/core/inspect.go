package core

import "time"

// This file is the read side of the daemon and its data edits, for front ends that show
// more than MQTT's events (the web dashboard): the arm, the skill library in detail, the
// demonstrations, the recent runs and the flight recordings. Commands still go through
// Service; a front end authorises Editor calls like commands (operators only).

// Trajectory is a sampled joint trajectory: at T[k] seconds, joint Joints[i] is at
// Pos[k][i] (rad or m).
type Trajectory struct {
	Joints []string    `json:"joints"`
	T      []float64   `json:"t"`
	Pos    [][]float64 `json:"pos"`
}

// JointInfo describes one joint of the arm.
type JointInfo struct {
	Name   string  `json:"name"`
	Min    float64 `json:"min"`     // lower position limit, rad or m
	Max    float64 `json:"max"`     // upper position limit
	MaxVel float64 `json:"max_vel"` // velocity limit, rad/s or m/s (0: none)
}

// ArmInfo describes the arm the daemon drives.
type ArmInfo struct {
	Robot  string      `json:"robot"`  // robot id
	Driver string      `json:"driver"` // arm.driver: sim, dynamixel, ...
	Model  string      `json:"model"`  // arm model (so101, ur5, panda, a URDF path) when known
	Joints []JointInfo `json:"joints"`
	// Leader: a leader arm is configured (a recording can be a teleoperation).
	Leader bool `json:"leader"`
}

// SkillDetail is one version of a skill with its provenance and nominal rollout.
type SkillDetail struct {
	Name          string          `json:"name"`
	Version       int             `json:"version"`  // the version described
	Versions      []int           `json:"versions"` // every stored version, ascending
	Joints        []string        `json:"joints"`
	Duration      float64         `json:"duration"` // nominal duration, s
	Basis         int             `json:"basis"`
	Created       time.Time       `json:"created"`
	PraxisVersion string          `json:"praxis_version,omitempty"`
	Demos         []string        `json:"demos"` // source demo names, in order
	FitError      []JointFitError `json:"fit_error,omitempty"`
	// Rollout is the skill's nominal rollout (its own start, goal and duration).
	Rollout Trajectory `json:"rollout"`
	// DemoData are the source demonstrations still stored, time from 0, in Demos order
	// (a demo deleted since is left out).
	DemoData []Trajectory `json:"demo_data,omitempty"`
}

// DemoInfo describes one stored demonstration.
type DemoInfo struct {
	Name      string    `json:"name"`
	Joints    []string  `json:"joints"`
	Samples   int       `json:"samples"`
	Seconds   float64   `json:"seconds"`
	RateHz    float64   `json:"rate_hz"`
	Started   time.Time `json:"started"`
	Source    string    `json:"source"`             // recorded or imported
	Teaching  string    `json:"teaching,omitempty"` // kinesthetic, leader, ...
	Recovered bool      `json:"recovered,omitempty"`
}

// RunRecord is one finished (or current) run: its outcome and, for the dashboard,
// planned against measured trajectories.
type RunRecord struct {
	ID         string    `json:"id"`
	Skill      string    `json:"skill"`
	Version    int       `json:"version"`
	Start      time.Time `json:"start"`
	Outcome    EventType `json:"outcome"` // Started while it runs, then the terminal type
	Reason     string    `json:"reason,omitempty"`
	FinalError float64   `json:"final_error,omitempty"`
	// Planned and Measured share their time base (s from the run's start); both are
	// left empty in a listing.
	Planned  Trajectory `json:"planned"`
	Measured Trajectory `json:"measured"`
}

// FlightInfo describes one flight recording: the last seconds of full-rate state before
// a fault, abort or e-stop (or a request).
type FlightInfo struct {
	Name    string    `json:"name"` // file name in the daemon's flight directory
	Time    time.Time `json:"time"` // when it was written
	Reason  string    `json:"reason"`
	Seconds float64   `json:"seconds"`
	Samples int       `json:"samples"`
}

// FlightData is a flight recording's samples: at T[k] (s, negative: before the trigger,
// which is at 0), the measured and planned positions and the commanded positions.
type FlightData struct {
	FlightInfo
	Joints   []string    `json:"joints"`
	T        []float64   `json:"t"`
	Measured [][]float64 `json:"measured"`
	Planned  [][]float64 `json:"planned"`
	Command  [][]float64 `json:"command"`
}

// Inspector is the daemon's read side. Its methods never move the arm and may be called
// from any goroutine; errors for unknown names are *Rejection naming the field.
type Inspector interface {
	Arm() ArmInfo
	SkillDetail(name string, version int) (SkillDetail, error)
	// Preview plans r as Run would (same goal checks, approach and duration), from the
	// arm's present position, without moving: the planned trajectory.
	Preview(r RunRequest) (Trajectory, error)
	Demos() ([]DemoInfo, error)
	Demo(name string) (Trajectory, error)
	// Runs lists the recent runs, newest first, without trajectories.
	Runs() ([]RunRecord, error)
	Run(id string) (RunRecord, error)
}

// Editor changes stored demonstrations (operators only).
type Editor interface {
	// TrimDemo keeps the samples of demo name between from and to seconds (from its
	// start) as demo newName (name itself when newName is ""), time starting at 0.
	TrimDemo(name string, from, to float64, newName string) (DemoInfo, error)
	RenameDemo(name, newName string) error
	DeleteDemo(name string) error
}

// FlightLog lists and reads the flight recordings and writes one on request.
type FlightLog interface {
	Flights() ([]FlightInfo, error)
	Flight(name string) (FlightData, error)
	// DumpFlight writes the recorder's present content now (operators only).
	DumpFlight(reason string) (FlightInfo, error)
}
