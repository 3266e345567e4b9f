package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/praxis-robotics/praxis/internal/core"
	"github.com/praxis-robotics/praxis/internal/rosnode"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// rosCore is the daemon as the ROS front end (rosnode) sees it: the same Service as MQTT
// (so one run at a time, the e-stop and the limits hold alike), the tap's latest state,
// and the daemon's events as the MQTT JSON.
type rosCore struct {
	svc     core.Service
	refused func(cmd string, shed bool) // counts a command refused before the Service (metrics); may be nil
	names   []string
	tap     *tapArm
	events  *eventFan
}

var _ rosnode.Core = (*rosCore)(nil)

func (c *rosCore) Joints() []string { return c.names }

// JointState copies the latest state the daemon read (telemetry, a run or a recording)
// when it is at most 200 ms old.
func (c *rosCore) JointState(s *joint.State) bool { return c.tap.snapshot(s, 200*time.Millisecond) }

func (c *rosCore) Skills(context.Context) ([]rosnode.SkillSummary, error) {
	list, err := c.svc.Skills()
	if err != nil {
		return nil, err
	}
	out := make([]rosnode.SkillSummary, len(list))
	for i, s := range list {
		out[i] = rosnode.SkillSummary{Name: s.Name, Version: s.Version, Versions: s.Versions, Joints: s.Joints, Duration: s.Duration}
	}
	return out, nil
}

// Run submits the run as cmd/run would; a rejection's error text is its reason.
func (c *rosCore) Run(_ context.Context, r rosnode.RunRequest) error {
	req := core.RunRequest{ID: r.ID, Skill: r.Skill, Version: r.Version, Goal: r.Goal, Duration: r.Duration}
	if err := req.Check(); err != nil {
		if c.refused != nil {
			c.refused(core.CmdRun, false)
		}
		return rejectionText(err)
	}
	if err := c.svc.Run(req); err != nil {
		return rejectionText(err)
	}
	return nil
}

func (c *rosCore) Events(ctx context.Context) <-chan []byte { return c.events.subscribe(ctx) }

// rejectionText turns a core rejection into an error whose text is the bare reason.
func rejectionText(err error) error {
	var r *core.Rejection
	if errors.As(err, &r) {
		if r.Field != "" {
			return errors.New(r.Field + ": " + r.Reason)
		}
		return errors.New(r.Reason)
	}
	return err
}

// eventFan is a core.Sink that hands every event, JSON-encoded as on MQTT, to its
// subscribers; a slow subscriber loses its oldest events, never blocks the daemon.
type eventFan struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

func newEventFan() *eventFan { return &eventFan{subs: map[chan []byte]struct{}{}} }

func (f *eventFan) subscribe(ctx context.Context) <-chan []byte {
	ch := make(chan []byte, 256)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs, ch)
		close(ch)
		f.mu.Unlock()
	}()
	return ch
}

// Publish implements core.Sink.
func (f *eventFan) Publish(e core.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) == 0 {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	for ch := range f.subs {
		for range 2 {
			select {
			case ch <- b:
			default:
				select { // full: drop the oldest
				case <-ch:
				default:
				}
				continue
			}
			break
		}
	}
}

func (f *eventFan) PublishState(core.State)        {}
func (f *eventFan) SetStatus(core.Status)          {}
func (f *eventFan) PublishSkills([]core.SkillInfo) {}
