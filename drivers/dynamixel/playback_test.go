package dynamixel_test

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
)

// step is one scripted exchange: the driver must write w exactly; then r becomes readable.
type step struct {
	w, r []byte
}

// playback is a fake port replaying a byte transcript, in the style of periph's
// i2ctest.Playback: an unexpected write fails the test, and so do unused steps at the end.
type playback struct {
	t      *testing.T
	mu     sync.Mutex
	cond   *sync.Cond
	steps  []step
	rbuf   []byte
	closed bool
}

func newPlayback(t *testing.T, steps ...step) *playback {
	p := &playback{t: t, steps: steps}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.steps) != 0 {
			t.Errorf("playback: %d scripted steps unused, next write % X", len(p.steps), p.steps[0].w)
		}
	})
	return p
}

var errUnexpected = errors.New("playback: unexpected write")

func (p *playback) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.steps) == 0 {
		p.t.Errorf("playback: write % X after the end of the script", b)
		return 0, errUnexpected
	}
	if s := p.steps[0]; !bytes.Equal(s.w, b) {
		p.t.Errorf("playback: write\n got % X\nwant % X", b, s.w)
		return 0, errUnexpected
	}
	p.rbuf = append(p.rbuf, p.steps[0].r...)
	p.steps = p.steps[1:]
	p.cond.Broadcast()
	return len(b), nil
}

func (p *playback) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.rbuf) == 0 && !p.closed {
		p.cond.Wait()
	}
	if p.closed {
		return 0, io.EOF
	}
	n := copy(b, p.rbuf)
	p.rbuf = p.rbuf[n:]
	return n, nil
}

func (p *playback) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.cond.Broadcast()
	return nil
}
