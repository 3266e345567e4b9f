package fwlink

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/firmware-bridge/fwpeer"
	fwwire "github.com/praxis-robotics/praxis/firmware-bridge/wire"
)

func start(t *testing.T, cfg Config) (*fwpeer.Peer, *Link) {
	t.Helper()
	p, err := fwpeer.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	f, err := p.OpenHost()
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return p, l
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConfigErrors(t *testing.T) {
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	for _, c := range []Config{
		{ReplyTimeout: -1},
		{FirmwareTimeout: 70 * time.Second},
		{TimeoutAction: 7},
		{Heartbeat: time.Second, FirmwareTimeout: 500 * time.Millisecond},
	} {
		if _, err := New(r, c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New(nil) accepted")
	}
	// A reply wait that, with an idle gap on either side, outlasts the board's timeout.
	_, err := New(r, Config{ReplyTimeout: 2 * time.Second, Heartbeat: 100 * time.Millisecond, FirmwareTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "ReplyTimeout 2s") || !strings.Contains(err.Error(), "FirmwareTimeout 1s") {
		t.Errorf("reply timeout above the firmware timeout: %v, want an error naming both", err)
	}
	if _, err := New(r, Config{ReplyTimeout: 150 * time.Millisecond}); err == nil {
		t.Error("ReplyTimeout 150ms + 2 × 50ms heartbeat against the 250ms default firmware timeout accepted")
	}
	if l, err := New(r, Config{ReplyTimeout: 149 * time.Millisecond}); err != nil {
		t.Errorf("ReplyTimeout 149ms + 2 × 50ms < 250ms refused: %v", err)
	} else {
		l.Close()
	}
}

// TestConfigureKeepsTheTimingRule: a firmware timeout set at run time must leave room
// for the reply wait and two heartbeats too.
func TestConfigureKeepsTheTimingRule(t *testing.T) {
	_, l := start(t, Config{Heartbeat: 50 * time.Millisecond, ReplyTimeout: 100 * time.Millisecond})
	ctx := ctxT(t)
	if _, err := l.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Configure(ctx, 200*time.Millisecond, fwwire.Detach); err == nil || !strings.Contains(err.Error(), "ReplyTimeout 100ms") {
		t.Fatalf("Configure(200ms) with a 100ms reply timeout and 50ms heartbeat: %v, want refused naming the reply timeout", err)
	}
	if err := l.Configure(ctx, 201*time.Millisecond, fwwire.Detach); err != nil {
		t.Fatalf("Configure(201ms): %v", err)
	}
}

func TestDefaultReplyTimeout(t *testing.T) {
	for _, c := range []struct{ fw, hb, want time.Duration }{
		{250 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond},
		{time.Second, 50 * time.Millisecond, 100 * time.Millisecond},
		{120 * time.Millisecond, 20 * time.Millisecond, 80 * time.Millisecond * 2 / 3},
		{40 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond}, // no room: New refuses it
		{-1, 50 * time.Millisecond, 100 * time.Millisecond},
		{250 * time.Millisecond, -1, 100 * time.Millisecond},
	} {
		if got := DefaultReplyTimeout(c.fw, c.hb); got != c.want {
			t.Errorf("DefaultReplyTimeout(%v, %v) = %v, want %v", c.fw, c.hb, got, c.want)
		}
	}
}

func TestHandshakeCommandPoll(t *testing.T) {
	p, l := start(t, Config{Heartbeat: -1, ReplyTimeout: 2 * time.Second})
	ctx := ctxT(t)
	caps, err := l.Handshake(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if caps.Joints != 6 || caps.FwMajor != 9 || caps.TimeoutMs != 250 {
		t.Fatalf("caps %+v", caps)
	}
	p.SetADC(2, 777)
	var st fwwire.Frame
	pulses := []uint16{1000, 1100, 1200, 1300, 1400, 1500}
	if err := l.Enable(ctx, 0x3F); err != nil {
		t.Fatal(err)
	}
	if err := l.Command(ctx, pulses, nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != fwwire.State || st.Pos[2] != 777 || st.Pulse[5] != 1500 || p.Pulse(1) != 1100 {
		t.Fatalf("state %+v, peer pulse %d", st, p.Pulse(1))
	}
	if err := l.Command(ctx, pulses[:5], nil, &st); !errors.Is(err, ErrRejected) {
		t.Fatalf("5 joints on a 6-joint board: %v, want ErrRejected", err)
	}
}

func TestVersionMismatch(t *testing.T) {
	p, l := start(t, Config{Heartbeat: -1})
	p.Version.Store(2)
	if _, err := l.Handshake(ctxT(t)); !errors.Is(err, ErrVersion) {
		t.Fatalf("handshake with a v2 board: %v, want ErrVersion", err)
	}
}

// TestSequenceCounting: a skipped board sequence number counts as lost, a repeated frame
// as a duplicate, a reply that comes after its timeout as stale; the link carries on.
func TestSequenceCounting(t *testing.T) {
	p, l := start(t, Config{Heartbeat: -1, ReplyTimeout: 200 * time.Millisecond})
	ctx := ctxT(t)
	if _, err := l.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	var st fwwire.Frame
	p.SkipSeq.Store(true)
	if err := l.Poll(ctx, &st); err != nil {
		t.Fatal(err)
	}
	p.DupNext.Store(true)
	if err := l.Poll(ctx, &st); err != nil {
		t.Fatal(err)
	}
	p.Mute.Store(1)
	if err := l.Poll(ctx, &st); !errors.Is(err, ErrTimeout) {
		t.Fatalf("muted board: %v, want ErrTimeout", err)
	}
	if err := l.Poll(ctx, &st); err != nil {
		t.Fatal(err)
	}
	c := l.Counters()
	if c.Lost != 1 || c.Dups != 1 || c.Timeouts != 1 {
		t.Fatalf("counters %+v, want 1 lost, 1 dup, 1 timeout", c)
	}
}

// TestHeartbeat: an idle link polls the board by itself.
func TestHeartbeat(t *testing.T) {
	_, l := start(t, Config{Heartbeat: 10 * time.Millisecond, FirmwareTimeout: 100 * time.Millisecond})
	ctx := ctxT(t)
	if _, err := l.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	base := l.Counters().TxFrames
	for l.Counters().TxFrames < base+3 {
		select {
		case <-ctx.Done():
			t.Fatal("no heartbeats")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	_, l := start(t, Config{Heartbeat: -1, ReplyTimeout: 2 * time.Second})
	ctx := ctxT(t)
	if _, err := l.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	var st fwwire.Frame
	pulses := []uint16{1000, 1100, 1200, 1300, 1400, 1500}
	if err := l.Command(ctx, pulses, nil, &st); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if err := l.Command(ctx, pulses, nil, &st); err != nil {
			t.Fatal(err)
		}
		if err := l.Poll(ctx, &st); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Command+Poll allocated %.1f times per run, want 0", allocs)
	}
}
