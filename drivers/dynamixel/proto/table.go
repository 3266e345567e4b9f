package dxlproto

import (
	"math"

	"github.com/praxis-robotics/praxis/drivers/servo"
)

// Model is the control table of one servo family: addresses (bytes) of the fields the
// driver and the simulator use.
type Model struct {
	Name             string
	Number           uint16  // model number at address 0; 0 accepts any
	ReturnDelay      uint16  // 1 byte, units of 2 µs
	OperatingMode    uint16  // 1 byte; PositionMode selects position control
	VelocityLimit    uint16  // 4 bytes, VelocityUnit
	MaxPositionLimit uint16  // 4 bytes, ticks
	MinPositionLimit uint16  // 4 bytes, ticks
	TorqueEnable     uint16  // 1 byte, 0 or 1
	HardwareError    uint16  // 1 byte, HW* bits
	BusWatchdog      uint16  // 1 byte, units of 20 ms, 0 disables
	GoalPosition     uint16  // 4 bytes, ticks
	PresentLoad      uint16  // 2 bytes, 0.1 % of maximum torque
	PresentVelocity  uint16  // 4 bytes, VelocityUnit; PresentPosition follows it
	PresentPosition  uint16  // 4 bytes, ticks
	VelocityUnit     float64 // rad/s per velocity LSB
}

// Control-table constants of the X series.
const (
	AddrModelNumber     = 0  // 2 bytes
	AddrFirmwareVersion = 6  // 1 byte
	AddrID              = 7  // 1 byte
	AddrBaudRate        = 8  // 1 byte, code (3 = 1 Mbps)
	PositionMode        = 3  // Operating Mode value for position control
	WatchdogUnit        = 20 // ms per Bus Watchdog LSB
	ModelXL430W250      = 1060
	ModelXM430W350      = 1020
)

// Hardware Error Status bits (address 70).
const (
	HWInputVoltage    = 0x01
	HWOverheating     = 0x04
	HWMotorEncoder    = 0x08
	HWElectricalShock = 0x10
	HWOverload        = 0x20
)

// HardwareString names the set bits of a Hardware Error Status byte, e.g. "overload".
func HardwareString(bits byte) string {
	s := ""
	add := func(name string) {
		if s != "" {
			s += ", "
		}
		s += name
	}
	if bits&HWInputVoltage != 0 {
		add("input voltage")
	}
	if bits&HWOverheating != 0 {
		add("overheating")
	}
	if bits&HWMotorEncoder != 0 {
		add("motor encoder")
	}
	if bits&HWElectricalShock != 0 {
		add("electrical shock")
	}
	if bits&HWOverload != 0 {
		add("overload")
	}
	if rest := bits &^ (HWInputVoltage | HWOverheating | HWMotorEncoder | HWElectricalShock | HWOverload); rest != 0 {
		add("bits 0x" + hex2(rest))
	}
	if s == "" {
		return "none"
	}
	return s
}

func hex2(b byte) string {
	const d = "0123456789abcdef"
	return string([]byte{d[b>>4], d[b&15]})
}

// XSeries is the control table shared by XL430, XM430, XH430 and XC430 (firmware ≥ 38).
var XSeries = Model{
	Name: "x", ReturnDelay: 9, OperatingMode: 11, VelocityLimit: 44,
	MaxPositionLimit: 48, MinPositionLimit: 52, TorqueEnable: 64, HardwareError: 70,
	BusWatchdog: 98, GoalPosition: 116, PresentLoad: 126, PresentVelocity: 128,
	PresentPosition: 132, VelocityUnit: 0.229 * 2 * math.Pi / 60,
}

// LookupModel returns the control table named name: "" or "x" (any X series),
// "xl430" or "xm430" (which also check the model number). ok is false for unknown names.
func LookupModel(name string) (m Model, ok bool) {
	m = XSeries
	switch name {
	case "", "x":
	case "xl430":
		m.Name, m.Number = name, ModelXL430W250
	case "xm430":
		m.Name, m.Number = name, ModelXM430W350
	default:
		return Model{}, false
	}
	return m, true
}

// Calibration maps servo ticks to joint radians; it is the one calibration type of
// every servo driver and simulator (see drivers/servo).
type Calibration = servo.Calibration
