package busarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
	"github.com/praxis-robotics/praxis/drivers/simarm"
	"github.com/praxis-robotics/praxis/motion/joint"
	"github.com/praxis-robotics/praxis/sim"
	dxlsim "github.com/praxis-robotics/praxis/sim/wire/dynamixel"
	stssim "github.com/praxis-robotics/praxis/sim/wire/feetech"
)

// SimConfig configures a simulated servo bus in front of a simulated arm.
type SimConfig struct {
	// Bus is the servo IDs and calibration, the same Config the driver is opened with;
	// Bus.Driver picks the protocol. Servo i drives arm joint i, and the joint names must
	// match the arm's. Required.
	Bus Config
	// Arm is the physics; required. The servos start with torque off, as at power-up, so
	// NewSim makes the arm limp. Give it a SimClock (simarm.Config.Clock): on the real
	// clock a reply after a long pause pays for integrating the whole pause.
	Arm *simarm.Arm
	// Hand, optional, guides the arm (sim.Hand) from its first sample each time the last
	// servo's torque goes off, and lets go when any servo's torque comes on: a scripted
	// kinesthetic demonstration over the bus.
	Hand *sim.Hand
	// Faults are injected when Serve starts (or Fault.After later).
	Faults []Fault
	// ReturnDelay is every servo's initial return delay, units of 2 µs; 0 means 250
	// (500 µs, as shipped). Drivers' Setup sets it to 0.
	ReturnDelay byte
	// Keepalive is how often the arm is stepped while the bus is idle, so that the real-time
	// simulation never has a long backlog; 0 means 20 ms.
	Keepalive time.Duration
}

// Sim impersonates the servos of a simarm.Arm on a serial line (a pty master): correct
// replies, control tables, per-servo torque, paced at the baud rate after each return
// delay, with injectable faults.
type Sim struct {
	cfg   SimConfig
	plant *plant
	dxl   *dxlsim.Sim
	sts   *stssim.Bus
	ids   map[int]bool
}

// NewSim validates cfg and builds the impersonator on rw; it does not read rw before Serve.
// Errors name the bad field.
func NewSim(rw io.ReadWriter, cfg SimConfig) (*Sim, error) {
	if rw == nil {
		return nil, errors.New("busarm: sim: nil port")
	}
	if cfg.Arm == nil {
		return nil, errors.New("busarm: sim: Arm is nil")
	}
	bus, err := cfg.Bus.normalized()
	if err != nil {
		return nil, err
	}
	cfg.Bus = bus
	js := cfg.Arm.Joints()
	if len(js) != len(bus.Servos) {
		return nil, fmt.Errorf("busarm: sim: %d servos for an arm of %d joints", len(bus.Servos), len(js))
	}
	for i, s := range bus.Servos {
		if s.Joint != js[i].Name {
			return nil, fmt.Errorf("busarm: sim: servos[%d].joint %q, arm joint %d is %q", i, s.Joint, i, js[i].Name)
		}
	}
	if cfg.Hand != nil && cfg.Hand.DOF() != len(js) {
		return nil, fmt.Errorf("busarm: sim: hand drives %d joints, arm has %d", cfg.Hand.DOF(), len(js))
	}
	if cfg.ReturnDelay == 0 {
		cfg.ReturnDelay = 250
	}
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = 20 * time.Millisecond
	}
	s := &Sim{cfg: cfg, ids: map[int]bool{}}
	for _, sv := range bus.Servos {
		s.ids[sv.ID] = true
	}
	for _, f := range cfg.Faults {
		if !s.ids[f.ID] {
			return nil, fmt.Errorf("busarm: sim: fault %s: no servo %d on the bus", f, f.ID)
		}
	}
	if err := cfg.Arm.SetTorque(context.Background(), false); err != nil {
		return nil, fmt.Errorf("busarm: sim: %w", err)
	}
	s.plant = &plant{arm: cfg.Arm, hand: cfg.Hand, on: make([]bool, len(js))}
	switch bus.Driver {
	case Dynamixel:
		dc := dxlsim.Config{Plant: s.plant, Baud: bus.Baud, ReturnDelay: cfg.ReturnDelay}
		for _, sv := range bus.Servos {
			dc.IDs = append(dc.IDs, byte(sv.ID))
			dc.Cal = append(dc.Cal, sv.DxlCalibration())
		}
		s.dxl, err = dxlsim.New(rw, dc)
	case Feetech:
		s.sts, err = stssim.New(rw, s.plant, stssim.Config{Servos: bus.stsServos(), Baud: bus.Baud, ReturnDelay: cfg.ReturnDelay})
	}
	if err != nil {
		return nil, fmt.Errorf("busarm: sim: %w", err)
	}
	return s, nil
}

// Config returns the bus configuration with defaults applied: open the driver with it.
func (s *Sim) Config() Config { return s.cfg.Bus }

// HandStarts returns how many times the hand has started guiding the arm.
func (s *Sim) HandStarts() int {
	s.plant.mu.Lock()
	defer s.plant.mu.Unlock()
	return s.plant.starts
}

// Serve answers the bus until ctx ends (then it returns nil) or the port fails. Call once.
func (s *Sim) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, f := range s.cfg.Faults {
		if f.After <= 0 {
			if err := s.Inject(f); err != nil {
				return err
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(f.After)
			defer t.Stop()
			select {
			case <-t.C:
				_ = s.Inject(f)
			case <-ctx.Done():
			}
		}()
	}
	wg.Add(1)
	go func() { // keep the real-time simulation current while the bus is idle
		defer wg.Done()
		st := joint.NewState(len(s.cfg.Bus.Servos))
		tk := time.NewTicker(s.cfg.Keepalive)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				_ = s.cfg.Arm.Read(ctx, &st)
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	if s.dxl != nil {
		err = s.dxl.Serve(ctx)
	} else {
		err = s.sts.Serve(ctx)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Inject applies f now. It fails for a servo not on the bus.
func (s *Sim) Inject(f Fault) error {
	if !s.ids[f.ID] {
		return fmt.Errorf("busarm: sim: fault %s: no servo %d on the bus", f, f.ID)
	}
	id := byte(f.ID)
	if s.dxl != nil {
		switch f.Kind {
		case FaultDrop:
			return s.dxl.DropNextReplies(id, f.N)
		case FaultCorrupt:
			return s.dxl.CorruptNextReplies(id, f.N)
		case FaultSilent:
			return s.dxl.SetSilent(id, true)
		case FaultOverload:
			return s.dxl.SetHardwareError(id, dxlproto.HWOverload)
		case FaultOverheat:
			return s.dxl.SetHardwareError(id, dxlproto.HWOverheating)
		}
	} else {
		switch f.Kind {
		case FaultDrop:
			s.sts.DropNext(id, f.N)
		case FaultCorrupt:
			s.sts.CorruptNext(id, f.N)
		case FaultSilent:
			s.sts.SetSilent(id, true)
		case FaultOverload:
			s.sts.SetStatus(id, ftproto.StatusOverload)
		case FaultOverheat:
			s.sts.SetStatus(id, ftproto.StatusOverheat)
		default:
			return fmt.Errorf("busarm: sim: fault kind %q unknown", f.Kind)
		}
		return nil
	}
	return fmt.Errorf("busarm: sim: fault kind %q unknown", f.Kind)
}

// plant is the arm as the impersonators see it; it starts and stops the hand on torque
// transitions.
type plant struct {
	arm     *simarm.Arm
	hand    *sim.Hand
	mu      sync.Mutex
	on      []bool
	guiding bool
	starts  int
}

func (p *plant) Read(ctx context.Context, s *joint.State) error { return p.arm.Read(ctx, s) }

func (p *plant) Command(ctx context.Context, c joint.Command) error { return p.arm.Command(ctx, c) }

// SetJointTorque switches joint i and starts the hand when the last servo goes limp.
func (p *plant) SetJointTorque(i int, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i < 0 || i >= len(p.on) {
		return fmt.Errorf("busarm: sim: joint %d out of range", i)
	}
	if err := p.arm.SetJointTorque(i, on); err != nil {
		return err
	}
	was := p.on[i]
	p.on[i] = on
	if p.hand == nil || was == on {
		return nil
	}
	if on {
		if p.guiding {
			p.guiding = false
			return p.arm.Guide(nil)
		}
		return nil
	}
	for _, o := range p.on {
		if o {
			return nil
		}
	}
	p.guiding = true
	p.starts++
	return p.arm.Guide(p.hand)
}

// BusStats counts the instructions the impersonated bus has handled since NewSim.
type BusStats struct {
	SyncReads  int // sync reads and fast sync reads (one per driver tick, more on Dynamixel retries)
	Reads      int // single-servo reads (Feetech retries, register reads)
	SyncWrites int // sync writes: goal positions and torque switches of all servos at once
}

// Stats returns the instruction counts so far.
func (s *Sim) Stats() BusStats {
	if s.dxl != nil {
		return BusStats{SyncReads: s.dxl.Count(dxlproto.InstSyncRead) + s.dxl.Count(dxlproto.InstFastSyncRead),
			Reads: s.dxl.Count(dxlproto.InstRead), SyncWrites: s.dxl.Count(dxlproto.InstSyncWrite)}
	}
	return BusStats{SyncReads: s.sts.Count(ftproto.InstSyncRead), Reads: s.sts.Count(ftproto.InstRead),
		SyncWrites: s.sts.Count(ftproto.InstSyncWrite)}
}

// Goals returns each servo's goal position register in joint order, rad (the bus
// calibration).
func (s *Sim) Goals() ([]float64, error) {
	out := make([]float64, len(s.cfg.Bus.Servos))
	for i, sv := range s.cfg.Bus.Servos {
		id := byte(sv.ID)
		var ticks int
		if s.dxl != nil {
			b, err := s.dxl.Register(id, dxlproto.XSeries.GoalPosition, 4)
			if err != nil {
				return nil, fmt.Errorf("busarm: sim: %w", err)
			}
			ticks = int(int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24))
		} else {
			lo, ok1 := s.sts.Register(id, ftproto.RegGoalPosition)
			hi, ok2 := s.sts.Register(id, ftproto.RegGoalPosition+1)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("busarm: sim: no goal register for servo %d", id)
			}
			ticks = ftproto.DecodeSignMag(ftproto.STS.Word([]byte{lo, hi}), ftproto.SignBitPos)
		}
		out[i] = sv.Radians(ticks)
	}
	return out, nil
}
