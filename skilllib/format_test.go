package skilllib

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/praxis-robotics/praxis/motion/dmp"
)

var update = flag.Bool("update", false, "rewrite testdata/marshal.golden.json from testSkill")

// testSkill is the 2-joint, 5-basis skill of docs/skill-format.md and the golden files.
func testSkill() *Skill {
	return &Skill{
		Name:    "wave",
		Version: 3,
		Joints:  []string{"shoulder", "elbow"},
		DT:      0.002,
		DMP: dmp.DMP{
			Formulation: dmp.Pastor2009,
			AlphaZ:      25,
			BetaZ:       6.25,
			AlphaX:      4.605170185988092,
			AlphaG:      12.5,
			Tau:         1.5,
			Centers:     []float64{1, 0.31622776601683794, 0.1, 0.031622776601683794, 0.01},
			Widths:      []float64{21.386, 213.86, 2138.6, 21386, 21386},
			Weights: [][]float64{
				{12.5, -40.25, 88, -3.125, 0.5},
				{-7, 15.75, -1e-3, 230.5, -12},
			},
			Start:    []float64{0.1, -0.5},
			Goal:     []float64{0.9, 0.25},
			StartVel: []float64{0, 0.05},
		},
		Provenance: Provenance{
			Demos: []DemoSource{
				{File: "wave1.csv", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Samples: 751},
				{File: "wave2.csv", SHA256: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", Samples: 760},
			},
			FitError: []JointFitStat{
				{Joint: "shoulder", RMSE: 0.0012, Max: 0.004, End: 0.0003},
				{Joint: "elbow", RMSE: 0.0021, Max: 0.0065, End: 0.0001},
			},
			Basis:         5,
			Created:       time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC),
			PraxisVersion: "v0.1.0",
		},
	}
}

func TestMarshalGolden(t *testing.T) {
	got, err := Marshal(testSkill())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "marshal.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./skilllib -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal output differs from %s (if intended, rerun with -update):\n%s", path, got)
	}
	again, _ := Marshal(testSkill())
	if !bytes.Equal(got, again) {
		t.Fatal("Marshal is not deterministic")
	}
}

func TestRoundTrip(t *testing.T) {
	for _, f := range []dmp.Formulation{dmp.Pastor2009, dmp.Ijspeert2013} {
		s := testSkill()
		s.DMP.Formulation = f
		if f == dmp.Ijspeert2013 {
			s.DMP.Amplitude = []float64{0.8, 0.75}
		}
		data, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(data, "rt.json")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("%s: round trip changed the skill:\n got %+v\nwant %+v", f, got, s)
		}
	}
}

// TestV1GoldenLoads guards compatibility: a v1 file written once (with an unknown extra
// key, which v1 readers ignore) must load with exactly these values forever.
func TestV1GoldenLoads(t *testing.T) {
	got, err := Load(filepath.Join("testdata", "v1.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := testSkill()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("v1.golden.json loads as\n %+v\nwant\n %+v", got, want)
	}
	// Spot checks that do not rely on testSkill staying as it is.
	if got.Name != "wave" || got.Version != 3 || got.DMP.Weights[1][3] != 230.5 ||
		got.DMP.Tau != 1.5 || got.DT != 0.002 || !slices.Equal(got.Joints, []string{"shoulder", "elbow"}) ||
		got.Provenance.Created.Format(time.RFC3339) != "2026-03-14T15:09:26Z" {
		t.Fatalf("v1.golden.json values changed: %+v", got)
	}
}

// TestDMPFieldsMirrored fails when motion/dmp gains a field the v1 format does not store.
func TestDMPFieldsMirrored(t *testing.T) {
	keys := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			out = append(out, rt.Field(i).Name+" "+rt.Field(i).Tag.Get("json"))
		}
		return out
	}
	if a, b := keys(dmp.DMP{}), keys(dmpV1{}); !slices.Equal(a, b) {
		t.Fatalf("dmp.DMP fields %v, skill file stores %v: extend the format (and docs/skill-format.md)", a, b)
	}
}

func TestUnmarshalBad(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "v1.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(good)
	repl := func(old, new string) string {
		t.Helper()
		if !strings.Contains(text, old) {
			t.Fatalf("golden file lacks %q", old)
		}
		return strings.Replace(text, old, new, 1)
	}
	cases := []struct {
		name, data, want string
		sentinel         error
	}{
		{"other version", repl(`"praxis.skill/v1"`, `"praxis.skill/v3"`),
			`skill w.json: format "praxis.skill/v3", this build reads "praxis.skill/v1" and "praxis.skill/v2"`, ErrUnsupportedFormat},
		{"v2 without system", repl(`"praxis.skill/v1"`, `"praxis.skill/v2"`),
			`skill w.json: format "praxis.skill/v2": dmp.system is missing, want "minjerk" or "phase"`, ErrInvalid},
		{"v2 unknown system", repl(`"praxis.skill/v1"`, `"praxis.skill/v2"`)[:0] + strings.Replace(repl(`"praxis.skill/v1"`, `"praxis.skill/v2"`), `"formulation": "pastor2009",`, `"formulation": "pastor2009", "system": "dmpbbo",`, 1),
			`skill w.json: dmp.system "dmpbbo" is unknown, want "minjerk" or "phase"`, ErrInvalid},
		{"no format", repl(`"format": "praxis.skill/v1",`, ``),
			`skill w.json: no "format" key`, ErrUnsupportedFormat},
		{"truncated", text[:len(text)/2], "skill w.json: truncated JSON", ErrInvalid},
		{"empty", "", "skill w.json: truncated JSON", ErrInvalid},
		{"syntax", repl(`"tau": 1.5,`, `"tau": 1.5,,`), "skill w.json:17:16: invalid JSON: invalid character ','", ErrInvalid},
		{"not an object", "[1, 2]", "skill w.json: the top level is a JSON array, want an object", ErrInvalid},
		{"missing weights", repl(`"weights": [`, `"weights_old": [`), "skill w.json: weights is missing or empty", ErrInvalid},
		{"weights rows", repl(",\n      [-7, 15.75, -0.001, 230.5, -12]", ""),
			"skill w.json: weights has 1 rows, want 2 (one per joint)", ErrInvalid},
		{"weights row short", repl(`[12.5, -40.25, 88, -3.125, 0.5]`, `[12.5, -40.25, 88, -3.125]`),
			"skill w.json: weights[0] has 4 entries, want 5 (one per basis function)", ErrInvalid},
		{"nan as string", repl(`"tau": 1.5`, `"tau": "NaN"`),
			"skill w.json: dmp.tau is a JSON string, want a number (NaN and Inf are not allowed)", ErrInvalid},
		{"negative tau", repl(`"tau": 1.5`, `"tau": -1.5`), "skill w.json: tau is -1.5, want a finite number > 0", ErrInvalid},
		{"unknown formulation", repl(`"pastor2009"`, `"schaal2006"`),
			`skill w.json: formulation "schaal2006" is unknown, want "pastor2009" or "ijspeert2013"`, ErrInvalid},
		{"start length", repl(`"start": [0.1, -0.5]`, `"start": [0.1]`),
			"skill w.json: start has 1 entries, want 2 (one per joint)", ErrInvalid},
		{"goal missing", repl(`"goal": [0.9, 0.25],`, ``), "skill w.json: goal has 0 entries, want 2", ErrInvalid},
		{"widths", repl(`21386, 21386]`, `21386]`), "skill w.json: widths has 4 entries, want 5 (one per centre)", ErrInvalid},
		{"dt zero", repl(`"dt": 0.002`, `"dt": 0`), "skill w.json: dt is 0, want a finite number > 0", ErrInvalid},
		{"empty name", repl(`"name": "wave"`, `"name": ""`), "skill w.json: name is empty", ErrInvalid},
		{"version zero", repl(`"version": 3`, `"version": 0`), "skill w.json: version is 0, want 1 or more", ErrInvalid},
		{"version float", repl(`"version": 3`, `"version": 1.5`), "skill w.json: version is a JSON number 1.5, want a number", ErrInvalid},
		{"duplicate joint", repl(`"elbow"`, `"shoulder"`), `skill w.json: joints[1]: "shoulder" appears twice`, ErrInvalid},
		{"bad created", repl(`"2026-03-14T15:09:26Z"`, `"yesterday"`),
			`skill w.json: provenance.created "yesterday" is not an RFC 3339 time`, ErrInvalid},
		{"basis count", repl(`"basis": 5`, `"basis": 6`),
			"skill w.json: provenance.basis is 6 but the DMP has 5 basis functions", ErrInvalid},
		{"centres not decreasing", repl(`[1, 0.31622776601683794`, `[0.2, 0.31622776601683794`),
			"skill w.json: dmp: invalid dmp: centre 1", ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Unmarshal([]byte(c.data), "w.json")
			if err == nil {
				t.Fatalf("loaded %+v, want an error", s)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error %q, want prefix %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			if !errors.Is(err, c.sentinel) {
				t.Fatalf("error %v does not match %v", err, c.sentinel)
			}
		})
	}
}

func TestWeightsRowsMessage(t *testing.T) {
	s := testSkill()
	s.Joints = append(s.Joints, "wrist")
	err := s.Validate()
	if err == nil || err.Error() != "skilllib: weights has 2 rows, want 3 (one per joint)" {
		t.Fatalf("error %v", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("%v does not match ErrInvalid", err)
	}
}

func TestVersionDefaultsToOne(t *testing.T) {
	data, err := Marshal(testSkill())
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"version": 3,`), nil, 1)
	s, err := Unmarshal(data, "w.json")
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 1 {
		t.Fatalf("version %d, want the default 1", s.Version)
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	s := testSkill()
	s.DMP.Weights[0][2] = 0
	s.DMP.Tau = 0
	if _, err := Marshal(s); !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v, want ErrInvalid", err)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want not-exist", err)
	}
}

// TestDocExampleLoads keeps docs/skill-format.md's example in step with the format.
func TestDocExampleLoads(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "skill-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no ```json example in docs/skill-format.md")
	}
	got, err := Unmarshal([]byte(example), "doc example")
	if err != nil {
		t.Fatal(err)
	}
	want := testSkill()
	want.DMP.System = dmp.SystemMinJerk // the doc shows a v2 file
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the doc example loads as %+v, want testSkill() with system minjerk", got)
	}
}
