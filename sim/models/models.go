// Package models embeds the URDF descriptions of the arms the simulator ships with
// (see README.md in this folder for sources and licences).
package models

import (
	_ "embed"
	"fmt"
)

//go:embed so101.urdf
var so101 []byte

//go:embed ur5.urdf
var ur5 []byte

//go:embed panda.urdf
var panda []byte

// Names lists the built-in models.
func Names() []string { return []string{"so101", "ur5", "panda"} }

// URDF returns a copy of the built-in URDF named "so101", "ur5" or "panda", or an error
// naming the unknown model.
func URDF(name string) ([]byte, error) {
	var b []byte
	switch name {
	case "so101":
		b = so101
	case "ur5":
		b = ur5
	case "panda":
		b = panda
	default:
		return nil, fmt.Errorf("models: unknown model %q (have so101, ur5, panda)", name)
	}
	return append([]byte(nil), b...), nil
}
