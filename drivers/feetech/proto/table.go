package ftproto

// Control-table addresses of the STS/SMS series (STS3215 et al.), from the FTServo SDK
// (SMS_STS.h). The SCS series shares them except the lock register (RegLockSCS).
// Two-byte registers are words in the series' byte order.
const (
	RegFirmwareMajor   = 0  // 1 byte, read only
	RegFirmwareMinor   = 1  // 1 byte, read only
	RegModel           = 3  // word, read only: model number (STS3215: 777)
	RegID              = 5  // 1 byte, EEPROM
	RegBaud            = 6  // 1 byte, EEPROM: a baud code, see BaudRate
	RegReturnDelay     = 7  // 1 byte, EEPROM: reply delay in units of 2 µs
	RegResponseLevel   = 8  // 1 byte, EEPROM: 0 replies to read and ping only, 1 to every instruction
	RegMinAngle        = 9  // word, EEPROM: Min_Position_Limit, lowest goal position, ticks
	RegMaxAngle        = 11 // word, EEPROM: Max_Position_Limit, highest goal position, ticks
	RegMaxTemperature  = 13 // 1 byte, EEPROM, °C
	RegMaxVoltage      = 14 // 1 byte, EEPROM, 0.1 V
	RegMinVoltage      = 15 // 1 byte, EEPROM, 0.1 V
	RegMaxTorque       = 16 // word, EEPROM, 0.1 %
	RegPCoefficient    = 21 // 1 byte, EEPROM
	RegDCoefficient    = 22 // 1 byte, EEPROM
	RegICoefficient    = 23 // 1 byte, EEPROM
	RegHomingOffset    = 31 // word, EEPROM, sign-magnitude bit 11: Present = Actual − Homing_Offset
	RegOperatingMode   = 33 // 1 byte, EEPROM: 0 position, 1 velocity, 2 PWM, 3 step
	RegTorqueEnable    = 40 // 1 byte: 0 off (limp), 1 on
	RegAcceleration    = 41 // 1 byte
	RegGoalPosition    = 42 // word, sign-magnitude bit 15, ticks
	RegGoalTime        = 44 // word, ms
	RegGoalSpeed       = 46 // word, sign-magnitude bit 15, ticks/s
	RegTorqueLimit     = 48 // word, 0.1 %
	RegLockSTS         = 55 // 1 byte: 0 unlocks EEPROM writes, 1 locks
	RegPresentPosition = 56 // word, sign-magnitude bit 15, ticks
	RegPresentSpeed    = 58 // word, sign-magnitude bit 15, ticks/s
	RegPresentLoad     = 60 // word, sign-magnitude bit 10, 0.1 % of stall torque
	RegVoltage         = 62 // 1 byte, 0.1 V
	RegTemperature     = 63 // 1 byte, °C
	RegStatus          = 65 // 1 byte: Status bits currently active
	RegMoving          = 66 // 1 byte: 1 while moving
	RegPresentCurrent  = 69 // word, read only, units of 6.5 mA
	RegMaxAcceleration = 85 // 1 byte (factory area); LeRobot writes 254 on connect
	RegLockSCS         = 48 // SCS series lock register
	TableSize          = 87 // bytes of control table modelled (0..86)
	// SignBitHoming is the sign bit of Homing_Offset (sign-magnitude).
	SignBitHoming = 11
)

// ModelSTS3215 is the model number the STS3215 reports at RegModel.
const ModelSTS3215 = 777

// LockReg returns the EEPROM lock register of the series.
func (s Series) LockReg() byte {
	if s == SCS {
		return RegLockSCS
	}
	return RegLockSTS
}

// Baud codes follow the FTServo SDK table (SMS_STS.h / SCSCL.h): 0 = 1 Mbps ... 7 = 38400.
// Other sources (some vendor PDFs) list different tables; this package uses the SDK's.
var baudTable = [8]int{1000000, 500000, 250000, 128000, 115200, 76800, 57600, 38400}

// BaudRate returns the rate in bits/s of a baud code, or 0 for an unknown code.
func BaudRate(code byte) int {
	if int(code) < len(baudTable) {
		return baudTable[code]
	}
	return 0
}

// BaudCode returns the code of a rate in bits/s, false when the rate has none.
func BaudCode(rate int) (byte, bool) {
	for i, r := range baudTable {
		if r == rate {
			return byte(i), true
		}
	}
	return 0, false
}
