package broker

import (
	"context"
	"time"
)

// Drain waits until every connected client has acknowledged the QoS 1 and 2 messages the
// broker sent it, or ctx ends (then it returns ctx.Err()). Call it before Close, so that
// what was published just before a shutdown reaches its subscribers.
func (b *Broker) Drain(ctx context.Context) error {
	for {
		busy := false
		for _, cl := range b.srv.Clients.GetAll() {
			if !cl.Closed() && cl.State.Inflight.Len() > 0 {
				busy = true
				break
			}
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}
