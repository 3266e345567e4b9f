package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/demos"
	"github.com/praxis-robotics/praxis/internal/daemon"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
	"github.com/praxis-robotics/praxis/motion/dmp"
	"github.com/praxis-robotics/praxis/skilllib"
)

// The simulated SO-101's joints, which the daemon's default arm has.
const so101Joints = "shoulder_pan,shoulder_lift,elbow_flex,wrist_flex,wrist_roll,gripper"

// writeTimedDemo writes dir/name.csv: a reach of the SO-101 over dur s at rate Hz, still
// for 0.2 s at each end, its timing warped by warp (1: minimum jerk; others reach the
// middle earlier or later, which DTW alignment has to undo) and its shape bent by bend
// rad; with recorded, a sidecar name.json says it is a raw recording.
func writeTimedDemo(t *testing.T, dir, name string, dur, rate, warp, bend float64, recorded bool) string {
	t.Helper()
	q0 := []float64{0, -0.3, 0.4, 0.6, 0, 0.1}
	q1 := []float64{0.5, -0.6, 0.9, 0.3, 0.2, 0.1}
	var b strings.Builder
	b.WriteString("t," + so101Joints + "\n")
	n := int(math.Round(dur * rate))
	for k := 0; k <= n; k++ {
		tt := float64(k) / rate
		u := math.Pow(min(max((tt-0.2)/(dur-0.4), 0), 1), warp)
		s := u * u * u * (10 - 15*u + 6*u*u)
		fmt.Fprintf(&b, "%.4f", tt)
		for j := range q0 {
			fmt.Fprintf(&b, ",%.6f", q0[j]+(q1[j]-q0[j])*s+bend*math.Sin(math.Pi*s)*float64(j%3))
		}
		b.WriteString("\n")
	}
	p := filepath.Join(dir, name+".csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if recorded {
		sc := demos.Sidecar{Format: demos.SidecarFormat, Name: name, Joints: strings.Split(so101Joints, ","),
			RateHz: rate, Started: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC), DurationS: float64(n) / rate,
			Samples: n + 1, Source: demos.SourceRecorded}
		if err := demos.WriteSidecar(filepath.Join(dir, name+".json"), &sc); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// sameDMP reports the first difference between two DMPs' numbers, compared bit for bit
// (weights, centres, widths, start, goal, start velocity, amplitude, τ, gains), or "".
func sameDMP(a, b *dmp.DMP) string {
	type field struct {
		name string
		x, y []float64
	}
	fs := []field{{"centers", a.Centers, b.Centers}, {"widths", a.Widths, b.Widths}, {"start", a.Start, b.Start},
		{"goal", a.Goal, b.Goal}, {"start_vel", a.StartVel, b.StartVel}, {"amplitude", a.Amplitude, b.Amplitude},
		{"tau,alpha", []float64{a.Tau, a.AlphaX, a.AlphaZ, a.BetaZ, a.AlphaG}, []float64{b.Tau, b.AlphaX, b.AlphaZ, b.BetaZ, b.AlphaG}}}
	if len(a.Weights) != len(b.Weights) {
		return fmt.Sprintf("%d and %d joints", len(a.Weights), len(b.Weights))
	}
	for j := range a.Weights {
		fs = append(fs, field{fmt.Sprintf("weights[%d]", j), a.Weights[j], b.Weights[j]})
	}
	for _, f := range fs {
		if len(f.x) != len(f.y) {
			return fmt.Sprintf("%s: %d and %d values", f.name, len(f.x), len(f.y))
		}
		for i := range f.x {
			if math.Float64bits(f.x[i]) != math.Float64bits(f.y[i]) {
				return fmt.Sprintf("%s[%d]: %v and %v", f.name, i, f.x[i], f.y[i])
			}
		}
	}
	if a.Formulation != b.Formulation || a.System != b.System {
		return fmt.Sprintf("%s/%s and %s/%s", a.Formulation, a.System, b.Formulation, b.System)
	}
	return ""
}

// TestLearnSameOnDaemonAndOffline: three raw recordings of one reach with different
// timing (so the fit goes through the cleaning and the DTW alignment of several demos)
// learned by the daemon (cmd/learn) and by `praxis learn` from the same files give the same
// skill, bit for bit. --clean: auto (the default) cleans those recordings, always is the
// same for them, never fits them raw (still ends kept: a longer τ); on copies without
// their sidecars auto is never and always is still the daemon's skill; any other value is
// refused with exit status 2.
func TestLearnSameOnDaemonAndOffline(t *testing.T) {
	data := t.TempDir()
	dd := filepath.Join(data, daemon.DemosDir)
	plain := t.TempDir() // the same CSVs, no sidecars
	if err := os.MkdirAll(dd, 0o755); err != nil {
		t.Fatal(err)
	}
	var files, copies []string
	for i, d := range []struct{ dur, warp, bend float64 }{{3, 1, 0}, {3.6, 1.3, 0.03}, {2.7, 0.8, -0.02}} {
		name := fmt.Sprintf("reach%d", i+1)
		files = append(files, writeTimedDemo(t, dd, name, d.dur, 100, d.warp, d.bend, true))
		copies = append(copies, writeTimedDemo(t, plain, name, d.dur, 100, d.warp, d.bend, false))
	}

	f := false
	cfg := daemon.Config{DataDir: data, Seed: &f, LogLevel: "warn", Executor: daemon.ExecutorConfig{RateHz: 250},
		MQTT: daemon.MQTTConfig{Listen: "127.0.0.1:0"}, Web: daemon.WebConfig{Enabled: &f}}
	_, cli, dctx := startDaemonClient(t, cfg, 120*time.Second)
	ev, err := cli.Learn(dctx, mqttapi.LearnRequest{Skill: "reach", Demos: []string{"reach1", "reach2", "reach3"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := skilllib.OpenStore(filepath.Join(data, daemon.SkillsDir))
	if err != nil {
		t.Fatal(err)
	}
	onDaemon, err := st.Get("reach", ev.Version)
	if err != nil {
		t.Fatal(err)
	}

	learn := func(paths []string, extra ...string) *skilllib.Skill {
		t.Helper()
		out := filepath.Join(t.TempDir(), "reach.json")
		_, stderr, status := offlineRun(t, append(append([]string{"learn"}, paths...), append([]string{"--name", "reach", "-o", out}, extra...)...)...)
		if status != 0 {
			t.Fatalf("learn %v: status %d: %s", extra, status, stderr)
		}
		s, err := skilllib.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	auto := learn(files)
	if diff := sameDMP(&onDaemon.DMP, &auto.DMP); diff != "" {
		t.Fatalf("the daemon's skill and `praxis learn`'s differ: %s", diff)
	}
	if len(auto.Provenance.Demos) != 3 || len(onDaemon.Provenance.Demos) != 3 {
		t.Fatalf("provenance demos: offline %+v, daemon %+v", auto.Provenance.Demos, onDaemon.Provenance.Demos)
	}
	for i := range auto.Provenance.Demos {
		if a, b := auto.Provenance.Demos[i], onDaemon.Provenance.Demos[i]; a.File != b.File || a.SHA256 != b.SHA256 || a.Samples != b.Samples {
			t.Fatalf("provenance demo %d: offline %+v, daemon %+v", i, a, b)
		}
		// The demos were time-aligned (DTW): each has its spread about the mean, the same.
		if len(auto.Provenance.Spread) != 3 || len(onDaemon.Provenance.Spread) != 3 ||
			sameDMP(&dmp.DMP{Start: auto.Provenance.Spread[i].Max}, &dmp.DMP{Start: onDaemon.Provenance.Spread[i].Max}) != "" {
			t.Fatalf("alignment spread: offline %+v, daemon %+v", auto.Provenance.Spread, onDaemon.Provenance.Spread)
		}
	}
	// The recordings were cleaned (their 0.2 s still ends trimmed): τ is shorter than the
	// shortest demo's 2.7 s.
	if auto.DMP.Tau >= 2.6 {
		t.Fatalf("tau %.3f s: the recordings were not cleaned", auto.DMP.Tau)
	}
	if diff := sameDMP(&auto.DMP, &learn(files, "--clean", "auto").DMP); diff != "" {
		t.Fatalf("--clean auto differs from the default: %s", diff)
	}
	if diff := sameDMP(&auto.DMP, &learn(files, "--clean", "always").DMP); diff != "" {
		t.Fatalf("--clean always on recordings differs from auto: %s", diff)
	}
	never := learn(files, "--clean", "never")
	if sameDMP(&auto.DMP, &never.DMP) == "" || never.DMP.Tau < 2.7 {
		t.Fatalf("--clean never: tau %.3f s, the same skill as auto's: the demos were cleaned", never.DMP.Tau)
	}
	// Without sidecars nothing says "recorded": auto fits them raw, always cleans them.
	if diff := sameDMP(&never.DMP, &learn(copies).DMP); diff != "" {
		t.Fatalf("auto on plain files differs from never: %s", diff)
	}
	if diff := sameDMP(&auto.DMP, &learn(copies, "--clean", "always").DMP); diff != "" {
		t.Fatalf("always on plain files differs from the daemon's skill: %s", diff)
	}
	wantBadInput(t, `--clean "sometimes": want auto, always or never`, "learn", files[0], "--name", "x", "--clean", "sometimes")
}
