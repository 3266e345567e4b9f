package rosnode

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/goroslib/v2/pkg/msgproc"
	"github.com/bluenviron/goroslib/v2/pkg/serviceproc"

	"github.com/praxis-robotics/praxis/internal/rostest"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// fakeCore is a daemon with two joints and one skill, "wave"; a run emits accepted,
// started and succeeded events.
type fakeCore struct {
	mu   sync.Mutex
	subs map[chan []byte]bool
	runs []RunRequest
}

func newFakeCore() *fakeCore { return &fakeCore{subs: map[chan []byte]bool{}} }

func (f *fakeCore) Joints() []string { return []string{"j1", "j2"} }

func (f *fakeCore) JointState(s *joint.State) bool {
	s.Resize(2)
	s.Pos[0], s.Pos[1] = 0.125, -0.5
	return true
}

func (f *fakeCore) Skills(context.Context) ([]SkillSummary, error) {
	return []SkillSummary{{Name: "wave", Version: 2, Versions: []int{1, 2}, Joints: []string{"j1", "j2"}, Duration: 3}}, nil
}

func (f *fakeCore) Run(_ context.Context, r RunRequest) error {
	if r.Skill != "wave" {
		f.emit(fmt.Sprintf(`{"id":%q,"cmd":"run","type":"rejected","reason":"unknown skill %q"}`, r.ID, r.Skill))
		return fmt.Errorf("unknown skill %q", r.Skill)
	}
	f.mu.Lock()
	f.runs = append(f.runs, r)
	f.mu.Unlock()
	f.emit(fmt.Sprintf(`{"id":%q,"cmd":"run","type":"accepted","skill":"wave"}`, r.ID))
	go func() {
		f.emit(fmt.Sprintf(`{"id":%q,"cmd":"run","type":"started","skill":"wave"}`, r.ID))
		f.emit(fmt.Sprintf(`{"id":%q,"cmd":"run","type":"succeeded","skill":"wave","final_error":0.003}`, r.ID))
	}()
	return nil
}

func (f *fakeCore) emit(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.subs {
		select {
		case c <- []byte(s):
		default: // drop for a slow reader, as the daemon does
		}
	}
}

func (f *fakeCore) Events(ctx context.Context) <-chan []byte {
	c := make(chan []byte, 64)
	f.mu.Lock()
	f.subs[c] = true
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs, c)
		close(c)
		f.mu.Unlock()
	}()
	return c
}

var (
	genOnce sync.Once
	genDir  string
	genErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if genDir != "" {
		os.RemoveAll(genDir)
	}
	os.Exit(code)
}

// genpy generates the Python modules of packages dmp and praxis from ros/ (once per
// test binary) and returns their directory (for PYTHONPATH).
func genpy(t *testing.T) string {
	t.Helper()
	rostest.Need(t, rostest.Python, "/usr/lib/genpy/genmsg_py.py")
	genOnce.Do(func() { genDir, genErr = generate() })
	if genErr != nil {
		t.Fatal(genErr)
	}
	return genDir
}

func generate() (string, error) {
	out, err := os.MkdirTemp("", "rosnode-genpy-")
	if err != nil {
		return "", err
	}
	var failed error
	run := func(args ...string) {
		if failed != nil {
			return
		}
		if b, err := exec.Command(rostest.Python, args...).CombinedOutput(); err != nil {
			failed = fmt.Errorf("%v: %v\n%s", args, err, b)
		}
	}
	for _, pkg := range []string{"dmp", "praxis"} {
		src, _ := filepath.Abs(filepath.Join("ros", pkg))
		dst := filepath.Join(out, pkg)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return out, err
		}
		if err := os.WriteFile(filepath.Join(dst, "__init__.py"), nil, 0o644); err != nil {
			return out, err
		}
		inc := "-I" + pkg + ":" + filepath.Join(src, "msg")
		msgs, _ := filepath.Glob(filepath.Join(src, "msg", "*.msg"))
		srvs, _ := filepath.Glob(filepath.Join(src, "srv", "*.srv"))
		for _, m := range msgs {
			run("/usr/lib/genpy/genmsg_py.py", "-p", pkg, inc, "-o", filepath.Join(dst, "msg"), m)
		}
		run("/usr/lib/genpy/genmsg_py.py", "--initpy", "-p", pkg, "-o", filepath.Join(dst, "msg"))
		for _, s := range srvs {
			run("/usr/lib/genpy/gensrv_py.py", "-p", pkg, inc, "-o", filepath.Join(dst, "srv"), s)
		}
		run("/usr/lib/genpy/gensrv_py.py", "--initpy", "-p", pkg, "-o", filepath.Join(dst, "srv"))
	}
	return out, failed
}

func TestMD5MatchesGenpy(t *testing.T) {
	dir := genpy(t)
	py := `import json
from dmp.srv import *; from dmp.msg import *; from praxis.srv import *; from praxis.msg import *
print(json.dumps({c._type: c._md5sum for c in (LearnDMPFromDemo, SetActiveDMP, GetDMPPlan, DMPData, DMPTraj, DMPPoint, RunSkill, ListSkills, SkillInfo)}))`
	cmd := exec.Command(rostest.Python, "-c", py)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	var want map[string]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	got := map[string]string{}
	for _, s := range []any{LearnDMPFromDemo{}, SetActiveDMP{}, GetDMPPlan{}, RunSkill{}, ListSkills{}} {
		ty, _ := serviceproc.Type(s)
		got[ty], _ = serviceproc.MD5(s)
	}
	for _, m := range []any{DMPData{}, DMPTraj{}, DMPPoint{}, SkillInfo{}} {
		ty, _ := msgproc.Type(m)
		got[ty], _ = msgproc.MD5(m)
	}
	if len(want) != 9 {
		t.Fatalf("genpy gave %v", want)
	}
	for ty, md5 := range want {
		if got[ty] != md5 {
			t.Errorf("%s: md5 %s, genpy %s", ty, got[ty], md5)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	core := newFakeCore()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Robot: "arm1"}, "Core"},
		{Config{Robot: "arm-1", Core: core}, "robot id"},
		{Config{Robot: "arm1", Core: core, Name: "a b"}, "node"},
		{Config{Robot: "arm1", Core: core, DMPNamespace: "x"}, "dmp_namespace"},
		{Config{Robot: "arm1", Core: core, StateRate: -1}, "state_rate"},
		{Config{Robot: "arm1", Core: core, Master: "ftp://x:1"}, "master"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want it to name %q", tc.cfg, err, tc.want)
		}
	}
}

// TestRospyClient runs a rospy client in the style of the dmp package's tutorial, then
// lists skills and runs one through Praxis's services, with events on the topic.
func TestRospyClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rosmaster and rospy")
	}
	m := rostest.StartMaster(t)
	rostest.Need(t, "rostopic")
	pyPath := genpy(t)
	core := newFakeCore()
	n, err := New(Config{Enabled: true, Master: m.URI, Host: "127.0.0.1", Robot: "arm1", Core: core, CheckEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()

	cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer ccancel()
	cmd := m.Command(cctx, rostest.Python, "testdata/dmp_client.py", "arm1")
	cmd.Env = append(cmd.Env, "PYTHONPATH="+pyPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("client: %v\n%s\n%s", err, b, stderr.String())
	}
	var out struct {
		Tau       float64
		Dmps      int
		SetActive bool `json:"set_active"`
		AtGoal    int  `json:"at_goal"`
		Times     []float64
		Last      []float64
		Skills    [][]any
		Run       []any
		Bad       []any
		Events    [][]string
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if out.Tau != 3 || out.Dmps != 2 || !out.SetActive {
		t.Errorf("learn/set active: %+v", out)
	}
	if out.AtGoal != 1 || len(out.Last) != 2 || abs(out.Last[0]-8) > 0.2 || abs(out.Last[1]-7) > 0.2 || len(out.Times) < 6 || out.Times[0] != 1 {
		t.Errorf("plan: at_goal %d, ends at %v, times %v", out.AtGoal, out.Last, out.Times)
	}
	if fmt.Sprint(out.Skills) != "[[wave 2 [j1 j2]]]" {
		t.Errorf("skills %v", out.Skills)
	}
	if fmt.Sprint(out.Run) != "[true py1 succeeded  0.003]" {
		t.Errorf("run %v", out.Run)
	}
	if len(out.Bad) != 3 || out.Bad[0] != false || out.Bad[1] != "rejected" || !strings.Contains(fmt.Sprint(out.Bad[2]), `unknown skill "nope"`) {
		t.Errorf("bad run %v", out.Bad)
	}
	core.mu.Lock()
	runs := core.runs
	core.mu.Unlock()
	if len(runs) != 1 || runs[0].ID != "py1" || runs[0].Goal["j1"] != 0.25 || runs[0].Duration != 2 {
		t.Errorf("runs reaching the core: %+v", runs)
	}
	if s := fmt.Sprint(out.Events); !strings.Contains(s, "[py1 accepted] [py1 started] [py1 succeeded]") {
		t.Errorf("events on /praxis/arm1/events: %s", s)
	}
	// Joint states, seen by rostopic.
	ectx, ecancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ecancel()
	js, err := m.Command(ectx, "rostopic", "echo", "-n", "1", n.JointStatesTopic()).CombinedOutput()
	if err != nil || !strings.Contains(string(js), "- j1\n  - j2") || !strings.Contains(string(js), "position: [0.125, -0.5]") {
		t.Errorf("rostopic echo: %v\n%s", err, js)
	}

	// The master restarts: the node registers again and its services answer.
	<-n.Connected() // the first registration
	m.Restart()
	select {
	case <-n.Connected():
	case <-time.After(30 * time.Second):
		t.Fatal("no registration with the restarted master")
	}
	if c := n.Connections(); c != 2 {
		t.Errorf("%d registrations", c)
	}
	lctx, lcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer lcancel()
	py := m.Command(lctx, rostest.Python, "-c", `import sys, rospy
from praxis.srv import ListSkills
rospy.wait_for_service(sys.argv[1], timeout=20)
print([s.name for s in rospy.ServiceProxy(sys.argv[1], ListSkills)().skills])`, n.ListService())
	py.Env = append(py.Env, "PYTHONPATH="+pyPath)
	ls, err := py.CombinedOutput()
	if err != nil || !strings.Contains(string(ls), "['wave']") {
		t.Errorf("list_skills after the master restarted: %v\n%s", err, ls)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
