// Package dxlproto is a pure, allocation-free codec for the ROBOTIS Dynamixel Protocol 2.0.
//
// Packet layout (both directions):
//
//	FF FF FD 00 | ID | LEN_L LEN_H | INST | PARAM... | CRC_L CRC_H
//
// LEN counts the bytes after itself (instruction, stuffed parameters, CRC). Status packets
// use INST 0x55 and carry an error byte as their first parameter. The CRC-16 (polynomial
// 0x8005, initial value 0, not reflected) covers every byte from the header to the last
// parameter after byte stuffing. Stuffing inserts FD after any FF FF FD in the parameters.
//
// Encoders append to a caller buffer (no allocation when it has room). Decode verifies the
// CRC, then removes stuffing in place and returns views into the caller's slice. Stream
// reassembles packets from a byte stream, skipping garbage, partial and corrupted packets.
//
// The package also holds the X-series control table (XL430, XM430) and the tick↔radian
// Calibration, shared by the driver and the simulator.
package dxlproto
