package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"gopkg.in/yaml.v3"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

// fakeService is a scripted daemon: skill "wave" succeeds, "fail" fails, other skills
// are rejected; recordings of demos named auto-* end by themselves.
type fakeService struct {
	srv *mqttapi.Server

	mu        sync.Mutex
	runs      []mqttapi.RunRequest
	learns    []mqttapi.LearnRequest
	records   []mqttapi.RecordRequest
	cancels   []string
	estops    int
	resets    int
	reset     []error           // answers of the next resets: nil accepts recovering the arm, an error rejects; none left: plain accept
	recording map[string]string // demo name → id of its start command
	latched   bool              // e-stop latched: runs are rejected as the daemon does
	noFlight  bool              // no flight recorder: cmd/flight is rejected
	dumps     []string          // reasons of cmd/flight
}

// DumpFlight implements mqttapi.FlightDumper (cmd/flight).
func (f *fakeService) DumpFlight(reason string) (mqttapi.FlightInfo, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noFlight {
		return mqttapi.FlightInfo{}, "", mqttapi.Reject("", "the flight recorder is off (flight.enabled: false)")
	}
	f.dumps = append(f.dumps, reason)
	name := "20261202T101500.000Z-request.flight.json.gz"
	return mqttapi.FlightInfo{Name: name, Samples: 5001, Seconds: 10.002}, "flight/" + name, nil
}

var fakeSkills = []mqttapi.SkillInfo{
	{Name: "wave", Version: 2, Versions: []int{1, 2}, Joints: []string{"j1", "j2", "j3"}, Duration: 3},
	{Name: "fail", Version: 1, Versions: []int{1}, Joints: []string{"j1"}, Duration: 1},
}

func (f *fakeService) Run(r mqttapi.RunRequest) error {
	f.mu.Lock()
	f.runs = append(f.runs, r)
	latched := f.latched
	f.mu.Unlock()
	if latched {
		return mqttapi.Reject("", "e-stop latched: send cmd/reset first")
	}
	for j, q := range r.Goal {
		if j != "j1" && j != "j2" && j != "j3" {
			return mqttapi.Reject("goal."+j, "unknown joint %q", j)
		}
		if q > 1.7 {
			return mqttapi.Reject("goal."+j, "%g rad is outside [-1.7, 1.7]", q)
		}
	}
	ev := func(t mqttapi.EventType) mqttapi.Event {
		return mqttapi.Event{ID: r.ID, Cmd: mqttapi.CmdRun, Type: t, Skill: r.Skill}
	}
	switch r.Skill {
	case "wave":
		f.srv.Publish(ev(mqttapi.Started))
		for _, p := range []float64{0.25, 0.5, 0.75, 1} {
			e := ev(mqttapi.Progress)
			e.Progress = p
			f.srv.Publish(e)
		}
		e := ev(mqttapi.Succeeded)
		e.FinalError = 0.0031
		f.srv.Publish(e)
	case "fail":
		f.srv.Publish(ev(mqttapi.Started))
		e := ev(mqttapi.Failed)
		e.Reason = "tracking error 0.4 rad exceeds 0.2 rad"
		f.srv.Publish(e)
	default:
		return mqttapi.Reject("skill", "unknown skill %q", r.Skill)
	}
	return nil
}

func (f *fakeService) Cancel(id string) error {
	if id != "r1" {
		return mqttapi.Reject("id", "no run %q", id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, id)
	return nil
}

func (f *fakeService) EStop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.estops++
	f.latched = true
}

func (f *fakeService) Reset() (mqttapi.ResetResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets++
	was := f.latched
	f.latched = false
	if len(f.reset) == 0 {
		return mqttapi.ResetResult{NotLatched: !was}, nil
	}
	err := f.reset[0]
	f.reset = f.reset[1:]
	return mqttapi.ResetResult{Recovered: err == nil}, err
}

func (f *fakeService) Record(r mqttapi.RecordRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, r)
	ev := func(id string, t mqttapi.EventType) mqttapi.Event {
		return mqttapi.Event{ID: id, Cmd: mqttapi.CmdRecord, Type: t, Demo: r.Demo}
	}
	switch r.Action {
	case mqttapi.RecordStart:
		f.srv.Publish(ev(r.ID, mqttapi.Started))
		for _, sec := range []float64{0.5, 0.9, 1.2} { // like the daemon: samples and seconds
			p := ev(r.ID, mqttapi.Progress)
			p.Samples, p.Seconds = int(sec*100), sec
			f.srv.Publish(p)
		}
		if strings.HasPrefix(r.Demo, "auto") {
			e := ev(r.ID, mqttapi.Succeeded)
			e.Samples, e.Seconds, e.Path = 100, 0.99, "demos/"+r.Demo+".csv"
			if strings.HasPrefix(r.Demo, "auto-short") {
				e.Warning = "short: 0.99 s (a whole motion, rest to rest, usually takes 2-10 s)"
			}
			f.srv.Publish(e)
			return nil
		}
		f.recording[r.Demo] = r.ID
	case mqttapi.RecordStop:
		start, ok := f.recording[r.Demo]
		if !ok {
			return mqttapi.Reject("demo", "not recording %q", r.Demo)
		}
		delete(f.recording, r.Demo)
		e := ev(start, mqttapi.Succeeded)
		e.Samples, e.Seconds, e.Path = 250, 2.49, "demos/"+r.Demo+".csv"
		f.srv.Publish(e)
	}
	return nil
}

func (f *fakeService) Learn(r mqttapi.LearnRequest) error {
	f.mu.Lock()
	f.learns = append(f.learns, r)
	f.mu.Unlock()
	for i, d := range r.Demos {
		if d == "missing" {
			return mqttapi.Reject(fmt.Sprintf("demos[%d]", i), "no demo %q", d)
		}
	}
	f.srv.Publish(mqttapi.Event{ID: r.ID, Cmd: mqttapi.CmdLearn, Type: mqttapi.Started, Skill: r.Skill})
	f.srv.Publish(mqttapi.Event{ID: r.ID, Cmd: mqttapi.CmdLearn, Type: mqttapi.Succeeded, Skill: r.Skill, Version: 3,
		FitError: []mqttapi.JointFitError{{Joint: "j1", RMSE: 0.0012, Max: 0.004, End: 0.0001}, {Joint: "j2", RMSE: 0.0021, Max: 0.0075, End: 0}}})
	return nil
}

func (f *fakeService) Skills() ([]mqttapi.SkillInfo, error) { return fakeSkills, nil }

func (f *fakeService) snapshot() fakeService {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeService{runs: append([]mqttapi.RunRequest(nil), f.runs...), learns: append([]mqttapi.LearnRequest(nil), f.learns...),
		records: append([]mqttapi.RecordRequest(nil), f.records...), cancels: append([]string(nil), f.cancels...),
		estops: f.estops, resets: f.resets}
}

// testBed is a broker, its credentials file in a data dir, and optionally a fake daemon.
type testBed struct {
	b     *broker.Broker
	data  string
	creds broker.Credentials
	svc   *fakeService
	srv   *mqttapi.Server
}

// conn returns the connection flags for the bed: credentials come from --data.
func (tb *testBed) conn() []string {
	return []string{"--broker", tb.b.URL(), "--data", tb.data, "--timeout", "3s"}
}

// newBed starts a broker and writes its credentials file; with daemon, a fake daemon too.
func newBed(t *testing.T, withDaemon bool) *testBed {
	t.Helper()
	t.Setenv(envMQTTUser, "")
	t.Setenv(envMQTTPassword, "")
	t.Setenv(envBroker, "")
	t.Setenv(daemon.EnvData, "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir()) // no daemon of the developer's is found
	t.Setenv("XDG_DATA_HOME", t.TempDir())   // nor its default data directory
	tb := &testBed{b: mqtttest.Embedded(t), data: t.TempDir()}
	tb.creds = tb.b.Credentials()
	y, err := yaml.Marshal(tb.creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tb.data, broker.CredentialsFile), y, 0o600); err != nil {
		t.Fatal(err)
	}
	if !withDaemon {
		return tb
	}
	du, _ := tb.creds.ByRole(broker.RoleDaemon)
	tb.svc = &fakeService{recording: map[string]string{}}
	tb.srv, err = mqttapi.NewServer(mqttapi.ServerConfig{Broker: tb.b.URL(), Username: du.Username, Password: du.Password,
		ProgressRate: 1e6}, tb.svc)
	if err != nil {
		t.Fatal(err)
	}
	tb.svc.srv = tb.srv
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tb.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.srv.Close() })
	return tb
}

// praxis runs the CLI in-process with the bed's connection flags appended.
func (tb *testBed) praxis(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	return offlineRun(t, append(args, tb.conn()...)...)
}

func wantStatus(t *testing.T, got, want int, stdout, stderr string) {
	t.Helper()
	if got != want {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", got, want, stdout, stderr)
	}
}

func wantContains(t *testing.T, what, text string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(text, s) {
			t.Errorf("%s lacks %q:\n%s", what, s, text)
		}
	}
}

func TestClientRunSucceeded(t *testing.T) {
	tb := newBed(t, true)
	stdout, stderr, status := tb.praxis(t, "run", "wave", "--duration", "2.5", "--version", "2", "--id", "r7")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "stdout", stdout, "run r7: accepted skill wave v2", "run r7: started",
		"run r7: progress 50%", "run r7: progress 100%", "run r7: succeeded skill wave, final error 0.0031 rad")
	// events in order, final error last
	if i, j := strings.Index(stdout, "started"), strings.Index(stdout, "succeeded"); i < 0 || j < i {
		t.Errorf("events out of order:\n%s", stdout)
	}
	runs := tb.svc.snapshot().runs
	want := mqttapi.RunRequest{ID: "r7", Skill: "wave", Version: 2, Duration: 2.5}
	if len(runs) != 1 || !reflect.DeepEqual(runs[0], want) {
		t.Fatalf("runs %+v, want [%+v]", runs, want)
	}
}

func TestClientRunFailedAndRejected(t *testing.T) {
	tb := newBed(t, true)
	stdout, stderr, status := tb.praxis(t, "run", "fail")
	wantStatus(t, status, 1, stdout, stderr)
	wantContains(t, "stderr", stderr, "failed: tracking error 0.4 rad exceeds 0.2 rad")
	wantContains(t, "stdout", stdout, ": started")

	stdout, stderr, status = tb.praxis(t, "run", "wave", "--goal", "j2=3.5")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "stderr", stderr, "rejected by the daemon", "goal.j2: 3.5 rad is outside [-1.7, 1.7]")

	stdout, stderr, status = tb.praxis(t, "run", "nope")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "stderr", stderr, `skill: unknown skill "nope"`)
	if strings.Contains(stdout, "succeeded") {
		t.Errorf("rejected run printed success:\n%s", stdout)
	}
}

func TestClientRunGoal(t *testing.T) {
	tb := newBed(t, true)
	_, stderr, status := tb.praxis(t, "run", "wave", "--goal", "0.1, 0.2,-0.3")
	wantStatus(t, status, 0, "", stderr)
	_, stderr, status = tb.praxis(t, "run", "wave", "--goal", "j3=0.5,j1=-1")
	wantStatus(t, status, 0, "", stderr)
	runs := tb.svc.snapshot().runs
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	if want := map[string]float64{"j1": 0.1, "j2": 0.2, "j3": -0.3}; !reflect.DeepEqual(runs[0].Goal, want) {
		t.Errorf("positional goal %v, want %v", runs[0].Goal, want)
	}
	if want := map[string]float64{"j3": 0.5, "j1": -1}; !reflect.DeepEqual(runs[1].Goal, want) {
		t.Errorf("named goal %v, want %v", runs[1].Goal, want)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "wave", "--goal", "0.1,0.2"}, "2 values, want 3 (one per joint of \"wave\": j1,j2,j3)"},
		{[]string{"run", "ghost", "--goal", "0.1"}, `unknown skill "ghost" (the daemon has: wave, fail)`},
		{[]string{"run", "wave", "--goal", "0.1,x,0.3"}, `--goal item 2: "x" is not a number`},
		{[]string{"run", "wave", "--goal", "j1=1,j1=2"}, `joint "j1" given twice`},
		{[]string{"run", "wave", "--goal", "j1=1,0.2"}, "want name=value"},
		{[]string{"run", "wave", "--goal", "j1=NaN"}, "not a finite number"},
		{[]string{"run", "wave", "--duration", "-1"}, "--duration -1"},
		{[]string{"run", "wave", "--version", "0"}, "--version 0"},
		{[]string{"run", "wave", "--robot", "a/b"}, "--robot"},
		{[]string{"run"}, "accepts 1 arg"},
	} {
		stdout, stderr, status := tb.praxis(t, c.args...)
		wantStatus(t, status, 2, stdout, stderr)
		wantContains(t, strings.Join(c.args, " "), stderr, c.msg)
	}
	stdout, stderr, status := offlineRun(t, "run", "wave", "--broker", tb.b.URL(), "--data", tb.data, "--timeout", "0s")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "--timeout 0s", stderr, "--timeout 0s: want a positive duration")
	if n := len(tb.svc.snapshot().runs); n != 2 {
		t.Errorf("bad input sent runs: %d runs, want 2", n)
	}
}

func TestClientSkills(t *testing.T) {
	tb := newBed(t, true)
	stdout, stderr, status := tb.praxis(t, "skills")
	wantStatus(t, status, 0, stdout, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 rows:\n%s", stdout)
	}
	for i, re := range []string{`^NAME\s+VERSION\s+VERSIONS\s+JOINTS\s+DURATION$`,
		`^fail\s+1\s+1\s+j1\s+1 s$`, `^wave\s+2\s+1,2\s+j1,j2,j3\s+3 s$`} {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}

	stdout, stderr, status = tb.praxis(t, "skills", "--json")
	wantStatus(t, status, 0, stdout, stderr)
	var got []mqttapi.SkillInfo
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("--json: %v:\n%s", err, stdout)
	}
	want := []mqttapi.SkillInfo{fakeSkills[1], fakeSkills[0]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("--json %+v, want %+v", got, want)
	}
}

func TestClientRecord(t *testing.T) {
	tb := newBed(t, true)
	// A recording that ends by itself: start follows it to the end.
	stdout, stderr, status := tb.praxis(t, "record", "start", "auto-1")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "start stdout", stdout, "record start auto-1: accepted",
		"recording demo auto-1; move the arm through the whole motion, rest to rest (usually 2-10 s); Ctrl-C or `praxis record stop auto-1` to stop; --no-follow returns at once\n",
		"recording auto-1: 50 samples, 0.50 s\nrecording auto-1: 120 samples, 1.20 s\n",
		"recorded auto-1: 100 samples, 0.99 s, saved as demos/auto-1.csv in the daemon's data directory\n")
	if stderr != "" {
		t.Errorf("a recording with no warning wrote to stderr: %q", stderr)
	}
	// The daemon's warning (demos.Check) reaches the user on stderr.
	stdout, stderr, status = tb.praxis(t, "record", "start", "auto-short")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "short recording stderr", stderr, "warning: demo auto-short: short: 0.99 s (a whole motion, rest to rest, usually takes 2-10 s)\n")
	if strings.Contains(stdout, "warning") {
		t.Errorf("the warning went to stdout (and as an unknown field?):\n%s", stdout)
	}

	// Ctrl-C while following stops the recording and prints its result.
	intr := make(chan os.Signal, 1)
	old := interrupts
	interrupts = func() (<-chan os.Signal, func()) { return intr, func() {} }
	defer func() { interrupts = old }()
	go func() {
		for {
			tb.svc.mu.Lock()
			_, started := tb.svc.recording["manual-1"]
			tb.svc.mu.Unlock()
			if started {
				intr <- os.Interrupt
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	stdout, stderr, status = tb.praxis(t, "record", "start", "manual-1")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "Ctrl-C stdout", stdout, "interrupted: stopping recording manual-1 (Ctrl-C again to stop waiting)\n",
		"recorded manual-1: 250 samples, 2.49 s, saved as demos/manual-1.csv")

	stdout, stderr, status = tb.praxis(t, "record", "start", "pick-1", "--no-follow")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "start --no-follow stdout", stdout, "record start pick-1: accepted")
	if strings.Contains(stdout, "samples") {
		t.Errorf("--no-follow followed:\n%s", stdout)
	}
	stdout, stderr, status = tb.praxis(t, "record", "stop", "pick-1")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "stop stdout", stdout, "record stop pick-1: accepted",
		"recorded pick-1: 250 samples, 2.49 s, saved as demos/pick-1.csv in the daemon's data directory\n")

	stdout, stderr, status = tb.praxis(t, "record", "stop", "pick-1")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "stderr", stderr, `rejected by the daemon: demo: not recording "pick-1"`)

	stdout, stderr, status = tb.praxis(t, "record", "start", "--leader", "tele-1", "--no-follow")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "start --leader stdout", stdout, "record start tele-1: accepted")
	_, stderr, status = tb.praxis(t, "record", "stop", "tele-1", "--leader")
	wantStatus(t, status, 2, "", stderr)

	recs := tb.svc.snapshot().records
	want := []mqttapi.RecordRequest{{Action: "start", Demo: "auto-1"}, {Action: "start", Demo: "auto-short"},
		{Action: "start", Demo: "manual-1"}, {Action: "stop", Demo: "manual-1"}, {Action: "start", Demo: "pick-1"},
		{Action: "stop", Demo: "pick-1"}, {Action: "stop", Demo: "pick-1"}, {Action: "start", Demo: "tele-1", Leader: true}}
	for i := range recs {
		recs[i].ID = ""
	}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("records %+v, want %+v", recs, want)
	}

	_, stderr, status = tb.praxis(t, "record", "pause", "x")
	wantStatus(t, status, 2, "", stderr)
}

func TestClientEStopResetCancel(t *testing.T) {
	tb := newBed(t, true)
	stdout, stderr, status := tb.praxis(t, "estop")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "estop", stdout, "accepted: e-stop latched on robot arm1")
	// The daemon's MQTT wording ("send cmd/reset first") reads as a command for CLI users.
	stdout, stderr, status = tb.praxis(t, "run", "wave")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "run while latched", stderr, "e-stop latched: run `praxis reset` first")
	if strings.Contains(stderr, "cmd/reset") {
		t.Errorf("CLI user told to send cmd/reset:\n%s", stderr)
	}
	stdout, stderr, status = tb.praxis(t, "reset")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "reset", stdout, "accepted: e-stop cleared")
	if strings.Contains(stdout, "faulted") {
		t.Errorf("plain reset reports a recovery:\n%s", stdout)
	}
	tb.svc.mu.Lock()
	tb.svc.reset = []error{nil, mqttapi.Reject("", "arm faulted and did not recover: servo 4 (wrist_flex): no reply; e-stop still latched")}
	tb.svc.mu.Unlock()
	stdout, stderr, status = tb.praxis(t, "reset")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "reset that recovered", stdout, "accepted: e-stop cleared", ": the arm had faulted; its servos answer again")
	stdout, stderr, status = tb.praxis(t, "reset")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "reset that did not recover", stderr, "reset rejected by the daemon: arm faulted and did not recover: servo 4 (wrist_flex): no reply; e-stop still latched")
	stdout, stderr, status = tb.praxis(t, "reset")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "reset with nothing latched", stdout, "accepted: nothing to reset (e-stop not latched) on robot arm1")
	if strings.Contains(stdout, "cleared") {
		t.Errorf("reset with nothing latched says cleared:\n%s", stdout)
	}
	stdout, stderr, status = tb.praxis(t, "cancel", "r1")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "cancel", stdout, "cancel r1: accepted")
	stdout, stderr, status = tb.praxis(t, "cancel", "r2")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "cancel r2", stderr, `rejected by the daemon: id: no run "r2"`)

	s := tb.svc.snapshot()
	if s.estops != 1 || s.resets != 4 || !reflect.DeepEqual(s.cancels, []string{"r1"}) {
		t.Fatalf("service saw %d estops, %d resets, cancels %v; want 1, 4, [r1]", s.estops, s.resets, s.cancels)
	}
}

func TestClientLearnFromDaemon(t *testing.T) {
	tb := newBed(t, true)
	stdout, stderr, status := tb.praxis(t, "learn", "--from-daemon", "--name", "pick", "pick-1", "pick-2", "--basis", "30")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "stdout", stdout, "learn ", ": started skill pick", "learned skill pick version 3 on the daemon\n")
	if !regexp.MustCompile(`(?m)^joint\s+rmse\s+max\s+end\s+\(rad or m\)\n` +
		`j1\s+0\.0012\s+0\.004\s+0\.0001\s*\nj2\s+0\.0021\s+0\.0075\s+0\s*$`).MatchString(stdout) {
		t.Errorf("no fit error table in:\n%s", stdout)
	}
	stdout, stderr, status = tb.praxis(t, "learn", "--from-daemon", "--name", "pick", "pick-3")
	wantStatus(t, status, 0, stdout, stderr)
	stdout, stderr, status = tb.praxis(t, "learn", "--from-daemon", "--name", "pick", "pick-1", "missing")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "stderr", stderr, `rejected by the daemon: demos[1]: no demo "missing"`)

	learns := tb.svc.snapshot().learns
	for i := range learns {
		learns[i].ID = ""
	}
	want := []mqttapi.LearnRequest{{Skill: "pick", Demos: []string{"pick-1", "pick-2"}, Basis: 30},
		{Skill: "pick", Demos: []string{"pick-3"}}, {Skill: "pick", Demos: []string{"pick-1", "missing"}}}
	if !reflect.DeepEqual(learns, want) {
		t.Fatalf("learns %+v, want %+v", learns, want)
	}

	for _, args := range [][]string{
		{"learn", "--from-daemon", "pick-1"},
		{"learn", "--from-daemon", "--name", "p", "pick-1", "-o", "x.json"},
		{"learn", "--from-daemon", "--name", "p", "pick-1", "--basis", "0"},
	} {
		_, stderr, status := tb.praxis(t, args...)
		wantStatus(t, status, 2, "", stderr)
	}
	if n := len(tb.svc.snapshot().learns); n != 3 {
		t.Errorf("bad input sent learns: %d, want 3", n)
	}
}

func TestClientStatus(t *testing.T) {
	tb := newBed(t, true)
	tb.srv.SetStatus(mqttapi.Status{Activity: mqttapi.Running, RunID: "r1", Skill: "wave"})
	waitRetainedStatus(t, tb, mqttapi.Running)
	stdout, stderr, status := tb.praxis(t, "status")
	wantStatus(t, status, 0, stdout, stderr)
	for _, re := range []string{`(?m)^online\s+yes$`, `(?m)^activity\s+running$`, `(?m)^id\s+r1$`, `(?m)^skill\s+wave$`, `(?m)^estop\s+no$`} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("status lacks %s:\n%s", re, stdout)
		}
	}
	stdout, stderr, status = tb.praxis(t, "status", "--json")
	wantStatus(t, status, 0, stdout, stderr)
	var st mqttapi.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || !st.Online || st.RunID != "r1" || st.Activity != mqttapi.Running {
		t.Fatalf("status --json %+v (%v):\n%s", st, err, stdout)
	}
}

// waitRetainedStatus waits until the broker holds a retained status with activity a.
func waitRetainedStatus(t *testing.T, tb *testBed, a mqttapi.Activity) {
	t.Helper()
	u, _ := tb.creds.ByRole(broker.RoleOperator)
	cli := paho.NewClient(paho.NewClientOptions().AddBroker(tb.b.URL()).SetUsername(u.Username).SetPassword(u.Password).SetClientID("status-waiter"))
	if tok := cli.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer cli.Disconnect(0)
	got := make(chan struct{})
	var once sync.Once
	cli.Subscribe("praxis/arm1/status", 1, func(_ paho.Client, m paho.Message) {
		var st mqttapi.Status
		if json.Unmarshal(m.Payload(), &st) == nil && st.Activity == a {
			once.Do(func() { close(got) })
		}
	})
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatalf("no status with activity %s", a)
	}
}

func TestClientNoDaemon(t *testing.T) {
	tb := newBed(t, false) // a broker, but no daemon
	stdout, stderr, status := offlineRun(t, "skills", "--broker", tb.b.URL(), "--data", tb.data, "--timeout", "300ms")
	wantStatus(t, status, 1, stdout, stderr)
	wantContains(t, "stderr", stderr, "no daemon answered on "+tb.b.URL(), "is `praxis serve` running?")

	stdout, stderr, status = offlineRun(t, "status", "--broker", tb.b.URL(), "--data", tb.data, "--timeout", "300ms")
	wantStatus(t, status, 1, stdout, stderr)
	wantContains(t, "stderr", stderr, "no daemon ever connected to "+tb.b.URL(), "is `praxis serve` running?")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "tcp://" + l.Addr().String()
	l.Close() // nothing listens there now
	stdout, stderr, status = offlineRun(t, "estop", "--broker", dead, "--data", tb.data, "--timeout", "2s")
	wantStatus(t, status, 1, stdout, stderr)
	wantContains(t, "stderr", stderr, "no daemon answered on "+dead, "is `praxis serve` running?")
}

func TestClientCredentials(t *testing.T) {
	tb := newBed(t, true)
	stdout, stderr, status := tb.praxis(t, "estop", "--password", "wrong-password")
	wantStatus(t, status, 1, stdout, stderr)
	wantContains(t, "stderr", stderr, `not authorised`, `refused user "operator"`)

	stdout, stderr, status = tb.praxis(t, "estop", "--user", "nobody")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "stderr", stderr, `no password for user "nobody"`)

	// The environment picks the observer, who may watch but not command.
	obs, _ := tb.creds.ByRole(broker.RoleObserver)
	t.Setenv(envMQTTUser, obs.Username)
	t.Setenv(envMQTTPassword, obs.Password)
	stdout, stderr, status = offlineRun(t, "status", "--broker", tb.b.URL(), "--data", t.TempDir())
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "observer status", stdout, "online")
	stdout, stderr, status = offlineRun(t, "estop", "--broker", tb.b.URL(), "--data", t.TempDir())
	wantStatus(t, status, 1, stdout, stderr)
	wantContains(t, "observer estop", stderr, "not authorised", `user "observer"`)
	if n := tb.svc.snapshot().estops; n != 0 {
		t.Fatalf("the observer's e-stop reached the service (%d)", n)
	}

	// Flags win over the environment.
	op, _ := tb.creds.ByRole(broker.RoleOperator)
	stdout, stderr, status = offlineRun(t, "estop", "--broker", tb.b.URL(), "--user", op.Username, "--password", op.Password)
	wantStatus(t, status, 0, stdout, stderr)

	// No credentials file and no password: the refusal names the user and the file.
	t.Setenv(envMQTTUser, "")
	t.Setenv(envMQTTPassword, "")
	empty := t.TempDir()
	stdout, stderr, status = offlineRun(t, "estop", "--broker", tb.b.URL(), "--data", empty)
	wantStatus(t, status, 1, stdout, stderr)
	wantContains(t, "stderr", stderr, `refused user "operator"`,
		"no credentials file at "+filepath.Join(empty, broker.CredentialsFile)+": pass --data DIR (the daemon's data directory) or set $PRAXIS_DATA")
	if strings.Contains(stderr, "wrong password") {
		t.Errorf("a missing credentials file is reported as a wrong password:\n%s", stderr)
	}
}

// Without --data, the commands find the credentials through $PRAXIS_DATA, else the
// runtime file of the daemon this user runs (and its broker without --broker); a file
// whose process is gone is ignored.
func TestClientDataDirResolution(t *testing.T) {
	tb := newBed(t, true)
	stdout, stderr, status := offlineRun(t, "skills", "--broker", tb.b.URL(), "--timeout", "3s")
	wantStatus(t, status, 1, stdout, stderr) // the default data dir of the test user has no credentials
	wantContains(t, "stderr", stderr, "no credentials file at", "pass --data DIR")

	t.Setenv(daemon.EnvData, tb.data)
	stdout, stderr, status = offlineRun(t, "skills", "--broker", tb.b.URL(), "--timeout", "3s")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "skills via $PRAXIS_DATA", stdout, "wave")
	t.Setenv(daemon.EnvData, "")

	// A daemon of this user that was killed: its runtime file is ignored.
	remove, err := daemon.WriteRuntime(daemon.Runtime{PID: 1 << 30, RobotID: "arm1", DataDir: tb.data, Broker: tb.b.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.ReadRuntime("arm1"); !errors.Is(err, daemon.ErrNoRuntime) {
		t.Fatalf("runtime file of a dead process: %v, want ErrNoRuntime", err)
	}
	remove()
	// A live one (this process stands for it): data directory and broker come from it.
	remove, err = daemon.WriteRuntime(daemon.Runtime{PID: os.Getpid(), RobotID: "arm1", DataDir: tb.data, Broker: tb.b.URL()})
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, status = offlineRun(t, "skills", "--timeout", "3s")
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "skills via the runtime file", stdout, "wave")
	// The library commands resolve --data the same way.
	stdout, stderr, status = offlineRun(t, "demos", "list")
	wantStatus(t, status, 0, stdout, stderr)
	// Another robot's commands do not take arm1's daemon.
	stdout, stderr, status = offlineRun(t, "skills", "--robot", "arm2", "--broker", tb.b.URL(), "--timeout", "3s")
	wantStatus(t, status, 1, stdout, stderr)
	wantContains(t, "arm2 stderr", stderr, "no credentials file at")
	remove()
	if _, err := os.Stat(daemon.RuntimeFile("arm1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("runtime file left after remove: %v", err)
	}
}

func TestProgressBar(t *testing.T) {
	var plain strings.Builder
	b := newProgressBar(&plain, "run r1")
	for _, p := range []float64{0, 0.05, 0.12, 0.19, 0.5, 1.2} {
		b.set(p)
	}
	b.done()
	want := "run r1: progress 0%\nrun r1: progress 12%\nrun r1: progress 50%\nrun r1: progress 100%\n"
	if plain.String() != want {
		t.Errorf("plain progress %q, want %q", plain.String(), want)
	}
	var tty strings.Builder
	b = &progressBar{w: &tty, label: "run r1", tty: true, last: -1}
	b.set(0.5)
	b.set(0.501) // same percentage: not redrawn
	b.set(1)
	b.done()
	want = "\rrun r1 [###############               ]  50%\rrun r1 [##############################] 100%\n"
	if tty.String() != want {
		t.Errorf("terminal progress %q, want %q", tty.String(), want)
	}
}

func TestClientTLS(t *testing.T) {
	t.Setenv(envMQTTUser, "")
	t.Setenv(envMQTTPassword, "")
	dir := t.TempDir()
	cert, key, pool := mqtttest.SelfSignedCert(t, dir)
	b, err := broker.Open(broker.Config{Address: "127.0.0.1:0", DataDir: dir, TLSCert: cert, TLSKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	du, _ := b.Credentials().ByRole(broker.RoleDaemon)
	svc := &fakeService{recording: map[string]string{}}
	srv, err := mqttapi.NewServer(mqttapi.ServerConfig{Broker: b.URL(), Username: du.Username, Password: du.Password,
		TLS: &tls.Config{RootCAs: pool}}, svc)
	if err != nil {
		t.Fatal(err)
	}
	svc.srv = srv
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	// The credentials file the broker created in dir is found through --data.
	stdout, stderr, status := offlineRun(t, "skills", "--broker", b.URL(), "--ca", cert, "--data", dir)
	wantStatus(t, status, 0, stdout, stderr)
	wantContains(t, "skills over TLS", stdout, "wave")

	stdout, stderr, status = offlineRun(t, "skills", "--broker", "tcp://"+b.Addr(), "--ca", cert, "--data", dir)
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "--ca with tcp://", stderr, "is not TLS; use ssl://")
	stdout, stderr, status = offlineRun(t, "skills", "--broker", b.URL(), "--ca", key, "--data", dir)
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "--ca with a key", stderr, "no PEM certificate")
}

// TestRecordHelpSaysCtrlCStops: `praxis record --help` says what Ctrl-C does while following
// (it stops the recording; followRecording sends record stop), not that the recording goes on.
func TestRecordHelpSaysCtrlCStops(t *testing.T) {
	for _, args := range [][]string{{"record", "--help"}, {"record", "start", "--help"}} {
		stdout, stderr, status := offlineRun(t, args...)
		wantStatus(t, status, 0, stdout, stderr)
		if strings.Contains(stdout, "recording then continues") || strings.Contains(stdout, "continues)") {
			t.Errorf("%v: help still says the recording continues after Ctrl-C:\n%s", args, stdout)
		}
		if args[1] == "--help" {
			wantContains(t, "record --help", stdout,
				"Ctrl-C stops the recording (record stop over a second\nconnection) and prints its result, a second Ctrl-C stops waiting",
				"--no-follow returns\nat once")
		}
	}
}

// TestClientFlightDump: `praxis flight dump` sends cmd/flight with its reason and prints
// the file the daemon wrote; a daemon without a flight recorder rejects it (exit 2).
func TestClientFlightDump(t *testing.T) {
	tb := newBed(t, true)
	stdout, stderr, status := tb.praxis(t, "flight", "dump", "--reason", "after a wobble")
	wantStatus(t, status, 0, stdout, stderr)
	if !strings.HasPrefix(stdout, "flight dump ") || !strings.HasSuffix(stdout,
		": accepted: wrote flight/20261202T101500.000Z-request.flight.json.gz in the daemon's data directory (5001 samples, 10.00 s)\n") {
		t.Errorf("flight dump stdout: %q", stdout)
	}
	tb.svc.mu.Lock()
	dumps := append([]string(nil), tb.svc.dumps...)
	tb.svc.noFlight = true
	tb.svc.mu.Unlock()
	if len(dumps) != 1 || dumps[0] != "after a wobble" {
		t.Errorf("the daemon was asked for dumps %q, want one with the reason", dumps)
	}
	stdout, stderr, status = tb.praxis(t, "flight", "dump")
	wantStatus(t, status, 2, stdout, stderr)
	wantContains(t, "flight dump without a recorder", stderr, "flight dump rejected by the daemon: the flight recorder is off (flight.enabled: false)")
}
