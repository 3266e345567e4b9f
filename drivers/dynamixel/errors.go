package dynamixel

import (
	"strconv"
	"strings"

	"github.com/praxis-robotics/praxis/drivers"
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
)

// sentinel is an error with a short reason that wraps a more general sentinel.
type sentinel struct {
	reason string
	wrap   error
}

func (e *sentinel) Error() string { return "dynamixel: " + e.reason }
func (e *sentinel) Unwrap() error { return e.wrap }

// Sentinel errors; each servo failure in a *TickError or *ServoError wraps one of them.
var (
	// ErrTimeout: a servo did not reply within Config.ReplyTimeout. Wraps drivers.ErrTimeout.
	ErrTimeout error = &sentinel{"no reply", drivers.ErrTimeout}
	// ErrCRC: a reply arrived corrupted. Wraps dxlproto.ErrCRC.
	ErrCRC error = &sentinel{"crc mismatch", dxlproto.ErrCRC}
	// ErrReply: a reply had the wrong length or the wrong servo ID.
	ErrReply error = &sentinel{"malformed reply", nil}
	// ErrStatus: a servo answered with a non-zero error code in its status.
	ErrStatus error = &sentinel{"status error", nil}
	// ErrHardware: a servo raised its hardware alert (overload, overheating, electrical
	// shock, input voltage, encoder). Wraps drivers.ErrFault.
	ErrHardware error = &sentinel{"hardware alert", drivers.ErrFault}
	// ErrModel: a servo's model number differs from the configured model.
	ErrModel error = &sentinel{"unexpected model", nil}
)

func reason(err error) string {
	if s, ok := err.(*sentinel); ok {
		return s.reason
	}
	return err.Error()
}

// ServoError is the failure of one servo in one exchange.
type ServoError struct {
	ID       byte
	Joint    string               // joint name, "" when the ID is not configured
	Status   dxlproto.StatusError // error byte of its last status (0 when none arrived)
	Hardware byte                 // Hardware Error Status bits (address 70) when Err is ErrHardware
	Err      error                // ErrTimeout, ErrCRC, ErrReply, ErrStatus, ErrHardware, or a transport error
}

func (e *ServoError) describe(b *strings.Builder) {
	b.WriteString("servo ")
	b.WriteString(strconv.Itoa(int(e.ID)))
	if e.Joint != "" {
		b.WriteString(" (")
		b.WriteString(e.Joint)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(reason(e.Err))
	switch {
	case e.Err == ErrHardware:
		b.WriteString(": ")
		b.WriteString(dxlproto.HardwareString(e.Hardware))
	case e.Err == ErrStatus:
		b.WriteString(": ")
		b.WriteString(e.Status.String())
	}
}

// Error reads like "dynamixel: servo 3 (elbow): hardware alert: overload".
func (e *ServoError) Error() string {
	var b strings.Builder
	b.WriteString("dynamixel: ")
	e.describe(&b)
	return b.String()
}

// Unwrap returns the reason (a sentinel above, or the transport error).
func (e *ServoError) Unwrap() error { return e.Err }

// TickError reports every servo that failed in one Read, Command or setup step, after
// retries. Fault is set when a servo stayed silent for Config.FaultTicks ticks: the arm
// is then faulted until Setup succeeds again, and the error wraps drivers.ErrFault.
type TickError struct {
	Op     string // "read", "command", "setup", ...
	Servos []ServoError
	Fault  bool
}

// Error reads like "dynamixel: read: servo 3 (elbow): no reply; servo 5: crc mismatch".
func (e *TickError) Error() string {
	var b strings.Builder
	b.WriteString("dynamixel: ")
	b.WriteString(e.Op)
	if e.Fault {
		b.WriteString(": arm faulted")
	}
	for i := range e.Servos {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		e.Servos[i].describe(&b)
	}
	return b.String()
}

// Unwrap returns each servo's error, and drivers.ErrFault when the arm faulted.
func (e *TickError) Unwrap() []error {
	out := make([]error, 0, len(e.Servos)+1)
	for i := range e.Servos {
		out = append(out, &e.Servos[i])
	}
	if e.Fault {
		out = append(out, drivers.ErrFault)
	}
	return out
}

// Failed reports whether servo id is listed.
func (e *TickError) Failed(id byte) bool {
	for i := range e.Servos {
		if e.Servos[i].ID == id {
			return true
		}
	}
	return false
}
