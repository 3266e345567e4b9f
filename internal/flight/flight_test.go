package flight

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sample returns a small recording: 3 samples of 2 joints at 500 Hz.
func sample() *Recording {
	return &Recording{
		Header: Header{Robot: "arm1", Trigger: TriggerEStop, Reason: "e-stop", RunID: "r1", Skill: "wave",
			Time: time.Date(2026, 12, 2, 9, 30, 0, 123e6, time.UTC), RateHz: 500, Joints: []string{"a", "b"}},
		T:        []float64{-0.004, -0.002, 0},
		Measured: [][]float64{{0, 1}, {0.01, 1}, {0.03, 0.99}},
		Velocity: [][]float64{{0, 0}, {5, 0}, {10, -5}},
		Planned:  [][]float64{{0.005, 1}, {0.02, 1}, {0.04, 0.98}},
		Command:  [][]float64{{0.006, 1}, {0.021, 1.001}, {0.041, 0.98}},
	}
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipFile(t *testing.T, path string, data []byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGolden: what Write writes is the documented version-1 document, and Read reads the
// golden file back to the same recording.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	name, err := Write(dir, sample(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if name != "20261202T093000.123Z-estop"+Ext {
		t.Fatalf("file name %q", name)
	}
	got := gunzip(t, filepath.Join(dir, name))
	golden := filepath.Join("testdata", "v1.flight.json")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("written document differs from %s:\n%s", golden, got)
	}
	p := filepath.Join(dir, "golden"+Ext)
	gzipFile(t, p, want)
	r, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sample()
	if r.Samples != 3 || r.Seconds != 0.004 || r.Measured[2][1] != s.Measured[2][1] || r.Command[1][1] != 1.001 || r.RunID != "r1" {
		t.Fatalf("read back %+v", r)
	}
	h, err := ReadHeader(p)
	if err != nil || h.Reason != "e-stop" || h.Samples != 3 || len(h.Joints) != 2 {
		t.Fatalf("header %+v, %v", h, err)
	}
}

func TestRetentionAndList(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	for i := range 5 {
		r.Time = time.Date(2026, 12, 2, 9, 30, i, 0, time.UTC)
		r.Reason = "n" + string(rune('0'+i))
		if _, err := Write(dir, r, 3); err != nil {
			t.Fatal(err)
		}
	}
	// Same time twice: a second name, not an overwrite.
	if n, err := Write(dir, r, 3); err != nil || !strings.HasSuffix(n, "Z~2-estop"+Ext) {
		t.Fatalf("second file at the same time: %q, %v", n, err)
	}
	os.WriteFile(filepath.Join(dir, "junk.txt"), []byte("x"), 0o644)
	list, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Name != "20261202T093004.000Z~2-estop"+Ext || list[2].Reason != "n3" {
		t.Fatalf("list after retention of 3: %+v", list)
	}
	// A corrupt file is listed as unreadable, with its error, not hidden.
	os.WriteFile(filepath.Join(dir, "20991231T000000.000Z-fault"+Ext), []byte("not gzip"), 0o644)
	list, _ = List(dir)
	if list[0].Trigger != "unreadable" || !strings.Contains(list[0].Reason, "not gzip") {
		t.Fatalf("corrupt file listed as %+v", list[0])
	}
}

// TestCorrupt: every kind of bad file gets an error naming the file and what is wrong,
// wrapping ErrFormat; never a panic.
func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := gunzip(t, filepath.Join(dir, mustWrite(t, dir)))
	cases := map[string]struct {
		data []byte
		gz   bool
		want string
	}{
		"plain":     {[]byte("{}"), false, "not gzip"},
		"truncated": {good[:len(good)/2], true, "truncated"},
		"format":    {bytes.Replace(good, []byte(`"praxis-flight"`), []byte(`"other"`), 1), true, `format "other"`},
		"version":   {bytes.Replace(good, []byte(`"version":1`), []byte(`"version":7`), 1), true, "version 7"},
		"rows":      {bytes.Replace(good, []byte(`"measured":[[0,1],`), []byte(`"measured":[`), 1), true, "measured has 2 rows for 3 samples"},
		"width":     {bytes.Replace(good, []byte(`"planned":[[0.005,1]`), []byte(`"planned":[[0.005]`), 1), true, "planned[0] has 1 values for 2 joints"},
		"time":      {bytes.Replace(good, []byte(`"t":[-0.004,-0.002,0]`), []byte(`"t":[-0.004,-0.006,0]`), 1), true, "t[1]"},
		"samples":   {bytes.Replace(good, []byte(`"samples":3`), []byte(`"samples":4`), 1), true, "header says 4 samples"},
		"json":      {[]byte(`{"format":"praxis-flight","version":1,"t":[1,`), true, "truncated"},
		"notobject": {[]byte(`[1,2]`), true, ""},
	}
	for name, c := range cases {
		p := filepath.Join(dir, name+Ext)
		if c.gz {
			gzipFile(t, p, c.data)
		} else {
			os.WriteFile(p, c.data, 0o644)
		}
		_, err := Read(p)
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want one naming %s and %q, wrapping ErrFormat", name, err, p, c.want)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing"+Ext)); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
}

func mustWrite(t *testing.T, dir string) string {
	t.Helper()
	n, err := Write(dir, sample(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSummaryAndCSV(t *testing.T) {
	r := sample()
	r.Samples = 3
	s := Summarize(r)
	// a: |0−0.005|, |0.01−0.005|, |0.03−0.02| → 0.01; steps 0.015, 0.02 → 0.02.
	// b: |1−1|, |1−1|, |0.99−1| → 0.01; steps 0.001, 0.021 → 0.021.
	near := func(x, y float64) bool { return x-y < 1e-12 && y-x < 1e-12 }
	if !near(s.Joints[0].MaxTrackingError, 0.01) || !near(s.Joints[0].MaxCommandStep, 0.02) ||
		!near(s.Joints[1].MaxTrackingError, 0.01) || !near(s.Joints[1].MaxCommandStep, 0.021) {
		t.Fatalf("summary %+v", s.Joints)
	}
	var out bytes.Buffer
	if err := s.WriteText(&out, "f"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"e-stop (trigger estop)", "3 at 500 Hz", "a  ", "0.021", "r1 (skill wave)"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	if err := WriteCSV(&out, r); err != nil {
		t.Fatal(err)
	}
	want := "t,a_measured,a_velocity,a_planned,a_command,b_measured,b_velocity,b_planned,b_command\n" +
		"-0.004,0,0,0.005,0.006,1,0,1,1\n" +
		"-0.002,0.01,5,0.02,0.021,1,0,1,1.001\n" +
		"0,0.03,10,0.04,0.041,0.99,-5,0.98,0.98\n"
	if out.String() != want {
		t.Fatalf("CSV:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestValidName(t *testing.T) {
	for n, ok := range map[string]bool{"x" + Ext: true, "../x" + Ext: false, "a/b" + Ext: false, ".x" + Ext: false, "x.json": false} {
		if ValidName(n) != ok {
			t.Errorf("ValidName(%q) = %v", n, !ok)
		}
	}
}
