// Package gobot drives arms of hobby servos through gobot (gobot.io/x/gobot/v2): a PCA9685
// 16-channel PWM board on a Linux I2C bus (OpenPCA9685), or a microcontroller running
// StandardFirmata on a serial port (OpenFirmata, ConnectFirmata).
//
// Joint radians map to servo pulse widths (µs) through a per-joint calibration
// (ServoJoint: pulse range, travel, direction, offset, limits). Every command is clamped to
// the joint limits; a NaN or a wrong length is refused and nothing moves.
//
// Hobby servos report no position. Unless a joint has a Feedback source (an ADS1115
// channel on the PCA9685's bus, or a Firmata analog input wired to the servo's
// potentiometer), Read returns the last commanded position and Joints() marks the joint
// joint.Commanded; with a source it is joint.Measured and Read returns the sensor's value.
// With feedback on every joint the arm is drivers.Compliant: SetTorque(false) stops the
// pulses so the arm can be guided by hand, SetTorque(true) holds it where it is measured.
//
// gobot is used for board glue only: the PCA9685 set-up sequence, PWM frequency and
// shut-down go through gobot's i2c.PCA9685Driver, ADC samples through its ADS1x15Driver,
// the Firmata handshake, pin modes, servo configuration and analog reports through its
// firmata client. The per-tick writes use the same gobot I2C connection (one
// auto-incremented 4-byte write of LEDn_ON/OFF per changed channel, so a pulse never
// updates half-way) or the Firmata analog message bytes on the same port (one write per
// tick), so Command itself allocates nothing (gobot's Linux I2C device still allocates one
// small buffer per block write, in its own code). Pace the executor to the servo frame: at 50 Hz a
// servo takes a new pulse every 20 ms, so rate_hz 50..100 is plenty.
//
// gobot's Firmata client cannot address pins or analog channels above 15 (its analog
// message is 0xE0|pin): such a configuration is refused with ErrPinRange.
package gobot
