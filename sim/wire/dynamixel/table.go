package dxlsim

import (
	dxlproto "github.com/praxis-robotics/praxis/drivers/dynamixel/proto"
)

// The control tables below follow the ROBOTIS e-manual pages of the XL430-W250 and the
// XM430-W350 ("Control Table of EEPROM Area", "Control Table of RAM Area"): address,
// size, access, initial value and range of every field. EEPROM fields (addresses below
// 64) can be written only while Torque Enable (64) is 0.

// tableSize is one past the last address (Indirect Data 56 at 661).
const tableSize = 662

// Addresses of the fields the simulator gives behaviour to (X series).
const (
	aModelNumber   = 0
	aModelInfo     = 2
	aFirmware      = 6
	aID            = 7
	aBaud          = 8
	aReturnDelay   = 9
	aDriveMode     = 10
	aOperatingMode = 11
	aSecondaryID   = 12
	aProtocol      = 13
	aHomingOffset  = 20
	aMovingThresh  = 24
	aTempLimit     = 31
	aMaxVoltage    = 32
	aMinVoltage    = 34
	aPWMLimit      = 36
	aCurrentLimit  = 38
	aAccLimit      = 40
	aVelocityLimit = 44
	aMaxPosition   = 48
	aMinPosition   = 52
	aStartup       = 60
	aShutdown      = 63
	aTorqueEnable  = 64
	aLED           = 65
	aStatusReturn  = 68
	aRegistered    = 69
	aHardwareError = 70
	aVelI          = 76
	aVelP          = 78
	aPosD          = 80
	aPosI          = 82
	aPosP          = 84
	aFF2           = 88
	aFF1           = 90
	aBusWatchdog   = 98
	aGoalPWM       = 100
	aGoalCurrent   = 102
	aGoalVelocity  = 104
	aProfileAcc    = 108
	aProfileVel    = 112
	aGoalPosition  = 116
	aRealtimeTick  = 120
	aMoving        = 122
	aMovingStatus  = 123
	aPresentPWM    = 124
	aPresentLoad   = 126 // Present Current on current-sensing models
	aPresentVel    = 128
	aPresentPos    = 132
	aVelTraj       = 136
	aPosTraj       = 140
	aPresentVolt   = 144
	aPresentTemp   = 146
	aBackupReady   = 147
	aIndAddr1      = 168 // Indirect Address 1..28: 168..223, 2 bytes each
	aIndData1      = 224 // Indirect Data 1..28: 224..251
	aIndAddr29     = 578 // Indirect Address 29..56: 578..633
	aIndData29     = 634 // Indirect Data 29..56: 634..661
)

// Limit kinds: a value outside a fixed range is a Data Range Error (0x04); a goal outside
// the limit another field sets is a Data Limit Error (0x06).
const (
	limNone     = iota
	limPosition // Min Position Limit(52) ~ Max Position Limit(48), in position mode
	limVelocity // ±Velocity Limit(44)
	limPWM      // ±PWM Limit(36)
	limCurrent  // ±Current Limit(38)
)

// field is one control-table item.
type field struct {
	addr   uint16
	size   uint16
	name   string
	ro     bool  // read only
	lo, hi int64 // accepted range; lo > hi means any value
	def    int64 // initial value (factory default)
	signed bool
	limit  int // limNone or a lim* kind
}

func (f field) rom() bool { return f.addr < aTorqueEnable }

const unchecked = 1 // as lo, with hi 0: an unchecked range

// modelSpec is one servo model: its number, table and typical live readings.
type modelSpec struct {
	number   uint16
	name     string
	fields   []field
	voltage  int64 // Present Input Voltage at the recommended supply, 0.1 V
	loadName string
}

// common lists the fields every X-series model here shares, with XL430-W250 values;
// per-model values are patched in by model().
func common() []field {
	f := []field{
		{addr: aModelNumber, size: 2, name: "Model Number", ro: true, lo: unchecked},
		{addr: aModelInfo, size: 4, name: "Model Information", ro: true, lo: unchecked},
		{addr: aFirmware, size: 1, name: "Firmware Version", ro: true, lo: unchecked},
		{addr: aID, size: 1, name: "ID", lo: 0, hi: 252, def: 1},
		{addr: aBaud, size: 1, name: "Baud Rate", lo: 0, hi: 7, def: 1},
		{addr: aReturnDelay, size: 1, name: "Return Delay Time", lo: 0, hi: 254, def: 250},
		{addr: aDriveMode, size: 1, name: "Drive Mode", lo: 0, hi: 13, def: 0},
		{addr: aOperatingMode, size: 1, name: "Operating Mode", lo: 0, hi: 16, def: 3},
		{addr: aSecondaryID, size: 1, name: "Secondary(Shadow) ID", lo: 0, hi: 255, def: 255},
		{addr: aProtocol, size: 1, name: "Protocol Type", lo: 1, hi: 2, def: 2},
		{addr: aHomingOffset, size: 4, name: "Homing Offset", lo: -1044479, hi: 1044479, def: 0, signed: true},
		{addr: aMovingThresh, size: 4, name: "Moving Threshold", lo: 0, hi: 1023, def: 10},
		{addr: aTempLimit, size: 1, name: "Temperature Limit", lo: 0, hi: 100, def: 72},
		{addr: aMaxVoltage, size: 2, name: "Max Voltage Limit", lo: 60, hi: 140, def: 140},
		{addr: aMinVoltage, size: 2, name: "Min Voltage Limit", lo: 60, hi: 140, def: 60},
		{addr: aPWMLimit, size: 2, name: "PWM Limit", lo: 0, hi: 885, def: 885},
		{addr: aVelocityLimit, size: 4, name: "Velocity Limit", lo: 0, hi: 1023, def: 265},
		{addr: aMaxPosition, size: 4, name: "Max Position Limit", lo: 0, hi: 4095, def: 4095},
		{addr: aMinPosition, size: 4, name: "Min Position Limit", lo: 0, hi: 4095, def: 0},
		{addr: aShutdown, size: 1, name: "Shutdown", lo: unchecked, def: 52},
		{addr: aTorqueEnable, size: 1, name: "Torque Enable", lo: 0, hi: 1},
		{addr: aLED, size: 1, name: "LED", lo: 0, hi: 1},
		{addr: aStatusReturn, size: 1, name: "Status Return Level", lo: 0, hi: 2, def: 2},
		{addr: aRegistered, size: 1, name: "Registered Instruction", ro: true, lo: unchecked},
		{addr: aHardwareError, size: 1, name: "Hardware Error Status", ro: true, lo: unchecked},
		{addr: aVelI, size: 2, name: "Velocity I Gain", lo: 0, hi: 16383, def: 1000},
		{addr: aVelP, size: 2, name: "Velocity P Gain", lo: 0, hi: 16383, def: 100},
		{addr: aPosD, size: 2, name: "Position D Gain", lo: 0, hi: 16383, def: 4000},
		{addr: aPosI, size: 2, name: "Position I Gain", lo: 0, hi: 16383, def: 0},
		{addr: aPosP, size: 2, name: "Position P Gain", lo: 0, hi: 16383, def: 640},
		{addr: aFF2, size: 2, name: "Feedforward 2nd Gain", lo: 0, hi: 16383},
		{addr: aFF1, size: 2, name: "Feedforward 1st Gain", lo: 0, hi: 16383},
		// Range 1 ~ 127 (× 20 ms); 0 disables the watchdog, and a host clears a tripped
		// one (the servo shows -1) by writing 0.
		{addr: aBusWatchdog, size: 1, name: "Bus Watchdog", lo: 0, hi: 127},
		{addr: aGoalPWM, size: 2, name: "Goal PWM", lo: unchecked, signed: true, limit: limPWM, def: 885},
		{addr: aGoalVelocity, size: 4, name: "Goal Velocity", lo: unchecked, signed: true, limit: limVelocity},
		{addr: aProfileAcc, size: 4, name: "Profile Acceleration", lo: 0, hi: 32767},
		{addr: aProfileVel, size: 4, name: "Profile Velocity", lo: 0, hi: 32767},
		{addr: aGoalPosition, size: 4, name: "Goal Position", lo: unchecked, signed: true, limit: limPosition},
		{addr: aRealtimeTick, size: 2, name: "Realtime Tick", ro: true, lo: unchecked},
		{addr: aMoving, size: 1, name: "Moving", ro: true, lo: unchecked},
		{addr: aMovingStatus, size: 1, name: "Moving Status", ro: true, lo: unchecked},
		{addr: aPresentPWM, size: 2, name: "Present PWM", ro: true, lo: unchecked, signed: true},
		{addr: aPresentLoad, size: 2, name: "Present Load", ro: true, lo: unchecked, signed: true},
		{addr: aPresentVel, size: 4, name: "Present Velocity", ro: true, lo: unchecked, signed: true},
		{addr: aPresentPos, size: 4, name: "Present Position", ro: true, lo: unchecked, signed: true},
		{addr: aVelTraj, size: 4, name: "Velocity Trajectory", ro: true, lo: unchecked, signed: true},
		{addr: aPosTraj, size: 4, name: "Position Trajectory", ro: true, lo: unchecked, signed: true},
		{addr: aPresentVolt, size: 2, name: "Present Input Voltage", ro: true, lo: unchecked},
		{addr: aPresentTemp, size: 1, name: "Present Temperature", ro: true, lo: unchecked},
	}
	for k := range 28 {
		f = append(f,
			field{addr: aIndAddr1 + 2*uint16(k), size: 2, name: "Indirect Address", lo: 64, hi: 661, def: int64(aIndData1 + k)},
			field{addr: aIndData1 + uint16(k), size: 1, name: "Indirect Data", lo: 0, hi: 255},
			field{addr: aIndAddr29 + 2*uint16(k), size: 2, name: "Indirect Address", lo: 64, hi: 661, def: int64(aIndData29 + k)},
			field{addr: aIndData29 + uint16(k), size: 1, name: "Indirect Data", lo: 0, hi: 255},
		)
	}
	return f
}

func patch(fs []field, addr uint16, f func(*field)) {
	for i := range fs {
		if fs[i].addr == addr {
			f(&fs[i])
			return
		}
	}
	panic("dxlsim: no field at address") // programming error in the tables below
}

// model returns the control table of a model number; unknown numbers get the XL430-W250
// table under their own number.
func model(number uint16) modelSpec {
	fs := common()
	switch number {
	case dxlproto.ModelXM430W350:
		// XM430-W350 e-manual: current sensing, 12 V class.
		patch(fs, aTempLimit, func(f *field) { f.def = 80 })
		patch(fs, aMaxVoltage, func(f *field) { f.lo, f.hi, f.def = 95, 160, 160 })
		patch(fs, aMinVoltage, func(f *field) { f.lo, f.hi, f.def = 95, 160, 95 })
		patch(fs, aVelocityLimit, func(f *field) { f.def = 350 })
		patch(fs, aVelI, func(f *field) { f.def = 1920 })
		patch(fs, aPosD, func(f *field) { f.def = 0 })
		patch(fs, aPosP, func(f *field) { f.def = 800 })
		patch(fs, aPresentLoad, func(f *field) { f.name = "Present Current" })
		fs = append(fs,
			field{addr: aCurrentLimit, size: 2, name: "Current Limit", lo: 0, hi: 1193, def: 1193},
			field{addr: aAccLimit, size: 4, name: "Acceleration Limit", lo: 0, hi: 32767, def: 32767},
			field{addr: aGoalCurrent, size: 2, name: "Goal Current", lo: unchecked, signed: true, limit: limCurrent, def: 1193},
		)
		return modelSpec{number: number, name: "XM430-W350", fields: fs, voltage: 120}
	default:
		// XL430-W250 e-manual (2018 hardware): Startup Configuration and Backup Ready.
		fs = append(fs,
			field{addr: aStartup, size: 1, name: "Startup Configuration", lo: 0, hi: 3},
			field{addr: aBackupReady, size: 1, name: "Backup Ready", ro: true, lo: unchecked},
		)
		return modelSpec{number: number, name: "XL430-W250", fields: fs, voltage: 111}
	}
}

// layout indexes a model's fields by address: owner[a] is the index+1 of the field that
// holds byte a, 0 for an undefined address.
type layout struct {
	spec  modelSpec
	owner [tableSize]uint8
}

func newLayout(number uint16) *layout {
	l := &layout{spec: model(number)}
	for i, f := range l.spec.fields {
		for a := f.addr; a < f.addr+f.size; a++ {
			l.owner[a] = uint8(i + 1)
		}
	}
	return l
}

// at returns the field holding byte a, false for an undefined address.
func (l *layout) at(a int) (field, bool) {
	if a < 0 || a >= tableSize || l.owner[a] == 0 {
		return field{}, false
	}
	return l.spec.fields[l.owner[a]-1], true
}

// baudRates are the Baud Rate (8) codes of the X series, bits/s.
var baudRates = [8]int{9600, 57600, 115200, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 4_500_000}

// BaudCode returns the Baud Rate register code of rate, false when the X series has none.
func BaudCode(rate int) (byte, bool) {
	for i, r := range baudRates {
		if r == rate {
			return byte(i), true
		}
	}
	return 0, false
}

func getN(b []byte, n uint16, signed bool) int64 {
	var u uint64
	for i := int(n) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if signed {
		shift := 64 - 8*uint(n)
		return int64(u<<shift) >> shift
	}
	return int64(u)
}

func putN(b []byte, n uint16, v int64) {
	for i := range int(n) {
		b[i] = byte(v >> (8 * i))
	}
}
