package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// EnvData names the environment variable the operator commands read for the daemon's
// data directory when --data is not given.
const EnvData = "PRAXIS_DATA"

// Runtime is what a running `praxis serve` tells the operator commands of the same user:
// where its data directory is and which broker it uses. It is kept in RuntimeFile while
// the daemon serves and removed when it stops.
type Runtime struct {
	PID     int       `json:"pid"`
	RobotID string    `json:"robot_id"`
	DataDir string    `json:"data_dir"` // absolute
	Broker  string    `json:"broker"`   // URL the daemon's own connection uses
	Started time.Time `json:"started"`
}

// RuntimeDir returns $XDG_RUNTIME_DIR/praxis, else $XDG_STATE_HOME/praxis, else
// ~/.local/state/praxis.
func RuntimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "praxis")
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "praxis")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "praxis")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("praxis-%d", os.Getuid()))
}

// RuntimeFile returns the runtime file of robot: <RuntimeDir>/<robot>.json.
func RuntimeFile(robot string) string { return filepath.Join(RuntimeDir(), robot+".json") }

// WriteRuntime writes r to RuntimeFile(r.RobotID) atomically (mode 0600) and returns a
// function that removes it, unless another daemon has replaced it since.
func WriteRuntime(r Runtime) (remove func(), err error) {
	path := RuntimeFile(r.RobotID)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("daemon: runtime file: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, r.PID)
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("daemon: runtime file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("daemon: runtime file: %w", err)
	}
	return func() {
		if cur, err := ReadRuntime(r.RobotID); err == nil && cur.PID == r.PID {
			os.Remove(path)
		}
	}, nil
}

// ErrNoRuntime: no daemon of this user serves the robot (no runtime file, or its process
// is gone).
var ErrNoRuntime = errors.New("no running daemon recorded")

// ReadRuntime reads robot's runtime file. A file whose process no longer exists (the
// daemon was killed) is ErrNoRuntime.
func ReadRuntime(robot string) (Runtime, error) {
	var r Runtime
	b, err := os.ReadFile(RuntimeFile(robot))
	if errors.Is(err, os.ErrNotExist) {
		return r, ErrNoRuntime
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("daemon: runtime file %s: %w", RuntimeFile(robot), err)
	}
	if r.PID <= 0 || r.DataDir == "" {
		return r, ErrNoRuntime
	}
	if err := syscall.Kill(r.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return r, ErrNoRuntime
	}
	return r, nil
}
