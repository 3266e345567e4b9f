package rosarm

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"

	"github.com/praxis-robotics/praxis/internal/rostest"
	"github.com/praxis-robotics/praxis/motion/joint"
)

// BenchmarkStateToCommand measures, over loopback through a real master, a robot node
// publishing JointState at 500 Hz and the driver answering each state with a command
// (Float64MultiArray) as soon as it arrives. Reported: state arriving in the driver →
// command handed to goroslib's publisher (arrive-to-leave), and the robot's round trip
// (state published → command received), p50 and p99 in µs.
func BenchmarkStateToCommand(b *testing.B) {
	m := rostest.StartMaster(b)
	n, err := goroslib.NewNode(goroslib.NodeConf{MasterAddress: m.Addr, Name: "bench_robot", Host: "127.0.0.1",
		LogDestinations: goroslib.LogDestinationRosout})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	var mu sync.Mutex
	sentAt := map[int]time.Time{}
	var rtt []time.Duration
	got := make(chan struct{}, 1)
	sub, err := goroslib.NewSubscriber(goroslib.SubscriberConf{Node: n, Topic: DefaultPositionTopic,
		Callback: func(c *std_msgs.Float64MultiArray) {
			now := time.Now()
			mu.Lock()
			if t, ok := sentAt[int(c.Data[0])]; ok {
				rtt = append(rtt, now.Sub(t))
				delete(sentAt, int(c.Data[0]))
			}
			mu.Unlock()
			select {
			case got <- struct{}{}:
			default:
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	pub, err := goroslib.NewPublisher(goroslib.PublisherConf{Node: n, Topic: DefaultStateTopic, Msg: &sensor_msgs.JointState{}})
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()

	big := joint.Limits{Min: -1e9, Max: 1e9}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Open(ctx, Config{Master: m.URI, Host: "127.0.0.1", Controller: Position,
		Joints: []Joint{{Name: "a", Limits: big}, {Name: "b", Limits: big}}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	var dmu sync.Mutex // guards inDriver and arrived (the sender goroutine runs onSent)
	var inDriver []time.Duration
	var arrived time.Duration
	a.onSent = func(float64) {
		now := a.cfg.Clock.Now()
		dmu.Lock()
		inDriver = append(inDriver, now-arrived)
		dmu.Unlock()
	}

	// The robot: 500 Hz, position[0] = sequence number.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for seq := 1; ; seq++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			now := time.Now()
			mu.Lock()
			sentAt[seq] = now
			mu.Unlock()
			pub.Write(&sensor_msgs.JointState{Header: std_msgs.Header{Stamp: now}, Name: []string{"a", "b"}, Position: []float64{float64(seq), 0}})
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	if err := a.WaitState(ctx); err != nil {
		b.Fatal(err)
	}
	// Wait until the robot hears commands before measuring.
	st := joint.NewState(2)
	cmd := joint.Command{Pos: make([]float64, 2)}
	for connected := false; !connected; {
		<-a.notify
		_ = a.Read(ctx, &st)
		copy(cmd.Pos, st.Pos)
		_ = a.Command(ctx, cmd)
		select {
		case <-got:
			connected = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	mu.Lock()
	rtt = rtt[:0]
	mu.Unlock()
	dmu.Lock()
	inDriver = inDriver[:0]
	dmu.Unlock()
	b.ResetTimer()
	for range b.N {
		<-a.notify
		if err := a.Read(ctx, &st); err != nil {
			b.Fatal(err)
		}
		dmu.Lock()
		arrived = st.Time
		dmu.Unlock()
		copy(cmd.Pos, st.Pos)
		if err := a.Command(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mu.Lock()
	r := slices.Clone(rtt)
	mu.Unlock()
	dmu.Lock()
	in := slices.Clone(inDriver)
	dmu.Unlock()
	report := func(name string, d []time.Duration) {
		if len(d) == 0 {
			return
		}
		slices.Sort(d)
		q := func(p float64) float64 {
			return float64(d[min(len(d)-1, int(math.Ceil(p*float64(len(d))))-1)].Microseconds())
		}
		b.ReportMetric(q(0.5), name+"-p50-µs")
		b.ReportMetric(q(0.99), name+"-p99-µs")
	}
	report("arrive-to-leave", in)
	report("round-trip", r)
}
