package servo

import "sync/atomic"

// Stats are one servo's bus figures since its driver was opened, as a bus arm counts them
// on its per-tick paths (Read and Command).
type Stats struct {
	ID    byte
	Joint string
	// Transactions counts the exchanges addressed to the servo: each read attempt (a sync
	// read counts once for every servo it asks) and each goal write (a sync write counts
	// once for every servo).
	Transactions uint64
	// Retries counts the read attempts beyond the first of a tick.
	Retries uint64
	// Errors counts the ticks whose read of the servo failed after the retries or reported
	// an alarm, and the goal writes that failed.
	Errors uint64
}

// StatsReporter is an arm on a servo bus that counts its traffic per servo; found by type
// assertion (drivers/dynamixel.Arm and drivers/feetech.Driver implement it).
type StatsReporter interface {
	// ServoStats returns the figures of every servo, in joint order; it may be called
	// from any goroutine at any time.
	ServoStats() []Stats
}

// Counters counts bus traffic per servo with atomics: a driver adds from its I/O path
// without locking or allocating, and Stats reads them from any goroutine.
type Counters struct {
	ids    []byte
	joints []string
	c      []servoCounters
}

type servoCounters struct{ tx, retries, errs atomic.Uint64 }

// NewCounters returns zeroed counters for the servos ids[i] driving joints[i].
func NewCounters(ids []byte, joints []string) *Counters {
	return &Counters{ids: append([]byte(nil), ids...), joints: append([]string(nil), joints...),
		c: make([]servoCounters, len(ids))}
}

// Transaction counts one exchange with servo i (its index in joint order).
func (c *Counters) Transaction(i int) { c.c[i].tx.Add(1) }

// Retry counts one retried read of servo i (also a transaction: call both).
func (c *Counters) Retry(i int) { c.c[i].retries.Add(1) }

// Error counts one failure of servo i.
func (c *Counters) Error(i int) { c.c[i].errs.Add(1) }

// Stats returns every servo's figures, in joint order.
func (c *Counters) Stats() []Stats {
	out := make([]Stats, len(c.c))
	for i := range c.c {
		out[i] = Stats{ID: c.ids[i], Joint: c.joints[i], Transactions: c.c[i].tx.Load(),
			Retries: c.c[i].retries.Load(), Errors: c.c[i].errs.Load()}
	}
	return out
}
