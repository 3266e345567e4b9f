package skilllib

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/praxis-robotics/praxis/motion/dmp"
)

// FormatV1 is the value of the "format" key of a version-1 skill file: its DMP has no
// "system" key and rolls out with dmp.SystemPhase (the exponential phase), as it always has.
const FormatV1 = "praxis.skill/v1"

// FormatV2 is the value of the "format" key of a version-2 skill file: FormatV1 plus the
// required key dmp.system ("minjerk" or "phase"). Marshal writes it for every DMP whose
// System is set (dmp.Fit sets dmp.SystemMinJerk by default), FormatV1 otherwise.
const FormatV2 = "praxis.skill/v2"

// MaxFileSize bounds what Read and the Store accept, bytes (a 50-basis, 7-joint skill is
// ≈ 10 kB; the largest valid one, dmp.MaxBasis × dmp.MaxJoints, ≈ 1 MB).
const MaxFileSize = 8 << 20

// ErrUnsupportedFormat means the file is JSON but not a skill of a format this build
// reads: no "format" key, or another format (e.g. a future "praxis.skill/v2").
var ErrUnsupportedFormat = errors.New("skilllib: unsupported skill file format")

// fileV1 is the on-disk layout of FormatV1. Keys are fixed by docs/skill-format.md;
// unknown keys are ignored on load (forward compatible within v1).
type fileV1 struct {
	Format     string       `json:"format"`
	Name       string       `json:"name"`
	Version    *int         `json:"version,omitempty"`
	Joints     []string     `json:"joints"`
	DT         float64      `json:"dt"`
	DMP        dmpV1        `json:"dmp"`
	Provenance provenanceV1 `json:"provenance"`
}

// dmpV1 mirrors dmp.DMP key for key (a test keeps them in step), so that a change to
// the maths package cannot change the file format unnoticed. System is written in
// FormatV2 files only (omitted when empty, so FormatV1 files keep their bytes) and
// ignored in FormatV1 files.
type dmpV1 struct {
	Formulation dmp.Formulation `json:"formulation"`
	System      dmp.System      `json:"system,omitempty"`
	AlphaZ      float64         `json:"alpha_z"`
	BetaZ       float64         `json:"beta_z"`
	AlphaX      float64         `json:"alpha_x"`
	AlphaG      float64         `json:"alpha_g"`
	Tau         float64         `json:"tau"`
	Centers     []float64       `json:"centers"`
	Widths      []float64       `json:"widths"`
	Weights     [][]float64     `json:"weights"`
	Start       []float64       `json:"start"`
	Goal        []float64       `json:"goal"`
	StartVel    []float64       `json:"start_vel"`
	Amplitude   []float64       `json:"amplitude,omitempty"`
}

type provenanceV1 struct {
	Demos         []demoV1     `json:"demos"`
	FitError      []fitErrorV1 `json:"fit_error"`
	Spread        []spreadV1   `json:"spread,omitempty"`
	Basis         int          `json:"basis"`
	Created       string       `json:"created"`
	PraxisVersion string       `json:"praxis_version"`
}

type spreadV1 struct {
	Mean []float64 `json:"mean"`
	Max  []float64 `json:"max"`
}

type demoV1 struct {
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Samples int    `json:"samples"`
}

type fitErrorV1 struct {
	Joint string  `json:"joint"`
	RMSE  float64 `json:"rmse"`
	Max   float64 `json:"max"`
	End   float64 `json:"end"`
}

// Marshal encodes s as a FormatV1 file: indented JSON, number arrays on one line, a
// trailing newline, the creation time in UTC to the second. Equal skills give equal bytes.
// It fails (wrapping ErrInvalid) when s does not pass Validate.
func Marshal(s *Skill) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	v := s.Version
	format := FormatV1
	if s.DMP.System != "" {
		format = FormatV2
	}
	f := fileV1{
		Format:  format,
		Name:    s.Name,
		Version: &v,
		Joints:  s.Joints,
		DT:      s.DT,
		DMP:     dmpV1(s.DMP),
		Provenance: provenanceV1{
			Demos:         make([]demoV1, len(s.Provenance.Demos)),
			FitError:      make([]fitErrorV1, len(s.Provenance.FitError)),
			Basis:         s.Provenance.Basis,
			PraxisVersion: s.Provenance.PraxisVersion,
		},
	}
	for i, d := range s.Provenance.Demos {
		f.Provenance.Demos[i] = demoV1(d)
	}
	for i, e := range s.Provenance.FitError {
		f.Provenance.FitError[i] = fitErrorV1(e)
	}
	for _, sp := range s.Provenance.Spread {
		f.Provenance.Spread = append(f.Provenance.Spread, spreadV1(sp))
	}
	if !s.Provenance.Created.IsZero() {
		f.Provenance.Created = s.Provenance.Created.UTC().Format(time.RFC3339)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&f); err != nil {
		return nil, fmt.Errorf("skilllib: encode: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("skilllib: indent: %w", err)
	}
	return inlineNumberArrays(out.Bytes()), nil
}

// Unmarshal decodes a FormatV1 or FormatV2 file and validates it. name (usually the file's base
// name) labels errors: "skill NAME: ...". Errors match ErrUnsupportedFormat for another
// format, else ErrInvalid (broken JSON, wrong types, failed Validate).
func Unmarshal(data []byte, name string) (*Skill, error) {
	var probe struct {
		Format *string `json:"format"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, decodeError(name, data, err)
	}
	switch {
	case probe.Format == nil:
		return nil, fmt.Errorf("skill %s: no \"format\" key, not a praxis skill file: %w", name, ErrUnsupportedFormat)
	case *probe.Format != FormatV1 && *probe.Format != FormatV2:
		return nil, fmt.Errorf("skill %s: format %q, this build reads %q and %q: %w",
			name, *probe.Format, FormatV1, FormatV2, ErrUnsupportedFormat)
	}
	var f fileV1
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, decodeError(name, data, err)
	}
	if *probe.Format == FormatV1 {
		f.DMP.System = "" // not a v1 key: v1 files always roll out with the phase system
	} else {
		switch f.DMP.System {
		case dmp.SystemMinJerk, dmp.SystemPhase:
		case "":
			return nil, fmt.Errorf("skill %s: format %q: %w", name, FormatV2,
				invalidf("dmp.system is missing, want %q or %q", dmp.SystemMinJerk, dmp.SystemPhase))
		default:
			return nil, fmt.Errorf("skill %s: %w", name,
				invalidf("dmp.system %q is unknown, want %q or %q", f.DMP.System, dmp.SystemMinJerk, dmp.SystemPhase))
		}
	}
	s := &Skill{
		Name:   f.Name,
		Joints: f.Joints,
		DT:     f.DT,
		DMP:    dmp.DMP(f.DMP),
		Provenance: Provenance{
			Basis:         f.Provenance.Basis,
			PraxisVersion: f.Provenance.PraxisVersion,
		},
	}
	s.Version = 1
	if f.Version != nil {
		s.Version = *f.Version
	}
	for _, d := range f.Provenance.Demos {
		s.Provenance.Demos = append(s.Provenance.Demos, DemoSource(d))
	}
	for _, e := range f.Provenance.FitError {
		s.Provenance.FitError = append(s.Provenance.FitError, JointFitStat(e))
	}
	for _, sp := range f.Provenance.Spread {
		s.Provenance.Spread = append(s.Provenance.Spread, DemoSpread(sp))
	}
	if c := f.Provenance.Created; c != "" {
		t, err := time.Parse(time.RFC3339, c)
		if err != nil {
			return nil, fmt.Errorf("skill %s: %w", name, invalidf("provenance.created %q is not an RFC 3339 time", c))
		}
		s.Provenance.Created = t.UTC()
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("skill %s: %w", name, err)
	}
	return s, nil
}

// Read reads and decodes one skill file from r (see Unmarshal); name labels errors.
func Read(r io.Reader, name string) (*Skill, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("skill %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("skill %s: %w", name, invalidf("larger than %d bytes", MaxFileSize))
	}
	return Unmarshal(data, name)
}

// Load reads the skill file at path; errors name it by its base name (see Unmarshal).
func Load(path string) (*Skill, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("skilllib: %w", err)
	}
	defer f.Close()
	return Read(f, filepath.Base(path))
}

// decodeError turns encoding/json's errors into one line naming the place and problem.
func decodeError(name string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se) && se.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))):
		return fmt.Errorf("skill %s: %w", name, invalidf("truncated JSON (the file ends too early)"))
	case errors.As(err, &se):
		line, col := position(data, se.Offset)
		return fmt.Errorf("skill %s:%d:%d: %w", name, line, col, invalidf("invalid JSON: %v", se))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the top level"
		}
		msg := fmt.Sprintf("%s is a JSON %s, want %s", field, te.Value, jsonKind(te.Type))
		if te.Value == "string" && jsonKind(te.Type) == "a number" {
			msg += " (NaN and Inf are not allowed)"
		}
		return fmt.Errorf("skill %s: %w", name, invalidf("%s", msg))
	default:
		return fmt.Errorf("skill %s: %w", name, invalidf("%v", err))
	}
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return t.String()
	}
}

// position converts a byte offset (as json.SyntaxError reports it: just past the bad
// byte) to a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off > 0 {
		off--
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// inlineNumberArrays rewrites indented JSON so that arrays holding no strings, objects
// or arrays sit on one line: `[1, 2, 3]`. Strings are left untouched.
func inlineNumberArrays(in []byte) []byte {
	out := make([]byte, 0, len(in))
	inString, escaped := false, false
	for i := 0; i < len(in); i++ {
		c := in[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			continue
		}
		if c == '[' {
			if end := bytes.IndexByte(in[i:], ']'); end > 0 {
				body := in[i+1 : i+end]
				if !bytes.ContainsAny(body, "[{\"") {
					parts := strings.Split(string(body), ",")
					for k := range parts {
						parts[k] = strings.TrimSpace(parts[k])
					}
					out = append(out, '[')
					out = append(out, strings.Join(parts, ", ")...)
					out = append(out, ']')
					i += end
					continue
				}
			}
		}
		out = append(out, c)
	}
	return out
}
