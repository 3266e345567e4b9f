package servo

import "context"

// Found is a servo that answered a ping.
type Found struct {
	ID       byte
	Model    uint16 // model number (STS3215: 777; XL430-W250: 1060); 0 when unread
	Firmware byte   // firmware (major) version; 0 when unread
}

// Bus is register access to one servo bus, the same for both serial protocols
// (drivers/dynamixel.Bus and drivers/feetech.Bus implement it): operator tools
// (`praxis bus`) and set-up code are written once against it. Addresses are the
// protocol's control-table addresses; multi-byte registers are little-endian on both
// (Feetech STS/SMS) or the caller's concern. Failures for one servo wrap
// drivers.ErrTimeout when it is silent.
type Bus interface {
	// Identify pings servo id and reads its model number and firmware version.
	Identify(ctx context.Context, id byte) (Found, error)
	// BroadcastPing pings every servo at once and returns those that answered, in the
	// order they answered, with their model numbers.
	BroadcastPing(ctx context.Context) ([]Found, error)
	// ReadRegister reads len(dst) bytes at addr of servo id.
	ReadRegister(ctx context.Context, id byte, addr uint16, dst []byte) error
	// WriteRegister writes data at addr of servo id and waits for its acknowledgement.
	WriteRegister(ctx context.Context, id byte, addr uint16, data []byte) error
	// Close closes the port.
	Close() error
}
