package rosnode

import "github.com/bluenviron/goroslib/v2/pkg/msg"

// The ROS dmp package's messages and services (sniekum/dmp, BSD), field for field, so
// that clients generated from that package (genpy, gencpp) agree on the md5sums. The
// definitions are in ros/dmp; TestMD5MatchesGenpy checks them against genpy.

// DMPPoint is dmp/DMPPoint: positions of every DOF, and velocities (plans only).
type DMPPoint struct {
	msg.Package `ros:"dmp"`
	Positions   []float64 `rosname:"positions"`
	Velocities  []float64 `rosname:"velocities"`
}

// DMPTraj is dmp/DMPTraj: one point per time, times in s.
type DMPTraj struct {
	msg.Package `ros:"dmp"`
	Points      []DMPPoint `rosname:"points"`
	Times       []float64  `rosname:"times"`
}

// DMPData is dmp/DMPData: one DOF of a DMP. FDomain and FTargets sample the forcing
// function F at scaled time t/τ in [0, 1] (the forcing term being F(t/τ)·s, s the phase).
type DMPData struct {
	msg.Package `ros:"dmp"`
	KGain       float64   `rosname:"k_gain"`
	DGain       float64   `rosname:"d_gain"`
	Weights     []float64 `rosname:"weights"`
	FDomain     []float64 `rosname:"f_domain"`
	FTargets    []float64 `rosname:"f_targets"`
}

// LearnDMPFromDemoReq is the request of dmp/LearnDMPFromDemo.
type LearnDMPFromDemoReq struct {
	msg.Package `ros:"dmp"`
	Demo        DMPTraj   `rosname:"demo"`
	KGains      []float64 `rosname:"k_gains"`
	DGains      []float64 `rosname:"d_gains"`
	NumBases    int32     `rosname:"num_bases"`
}

// LearnDMPFromDemoRes is the response of dmp/LearnDMPFromDemo.
type LearnDMPFromDemoRes struct {
	msg.Package `ros:"dmp"`
	DmpList     []DMPData `rosname:"dmp_list"`
	Tau         float64   `rosname:"tau"`
}

// LearnDMPFromDemo is the service dmp/LearnDMPFromDemo.
type LearnDMPFromDemo struct {
	msg.Package `ros:"dmp"`
	LearnDMPFromDemoReq
	LearnDMPFromDemoRes
}

// SetActiveDMPReq is the request of dmp/SetActiveDMP.
type SetActiveDMPReq struct {
	msg.Package `ros:"dmp"`
	DmpList     []DMPData `rosname:"dmp_list"`
}

// SetActiveDMPRes is the response of dmp/SetActiveDMP.
type SetActiveDMPRes struct {
	msg.Package `ros:"dmp"`
	Success     bool `rosname:"success"`
}

// SetActiveDMP is the service dmp/SetActiveDMP.
type SetActiveDMP struct {
	msg.Package `ros:"dmp"`
	SetActiveDMPReq
	SetActiveDMPRes
}

// GetDMPPlanReq is the request of dmp/GetDMPPlan.
type GetDMPPlanReq struct {
	msg.Package   `ros:"dmp"`
	X0            []float64 `rosname:"x_0"`
	XDot0         []float64 `rosname:"x_dot_0"`
	T0            float64   `rosname:"t_0"`
	Goal          []float64 `rosname:"goal"`
	GoalThresh    []float64 `rosname:"goal_thresh"`
	SegLength     float64   `rosname:"seg_length"`
	Tau           float64   `rosname:"tau"`
	Dt            float64   `rosname:"dt"`
	IntegrateIter int32     `rosname:"integrate_iter"`
}

// GetDMPPlanRes is the response of dmp/GetDMPPlan.
type GetDMPPlanRes struct {
	msg.Package `ros:"dmp"`
	Plan        DMPTraj `rosname:"plan"`
	AtGoal      uint8   `rosname:"at_goal"`
}

// GetDMPPlan is the service dmp/GetDMPPlan.
type GetDMPPlan struct {
	msg.Package `ros:"dmp"`
	GetDMPPlanReq
	GetDMPPlanRes
}

// Praxis's own services (package praxis; definitions in ros/praxis).

// SkillInfo is praxis/SkillInfo: one skill of the library.
type SkillInfo struct {
	msg.Package `ros:"praxis"`
	Name        string   `rosname:"name"`
	Version     int32    `rosname:"version"`
	Versions    []int32  `rosname:"versions"`
	Joints      []string `rosname:"joints"`
	Duration    float64  `rosname:"duration"`
}

// ListSkillsReq is the (empty) request of praxis/ListSkills.
type ListSkillsReq struct {
	msg.Package `ros:"praxis"`
}

// ListSkillsRes is the response of praxis/ListSkills; Error is set when the library
// could not be read.
type ListSkillsRes struct {
	msg.Package `ros:"praxis"`
	Skills      []SkillInfo `rosname:"skills"`
	Error       string      `rosname:"error"`
}

// ListSkills is the service praxis/ListSkills.
type ListSkills struct {
	msg.Package `ros:"praxis"`
	ListSkillsReq
	ListSkillsRes
}

// RunSkillReq is the request of praxis/RunSkill (see ros/praxis/srv/RunSkill.srv).
type RunSkillReq struct {
	msg.Package `ros:"praxis"`
	ID          string    `rosname:"id"`
	Skill       string    `rosname:"skill"`
	Version     int32     `rosname:"version"`
	GoalJoints  []string  `rosname:"goal_joints"`
	Goal        []float64 `rosname:"goal"`
	Duration    float64   `rosname:"duration"`
	Wait        bool      `rosname:"wait"`
}

// RunSkillRes is the response of praxis/RunSkill.
type RunSkillRes struct {
	msg.Package `ros:"praxis"`
	Accepted    bool    `rosname:"accepted"`
	ID          string  `rosname:"id"`
	Outcome     string  `rosname:"outcome"`
	Reason      string  `rosname:"reason"`
	FinalError  float64 `rosname:"final_error"`
}

// RunSkill is the service praxis/RunSkill.
type RunSkill struct {
	msg.Package `ros:"praxis"`
	RunSkillReq
	RunSkillRes
}
