//go:build !linux

package busarm

import (
	"context"
	"errors"
	"time"

	"github.com/praxis-robotics/praxis/drivers/simarm"
)

// DefaultRigReplyTimeout is a Rig driver's reply timeout (see the Linux build).
const DefaultRigReplyTimeout = 500 * time.Millisecond

// RigMaxSimStep is the bound to give a Rig's SimClock (see the Linux build).
const RigMaxSimStep = 2 * time.Millisecond

// RigConfig configures StartRig (see the Linux build).
type RigConfig struct {
	Driver       string
	Arm          *simarm.Arm
	Clock        *SimClock
	ReplyTimeout time.Duration
}

// Rig needs a Linux pseudo-terminal.
type Rig struct{}

// StartRig fails: the simulated bus needs a Linux pseudo-terminal.
func StartRig(context.Context, RigConfig) (*Rig, error) {
	return nil, errors.New("busarm: rig: simulated buses need a Linux pseudo-terminal")
}

// Arm returns nil.
func (r *Rig) Arm() Arm { return nil }

// Sim returns nil.
func (r *Rig) Sim() *Sim { return nil }

// Close does nothing.
func (r *Rig) Close() error { return nil }
