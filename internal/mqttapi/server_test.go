package mqttapi_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/internal/mqtttest"
)

const robot = "praxis/arm1/"

func TestRunEventsCarryID(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		f.onRun = func(r mqttapi.RunRequest) error {
			if r.Skill == "nope" {
				return mqttapi.Reject("skill", "unknown skill %q", r.Skill)
			}
			// Published inside Run: the Server must still send accepted first.
			f.srv.Publish(mqttapi.Event{ID: r.ID, Cmd: mqttapi.CmdRun, Type: mqttapi.Started, Skill: r.Skill})
			go func() {
				for i := range 200 { // far above 10 Hz: rate-limited
					f.srv.Publish(mqttapi.Event{ID: r.ID, Type: mqttapi.Progress, Progress: float64(i) / 200})
				}
				f.srv.Publish(mqttapi.Event{ID: r.ID, Type: mqttapi.Succeeded, Skill: r.Skill, FinalError: 0.0125})
			}()
			return nil
		}
		startServer(t, e, e.url, f)
		c := dial(t, e, e.operator)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		var got []mqttapi.Event
		final, err := c.Run(ctx, mqttapi.RunRequest{ID: "r1", Skill: "wave", Goal: map[string]float64{"elbow": 0.5}, Duration: 2},
			func(ev mqttapi.Event) { got = append(got, ev) })
		if err != nil {
			t.Fatal(err)
		}
		if final.Type != mqttapi.Succeeded || final.FinalError != 0.0125 || final.Skill != "wave" {
			t.Fatalf("final = %+v", final)
		}
		types := []mqttapi.EventType{}
		for _, ev := range got {
			if ev.ID != "r1" {
				t.Errorf("event id %q, want r1", ev.ID)
			}
			if ev.Time.IsZero() || time.Since(ev.Time) > time.Minute {
				t.Errorf("event time %v", ev.Time)
			}
			types = append(types, ev.Type)
		}
		if len(types) < 3 || types[0] != mqttapi.Accepted || types[1] != mqttapi.Started || types[len(types)-1] != mqttapi.Succeeded {
			t.Fatalf("event order %v", types)
		}
		if got[0].Skill != "wave" || got[0].Cmd != mqttapi.CmdRun {
			t.Errorf("accepted = %+v", got[0])
		}
		// Started was published inside Run, after the daemon took the command: its time is
		// not earlier than accepted's (the answer is stamped when the command is taken).
		if got[1].Time.Before(got[0].Time) {
			t.Errorf("started at %v, before accepted at %v", got[1].Time, got[0].Time)
		}
		if n := len(types) - 3; n > 2 { // 200 progress events in well under 100 ms
			t.Errorf("%d progress events passed the 10 Hz limit", n)
		}
		if f.runCount() != 1 || f.runs[0].Goal["elbow"] != 0.5 || f.runs[0].Duration != 2 {
			t.Errorf("service saw %+v", f.runs)
		}

		// A Service rejection names the field and comes back as *Rejection.
		_, err = c.Run(ctx, mqttapi.RunRequest{Skill: "nope"}, nil)
		var rej *mqttapi.Rejection
		if !errors.As(err, &rej) || rej.Field != "skill" || !strings.Contains(rej.Reason, `unknown skill "nope"`) {
			t.Fatalf("err = %v", err)
		}
		skills, err := c.Skills(ctx)
		if err != nil || len(skills) != 1 || skills[0].Name != "wave" || skills[0].Version != 2 {
			t.Fatalf("skills = %+v, %v", skills, err)
		}
		if _, err := c.Cancel(ctx, "unknown"); !errors.As(err, &rej) || rej.Field != "id" {
			t.Fatalf("cancel err = %v", err)
		}
	})
}

func TestMalformedRejectedNamingField(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		var mu sync.Mutex
		refused := map[string]int{}
		startServerCfg(t, e, e.url, f, func(c *mqttapi.ServerConfig) {
			c.Refused = func(cmd string, shed bool) {
				mu.Lock()
				defer mu.Unlock()
				if shed {
					cmd += " shed"
				}
				refused[cmd]++
			}
		})
		op := mustRaw(t, e, e.operator, robot+"events")
		cases := []struct{ cmd, payload, id, field string }{
			{"run", `not json`, "", ""},
			{"run", ``, "", ""},
			{"run", `{"skill":"wave"}`, "", "id"},
			{"run", `{"id":42,"skill":"wave"}`, "", "id"},
			{"run", `{"id":"m1","skill":7}`, "m1", "skill"},
			{"run", `{"id":"m2","skill":"wave","goal":{"elbow":"up"}}`, "m2", "goal.elbow"},
			{"run", `{"id":"m3","skill":"wave","duration":-1}`, "m3", "duration"},
			{"run", `{"id":"m4","skill":"wave","speed":2}`, "m4", "speed"},
			{"record", `{"id":"m5","action":"pause","demo":"d"}`, "m5", "action"},
			{"learn", `{"id":"m6","skill":"w","demos":[1]}`, "m6", "demos[0]"},
			{"cancel", `{"id":null}`, "", "id"},
			{"bogus", `{"id":"m7"}`, "m7", ""},
		}
		for _, c := range cases {
			op.publish(t, robot+"cmd/"+c.cmd, c.payload)
			ev := op.nextEvent(t)
			if ev.Type != mqttapi.Rejected || ev.ID != c.id || ev.Field != c.field || ev.Reason == "" || ev.Cmd != c.cmd {
				t.Errorf("cmd/%s %q: got %+v, want rejected id %q field %q", c.cmd, c.payload, ev, c.id, c.field)
			}
		}
		if n := f.runCount(); n != 0 {
			t.Fatalf("service saw %d runs from malformed commands", n)
		}
		// Each was refused without the service, and reported so (for the metrics).
		mu.Lock()
		defer mu.Unlock()
		if want := map[string]int{"run": 8, "record": 1, "learn": 1, "cancel": 1, "bogus": 1}; !maps.Equal(refused, want) {
			t.Errorf("Refused calls %v, want %v", refused, want)
		}
	})
}

func TestNoRightsNoRun(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		f.onRun = func(r mqttapi.RunRequest) error {
			go f.srv.Publish(mqttapi.Event{ID: r.ID, Type: mqttapi.Succeeded})
			return nil
		}
		startServer(t, e, e.url, f)

		// Anonymous and wrong-password clients are refused.
		if _, err := connectRaw(e, broker.User{}); err == nil {
			t.Error("anonymous client connected")
		}
		if _, err := connectRaw(e, broker.User{Username: e.operator.Username, Password: "wrong-password"}); err == nil {
			t.Error("wrong password connected")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: e.url}); err == nil {
			t.Error("anonymous Dial succeeded")
		}

		// The observer may watch but not command: QoS 0 and QoS 1 publishes do nothing.
		obs := mustRaw(t, e, e.observer, robot+"events")
		obs.c.Publish(robot+"cmd/run", 0, false, `{"id":"o0","skill":"wave"}`).WaitTimeout(5 * time.Second)
		obs.c.Publish(robot+"cmd/run", 1, false, `{"id":"o1","skill":"wave"}`).WaitTimeout(5 * time.Second)
		// The Client as observer: mochi drops the connection, mosquitto drops the message.
		oc, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: e.url, Username: e.observer.Username,
			Password: e.observer.Password, AnswerTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = oc.Run(ctx, mqttapi.RunRequest{ID: "o2", Skill: "wave"}, nil)
		if !errors.Is(err, mqttapi.ErrNoAnswer) && !errors.Is(err, mqttapi.ErrConnectionLost) {
			t.Errorf("observer Run: %v, want ErrNoAnswer or ErrConnectionLost", err)
		}
		oc.Close()

		// An operator run goes through, and a fresh observer sees its events.
		obs2 := mustRaw(t, e, e.observer, robot+"events")
		op := dial(t, e, e.operator)
		if _, err := op.Run(ctx, mqttapi.RunRequest{ID: "ok1", Skill: "wave"}, nil); err != nil {
			t.Fatal(err)
		}
		for _, want := range []mqttapi.EventType{mqttapi.Accepted, mqttapi.Succeeded} {
			if ev := obs2.nextEvent(t); ev.ID != "ok1" || ev.Type != want {
				t.Fatalf("observer got %+v, want %s ok1", ev, want)
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.runs) != 1 || f.runs[0].ID != "ok1" {
			t.Fatalf("service runs = %+v, want only ok1", f.runs)
		}
	})
}

func TestEStopReachesService(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		startServer(t, e, e.url, f)
		c := dial(t, e, e.operator)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ev, err := c.EStop(ctx)
		if err != nil || ev.Type != mqttapi.Accepted || ev.Cmd != mqttapi.CmdEStop || ev.ID == "" {
			t.Fatalf("estop: %+v, %v", ev, err)
		}
		if n := f.estopCount(); n != 1 {
			t.Fatalf("service saw %d e-stops, want 1", n)
		}
		// Any payload, even not JSON, stops.
		op := mustRaw(t, e, e.operator, robot+"events")
		for i, p := range []string{"", "STOP!", `{"id":5}`} {
			op.publish(t, robot+"cmd/estop", p)
			if ev := op.nextEvent(t); ev.Type != mqttapi.Accepted || ev.ID != "" || ev.Cmd != "estop" {
				t.Fatalf("estop %q: %+v", p, ev)
			}
			if n := f.estopCount(); n != 2+i {
				t.Fatalf("service saw %d e-stops, want %d", n, 2+i)
			}
		}
	})
}

func TestStatusRetainedAndLastWill(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		f := newFake()
		proxy := mqtttest.NewProxy(t, e.addr)
		s := startServer(t, e, proxy.URL, f)
		s.SetStatus(mqttapi.Status{Activity: mqttapi.Running, RunID: "r9", Skill: "wave"})

		obs := mustRaw(t, e, e.observer, robot+"status", robot+"skills")
		var st mqttapi.Status
		for st.Activity != mqttapi.Running { // the retained idle status may come first
			m := obs.next(t)
			if strings.HasSuffix(m.Topic(), "/skills") {
				var sl mqttapi.SkillList
				if err := json.Unmarshal(m.Payload(), &sl); err != nil || len(sl.Skills) != 1 || sl.Skills[0].Name != "wave" {
					t.Fatalf("skills %q", m.Payload())
				}
				continue
			}
			if err := json.Unmarshal(m.Payload(), &st); err != nil || !st.Online {
				t.Fatalf("status %q: %v", m.Payload(), err)
			}
		}
		if st.RunID != "r9" || st.Skill != "wave" || st.EStop {
			t.Fatalf("status %+v", st)
		}
		// A late subscriber gets the retained status.
		late := mustRaw(t, e, e.observer, robot+"status")
		if m := late.next(t); !m.Retained() || !strings.Contains(string(m.Payload()), `"activity":"running"`) {
			t.Fatalf("retained status %q retained=%v", m.Payload(), m.Retained())
		}
		proxy.Cut() // the daemon's connection dies without DISCONNECT
		m := late.next(t)
		if err := json.Unmarshal(m.Payload(), &st); err != nil || st.Online || st.Activity != mqttapi.Offline {
			t.Fatalf("after cut: %q", m.Payload())
		}
		skills := mustRaw(t, e, e.observer, robot+"skills")
		if m := skills.next(t); !m.Retained() || !strings.Contains(string(m.Payload()), `"name":"wave"`) {
			t.Fatalf("retained skills %q retained=%v", m.Payload(), m.Retained())
		}
		after := mustRaw(t, e, e.observer, robot+"status")
		if m := after.next(t); !m.Retained() || !strings.Contains(string(m.Payload()), `"online":false`) {
			t.Fatalf("retained will %q", m.Payload())
		}
	})
}

func TestBurstEachCommandAnsweredOnce(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		const n = 1000
		f := newFake()
		startServer(t, e, e.url, f)
		op := mustRaw(t, e, e.operator, robot+"events")
		start := time.Now()
		for i := range n {
			p := fmt.Sprintf(`{"id":"b%d","skill":"wave"}`, i)
			if i%10 == 0 {
				p = fmt.Sprintf(`{"id":"b%d","skill":"wave","duration":0}`, i) // rejected
			}
			op.c.Publish(robot+"cmd/run", 1, false, p)
		}
		op.publish(t, robot+"cmd/run", `{"id":"end","skill":"wave"}`)
		answers := map[string]int{}
		for {
			ev := op.nextEvent(t)
			if ev.Type != mqttapi.Accepted && ev.Type != mqttapi.Rejected {
				t.Fatalf("unexpected %+v", ev)
			}
			want := mqttapi.Accepted
			if id := ev.ID; id != "end" && strings.HasSuffix(id, "0") && id[1:] != "" && mustAtoi(t, id[1:])%10 == 0 {
				want = mqttapi.Rejected
			}
			if ev.Type != want {
				t.Errorf("%s: %s, want %s", ev.ID, ev.Type, want)
			}
			answers[ev.ID]++
			if ev.ID == "end" {
				break
			}
		}
		elapsed := time.Since(start)
		for i := range n {
			if c := answers[fmt.Sprintf("b%d", i)]; c != 1 {
				t.Errorf("b%d answered %d times", i, c)
			}
		}
		if len(answers) != n+1 {
			t.Errorf("%d distinct ids answered, want %d", len(answers), n+1)
		}
		if got := f.runCount(); got != n-n/10+1 {
			t.Errorf("service saw %d runs, want %d", got, n-n/10+1)
		}
		t.Logf("%s: %d commands answered in %v (%.0f commands/s)", e.name, n, elapsed, float64(n)/elapsed.Seconds())
	})
}

func mustAtoi(t testing.TB, s string) int {
	var v int
	if _, err := fmt.Sscanf(s, "%d", &v); err != nil {
		t.Fatalf("atoi %q: %v", s, err)
	}
	return v
}

// latency publishes n run (or estop) commands one at a time and returns the sorted
// publish-to-Service-call latencies.
func latency(t testing.TB, e env, n int, cmd string) []time.Duration {
	f := newFake()
	s := startServer(t, e, e.url, f)
	defer s.Close() // a second daemon with the same client id would fight this one
	op := mustRaw(t, e, e.operator)
	calls := f.runCalls
	if cmd == "estop" {
		calls = f.estopCall
	}
	out := make([]time.Duration, 0, n)
	for i := range n {
		t0 := time.Now()
		op.c.Publish(robot+"cmd/"+cmd, 1, false, fmt.Sprintf(`{"id":"l%d","skill":"wave"}`, i))
		select {
		case t1 := <-calls:
			out = append(out, t1.Sub(t0))
		case <-time.After(5 * time.Second):
			t.Fatalf("command %d never reached the service", i)
		}
	}
	slices.Sort(out)
	return out
}

func pct(d []time.Duration, p float64) time.Duration { return d[int(p*float64(len(d)-1))] }

func TestCommandLatency(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		for _, cmd := range []string{"run", "estop"} {
			d := latency(t, e, 500, cmd)
			t.Logf("%s cmd/%s publish -> Service call: p50 %v p99 %v max %v", e.name, cmd, pct(d, 0.5), pct(d, 0.99), d[len(d)-1])
			if pct(d, 0.5) > 50*time.Millisecond {
				t.Errorf("median latency %v on loopback", pct(d, 0.5))
			}
		}
	})
}

func BenchmarkRunLatency(b *testing.B) {
	for _, mk := range []func(testing.TB) env{embeddedEnv, mosquittoEnv} {
		e := mk(b)
		b.Run(e.name, func(b *testing.B) {
			d := latency(b, e, b.N, "run")
			b.ReportMetric(float64(pct(d, 0.5).Microseconds()), "p50-µs")
			b.ReportMetric(float64(pct(d, 0.99).Microseconds()), "p99-µs")
		})
	}
}

func TestEStopNotQueuedBehindCommands(t *testing.T) {
	e := embeddedEnv(t)
	f := newFake()
	block, entered := make(chan struct{}), make(chan struct{}, 1)
	f.onRun = func(mqttapi.RunRequest) error {
		entered <- struct{}{}
		<-block // a Service stuck in Run
		return nil
	}
	startServer(t, e, e.url, f)
	defer close(block)
	op := mustRaw(t, e, e.operator, robot+"events")
	op.publish(t, robot+"cmd/run", `{"id":"slow","skill":"wave"}`)
	op.publish(t, robot+"cmd/run", `{"id":"queued","skill":"wave"}`)
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("Run never called")
	}
	op.publish(t, robot+"cmd/estop", `{"id":"stop"}`)
	select {
	case <-f.estopCall:
	case <-time.After(5 * time.Second):
		t.Fatal("e-stop queued behind a blocked Run")
	}
	if ev := op.nextEvent(t); ev.ID != "stop" || ev.Type != mqttapi.Accepted {
		t.Fatalf("first event %+v, want accepted stop", ev)
	}
}

// TestMosquittoClientExamples runs the docs/mqtt.md examples with mosquitto_pub and
// mosquitto_sub against the embedded broker.
func TestMosquittoClientExamples(t *testing.T) {
	pub, err1 := exec.LookPath("mosquitto_pub")
	sub, err2 := exec.LookPath("mosquitto_sub")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") == "" {
			t.Skip("mosquitto-clients not installed")
		}
		t.Fatal("mosquitto-clients not installed")
	}
	e := embeddedEnv(t)
	f := newFake()
	startServer(t, e, e.url, f)
	host, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	status, err := exec.CommandContext(ctx, sub, "-h", host, "-p", port, "-u", e.observer.Username,
		"-P", e.observer.Password, "-t", "praxis/arm1/status", "-C", "1").Output()
	if err != nil || !strings.Contains(string(status), `"online":true`) {
		t.Fatalf("mosquitto_sub status: %q %v", status, err)
	}
	events := exec.CommandContext(ctx, sub, "-h", host, "-p", port, "-u", e.observer.Username,
		"-P", e.observer.Password, "-t", "praxis/arm1/events", "-C", "2", "-v")
	out, err := events.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	// mosquitto_sub has no "subscribed" signal: publish a retained-free probe until seen.
	probe := mustRaw(t, e, e.operator)
	seen := make(chan string, 2)
	go func() {
		for sc.Scan() {
			seen <- sc.Text()
		}
		close(seen)
	}()
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("mosquitto_sub never subscribed")
		}
		probe.publish(t, robot+"events", `{"id":"probe","type":"accepted"}`)
		select {
		case l := <-seen:
			if !strings.Contains(l, "probe") {
				t.Fatalf("got %q", l)
			}
		case <-time.After(50 * time.Millisecond):
			continue
		}
		break
	}
	if o, err := exec.CommandContext(ctx, pub, "-h", host, "-p", port, "-u", e.operator.Username, "-P", e.operator.Password,
		"-q", "1", "-t", "praxis/arm1/cmd/run", "-m", `{"id":"r1","skill":"wave","duration":3}`).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	if l := <-seen; !strings.HasPrefix(l, "praxis/arm1/events ") || !strings.Contains(l, `"id":"r1"`) || !strings.Contains(l, `"type":"accepted"`) {
		t.Fatalf("event line %q", l)
	}
	if o, err := exec.CommandContext(ctx, pub, "-h", host, "-p", port, "-u", e.operator.Username, "-P", e.operator.Password,
		"-q", "1", "-t", "praxis/arm1/cmd/estop", "-n").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub estop: %v %s", err, o)
	}
	select {
	case <-f.estopCall:
	case <-time.After(5 * time.Second):
		t.Fatal("estop from mosquitto_pub never reached the service")
	}
	events.Wait()
}

func TestStateRateLimited(t *testing.T) {
	e := embeddedEnv(t)
	f := newFake()
	s := startServer(t, e, e.url, f)
	obs := mustRaw(t, e, e.observer, robot+"state")
	names := []string{"a", "b"}
	for i := range 100 { // far faster than 20 Hz
		s.PublishState(mqttapi.State{Names: names, Pos: []float64{float64(i), 1}, Vel: []float64{0, 2}})
	}
	var st mqttapi.State
	if err := json.Unmarshal(obs.next(t).Payload(), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Names) != 2 || st.Names[1] != "b" || st.Pos[0] != 0 || st.Vel[1] != 2 || st.Time.IsZero() {
		t.Fatalf("state %+v", st)
	}
	// A sentinel after the burst must be the next message: the other 99 were dropped.
	op := mustRaw(t, e, e.operator)
	op.publish(t, robot+"state", `{"names":["sentinel"]}`)
	if err := json.Unmarshal(obs.next(t).Payload(), &st); err != nil || st.Names[0] != "sentinel" {
		t.Fatalf("after burst: %+v %v (rate limit let more through)", st, err)
	}
}

func TestServerBadCredentials(t *testing.T) {
	forEachBroker(t, func(t *testing.T, e env) {
		s, err := mqttapi.NewServer(mqttapi.ServerConfig{Broker: e.url, Username: e.daemon.Username,
			Password: "wrong-password", ConnectTimeout: 5 * time.Second}, newFake())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = s.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "praxis-daemon") {
			t.Fatalf("Start = %v, want a refused connection naming the user", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("refusal took %v", d)
		}
		t.Log(err)
	})
	if _, err := mqttapi.NewServer(mqttapi.ServerConfig{Broker: "tcp://127.0.0.1:1", RobotID: "a/b"}, newFake()); err == nil {
		t.Error("robot id with '/' accepted")
	}
	if _, err := mqttapi.NewServer(mqttapi.ServerConfig{}, newFake()); err == nil {
		t.Error("empty broker accepted")
	}
}

func TestServerReconnectsAndRepublishes(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Open(broker.Config{Address: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	e := env{name: "mochi", url: b.URL(), addr: addr}
	e.daemon, _ = b.Credentials().ByRole(broker.RoleDaemon)
	e.operator, _ = b.Credentials().ByRole(broker.RoleOperator)
	e.observer, _ = b.Credentials().ByRole(broker.RoleObserver)
	f := newFake()
	s := startServer(t, e, e.url, f)
	first := mustRaw(t, e, e.observer, robot+"status")
	s.SetStatus(mqttapi.Status{Activity: mqttapi.Stopped, EStop: true})
	// The status reached the first broker before it goes (on a busy machine the publisher
	// could otherwise take it only after reconnecting, which would not test the republish).
	for st := (mqttapi.Status{}); st.Activity != mqttapi.Stopped; {
		if err := json.Unmarshal(first.nextWithin(t, 15*time.Second).Payload(), &st); err != nil {
			t.Fatal(err)
		}
	}
	b.Close() // broker restart: retained messages are lost

	b2, err := broker.Open(broker.Config{Address: addr, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	obs := mustRaw(t, e, e.observer, robot+"status")
	var st mqttapi.Status
	for !st.Online { // the last will may come first
		// A reconnection attempt that hit the old broker while it closed waits for
		// ConnectTimeout (5 s) before the next one.
		if err := json.Unmarshal(obs.nextWithin(t, 15*time.Second).Payload(), &st); err != nil {
			t.Fatal(err)
		}
	}
	if st.Activity != mqttapi.Stopped || !st.EStop {
		t.Fatalf("republished status %+v", st)
	}
	c := dial(t, e, e.operator)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ev, err := c.Record(ctx, mqttapi.RecordRequest{Action: mqttapi.RecordStart, Demo: "d1"}); err != nil || ev.Demo != "d1" {
		t.Fatalf("after reconnect: %+v %v", ev, err)
	}
}

func TestServerAndClientOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := mqtttest.SelfSignedCert(t, dir)
	b, err := broker.Open(broker.Config{Address: "127.0.0.1:0", DataDir: dir, TLSCert: cert, TLSKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tc := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	d, _ := b.Credentials().ByRole(broker.RoleDaemon)
	op, _ := b.Credentials().ByRole(broker.RoleOperator)
	f := newFake()
	s, err := mqttapi.NewServer(mqttapi.ServerConfig{Broker: b.URL(), Username: d.Username, Password: d.Password, TLS: tc}, f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := mqttapi.Dial(ctx, mqttapi.ClientConfig{Broker: b.URL(), Username: op.Username, Password: op.Password, TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ev, err := c.Reset(ctx); err != nil || ev.Type != mqttapi.Accepted || ev.Cmd != mqttapi.CmdReset {
		t.Fatalf("reset over TLS: %+v %v", ev, err)
	}
	st, err := c.Status(ctx)
	if err != nil || !st.Online || st.Activity != mqttapi.Idle {
		t.Fatalf("status %+v %v", st, err)
	}
}

// TestResetRecovered: the accepted event of a reset says whether a faulted arm was set up
// again; a failed recovery is a rejection carrying the service's reason.
func TestResetRecovered(t *testing.T) {
	e := embeddedEnv(t)
	f := newFake()
	answers := []func() (mqttapi.ResetResult, error){
		func() (mqttapi.ResetResult, error) { return mqttapi.ResetResult{}, nil },
		func() (mqttapi.ResetResult, error) { return mqttapi.ResetResult{Recovered: true}, nil },
		func() (mqttapi.ResetResult, error) {
			return mqttapi.ResetResult{Recovered: true}, mqttapi.Reject("", "arm faulted and did not recover: servo 4 (wrist_flex): no reply")
		},
		func() (mqttapi.ResetResult, error) { return mqttapi.ResetResult{NotLatched: true}, nil },
	}
	n := 0
	f.reset = func() (mqttapi.ResetResult, error) { n++; return answers[n-1]() }
	startServer(t, e, e.url, f)
	c := dial(t, e, e.operator)
	r := mustRaw(t, e, e.operator, robot+"events")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ev, err := c.Reset(ctx)
	if err != nil || ev.Type != mqttapi.Accepted || ev.Recovered {
		t.Fatalf("plain reset: %+v, %v", ev, err)
	}
	ev, err = c.Reset(ctx)
	if err != nil || ev.Type != mqttapi.Accepted || !ev.Recovered {
		t.Fatalf("reset that recovered the arm: %+v, %v", ev, err)
	}
	ev, err = c.Reset(ctx)
	var rej *mqttapi.Rejection
	if !errors.As(err, &rej) || ev.Type != mqttapi.Rejected || ev.Recovered || !strings.Contains(rej.Reason, "servo 4 (wrist_flex)") {
		t.Fatalf("reset that did not recover: %+v, %v", ev, err)
	}
	// With nothing latched, the answer says so in its reason.
	ev, err = c.Reset(ctx)
	if err != nil || ev.Type != mqttapi.Accepted || ev.Reason != "nothing to reset (e-stop not latched)" {
		t.Fatalf("reset with nothing latched: %+v, %v", ev, err)
	}
	// On the wire: "recovered" only where true.
	for i, want := range []string{`"type":"accepted"`, `"type":"accepted","time":`, `"type":"rejected"`,
		`"reason":"nothing to reset (e-stop not latched)"`} {
		p := string(r.next(t).Payload())
		if !strings.Contains(p, want) || strings.Contains(p, `"recovered"`) != (i == 1) {
			t.Errorf("event %d %s: want %s, and recovered:true only in the second", i, p, want)
		}
		if i < 2 && strings.Contains(p, `"reason"`) {
			t.Errorf("event %d %s: a reset that cleared the e-stop has no reason", i, p)
		}
	}
}
