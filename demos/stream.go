package demos

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// chunkBytes is how much formatted text the writer gathers before a write(2) between
// fsyncs.
const chunkBytes = 64 << 10

// write is the writer goroutine: it drains the ring into a reused buffer, writes it out
// in chunks and fsyncs every SyncEvery of recorded time, and once more when the sampler
// is done. On a write error it stops the sampler and returns the error; the .part file
// keeps what was synced.
func (rec *recording) write(samplerDone <-chan struct{}, stopSampler func()) error {
	buf := make([]byte, 0, 2*chunkBytes)
	syncEvery := rec.cfg.SyncEvery.Seconds()
	lastSync, lastT := 0.0, 0.0
	fail := func(err error) error {
		stopSampler()
		return fmt.Errorf("demos: write %s: %w", rec.part, err)
	}
	flush := func(sync bool) error {
		if len(buf) > 0 {
			if _, err := rec.f.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		if !sync {
			return nil
		}
		if err := rec.f.Sync(); err != nil {
			return err
		}
		lastSync = lastT
		if rec.cfg.onSync != nil {
			rec.cfg.onSync(int(rec.tail.Load()), lastT)
		}
		return nil
	}
	for {
		final := false
		select {
		case <-rec.notify:
		case <-samplerDone:
			final = true
		}
		h := rec.head.Load()
		for t := rec.tail.Load(); t < h; t++ {
			slot := rec.ring[(t%rec.slots)*uint64(rec.width):][:rec.width]
			buf = appendRow(buf, slot)
			lastT = slot[0]
			rec.tail.Store(t + 1)
			// Sync at the row that completes SyncEvery, however far behind the writer is.
			if sync := lastT-lastSync >= syncEvery; sync || len(buf) >= chunkBytes {
				if err := flush(sync); err != nil {
					return fail(err)
				}
			}
		}
		if final {
			if err := flush(true); err != nil {
				return fail(err)
			}
			return nil
		}
	}
}

// appendHeader appends the CSV header `t,<joints>` and a newline.
func appendHeader(b []byte, joints []string) []byte {
	b = append(b, 't')
	for _, j := range joints {
		b = append(b, ',')
		b = append(b, j...)
	}
	return append(b, '\n')
}

// appendRow appends one CSV row (values in the shortest form that reads back exactly)
// and a newline. It allocates nothing when b has room.
func appendRow(b []byte, row []float64) []byte {
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '\n')
}

// Recovery reports what Recover did with one `<name>.csv.part`.
type Recovery struct {
	Name         string // demo name
	Path         string // the finished demo CSV; "" when not recovered
	Samples      int    // rows kept
	DroppedBytes int    // bytes of torn or corrupt tail removed
	// Removed: the recording was killed before it held MinSamples valid rows; its .part
	// files were deleted (nothing usable was lost) and the name is free again.
	Removed bool
	Err     error // why it was not recovered (the .part is left untouched); nil on success
}

// Recover finishes every `<name>.csv.part` in dir left by a crashed recording: it keeps
// the longest prefix of complete, valid rows (dropping a torn last line), writes the
// sidecar (from `<name>.json.part` when there is one, marked recovered) and renames the
// file to `<name>.csv`. Finished demos are never touched; a .part whose `<name>.csv`
// exists is reported and left alone. A .part with fewer than MinSamples valid rows (a
// recording killed in its first moments) is removed with its sidecar, so the name is
// free again (Recovery.Removed); so is a `<name>.json.part` without its .csv.part. Do
// not call it on a directory a Recorder is writing to. It fails only when dir cannot be
// read.
func Recover(dir string) ([]Recovery, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("demos: recover: %w", err)
	}
	var names []string
	parts := map[string]bool{}
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".csv.part"); ok && e.Type().IsRegular() {
			names = append(names, n)
			parts[n] = true
		}
	}
	for _, e := range ents { // a sidecar whose recording never got its .csv.part
		if n, ok := strings.CutSuffix(e.Name(), ".json.part"); ok && e.Type().IsRegular() && !parts[n] {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(names)
	out := make([]Recovery, 0, len(names))
	for _, n := range names {
		out = append(out, recoverOne(dir, n))
	}
	return out, nil
}

func recoverOne(dir, name string) Recovery {
	r := Recovery{Name: name}
	base := filepath.Join(dir, name)
	part := base + ".csv.part"
	fail := func(format string, a ...any) Recovery {
		r.Err = fmt.Errorf("demos: recover %s: %s", filepath.Base(part), fmt.Sprintf(format, a...))
		return r
	}
	if _, err := os.Lstat(base + ".csv"); err == nil {
		r.Err = fmt.Errorf("demos: recover %s: %w: %s.csv (left both alone)", filepath.Base(part), ErrExists, name)
		return r
	}
	data, err := os.ReadFile(part)
	if err != nil {
		return fail("%v", err)
	}
	keep := validPrefix(data)
	if rows := bytes.Count(data[:keep], []byte("\n")) - 1; rows < MinSamples {
		// Killed before it recorded anything usable: free the name.
		if err := os.Remove(part); err != nil {
			return fail("%v", err)
		}
		os.Remove(base + ".json.part")
		if err := syncDir(dir); err != nil {
			return fail("%v", err)
		}
		r.Removed, r.Samples = true, max(rows, 0)
		return r
	}
	d, err := ParseCSV(bytes.NewReader(data[:keep]), filepath.Base(part))
	if err != nil {
		return fail("%v", err)
	}
	if keep < len(data) {
		if err := truncateSync(part, int64(keep)); err != nil {
			return fail("%v", err)
		}
	}
	meta, err := ReadSidecar(base + ".json.part")
	if err != nil {
		meta = &Sidecar{Format: SidecarFormat, Name: name, Source: SourceRecorded}
		if p := d.SamplePeriod(); p > 0 {
			meta.RateHz = 1 / p
		}
		if st, err := os.Stat(part); err == nil {
			meta.Started = st.ModTime().Add(-time.Duration(d.Duration() * 1e9)).UTC()
		}
	}
	meta.Name = name
	meta.Joints = d.Joints
	meta.Samples = d.Len()
	meta.DurationS = d.Duration()
	meta.Recovered = true
	if err := publish(part, base+".csv", base+".json", meta); err != nil {
		return fail("%v", err)
	}
	os.Remove(base + ".json.part")
	r.Path = base + ".csv"
	r.Samples = d.Len()
	r.DroppedBytes = len(data) - keep
	return r
}

// validPrefix returns the length of the longest prefix of data made of a `t,...` header
// and complete, well-formed rows: right width, finite numbers, increasing time.
func validPrefix(data []byte) int {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || !bytes.HasPrefix(data, []byte("t,")) {
		return 0
	}
	width := bytes.Count(data[:nl], []byte(",")) + 1
	keep := nl + 1
	last := math.Inf(-1)
	for keep < len(data) {
		nl := bytes.IndexByte(data[keep:], '\n')
		if nl < 0 {
			break // torn last line
		}
		cells := strings.Split(string(data[keep:keep+nl]), ",")
		if len(cells) != width {
			break
		}
		ok := true
		for i, c := range cells {
			v, err := strconv.ParseFloat(c, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || (i == 0 && !(v > last)) {
				ok = false
				break
			}
			if i == 0 {
				last = v
			}
		}
		if !ok {
			break
		}
		keep += nl + 1
	}
	return keep
}

// truncateSync cuts the file at path to size bytes and fsyncs it.
func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
