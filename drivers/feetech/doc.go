// Package feetech drives arms built from Feetech serial bus servos (STS/SMS such as the
// STS3215 of SO-100/SO-101 arms, and the SCS series) natively, over an io.ReadWriteCloser
// (New) or a serial port (Open, go.bug.st/serial).
//
// Per control tick the driver sends ONE sync write of goal positions (Command) and ONE
// sync read of present position+speed, registers 56..59, or 56..61 with Config.ReadLoad
// (Read). The SCS series has no sync read: Read falls back to one read per servo, so a
// tick costs n round trips there. Positions are converted with a per-joint calibration
// (offset, direction, resolution) to rad; limits clamp every command.
//
// Faults: a reply that is missing or corrupted is retried with single-servo reads within
// the tick (Config.Retries); what still fails is reported per servo as a *ServoError
// naming ID and joint (errors.Join when several). Status error bits (voltage, angle,
// overheat, over-current, overload) come back the same way, wrapping ErrStatus and so
// drivers.ErrFault. A servo unreadable for Config.FaultAfter consecutive ticks faults the
// arm: Read and Command fail wrapping drivers.ErrFault until Setup succeeds again.
//
// Feetech servos have no bus watchdog, so SetWatchdog implements drivers.Watchdog in
// software: when no Command arrives within the timeout the driver HOLDS the last read
// positions (goal := present, torque stays on), or switches torque off when
// Config.WatchdogTorqueOff is set. The next Command resumes normally.
//
// Baud codes follow the FTServo SDK (SMS_STS.h): 0=1M, 1=500k, 2=250k, 3=128k,
// 4=115200, 5=76800, 6=57600, 7=38400 (other sources differ; see ftproto.BaudRate).
// Setup sets every servo's return delay to 0 (the factory default is 500 µs, which
// alone would cost 3 ms per tick on a 6-servo arm). On real USB adapters also set the FTDI
// latency timer to 1 ms.
package feetech
