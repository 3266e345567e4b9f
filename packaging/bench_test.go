package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkReleaseFigures measures the README's release figures: binary size per target
// (MB, 10⁶ bytes), and for the amd64 daemon on the simulated SO-101 the time from exec to
// serving (ms; the first start seeds the library and generates credentials, the second
// does not), the resident set idle after start and its peak during a run of the seeded
// "wave" skill (MB). Run: go test -run '^$' -bench ReleaseFigures -benchtime 1x ./packaging
func BenchmarkReleaseFigures(b *testing.B) {
	dist := release(b)
	for _, tg := range targets {
		fi, err := os.Stat(filepath.Join(dist, "praxis-linux-"+tg.name))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/1e6, "MB-"+tg.name)
	}
	bin := filepath.Join(dist, "praxis-linux-amd64")
	var start, warm, idle, peak float64
	for range b.N {
		dir := b.TempDir()
		// As packaged: 500 Hz with SCHED_FIFO (the service has CAP_SYS_NICE; run as root here).
		cfg := serveConfig(b, dir, "{rate_hz: 500, realtime_priority: 50}")
		d := startDaemon(b, nil, bin, "serve", "--config", cfg)
		start += float64(d.startup.Milliseconds())
		idle += float64(rssKiB(b, d.cmd.Process.Pid)) / 1024
		// Peak RSS while the run goes: sampled every 10 ms until praxis run returns.
		done := make(chan struct{})
		var mu sync.Mutex
		top := 0
		go func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
				}
				if kb := rssKiB(b, d.cmd.Process.Pid); kb > 0 {
					mu.Lock()
					top = max(top, kb)
					mu.Unlock()
				}
			}
		}()
		out, err := exec.Command(bin, "run", "wave", "--broker", d.broker, "--data", filepath.Join(dir, "data")).CombinedOutput()
		close(done)
		if err != nil {
			b.Fatalf("praxis run wave: %v\n%s", err, out)
		}
		mu.Lock()
		peak += float64(top) / 1024
		mu.Unlock()
		d.stop(b)
		// A second start on the same data: no seeding, no credential generation.
		d = startDaemon(b, nil, bin, "serve", "--config", cfg)
		warm += float64(d.startup.Milliseconds())
		d.stop(b)
	}
	n := float64(b.N)
	b.ReportMetric(start/n, "ms-to-serving")
	b.ReportMetric(warm/n, "ms-to-serving-again")
	b.ReportMetric(idle/n, "MB-rss-idle")
	b.ReportMetric(peak/n, "MB-rss-run")
	b.ReportMetric(0, "ns/op")
}
