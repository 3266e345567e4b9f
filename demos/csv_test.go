package demos

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rows returns n well-formed data rows for joints a,b starting at line-independent t=0.
func rows(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%g,%g,%g\n", 0.01*float64(i), 0.1*float64(i), -0.2*float64(i))
	}
	return b.String()
}

func TestParseCSVGood(t *testing.T) {
	cases := []struct {
		name, text string
	}{
		{"plain", "t,a,b\n" + rows(10)},
		{"crlf", strings.ReplaceAll("t,a,b\n"+rows(10), "\n", "\r\n")},
		{"no trailing newline", strings.TrimSuffix("t,a,b\n"+rows(10), "\n")},
		{"blank trailing lines", "t,a,b\n" + rows(10) + "\n\r\n  \n"},
		{"comments", "# recorded on arm 3\nt,a,b\n# started\n" + rows(10) + "# end\n"},
		{"bom and spaces", "\uFEFF t , a , b\n" + strings.ReplaceAll(rows(10), ",", " , ")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseCSV(strings.NewReader(c.text), "x.csv")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(d.Joints, "|"); got != "a|b" {
				t.Fatalf("joints %q, want a|b", got)
			}
			if d.Len() != 10 {
				t.Fatalf("%d samples, want 10", d.Len())
			}
			if d.T[9] != 0.09 || d.Y[9][0] != 0.9 || d.Y[9][1] != -1.8 {
				t.Fatalf("last sample t=%v y=%v", d.T[9], d.Y[9])
			}
		})
	}
}

func TestParseCSVBad(t *testing.T) {
	good := rows(10)
	cases := []struct {
		name, text, want string
	}{
		{"non-numeric", "t,a,b\n0,1,2\n0.1,1,abc\n" + rows(10), `d.csv:3:3: "abc" is not a number`},
		{"missing cell", "t,a,b\n0,1,\n" + good, "d.csv:2:3: empty cell"},
		{"nan", "t,a,b\n0,NaN,1\n" + good, `d.csv:2:2: "NaN" is not a finite number`},
		{"inf", "t,a,b\n0,1,-Inf\n" + good, `d.csv:2:3: "-Inf" is not a finite number`},
		{"out of range", "t,a,b\n0,1e999,1\n" + good, `d.csv:2:2: "1e999" is out of range`},
		{"time not increasing", "t,a,b\n0,1,1\n0,1,1\n" + good, "d.csv:3:1: time 0 s is not after the previous sample's 0 s"},
		{"time backwards", "t,a,b\n" + good + "0.05,1,1\n", "d.csv:12:1: time 0.05 s is not after the previous sample's 0.09 s"},
		{"few samples", "t,a,b\n" + rows(9), "d.csv: 9 samples, want at least 10"},
		{"empty", "", "d.csv: no header"},
		{"only comments", "# nothing\n\n", "d.csv: no header"},
		{"row too wide", "t,a,b\n0,1,2,3\n" + good, "d.csv:2: 4 columns, want 3 as in the header on line 1"},
		{"row too narrow", "t,a,b\n" + good + "1,2\n", "d.csv:12: 2 columns, want 3"},
		{"empty header name", "t,a,,b\n", "d.csv:1:3: empty joint name"},
		{"duplicate joint", "t,a,b,a\n", `d.csv:1:4: duplicate column name "a" (also column 2)`},
		{"joint named t", "t,t,a\n", `d.csv:1:2: duplicate column name "t" (also column 1)`},
		{"header without t", "time,a,b\n" + good, `d.csv:1:1: header starts with "time", want "t"`},
		{"header only t", "t\n" + good, "d.csv:1: header has no joint columns"},
		{"blank line inside", "t,a,b\n0,1,1\n\n" + rows(10)[6:], "d.csv:3: blank line inside the data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseCSV(strings.NewReader(c.text), "d.csv")
			if err == nil {
				t.Fatalf("no error, got %d samples", d.Len())
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error %q, want prefix %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			if !errors.Is(err, ErrBadCSV) {
				t.Fatalf("error %v does not wrap ErrBadCSV", err)
			}
		})
	}
}

func TestReadCSVMissingFile(t *testing.T) {
	_, err := ReadCSV(filepath.Join(t.TempDir(), "nope.csv"))
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrBadCSV) {
		t.Fatalf("error %v, want a not-exist error", err)
	}
}

func TestReadCSVRealDemo(t *testing.T) {
	d, err := ReadCSV("../testdata/masterarm_wiggling/d02209.csv")
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 1680 || len(d.Joints) != 7 || d.Joints[0] != "R_SFE" || d.Joints[6] != "R_WAA" {
		t.Fatalf("got %d samples, joints %v", d.Len(), d.Joints)
	}
	if d.Y[0][0] != 0.58391595 {
		t.Fatalf("first R_SFE %v", d.Y[0][0])
	}
	if p := d.SamplePeriod(); math.Abs(p-1.0/420) > 1e-8 {
		t.Fatalf("sample period %v s, want 1/420", p)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	d := &Demo{Joints: []string{"shoulder", "elbow"}}
	for i := range 12 {
		x := float64(i) / 3
		d.T = append(d.T, x*0.002)
		d.Y = append(d.Y, []float64{math.Sin(x), -1e-300 * x})
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, d); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "t,shoulder,elbow\n0,0,-0\n") {
		t.Fatalf("unexpected output start %q", buf.String()[:40])
	}
	got, err := ParseCSV(&buf, "rt.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.T {
		if got.T[i] != d.T[i] || got.Y[i][0] != d.Y[i][0] || got.Y[i][1] != d.Y[i][1] {
			t.Fatalf("sample %d: got %v %v, want %v %v", i, got.T[i], got.Y[i], d.T[i], d.Y[i])
		}
	}
}

func TestWriteSamplesBad(t *testing.T) {
	var buf bytes.Buffer
	cases := []struct {
		name   string
		joints []string
		t      []float64
		y      [][]float64
	}{
		{"no joints", nil, []float64{0}, [][]float64{{}}},
		{"row count", []string{"a"}, []float64{0, 1}, [][]float64{{1}}},
		{"row width", []string{"a"}, []float64{0}, [][]float64{{1, 2}}},
		{"comma in name", []string{"a,b"}, []float64{0}, [][]float64{{1}}},
	}
	for _, c := range cases {
		if err := WriteSamples(&buf, c.joints, c.t, c.y); err == nil || !strings.HasPrefix(err.Error(), "demos: ") {
			t.Errorf("%s: error %v, want a demos: error", c.name, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := func() *Demo {
		d, err := ParseCSV(strings.NewReader("t,a,b\n"+rows(10)), "x")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := ok().Validate(); err != nil {
		t.Fatal(err)
	}
	breakers := map[string]func(*Demo){
		"nan":       func(d *Demo) { d.Y[3][1] = math.NaN() },
		"time":      func(d *Demo) { d.T[4] = d.T[3] },
		"width":     func(d *Demo) { d.Y[2] = d.Y[2][:1] },
		"dup joint": func(d *Demo) { d.Joints[1] = "a" },
		"few":       func(d *Demo) { d.T, d.Y = d.T[:5], d.Y[:5] },
	}
	for name, br := range breakers {
		d := ok()
		br(d)
		if err := d.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSamplePeriodMedian(t *testing.T) {
	d := &Demo{T: []float64{0, 0.01, 0.02, 0.05, 0.06}}
	if p := d.SamplePeriod(); math.Abs(p-0.01) > 1e-12 {
		t.Fatalf("period %v, want 0.01", p)
	}
	if p := (&Demo{T: []float64{1}}).SamplePeriod(); p != 0 {
		t.Fatalf("period of one sample %v, want 0", p)
	}
}
