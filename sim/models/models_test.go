package models

import (
	"bytes"
	"testing"
)

func TestURDF(t *testing.T) {
	for _, n := range Names() {
		b, err := URDF(n)
		if err != nil || !bytes.Contains(b, []byte("<robot")) {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := URDF("r2d2"); err == nil {
		t.Error("unknown model accepted")
	}
}
