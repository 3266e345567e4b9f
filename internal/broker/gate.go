package broker

import (
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/time/rate"
)

// Refusals logged when a client exceeds its command rate.
const (
	reasonCmdRate  = "command rate exceeded: dropped"
	reasonCmdFlood = "command flood: disconnected"
)

// floodDrops is how many commands a client may have dropped within one second before
// it is disconnected: a flood costs the broker (and the control loop beside it) CPU even
// when every message is dropped.
const floodDrops = 1000

// gate is the hook behind the policy that meters command publishes per client and hands
// e-stops to the in-process daemon at once (Config.CommandRate, Config.EStop). It runs
// after the policy, so it sees only authorised publishes.
type gate struct {
	mqtt.HookBase
	rate       rate.Limit
	burst      int
	exempt     func(cl *mqtt.Client) bool // the daemon's own connection
	estop      func(topic string)
	dropped    func(topic string)    // Config.Dropped
	disconnect func(cl *mqtt.Client) // ends a flooding client's connection
	log        *refusalLog
	now        func() time.Time

	mu      sync.Mutex
	buckets map[string]*cmdBucket // by client id
}

type cmdBucket struct {
	lim    *rate.Limiter
	drops  int       // dropped since window
	window time.Time // start of the current one-second drop count
}

func (g *gate) ID() string { return "praxis-command-gate" }

func (g *gate) Provides(b byte) bool { return b == mqtt.OnPublish || b == mqtt.OnDisconnect }

// OnPublish passes e-stops at once (and tells the daemon first), and drops a client's
// commands beyond its rate.
func (g *gate) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || !IsCommandTopic(pk.TopicName) {
		return pk, nil
	}
	if strings.HasSuffix(pk.TopicName, "/cmd/estop") {
		if g.estop != nil {
			g.estop(pk.TopicName)
		}
		return pk, nil
	}
	if g.exempt(cl) {
		return pk, nil
	}
	now := g.now()
	g.mu.Lock()
	b := g.buckets[cl.ID]
	if b == nil {
		b = &cmdBucket{lim: rate.NewLimiter(g.rate, g.burst)}
		g.buckets[cl.ID] = b
	}
	ok := b.lim.AllowN(now, 1)
	flood := false
	if !ok {
		if now.Sub(b.window) >= time.Second {
			b.window, b.drops = now, 0
		}
		b.drops++
		flood = b.drops == floodDrops
	}
	g.mu.Unlock()
	if !ok {
		if g.dropped != nil {
			g.dropped(pk.TopicName)
		}
		if flood {
			g.log.refuse(reasonCmdFlood, string(cl.Properties.Username), cl.Net.Remote, cl.ID, pk.TopicName)
			if g.disconnect != nil {
				g.disconnect(cl)
			}
			return pk, packets.ErrRejectPacket
		}
		g.log.refuse(reasonCmdRate, string(cl.Properties.Username), cl.Net.Remote, cl.ID, pk.TopicName)
		return pk, packets.CodeSuccessIgnore
	}
	return pk, nil
}

// maxIdleBuckets bounds the buckets kept for clients that have gone: beyond it, those that
// have refilled are forgotten at the next disconnect.
const maxIdleBuckets = 4096

// OnDisconnect forgets the client's bucket once it has refilled. A client that floods, is
// disconnected and connects again under the same id finds its bucket as empty as it left
// it: reconnecting does not buy a fresh burst (it did, and four reconnecting clients got
// thousands of commands a second past their 50/s to the daemon, which then shed other
// clients' commands too).
func (g *gate) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	full := func(b *cmdBucket) bool { return b.lim.TokensAt(now) >= float64(g.burst) }
	if b := g.buckets[cl.ID]; b != nil && full(b) {
		delete(g.buckets, cl.ID)
	}
	if len(g.buckets) > maxIdleBuckets {
		for id, b := range g.buckets {
			if full(b) {
				delete(g.buckets, id)
			}
		}
	}
}
