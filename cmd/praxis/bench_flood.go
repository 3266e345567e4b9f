package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxis-robotics/praxis/internal/broker"
	"github.com/praxis-robotics/praxis/internal/mqttapi"
)

// floodTopic is where the flood publishes: the daemon's cmd/run topic for robot "bench".
const floodTopic = "praxis/bench/cmd/run"

// floodStats says how hard the flood pushed while a loop ran.
type floodStats struct {
	Clients   int     `json:"clients"`
	Published int64   `json:"published"` // QoS 0 cmd/run handed to the publishers' connections
	Decoded   int64   `json:"decoded"`   // received by the subscriber and decoded as the daemon does
	Rejected  int64   `json:"rejected"`  // of those, refused by the decoder (none expected)
	DecodedPS float64 `json:"decoded_per_s"`
}

// flood is an MQTT command flood inside this process: an embedded broker (anonymous,
// loopback, ephemeral port), one subscriber that decodes every message with the daemon's
// cmd/run decoder (mqttapi.DecodeRun), and n publishers sending valid QoS 0 cmd/run as
// fast as their connections take them. Its CPU and garbage land in this process, as a
// flood reaching the daemon would.
type flood struct {
	b       *broker.Broker
	sub     paho.Client
	pubs    []paho.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	onCmd   func(mqttapi.RunRequest) // called for every decoded command, on paho's goroutine
	mu      sync.RWMutex             // held (read) while onCmd runs; Close takes it to stop them
	stopped bool
	t0      time.Time
	pubN    atomic.Int64
	decN    atomic.Int64
	rejectN atomic.Int64
}

func floodClient(url, id string) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetOrderMatters(false)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("bench loop: flood client %s: connect timed out", id)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("bench loop: flood client %s: %w", id, err)
	}
	return c, nil
}

// startFlood starts the broker, the subscriber and n publishers; onCmd, if not nil,
// sees every decoded command. Close stops them.
func startFlood(n int, onCmd func(mqttapi.RunRequest)) (*flood, error) {
	b, err := broker.Open(broker.Config{Address: "127.0.0.1:0", Anonymous: true})
	if err != nil {
		return nil, fmt.Errorf("bench loop: flood: %w", err)
	}
	f := &flood{b: b, onCmd: onCmd}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	if f.sub, err = floodClient(b.URL(), "praxis-bench-daemon"); err != nil {
		return nil, err
	}
	tok := f.sub.Subscribe("praxis/bench/cmd/+", 0, f.handle)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("bench loop: flood: subscribe: %v", tok.Error())
	}
	for i := range n {
		c, err := floodClient(b.URL(), "praxis-bench-flood-"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		f.pubs = append(f.pubs, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.t0 = time.Now()
	for i, c := range f.pubs {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.publish(ctx, c, i)
		}()
	}
	ok = true
	return f, nil
}

// publish sends valid cmd/run commands, each with its own id, until ctx is done.
func (f *flood) publish(ctx context.Context, c paho.Client, client int) {
	prefix := "f" + strconv.Itoa(client) + "-"
	for k := 0; ctx.Err() == nil; k++ {
		p := `{"id":"` + prefix + strconv.Itoa(k) + `","skill":"wave","goal":{"shoulder_pan":0.1,"elbow_flex":0.5},"duration":2.5}`
		tok := c.Publish(floodTopic, 0, false, p)
		if k%64 == 63 {
			// QoS 0 tokens complete once written: waiting on one now and then keeps the
			// publisher from running ahead of its connection without pacing it.
			tok.WaitTimeout(time.Second)
		}
		f.pubN.Add(1)
	}
}

// handle is the subscriber's handler: decode as the daemon does, never block.
func (f *flood) handle(_ paho.Client, m paho.Message) {
	r, err := mqttapi.DecodeRun(m.Payload())
	f.decN.Add(1)
	if err != nil {
		f.rejectN.Add(1)
		return
	}
	f.mu.RLock()
	if f.onCmd != nil && !f.stopped {
		f.onCmd(r)
	}
	f.mu.RUnlock()
}

// stats returns the counts so far and resets them, so each loop gets its own.
func (f *flood) stats() floodStats {
	now := time.Now()
	s := floodStats{Clients: len(f.pubs), Published: f.pubN.Swap(0), Decoded: f.decN.Swap(0), Rejected: f.rejectN.Swap(0)}
	if d := now.Sub(f.t0).Seconds(); d > 0 {
		s.DecodedPS = float64(s.Decoded) / d
	}
	f.t0 = now
	return s
}

// Close stops the publishers, disconnects every client and stops the broker.
func (f *flood) Close() {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
	for _, c := range f.pubs {
		c.Disconnect(0)
	}
	if f.sub != nil {
		f.sub.Disconnect(0)
	}
	f.mu.Lock() // no handler is in onCmd after this
	f.stopped = true
	f.mu.Unlock()
	_ = f.b.Close()
}
