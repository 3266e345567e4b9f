// Package dynamixel drives a chain of ROBOTIS Dynamixel X-series servos (XL430, XM430,
// ...) over Protocol 2.0 as one drivers.Arm, natively (no SDK).
//
// New(rw, cfg) wraps any io.ReadWriteCloser; Open(port, cfg) opens a serial port with
// go.bug.st/serial. Neither touches the servos: Setup(ctx) pings them, sets return delay 0
// and position mode, optionally writes limits, and switches torque on holding the present
// position. Each control tick is one sync write (Command) and one sync read or fast sync
// read of present velocity and position, addresses 128..135 (Read); both allocate nothing.
//
// Faults: a missing or corrupted reply is retried within the tick (Config.Retries); what
// still fails is reported per servo in a *TickError. A servo that stays silent for
// Config.FaultTicks ticks latches a fault wrapping drivers.ErrFault until Setup succeeds
// again. Hardware alerts are read from address 70 and reported as a *ServoError wrapping
// ErrHardware (and drivers.ErrFault) with the overload/overheating/... bits.
//
// Bus gives register-level access (Ping, Scan, ReadRegister, WriteRegister) for tools.
package dynamixel
