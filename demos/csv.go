package demos

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MinSamples is the fewest samples a demo file may hold.
const MinSamples = 10

// Upper bounds on a demo file, so that reading one costs bounded time and memory.
const (
	MaxSamples  = 600_000   // rows: 10 min at 1 kHz
	MaxFileSize = 128 << 20 // bytes
)

// ErrBadCSV is wrapped by every *CSVError, for callers that branch on "the file is bad"
// rather than "the file could not be read".
var ErrBadCSV = errors.New("demos: bad CSV")

// CSVError is a problem in a demo or trajectory CSV file. Line and Col are 1-based
// (Col counts comma-separated fields, t is column 1); 0 means "not about one line/cell".
type CSVError struct {
	File string
	Line int
	Col  int
	Msg  string
	// Brief is Msg without any text quoted from the file (Redacted uses it); "" when Msg
	// quotes nothing.
	Brief string
}

// Redacted formats the problem like Error but never quotes the file's content: for
// reasons shown to others than the file's owner (the daemon's events).
func (e *CSVError) Redacted() string {
	r := *e
	if r.Brief != "" {
		r.Msg = r.Brief
	}
	return r.Error()
}

// Error formats the problem as `file:line:col: msg`, like a compiler.
func (e *CSVError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Unwrap returns ErrBadCSV.
func (e *CSVError) Unwrap() error { return ErrBadCSV }

// ReadCSV reads a demo file (see ParseCSV); errors name the file by its base name.
func ReadCSV(path string) (*Demo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("demos: %w", err)
	}
	defer f.Close()
	return ParseCSV(f, filepath.Base(path))
}

// ParseCSV parses a demo from CSV text: a header `t,<joint names...>`, then one row per
// sample, t in s (strictly increasing), positions in rad or m. Lines whose first
// non-blank character is '#' are comments; blank lines may only trail the data; CRLF
// line ends and a UTF-8 byte-order mark are accepted; cells may be padded with spaces.
// Fields are not quoted. name labels errors, which are *CSVError (`name:line:col: msg`).
func ParseCSV(r io.Reader, name string) (*Demo, error) {
	p := csvParser{name: name}
	lr := &io.LimitedReader{R: r, N: MaxFileSize + 1}
	br := bufio.NewReader(lr)
	for {
		if lr.N <= 0 {
			return nil, p.errorf(p.line+1, 0, "file larger than %d bytes", MaxFileSize)
		}
		raw, rerr := br.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("demos: %s: %w", name, rerr)
		}
		if raw != "" {
			p.line++
			if err := p.feed(strings.TrimRight(raw, "\r\n")); err != nil {
				return nil, err
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if p.d == nil {
		return nil, p.errorf(0, 0, "no header (want `t,<joint names...>`)")
	}
	if len(p.d.T) < MinSamples {
		return nil, p.errorf(0, 0, "%d samples, want at least %d", len(p.d.T), MinSamples)
	}
	return p.d, nil
}

// csvParser holds the state of ParseCSV between lines.
type csvParser struct {
	name     string
	line     int // current line, 1-based
	d        *Demo
	headerAt int
	blankAt  int // first blank line after the header; 0 while there is none
}

func (p *csvParser) errorf(line, col int, format string, a ...any) error {
	return &CSVError{File: p.name, Line: line, Col: col, Msg: fmt.Sprintf(format, a...)}
}

// quotef is errorf for a message that quotes the file: brief says the same without it.
func (p *csvParser) quotef(line, col int, brief, format string, a ...any) error {
	return &CSVError{File: p.name, Line: line, Col: col, Msg: fmt.Sprintf(format, a...), Brief: brief}
}

func (p *csvParser) feed(line string) error {
	if p.line == 1 {
		line = strings.TrimPrefix(line, "\uFEFF")
	}
	trimmed := strings.TrimSpace(line)
	if strings.HasPrefix(trimmed, "#") {
		return nil
	}
	if trimmed == "" {
		if p.d != nil && p.blankAt == 0 {
			p.blankAt = p.line
		}
		return nil
	}
	cells := strings.Split(line, ",")
	if p.d == nil {
		joints, err := p.header(cells)
		if err != nil {
			return err
		}
		p.d = &Demo{Joints: joints}
		p.headerAt = p.line
		return nil
	}
	if p.blankAt != 0 {
		return p.errorf(p.blankAt, 0, "blank line inside the data (only trailing blank lines are allowed)")
	}
	if len(p.d.T) >= MaxSamples {
		return p.errorf(p.line, 0, "more than %d samples", MaxSamples)
	}
	if len(cells) != len(p.d.Joints)+1 {
		return p.errorf(p.line, 0, "%d columns, want %d as in the header on line %d", len(cells), len(p.d.Joints)+1, p.headerAt)
	}
	row := make([]float64, len(p.d.Joints))
	var t float64
	for c, cell := range cells {
		s := strings.TrimSpace(cell)
		if s == "" {
			return p.errorf(p.line, c+1, "empty cell")
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return p.quotef(p.line, c+1, "number out of range", "%q is out of range", s)
			}
			return p.quotef(p.line, c+1, "not a number", "%q is not a number", s)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return p.quotef(p.line, c+1, "not a finite number", "%q is not a finite number", s)
		}
		if c == 0 {
			t = v
		} else {
			row[c-1] = v
		}
	}
	if n := len(p.d.T); n > 0 && !(t > p.d.T[n-1]) {
		return p.quotef(p.line, 1, "time not after the previous sample's", "time %v s is not after the previous sample's %v s", t, p.d.T[n-1])
	}
	p.d.T = append(p.d.T, t)
	p.d.Y = append(p.d.Y, row)
	return nil
}

func (p *csvParser) header(cells []string) ([]string, error) {
	if first := strings.TrimSpace(cells[0]); first != "t" {
		return nil, p.quotef(p.line, 1, "header does not start with t (want `t,<joint names...>`)", "header starts with %q, want \"t\" (header `t,<joint names...>`)", first)
	}
	if len(cells) < 2 {
		return nil, p.errorf(p.line, 0, "header has no joint columns")
	}
	joints := make([]string, 0, len(cells)-1)
	seen := map[string]int{"t": 1}
	for c, cell := range cells[1:] {
		j := strings.TrimSpace(cell)
		col := c + 2
		if j == "" {
			return nil, p.errorf(p.line, col, "empty joint name")
		}
		if prev, ok := seen[j]; ok {
			return nil, p.quotef(p.line, col, fmt.Sprintf("duplicate column name (also column %d)", prev), "duplicate column name %q (also column %d)", j, prev)
		}
		seen[j] = col
		joints = append(joints, j)
	}
	return joints, nil
}

// WriteCSV writes d as CSV (header `t,<joints...>`), numbers in the shortest form that
// reads back exactly. It fails when the widths disagree or the write fails.
func WriteCSV(w io.Writer, d *Demo) error {
	return WriteSamples(w, d.Joints, d.T, d.Y)
}

// WriteSamples writes any joint trajectory in the demo CSV format: t[i] in s, y[i][j]
// the position of joints[j]. It fails when the widths disagree or a write fails; values
// are written as they are (NaN included), so rollouts can be inspected whatever they hold.
func WriteSamples(w io.Writer, joints []string, t []float64, y [][]float64) error {
	if len(joints) == 0 {
		return errors.New("demos: write CSV: no joints")
	}
	if len(y) != len(t) {
		return fmt.Errorf("demos: write CSV: %d times but %d rows", len(t), len(y))
	}
	for _, j := range joints {
		if j == "" || strings.ContainsAny(j, ",\r\n") {
			return fmt.Errorf("demos: write CSV: joint name %q cannot be a CSV column", j)
		}
	}
	bw := bufio.NewWriter(w)
	buf := appendHeader(nil, joints)
	bw.Write(buf)
	line := make([]float64, 1+len(joints)) // t, then the row
	for i, row := range y {
		if len(row) != len(joints) {
			return fmt.Errorf("demos: write CSV: row %d has %d values, want %d", i, len(row), len(joints))
		}
		line[0] = t[i]
		copy(line[1:], row)
		buf = appendRow(buf[:0], line)
		bw.Write(buf)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("demos: write CSV: %w", err)
	}
	return nil
}
