package stssim

import (
	"bytes"
	"testing"

	ftproto "github.com/praxis-robotics/praxis/drivers/feetech/proto"
)

// Citations: "SDK" is Feetech's FTServo SDK (SMS_STS.h memory table, SCS packet handler),
// "LeRobot" is huggingface/lerobot src/lerobot/motors/feetech (tables.py,
// feetech.py: _broadcast_ping, configure_motors, _get_half_turn_homings).
func TestManualBehaviour(t *testing.T) {
	word := func(v int) []byte { b := make([]byte, 2); ftproto.STS.PutWord(b, uint16(v)); return b }
	type step struct {
		id, inst byte
		params   []byte
		replies  []byte // IDs expected to answer, in order
		params0  []byte // expected params of the first reply (nil: not checked)
	}
	for _, tc := range []struct {
		cite  string
		steps []step
	}{
		{"LeRobot tables.py: Present_Current (69) and Maximum_Acceleration (85) answer", []step{
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegPresentCurrent, 2}, replies: []byte{1}, params0: []byte{0, 0}},
			{id: 1, inst: ftproto.InstWrite, params: []byte{ftproto.RegMaxAcceleration, 254}, replies: []byte{1}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegMaxAcceleration, 1}, replies: []byte{1}, params0: []byte{254}},
			{id: 1, inst: ftproto.InstRead, params: []byte{0, ftproto.TableSize}, replies: []byte{1}},
		}},
		{"LeRobot feetech.py _broadcast_ping: every servo answers a ping to 0xFE", []step{
			{id: ftproto.BroadcastID, inst: ftproto.InstPing, replies: []byte{1, 2, 7}},
		}},
		{"SDK / LeRobot set-up: an ID write is answered from the old ID", []step{
			{id: 2, inst: ftproto.InstWrite, params: []byte{ftproto.RegLockSTS, 0}, replies: []byte{2}},
			{id: 2, inst: ftproto.InstWrite, params: []byte{ftproto.RegID, 4}, replies: []byte{2}},
			{id: 4, inst: ftproto.InstPing, replies: []byte{4}},
			{id: 2, inst: ftproto.InstPing},
			{id: ftproto.BroadcastID, inst: ftproto.InstPing, replies: []byte{1, 4, 7}},
		}},
		{"LeRobot _get_half_turn_homings: Present_Position = Actual − Homing_Offset (sign bit 11)", []step{
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegPresentPosition, 2}, replies: []byte{1}, params0: word(2048)},
			{id: 1, inst: ftproto.InstWrite, params: append([]byte{ftproto.RegHomingOffset}, word(1)...), replies: []byte{1}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegPresentPosition, 2}, replies: []byte{1}, params0: word(2047)},
			{id: 1, inst: ftproto.InstWrite, params: append([]byte{ftproto.RegHomingOffset}, word(1<<11|100)...), replies: []byte{1}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegPresentPosition, 2}, replies: []byte{1}, params0: word(2148)},
		}},
		{"SDK: Response_Status_Level 0 answers read and ping only", []step{
			{id: 7, inst: ftproto.InstWrite, params: []byte{ftproto.RegResponseLevel, 0}},
			{id: 7, inst: ftproto.InstWrite, params: []byte{ftproto.RegAcceleration, 9}},
			{id: 7, inst: ftproto.InstRead, params: []byte{ftproto.RegAcceleration, 1}, replies: []byte{7}, params0: []byte{9}},
		}},
		{"SDK memory table: factory values and read-only registers", []step{
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegReturnDelay, 2}, replies: []byte{1}, params0: []byte{250, 1}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegMinAngle, 4}, replies: []byte{1}, params0: []byte{0, 0, 0xFF, 0x0F}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegLockSTS, 1}, replies: []byte{1}, params0: []byte{1}},
			{id: 1, inst: ftproto.InstWrite, params: []byte{ftproto.RegModel, 1, 1}, replies: []byte{1}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegModel, 2}, replies: []byte{1}, params0: word(ftproto.ModelSTS3215)},
		}},
		{"SDK Recovery / SCS protocol RESTORE PARAMS (0x06): EEPROM back to factory values but the ID, answered", []step{
			{id: 2, inst: ftproto.InstWrite, params: []byte{ftproto.RegLockSTS, 0}, replies: []byte{2}},
			{id: 2, inst: ftproto.InstWrite, params: []byte{ftproto.RegBaud, 1, 0}, replies: []byte{2}}, // 500 kbit/s, no return delay
			{id: 2, inst: ftproto.InstWrite, params: append([]byte{ftproto.RegHomingOffset}, word(100)...), replies: []byte{2}},
			{id: 2, inst: ftproto.InstRecovery, replies: []byte{2}},
			{id: 2, inst: ftproto.InstRead, params: []byte{ftproto.RegID, 4}, replies: []byte{2}, params0: []byte{2, 0, 250, 1}},
			{id: 2, inst: ftproto.InstRead, params: []byte{ftproto.RegHomingOffset, 2}, replies: []byte{2}, params0: word(0)},
			{id: ftproto.BroadcastID, inst: ftproto.InstRecovery},
		}},
		{"SDK reBoot (0x08, sent without Ack; SCS protocol REBOOT: no response): EEPROM reloaded, SRAM at power-up", []step{
			{id: 1, inst: ftproto.InstWrite, params: []byte{ftproto.RegLockSTS, 0}, replies: []byte{1}},
			{id: 1, inst: ftproto.InstWrite, params: []byte{ftproto.RegReturnDelay, 0}, replies: []byte{1}},
			{id: 1, inst: ftproto.InstWrite, params: []byte{ftproto.RegLockSTS, 1}, replies: []byte{1}},
			{id: 1, inst: ftproto.InstWrite, params: []byte{ftproto.RegPCoefficient, 50}, replies: []byte{1}}, // locked: not saved
			{id: 1, inst: ftproto.InstWrite, params: []byte{ftproto.RegID, 9}, replies: []byte{1}},            // locked: not saved
			{id: 9, inst: ftproto.InstWrite, params: []byte{ftproto.RegTorqueEnable, 1, 9}, replies: []byte{9}},
			{id: 9, inst: ftproto.InstReboot},
			{id: 9, inst: ftproto.InstPing},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegReturnDelay, 1}, replies: []byte{1}, params0: []byte{0}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegPCoefficient, 1}, replies: []byte{1}, params0: []byte{32}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegTorqueEnable, 2}, replies: []byte{1}, params0: []byte{0, 0}},
			{id: 1, inst: ftproto.InstRead, params: []byte{ftproto.RegLockSTS, 1}, replies: []byte{1}, params0: []byte{1}},
		}},
		{"SDK Reset (0x0A, INST_RESET: clears the multi-turn count): answered, table unchanged", []step{
			{id: 7, inst: ftproto.InstReset, replies: []byte{7}},
			{id: 7, inst: ftproto.InstRead, params: []byte{ftproto.RegReturnDelay, 2}, replies: []byte{7}, params0: []byte{250, 1}},
		}},
		{"STS status byte has no instruction-error bit: an unknown instruction gets no reply", []step{
			{id: 1, inst: 0x07},
			{id: 1, inst: 0x20, params: []byte{1, 2}},
		}},
	} {
		t.Run(tc.cite, func(t *testing.T) {
			_, _, h := start(t, 1000000)
			for k, st := range tc.steps {
				h.send(st.id, st.inst, st.params...)
				for j, id := range st.replies {
					r, ok := h.recv()
					if !ok || r.ID != id || r.Inst != 0 {
						t.Fatalf("step %d reply %d: %+v %v, want from servo %d", k, j, r, ok, id)
					}
					if j == 0 && st.params0 != nil && !bytes.Equal(r.Params, st.params0) {
						t.Fatalf("step %d: params % X, want % X", k, r.Params, st.params0)
					}
				}
				if len(st.replies) == 0 {
					// Nothing may answer: a ping to servo 1 must be the next packet.
					h.send(1, ftproto.InstPing)
					if r, ok := h.recv(); !ok || r.ID != 1 {
						t.Fatalf("step %d: unexpected reply %+v %v", k, r, ok)
					}
				}
			}
		})
	}
}

// TestGoalBeforeTorque: Feetech's examples write the goal, then enable torque; the servo
// goes to that goal when torque comes on.
func TestGoalBeforeTorque(t *testing.T) {
	_, p, h := start(t, 1000000)
	h.send(2, ftproto.InstWrite, ftproto.RegGoalPosition, 0x00, 0x0C) // 3072: π/2 with offset 2048
	h.recv()
	if p.pos[1] != 0.5 {
		t.Fatalf("limp servo moved to %v", p.pos[1])
	}
	h.send(2, ftproto.InstWrite, ftproto.RegTorqueEnable, 1)
	h.recv()
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.pos[1] - 1.5707963; d > 1e-3 || d < -1e-3 {
		t.Fatalf("after torque on the servo is at %v rad, want π/2", p.pos[1])
	}
}
