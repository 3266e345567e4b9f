package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/daemon"
)

// EStopBound is the documented bound (docs/dashboard.md) from the e-stop button's click
// (or the key press) in the browser to the daemon's e-stop latch, and to the arm's halt
// (its last command, which holds the measured position), on a busy 2-core machine.
const EStopBound = 250 * time.Millisecond

const chromium = "/usr/bin/chromium"

// artefacts is where screenshots go: the directory $PRAXIS_ARTIFACTS/dashboard (make test
// sets PRAXIS_ARTIFACTS to the repository's artifacts/, which git ignores; a relative
// path is taken from the repository's root), or a temporary directory removed after the
// test. Either way the test logs where they went.
func artefacts(t *testing.T) string {
	t.Helper()
	d := os.Getenv("PRAXIS_ARTIFACTS")
	if d == "" {
		d = t.TempDir()
		t.Logf("screenshots in %s, removed after the test: set PRAXIS_ARTIFACTS (make test does) to keep them", d)
		return d
	}
	if !filepath.IsAbs(d) {
		d = filepath.Join("..", "..", d) // this package is internal/web
	}
	d, err := filepath.Abs(filepath.Join(d, "dashboard"))
	if err == nil {
		err = os.MkdirAll(d, 0o755)
	}
	if err != nil {
		t.Fatalf("PRAXIS_ARTIFACTS: %v", err)
	}
	t.Logf("screenshots kept in %s", d)
	return d
}

// browser starts a fresh headless Chromium (its own profile) for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("end-to-end dashboard tests need Debian's chromium at %s (run scripts/deps.sh as root to install it): %v", chromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 1000)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS waits until the page's expression is truthy.
func waitJS(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(timeout))); err != nil {
		msgs, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.msg, #log li')].map(e => e.id + ': ' + e.textContent).filter(s => !s.endsWith(': '))`))
		t.Fatalf("waiting for %s (%s): %v; the page says %q", what, js, err, msgs)
	}
}

func shot(t *testing.T, ctx context.Context, dir, name string) []byte {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KB)", p, len(png)/1024)
	return png
}

func loginPage(t *testing.T, ctx context.Context, url, user, pass string) {
	t.Helper()
	do(t, ctx, "login as "+user,
		chromedp.Navigate(url),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#login-user", user),
		chromedp.SendKeys("#login-pass", pass),
		chromedp.Click("#login-go"),
		chromedp.WaitVisible("#app"),
	)
	waitJS(t, ctx, "the live stream", `document.getElementById('conn').textContent === 'live' && window.praxis.states > 2`, 20*time.Second)
}

// mqttEvents subscribes to the daemon's events over MQTT as the observer.
type mqttEvents struct {
	mu  sync.Mutex
	evs []core.Event
}

func watchMQTT(t *testing.T, r *daemonT) *mqttEvents {
	t.Helper()
	w := &mqttEvents{}
	o := paho.NewClientOptions().AddBroker(r.d.BrokerURL()).SetUsername("observer").SetPassword(r.password(t, "observer")).
		SetClientID(fmt.Sprintf("e2e-%d", time.Now().UnixNano())).SetAutoReconnect(false)
	cli := paho.NewClient(o)
	if tok := cli.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt: %v", tok.Error())
	}
	t.Cleanup(func() { cli.Disconnect(100) })
	tok := cli.Subscribe("praxis/arm1/events", 1, func(_ paho.Client, m paho.Message) {
		var e core.Event
		if json.Unmarshal(m.Payload(), &e) == nil {
			w.mu.Lock()
			w.evs = append(w.evs, e)
			w.mu.Unlock()
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt subscribe: %v", tok.Error())
	}
	return w
}

func (w *mqttEvents) wait(t *testing.T, id string, typ core.EventType, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, e := range w.evs {
			if e.ID == id && e.Type == typ {
				w.mu.Unlock()
				return
			}
		}
		w.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronising
	}
	t.Fatalf("no %s event of %s over MQTT within %v", typ, id, timeout)
}

// find waits up to timeout for an event matching ok and returns it.
func (w *mqttEvents) find(t *testing.T, what string, ok func(core.Event) bool, timeout time.Duration) core.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, e := range w.evs {
			if ok(e) {
				w.mu.Unlock()
				return e
			}
		}
		w.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronising
	}
	t.Fatalf("no %s over MQTT within %v", what, timeout)
	return core.Event{}
}

// estopLatencies polls the daemon every 0.5 ms from t0 (the click or key press, made
// beside it; cmds is the arm's command count at t0) and returns how long after t0 its e-stop latched and how long after t0 the simulated arm
// received its last command (the executor's halt: after it the arm is sent nothing, so
// its commanded position no longer changes). The last command is the last change of the
// arm's command count before 300 ms without any (0 when none came after t0).
func estopLatencies(t *testing.T, r *daemonT, t0 time.Time, cmds uint64) (latch, halt time.Duration) {
	t.Helper()
	const quiet = 300 * time.Millisecond
	deadline := t0.Add(10 * time.Second)
	arm := r.d.SimArm()
	lastCmd := t0
	for {
		now := time.Now()
		if c := arm.Stats().Commands; c != cmds {
			cmds, lastCmd = c, now
		}
		if latch == 0 && r.d.EStopLatched() {
			latch = now.Sub(t0)
		}
		if latch != 0 && now.Sub(lastCmd) > quiet {
			return latch, lastCmd.Sub(t0)
		}
		if now.After(deadline) {
			t.Fatalf("10 s after the click: e-stop latched after %v (0: never); the arm commanded %v after the click and since",
				latch, lastCmd.Sub(t0))
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// armStill waits until the simulated arm's true position moves less than 1e-3 rad in 0.2 s.
func armStill(t *testing.T, r *daemonT) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	prev := r.d.SimArm().Stats().Truth
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		cur := r.d.SimArm().Stats().Truth
		moved := 0.0
		for i := range cur {
			moved = math.Max(moved, math.Abs(cur[i]-prev[i]))
		}
		if moved < 1e-3 {
			return
		}
		prev = cur
	}
	t.Fatal("the arm did not come to rest within 10 s of the e-stop")
}

var (
	apiMu      sync.Mutex
	apiClients = map[*daemonT]*client{}
)

// api0 is the test's own operator session beside the page (one login per daemon: logins
// are rate-limited).
func api0(t *testing.T, r *daemonT) *client {
	apiMu.Lock()
	defer apiMu.Unlock()
	if c := apiClients[r]; c != nil {
		return c
	}
	c := loggedIn(t, r, "operator")
	apiClients[r] = c
	return c
}

// TestE2EDashboard drives the page in headless Chromium against a daemon on the
// simulated SO-101: login, live state during a run, a run from the page, the e-stop by
// button and by key, and an observer who cannot command.
func TestE2EDashboard(t *testing.T) {
	ctx := browser(t)
	// A scripted hand guides the simulated arm while a recording has its torque off.
	r := startDaemon(t, func(c *daemon.Config) { c.Arm.SimHand = "../seed/demos/wave.csv" })
	art := artefacts(t)
	mq := watchMQTT(t, r)
	loginPage(t, ctx, r.url, "operator", r.password(t, "operator"))
	if got := eval[string](t, ctx, `document.getElementById('who').textContent`); got != "operator (operator)" {
		t.Fatalf("who: %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('button.cmd:disabled').length`); n != 0 {
		t.Fatalf("%d command buttons disabled for an operator", n)
	}
	shot(t, ctx, art, "01-live-idle.png")

	// A run triggered from the page (Runs tab: skill, goal, duration) succeeds; the live
	// joint state moves meanwhile.
	pan0 := eval[float64](t, ctx, `window.praxis.state.pos[0]`)
	do(t, ctx, "trigger a run from the Runs tab",
		chromedp.Click(`#tabs button[data-tab="runs"]`),
		chromedp.WaitVisible("#run-go"),
		chromedp.SetValue("#run-skill", "reach"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('run-skill').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(`#run-goal input[name="shoulder_pan"]`),
		chromedp.SendKeys(`#run-goal input[name="shoulder_pan"]`, "0.5"),
		chromedp.SendKeys("#run-duration", "2.5"),
		chromedp.Click("#run-go"),
	)
	waitJS(t, ctx, "the run's acceptance", `window.praxis.runId && window.praxis.runId.startsWith('web-')`, 10*time.Second)
	id := eval[string](t, ctx, `window.praxis.runId`)
	waitJS(t, ctx, "state moving during the run", fmt.Sprintf(`Math.abs(window.praxis.state.pos[0] - %g) > 0.1`, pan0), 20*time.Second)
	do(t, ctx, "live tab", chromedp.Click(`#tabs button[data-tab="live"]`))
	waitJS(t, ctx, "the 3-D arm drawn", `window.praxis.state.skeleton && window.praxis.state.skeleton.points.length === 8`, 5*time.Second)
	shot(t, ctx, art, "02-live-running.png")
	if p := os.Getenv("PRAXIS_README_PNG"); p != "" { // the README's picture: the arm moving
		do(t, ctx, "README viewport", chromedp.EmulateViewport(1280, 600))
		waitJS(t, ctx, "a redraw", `(window.praxis.n0 = window.praxis.states) >= 0`, time.Second)
		waitJS(t, ctx, "a redraw", `window.praxis.states > window.praxis.n0 + 1`, 5*time.Second)
		if err := os.WriteFile(p, shot(t, ctx, art, "readme.png"), 0o644); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "viewport", chromedp.EmulateViewport(1400, 1000))
	}
	waitJS(t, ctx, "the run's success on the page", fmt.Sprintf(`[...document.querySelectorAll('#log li')].some(li => li.textContent.includes('%s succeeded'))`, id), 30*time.Second)
	mq.wait(t, id, core.Succeeded, 10*time.Second)
	if pan := eval[float64](t, ctx, `window.praxis.state.pos[0]`); math.Abs(pan-0.5) > 0.02 {
		t.Fatalf("shoulder_pan at the end of the run: %g on the page, want 0.5", pan)
	}
	shot(t, ctx, art, "03-live-after-run.png")
	do(t, ctx, "runs tab", chromedp.Click(`#tabs button[data-tab="runs"]`))
	waitJS(t, ctx, "the run's plots", `document.querySelectorAll('#run-plots canvas').length === 6 && document.querySelectorAll('#run-err-plots canvas').length === 6`, 10*time.Second)
	shot(t, ctx, art, "04-runs.png")
	do(t, ctx, "skills tab", chromedp.Click(`#tabs button[data-tab="skills"]`), chromedp.Click(`#skill-list li[data-skill="wave"]`))
	waitJS(t, ctx, "the skill's plots", `document.querySelectorAll('#skill-plots canvas').length === 6`, 10*time.Second)
	do(t, ctx, "preview", chromedp.Click("#skill-preview"))
	waitJS(t, ctx, "the preview's plots", `document.querySelectorAll('#preview-plots canvas').length === 6`, 10*time.Second)
	shot(t, ctx, art, "05-skills.png")

	// Recording from the page: record, see the demo, trim it to a new name, learn from it.
	do(t, ctx, "record from the Recording tab",
		chromedp.Click(`#tabs button[data-tab="recording"]`),
		chromedp.WaitVisible("#rec-start"),
		chromedp.SendKeys("#rec-name", "taught"),
		chromedp.Click("#rec-start"),
	)
	// Stopped after 2.25 s of the 4 s wave, when the wrist swings fastest (2.3-2.45 s), so
	// the recording warns that the arm was still moving (the wrist turns at 2.0 and 2.5 s: a
	// stop near 2.1 or 2.6 s may not warn, hence the check below takes the daemon's word).
	waitJS(t, ctx, "2.25 s recorded", `window.praxis.lastEvent && window.praxis.lastEvent.cmd === 'record' && window.praxis.lastEvent.seconds >= 2.25`, 20*time.Second)
	do(t, ctx, "stop the recording", chromedp.Click("#rec-stop"))
	waitJS(t, ctx, "the recording's end", `document.getElementById('rec-msg').textContent.includes('recording taught succeeded')`, 20*time.Second)
	// A demo's warning (demos.Check) is shown with the recording's message and in the event
	// log, as the daemon sent it.
	recEnd := mq.find(t, "the recording's end", func(e core.Event) bool {
		return e.Cmd == core.CmdRecord && e.Demo == "taught" && e.Type == core.Succeeded
	}, 10*time.Second)
	t.Logf("the recording's warning: %q", recEnd.Warning)
	if recEnd.Warning != "" {
		wantShown(t, ctx, "rec-msg", "recording taught succeeded", " — warning: "+recEnd.Warning)
	}
	waitJS(t, ctx, "the demo plotted", `document.querySelectorAll('#demo-plots canvas').length === 6 && document.getElementById('demo-title').textContent.startsWith('taught')`, 10*time.Second)
	do(t, ctx, "trim to a new name",
		chromedp.SetValue("#trim-from", "0.2"), chromedp.SetValue("#trim-to", "1.8"),
		chromedp.SendKeys("#trim-name", "taught_trim"), chromedp.Click("#trim-go"))
	waitJS(t, ctx, "the trimmed demo", `document.getElementById('demo-msg').textContent.includes('as taught_trim') && document.querySelector('#demo-list tr[data-demo="taught_trim"]')`, 10*time.Second)
	shot(t, ctx, art, "06-recording.png")
	do(t, ctx, "learn from the trimmed demo",
		chromedp.Click(`#demo-list input[value="taught_trim"]`),
		chromedp.SetValue("#learn-skill", "taught"),
		chromedp.Click("#learn-go"))
	waitJS(t, ctx, "the learn's success", `document.getElementById('learn-msg').textContent.includes('learn taught succeeded: version 1')`, 60*time.Second)
	// The trimmed demo ends at 1.8 s of the wave, mid-swing of the wrist (about 1.6 rad/s):
	// the learn warns that it was still moving, and the page says so.
	learnEnd := mq.find(t, "the learn's end", func(e core.Event) bool {
		return e.Cmd == core.CmdLearn && e.Skill == "taught" && e.Type == core.Succeeded
	}, 10*time.Second)
	if !strings.HasPrefix(learnEnd.Warning, "demo taught_trim: ") || !strings.Contains(learnEnd.Warning, "still moving at the end") {
		t.Errorf("learn from a demo cut mid-swing: warning %q, want one saying demo taught_trim was still moving at the end", learnEnd.Warning)
	}
	wantShown(t, ctx, "learn-msg", "learn taught succeeded: version 1", " — warning: "+learnEnd.Warning)
	waitJS(t, ctx, "the new skill listed", `document.querySelector('#skill-list li[data-skill="taught"]')`, 10*time.Second)
	// The trimmed demo keeps the recording's samples from 0.2 to 1.8 s, re-timed from its
	// first (so about 1.6 s: less when the busy recorder's samples were late at the edges).
	var orig, dt core.Trajectory
	for name, tr := range map[string]*core.Trajectory{"taught": &orig, "taught_trim": &dt} {
		code, _, raw := api0(t, r).do("GET", "/api/demos/"+name, nil, nil)
		if err := json.Unmarshal(raw, tr); code != 200 || err != nil || len(tr.T) < 2 {
			t.Fatalf("GET /api/demos/%s: %d %v, %d samples", name, code, err, len(tr.T))
		}
	}
	var kept []float64
	for _, x := range orig.T {
		if x-orig.T[0] >= 0.2-1e-9 && x-orig.T[0] <= 1.8+1e-9 {
			kept = append(kept, x)
		}
	}
	span := kept[len(kept)-1] - kept[0]
	if len(dt.T) != len(kept) || math.Abs(dt.T[len(dt.T)-1]-span) > 1e-4 || span < 1.4 {
		t.Fatalf("trimmed demo: %d samples over %.4f s; want the %d samples of 0.2-1.8 s of the recording, over %.4f s",
			len(dt.T), dt.T[len(dt.T)-1], len(kept), span)
	}

	// The e-stop button halts a run within the bound.
	api := api0(t, r)
	estopDuringRun := func(name string, press chromedp.Action[chromedp.Void]) time.Duration {
		t.Helper()
		runID := "e2e-" + name
		code, m, _ := api.do("POST", "/api/run", map[string]any{"id": runID, "skill": "wave"}, nil)
		if code != 202 {
			t.Fatalf("run %s: %d %v", runID, code, m)
		}
		mq.wait(t, runID, core.Started, 10*time.Second)
		waitJS(t, ctx, "running on the page", `window.praxis.status && window.praxis.status.activity === 'running'`, 10*time.Second)
		// The press runs beside the polling, which starts with the arm's command count of
		// before it.
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		pressed := make(chan error, 1)
		t0, cmds0 := time.Now(), r.d.SimArm().Stats().Commands
		go func() { pressed <- chromedp.Do(c, press) }()
		lat, halt := estopLatencies(t, r, t0, cmds0)
		if err := <-pressed; err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		aborted := mq.find(t, "the run's aborted event", func(e core.Event) bool { return e.ID == runID && e.Type == core.Aborted }, 10*time.Second)
		armStill(t, r)
		waitJS(t, ctx, "the e-stop shown", `window.praxis.status.estop === true && !document.getElementById('banner').hidden`, 10*time.Second)
		abortAt := aborted.Time.Sub(t0)
		t.Logf("e-stop by %s: click to latch %v, to the arm's last command (the halt) %v, to the aborted event's time %v",
			name, lat, halt, abortAt)
		if lat > EStopBound {
			t.Errorf("e-stop by %s latched %v after the click; the documented bound is %v", name, lat, EStopBound)
		}
		if halt > EStopBound {
			t.Errorf("e-stop by %s: the arm was still commanded %v after the click; the documented bound is %v", name, halt, EStopBound)
		}
		if !strings.Contains(aborted.Reason, "e-stop") || abortAt > EStopBound {
			t.Errorf("e-stop by %s: the run aborted %v after the click (%q); want within %v, reason e-stop", name, abortAt, aborted.Reason, EStopBound)
		}
		return lat
	}
	do(t, ctx, "live tab", chromedp.Click(`#tabs button[data-tab="live"]`))
	estopDuringRun("button", chromedp.Click("#estop"))
	shot(t, ctx, art, "07-estop.png")
	do(t, ctx, "reset", chromedp.Click("#reset"))
	waitJS(t, ctx, "the e-stop cleared", `window.praxis.status.estop === false`, 10*time.Second)
	if r.d.EStopLatched() {
		t.Fatal("e-stop still latched after the page's reset")
	}
	estopDuringRun("escape key", chromedp.KeyEvent(kb.Escape))
	do(t, ctx, "reset", chromedp.Click("#reset"))
	waitJS(t, ctx, "the e-stop cleared", `window.praxis.status.estop === false`, 10*time.Second)
	// Space outside a text field is the e-stop too.
	do(t, ctx, "focus the page", chromedp.Click("#joints"))
	estopDuringRun("space key", chromedp.KeyEvent(" "))
	do(t, ctx, "reset", chromedp.Click("#reset"))
	waitJS(t, ctx, "the e-stop cleared", `window.praxis.status.estop === false`, 10*time.Second)

	// The e-stops wrote flight recordings: the Flights tab lists them and plots one.
	do(t, ctx, "flights tab", chromedp.Click(`#tabs button[data-tab="flights"]`))
	waitJS(t, ctx, "e-stop recordings listed", `[...document.querySelectorAll('#flight-list li')].filter(li => li.textContent.includes('e-stop')).length >= 3`, 30*time.Second)
	do(t, ctx, "open a recording", chromedp.Click(`#flight-list li`))
	waitJS(t, ctx, "its plots", `document.getElementById('flight-title').textContent.includes('e-stop') && document.querySelectorAll('#flight-plots canvas, #flight-plots svg').length >= 6`, 10*time.Second)
	shot(t, ctx, art, "08-flight.png")

	// An observer's page: every command button disabled, a forged POST refused, the keys
	// do nothing.
	do(t, ctx, "log out", chromedp.Click("#logout"), chromedp.WaitVisible("#login-form"))
	loginPage(t, ctx, r.url, "observer", r.password(t, "observer"))
	if n := eval[int](t, ctx, `[...document.querySelectorAll('button.cmd')].filter(b => !b.disabled).length`); n != 0 {
		t.Fatalf("%d command buttons enabled for an observer", n)
	}
	if !eval[bool](t, ctx, `!document.getElementById('observer-note').hidden`) {
		t.Fatal("no observer note")
	}
	shot(t, ctx, art, "09-observer.png")
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	forged, err := chromedp.Run(c, chromedp.Evaluate[[]any](`Promise.all(['/api/run', '/api/estop', '/api/record'].map(p =>
		fetch(p, {method: 'POST', headers: {'X-Praxis': '1', 'Content-Type': 'application/json'},
			body: JSON.stringify({skill: 'wave', action: 'start', demo: 'x'})}).then(r => r.json().then(j => [r.status, j.error]))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forged {
		st := f.([]any)
		if st[0].(float64) != 403 || !strings.Contains(st[1].(string), "observers see everything and command nothing") {
			t.Errorf("observer's forged POST: %v", st)
		}
	}
	do(t, ctx, "observer presses Escape", chromedp.KeyEvent(kb.Escape))
	if r.d.EStopLatched() {
		t.Fatal("an observer's Escape latched the e-stop")
	}
	if st := r.d.Config().RobotID; st != "arm1" {
		t.Fatal(st)
	}
}

// wantShown checks that the message #id reads head followed by tail, shown as a warning
// (class warn), and that the event log has a line with tail's warning.
func wantShown(t *testing.T, ctx context.Context, id, head, tail string) {
	t.Helper()
	got := eval[string](t, ctx, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
	if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, tail) {
		t.Errorf("#%s reads %q, want %q ... %q", id, got, head, tail)
	}
	if cls := eval[string](t, ctx, fmt.Sprintf(`document.getElementById(%q).className`, id)); cls != "msg warn" {
		t.Errorf("#%s class %q, want %q", id, cls, "msg warn")
	}
	line := "warning: " + strings.TrimPrefix(tail, " — warning: ")
	js := fmt.Sprintf(`[...document.querySelectorAll('#log li.warn')].some(li => li.textContent.endsWith(%q))`, line)
	if !eval[bool](t, ctx, js) {
		t.Errorf("the event log has no warning line ending %q", line)
	}
}
