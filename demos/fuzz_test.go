package demos

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseCSV: any bytes give a demo that validates or an ErrBadCSV error, never a panic;
// a demo that parses writes back to bytes that parse to the same demo.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"t,a,b\n0,1,2\n0.1,1.5,2.5\n0.2,2,3\n0.3,2,3\n0.4,2,3\n0.5,2,3\n0.6,2,3\n0.7,2,3\n0.8,2,3\n0.9,2,3\n",
		"t,a\r\n0,1\r\n", "\ufefft,a\n# c\n0,1\n", "t,a\n0,NaN\n", "t,a,a\n", "x,a\n0,1\n", "", "t\n",
		"t,a\n0,1,2\n", "t,a\n1,1\n0,1\n", "t, a \n 0 , 1e308 \n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseCSV(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if !errors.Is(err, ErrBadCSV) {
				t.Fatalf("error not ErrBadCSV: %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("parsed demo does not validate: %v", err)
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, d); err != nil {
			t.Fatal(err)
		}
		back, err := ParseCSV(&buf, "back.csv")
		if err != nil || back.Len() != d.Len() || len(back.Joints) != len(d.Joints) {
			t.Fatalf("write/read round trip: %v", err)
		}
		for i := range d.T {
			if back.T[i] != d.T[i] {
				t.Fatalf("t[%d] %v became %v", i, d.T[i], back.T[i])
			}
		}
	})
}
