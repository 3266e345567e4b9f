package fwwire

// examples are PROTOCOL.md's byte-level examples: the test runs each both ways.
var examples = []struct {
	name string
	f    Frame
	wire string // hex, COBS-stuffed, with the 0x00 delimiter
}{
	{"HELLO", Frame{Type: Hello, Seq: 0, Ack: 0, Version: 1}, "02 01 01 04 01 55 E2 00"},
	{"HELLO_ACK", Frame{Type: HelloAck, Seq: 0, Ack: 0, Version: 1, Caps: Caps{FwMajor: 1, FwMinor: 0, Joints: 6,
		FeedbackMask: 0x3F, Flags: CapSlew, PulseMin: 500, PulseMax: 2500, AdcMax: 1023, TimeoutMs: 250}}, "02 81 01 03 01 01 0B 06 3F 01 F4 01 C4 09 FF 03 FA 03 6C FC 00"},
	{"CONFIG", Frame{Type: Config, Seq: 1, Ack: 0, Timeout: 200, Action: Detach}, "03 02 01 02 C8 01 03 57 A0 00"},
	{"ENABLE", Frame{Type: Enable, Seq: 2, Ack: 1, Mask: 0x3F}, "07 03 02 01 3F F1 85 00"},
	{"ACK", Frame{Type: Ack, Seq: 2, Ack: 2, Code: OK}, "04 82 02 02 01 03 57 F4 00"},
	{"COMMAND", Frame{Type: Command, Seq: 3, Ack: 2, N: 6, Pos: [MaxJoints]uint16{1500, 1000, 2000, 1500, 1250, 1750}}, "05 04 03 02 06 0F DC 05 E8 03 D0 07 DC 05 E2 04 D6 06 DC F4 00"},
	{"COMMAND+vel", Frame{Type: Command, Seq: 4, Ack: 3, N: 2, Flags: FlagSlew,
		Pos: [MaxJoints]uint16{1500, 1600}, Vel: [MaxJoints]uint16{1000, 0}}, "0C 04 04 03 02 01 DC 05 40 06 E8 03 01 03 3F CC 00"},
	{"HEARTBEAT", Frame{Type: Heartbeat, Seq: 5, Ack: 4}, "06 05 05 04 1D 98 00"},
	{"STATE", Frame{Type: State, Seq: 5, Ack: 5, Mask: 0x3F, N: 6,
		Pos:   [MaxJoints]uint16{512, 256, 768, 512, 384, 640},
		Pulse: [MaxJoints]uint16{1500, 1000, 2000, 1500, 1250, 1750}}, "04 83 05 05 03 3F 06 02 02 02 01 02 03 14 02 80 01 80 02 DC 05 E8 03 D0 07 DC 05 E2 04 D6 06 7D C0 00"},
	{"STATE+vel+cur", Frame{Type: State, Seq: 6, Ack: 6, Flags: FlagVel | FlagCur, Mask: 0x01, N: 1,
		Pos: [MaxJoints]uint16{512}, Pulse: [MaxJoints]uint16{1500}, Vel: [MaxJoints]uint16{0xFFF6}, Cur: [MaxJoints]uint16{120}}, "07 83 06 06 03 01 01 07 02 DC 05 F6 FF 78 03 DA 11 00"},
	{"STATE timed out", Frame{Type: State, Seq: 9, Ack: 7, Flags: FlagTimedOut, Mask: 0, N: 2,
		Pos: [MaxJoints]uint16{512, NoFeedback}, Pulse: [MaxJoints]uint16{0, 0}}, "05 83 09 07 80 02 02 04 02 FF FF 01 01 01 03 FB 14 00"},
	{"FAULT timeout", Frame{Type: Fault, Seq: 8, Ack: 6, Code: Timeout, Detail: uint8(Detach)}, "05 84 08 06 05 03 4C 72 00"},
	{"FAULT reset", Frame{Type: Fault, Seq: 0, Ack: 0, Code: Reset, Detail: 0x01}, "02 84 01 05 08 01 52 23 00"},
	{"ACK bad version", Frame{Type: Ack, Seq: 1, Ack: 0, Code: BadVersion, Detail: 1}, "03 82 01 05 01 01 FB 22 00"},
	{"GET_STATS", Frame{Type: GetStats, Seq: 7, Ack: 6}, "06 06 07 06 6D 87 00"},
	{"STATS", Frame{Type: Stats, Seq: 10, Ack: 7, Stats: LinkStats{RxFrames: 300, CRCErrors: 2, Framing: 1, Lost: 3, Dups: 1}}, "07 86 0A 07 2C 01 02 02 01 02 03 02 01 01 01 01 01 03 CB 56 00"},
}
