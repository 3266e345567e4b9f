package sim

import (
	"fmt"

	"github.com/praxis-robotics/praxis/sim/models"
)

// STS3215 figures used for every SO-101 joint in place of the URDF's placeholder limits
// (effort=10, velocity=10): Feetech STS3215 12 V version, 30 kg·cm stall torque and
// 0.222 s/60° no-load speed.
const (
	STS3215StallTorque = 2.94 // N·m
	STS3215MaxSpeed    = 4.71 // rad/s
)

// LoadBuiltin returns a built-in model: "so101" (6 joints incl. gripper; end effector
// gripper_frame_link; STS3215 limits substituted), "ur5" (6 joints; tool0) or "panda"
// (7 arm joints + panda_finger_joint1, the mimic finger held at 0; panda_hand_tcp).
func LoadBuiltin(name string) (*Model, error) {
	b, err := models.URDF(name)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	m, err := ParseURDF(b)
	if err != nil {
		return nil, fmt.Errorf("sim: model %s: %w", name, err)
	}
	ee := map[string]string{"so101": "gripper_frame_link", "ur5": "tool0", "panda": "panda_hand_tcp"}[name]
	if m, err = m.WithEndEffector(ee); err != nil {
		return nil, err
	}
	if name == "so101" {
		for i := 0; i < m.DOF(); i++ {
			if m, err = m.WithLimits(i, STS3215StallTorque, STS3215MaxSpeed); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
