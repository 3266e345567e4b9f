package skilllib

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzUnmarshal: any bytes give a valid skill or an ErrInvalid/ErrUnsupportedFormat error,
// never a panic; a skill that loads marshals and loads back to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	if golden, err := os.ReadFile("testdata/v1.golden.json"); err == nil {
		f.Add(golden)
	}
	for _, s := range []string{``, `{}`, `{"format":"praxis.skill/v2"}`, `{"format":"praxis.skill/v1"}`,
		`{"format":"praxis.skill/v1","name":"a","joints":["j"],"dt":0.01,"dmp":{"tau":-1}}`, `[1,2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Unmarshal(data, "fuzz.json")
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("error matches neither ErrInvalid nor ErrUnsupportedFormat: %v", err)
			}
			return
		}
		out, err := Marshal(s)
		if err != nil {
			t.Fatalf("a loaded skill does not marshal: %v", err)
		}
		back, err := Unmarshal(out, "back.json")
		if err != nil {
			t.Fatalf("marshalled skill does not load: %v", err)
		}
		again, _ := Marshal(back)
		if !bytes.Equal(out, again) {
			t.Fatal("marshal is not stable across a round trip")
		}
	})
}
