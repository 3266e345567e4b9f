// Package flight is the flight-recording file format (docs/observability.md): the last
// seconds of full-rate measured, planned and commanded joint positions before a fault,
// abort or e-stop, as a gzip-compressed JSON document, versioned and self-describing. It
// writes recordings with bounded retention, lists them without reading their samples, reads
// and checks them, summarises them and exports them as CSV.
package flight

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Format identification.
const (
	FormatName = "praxis-flight" // the "format" field
	Version    = 1               // the "version" field this package writes and reads
	Ext        = ".flight.json.gz"
	// DefaultKeep is how many recordings a directory keeps: writing one removes the oldest
	// beyond it.
	DefaultKeep = 50
)

// Triggers: why a recording was written.
const (
	TriggerFault   = "fault"   // a run failed (watchdog, fault, limit, timeout)
	TriggerAbort   = "abort"   // a run was aborted (cancel, preemption, shutdown)
	TriggerEStop   = "estop"   // the e-stop (during a run or idle)
	TriggerRequest = "request" // on demand (core.FlightLog.DumpFlight)
)

// ErrFormat: a file is not a readable flight recording; the error names the file and
// what is wrong.
var ErrFormat = errors.New("not a valid flight recording")

// Header is the part of a recording a listing needs; it comes first in the file.
type Header struct {
	Format  string    `json:"format"`  // FormatName
	Version int       `json:"version"` // Version
	Robot   string    `json:"robot,omitempty"`
	Trigger string    `json:"trigger"` // fault, abort, estop or request
	Reason  string    `json:"reason"`  // human-readable: the run's reason, "e-stop", ...
	RunID   string    `json:"run_id,omitempty"`
	Skill   string    `json:"skill,omitempty"`
	Time    time.Time `json:"time"`    // wall time of the trigger (t = 0)
	RateHz  float64   `json:"rate_hz"` // control rate the samples were taken at
	Samples int       `json:"samples"`
	Seconds float64   `json:"seconds"` // time from the first to the last sample, s
	Joints  []string  `json:"joints"`
}

// Recording is a whole flight recording. Sample k was taken at T[k] s relative to the
// trigger (negative: before it); per joint i (in Joints order), Measured[k][i] and
// Velocity[k][i] are what the arm reported (rad or m, per s), Planned[k][i] the plan the
// executor followed, Command[k][i] the position sent after the safety filter.
type Recording struct {
	Header
	T        []float64   `json:"t"`
	Measured [][]float64 `json:"measured"`
	Velocity [][]float64 `json:"velocity"`
	Planned  [][]float64 `json:"planned"`
	Command  [][]float64 `json:"command"`
}

// Info is a listed recording: its file name and header.
type Info struct {
	Name string
	Header
}

// Check validates r: format and version, one row per sample of one value per joint,
// finite values, non-decreasing times. Errors wrap ErrFormat.
func (r *Recording) Check() error {
	if r.Format != FormatName {
		return fmt.Errorf("%w: format %q, want %q", ErrFormat, r.Format, FormatName)
	}
	if r.Version < 1 || r.Version > Version {
		return fmt.Errorf("%w: version %d, this praxis reads version %d", ErrFormat, r.Version, Version)
	}
	n := len(r.Joints)
	if n == 0 {
		return fmt.Errorf("%w: no joints", ErrFormat)
	}
	if r.Samples != len(r.T) {
		return fmt.Errorf("%w: header says %d samples, t has %d", ErrFormat, r.Samples, len(r.T))
	}
	for k, t := range r.T {
		if math.IsNaN(t) || math.IsInf(t, 0) || (k > 0 && t < r.T[k-1]) {
			return fmt.Errorf("%w: t[%d] = %v does not follow t[%d] = %v", ErrFormat, k, t, max(k-1, 0), r.T[max(k-1, 0)])
		}
	}
	for _, f := range []struct {
		name string
		rows [][]float64
	}{{"measured", r.Measured}, {"velocity", r.Velocity}, {"planned", r.Planned}, {"command", r.Command}} {
		if len(f.rows) != len(r.T) {
			return fmt.Errorf("%w: %s has %d rows for %d samples", ErrFormat, f.name, len(f.rows), len(r.T))
		}
		for k, row := range f.rows {
			if len(row) != n {
				return fmt.Errorf("%w: %s[%d] has %d values for %d joints", ErrFormat, f.name, k, len(row), n)
			}
			for i, v := range row {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("%w: %s[%d] of joint %s is %v", ErrFormat, f.name, k, r.Joints[i], v)
				}
			}
		}
	}
	return nil
}

// Write writes r into dir (created if missing) as a new file named after its time and
// trigger, atomically (a temporary file renamed), then removes the oldest recordings
// beyond keep (DefaultKeep when keep ≤ 0). It returns the file name.
func Write(dir string, r *Recording, keep int) (string, error) {
	r.Format, r.Version, r.Samples = FormatName, Version, len(r.T)
	if len(r.T) > 0 {
		r.Seconds = r.T[len(r.T)-1] - r.T[0]
	}
	switch r.Trigger {
	case TriggerFault, TriggerAbort, TriggerEStop, TriggerRequest:
	default:
		return "", fmt.Errorf("flight: write: trigger %q, want fault, abort, estop or request", r.Trigger)
	}
	if err := r.Check(); err != nil {
		return "", fmt.Errorf("flight: write: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("flight: %w", err)
	}
	// Names sort by time: a second recording in the same millisecond gets "~2" after
	// the time ('~' sorts after '-').
	stamp := r.Time.UTC().Format("20060102T150405.000Z")
	name := stamp + "-" + r.Trigger + Ext
	for i := 2; ; i++ {
		if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s~%d-%s%s", stamp, i, r.Trigger, Ext)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-flight-*")
	if err != nil {
		return "", fmt.Errorf("flight: %w", err)
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	bw := bufio.NewWriterSize(zw, 64<<10)
	err = json.NewEncoder(bw).Encode(r)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return "", fmt.Errorf("flight: write %s: %w", filepath.Join(dir, name), err)
	}
	if err := prune(dir, keep); err != nil {
		return name, err
	}
	return name, nil
}

// names returns the recordings' file names in dir, oldest first (names start with the
// UTC time).
func names(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flight: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), Ext) && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

func prune(dir string, keep int) error {
	if keep <= 0 {
		keep = DefaultKeep
	}
	ns, err := names(dir)
	if err != nil {
		return err
	}
	for len(ns) > keep {
		if err := os.Remove(filepath.Join(dir, ns[0])); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("flight: retention: %w", err)
		}
		ns = ns[1:]
	}
	return nil
}

// ValidName reports whether name is a recording's bare file name (no directory).
func ValidName(name string) bool {
	return strings.HasSuffix(name, Ext) && filepath.Base(name) == name && !strings.HasPrefix(name, ".") &&
		!strings.ContainsAny(name, `/\`)
}

// List returns the recordings in dir, newest first, reading only their headers. A file
// that cannot be read is listed with its error as Reason and Trigger "unreadable".
func List(dir string) ([]Info, error) {
	ns, err := names(dir)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(ns))
	for i := len(ns) - 1; i >= 0; i-- {
		h, err := ReadHeader(filepath.Join(dir, ns[i]))
		if err != nil {
			h = Header{Trigger: "unreadable", Reason: err.Error()}
		}
		out = append(out, Info{Name: ns[i], Header: h})
	}
	return out, nil
}

// open returns a decoder over the decompressed file.
func open(path string) (*json.Decoder, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("flight: %w", err)
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("flight: %s: %w: not gzip-compressed (%v)", path, ErrFormat, err)
	}
	return json.NewDecoder(zr), func() { zr.Close(); f.Close() }, nil
}

// ReadHeader reads the header of the recording at path without its samples. Errors name
// the file; a file that is not a recording wraps ErrFormat.
func ReadHeader(path string) (Header, error) {
	dec, done, err := open(path)
	if err != nil {
		return Header{}, err
	}
	defer done()
	bad := func(what string, err error) (Header, error) {
		if err != nil {
			return Header{}, fmt.Errorf("flight: %s: %w: %s: %v", path, ErrFormat, what, err)
		}
		return Header{}, fmt.Errorf("flight: %s: %w: %s", path, ErrFormat, what)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("not a JSON object", err)
	}
	// Read the header fields, which come before the samples, into a JSON object.
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("corrupt JSON", err)
		}
		key, _ := tok.(string)
		if key == "t" {
			break
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return bad("corrupt JSON at field "+key, err)
		}
		fields[key] = v
	}
	raw, _ := json.Marshal(fields)
	var h Header
	if err := json.Unmarshal(raw, &h); err != nil {
		return bad("header", err)
	}
	if h.Format != FormatName {
		return bad(fmt.Sprintf("format %q, want %q", h.Format, FormatName), nil)
	}
	if h.Version < 1 || h.Version > Version {
		return bad(fmt.Sprintf("version %d, this praxis reads version %d", h.Version, Version), nil)
	}
	return h, nil
}

// Read reads and checks the recording at path. Errors name the file and what is wrong,
// wrapping ErrFormat for a file that is not a valid recording.
func Read(path string) (*Recording, error) {
	dec, done, err := open(path)
	if err != nil {
		return nil, err
	}
	defer done()
	var r Recording
	if err := dec.Decode(&r); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("flight: %s: %w: truncated (%v)", path, ErrFormat, err)
		}
		return nil, fmt.Errorf("flight: %s: %w: %v", path, ErrFormat, err)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("flight: %s: %w", path, err)
	}
	return &r, nil
}
